"""Colour conversions, transfers on real footage (mean-colour ΔE76 after matching) and crossfade curves."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from ltxkit.assembly.colour import (
    CURVES,
    blend,
    curve_weights,
    delta_e76,
    estimate_transfer,
    lab_to_rgb,
    linear_to_srgb,
    mean_lab,
    rgb_to_lab,
    srgb_to_linear,
)
from ltxkit.frames.defects import inject, through_codec

sys.path.insert(0, str(Path(__file__).resolve().parent))
from real_cuts import A_FROM, B_FROM, NEW, decode


def test_srgb_and_lab_reference_values_and_exact_round_trips() -> None:
    assert rgb_to_lab(np.array([255, 0, 0], np.uint8)) == pytest.approx([53.2408, 80.0925, 67.2032], abs=1e-3)
    assert rgb_to_lab(np.array([255, 255, 255], np.uint8)) == pytest.approx([100.0, 0.0, 0.0], abs=1e-3)
    levels = np.arange(256, dtype=np.uint8)
    assert np.array_equal(linear_to_srgb(srgb_to_linear(levels)), levels)
    grid = np.stack(np.meshgrid(levels[::5], levels[::5], levels[::5]), -1).reshape(-1, 3)
    assert np.array_equal(lab_to_rgb(rgb_to_lab(grid)), grid)
    assert delta_e76(np.array([50.0, 3.0, 4.0]), np.array([50.0, 0.0, 0.0])) == 5.0


@pytest.fixture(scope="module")
def shifted(real_clip: Path) -> dict[str, list[np.ndarray]]:
    """A's tail, B clean, B with R+8/B−8 from its first new frame and over all of B (all encoded)."""
    frames = decode(real_clip, (320, 180))
    b = frames[B_FROM:B_FROM + 35]
    return {"a": through_codec(frames[A_FROM:NEW]), "clean": through_codec(b),
            "new": through_codec(inject(b, "white_balance", 3, 8)),
            "all": through_codec(inject(b, "white_balance", 0, 8))}


@pytest.mark.parametrize("space", ["lab", "linear"])
@pytest.mark.parametrize("method", ["reinhard", "hm", "mkl"])
@pytest.mark.parametrize("case", ["new", "all"])
def test_colour_match_brings_a_shift_of_8_within_1_5(shifted: dict[str, list[np.ndarray]], case: str,
                                                     method: str, space: str) -> None:
    a, b = shifted["a"], shifted[case]
    # from B's first new frames against A's last ones, or from the overlap pairs (same content)
    reference, source = (a[-3:], b[3:6]) if case == "new" else (a[-3:], b[:3])
    truth = mean_lab(shifted["clean"][3:])
    assert delta_e76(mean_lab(b[3:]), truth) > 4.5
    transfer = estimate_transfer(reference, source, method, space=space)
    corrected = transfer.apply_all(b[3:])
    assert delta_e76(mean_lab(corrected), truth) <= 1.5
    again = estimate_transfer(reference, source, method, space=space).apply(b[3])
    assert np.array_equal(again, corrected[0])  # deterministic, to the byte


def test_none_and_unknown_methods(shifted: dict[str, list[np.ndarray]]) -> None:
    frame = shifted["new"][5]
    assert estimate_transfer(shifted["a"], shifted["new"], "none").apply(frame) is frame
    with pytest.raises(ValueError, match="unknown colour-match method 'auto'"):
        estimate_transfer(shifted["a"], shifted["new"], "auto")
    with pytest.raises(ValueError, match="unknown colour space 'hsv'"):
        estimate_transfer(shifted["a"], shifted["new"], "mkl", space="hsv")


def test_curve_weights_and_the_space_each_curve_blends_in() -> None:
    t = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    assert curve_weights("linear", t).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert curve_weights("ease", t).tolist() == [0.0, 0.15625, 0.5, 0.84375, 1.0]
    assert curve_weights("filmic", t).tolist() == curve_weights("perceptual", t).tolist() == t.tolist()
    black, white = np.zeros((1, 1, 3), np.uint8), np.full((1, 1, 3), 255, np.uint8)
    mid = {c: int(blend(black, white, 0.5, c)[0, 0, 0]) for c in CURVES}
    # code values 127.5; linear light 0.5 → sRGB 187.5; L* 50 → sRGB 118.9
    assert mid == {"linear": 128, "ease": 128, "filmic": 188, "perceptual": 119}
    assert int(blend(black, white, 0.25, "ease")[0, 0, 0]) == 40  # 255 × 0.15625 = 39.8
    with pytest.raises(ValueError, match="unknown crossfade curve"):
        curve_weights("cubic", t)
