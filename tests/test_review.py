"""``ltxkit review`` on a real demo run: the API over loopback with httpx, the page in Chromium (Playwright)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av
import httpx
import numpy as np
import pytest
from playwright.sync_api import APIResponse, Browser, Page, Route
from web import WEB

from ltxkit.assembly.seam import CLEAN_WORDS, LEVEL_WORDS
from ltxkit.emulator.config import EmulatorConfig
from ltxkit.emulator.server import run_in_thread
from ltxkit.frames.synth import read_frame_code
from ltxkit.workflow import review
from ltxkit.workflow.extend import ExtendOptions, extend
from ltxkit.workflow.inputs import build_spec
from ltxkit.workflow.review_server import ReviewServer

if TYPE_CHECKING:
    from conftest import DemoRun

LTXKIT = str(Path(sys.executable).with_name("ltxkit"))
# one pytest-xdist worker runs this file: the demo run and the browser are made once for all its tests
pytestmark = pytest.mark.xdist_group("demo")
A_FRAMES, OVERLAP, FRAMES = 50, 3, (57, 49)  # the demo: a 2 s opening clip at 25 fps, two segments


@pytest.fixture
def demo(demo_run: DemoRun) -> Path:
    return demo_run.path


@pytest.fixture
def run_dir(demo: Path, tmp_path: Path) -> Path:
    """A private copy of the demo run (every path in its manifests rewritten), since picks change it."""
    copy = tmp_path / "demo"
    shutil.copytree(demo, copy)
    for manifest in copy.rglob("*.json"):
        manifest.write_text(manifest.read_text().replace(str(demo), str(copy)))
    return copy


@pytest.fixture
def server(run_dir: Path) -> Iterator[ReviewServer]:
    with ReviewServer(run_dir) as srv:
        yield srv


def manifest(run_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run_dir / "run.json").read_text())
    return data


def frames_of(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def closest_candidate(run_dir: Path, segment: int, frame: np.ndarray) -> int:
    """Which candidate of ``segment`` shows ``frame``: same burned-in code, nearest picture."""
    code = read_frame_code(frame)
    errors = {}
    for cand in manifest(run_dir)["segments"][segment - 1]["candidates"]:
        same = [f for f in frames_of(Path(cand["file"])) if read_frame_code(f) == code]
        assert len(same) == 1
        errors[cand["candidate"]] = float(np.abs(same[0].astype(float) - frame.astype(float)).mean())
    best = min(errors, key=errors.__getitem__)
    assert sorted(errors.values())[1] > 2 * errors[best]  # the candidates differ visibly; the match is clear
    return best


def pick(server: ReviewServer, segment: int, candidate: int) -> httpx.Response:
    return WEB.post(server.url + "api/pick", json={"segment": segment, "candidate": candidate}, timeout=300)


def resume(run_dir: Path) -> dict[str, Any]:
    """``extend --resume`` on the run, against a fresh emulator (the demo's own is gone)."""
    with run_in_thread(EmulatorConfig(queued_seconds=0.05, running_seconds=0.05)) as emu:
        spec, config = build_spec(clip=None, prompt=manifest(run_dir)["spec"]["prompt"], overlap=None, frames=None,
                                  plan_path=run_dir / "plan.json", candidates=3, seed=7,
                                  env={"LTXKIT_API_BASE": emu.base_url, "LTXKIT_API_KEY": emu.api_key})
        return extend(spec, run_dir, config.with_options(poll_interval=0.05), ExtendOptions(resume=True, yes=True))


def other_than(chosen: int) -> int:
    return 1 if chosen != 1 else 2


# --- CLI ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("args, message", [
    ([], "is not an extend run directory"),
    (["--host", "0.0.0.0"], "loopback address only"),
    (["--host", "192.168.1.10"], "loopback address only"),
])
def test_refuses_with_one_line(run_dir: Path, tmp_path: Path, args: list[str], message: str) -> None:
    target = tmp_path if not args else run_dir
    proc = subprocess.run([LTXKIT, "review", str(target), "--no-open", *args], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and message in proc.stderr and "Traceback" not in proc.stderr


# --- API ------------------------------------------------------------------------------------------


def test_api_run_lists_every_candidate_with_words_and_cost(server: ReviewServer, run_dir: Path) -> None:
    data = WEB.get(server.url + "api/run").json()
    saved = manifest(run_dir)
    assert data["manifest"] == saved and data["finished"] and data["can_pick"]
    assert [s["segment"] for s in data["segments"]] == [1, 2]
    for seg, record in zip(data["segments"], saved["segments"], strict=True):
        assert [c["candidate"] for c in seg["candidates"]] == [1, 2, 3]
        assert seg["chosen"] == record["chosen"] and seg["state"] == "chosen"
        assert seg["per_candidate_usd"] == record["estimate"]["per_candidate_usd"]
        assert [c["chosen"] for c in seg["candidates"]] == [c["candidate"] == record["chosen"] for c in
                                                            record["candidates"]]
        for cand, saved_cand in zip(seg["candidates"], record["candidates"], strict=True):
            assert {f["metric"] for f in cand["findings"]} == set(saved_cand["levels"])
            # the report's words: each finding's own, every other level's from the one table the report uses
            assert sorted(f["text"] for f in cand["findings"] if f["metric"] in LEVEL_WORDS) == sorted(
                LEVEL_WORDS[k][("ok", "check", "bad").index(v)] for k, v in saved_cand["levels"].items()
                if k in LEVEL_WORDS)
            assert [f["text"] for f in cand["findings"] if f["metric"] not in LEVEL_WORDS] == [
                f["words"] for f in saved_cand.get("findings") or []]
            assert cand["rejected"] == saved_cand.get("rejected")
        flash = seg["candidates"][0]  # the demo's seed 7: set aside, the finding in its own words with its size
        assert flash["findings"][0]["text"].startswith("a 2-frame bright flash (+") and flash["rejected"]
    assert data["segments"][0]["generated_from"] == "clip-a.mp4" and data["segments"][0]["locked"]
    assert not data["segments"][1]["locked"] and data["segments"][1]["lead_seconds"] == 1.0
    assert data["result"]["extended"] == "/media/extended.mp4" and data["result"]["picks"] == saved["result"]["picks"]


def test_seam_preview_is_as_last_second_into_b_and_seeks(server: ReviewServer, run_dir: Path) -> None:
    url = server.url + "media/seam/1/2.mp4"
    whole = WEB.get(url)
    assert whole.status_code == 200 and whole.headers["accept-ranges"] == "bytes"
    part = WEB.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == whole.content[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole.content)}"
    preview = run_dir / "preview.mp4"
    preview.write_bytes(whole.content)
    # A's frames 25..49 (its last second at 25 fps), then B from its first frame after the overlap:
    # the emulator numbers B's frames on from the overlap's codes, so the codes run on without a repeat
    assert [read_frame_code(f) for f in frames_of(preview)] == list(range(25, A_FRAMES + FRAMES[0] - OVERLAP))


def test_pick_of_the_last_segment_resplices_and_is_kept_by_resume(server: ReviewServer, run_dir: Path) -> None:
    before = manifest(run_dir)
    candidate = other_than(before["segments"][1]["chosen"])
    answer = pick(server, 2, candidate)
    assert answer.status_code == 200, answer.text
    assert answer.json()["stale"] == [] and answer.json()["segment"] == 2
    after = manifest(run_dir)
    assert after["segments"][1]["chosen"] == after["segments"][1]["picked"] == candidate
    assert after["result"]["picks"] == [before["segments"][0]["chosen"], candidate]
    assert after["segments"][0] == before["segments"][0]
    out = frames_of(run_dir / "extended.mp4")
    assert [read_frame_code(f) for f in out] == list(range(A_FRAMES + sum(FRAMES) - 2 * OVERLAP))
    cut = json.loads((run_dir / "report" / "report.json").read_text())["seams"][1]["cut"]["cut_frame"]
    assert closest_candidate(run_dir, 2, out[cut + 5]) == candidate
    assert closest_candidate(run_dir, 1, out[cut - 5]) == before["segments"][0]["chosen"]
    # extend --resume keeps a pick made here as it keeps --pick, instead of re-ranking it away
    assert resume(run_dir)["picks"] == after["result"]["picks"]
    assert manifest(run_dir)["segments"][1]["chosen"] == candidate


def test_pick_before_a_later_segment_sets_it_aside_and_resume_makes_it_again(server: ReviewServer,
                                                                                run_dir: Path) -> None:
    before = manifest(run_dir)
    candidate = other_than(before["segments"][0]["chosen"])
    answer = pick(server, 1, candidate)
    assert answer.status_code == 200, answer.text
    assert answer.json()["stale"] == [2]
    after = manifest(run_dir)
    assert after["segments"][1] == {"index": 2, "candidates": [], "chosen": None,
                                    "frames": FRAMES[1], "cut_seconds": before["segments"][1]["cut_seconds"]}
    assert after["result"]["picks"] == [candidate] and after["result"]["stale_from"] == 2
    (aside,) = after["stale"]
    assert aside["candidates"] == before["segments"][1]["candidates"] and Path(aside["moved_to"]).is_dir()
    assert not (run_dir / "segment-02").exists()
    out = frames_of(run_dir / "extended.mp4")
    assert len(out) == A_FRAMES + FRAMES[0] - OVERLAP  # segment 2 no longer follows: not in the cut
    assert closest_candidate(run_dir, 1, out[A_FRAMES + 5]) == candidate
    view = WEB.get(server.url + "api/run").json()
    assert view["can_pick"] and not view["finished"] and view["segments"][1]["state"] == "waiting"

    # extend --resume keeps the pick (segment 2's record exists, so segment 1 is locked) and makes segment 2
    # again from the picked take: nothing generated from the old choice is spliced in
    assert resume(run_dir)["picks"][0] == candidate
    frames_json = json.loads((run_dir / "segment-02" / "overlap" / "frames.json").read_text())
    resumed = manifest(run_dir)["segments"][0]
    assert resumed["chosen"] == resumed["picked"] == candidate
    assert Path(frames_json["source"]) == Path(resumed["candidates"][candidate - 1]["file"])
    out = frames_of(run_dir / "extended.mp4")
    assert [read_frame_code(f) for f in out] == list(range(A_FRAMES + sum(FRAMES) - 2 * OVERLAP))
    assert closest_candidate(run_dir, 1, out[A_FRAMES + 5]) == candidate
    assert WEB.get(server.url + "api/run").json()["finished"]


def test_a_read_while_a_pick_splices_does_not_undo_it(server: ReviewServer, run_dir: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The page keeps polling and loading previews while a pick re-splices: those reads must not be saved."""
    before = manifest(run_dir)
    candidate = other_than(before["segments"][1]["chosen"])
    splice = review._splice

    def splice_while_the_page_reads(*args: Any, **kwargs: Any) -> dict[str, Any]:
        assert WEB.get(server.url + "api/run").status_code == 200
        assert WEB.get(server.url + "media/seam/2/1.mp4").status_code == 200
        return splice(*args, **kwargs)

    monkeypatch.setattr(review, "_splice", splice_while_the_page_reads)
    assert pick(server, 2, candidate).status_code == 200
    after = manifest(run_dir)
    assert after["segments"][1]["chosen"] == after["segments"][1]["picked"] == candidate
    assert after["result"]["picks"] == [before["segments"][0]["chosen"], candidate]
    view = WEB.get(server.url + "api/run").json()
    assert view["finished"] and view["segments"][1]["chosen"] == candidate


def test_the_version_is_that_of_the_reading(run_dir: Path) -> None:
    """A save after the page's reading shows as a new version on its next poll, never as the one it has."""
    run = review.open_review(run_dir)
    (run_dir / "run.json").write_text(json.dumps({**run.data, "result": None}))
    os.utime(run_dir / "run.json", ns=(run.version + 10**9, run.version + 10**9))
    assert review.describe(run)["version"] == run.version
    assert review.describe(review.reload(run))["version"] == run.version + 10**9


def test_refused_picks_change_nothing(server: ReviewServer, run_dir: Path) -> None:
    before = (run_dir / "run.json").read_bytes()
    url = server.url + "api/pick"
    cases = [
        (WEB.post(url, json={"segment": 3, "candidate": 1}), 400, "no segment 3"),
        (WEB.post(url, json={"segment": 1, "candidate": 4}), 400, "no candidate 4"),
        (WEB.post(url, json={"segment": "1", "candidate": 1}), 400, "numbers from 1"),
        (WEB.post(url, content=b'{"segment": 1, "candidate": 2}', headers={"Content-Type": "text/plain"}), 403,
         "same-origin JSON"),
        (WEB.post(url, json={"segment": 1, "candidate": 2}, headers={"Origin": "http://evil.example"}), 403,
         "same-origin JSON"),
        (WEB.get(server.url + "api/run", headers={"Host": "evil.example"}), 403, "not a loopback host"),
        (WEB.get(server.url + "media/seam/1/9.mp4"), 404, "no candidate 9"),
    ]
    for response, status, message in cases:
        assert (response.status_code, message in response.json()["error"]) == (status, True), response.text
    assert (run_dir / "run.json").read_bytes() == before


def test_no_pick_while_the_run_is_going(server: ReviewServer, run_dir: Path) -> None:
    data = manifest(run_dir)
    data["result"] = None  # what extend's manifest looks like before its splice
    (run_dir / "run.json").write_text(json.dumps(data))
    view = WEB.get(server.url + "api/run").json()
    assert not view["can_pick"] and "still going" in view["why_not"]
    answer = pick(server, 2, 1)
    assert answer.status_code == 409 and "still going" in answer.json()["error"]
    assert manifest(run_dir) == data


# --- the page in Chromium -------------------------------------------------------------------------


def open_page(browser: Browser, url: str) -> Page:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(240_000)  # first views render the seam previews; a pick re-splices (a shared machine)
    page.goto(url)
    return page


def test_page_lists_plays_and_picks(browser: Browser, server: ReviewServer, run_dir: Path,
                                    screenshots: Path) -> None:
    before = manifest(run_dir)
    page = open_page(browser, server.url)
    page.wait_for_selector("section[data-segment='2'] .cand video")
    assert page.locator("section[data-segment]").count() == 2
    for seg in (1, 2):
        tiles = page.locator(f"section[data-segment='{seg}'] .cand")
        assert tiles.count() == 3
        assert tiles.locator("h3").all_inner_texts()[0].startswith("Candidate 1")
        assert "set aside by the ranking" in tiles.nth(0).inner_text() and "a 2-frame bright flash" in \
            tiles.nth(0).inner_text()
        chosen = page.locator(f"section[data-segment='{seg}'] .cand.chosen")
        assert chosen.get_attribute("data-candidate") == str(before["segments"][seg - 1]["chosen"])
        for tile, cand in zip(tiles.all(), before["segments"][seg - 1]["candidates"], strict=True):
            clean = set(cand["levels"].values()) == {"ok"}  # in the words the seam report uses
            assert (CLEAN_WORDS in tile.inner_text()) == clean
            assert all(f["words"] in tile.inner_text() for f in cand.get("findings") or [])
    page.locator("section[data-segment='1'] button.play").click()
    page.wait_for_function("document.querySelector(\"section[data-segment='1'] .cand video\").currentTime > 0.4")
    times = page.eval_on_selector_all("section[data-segment='1'] .cand video", "vs => vs.map(v => v.currentTime)")
    assert max(times) - min(times) < 0.2  # played in sync
    page.screenshot(path=str(screenshots / "review-page.png"), full_page=True)

    candidate = other_than(before["segments"][1]["chosen"])
    # one click: the page is still loading segment 2's previews as it picks (what lost picks, see
    # test_a_read_while_a_pick_splices_does_not_undo_it); the wait is on what the page shows, not on time
    page.locator(f"section[data-segment='2'] .cand[data-candidate='{candidate}'] button.pick").click()
    page.wait_for_selector(f"section[data-segment='2'] .cand.chosen[data-candidate='{candidate}'], #banner.error")
    assert "is in the cut" in page.locator("#banner").inner_text()
    page.screenshot(path=str(screenshots / "review-picked.png"), full_page=True)
    page.close()
    assert manifest(run_dir)["segments"][1]["picked"] == candidate
    out = frames_of(run_dir / "extended.mp4")
    cut = A_FRAMES + FRAMES[0] - OVERLAP
    assert closest_candidate(run_dir, 2, out[cut + 5]) == candidate


def test_an_answer_from_before_a_pick_does_not_put_the_old_choice_back(browser: Browser, server: ReviewServer,
                                                                       run_dir: Path) -> None:
    """A poll sent before the pick and answered after the pick's own refresh is not drawn."""
    candidate = other_than(manifest(run_dir)["segments"][1]["chosen"])
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(240_000)
    # counts the answers the page has read, so the test knows when the held one has been handled
    page.add_init_script("""{ const json = Response.prototype.json; window.answers = 0;
        Response.prototype.json = function () {
          return json.call(this).then(v => { window.answers++; return v; }); }; }""")
    page.goto(server.url)
    page.wait_for_selector("section[data-segment='2'] .cand button.pick")
    held: list[tuple[Route, APIResponse]] = []

    def hold_the_first_poll(route: Route) -> None:
        if held:
            route.continue_()
        else:
            held.append((route, route.fetch()))  # the run as it is before the pick

    page.route("**/api/run", hold_the_first_poll)
    with page.expect_request("**/api/run"):
        pass  # the page's next 2-s poll
    page.locator(f"section[data-segment='2'] .cand[data-candidate='{candidate}'] button.pick").click()
    chosen = f"section[data-segment='2'] .cand.chosen[data-candidate='{candidate}']"
    page.wait_for_selector(chosen + ", #banner.error")
    assert held and "is in the cut" in page.locator("#banner").inner_text()
    answers = page.evaluate("window.answers")
    route, before = held[0]
    route.fulfill(response=before)
    page.wait_for_function(f"window.answers > {answers}")
    assert page.locator(chosen).count() == 1 and page.locator("button.pick:enabled").count() == 4
    page.close()


def test_page_shows_new_candidates_of_a_run_still_going(browser: Browser, server: ReviewServer,
                                                        run_dir: Path, screenshots: Path) -> None:
    finished = (run_dir / "run.json").read_text()
    going = manifest(run_dir)
    going["result"] = None
    for cand in going["segments"][1]["candidates"]:
        cand.update(status="running", file=None, verdict=None, score=None, levels=None)
    going["segments"][1]["chosen"] = None
    (run_dir / "run.json").write_text(json.dumps(going))
    page = open_page(browser, server.url)
    page.wait_for_selector("section[data-segment='2'] .cand")
    assert page.locator("section[data-segment='2'] .cand video").count() == 0
    assert page.locator("button.pick:enabled").count() == 0  # no pick while extend writes the manifest
    assert "still going" in page.locator("#status").inner_text()
    page.screenshot(path=str(screenshots / "review-going.png"), full_page=True)
    (run_dir / "run.json").write_text(finished)  # extend saved its candidates: the page polls
    page.wait_for_selector("section[data-segment='2'] .cand video", timeout=30_000)
    assert page.locator("section[data-segment='2'] .cand video").count() == 3
    assert page.locator("button.pick:enabled").count() == 4
    page.close()


def test_wipe_and_flip_compare_two_candidates(browser: Browser, server: ReviewServer) -> None:
    page = open_page(browser, server.url)
    stage = page.locator("section[data-segment='1'] .stage")
    stage.wait_for()
    over = stage.locator("video").nth(1)
    page.locator("section[data-segment='1'] .compare input[type=range]").fill("30")
    assert over.evaluate("v => v.style.clipPath") == "inset(0px 0px 0px 30%)"
    page.locator("section[data-segment='1'] button.flip").click()
    assert over.evaluate("v => [v.style.clipPath, v.style.visibility]") == ["none", "visible"]
    stage.press("f")
    assert over.evaluate("v => v.style.visibility") == "hidden"
    page.close()
