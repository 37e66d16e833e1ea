"""Seam defects found across the cut on real footage with defects of known size injected into B."""

from __future__ import annotations

import math
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from ltxkit.assembly.findings import (
    CUT_MARGIN,
    CutFrames,
    _aligned_error,
    audio_finding,
    best_cut,
    cut_costs,
    find_defects,
    global_motion,
    verdict,
)
from ltxkit.frames.defects import inject, through_codec

sys.path.insert(0, str(Path(__file__).resolve().parent))
from real_cuts import A_FROM, B_FROM, B_START, CUT, NEW, cut_frames, decode

RATE, SPF = 48000, 1920  # 25 fps


@pytest.fixture(scope="module", params=["bbb", "carphone"])
def footage(request: pytest.FixtureRequest, real_clip: Path,
            real_clip_ntsc: Path) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(all source frames, A's encoded tail) for each real clip."""
    frames = decode(real_clip, (320, 180)) if request.param == "bbb" else decode(real_clip_ntsc, (176, 144))
    return frames, through_codec(frames[A_FROM:NEW])


def test_clean_split_has_no_findings(footage: tuple[list[np.ndarray], list[np.ndarray]]) -> None:
    found = find_defects(cut_frames(*footage))
    assert found == []
    assert verdict(found) == "ok"


@pytest.mark.parametrize(("defect", "start", "size", "kind", "frame", "words"), [
    ("white_balance", 3, 12, "colour", CUT, "B is warmer than A by ΔE "),
    ("white_balance", 0, 12, "colour", CUT, "over all of B (already in the overlap)"),
    ("darker", 3, 0.18, "exposure", CUT, "L* darker than A from its first new frame"),
    ("flash", 3, 40, "flash", CUT, "a 2-frame bright flash"),
    ("frozen", 4, 0, "frozen", CUT + 1, "B freezes from its frame 4"),
    ("skipped", 3, 1, "skipped", CUT, "a frame seems skipped at the cut"),
    ("repeated", 3, 1, "repeated", CUT, "a frame is shown twice at the cut"),
    ("skipped", 0, 1, "skipped", CUT, "B runs one frame ahead of A: a frame is skipped at the cut"),
    ("repeated", 0, 1, "repeated", CUT, "B runs one frame behind A: a frame is shown twice at the cut"),
    ("contrast", 3, 0.7, "contrast", CUT, "% less contrast than A from its first new frame"),
    ("desaturate", 3, 0.6, "saturation", CUT, "% less saturation than A from its first new frame"),
    ("shift", 3, 12, "geometry", CUT, "the picture jumps"),
    ("zoom", 3, 1.08, "geometry", CUT, "the picture zooms in 8 %"),
])
def test_each_injected_defect_is_the_one_finding(footage: tuple[list[np.ndarray], list[np.ndarray]], defect: str,
                                                 start: int, size: float, kind: str, frame: int, words: str) -> None:
    found = find_defects(cut_frames(*footage, defect, start, size))
    assert [f.kind for f in found] == [kind]
    assert found[0].frame == frame
    assert words in found[0].words
    assert found[0].advice
    assert verdict(found) in ("check", "bad")


def test_white_balance_finding_states_size_and_advice(footage: tuple[list[np.ndarray], list[np.ndarray]]) -> None:
    (f,) = find_defects(cut_frames(*footage, "white_balance", 3, 12))
    assert f.level == "bad" and f.unit == "ΔE76" and 7.0 < f.size < 10.0
    assert f.words == f"B is warmer than A by ΔE {f.size:.1f} from its first new frame"
    assert f.advice == "use --color-match mkl (from B's first new frames)"


def test_each_grade_step_is_sized_in_its_own_measure(footage: tuple[list[np.ndarray], list[np.ndarray]]) -> None:
    """A darker B is darker only (not also cooler), a flatter one has less contrast only (not also less
    saturation), a greyer one less saturation only (not also a colour cast), each of about its size."""
    (darker,) = find_defects(cut_frames(*footage, "darker", 3, 0.18))
    assert darker.kind == "exposure" and -9.5 < darker.size < -6.5 and darker.words.startswith("B is ")
    (flat,) = find_defects(cut_frames(*footage, "contrast", 3, 0.7))
    assert flat.kind == "contrast" and -33 < flat.size < -25
    (grey,) = find_defects(cut_frames(*footage, "desaturate", 3, 0.6))
    assert grey.kind == "saturation" and -40 < grey.size < -24
    both = through_codec(inject(inject(footage[0][B_FROM:B_FROM + 35], "darker", 3, 0.18), "white_balance", 3, 12))
    found = find_defects(CutFrames(a=footage[1], b=both, b_start=B_START, cut=CUT))
    assert sorted(f.kind for f in found) == ["colour", "exposure"]  # two defects: two findings


@pytest.mark.parametrize(("clip", "cut", "defect", "start", "kind"), [
    ("bbb", 75, "frozen", 4, "frozen"),  # a slow pan: the frozen frames "breathe" as much as A moves in one
    ("bbb", 50, "skipped", 3, "skipped"),  # the pan slows down: a skip is less than two encodes differ by
    ("carphone", 20, "skipped", 3, "skipped"),  # a face turning: two frames of change are hardly more than one
    ("bbb", 75, "repeated", 3, "repeated"),
    ("bbb", 75, "repeated", 0, "repeated"),  # B a frame behind in a slow pan
])
def test_temporal_defects_the_first_detectors_missed(real_clip: Path, real_clip_ntsc: Path, clip: str, cut: int,
                                                      defect: str, start: int, kind: str) -> None:
    frames = decode(real_clip, (320, 180)) if clip == "bbb" else decode(real_clip_ntsc, (176, 144))
    a = through_codec(frames[cut - 16:cut])
    clean = CutFrames(a=a, b=through_codec(frames[cut - 3:cut + 32]), b_start=13, cut=16)
    assert find_defects(clean) == []
    b = through_codec(inject(frames[cut - 3:cut + 32], defect, start, 1))
    assert [f.kind for f in find_defects(CutFrames(a=a, b=b, b_start=13, cut=16))] == [kind]


def test_cut_must_lie_within_both_clips() -> None:
    frame = np.zeros((4, 4, 3), np.uint8)
    with pytest.raises(ValueError, match="cut 5"):
        CutFrames(a=[frame] * 4, b=[frame] * 4, b_start=2, cut=5)


def _off(frames: list[np.ndarray], k: int) -> list[np.ndarray]:
    """``frames`` with frame ``k`` shifted 9 px sideways: a copy that does not line up."""
    return [np.roll(f, 9, axis=1) if i == k else f.copy() for i, f in enumerate(frames)]


def test_a_cut_is_charged_what_it_shows_across_it_not_the_copy_it_hides(
        footage: tuple[list[np.ndarray], list[np.ndarray]]) -> None:
    """B's copy of source frame 99 (local 15) is off: every cut that shows it (13, 14, 15) pays for it;
    the cut at 16 hides it, as it compares A's last kept frame (15) with B's first kept one (16)."""
    frames, a_tail = footage
    data = CutFrames(a=a_tail, b=through_codec(_off(frames[B_FROM:B_FROM + 35], 2)), b_start=B_START, cut=CUT)
    costs = cut_costs(data)
    assert sorted(costs) == [13, 14, 15, 16]
    assert min(costs[13], costs[14], costs[15]) > 4 * costs[16]
    assert best_cut(costs, default=CUT) == 16
    assert best_cut(costs, default=B_START) == 16  # from trim-a's position too


def test_best_cut_moves_before_a_bad_last_frame_of_a(footage: tuple[list[np.ndarray], list[np.ndarray]]) -> None:
    """A's last frame is off (a generated clip's end often degrades): cutting one frame earlier shows
    B's good copy instead, at the same instant."""
    frames, _ = footage
    a_tail = through_codec(_off(frames[A_FROM:NEW], CUT - 1))
    data = CutFrames(a=a_tail, b=through_codec(frames[B_FROM:B_FROM + 35]), b_start=B_START, cut=CUT)
    costs = cut_costs(data)
    assert max(costs[13], costs[14], costs[15]) * 4 < costs[16]
    assert best_cut(costs, default=CUT) == 15  # the nearest of the equally clean positions


def test_clean_overlap_keeps_the_mode_cut(footage: tuple[list[np.ndarray], list[np.ndarray]]) -> None:
    costs = cut_costs(cut_frames(*footage))
    assert max(costs.values()) - min(costs.values()) < CUT_MARGIN  # codec noise only
    assert best_cut(costs, default=CUT) == CUT and best_cut(costs, default=B_START) == B_START


def test_best_cut_ties_go_to_the_default() -> None:
    assert best_cut({13: 1.0, 14: 1.0, 15: 1.005, 16: 2.1}, default=16) == 15
    assert best_cut({13: 1.0, 14: 1.4, 15: 1.9, 16: 2.2}, default=16) == 15  # within CUT_MARGIN of the lowest
    assert best_cut({13: 100.0, 14: 100.9, 15: 102.0}, default=15) == 14  # or within 1 % of it
    assert best_cut({}, default=16) == 16


# --- audio -------------------------------------------------------------------------------------------


def _music(count: int, cut: int) -> np.ndarray:
    """Deterministic noise that swells by 17.6 dB over 0.1 s centred on sample ``cut`` (a crescendo)."""
    rng = np.random.default_rng(7)
    t = np.arange(count)
    db = -30 + 17.6 * np.clip((t - cut + 2400) / 4800, 0, 1)
    return (rng.standard_normal((2, count)) * 10 ** (db / 20)).astype(np.float32)


@pytest.mark.parametrize("a_ends_at_switch", [False, True])
def test_crescendo_at_a_perfect_cut_is_not_an_audio_defect(a_ends_at_switch: bool) -> None:
    source = _music(132 * SPF, NEW * SPF)
    switch = NEW * SPF if a_ends_at_switch else B_FROM * SPF
    a, b = source[:, :NEW * SPF], source[:, B_FROM * SPF:]
    assert audio_finding(a, b, b_start=B_FROM * SPF, switch=switch, rate=RATE) is None


@pytest.mark.parametrize("a_ends_at_switch", [False, True])
def test_louder_b_is_found_net_of_the_crescendo(a_ends_at_switch: bool) -> None:
    source = _music(132 * SPF, NEW * SPF)
    switch = NEW * SPF if a_ends_at_switch else NEW * SPF - 4800
    a, b = source[:, :NEW * SPF], source[:, B_FROM * SPF:] * np.float32(10 ** (5 / 20))
    keep = max(0, switch - 4800 - B_FROM * SPF)  # B is louder from 0.1 s before the switch on
    b[:, :keep] = source[:, B_FROM * SPF:B_FROM * SPF + keep]
    f = audio_finding(a, b, b_start=B_FROM * SPF, switch=switch, rate=RATE)
    assert f is not None and f.kind == "audio" and f.level == "check"
    assert f.size == pytest.approx(5.0, abs=0.3)
    assert f.words.startswith(f"B's sound is {f.size:.1f} dB louder than A's at the switch")


def test_the_shot_slowing_down_late_in_b_is_not_a_freeze(real_clip: Path) -> None:
    """Cut at Big Buck Bunny's frame 50: motion falls from 5 to 0.5 levels a frame 28 frames later."""
    frames = decode(real_clip, (320, 180))
    data = CutFrames(a=through_codec(frames[34:50]), b=through_codec(frames[47:82]), b_start=13, cut=16)
    assert find_defects(data) == []


def test_a_move_of_half_the_frame_is_unmeasurable_not_nan() -> None:
    """Regression: phase correlation of unrelated pictures can peak at half the frame, which left nothing
    to compare; the residual was NaN ("Mean of empty slice"), and a NaN first scale then won every
    comparison (seen as a "zoom" between two unrelated 160x96 pictures)."""
    x = np.random.default_rng(3).uniform(0, 255, (48, 80))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _aligned_error(x, np.roll(x, (24, 40), axis=(0, 1)), 1.0, 40, 24) == math.inf
        assert global_motion(x, np.roll(x, (1, 2), axis=(0, 1)))[1:3] == (2, 1)
