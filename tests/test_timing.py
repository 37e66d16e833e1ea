"""The pure time model (:mod:`ltxkit.timing`), by subject; answers checked against exact formulas and brute force."""

from __future__ import annotations

import itertools
import json
import math
from decimal import Decimal
from fractions import Fraction

import pytest

from ltxkit.assembly.modes import splice_mode
from ltxkit.errors import InputError
from ltxkit.timing import (
    CONVENTIONS,
    SampleGrid,
    check_ltx_frames,
    format_fps,
    fps_number,
    frame_position,
    frame_to_sample,
    frames_to_seconds,
    interpolated_frame_count,
    is_valid_ltx_frames,
    ltx_frames_at_least,
    ltx_frames_for_seconds,
    map_frames,
    overlap_pairs,
    overlap_seconds,
    parse_fps,
    parse_seconds,
    reference_audio_window,
    require_ltx_frames,
    round_half_up,
    sample_grid,
    seconds_to_frame_boundary,
    seconds_to_frames,
    seconds_to_sample,
    splice_layout,
    tail_source_indices,
    timestamp_slack,
)

VALID = [8 * n + 1 for n in range(0, 200)]
NTSC_FILM = Fraction(24000, 1001)


# --- frame rates, seconds and rounding ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("25", Fraction(25)),
        (25, Fraction(25)),
        ("30000/1001", Fraction(30000, 1001)),
        ("24000:1001", Fraction(24000, 1001)),
        ("23.976", Fraction(24000, 1001)),
        ("29.97", Fraction(30000, 1001)),
        (29.97, Fraction(30000, 1001)),
        ("59.94", Fraction(60000, 1001)),
        ("12.5", Fraction(25, 2)),
        (Fraction(50), Fraction(50)),
        (" 60 ", Fraction(60)),
    ],
)
def test_parse_fps_is_exact(text: object, expected: Fraction) -> None:
    assert parse_fps(text) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["abc", "", "0", "-25", "25/0", "nan", "inf", True, "1/0", "3e999",
                                 "1e-999999999"])  # the last one hung building a billion-digit Fraction
def test_parse_fps_rejects(bad: object) -> None:
    with pytest.raises(InputError, match="fps"):
        parse_fps(bad)  # type: ignore[arg-type]


def test_format_fps_round_trips() -> None:
    for fps in (Fraction(25), Fraction(30000, 1001), Fraction(25, 2)):
        assert parse_fps(format_fps(fps)) == fps
    assert format_fps(Fraction(25)) == "25"
    assert format_fps(Fraction(24000, 1001)) == "24000/1001"


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


def test_rates_go_to_the_api_as_json_numbers_that_read_back_exactly() -> None:
    # regression (issue 15): NTSC sampledFps went out as the string "30000/1001"; the document shows numbers
    for fps, number in [(Fraction(25), 25), (Fraction(30000, 1001), 29.97), (Fraction(24000, 1001), 23.976),
                        (Fraction(60000, 1001), 59.94), (Fraction(25, 2), 12.5)]:
        assert fps_number(fps) == number and type(fps_number(fps)) is type(number)
        assert parse_fps(json.loads(json.dumps(fps_number(fps)))) == fps


def test_frames_seconds_exact() -> None:
    ntsc = Fraction(30000, 1001)
    assert frames_to_seconds(257, Fraction(25)) == Fraction(257, 25)
    assert frames_to_seconds(30, ntsc) == Fraction(1001, 1000)
    assert seconds_to_frames(Fraction(1001, 1000), ntsc) == 30
    assert seconds_to_frames(1, ntsc) == Fraction(30000, 1001)


def test_round_half_up() -> None:
    assert [round_half_up(Fraction(n, 2)) for n in range(-5, 6)] == [-2, -2, -1, -1, 0, 0, 1, 1, 2, 2, 3]
    assert round_half_up(Fraction(7, 5)) == 1 and round_half_up(Fraction(8, 5)) == 2


# --- the LTX 8n+1 rule ----------------------------------------------------------------------------


def test_valid_counts_match_brute_force() -> None:
    valid = set(VALID)
    for frames in range(-5, 1000):
        assert is_valid_ltx_frames(frames) == (frames in valid)
        check = check_ltx_frames(frames)
        below = [v for v in VALID if v <= frames]
        above = [v for v in VALID if v >= frames]
        assert check.lower == (below[-1] if below else None)
        assert check.upper == above[0]
        assert check.valid == (frames in valid)


def test_seed_examples() -> None:
    assert is_valid_ltx_frames(249) and is_valid_ltx_frames(257)
    check = check_ltx_frames(250)
    assert not check.valid and (check.lower, check.upper) == (249, 257)
    assert check.suggestion() == "249 or 257"
    assert check_ltx_frames(257).suggestion() == "257"
    with pytest.raises(InputError, match="nearest valid: 249 or 257"):
        require_ltx_frames(250, Fraction(25))
    require_ltx_frames(257, Fraction(25))


def test_ltx_frames_at_least_and_for_seconds() -> None:
    for frames in range(1, 600):
        assert ltx_frames_at_least(frames) == min(v for v in VALID if v >= frames)
    assert ltx_frames_at_least(Fraction(2497, 10)) == 257
    # 6 s at 30 fps = 180 frames: 177 (3 away) beats 185 (5 away).
    assert ltx_frames_for_seconds(6, Fraction(30)) == 177
    assert ltx_frames_for_seconds(Fraction(257, 25), Fraction(25)) == 257
    # exactly between 249 and 257 (253 frames): the tie goes to the longer clip.
    assert ltx_frames_for_seconds(Fraction(253, 25), Fraction(25)) == 257
    for tenths in range(1, 200):
        seconds = Fraction(tenths, 10)
        exact = seconds * 25
        best = min(VALID, key=lambda v: (abs(v - exact), -v))
        assert ltx_frames_for_seconds(seconds, Fraction(25)) == best


# --- overlap frames: durations, tail indices, A/B pairs -------------------------------------------


def test_overlap_seconds_and_mapping() -> None:
    assert overlap_seconds(3, Fraction(25)) == Fraction(3, 25)
    with pytest.raises(InputError):
        overlap_seconds(-1, Fraction(25))
    m = map_frames(3, Fraction(25), Fraction(60))
    assert m.exact == Fraction(36, 5) and not m.whole
    assert m.rounded == 7
    assert m.error_seconds == Fraction(-1, 300)
    assert m.error_ms == pytest.approx(-3.3333333)
    whole = map_frames(5, Fraction(25), Fraction(50))
    assert whole.whole and whole.rounded == 10 and whole.error_seconds == 0


def test_tail_indices_equal_fps_are_last_n() -> None:
    for n in range(1, 10):
        assert tail_source_indices(100, Fraction(25), n, Fraction(25)) == list(range(100 - n, 100))


def test_tail_indices_resampled() -> None:
    # 60 fps footage sampled at 25 (no interpolation convention fits 120 frames): samples k/25 s from frame 0
    # inside the clip are k = 0..49 (49 x 2.4 = 117.6 ≤ 119), the last three at 112.8, 115.2, 117.6 → 113,
    # 115, 118; the same frames as B's frame 0 at A-time 47/25 s.
    assert tail_source_indices(120, Fraction(60), 3, Fraction(25)) == [113, 115, 118]
    assert tail_source_indices(120, Fraction(60), 6, Fraction(25)) == [106, 108, 110, 113, 115, 118]
    # slower than the sampled rate: 50 frames at 10 fps hold samples 0..122 at 25 (122 x 0.4 = 48.8)
    assert tail_source_indices(50, Fraction(10), 2, Fraction(25)) == [48, 49]
    # 30000/1001 clip sampled at 24000/1001: 1.25 frames per step, samples 36..39 at 45, 46.25, 47.5, 48.75
    assert tail_source_indices(50, Fraction(30000, 1001), 4, Fraction(24000, 1001)) == [45, 46, 48, 49]
    with pytest.raises(InputError, match="too few"):
        tail_source_indices(5, Fraction(60), 3, Fraction(25))
    with pytest.raises(InputError):
        tail_source_indices(100, Fraction(25), 0, Fraction(25))


# --- interpolated clips: conventions, the sample grid, the splice layout ----------------------------

# (sampled fps, output fps): 2x, NTSC 2x, 25 → 60 (2.4), 24 → 60 (2.5), 30 → 30 (no interpolation)
RATIOS = [(Fraction(30), Fraction(60)), (Fraction(30000, 1001), Fraction(60000, 1001)), (Fraction(25), Fraction(60)),
          (Fraction(24), Fraction(60)), (Fraction(30), Fraction(30))]


def test_convention_frame_counts_at_2x_are_2f_minus_1_2f_and_2f_plus_1() -> None:
    for f in VALID[:40]:
        counts = [interpolated_frame_count(f, Fraction(30), Fraction(60), c) for c in CONVENTIONS]
        assert counts == [2 * f - 1, 2 * f, 2 * f + 1]
    # 25 → 60: 9 samples span 8/25 s = 19.2 frames: fill-between 20 frames; 9/25 s = 21.6 → 22 frames
    assert [interpolated_frame_count(9, Fraction(25), Fraction(60), c) for c in CONVENTIONS] == [20, 22, 23]
    with pytest.raises(ValueError, match="convention"):
        interpolated_frame_count(9, Fraction(25), Fraction(60), "3F")


@pytest.mark.parametrize(("sampled", "fps"), RATIOS, ids=str)
@pytest.mark.parametrize("convention", CONVENTIONS)
def test_the_grid_infers_every_convention_and_its_samples_from_the_frame_count(
        sampled: Fraction, fps: Fraction, convention: str) -> None:
    for f in VALID[:33]:
        m = interpolated_frame_count(f, sampled, fps, convention)
        grid = sample_grid(m, fps, sampled)
        if fps == sampled:  # one rate: every frame is a sample, whatever the count
            assert (grid.samples, grid.convention) == (m, "same-rate")
            continue
        assert (grid.samples, grid.convention) == (f, convention), (f, m)
        # the known count gives the same grid
        assert sample_grid(m, fps, sampled, f) == grid


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_the_tail_of_a_2x_clip_is_its_last_samples_never_a_blend(convention: str) -> None:
    for f in VALID[1:33]:
        m = interpolated_frame_count(f, Fraction(30), Fraction(60), convention)
        for n in (1, 2, 3, 8, f):
            assert tail_source_indices(m, Fraction(60), n, Fraction(30)) == [2 * k for k in range(f - n, f)]
    # the case: 2F-1 frames of 57 samples → 113 frames; samples 54..56 are frames 108, 110, 112
    assert tail_source_indices(113, Fraction(60), 3, Fraction(30)) == [108, 110, 112]


def test_the_tail_at_25_to_60_is_the_nearest_frame_to_each_sample_from_frame_0() -> None:
    # samples 22, 23, 24 sit at 52.8, 55.2, 57.6 frames; the fill-between clip (58 frames) ends at 57
    assert tail_source_indices(58, Fraction(60), 3, Fraction(25)) == [53, 55, 57]
    assert tail_source_indices(60, Fraction(60), 3, Fraction(25)) == [53, 55, 58]


def test_a_known_sample_count_wins_and_a_count_that_does_not_fit_is_refused() -> None:
    # 121 frames at 60 is camera footage sampled at 30 (61 samples) unless the run knows it made 57 samples
    assert sample_grid(121, Fraction(60), Fraction(30)).to_json() == {"samples": 61, "convention": "unknown"}
    known = sample_grid(121, Fraction(60), Fraction(30), 57)
    assert (known.samples, known.convention, known.tail(2)) == (57, "unknown", [110, 112])
    assert sample_grid(113, Fraction(60), Fraction(30), 57).convention == "2F-1"
    with pytest.raises(InputError, match="cannot hold"):
        sample_grid(100, Fraction(60), Fraction(30), 57)
    with pytest.raises(InputError, match="no frames"):
        sample_grid(0, Fraction(60), Fraction(30))


def _count(samples: int, sampled: Fraction, fps: Fraction, convention: str) -> int:
    """Frames of a generated clip; at one rate there is nothing to interpolate: F frames."""
    return samples if fps == sampled else interpolated_frame_count(samples, sampled, fps, convention)


def _shown(grid: SampleGrid, start: Fraction) -> list[Fraction]:
    """What each frame of a clip of ``grid`` starting at ``start`` s shows: its instant, or the last
    sample's for the trailing copies after it (a real interpolator cannot go past its last sample)."""
    last = Fraction(grid.samples - 1) / grid.sampled_fps
    return [start + min(Fraction(j) / grid.fps, last) for j in range(grid.frame_count)]


def _spliced(grids: list[SampleGrid], overlap: int, mode: str) -> list[Fraction]:
    """The instants a splice shows (the splice modes' kept frames on the layout), a dissolve taken as B's."""
    layout = splice_layout(grids, overlap)
    shown = [_shown(g, t) for g, t in zip(grids, layout.origins, strict=True)]
    out: list[Fraction] = []
    for i, (start, stop) in enumerate(splice_mode(mode).kept(layout.shown_counts, layout.overlaps)):
        out += shown[i][start:stop]
        if mode == "crossfade" and i + 1 < len(grids):
            out += shown[i + 1][:layout.overlaps[i]]
    assert len(out) == layout.frame_count
    return out


@pytest.mark.parametrize("mode", ["trim-b", "trim-a", "crossfade"])
@pytest.mark.parametrize(("sampled", "fps"), RATIOS, ids=str)
@pytest.mark.parametrize("convention", CONVENTIONS)
def test_a_splice_shows_one_continuous_take_with_nothing_repeated_or_skipped(
        sampled: Fraction, fps: Fraction, convention: str, mode: str) -> None:
    for fa, fb, fc, n in itertools.product((17, 25, 33), (9, 17, 25), (17,), (1, 2, 3, 8)):
        if fb <= 2 * n:
            continue  # B would be all overlap
        grids = [sample_grid(_count(f, sampled, fps, convention), fps, sampled) for f in (fa, fb, fc)]
        shown = _spliced(grids, n, mode)
        whole = fa + fb + fc - 2 * n
        take = sample_grid(_count(whole, sampled, fps, convention), fps, sampled, whole)
        if (fps / sampled).denominator == 1:
            # exactly one clip of F_A + F_B + F_C - 2N samples: e.g. 2F-1 at 2x gives 2(ΣF - 2N) - 1 frames
            assert shown == _shown(take, Fraction(0)), (fa, fb, n)
        else:
            # 25 → 60: every frame within half a frame of its slot, strictly increasing, none missing
            assert all(abs(t * fps - i) <= Fraction(1, 2) for i, t in enumerate(shown[:-3])), (fa, fb, n)
            assert all(b > a for a, b in itertools.pairwise(shown[:-3]))
            assert abs(len(shown) - take.frame_count) <= 1


def test_two_2f_minus_1_clips_sampled_at_30_splice_into_2_f_a_plus_f_b_minus_n_minus_1_frames() -> None:
    a, b = sample_grid(113, Fraction(60), Fraction(30)), sample_grid(113, Fraction(60), Fraction(30))
    layout = splice_layout([a, b], 3)
    # B's frame 0 is A's sample 54 = frame 108; A shows 0..112, B drops (N-1)·2 + 1 = 5 frames
    assert (layout.placements, layout.shown_counts, layout.overlaps) == ((0, 108), (113, 113), (5,))
    assert layout.frame_count == 2 * (57 + 57 - 3) - 1 == 221
    assert layout.origins == (0, Fraction(54, 30))
    kept = {m: splice_mode(m).kept(layout.shown_counts, layout.overlaps) for m in ("trim-b", "trim-a", "crossfade")}
    assert kept == {"trim-b": [(0, 113), (5, 113)], "trim-a": [(0, 108), (0, 113)],
                    "crossfade": [(0, 108), (5, 113)]}


def test_a_2f_clip_drops_its_trailing_copy_and_at_one_rate_b_drops_n_frames() -> None:
    layout = splice_layout([sample_grid(114, Fraction(60), Fraction(30))] * 2, 3)
    assert (layout.shown_counts, layout.overlaps, layout.frame_count) == ((113, 114), (5,), 2 * (57 + 57 - 3))
    one_rate = [sample_grid(100, Fraction(25), Fraction(25)), sample_grid(53, Fraction(25), Fraction(25))]
    same = splice_layout(one_rate, 3)
    assert (same.placements, same.overlaps, same.frame_count) == ((0, 97), (3,), 150)
    assert same.origins == (0, Fraction(97, 25))


def test_placements_are_rounded_from_exact_origins_so_a_long_chain_does_not_drift() -> None:
    grids = [sample_grid(20, Fraction(60), Fraction(25))] * 40  # 9 samples each, 25 → 60 fill-between
    layout = splice_layout(grids, 2)
    for origin, placement in zip(layout.origins, layout.placements, strict=True):
        assert abs(origin * 60 - placement) <= Fraction(1, 2)
    assert layout.origins[-1] == Fraction(39 * 7, 25)


def test_splice_layout_refuses_what_cannot_be_spliced() -> None:
    g = sample_grid(113, Fraction(60), Fraction(30))
    with pytest.raises(InputError, match="two clips"):
        splice_layout([g], 3)
    with pytest.raises(InputError, match="clip 2 is 30 fps, clip 1 60 fps"):
        splice_layout([g, sample_grid(57, Fraction(30), Fraction(30))], 3)
    with pytest.raises(InputError, match=r"larger than clip 1 \(113 frames, 57 samples; it needs at least 58\)"):
        splice_layout([g, g], 57)
    with pytest.raises(InputError, match=r"= 5 frames at 60 fps\) is larger than B b.mp4 \(5 frames; it needs"):
        splice_layout([g, sample_grid(5, Fraction(60), Fraction(30))], 3, ["A a.mp4", "B b.mp4"])
    with pytest.raises(InputError, match=r"larger than clip 2 \(9 frames; it shares 5 with the clip before and 5"):
        splice_layout([g, sample_grid(9, Fraction(60), Fraction(30)), g], 3)
    # no overlap: B follows A's last sample (nobody made the blend between them)
    assert splice_layout([g, g], 0).placements == (0, 113)


def test_overlap_pairs_same_rate_are_the_last_frames_and_the_first_frames() -> None:
    assert overlap_pairs(sample_grid(100, Fraction(25), Fraction(25)), 3, Fraction(25)) == [(97, 0), (98, 1), (99, 2)]


def test_overlap_pairs_map_b_frames_in_time_when_b_is_60_fps_and_sampled_25() -> None:
    # A at 60 fps sampled at 25 holds samples 0..41 (41 x 2.4 = 98.4 ≤ 99): 39, 40, 41 at 93.6, 96, 98.4 →
    # 94, 96, 98; B at 60: 0, 2.4→2, 4.8→5.
    assert overlap_pairs(sample_grid(100, Fraction(60), Fraction(25)), 3, Fraction(60)) == [(94, 0), (96, 2), (98, 5)]


def test_overlap_pairs_reject_an_a_too_short_for_the_overlap() -> None:
    with pytest.raises(InputError, match="too few"):
        overlap_pairs(sample_grid(2, Fraction(25), Fraction(25)), 3, Fraction(25))


# --- trims and the audio of a frame span ----------------------------------------------------------


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


@pytest.mark.parametrize("fps", [Fraction(25), Fraction(30000, 1001), Fraction(24000, 1001), Fraction(15, 2)])
def test_frame_to_sample_is_the_exact_instant_rounded_half_up(fps: Fraction) -> None:
    """The integer form (a render asks once a frame) is the time model's exact rule, ties and negatives too."""
    for rate in (8000, 44100, 48000):
        for frame in [*range(-60, 600), 10**7 + 1]:
            assert frame_to_sample(frame, fps, rate) == seconds_to_sample(Fraction(frame) / fps, rate)


# --- samples and the reference-audio window -------------------------------------------------------


def test_seconds_to_sample() -> None:
    assert seconds_to_sample(Fraction(1, 3), 48000) == 16000
    assert seconds_to_sample(Fraction(1, 88200), 44100) == 1  # 0.5 → 1
    assert seconds_to_sample(Fraction(-1, 88200), 44100) == 0  # -0.5 → 0


def test_reference_audio_window() -> None:
    # Cut at 10 s, 3 overlap frames at 25 fps: start 9.88 s; 257 frames = 10.28 s.
    w = reference_audio_window(Fraction(10), 3, Fraction(25), Fraction(257, 25), 48000)
    assert w.start_seconds == Fraction(247, 25)
    assert (w.start_sample, w.num_samples, w.end_sample) == (474240, 493440, 967680)
    assert w.end_seconds == Fraction(247, 25) + Fraction(257, 25)
    # Ties (exactly half a sample) round up, for the start and the length alike.
    w = reference_audio_window(Fraction(3, 25) + Fraction(1, 88200), 3, Fraction(25), Fraction(1), 44100)
    assert w.start_seconds * 44100 == Fraction(1, 2) and w.start_sample == 1
    ntsc_film = Fraction(24000, 1001)
    w = reference_audio_window(Fraction(10), 0, ntsc_film, Fraction(40) / ntsc_film, 44100)
    assert w.duration_seconds * 44100 == Fraction(147147, 2) and w.num_samples == 73574
    # Not a tie: 9 frames at 30000/1001 = 13243.23 samples at 44.1 kHz.
    ntsc = Fraction(30000, 1001)
    w = reference_audio_window(Fraction(1001, 1000), 1, ntsc, Fraction(9) / ntsc, 44100)
    assert (w.start_sample, w.num_samples) == (42673, 13243)  # 42672.63 and 13243.23


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


# --- placing decoded audio frames in samples ------------------------------------------------------


def test_frames_are_placed_back_to_back_unless_the_gap_is_real() -> None:
    # Matroska's 1 ms clock is 48 samples at 48 kHz: timestamps within 49 samples of the count are the count
    assert (timestamp_slack(Fraction(1, 1000), 48000),
            timestamp_slack(Fraction(1, 48000), 48000)) == (49, 2)
    place = frame_position
    assert (place(None, 1008, 49), place(None, None, 49)) == (1008, 0)  # the first frame: its own timestamp
    assert [place(1024, 1008, 49), place(2048, 2064, 49), place(3072, 3121, 49), place(100, None, 49)] == \
        [1024, 2048, 3072, 100]  # rounded timestamps (21, 43, ... ms) and none at all: back to back
    assert (place(3072, 3122, 49), place(25600, 30384, 49)) == (3122, 30384)  # a gap: the caller adds silence
