"""The timeline model: what a render writes, as runs of frames and samples read from source files.

The splice (crossfades, trimming A instead of B), the concat and the seam review (a ±2 s clip cut out of
a long file) all describe their output the same way: a :class:`Timeline` of :class:`Piece` runs, which
:func:`ltxkit.frames.render.render` encodes. Pure data and arithmetic, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Protocol

import numpy as np

from ltxkit.timing import frame_to_sample

Grade = Callable[[np.ndarray], np.ndarray]  # one clip's colour correction of an RGB uint8 frame


class Curve(Protocol):
    """A crossfade's shape (``ltxkit.assembly.colour.CrossfadeCurve``): B's weight at each fade position,
    and the dissolve frame for it in the curve's own space."""

    def weights(self, t: np.ndarray) -> np.ndarray:
        """B's weight at linear fade positions ``t`` (frames' or audio samples')."""
        ...

    def mix(self, a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
        """The RGB uint8 dissolve of ``a`` into ``b`` at linear fade position ``t``."""
        ...


@dataclass(frozen=True)
class Piece:
    """``count`` output units (frames or samples) read from ``source`` starting at unit ``start``.

    With ``blend`` the run is a cross-fade from ``source`` into ``blend`` (read from ``blend_start``):
    unit ``k`` of the run gets weight ``(fade_offset + k + 1) / (fade_length + 1)`` on ``blend``
    (video; audio uses the sample centre and its curve), so a windowed piece keeps its weights.
    ``grade`` and ``blend_grade`` (video only) correct each RGB frame of ``source`` and ``blend`` before
    it is shown or mixed: the colour match of a clip travels with every piece read from it. ``curve``
    (``--curve``) reshapes a cross-fade's weights, and mixes its frames in the curve's space; without
    one the weights are linear and frames are mixed in code values.
    """

    source: Path
    start: int
    count: int
    blend: Path | None = None
    blend_start: int = 0
    fade_offset: int = 0
    fade_length: int = 0
    grade: Grade | None = None
    blend_grade: Grade | None = None
    curve: Curve | None = None

    def fade_weights(self, offset: int, count: int, *, centred: bool) -> np.ndarray:
        """Weights of ``blend`` for units ``offset .. offset+count`` of this piece."""
        k = np.arange(self.fade_offset + offset, self.fade_offset + offset + count, dtype=np.float64)
        if centred:
            return (k + 0.5) / self.fade_length
        return (k + 1) / (self.fade_length + 1)


def window_pieces(pieces: Sequence[Piece], start: int, count: int) -> list[Piece]:
    """The pieces covering output units ``start .. start+count`` (trimmed at both ends)."""
    out: list[Piece] = []
    pos = 0
    end = start + count
    for p in pieces:
        lo, hi = max(pos, start), min(pos + p.count, end)
        if lo < hi:
            skip = lo - pos
            out.append(replace(p, start=p.start + skip, blend_start=p.blend_start + skip, count=hi - lo,
                               fade_offset=p.fade_offset + skip))
        pos += p.count
    return out


@dataclass(frozen=True)
class Timeline:
    """What to write: video pieces at ``fps`` and (optionally) audio pieces in samples at ``sample_rate``."""

    fps: Fraction
    width: int
    height: int
    video: tuple[Piece, ...]
    audio: tuple[Piece, ...] | None = None
    sample_rate: int = 48000
    layout: str = "stereo"
    audio_fade: str = "linear"  # "linear" or "equal-power" for audio cross-fade pieces

    @property
    def frame_count(self) -> int:
        return sum(p.count for p in self.video)

    @property
    def duration_seconds(self) -> Fraction:
        return Fraction(self.frame_count) / self.fps

    @property
    def sample_count(self) -> int:
        return frame_to_sample(self.frame_count, self.fps, self.sample_rate)

    def window(self, start_frame: int, frames: int) -> Timeline:
        """Frames ``start_frame .. start_frame+frames`` with the audio that belongs to them."""
        audio = None
        if self.audio is not None:
            s0 = frame_to_sample(start_frame, self.fps, self.sample_rate)
            s1 = frame_to_sample(start_frame + frames, self.fps, self.sample_rate)
            audio = tuple(window_pieces(self.audio, s0, s1 - s0))
        return replace(self, video=tuple(window_pieces(self.video, start_frame, frames)), audio=audio)

