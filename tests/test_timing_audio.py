"""``parse_seconds`` and the reference-audio rounding rule (pure math, exact fractions)."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import pytest

from ltxkit.errors import InputError
from ltxkit.timing import parse_seconds, reference_audio_window, round_half_up

NTSC_FILM = Fraction(24000, 1001)


@pytest.mark.parametrize(("text", "expected"), [
    ("4.04", Fraction(101, 25)),
    (" 3 ", Fraction(3)),
    ("0", Fraction(0)),
    ("1001/250", Fraction(1001, 250)),
    ("0.000020833", Fraction(20833, 10**9)),
    (0.1, Fraction(1, 10)),  # a float goes through its shortest repr, not its binary value
    (7, Fraction(7)),
    (Fraction(1, 3), Fraction(1, 3)),
    (Decimal("2.5"), Fraction(5, 2)),
])
def test_parse_seconds_is_exact(text: object, expected: Fraction) -> None:
    assert parse_seconds(text) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["-0.5", "abc", "1.2.3", "nan", "inf", "1/0", "", True, -1])
def test_parse_seconds_rejects_bad_values_naming_the_option(bad: object) -> None:
    with pytest.raises(InputError, match="--cut"):
        parse_seconds(bad, name="--cut")  # type: ignore[arg-type]


def test_window_samples_follow_the_exact_formula() -> None:
    # 25 fps, 48 kHz: 8 frames = 0.32 s = 15360 samples; 49 frames = 94080 samples.
    w = reference_audio_window(Fraction(101, 25), 8, Fraction(25), Fraction(49, 25), 48000)
    assert (w.start_sample, w.num_samples, w.end_sample) == (178560, 94080, 272640)
    assert w.start_seconds == Fraction(372, 100)


def test_start_tie_rounds_half_up_where_python_round_would_round_to_even() -> None:
    # 44100 Hz × (2 − 40·1001/24000) = 88200 − 73573.5 = 14626.5 exactly: a tie.
    w = reference_audio_window(Fraction(2), 40, NTSC_FILM, Fraction(1), 44100)
    exact = 44100 * (Fraction(2) - Fraction(40) / NTSC_FILM)
    assert exact == Fraction(29253, 2)
    assert w.start_sample == 14627
    assert round(exact) == 14626  # the rule ltxkit does not use


def test_negative_start_tie_rounds_toward_plus_infinity() -> None:
    # 44100 − 73573.5 = −29473.5 → −29473 (half up), where round() gives the even −29474.
    w = reference_audio_window(Fraction(1), 40, NTSC_FILM, Fraction(1), 44100)
    assert w.start_sample == -29473
    assert round(44100 * (1 - Fraction(40) / NTSC_FILM)) == -29474


def test_length_tie_rounds_half_up() -> None:
    # 40 frames at 24000/1001 fps and 44.1 kHz are 73573.5 samples.
    duration = Fraction(40) / NTSC_FILM
    w = reference_audio_window(Fraction(10), 8, NTSC_FILM, duration, 44100)
    assert 44100 * duration == Fraction(147147, 2)
    assert w.num_samples == 73574


@pytest.mark.parametrize("rate", [44100, 48000])
@pytest.mark.parametrize("fps", [NTSC_FILM, Fraction(25), Fraction(30), Fraction(30000, 1001)])
def test_rounding_is_floor_of_x_plus_half_on_a_grid(rate: int, fps: Fraction) -> None:
    for cut_ms in range(300, 20000, 977):
        for overlap in (0, 1, 8, 24):
            cut = Fraction(cut_ms, 1000)
            w = reference_audio_window(cut, overlap, fps, Fraction(97) / fps, rate)
            assert w.start_sample == math.floor(rate * (cut - overlap / fps) + Fraction(1, 2))
            assert w.num_samples == math.floor(rate * 97 / fps + Fraction(1, 2))
            assert abs(w.start_sample - rate * (cut - overlap / fps)) <= Fraction(1, 2)
            assert round_half_up(Fraction(w.start_sample)) == w.start_sample
