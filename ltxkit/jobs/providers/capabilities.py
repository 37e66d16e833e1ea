"""What a provider can do, as each provider declares it (``Provider.capabilities``).

A capability is either how the API does it (a short text, shown in the README) or ``None`` with an
optional remark saying why not. The honest refusals (``Provider.check_request`` / ``Provider.require``)
and the README table (:func:`~ltxkit.jobs.providers.registry.markdown_table`) both read these rows; the
tests check that every "yes" builds a request the emulator accepts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from ltxkit.api_schema import Canvas, api_canvas
from ltxkit.errors import InputError

LABELS = {
    "overlap_frames": "frames overlap", "last_frame": "last frame", "server_extend": "server-side extend",
    "reference_audio": "reference audio", "combine": "combine", "uploads": "uploads", "cancel": "cancel",
    "quote": "quote",
}
# what a refusal calls each capability (the table's columns, and purge, which is not one of them)
NOUNS = {**LABELS, "purge": "way to delete a job's outputs"}


@dataclass(frozen=True)
class Capabilities:
    """One provider's row. Each field: how the API does it, or ``None`` (see ``remarks`` for why not)."""

    overlap_frames: str | None = None  # several consecutive frames of the source clip, oldest first
    last_frame: str | None = None  # one image that becomes the new clip's first frame
    server_extend: str | None = None  # extend an earlier job of this provider by its id
    reference_audio: str | None = None
    combine: str | None = None  # join clips server-side
    uploads: str | None = None  # an upload endpoint (needed when the API takes only its own URLs)
    cancel: str | None = None
    quote: str | None = None  # a price for a request before submitting it
    purge: str | None = None  # delete a finished job's outputs early (not a README column)
    remarks: Mapping[str, str] = field(default_factory=dict)

    def supports(self, name: str) -> bool:
        return getattr(self, name) is not None

    def cell(self, name: str) -> str:
        how, remark = getattr(self, name), self.remarks.get(name)
        if how is not None:
            return f"yes: {how}"
        return f"no ({remark})" if remark else "no"


@dataclass(frozen=True)
class SizeRule:
    """The output sizes an API renders, as its document says: multiples of ``step`` up to ``max_pixels``
    (media-jobs: 32, 4 MP), or only the ``fixed`` sizes (Apex: 1280x720 "720p", 1920x1080 "1080p").
    Each provider checks sizes by its own rule, never by another API's."""

    step: int = 1
    max_pixels: float = math.inf
    fixed: Mapping[tuple[int, int], str] = field(default_factory=dict)

    def problem(self, width: int, height: int) -> str | None:
        if self.fixed:
            if (width, height) in self.fixed:
                return None
            sizes = " or ".join(f"{w}x{h}" for w, h in self.fixed)
            return f"renders {sizes} ({'/'.join(self.fixed.values())}) only, got {width}x{height}"
        for name, value in (("width", width), ("height", height)):
            if value <= 0 or value % self.step:
                return f"needs the {name} ({value}) to be a positive multiple of {self.step}"
        if width * height > self.max_pixels:
            return (f"cannot render {width}x{height}: {width * height / 2**20:.2f} MP is over the "
                    f"{self.max_pixels / 2**20:g} MP limit")
        return None

    def check(self, provider: str, width: int, height: int) -> None:
        """An :class:`InputError` naming ``provider`` when it cannot render ``width`` x ``height``."""
        problem = self.problem(width, height)
        if problem is not None:
            raise InputError(f"provider {provider} {problem}")

    def canvas(self, width: int, height: int) -> Canvas:
        """The size to ask for a ``width`` x ``height`` source: the source itself where the rule allows it
        (a fixed-size API takes it or refuses it), else padded up to the step and scaled below the cap."""
        if self.fixed:
            return Canvas(width, height, width, height, width, height)
        return api_canvas(width, height, self.step, self.max_pixels)


CAPABILITY_NAMES = tuple(f.name for f in fields(Capabilities) if f.name in LABELS)


def markdown_table(rows: Mapping[str, Capabilities]) -> str:
    """A capability table in Markdown, one row per provider name."""
    header = "| provider | " + " | ".join(LABELS[c] for c in CAPABILITY_NAMES) + " |"
    rule = "|" + "---|" * (len(CAPABILITY_NAMES) + 1)
    lines = [f"| {name} | " + " | ".join(caps.cell(c) for c in CAPABILITY_NAMES) + " |" for name, caps in rows.items()]
    return "\n".join([header, rule, *lines])
