"""The synthetic frames: each channel is computed along the one line it varies on and broadcast, which
must give exactly the gradient's formula on the whole grid (pinned here for the part no text covers)."""

from __future__ import annotations

import numpy as np
import pytest

from ltxkit.frames.synth import read_frame_code, render_frame


@pytest.mark.parametrize(("width", "height", "index", "seed"), [(160, 120, 0, 0), (320, 180, 59, 0),
                                                                 (176, 144, 1000, 3), (33, 17, 7, 1)])
def test_the_gradient_is_its_formula_on_every_pixel(width: int, height: int, index: int, seed: int) -> None:
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    phase = index * 0.08 + seed * 0.7
    r = 128 + 90 * np.sin(x / width * 6.28 + phase)
    g = 128 + 90 * np.sin(y / height * 6.28 - phase * 0.7)
    b = 128 + 60 * np.cos((x + y) / (width + height) * 6.28 + phase * 0.5 + seed)
    want = np.stack([r, g, b], axis=-1).clip(0, 255).astype(np.uint8)
    got = render_frame(index, width, height, seed=seed)
    below_text = height // 2 if height >= 48 else height // 8 + 1  # under the code band and the label
    assert got.dtype == np.uint8 and got.shape == (height, width, 3)
    assert np.array_equal(got[below_text:], want[below_text:])
    if width >= 16:
        assert read_frame_code(got) == index
