"""Pure helpers the splice and the seam review rely on (trim rounding, sample spans, overlap pairs)."""

from __future__ import annotations

import itertools
from fractions import Fraction

import pytest

from ltxkit.errors import InputError
from ltxkit.timing import frame_to_sample, overlap_pairs, seconds_to_frame_boundary


def test_trim_of_3_frames_at_25_on_a_60_fps_clip_is_7_frames_minus_3_33_ms() -> None:
    m = seconds_to_frame_boundary(Fraction(3, 25), Fraction(60))
    assert (m.exact, m.rounded, m.whole) == (Fraction(36, 5), 7, False)
    assert m.error_seconds == Fraction(-1, 300)
    assert round(m.error_ms, 2) == -3.33


def test_whole_trims_have_no_error_and_ties_round_to_the_longer_trim() -> None:
    m = seconds_to_frame_boundary(Fraction(3, 25), Fraction(25))
    assert (m.rounded, m.error_seconds, m.whole) == (3, 0, True)
    half = seconds_to_frame_boundary(Fraction(1, 10), Fraction(25))  # 2.5 frames
    assert half.rounded == 3 and half.error_seconds == Fraction(1, 50)


def test_frame_to_sample_tiles_ntsc_audio_without_drift() -> None:
    fps = Fraction(30000, 1001)
    bounds = [frame_to_sample(k, fps, 48000) for k in range(0, 30001)]
    spans = {b - a for a, b in itertools.pairwise(bounds)}
    assert spans == {1601, 1602}
    assert bounds[-1] == 48048000  # 30000 frames = 1001 s exactly
    assert frame_to_sample(100, Fraction(25), 48000) == 192000
    assert frame_to_sample(7, Fraction(60), 48000) == 5600


def test_overlap_pairs_same_rate_are_the_last_frames_and_the_first_frames() -> None:
    assert overlap_pairs(100, Fraction(25), 3, Fraction(25), Fraction(25)) == [(97, 0), (98, 1), (99, 2)]


def test_overlap_pairs_map_b_frames_in_time_when_b_is_60_fps_and_sampled_25() -> None:
    # A at 60 fps sampled at 25: tail 100 - 2.4k = 92.8, 95.2, 97.6 → 93, 95, 98; B at 60: 0, 2.4→2, 4.8→5.
    assert overlap_pairs(100, Fraction(60), 3, Fraction(25), Fraction(60)) == [(93, 0), (95, 2), (98, 5)]


def test_overlap_pairs_reject_an_a_too_short_for_the_overlap() -> None:
    with pytest.raises(InputError, match="too few"):
        overlap_pairs(2, Fraction(25), 3, Fraction(25), Fraction(25))
