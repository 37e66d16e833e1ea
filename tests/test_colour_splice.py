"""``ltxkit splice --color-match``: a white-balance shift injected into real footage is corrected in the
written splice, and the seam says what was corrected and by how much."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ltxkit.assembly.colour import delta_e76, mean_lab
from ltxkit.frames.defects import inject
from ltxkit.frames.readers import VideoReader
from ltxkit.frames.synth import write_clip

sys.path.insert(0, str(Path(__file__).resolve().parent))
from real_cuts import B_FROM, NEW, decode

LTXKIT = str(Path(sys.executable).with_name("ltxkit"))
W, H = 320, 180


@pytest.fixture(scope="module")
def footage(real_clip: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A = frames 0–99, B = 97–131 clean, shifted R+8/B−8 from its first new frame, and all through."""
    frames = decode(real_clip, (W, H))
    d = tmp_path_factory.mktemp("colour")
    b = frames[B_FROM:B_FROM + 35]

    def clip(name: str, source: list[np.ndarray]) -> Path:
        return write_clip(d / name, frames=len(source), fps=25, width=W, height=H, render=iter(source))

    return {"a": clip("a.mp4", frames[:NEW]), "clean": clip("clean.mp4", b),
            "new": clip("new.mp4", inject(b, "white_balance", 3, 8)),
            "all": clip("all.mp4", inject(b, "white_balance", 0, 8))}


def _splice(footage: dict[str, Path], b: str, out: Path, *extra: str) -> dict[str, object]:
    done = subprocess.run([LTXKIT, "splice", str(footage["a"]), str(footage[b]), "--overlap", "3", "--sampled-fps",
                           "25", "-o", str(out), "--no-audio", "--no-otio", "--json", *extra],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def _b_frames(path: Path) -> list[np.ndarray]:
    with VideoReader(path) as reader:
        return list(reader.rgb(NEW, 32))


@pytest.mark.parametrize("case", ["new", "all"])
def test_color_match_corrects_the_shift_in_the_written_splice(footage: dict[str, Path], tmp_path: Path,
                                                              case: str) -> None:
    _splice(footage, "clean", tmp_path / "clean.mp4")
    truth = mean_lab(_b_frames(tmp_path / "clean.mp4"))
    raw = _splice(footage, case, tmp_path / "raw.mp4")
    assert delta_e76(mean_lab(_b_frames(tmp_path / "raw.mp4")), truth) > 4.5
    (finding,) = [f for f in raw["seams"][0]["findings"] if f["kind"] == "colour"]  # type: ignore[index]
    assert finding["words"].startswith("B is warmer than A by ΔE ") and finding["frame"] == NEW
    fixed = _splice(footage, case, tmp_path / "fixed.mp4", "--color-match", "mkl")
    assert delta_e76(mean_lab(_b_frames(tmp_path / "fixed.mp4")), truth) <= 1.5
    correction = fixed["seams"][0]["colour_correction"]  # type: ignore[index]
    assert correction["method"] == "mkl" and correction["ref"] == "previous"
    assert correction["estimated_from"] == ("the overlap (all of B differs)" if case == "all"
                                            else "B's first new frames")
    assert correction["delta_e_before"] > 4.5 and correction["delta_e_after"] < 1.5
    # A's colour is untouched (its pixels differ only by the encoder's reaction to the new B frames)
    with VideoReader(tmp_path / "raw.mp4") as r1, VideoReader(tmp_path / "fixed.mp4") as r2:
        assert delta_e76(mean_lab(list(r1.rgb(0, 100))), mean_lab(list(r2.rgb(0, 100)))) < 0.1


@pytest.mark.parametrize("ref", ["previous", "first"])
def test_a_shift_carried_down_the_chain_lands_on_the_first_clip(real_clip: Path, tmp_path: Path, ref: str) -> None:
    """B is warmer from its first new frame; C continues B's look (generated from B's raw tail)."""
    from ltxkit.assembly import splice_with_report

    frames = decode(real_clip, (W, H))
    warm = inject(frames, "white_balance", 0, 8)
    parts = {"a": frames[0:60], "b": frames[57:60] + warm[60:95], "c": warm[92:132]}
    paths = [write_clip(tmp_path / f"{k}.mp4", frames=len(v), fps=25, width=W, height=H, render=iter(v))
             for k, v in parts.items()]
    clean = write_clip(tmp_path / "clean.mp4", frames=132, fps=25, width=W, height=H, render=iter(frames))
    result = splice_with_report(paths, tmp_path / "out.mp4", overlap=3, sampled_fps=Fraction(25), audio=False,
                                otio=False, color_match="mkl", color_ref=ref)
    assert [s["colour_correction"]["estimated_from"] for s in result["seams"]] == ["B's first new frames"] * 2
    with VideoReader(tmp_path / "out.mp4") as out, VideoReader(clean) as truth:
        assert result["splice"]["frame_count"] == 132
        got, want = list(out.rgb(60, 72)), list(truth.rgb(60, 72))
    for span in (slice(0, 35), slice(35, 72)):  # B's and C's new frames
        assert delta_e76(mean_lab(got[span]), mean_lab(want[span])) <= 1.5


@pytest.mark.parametrize("mode", ["trim-b", "crossfade"])
def test_a_match_from_the_cut_leaves_bs_copies_of_a_as_generated(footage: dict[str, Path], tmp_path: Path,
                                                                   mode: str) -> None:
    """B is warmer from its first new frame: the match corrects B from there on, and B's copies of A's frames
    (which came out right) stay as generated, so a dissolve across them holds A's colour and the seam rates
    the overlap as the clean split's (no false overlap drift, no false repeated frame)."""
    from ltxkit.assembly import splice_with_report

    def splice(b: str, out: str, **extra: str) -> dict[str, Any]:
        return splice_with_report([footage["a"], footage[b]], tmp_path / out, overlap=3, sampled_fps=Fraction(25),
                                  mode=mode, audio=False, otio=False, **extra)

    (clean,) = splice("clean", "clean.mp4")["seams"]
    (fixed,) = splice("new", "fixed.mp4", color_match="mkl")["seams"]
    assert fixed["colour_correction"]["estimated_from"] == "B's first new frames"
    assert fixed["findings"] == clean["findings"] == [] and fixed["levels"] == clean["levels"]
    fidelity, truth = fixed["metrics"]["overlap_fidelity"], clean["metrics"]["overlap_fidelity"]
    assert fidelity["psnr_db_mean"] == pytest.approx(truth["psnr_db_mean"], abs=0.5)
    with VideoReader(tmp_path / "fixed.mp4") as out, VideoReader(tmp_path / "clean.mp4") as want:
        got, ref = list(out.rgb(B_FROM, NEW - B_FROM + 8)), list(want.rgb(B_FROM, NEW - B_FROM + 8))
    assert max(float(delta_e76(mean_lab([g]), mean_lab([r]))) for g, r in zip(got, ref, strict=True)) <= 1.5
