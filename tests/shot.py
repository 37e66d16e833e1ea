"""Clips cut from one continuous shot the way an interpolating service would make them (test media).

A shot is a run of *samples* at ``sampled_fps``; a clip holds samples ``first .. first + samples - 1``
delivered at ``fps`` under one interpolation convention (:data:`ltxkit.timing.CONVENTIONS`). Every frame
carries the *shot instant* it shows as its frame code, in 1/600 s (``UNIT``): a sample of a 30 fps shot is
a multiple of 20, a 60 fps blend between two samples an odd multiple of 10, and a trailing copy repeats the
last sample's code. A splice or tail that repeats, skips or picks a blend therefore shows in the codes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from ltxkit.frames.synth import Tone, draw_frame_code, render_frame, write_clip
from ltxkit.timing import interpolated_frame_count

UNIT = 600  # codes count 1/600 s: whole at 24, 25, 30, 50 and 60 fps
Picture = Callable[[int], np.ndarray]  # the shot's sample k as RGB


@dataclass(frozen=True)
class ShiftedTone(Tone):
    """The tone from absolute sample ``offset`` on: a clip's audio continues the shot's in time."""

    offset: int = 0

    def samples(self, start: int, count: int, rate: int, channels: int) -> np.ndarray:
        return super().samples(start + self.offset, count, rate, channels)


def shown(samples: int, sampled_fps: Fraction, fps: Fraction, convention: str, first: int = 0) -> list[Fraction]:
    """The shot instant (s) each frame of the clip shows: its own, or the last sample's for trailing copies."""
    count = samples if fps == sampled_fps else interpolated_frame_count(samples, sampled_fps, fps, convention)
    start = Fraction(first) / sampled_fps
    last = Fraction(samples - 1) / sampled_fps
    return [start + min(Fraction(j) / fps, last) for j in range(count)]


def offset(first: int, sampled_fps: Fraction, rate: int = 48000) -> int:
    """The shot's audio sample where sample ``first`` sits."""
    value = Fraction(first) / sampled_fps * rate
    assert value.denominator == 1
    return int(value)


def code(instant: Fraction) -> int:
    value = instant * UNIT
    assert value.denominator == 1, f"{instant} s is not a whole number of 1/{UNIT} s"
    return int(value)


def synthetic_picture(width: int, height: int) -> Picture:
    return lambda k: render_frame(k, width, height)


def frames(instants: Sequence[Fraction], sampled_fps: Fraction, picture: Picture) -> list[np.ndarray]:
    """RGB frames showing ``instants``: the sample there, or the linear blend of the two around it."""
    out = []
    for t in instants:
        position = t * sampled_fps
        k = int(position)
        weight = float(position - k)
        rgb = picture(k) if weight == 0 else np.round(
            (1 - weight) * picture(k).astype(np.float64) + weight * picture(k + 1)).astype(np.uint8)
        rgb = rgb.copy()
        draw_frame_code(rgb, code(t))
        out.append(rgb)
    return out


def write_interpolated(path: Path, *, samples: int, sampled_fps: Fraction, fps: Fraction, convention: str,
                       first: int = 0, width: int = 160, height: int = 96, picture: Picture | None = None,
                       tone: Tone | None = None, codec: str = "libx264") -> Path:
    """Samples ``first ..`` of the shot as a clip at ``fps`` (codes: shot instants). ``tone`` is the clip's
    audio from its frame 0 (a :class:`ShiftedTone` at ``offset(first, sampled_fps)`` continues the shot's)."""
    instants = shown(samples, sampled_fps, fps, convention, first)
    rgb = frames(instants, sampled_fps, picture or synthetic_picture(width, height))
    return write_clip(path, frames=len(rgb), fps=fps, width=width, height=height, tone=tone, render=iter(rgb),
                      codec=codec)
