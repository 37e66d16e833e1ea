"""``plan_segments``: every clip 8n+1 ≤ max, exact overlaps, whole-track coverage, frame bookkeeping."""

from __future__ import annotations

import itertools
import math
import random
from fractions import Fraction

import pytest

from ltxkit.audio.plan import SegmentPlan, plan_segments
from ltxkit.errors import InputError
from ltxkit.timing import is_valid_ltx_frames

RATES = [Fraction(24000, 1001), Fraction(24), Fraction(25), Fraction(30000, 1001), Fraction(30), Fraction(60)]
OVERLAPS = [0, 1, 8, 9, 24, 120]
MAX_FRAMES = [9, 17, 121, 257]


def _totals(fps: Fraction, max_frames: int) -> list[Fraction]:
    """Lengths around every boundary that matters: one sample, exact frame and clip edges, ±ε, random."""
    eps = Fraction(1, 48000)
    edges = [Fraction(k) / fps for k in (1, 8, 9, 10, max_frames - 1, max_frames, max_frames + 1,
                                         2 * max_frames, 5 * max_frames + 3)]
    rng = random.Random(f"{fps}-{max_frames}")
    spread = [Fraction(rng.randrange(1, 40 * max_frames * 997), 997) / fps for _ in range(4)]
    return [eps, *edges, *(e + eps for e in edges), *(e - eps for e in edges if e > eps), *spread]


def check_plan(plan: SegmentPlan, total: Fraction, fps: Fraction, overlap: int, max_frames: int) -> None:
    segments = list(plan)
    assert segments, "a non-empty track needs at least one clip"
    first = segments[0]
    assert (first.index, first.start_frame, first.overlap_frames, first.cut_seconds) == (0, 0, 0, Fraction(0))
    for seg in segments:
        assert is_valid_ltx_frames(seg.frames) and seg.frames <= max_frames
        assert seg.new_frames >= 1
        assert seg.audio_start_seconds == seg.cut_seconds - Fraction(seg.overlap_frames) / fps
        assert seg.duration_seconds == Fraction(seg.frames) / fps
    for prev, seg in itertools.pairwise(segments):
        assert seg.index == prev.index + 1
        assert seg.overlap_frames == overlap
        assert prev.end_frame - seg.start_frame == overlap  # exactly N frames shared
        assert seg.cut_seconds == prev.audio_end_seconds  # B starts where A ends
        assert prev.frames == max_frames  # only the last clip may be shorter
        assert prev.past_end_seconds == 0
    needed = math.ceil(total * fps)
    assert plan.needed_frames == needed
    assert sum(s.new_frames for s in segments) == plan.timeline_frames == segments[-1].end_frame
    assert segments[-1].audio_end_seconds >= total  # the whole track is covered
    assert 0 <= plan.overshoot_frames < 8  # the last clip is the shortest valid count that covers
    assert segments[-1].end_frame - segments[-1].frames + segments[-1].overlap_frames < needed  # no spare clip
    assert plan.overshoot_seconds == segments[-1].past_end_seconds == Fraction(plan.timeline_frames) / fps - total
    if needed > max_frames:
        assert len(segments) == 1 + math.ceil((needed - max_frames) / (max_frames - overlap))
    else:
        assert len(segments) == 1


@pytest.mark.parametrize("fps", RATES, ids=str)
def test_plans_hold_every_property(fps: Fraction) -> None:
    checked = 0
    for max_frames in MAX_FRAMES:
        for overlap in (o for o in OVERLAPS if o < max_frames):
            for total in _totals(fps, max_frames):
                check_plan(plan_segments(total, fps, overlap, max_frames), total, fps, overlap, max_frames)
                checked += 1
    assert checked > 300


@pytest.mark.parametrize("rate", [44100, 48000])
@pytest.mark.parametrize("fps", RATES, ids=str)
def test_consecutive_audio_windows_overlap_by_n_frames_of_samples(fps: Fraction, rate: int) -> None:
    plan = plan_segments(Fraction(601, 7), fps, 8, 257)
    windows = [s.audio_window(rate) for s in plan]
    assert windows[0].start_sample == 0
    for prev, nxt in itertools.pairwise(windows):
        shared = prev.end_sample - nxt.start_sample
        assert abs(shared - Fraction(8 * rate) / fps) <= 1  # each edge is rounded once, never accumulated
    assert windows[-1].end_sample >= 601 * rate // 7


def test_a_long_track() -> None:
    total = Fraction(3_600_007, 1000)  # an hour and 7 ms
    check_plan(plan_segments(total, "30000/1001", 24, 257), total, Fraction(30000, 1001), 24, 257)


def test_a_known_plan() -> None:
    # 40 s at 24000/1001 is 959.04 frames → 960 needed; 257 + 249 + 249 + 209 = 964 frames.
    plan = plan_segments("40", "24000/1001", 8, 257)
    assert [(s.frames, s.new_frames, s.start_frame) for s in plan] == [
        (257, 257, 0), (257, 249, 249), (257, 249, 498), (217, 209, 747)]
    assert (plan.needed_frames, plan.timeline_frames, plan.overshoot_frames) == (960, 964, 4)
    assert plan[1].cut_seconds == Fraction(257 * 1001, 24000)
    data = plan.to_json(48000)
    assert data["segments"][1]["start_sample"] == 498498
    assert data["segments"][0]["num_samples"] == 514514


def test_a_track_that_fits_one_clip_takes_the_shortest_valid_count() -> None:
    plan = plan_segments(Fraction(3), 25, 8, 257)
    assert [s.frames for s in plan] == [81]  # 75 frames needed → 81
    assert plan.overshoot_seconds == Fraction(6, 25)


@pytest.mark.parametrize(("args", "message"), [
    ((10, 25, 8, 250), "not a valid LTX frame count"),
    ((10, 25, 9, 9), "must exceed --overlap"),
    ((10, 25, -1, 257), "overlap must be ≥ 0"),
    ((0, 25, 8, 257), "empty"),
    ((10, "0", 8, 257), "--fps"),
    (("-1", 25, 8, 257), "≥ 0 seconds"),
])
def test_bad_plans_are_input_errors(args: tuple[object, object, int, int], message: str) -> None:
    with pytest.raises(InputError, match=message):
        plan_segments(*args)  # type: ignore[arg-type]


def test_plan_after_an_opening_clip_continues_from_it() -> None:
    plan = plan_segments(Fraction(20), Fraction(25), 3, 121, opening_frames=75)  # 500 frames, 75 exist
    assert [(s.start_frame, s.overlap_frames, s.frames) for s in plan] == [
        (72, 3, 121), (190, 3, 121), (308, 3, 121), (426, 3, 81)]
    assert plan[0].cut_seconds == 3 and plan[0].audio_start_seconds == Fraction(72, 25)
    assert (plan.timeline_frames, plan.overshoot_frames) == (507, 7)
    assert plan.to_json()["opening_frames"] == 75
    assert len(plan_segments(Fraction(3), Fraction(25), 3, 121, opening_frames=75)) == 0
    with pytest.raises(InputError, match="fewer than the 3 overlap frames"):
        plan_segments(Fraction(20), Fraction(25), 3, 121, opening_frames=2)
