"""``frames.convert.reformat``: a kept swscale context gives each frame the pixels a fresh one does."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from ltxkit.frames import convert
from ltxkit.frames.convert import reformat


def test_a_kept_context_converts_every_frame_as_a_fresh_one(real_clip: Path) -> None:
    """Interleaved conversions (two sizes, RGB and yuv, one with a filter) of real 1280x720 footage:
    each output equals ``VideoFrame.reformat``'s, and a thread keeps at most KEPT contexts."""
    targets = [(640, 360, "rgb24", None), (320, 180, "rgb24", None), (640, 360, "yuv420p", "AREA"),
               (1280, 720, "rgb24", None)]
    with av.open(str(real_clip)) as container:
        frames = [f for _, f in zip(range(6), container.decode(video=0), strict=False)]
    for frame in frames:
        for w, h, fmt, interpolation in targets:
            want = frame.reformat(width=w, height=h, format=fmt, interpolation=interpolation).to_ndarray()
            got = reformat(frame, w, h, fmt, interpolation).to_ndarray()
            assert got.shape == want.shape and np.array_equal(got, want), (w, h, fmt)
    for n in range(convert.KEPT + 3):
        reformat(frames[0], 64 + 2 * n, 36, "rgb24")
    assert len(convert._local.kept) == convert.KEPT
