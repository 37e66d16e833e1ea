"""The report of an extend run speaks to a filmmaker: the candidates compared per segment (which was set
aside and why), each seam's findings in words, what the colour match corrected (with its before/after
strip), and one line of advice when a seam is not ok; checked in report.json and in Chromium. (The
flash case below always has advice; the colour-matched one is rated as delivered.)"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Browser

from ltxkit.assembly.report import advice
from ltxkit.emulator.config import EmulatorConfig
from ltxkit.emulator.defects import DefectModel
from ltxkit.emulator.server import run_in_thread
from ltxkit.workflow.demo import make_source
from ltxkit.workflow.extend import ExtendOptions, extend
from ltxkit.workflow.inputs import build_spec
from ltxkit.workflow.review import open_review, pick

WARMER = "B is warmer than A by ΔE "


def run_extend(root: Path, model: DefectModel, color_match: str = "none", *, resume: bool = False
               ) -> dict[str, Any]:
    """One segment of two candidates continuing the demo's panning clip; returns report.json."""
    clip, track = root / "clip-a.mp4", root / "reference.wav"
    if not resume:
        clip, track = make_source(root)
    with run_in_thread(EmulatorConfig(queued_seconds=0.05, running_seconds=0.05, defects=model)) as handle:
        spec, config = build_spec(clip=clip, prompt="the pan goes on", overlap=3, frames=25, audio=track,
                                  candidates=2, seed=1, env={"LTXKIT_API_BASE": handle.base_url,
                                                             "LTXKIT_API_KEY": handle.api_key,
                                                             "LTXKIT_POLL_INTERVAL": "0.05"})
        extend(spec, root / "run", config, ExtendOptions(yes=True, resume=resume, color_match=color_match))
    report: dict[str, Any] = json.loads((root / "run" / "report" / "report.json").read_text())
    return report


@pytest.fixture(scope="module")
def warm(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """Every candidate comes back warmer from its first new frame; the splice is colour-matched (mkl)."""
    root = tmp_path_factory.mktemp("warm")
    return root / "run" / "report", run_extend(root, DefectModel(1.0, ("white_balance",)), "mkl")


def test_the_report_compares_the_candidates_and_says_what_was_corrected(warm: tuple[Path, dict[str, Any]]) -> None:
    report_dir, report = warm
    (seam,) = report["seams"]
    takes = seam["candidates"]
    assert [(t["candidate"], t["seed"], t["chosen"]) for t in takes] == [(1, 1, True), (2, 2, False)]
    assert all(t["rejected"].startswith(WARMER) and t["findings"] == [t["rejected"]] for t in takes)
    # the seam is rated as delivered (corrected): the warm shift is gone from its findings
    assert "colour" not in [f["kind"] for f in seam["findings"]]
    fix = seam["colour_correction"]
    assert fix["method"] == "mkl" and fix["delta_e_before"] > 4.5 and fix["delta_e_after"] < 1.5
    assert (seam["advice"] is None) == (seam["verdict"] == "ok")
    strip = Path(seam["files"]["colour_strip"])
    assert strip == report_dir / "seam-1-colour.png"
    with Image.open(strip) as image:  # three frames of the 320x192 shot side by side: A, B before, B after
        assert image.size == (6 + 3 * (320 + 6), 192 + 18 + 12)


def test_the_report_page_shows_it_in_a_browser(warm: tuple[Path, dict[str, Any]], browser: Browser,
                                               screenshots: Path) -> None:
    report_dir, report = warm
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto((report_dir / "report.html").as_uri())
    page.wait_for_load_state("load")
    page.screenshot(path=str(screenshots / "report-page.png"), full_page=True)
    if report["seams"][0]["advice"]:  # one line of advice when the seam is not ok, at the top and at the seam
        assert page.locator("div.todo").inner_text() == f"What to do\nSeam 1: {report['seams'][0]['advice']}"
        assert page.locator("p.advice").inner_text() == f"Advice: {report['seams'][0]['advice']}"
    rows = page.locator("table.takes tr").all_inner_texts()
    assert len(rows) == 3 and rows[0].split("\t")[:2] == ["candidate", "seed"]
    assert [r.split("\t")[-1] for r in rows[1:]] == ["chosen, though defective (every candidate was)", "set aside"]
    assert all(WARMER in r for r in rows[1:])
    assert "colour corrected: ΔE" in page.locator("section h2").first.inner_text()
    assert page.eval_on_selector("img[alt='colour match before and after']", "i => i.naturalWidth") == 6 + 3 * 326
    page.close()


def test_a_flash_nobody_can_grade_away_is_advised_to_be_regenerated(tmp_path: Path) -> None:
    report = run_extend(tmp_path, DefectModel(1.0, ("flash",)))
    (seam,) = report["seams"]
    assert seam["findings"][0]["kind"] == "flash" and seam["verdict"] == "bad"
    assert seam["advice"] == "Regenerate this segment (another seed); a flash cannot be graded away."
    html = (tmp_path / "run" / "report" / "report.html").read_text()
    assert f"Advice: {seam['advice']}" in html and "a 2-frame bright flash" in html and "set aside" in html


def test_advice_for_each_kind_of_verdict() -> None:
    def seam(verdict: str, findings: list[dict[str, Any]], levels: dict[str, str] | None = None,
             **more: Any) -> dict[str, Any]:
        return {"verdict": verdict, "findings": findings, "levels": levels or {}, "metrics": more.pop("metrics", {}),
                **more}

    colour = {"kind": "colour", "level": "bad", "advice": "use --color-match mkl (from B's first new frames)"}
    freeze = {"kind": "frozen", "level": "bad", "advice": "regenerate this segment (another seed or prompt)"}
    audio = {"kind": "audio", "level": "check", "advice": "apply +4.0 dB to B's audio"}
    fixed = {"method": "hm", "delta_e_before": 8.1, "delta_e_after": 0.7}
    assert advice(seam("ok", [])) is None
    assert advice(seam("bad", [audio, colour])) == "Use --color-match mkl (from B's first new frames)."
    assert advice(seam("bad", [colour, audio], colour_correction=fixed)) == (
        "Apply +4.0 dB to B's audio; --color-match hm corrected the colour (ΔE 8.1 → 0.7).")
    assert advice(seam("bad", [colour, freeze], colour_correction={**fixed, "delta_e_after": 3.0})) == (
        "Use --color-match mkl (from B's first new frames).")
    assert advice(seam("check", [], {"av_offset": "check"}, metrics={"av_offset": {"offset_ms": 30.0}})) == (
        "B's sound is 30 ms late on its picture: take the audio from A (--audio-from a), or regenerate this segment.")
    assert advice(seam("bad", [], {"overlap_psnr": "bad"})) == (
        "B drifts from the frames it continues: regenerate this segment (another seed), or check --overlap and "
        "--sampled-fps.")


def test_a_review_pick_and_a_resume_keep_the_runs_colour_match(warm: tuple[Path, dict[str, Any]],
                                                               tmp_path: Path) -> None:
    """A pick re-splices with the run's --color-match (kept in run.json's result); a resume with another
    --color-match splices again with it instead of keeping the old output."""
    root = tmp_path / "copy"
    shutil.copytree(warm[0].parent.parent, root)
    for manifest in root.rglob("*.json"):  # every path in the run's manifests, rewritten to the copy
        manifest.write_text(manifest.read_text().replace(str(warm[0].parent.parent), str(root)))
    saved = json.loads((root / "run" / "run.json").read_text())
    assert saved["result"]["settings"] == {"color_match": "mkl", "color_ref": "previous", "cut": "mode",
                                         "render": "smart"}
    assert pick(open_review(root / "run"), 1, 2).candidate == 2
    after = json.loads((root / "run" / "run.json").read_text())
    assert after["result"]["picks"] == [2] and after["result"]["settings"] == saved["result"]["settings"]
    (seam,) = json.loads((root / "run" / "report" / "report.json").read_text())["seams"]
    assert seam["colour_correction"]["method"] == "mkl" and seam["colour_correction"]["delta_e_after"] < 1.5
    assert "colour" not in [f["kind"] for f in seam["findings"]]
    (seam,) = run_extend(root, DefectModel(1.0, ("white_balance",)), "none", resume=True)["seams"]
    assert "colour_correction" not in seam and seam["findings"][0]["words"].startswith(WARMER)
    assert json.loads((root / "run" / "run.json").read_text())["result"]["settings"]["color_match"] == "none"
