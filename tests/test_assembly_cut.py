"""``--cut best`` (the least visible cut of the overlap, time exact) and ``--mode crossfade --curve``
(the dissolve's shape, picture and sound), through the splice, the seam review and the CLI."""

from __future__ import annotations

import json
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from ltxkit.assembly.colour import CrossfadeCurve
from ltxkit.assembly.edit import plan_splice
from ltxkit.assembly.report import review_seam, splice_with_report
from ltxkit.cli import main
from ltxkit.errors import InputError
from ltxkit.frames.defects import inject
from ltxkit.frames.probe import probe
from ltxkit.frames.readers import AudioReader, VideoReader
from ltxkit.frames.synth import Tone, write_clip

sys.path.insert(0, str(Path(__file__).resolve().parent))
from real_cuts import B_FROM, NEW, decode

W, H = 320, 180


def _write(path: Path, frames: list[np.ndarray], tone: Tone | None = None) -> Path:
    return write_clip(path, frames=len(frames), fps=25, width=frames[0].shape[1], height=frames[0].shape[0],
                      tone=tone, render=iter(frames))


@pytest.fixture(scope="module")
def footage(real_clip: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Big Buck Bunny split like an extension: A = frames 0–99, B = 97–131 (3 overlap frames), with sound.

    ``a_bad_end``: A's last frame is off by 9 px (a generated clip's end often degrades); ``b_warm``:
    B is warmer (R+8/B−8) from its first new frame.
    """
    frames = decode(real_clip, (W, H))
    d = tmp_path_factory.mktemp("cut")
    b = frames[B_FROM:B_FROM + 35]
    bad_end = [*frames[:NEW - 1], np.roll(frames[NEW - 1], 9, axis=1)]
    return {"a": _write(d / "a.mp4", frames[:NEW], Tone(440)), "b": _write(d / "b.mp4", b, Tone(440)),
            "a_bad_end": _write(d / "a_bad_end.mp4", bad_end, Tone(440)),
            "b_warm": _write(d / "b_warm.mp4", inject(b, "white_balance", 3, 8), Tone(440))}


def _frames(path: Path) -> list[np.ndarray]:
    with VideoReader(path) as reader:
        return list(reader.rgb())


def _audio(path: Path) -> np.ndarray:
    info = probe(path)
    with AudioReader(path, 48000, "stereo", info) as reader:
        return reader.read(0, round(info.duration_seconds * 48000))


def test_cut_best_moves_only_the_picture_switch(footage: dict[str, Path], tmp_path: Path) -> None:
    """A's last frame is off: the cut moves one frame earlier, onto B's copy of the same instant; the
    length, every other frame and every audio sample are the default cut's."""
    clips = [footage["a_bad_end"], footage["b"]]
    default = splice_with_report(clips, tmp_path / "default.mkv", overlap=3, sampled_fps=Fraction(25),
                                 codec="ffv1", otio=False)
    best = splice_with_report(clips, tmp_path / "best.mkv", overlap=3, sampled_fps=Fraction(25), codec="ffv1",
                              otio=False, cut="best", report_dir=tmp_path / "report")
    d, b = default["splice"], best["splice"]
    assert d["frame_count"] == b["frame_count"] == 132 == probe(tmp_path / "best.mkv").frame_count
    assert d["audio_samples"] == b["audio_samples"]
    dj, bj = d["joints"][0], b["joints"][0]
    assert (dj["cut_frame"], bj["cut_frame"], bj["mode_cut_frame"]) == (100, 99, 100) and "mode_cut_frame" not in dj
    assert (bj["a_last_frame"], bj["b_first_frame"]) == (98, 2)
    assert bj["audio_switch_frame"] == dj["audio_switch_frame"] == 97
    assert bj["audio_switch_seconds"] == dj["audio_switch_seconds"]
    assert np.array_equal(_audio(tmp_path / "default.mkv"), _audio(tmp_path / "best.mkv"))  # to the sample
    out_d, out_b = _frames(tmp_path / "default.mkv"), _frames(tmp_path / "best.mkv")
    changed = [k for k in range(132) if not np.array_equal(out_d[k], out_b[k])]
    assert changed == [99]
    assert np.array_equal(out_d[99], _frames(footage["a_bad_end"])[99])  # the off frame, shown by default
    assert np.array_equal(out_b[99], _frames(footage["b"])[2])  # B's copy of frame 99 instead
    choice = best["seams"][0]["cut"]["choice"]
    assert (choice["cut"], choice["cut_frame"], choice["mode_cut_frame"], choice["moved_frames"]) == \
        ("best", 99, 100, -1)
    assert sorted(choice["costs"]) == ["100", "97", "98", "99"]
    assert choice["costs"]["100"] > 4 * max(choice["costs"][k] for k in ("97", "98", "99"))
    assert choice["words"].startswith("cut moved 1 frame earlier, to frame 99 (--cut best, ")
    assert best["seams"][0]["cut"]["cut_frame"] == 99
    assert "Cut moved 1 frame earlier, to frame 99" in (tmp_path / "report" / "report.html").read_text("utf-8")
    report = json.loads((tmp_path / "report" / "report.json").read_text("utf-8"))
    assert report["cut"] == "best" and report["seams"][0]["cut"]["choice"]["cut_frame"] == 99


def test_a_clean_overlap_keeps_the_mode_cut(footage: dict[str, Path], tmp_path: Path) -> None:
    for mode, at in (("trim-b", 100), ("trim-a", 97)):
        result = splice_with_report([footage["a"], footage["b"]], tmp_path / f"{mode}.mp4", overlap=3,
                                    sampled_fps=Fraction(25), mode=mode, otio=False, cut="best")
        choice = result["seams"][0]["cut"]["choice"]
        assert result["splice"]["joints"][0]["cut_frame"] == choice["cut_frame"] == at and choice["moved_frames"] == 0
        assert choice["words"] == f"cut kept at frame {at}: no other frame of the overlap hides the switch better"


def test_the_best_cut_is_chosen_on_the_colour_matched_pictures(footage: dict[str, Path], tmp_path: Path) -> None:
    """B is warmer from its first new frame. Uncorrected, every position shows the one warm step: the mode's
    cut stays, and the seam is not ok. After --color-match, B's new frames are corrected and its (clean)
    copies of A's frames stay as generated, so the trim-a cut that shows them shows nothing: it stays, ok."""
    clips = [footage["a"], footage["b_warm"]]
    raw = splice_with_report(clips, tmp_path / "raw.mp4", overlap=3, sampled_fps=Fraction(25), mode="trim-a",
                             audio=False, otio=False, cut="best")
    assert raw["seams"][0]["cut"]["choice"]["cut_frame"] == 97 and raw["verdict"] != "ok"
    fixed = splice_with_report(clips, tmp_path / "fixed.mp4", overlap=3, sampled_fps=Fraction(25), mode="trim-a",
                               audio=False, otio=False, cut="best", color_match="mkl")
    assert fixed["splice"]["joints"][0]["cut_frame"] == fixed["seams"][0]["cut"]["choice"]["cut_frame"] == 97
    assert fixed["splice"]["frame_count"] == raw["splice"]["frame_count"] == 132
    assert fixed["verdict"] == "ok" and fixed["seams"][0]["findings"] == []


def test_a_colour_matched_seam_is_rated_on_the_corrected_pictures(footage: dict[str, Path], tmp_path: Path) -> None:
    """The warm B is found as it came; once corrected the seam rates what is delivered: no colour finding."""
    clips = [footage["a"], footage["b_warm"]]
    raw = splice_with_report(clips, tmp_path / "raw.mp4", overlap=3, sampled_fps=Fraction(25), audio=False,
                             otio=False)
    assert [f["kind"] for f in raw["seams"][0]["findings"]] == ["colour"] and raw["verdict"] == "check"
    fixed = splice_with_report(clips, tmp_path / "fixed.mp4", overlap=3, sampled_fps=Fraction(25), audio=False,
                               otio=False, color_match="mkl")
    assert fixed["seams"][0]["findings"] == [] and fixed["verdict"] == "ok"
    assert fixed["seams"][0]["colour_correction"]["delta_e_after"] < 1.5


def test_seam_rates_the_best_cut(footage: dict[str, Path]) -> None:
    default = review_seam(footage["a_bad_end"], footage["b"], overlap=3, sampled_fps=Fraction(25))
    best = review_seam(footage["a_bad_end"], footage["b"], overlap=3, sampled_fps=Fraction(25), cut="best")
    assert default["seam"]["cut"]["cut_frame"] == 100 and "choice" not in default["seam"]["cut"]
    assert best["seam"]["cut"]["cut_frame"] == 99 and best["cut"] == "best"
    assert best["seam"]["cut"]["choice"]["moved_frames"] == -1


def test_cli_cut_best_reports_the_move(footage: dict[str, Path], tmp_path: Path) -> None:
    def args(out: str) -> list[str]:
        return ["splice", str(footage["a_bad_end"]), str(footage["b"]), "--overlap", "3", "--sampled-fps", "25",
                "-o", str(tmp_path / out), "--no-otio", "--cut", "best"]

    human = CliRunner().invoke(main, args("o.mp4"))
    assert human.exit_code == 0, human.stderr
    assert "cut moved 1 frame earlier, to frame 99" in human.stdout
    data = json.loads(CliRunner().invoke(main, [*args("j.mp4"), "--json"]).stdout)
    assert data["splice"]["joints"][0]["cut_frame"] == 99 and data["splice"]["frame_count"] == 132


# --- crossfade curves --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def flat(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A dark A and a light B (flat greys, distinct tones) sharing 3 frames: the curve is all one sees."""
    d = tmp_path_factory.mktemp("curve")
    grey = [np.full((64, 64, 3), 30, np.uint8)] * 40
    light = [np.full((64, 64, 3), 220, np.uint8)] * 30
    return {"a": _write(d / "a.mp4", grey, Tone(440, 0.5)), "b": _write(d / "b.mp4", light, Tone(660, 0.25))}


def test_curve_weights_at_the_crossfade_frames_and_samples(flat: dict[str, Path]) -> None:
    """Frame k of a 3-frame dissolve is at t = (k+1)/4, its weight the curve's; audio the same curve."""
    infos = [probe(flat["a"]), probe(flat["b"])]
    for curve, weights in (("linear", [0.25, 0.5, 0.75]), ("ease", [0.15625, 0.5, 0.84375]),
                           ("filmic", [0.25, 0.5, 0.75]), ("perceptual", [0.25, 0.5, 0.75])):
        plan = plan_splice(infos, overlap=3, sampled_fps=Fraction(25), mode="crossfade", curve=curve)
        (fade,) = [p for p in plan.timeline.video if p.blend is not None]
        t = fade.fade_weights(0, fade.count, centred=False)
        assert t.tolist() == [0.25, 0.5, 0.75]
        got = t.tolist() if fade.curve is None else fade.curve.weights(t).tolist()
        assert got == weights, curve
        assert plan.timeline.audio is not None
        (sound,) = [p for p in plan.timeline.audio if p.blend is not None]
        assert (sound.start, sound.count) == (37 * 1920, 3 * 1920)  # B's origin (frame 37) to A's end
        assert (sound.curve is None) == (curve == "linear") == (fade.curve is None)
        if sound.curve is not None:
            assert sound.curve == CrossfadeCurve(curve)


@pytest.mark.parametrize(("curve", "levels"), [
    ("linear", [77.5, 125, 172.5]),  # 30 + 190 × (0.25, 0.5, 0.75) in code values
    ("ease", [59.7, 125, 190.3]),  # smoothstep: 0.15625, 0.5, 0.84375
    ("filmic", [120, 163, 194]),  # the linear weights in linear light: a dissolve adds exposures
    ("perceptual", [72, 118, 167]),  # in L*
])
def test_crossfade_curve_in_the_written_frames_and_sound(flat: dict[str, Path], tmp_path: Path, curve: str,
                                                          levels: list[float]) -> None:
    out = tmp_path / f"{curve}.mkv"
    result = splice_with_report([flat["a"], flat["b"]], out, overlap=3, sampled_fps=Fraction(25),
                                mode="crossfade", curve=curve, codec="ffv1", otio=False)
    assert result["splice"]["curve"] == curve and result["splice"]["frame_count"] == 67
    frames = _frames(out)
    assert [round(float(frames[k].mean())) for k in (36, 40)] == [30, 220]  # A alone, then B alone
    got = [float(frames[k].mean()) for k in (37, 38, 39)]
    assert got == pytest.approx(levels, abs=1.5)
    a, b = (_audio(flat[k]) for k in ("a", "b"))
    mixed = _audio(out)
    s0, n = 37 * 1920, 3 * 1920
    w = CrossfadeCurve(curve).weights((np.arange(n) + 0.5) / n)
    expected = a[:, s0:s0 + n] * (1 - w) + b[:, :n] * w
    assert np.abs(mixed[:, s0:s0 + n] - expected).max() < 2 / 32768  # pcm_s16 rounding only
    assert np.abs(mixed[:, :s0] - a[:, :s0]).max() < 2 / 32768  # A alone before, B alone after
    assert np.abs(mixed[:, s0 + n:] - b[:, n:]).max() < 2 / 32768


def test_cut_and_curve_refusals_say_what_to_do(flat: dict[str, Path], tmp_path: Path) -> None:
    infos = [probe(flat["a"]), probe(flat["b"])]
    with pytest.raises(InputError, match="--curve ease shapes a dissolve: use it with --mode crossfade"):
        plan_splice(infos, overlap=3, sampled_fps=Fraction(25), curve="ease")
    with pytest.raises(InputError, match="--curve must be one of linear, ease, filmic, perceptual, got 'cubic'"):
        plan_splice(infos, overlap=3, sampled_fps=Fraction(25), mode="crossfade", curve="cubic")
    with pytest.raises(InputError, match="--cut best places a hard cut; --mode crossfade dissolves"):
        splice_with_report([flat["a"], flat["b"]], tmp_path / "o.mp4", overlap=3, sampled_fps=Fraction(25),
                           mode="crossfade", cut="best")
    with pytest.raises(InputError, match="--cut must be one of mode, best, got 'middle'"):
        review_seam(flat["a"], flat["b"], overlap=3, sampled_fps=Fraction(25), cut="middle")
    with pytest.raises(InputError, match="a cut 4 frames into an overlap of 3 frames is outside it"):
        plan_splice(infos, overlap=3, sampled_fps=Fraction(25), cuts=[4])
    assert list(tmp_path.iterdir()) == []
