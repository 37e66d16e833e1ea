"""The emulator's defect model: some ``video.generate`` outputs come back unusable, as the API document
warns real ones do ("frozen, warped, or otherwise unusable"), so a client's ranking is proven on them.

Off by default (``rate`` 0). With ``EmulatorConfig(defects=DefectModel(rate, kinds))`` or ``ltxkit serve
--defects RATE [--defect-kinds ...]`` about ``rate`` of the outputs carry one defect. Whether an output
does, and which, follows from its ``seed`` alone (a hash; a request without one is seed 0), so a rerun
gets the same clip and a test or the demo knows in advance (:meth:`DefectModel.for_seed`); restricting
the kinds never changes *which* seeds are defective. Every defect starts at the first new frame (the
one after the anchors, where a splice cuts), at a size a viewer sees:

* ``white_balance`` — warmer (R+12, B−12 levels, luma kept);
* ``exposure`` — 18 % darker;
* ``flash`` — +40 levels on two frames;
* ``frozen`` — the picture stops after the first new frame;
* ``skipped`` — one frame skipped;
* ``audio`` — the whole sound 10 dB below the reference (a level jump at any cut).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

from ltxkit.errors import InputError

KINDS = ("white_balance", "exposure", "flash", "frozen", "skipped", "audio")
# kind: (the ltxkit.frames.defects kind that draws it, its size there; the audio one: dB)
SIZES: dict[str, tuple[str, float]] = {
    "white_balance": ("white_balance", 12.0), "exposure": ("darker", 0.18), "flash": ("flash", 40.0),
    "frozen": ("frozen", 0.0), "skipped": ("skipped", 1.0), "audio": ("", -10.0),
}


@dataclass(frozen=True)
class Defect:
    kind: str  # one of KINDS

    @property
    def draw(self) -> str:
        """The :mod:`ltxkit.frames.defects` kind of a picture defect ("" for the audio one)."""
        return SIZES[self.kind][0]

    @property
    def size(self) -> float:
        return SIZES[self.kind][1]

    @property
    def start_offset(self) -> int:
        """First defective sampled frame, counted from the first new one (a freeze shows that one moving)."""
        return 1 if self.kind == "frozen" else 0


@dataclass(frozen=True)
class DefectModel:
    """``rate`` (0..1) of the outputs come back with one defect of ``kinds``, chosen by seed."""

    rate: float = 0.0
    kinds: Sequence[str] = KINDS

    def validate(self) -> None:
        if not (math.isfinite(self.rate) and 0 <= self.rate <= 1):
            raise InputError(f"defect rate must be 0..1, got {self.rate}")
        unknown = [k for k in self.kinds if k not in KINDS]
        if unknown or not self.kinds:
            raise InputError(f"defect kinds must be some of {', '.join(KINDS)}, got {', '.join(self.kinds) or 'none'}")

    def for_seed(self, seed: int) -> Defect | None:
        """The defect of the output made with ``seed`` (``None``: a clean one)."""
        u = int.from_bytes(hashlib.sha256(f"ltxkit-emulator-defect:{seed}".encode()).digest()[:8], "big") / 2**64
        if u >= self.rate:
            return None
        return Defect(self.kinds[min(len(self.kinds) - 1, int(u / self.rate * len(self.kinds)))])


def parse_kinds(text: str) -> tuple[str, ...]:
    """``"flash, frozen"`` → ``("flash", "frozen")`` (checked by :meth:`DefectModel.validate`)."""
    return tuple(k.strip() for k in text.split(",") if k.strip())
