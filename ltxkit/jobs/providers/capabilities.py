"""What each provider can do, as one table in code: the honest errors and the README table both read it.

A capability is either how the API does it (a short text, shown in the README) or ``None`` with an
optional remark saying why not. :func:`check_request` turns every "no" the request runs into into an
:class:`~ltxkit.errors.InputError` that names the provider and what to do instead, before anything is
read, uploaded or sent; the tests check that every "yes" builds a request the emulator accepts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from ltxkit.errors import InputError
from ltxkit.jobs.providers.request import ExtendRequest

LABELS = {
    "overlap_frames": "frames overlap", "last_frame": "last frame", "server_extend": "server-side extend",
    "reference_audio": "reference audio", "combine": "combine", "uploads": "uploads", "cancel": "cancel",
    "quote": "quote",
}


@dataclass(frozen=True)
class Capabilities:
    """One provider's row. Each field: how the API does it, or ``None`` (see ``remarks`` for why not)."""

    provider: str
    overlap_frames: str | None = None  # several consecutive frames of the source clip, oldest first
    last_frame: str | None = None  # one image that becomes the new clip's first frame
    server_extend: str | None = None  # extend an earlier job of this provider by its id
    reference_audio: str | None = None
    combine: str | None = None  # join clips server-side
    uploads: str | None = None  # an upload endpoint (needed when the API takes only its own URLs)
    cancel: str | None = None
    quote: str | None = None  # a price for a request before submitting it
    remarks: Mapping[str, str] = field(default_factory=dict)

    def supports(self, name: str) -> bool:
        return getattr(self, name) is not None

    def cell(self, name: str) -> str:
        how, remark = getattr(self, name), self.remarks.get(name)
        if how is not None:
            return f"yes: {how}"
        return f"no ({remark})" if remark else "no"


TABLE: dict[str, Capabilities] = {c.provider: c for c in (
    Capabilities(
        "media-jobs", overlap_frames="`overlapFrameImages`, oldest first", last_frame="one overlap frame",
        reference_audio="`referenceAudio`", combine="`video.combine`",
        remarks={"uploads": "media goes inline as base64", "quote": "stand-in price charged at submit; `balance`",
                 "server_extend": "extends are built from overlap frames"}),
    Capabilities(
        "zsky",
        remarks={"overlap_frames": "v1 is text-to-video only", "last_frame": "image-to-video is promised for v2",
                 "cancel": "`DELETE /v1/jobs/{id}` purges the output, it does not cancel",
                 "quote": "monthly allowance counters at `/v1/usage`"}),
    Capabilities(
        "apex",
        remarks={"overlap_frames": "`/api/generate/video` takes a script only",
                 "last_frame": "`avatarImage` is a face for an avatar, not a first frame",
                 "uploads": "`/api/upload/*` is only named in the rate-limit table",
                 "quote": "flat documented credits, video 250; `/api/usage`"}),
    Capabilities(
        "zooop", last_frame="`first_frame` of a `first-last-frame` model, uploaded",
        server_extend="`extend-video` model on the source task's output", uploads="`POST /v1/uploads` (raw body)",
        quote="`POST /v1/quote`",
        remarks={"overlap_frames": "one start frame only",
                 "reference_audio": "no audio input on `first-last-frame`/`extend-video` models"}),
    Capabilities(
        "kubeez", last_frame="`source_media_urls` of an image-to-video model, uploaded",
        server_extend="`/v1/generate/media/extend` by `source_task_id` (Veo 3.1 sources)",
        reference_audio="`source_media_urls` of a model with `max_input_audios` ≥ 1",
        uploads="`POST /v1/upload/media` (multipart)",
        remarks={"overlap_frames": "source images are references, not consecutive frames",
                 "quote": "no estimate endpoint; flat extend prices: lite 45, fast 75, quality 300 credits"}),
)}

CAPABILITY_NAMES = tuple(f.name for f in fields(Capabilities) if f.name in LABELS)


def capabilities(name: str) -> Capabilities:
    """The capability row of a provider; :class:`InputError` naming the known ones otherwise."""
    try:
        return TABLE[name]
    except KeyError:
        raise InputError(f"unknown provider {name!r}; known: {', '.join(TABLE)}") from None


def providers_with(capability: str) -> list[str]:
    return [name for name, caps in TABLE.items() if caps.supports(capability)]


def _alternatives(capability: str, exclude: str) -> str:
    names = [n for n in providers_with(capability) if n != exclude]
    return "use " + " or ".join(names) if names else "no provider here can"


def check_request(name: str, request: ExtendRequest) -> None:
    """Refuse, before anything is read or sent, what ``name``'s API cannot do."""
    caps = capabilities(name)
    frames = len(request.conditioning)
    if request.source_job_id is not None:
        if not caps.server_extend:
            raise InputError(f"provider {name} cannot extend a job by its id (no server-side extend); pass the "
                             f"clip's last frames instead, or {_alternatives('server_extend', name)}")
        if frames or request.reference_audio is not None:
            raise InputError(f"provider {name}: a server-side extend takes the source job id and a prompt only; "
                             "drop the overlap frames / last frame / reference audio")
    if frames > 1 and not caps.overlap_frames:
        if caps.last_frame:
            raise InputError(f"provider {name} conditions on one last frame only; pass --overlap 1 or "
                             f"{_alternatives('overlap_frames', name)}")
        raise InputError(f"provider {name} cannot condition on frames ({caps.remarks.get('overlap_frames', 'no')}); "
                         f"{_alternatives('overlap_frames', name)}")
    if frames == 1 and not (caps.last_frame or caps.overlap_frames):
        raise InputError(f"provider {name} cannot start from a frame ({caps.remarks.get('last_frame', 'no')}); "
                         f"{_alternatives('last_frame', name)}")
    if request.reference_audio is not None and not caps.reference_audio:
        raise InputError(f"provider {name} takes no reference audio; drop it or "
                         f"{_alternatives('reference_audio', name)}")


def require(name: str, capability: str) -> Capabilities:
    """The row, or an :class:`InputError` saying ``name`` has no ``capability`` (upload, quote, cancel…)."""
    caps = capabilities(name)
    if not caps.supports(capability):
        remark = caps.remarks.get(capability)
        raise InputError(f"provider {name} has no {LABELS[capability]}" + (f" ({remark})" if remark else "")
                         + f"; {_alternatives(capability, name)}")
    return caps


def markdown_table() -> str:
    """The README's capability table, generated from :data:`TABLE`."""
    header = "| provider | " + " | ".join(LABELS[c] for c in CAPABILITY_NAMES) + " |"
    rule = "|" + "---|" * (len(CAPABILITY_NAMES) + 1)
    rows = [f"| {name} | " + " | ".join(caps.cell(c) for c in CAPABILITY_NAMES) + " |" for name, caps in TABLE.items()]
    return "\n".join([header, rule, *rows])
