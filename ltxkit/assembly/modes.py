"""The splice modes and options, importable without PyAV (the CLI builds its choices from these).

Every mode answers one question per overlap of ``r`` frames (the output frames where B's first samples
and A's last ones show the same instants, :func:`ltxkit.timing.splice_layout`): where does A hand over
to B, for the picture and for the sound? The answer is a :class:`Span` of offsets into the overlap; everything else
(the frames each clip keeps, the cut, the audio switch, the rendered timeline, the OTIO track) is
derived from the two spans in one place, so a new mode is one new :class:`SpliceMode` subclass added
to :data:`SPLICE_MODES`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from ltxkit.errors import InputError

AUDIO_FROM = ("b", "a")
AUDIO_FADES = ("linear", "equal-power")
OUTPUT_CODECS = ("h264", "prores", "ffv1")  # the keys of ltxkit.frames.codecs.CODECS
COLOR_REFS = ("previous", "first")  # --color-ref: see ltxkit.assembly.grade
CUT_CHOICES = ("mode", "best")  # --cut: where the mode cuts, or the least visible cut in the overlap
METHODS = ("none", "reinhard", "hm", "mkl")  # --color-match: see ltxkit.assembly.colour
CURVES = ("linear", "ease", "filmic", "perceptual")  # --curve: see ltxkit.assembly.colour


@dataclass(frozen=True)
class Span:
    """Offsets into an overlap: A alone before ``start``, B alone from ``stop``, a dissolve between.

    ``start == stop`` is a hard cut at that offset (0 = the overlap's start, ``r`` = its end).
    """

    start: int
    stop: int

    @property
    def fade(self) -> int:
        return self.stop - self.start

    @property
    def otio_cut(self) -> int:
        """Where an OTIO track cuts: the middle of a dissolve (OTIO transitions straddle their cut)."""
        return self.start + self.fade // 2


@dataclass(frozen=True)
class TrackItem:
    """One clip of a track: its source frame range, and the dissolve into the next clip (frames before
    and after the cut; ``(0, 0)`` for a hard cut or the last clip)."""

    start: int
    stop: int
    transition: tuple[int, int] = (0, 0)


class SpliceMode(ABC):
    """Where the picture and the sound of A hand over to B inside every overlap."""

    name: ClassVar[str]

    @abstractmethod
    def picture(self, r: int) -> Span:
        """The picture's handover in an overlap of ``r`` frames."""

    @abstractmethod
    def sound(self, r: int, audio_from: str) -> Span:
        """The sound's handover; ``audio_from`` ('b' or 'a') is whose audio plays through a hard cut."""

    # --- derived from the spans: override only for a mode that needs something they cannot say -------

    def kept(self, counts: Sequence[int], overlaps: Sequence[int],
             pictures: Sequence[Span] | None = None) -> list[tuple[int, int]]:
        """Source frame range ``[start, stop)`` of each clip that is shown alone (no dissolve).

        ``counts`` are the frames each clip can show (up to its last sample when another clip follows:
        :attr:`ltxkit.timing.SpliceLayout.shown_counts`), ``overlaps`` the frames of each joint's overlap,
        ``pictures`` each joint's picture handover when it is not the mode's own (``--cut best``).
        """
        spans = list(pictures) if pictures is not None else [self.picture(r) for r in overlaps]
        return _ranges(counts, overlaps, [s.stop for s in spans], [s.start for s in spans])

    def track(self, counts: Sequence[int], overlaps: Sequence[int], spans: Sequence[Span]) -> list[TrackItem]:
        """An OTIO track of the clips for ``spans`` (the picture's or the sound's handover per overlap)."""
        cuts = [s.otio_cut for s in spans]
        transitions = [(c - s.start, s.stop - c) if s.fade > 0 else (0, 0) for s, c in zip(spans, cuts, strict=True)]
        return [TrackItem(start, stop, transitions[i] if i < len(transitions) else (0, 0))
                for i, (start, stop) in enumerate(_ranges(counts, overlaps, cuts, cuts))]


def _ranges(counts: Sequence[int], overlaps: Sequence[int], heads: Sequence[int],
            tails: Sequence[int]) -> list[tuple[int, int]]:
    """Each clip's source range from ``heads[i-1]`` frames into its head overlap to ``tails[i]`` into its
    tail one (joint ``i`` is between clips ``i`` and ``i + 1``)."""
    last = len(counts) - 1
    return [(0 if i == 0 else heads[i - 1], n - overlaps[i] + tails[i] if i < last else n)
            for i, n in enumerate(counts)]


class HardCut(SpliceMode):
    """A cut without a dissolve; the sound switches at the overlap's start (audio from B) or end (from A)."""

    def sound(self, r: int, audio_from: str) -> Span:
        at = 0 if audio_from == "b" else r
        return Span(at, at)


class TrimB(HardCut):
    """All of A, then B without its overlap: the cut is at A's end."""

    name = "trim-b"

    def picture(self, r: int) -> Span:
        return Span(r, r)


class TrimA(HardCut):
    """A without its last overlap, then all of B: the cut is at B's start."""

    name = "trim-a"

    def picture(self, r: int) -> Span:
        return Span(0, 0)


class Crossfade(SpliceMode):
    """A dissolve from A's tail into B's head over the whole overlap, picture and sound alike."""

    name = "crossfade"

    def picture(self, r: int) -> Span:
        return Span(0, r)

    def sound(self, r: int, audio_from: str) -> Span:
        return Span(0, r)


SPLICE_MODES: dict[str, SpliceMode] = {m.name: m for m in (TrimB(), TrimA(), Crossfade())}
MODES = tuple(SPLICE_MODES)


def splice_mode(mode: str | SpliceMode) -> SpliceMode:
    """The mode object for a name (what the CLI and the Python API take), or the object itself."""
    if isinstance(mode, SpliceMode):
        return mode
    if mode not in SPLICE_MODES:
        raise InputError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
    return SPLICE_MODES[mode]
