"""The levels every seam measure is rated in, and the two signal measures both raters use.

Shared by :mod:`ltxkit.assembly.seam` (the overlap and the verdict) and
:mod:`ltxkit.assembly.findings` (defects across the cut), which the seam builds on.
"""

from __future__ import annotations

import math

import numpy as np

LEVELS = ("ok", "check", "bad")


def higher_is_better(value: float, limits: tuple[float, float]) -> str:
    return "ok" if value >= limits[0] else "check" if value >= limits[1] else "bad"


def lower_is_better(value: float, limits: tuple[float, float]) -> str:
    return "ok" if value <= limits[0] else "check" if value <= limits[1] else "bad"


def luma(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma of an RGB uint8 frame as float64."""
    f = rgb.astype(np.float64)
    return 0.299 * f[..., 0] + 0.587 * f[..., 1] + 0.114 * f[..., 2]


def rms_db(samples: np.ndarray) -> float:
    """RMS level in dBFS over all channels (−120 for digital silence)."""
    if samples.size == 0:
        return -120.0
    rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
    return max(-120.0, 20 * math.log10(rms)) if rms > 0 else -120.0
