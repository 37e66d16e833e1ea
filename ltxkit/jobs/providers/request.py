"""The provider-neutral "extend this clip" request, and what every provider needs to read its media.

A pipeline describes the next clip once, in no provider's terms (:class:`ExtendRequest`); each provider
turns it into its own API's request, or refuses with an :class:`~ltxkit.errors.InputError` naming itself
when the API cannot do what was asked (see :mod:`ltxkit.jobs.providers.capabilities`). With nothing to
extend (no frames, no source job) the request is a plain text-to-video generation.

The idempotency key is derived from this neutral request (media by content, not by the URL an upload
gave them), so a re-run after a crash finds the same journal row and the same job, even on APIs where
inputs must be uploaded first and every upload returns a new URL.
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from ltxkit.api_schema import DEFAULT_SAMPLED_FPS, decode_inline, validate_task_input
from ltxkit.errors import InputError
from ltxkit.jobs.models import KEY_PREFIX, audio_value, canonical_json, image_value, sniff_audio_mime, sniff_image_mime
from ltxkit.jobs.providers.capabilities import SizeRule
from ltxkit.timing import format_fps, frames_to_seconds, parse_fps, round_half_up

MediaArg = str | Path | Mapping[str, str]
"""An http(s) URL, a local file, or inline ``{dataBase64, mimeType}`` (as ``ltxkit jobs submit`` builds)."""

_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "audio/wav": "wav", "audio/flac": "flac",
               "audio/ogg": "ogg", "audio/opus": "opus", "audio/mpeg": "mp3", "audio/aac": "aac", "audio/mp4": "m4a",
               "audio/webm": "webm", "video/mp4": "mp4", "video/webm": "webm", "video/quicktime": "mov"}


def is_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))


@dataclass(frozen=True)
class ExtendRequest:
    """The next clip, in no provider's terms.

    ``overlap_images`` are the source clip's last frames, oldest first (``overlap_frame_files(dir)``
    reads a ``ltxkit frames tail`` directory); ``last_frame`` is the one-frame form of the same thing.
    ``frames`` at ``fps`` is the new clip's length (default fps: the media-jobs default, 30).
    ``source_job_id`` asks for a server-side extend of that earlier job of the same provider.
    ``model`` picks the provider's model (default: the one its documentation recommends);
    ``extra`` is passed through into the provider's request body (or ZOOOP ``params``) unchanged.
    """

    prompt: str
    overlap_images: Sequence[MediaArg] = ()
    last_frame: MediaArg | None = None
    reference_audio: MediaArg | None = None
    frames: int | None = None
    fps: Fraction | int | None = None
    size: tuple[int, int] | None = None
    seed: int | None = None
    source_job_id: str | None = None
    model: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "overlap_images", tuple(self.overlap_images))
        if not isinstance(self.prompt, str) or not self.prompt.strip():
            raise InputError("prompt: a non-empty prompt is required")
        if self.overlap_images and self.last_frame is not None:
            raise InputError("give overlap frames or a last frame, not both (one overlap frame is the last frame)")
        if self.frames is not None and (isinstance(self.frames, bool) or self.frames < 1):
            raise InputError(f"frames must be a positive whole number, got {self.frames!r}")
        if self.fps is not None:
            object.__setattr__(self, "fps", parse_fps(self.fps))
        if self.size is not None and (len(self.size) != 2 or min(self.size) < 1):
            raise InputError(f"size must be (width, height) in pixels, got {self.size!r}")
        if self.source_job_id is not None and not self.source_job_id.strip():
            raise InputError("source job id must not be empty")

    @property
    def conditioning(self) -> tuple[MediaArg, ...]:
        """The frames the new clip must start from, oldest first (the last frame alone counts as one)."""
        return tuple(self.overlap_images) if self.overlap_images else \
            ((self.last_frame,) if self.last_frame is not None else ())

    @property
    def rate(self) -> Fraction:
        return Fraction(self.fps) if self.fps is not None else DEFAULT_SAMPLED_FPS

    def whole_seconds(self, provider: str, notes: list[str]) -> int | None:
        """``frames``/``fps`` as the whole seconds an API takes (rounded half up, at least 1), with a note
        when that is not exact."""
        if self.frames is None:
            return None
        exact = frames_to_seconds(self.frames, self.rate)
        seconds = max(1, round_half_up(exact))
        if seconds != exact:
            notes.append(f"{provider} takes whole seconds: duration={seconds} for {self.frames} frames at "
                         f"{format_fps(self.rate)} fps ({float(exact):.3f} s)")
        return seconds


def aspect_ratio(width: int, height: int) -> str:
    """``1280x720`` → ``"16:9"``."""
    d = math.gcd(width, height)
    return f"{width // d}:{height // d}"


RATIO_TOLERANCE = 0.01  # 854x480 is 16:9


def _ratio(text: str) -> float:
    a, _, b = text.partition(":")
    return float(a) / float(b) if a.isdigit() and b.isdigit() and int(b) else 0.0


def fit_option(options: object, key: str, value: object) -> object | None:
    """``value`` as one of an API's documented ``options`` (a list, a list of ``{value}``, or a
    ``{min, max}`` range), None when it is not one; an aspect ratio within 1% of an option is that option.
    No options at all means the API did not say: ``value`` is sent as is."""
    if isinstance(options, Mapping) and "min" in options and "max" in options:
        ok = isinstance(value, int) and options["min"] <= value <= options["max"]
        return value if ok else None
    if not isinstance(options, list) or not options:
        return value
    values = [o.get("value") if isinstance(o, Mapping) else o for o in options]
    if value in values:
        return value
    if key == "aspect_ratio" and _ratio(str(value)):
        return next((o for o in values if abs(_ratio(str(o)) / _ratio(str(value)) - 1) <= RATIO_TOLERANCE), None)
    return None


def describe_options(options: object) -> str:
    if isinstance(options, Mapping) and "min" in options and "max" in options:
        return f"{options['min']}-{options['max']}"
    values = [o.get("value") if isinstance(o, Mapping) else o for o in options] if isinstance(options, list) else []
    return ", ".join(map(str, values))


@dataclass(frozen=True)
class Upload:
    """A local (or inline) file's bytes, ready to go up an API's upload endpoint."""

    data: bytes = field(repr=False)
    mime: str
    filename: str


def sniff_video_mime(data: bytes) -> str | None:
    if data[4:8] == b"ftyp":
        return "video/quicktime" if data[8:12] == b"qt  " else "video/mp4"
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    return None


_SNIFFERS = {"image": sniff_image_mime, "audio": sniff_audio_mime, "video": sniff_video_mime}


def bytes_upload(data: bytes, kind: str, name: str, what: str) -> Upload:
    """Bytes of ``kind`` (``image``, ``audio``, ``video``) as an upload, their MIME type sniffed from the
    content (a mislabelled file would fail only after it was paid for); ``what`` names them in errors."""
    mime = _SNIFFERS[kind](data) if data else None
    if mime is None:
        raise InputError(f"{what} is {'empty' if not data else f'not a supported {kind} by its content'}")
    return Upload(data, mime, f"{Path(name).stem or kind}.{_EXTENSIONS.get(mime, 'bin')}")


def media_upload(value: MediaArg, field_name: str, kind: str) -> Upload | str:
    """A URL as is, else the file's bytes and (sniffed) MIME type; ``kind`` is ``image``, ``audio`` or
    ``video``."""
    if isinstance(value, str) and is_url(value):
        return value
    if kind == "video" and isinstance(value, (str, Path)):
        path = Path(value)
        if not path.is_file():
            raise InputError(f"{field_name}: {path} is not a file")
        return bytes_upload(path.read_bytes(), kind, path.name, f"{field_name}: {path}")
    inline = value if isinstance(value, Mapping) else \
        (image_value if kind == "image" else audio_value)(Path(value), field_name)
    assert isinstance(inline, Mapping)
    mime = str(inline.get("mimeType"))
    try:
        data = decode_inline(str(inline.get("dataBase64")))
    except ValueError:
        raise InputError(f"{field_name}: dataBase64 is not valid base64") from None
    stem = Path(value).stem if isinstance(value, (str, Path)) else field_name.replace("[", "-").strip("]")
    return Upload(data, mime, f"{stem}.{_EXTENSIONS.get(mime, 'bin')}")


def _fingerprint(value: MediaArg | None, field_name: str) -> object:
    if value is None:
        return None
    if isinstance(value, str) and is_url(value):
        return {"url": value}
    if isinstance(value, Mapping):
        data = base64.b64decode(str(value.get("dataBase64", "")), validate=False)
    else:
        path = Path(value)
        if not path.is_file():
            raise InputError(f"{field_name}: {path} is not a file")
        data = path.read_bytes()
    return {"sha256": hashlib.sha256(data).hexdigest()}


def neutral_digest(provider: str, request: ExtendRequest) -> str:
    """sha256 of the request as the user described it (media by content): the journal's input hash."""
    described = {
        "provider": provider, "prompt": request.prompt, "frames": request.frames,
        "fps": None if request.fps is None else format_fps(Fraction(request.fps)),
        "size": list(request.size) if request.size else None, "seed": request.seed,
        "sourceJobId": request.source_job_id, "model": request.model, "extra": dict(request.extra),
        "overlap": [_fingerprint(f, f"overlap_images[{i}]") for i, f in enumerate(request.overlap_images)],
        "lastFrame": _fingerprint(request.last_frame, "last_frame"),
        "referenceAudio": _fingerprint(request.reference_audio, "reference_audio"),
    }
    try:
        text = canonical_json(described)
    except (TypeError, ValueError) as exc:
        raise InputError(f"extra is not plain JSON: {exc}") from None
    return hashlib.sha256(text.encode()).hexdigest()


def neutral_key(digest: str) -> str:
    return KEY_PREFIX + digest[:32]


# media-jobs ``video.generate`` fields the neutral request can carry (everything else has no equivalent)
_TRANSLATED = frozenset({
    "prompt", "durationFrames", "durationSeconds", "sampledFps", "width", "height", "seed", "overlapFrameImages",
    "overlapFrameImageUrls", "startFrameImage", "startFrameImageUrl", "referenceAudio", "referenceAudioUrl",
})


def from_media_input(provider: str, input_: Mapping[str, Any], sizes: SizeRule | None = None) -> ExtendRequest:
    """A media-jobs ``video.generate`` input (what ``ltxkit jobs submit video.generate`` takes) as a neutral
    request, so the same command works with ``--provider``. Validated by the media-jobs rules first, but
    ``width``/``height`` by the provider's own ``sizes`` when given (Apex renders 1280x720, which is no
    multiple of 32); a field with no neutral equivalent is refused by name."""
    size_fields = ("width", "height")
    effective = validate_task_input("video.generate", {k: v for k, v in input_.items() if sizes is None
                                                       or k not in size_fields}).effective
    size = None
    if sizes is not None and any(input_.get(k) is not None for k in size_fields):
        width, height = (input_.get(k) for k in size_fields)
        if not (isinstance(width, int) and isinstance(height, int)) or isinstance(width, bool) \
                or isinstance(height, bool):
            raise InputError(f"input.width and input.height: give both, as whole numbers (got {width!r}, "
                             f"{height!r})")
        size = (width, height)
        sizes.check(provider, *size)
    elif effective.get("width"):
        size = (int(effective["width"]), int(effective["height"]))
    foreign = sorted(set(input_) - _TRANSLATED)
    if foreign:
        raise InputError(f"provider {provider}: input.{foreign[0]} has no equivalent there "
                         f"(translated fields: {', '.join(sorted(_TRANSLATED))})")
    overlap = effective.get("overlapFrameImages") or effective.get("overlapFrameImageUrls") or ()
    start = effective.get("startFrameImage") or effective.get("startFrameImageUrl")
    if overlap and start is not None:
        raise InputError(f"provider {provider}: give a start frame or overlap frames, not both")
    return ExtendRequest(
        prompt=str(effective["prompt"]), overlap_images=list(overlap), last_frame=start,
        reference_audio=effective.get("referenceAudio") or effective.get("referenceAudioUrl"),
        frames=int(effective["durationFrames"]), fps=parse_fps(effective["sampledFps"]), size=size,
        seed=effective.get("seed"),
    )
