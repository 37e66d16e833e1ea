"""Defects of known size, injected into RGB frames the way generated clips show them.

Used to prove the seam findings on real footage, and the model for an emulator that misbehaves like
the real service ("frozen, warped, or otherwise unusable" outputs). Deterministic: no randomness here.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np

from ltxkit.frames.readers import VideoReader
from ltxkit.frames.synth import write_clip

KINDS = ("white_balance", "darker", "flash", "frozen", "skipped", "repeated", "shift", "zoom", "contrast",
         "desaturate")


def _clip(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.clip(np.round(x), 0, 255).astype(np.uint8)
    return out


def _zoomed(frame: np.ndarray, scale: float) -> np.ndarray:
    h, w = frame.shape[:2]
    ys = np.clip(np.round((np.arange(h) - (h - 1) / 2) / scale + (h - 1) / 2), 0, h - 1).astype(int)
    xs = np.clip(np.round((np.arange(w) - (w - 1) / 2) / scale + (w - 1) / 2), 0, w - 1).astype(int)
    out: np.ndarray = frame[ys][:, xs]
    return out


def source_index(kind: str, i: int, start: int, size: float, count: int) -> int:
    """Which of ``count`` frames is shown at ``i``: the temporal defects (frozen, skipped, repeated) pick another."""
    if i < start:
        return i
    if kind == "frozen":
        return start - 1
    if kind == "skipped":
        return min(i + int(size), count - 1)
    if kind == "repeated":
        return max(0, i - int(size))
    return i


def changes_picture(kind: str, i: int, start: int) -> bool:
    """Whether :func:`graded` alters the frame shown at ``i`` (the temporal defects only pick frames)."""
    if kind not in KINDS:
        raise ValueError(f"unknown defect {kind!r} (one of {', '.join(KINDS)})")
    return start <= i and kind not in ("frozen", "skipped", "repeated") and (kind != "flash" or i < start + 2)


def graded(frame: np.ndarray, kind: str, i: int, start: int, size: float) -> np.ndarray:
    """``frame`` (shown at ``i``) with the picture defects (all but the temporal ones) of ``size`` from ``start``."""
    if not changes_picture(kind, i, start):
        return frame.copy()
    f = frame.astype(np.float64)
    if kind == "white_balance":
        return _clip(f + np.array([size, 0.0, -size]))
    if kind == "darker":
        return _clip(f * (1 - size))
    if kind == "flash":
        return _clip(f + size)
    if kind == "shift":
        return np.roll(frame, int(size), axis=1)
    if kind == "zoom":
        return _zoomed(frame, size)
    if kind == "contrast":
        return _clip((f - f.mean()) * size + f.mean())
    grey = f.mean(axis=2, keepdims=True)  # desaturate
    return _clip(grey + (f - grey) * size)


def inject(frames: Sequence[np.ndarray], kind: str, start: int, size: float) -> list[np.ndarray]:
    """``frames`` with defect ``kind`` of ``size`` from index ``start`` on (same count of frames).

    white_balance: R+size, B−size levels; darker: × (1 − size); flash: +size levels on 2 frames;
    frozen: frame ``start − 1`` repeated; skipped: ``size`` frames dropped (the last one repeated at the
    end to keep the count); repeated: frame ``start − 1`` shown ``size`` more times, the rest that late
    (``start`` 0: frame 0 repeated); shift: ``size`` pixels right; zoom: × size about the centre; contrast: spread
    about the mean × size; desaturate: chroma × size.
    """
    n = len(frames)
    return [graded(frames[source_index(kind, i, start, size, n)], kind, i, start, size) for i in range(n)]


def through_codec(frames: Sequence[np.ndarray], fps: Fraction | int = 25) -> list[np.ndarray]:
    """``frames`` encoded to h264 and decoded again: the compression a delivered clip really has."""
    h, w = frames[0].shape[:2]
    with tempfile.TemporaryDirectory() as d:
        path = write_clip(Path(d) / "clip.mp4", frames=len(frames), fps=fps, width=w, height=h,
                          render=iter(frames))
        with VideoReader(path) as reader:
            return list(reader.rgb())
