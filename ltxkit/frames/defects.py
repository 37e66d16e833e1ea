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

KINDS = ("white_balance", "darker", "flash", "frozen", "skipped", "shift", "zoom", "contrast", "desaturate")


def _clip(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.clip(np.round(x), 0, 255).astype(np.uint8)
    return out


def _zoomed(frame: np.ndarray, scale: float) -> np.ndarray:
    h, w = frame.shape[:2]
    ys = np.clip(np.round((np.arange(h) - (h - 1) / 2) / scale + (h - 1) / 2), 0, h - 1).astype(int)
    xs = np.clip(np.round((np.arange(w) - (w - 1) / 2) / scale + (w - 1) / 2), 0, w - 1).astype(int)
    out: np.ndarray = frame[ys][:, xs]
    return out


def inject(frames: Sequence[np.ndarray], kind: str, start: int, size: float) -> list[np.ndarray]:
    """``frames`` with defect ``kind`` of ``size`` from index ``start`` on (same count of frames).

    white_balance: R+size, B−size levels; darker: × (1 − size); flash: +size levels on 2 frames;
    frozen: frame ``start − 1`` repeated; skipped: ``size`` frames dropped (the last one repeated at the
    end to keep the count); shift: ``size`` pixels right; zoom: × size about the centre; contrast: spread
    about the mean × size; desaturate: chroma × size.
    """
    out = [f.copy() for f in frames]
    for i in range(start, len(out)):
        f = frames[i].astype(np.float64)
        if kind == "white_balance":
            out[i] = _clip(f + np.array([size, 0.0, -size]))
        elif kind == "darker":
            out[i] = _clip(f * (1 - size))
        elif kind == "flash" and i < start + 2:
            out[i] = _clip(f + size)
        elif kind == "frozen":
            out[i] = frames[start - 1].copy()
        elif kind == "skipped":
            out[i] = frames[min(i + int(size), len(frames) - 1)].copy()
        elif kind == "shift":
            out[i] = np.roll(frames[i], int(size), axis=1)
        elif kind == "zoom":
            out[i] = _zoomed(frames[i], size)
        elif kind == "contrast":
            out[i] = _clip((f - f.mean()) * size + f.mean())
        elif kind == "desaturate":
            grey = f.mean(axis=2, keepdims=True)
            out[i] = _clip(grey + (f - grey) * size)
        elif kind not in KINDS:
            raise ValueError(f"unknown defect {kind!r} (one of {', '.join(KINDS)})")
    return out


def through_codec(frames: Sequence[np.ndarray], fps: Fraction | int = 25) -> list[np.ndarray]:
    """``frames`` encoded to h264 and decoded again: the compression a delivered clip really has."""
    h, w = frames[0].shape[:2]
    with tempfile.TemporaryDirectory() as d:
        path = write_clip(Path(d) / "clip.mp4", frames=len(frames), fps=fps, width=w, height=h,
                          render=iter(frames))
        with VideoReader(path) as reader:
            return list(reader.rgb())
