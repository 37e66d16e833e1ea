"""Real footage split like an extension: A = frames 0–99, B = frames 97–131 (3 overlap frames).

Each side goes through its own h264 encode, as two generated clips do, so the overlap carries real
codec noise. On the output timeline A's tail is local frames 0–15 (source 84–99), B starts at 13.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from ltxkit.assembly.findings import CutFrames
from ltxkit.frames.defects import inject, through_codec
from ltxkit.frames.readers import VideoReader

A_FROM, B_FROM, NEW = 84, 97, 100
B_START, CUT = B_FROM - A_FROM, NEW - A_FROM  # 13, 16: the cut at B's first new frame


def decode(path: Path, size: tuple[int, int]) -> list[np.ndarray]:
    """Every frame of ``path`` at ``size``; decoded once per worker (seven modules read the same clip), the
    frames read-only so that no test can change another's."""
    return list(_decoded(path, size))


@functools.cache
def _decoded(path: Path, size: tuple[int, int]) -> tuple[np.ndarray, ...]:
    with VideoReader(path) as reader:
        frames = tuple(reader.rgb(size=size))
    for frame in frames:
        frame.setflags(write=False)
    return frames


def cut_frames(frames: list[np.ndarray], a_tail: list[np.ndarray], defect: str | None = None,
               start: int = 0, size: float = 0.0) -> CutFrames:
    """B (source frames 97 on, ``defect`` injected from B's frame ``start``), encoded, against A's tail."""
    b = frames[B_FROM:B_FROM + 35]
    b = through_codec(b if defect is None else inject(b, defect, start, size))
    return CutFrames(a=a_tail, b=b, b_start=B_START, cut=CUT)
