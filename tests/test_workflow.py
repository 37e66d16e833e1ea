"""The extension workflow end to end against a live emulator on loopback: faults, resume, plan, demo."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av
import numpy as np
import pytest
import soundfile
from click.testing import CliRunner
from media import TONE, write_track
from PIL import Image

from ltxkit.cli import main
from ltxkit.cli.workflow import _summary
from ltxkit.emulator.config import EmulatorConfig
from ltxkit.emulator.defects import KINDS as DEFECT_KINDS
from ltxkit.emulator.defects import DefectModel
from ltxkit.emulator.server import EmulatorHandle, run_in_thread
from ltxkit.errors import InputError, LtxkitError
from ltxkit.frames.probe import probe
from ltxkit.frames.synth import read_frame_code, render_frame, write_clip
from ltxkit.timing import is_valid_ltx_frames, round_half_up
from ltxkit.workflow.demo import make_source, run_demo
from ltxkit.workflow.extend import ExtendOptions, extend, run_sync
from ltxkit.workflow.inputs import build_spec, default_sampled_fps
from ltxkit.workflow.manifest import CandidateRecord, open_run
from ltxkit.workflow.plan import make_plan
from ltxkit.workflow.ranking import rank, seam_score

if TYPE_CHECKING:
    from conftest import DemoRun

LTXKIT = str(Path(sys.executable).with_name("ltxkit"))
PROMPT = "a presenter keeps talking to the camera, synced to the reference audio"


@pytest.fixture(scope="module")
def panning(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The demo's source: clip A panning 1 px a frame, as the emulator's continuation does, and its track."""
    clip, track = make_source(tmp_path_factory.mktemp("panning"))
    return {"clip": clip, "track": track}


def emulator(**changes: Any) -> EmulatorHandle:
    return run_in_thread(EmulatorConfig(queued_seconds=0.05, running_seconds=0.05, **changes))


def env_for(handle: EmulatorHandle) -> dict[str, str]:
    return {"LTXKIT_API_BASE": handle.base_url, "LTXKIT_API_KEY": handle.api_key,
            "LTXKIT_POLL_INTERVAL": "0.05", "LTXKIT_POLL_MAX_INTERVAL": "0.2", "LTXKIT_RETRY_BASE_DELAY": "0.01",
            "LTXKIT_RETRY_MAX_DELAY": "0.05"}


def server_jobs(handle: EmulatorHandle) -> list[tuple[str, str]]:
    """(task, status) of every job the emulator holds, from its own database."""
    with sqlite3.connect(handle.data_dir / "emulator.sqlite3") as db:
        return [tuple(r) for r in db.execute("SELECT task, status FROM jobs ORDER BY rowid")]  # type: ignore[misc]


def journaled_job_ids(run: Path) -> int:
    """How many job ids a (running) extend has recorded in its run's journal, read without writing."""
    path = run / "ltxkit-jobs.sqlite"
    if not path.exists():
        return 0
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            return int(db.execute("SELECT COUNT(job_id) FROM jobs").fetchone()[0])
    except sqlite3.OperationalError:  # created but not yet initialised
        return 0


def lose_locally(candidate: dict[str, Any]) -> None:
    """A candidate's output gone from the disk: its named file and the download it is linked to."""
    named = Path(candidate["file"])
    for copy in [named, *(named.parent / "candidates" / str(candidate["candidate"])).iterdir()]:
        copy.unlink()


def codes(path: Path) -> list[int]:
    with av.open(str(path)) as c:
        return [read_frame_code(f.to_ndarray(format="rgb24")) for f in c.decode(video=0)]


def test_extend_end_to_end_with_faults(media: dict[str, Path], tmp_path: Path) -> None:
    # every fault a client must survive, server-wide: the first create's answer is lost, 503s, a 429,
    # a truncated download and undocumented status words
    faults = "drop-create=1,503=2,429=1,truncate=1,odd-status=1,retry-after=0"
    with emulator(faults=faults) as handle:
        spec, config = build_spec(clip=media["clip"], prompt=PROMPT, overlap=3, frames=25, audio=media["track"],
                                  candidates=2, seed=5, env=env_for(handle))
        logs: list[str] = []
        result = extend(spec, tmp_path / "run", config, ExtendOptions(yes=True, log=logs.append))
        jobs = server_jobs(handle)
    assert jobs == [("video.generate", "completed")] * 2  # the dropped answer did not become a third job
    out = Path(result["output"])
    info = probe(out)
    assert (info.frame_count, info.fps, info.width, info.height) == (50 + 25 - 3, Fraction(25), 160, 96)
    # the emulator numbers its frames on from the overlap frames' codes (47, 48, 49 here): a seamless
    # splice shows A's frames 0..49, then B's 50..71 without the repeated 47..49
    assert codes(out) == list(range(72))
    assert Path(result["report"]).name == "report.html" and Path(result["report"]).exists()
    assert (tmp_path / "run" / "run.json").stat().st_mode & 0o777 == 0o600  # holds output URLs, like the journal
    manifest = json.loads((tmp_path / "run" / "run.json").read_text())
    seg = manifest["segments"][0]
    assert [c["seed"] for c in seg["candidates"]] == [5, 6]
    assert all(c["status"] == "done" and c["verdict"] in ("ok", "check") for c in seg["candidates"])
    assert seg["chosen"] == seg["ranking"][0] and manifest["result"]["picks"] == [seg["chosen"]]
    # B's reference audio starts overlap/fps = 0.12 s before the cut at A's end (2 s)
    assert seg["audio_window"]["start_sample"] == round((2 - 0.12) * 48000)
    assert info.audio and info.audio[0].sample_rate == 48000


def test_extend_splice_cut_best_keeps_the_take_continuous(media: dict[str, Path], tmp_path: Path) -> None:
    """The emulator reproduces the overlap frames: no position hides the switch better, so the cut stays
    at A's end; the choice and the costs of every position are in the report."""
    with emulator() as handle:
        spec, config = build_spec(clip=media["clip"], prompt=PROMPT, overlap=3, frames=17, candidates=1,
                                  env=env_for(handle))
        result = extend(spec, tmp_path / "run", config, ExtendOptions(yes=True, cut="best"))
    assert codes(Path(result["output"])) == list(range(50 + 17 - 3))
    report = json.loads((tmp_path / "run" / "report" / "report.json").read_text())
    choice = report["seams"][0]["cut"]["choice"]
    assert report["cut"] == "best" and (choice["cut_frame"], choice["moved_frames"]) == (50, 0)
    assert sorted(choice["costs"], key=int) == ["47", "48", "49", "50"]


def test_pick_overrides_and_resume_reuses_everything(media: dict[str, Path], tmp_path: Path) -> None:
    with emulator() as handle:
        spec, config = build_spec(clip=media["clip"], prompt=PROMPT, overlap=2, frames=17, candidates=2,
                                  env=env_for(handle))
        first = extend(spec, tmp_path / "run", config, ExtendOptions(yes=True))
        first_bytes = Path(first["output"]).read_bytes()
        other = 3 - first["picks"][0]
        second = extend(spec, tmp_path / "run", config, ExtendOptions(yes=True, resume=True, picks=(other,)))
        assert len(server_jobs(handle)) == 2  # nothing resubmitted
    assert second["picks"] == [other]
    assert Path(second["output"]).read_bytes() != first_bytes  # re-spliced with the other candidate
    assert codes(Path(second["output"])) == list(range(65))
    with pytest.raises(InputError, match="already holds a run"):
        extend(spec, tmp_path / "run", config, ExtendOptions(yes=True))


def test_resume_cannot_change_a_choice_a_later_segment_was_made_from(media: dict[str, Path],
                                                                     tmp_path: Path) -> None:
    plan = make_plan(media["track"], Fraction(25), 3, clip=media["clip"], max_frames=41)
    (tmp_path / "plan.json").write_text(json.dumps(plan, default=float))
    with emulator() as handle:
        spec, config = build_spec(clip=None, prompt=PROMPT, overlap=None, frames=None,
                                  plan_path=tmp_path / "plan.json", candidates=2, env=env_for(handle))
        first = extend(spec, tmp_path / "run", config, ExtendOptions(yes=True))
        other = 3 - first["picks"][0]
        with pytest.raises(InputError, match="start a new run"):
            extend(spec, tmp_path / "run", config, ExtendOptions(yes=True, resume=True, picks=(other,)))
        again = extend(spec, tmp_path / "run", config, ExtendOptions(yes=True, resume=True))
        assert again["picks"] == first["picks"]
        # the locked choice's output lost locally and on the server: say so instead of crashing
        chosen = first["segments"][0]["candidates"][first["picks"][0] - 1]
        lose_locally(chosen)
        for served in (handle.data_dir / "files" / chosen["job_id"]).iterdir():
            served.unlink()
        with pytest.raises(LtxkitError, match="is gone"):
            extend(spec, tmp_path / "run", config, ExtendOptions(yes=True, resume=True))


def test_candidates_are_named_by_segment_and_a_run_from_before_resumes(media: dict[str, Path],
                                                                      tmp_path: Path) -> None:
    run = tmp_path / "run"
    with emulator() as handle:
        spec, config = build_spec(clip=media["clip"], prompt=PROMPT, overlap=2, frames=17, candidates=2,
                                  env=env_for(handle))
        first = extend(spec, str(run), config, ExtendOptions(yes=True))  # a str run dir, as in the README
        files = [Path(c["file"]) for c in first["segments"][0]["candidates"]]
        assert files == [run / "segment-01" / "seg-01-cand-1.mp4", run / "segment-01" / "seg-01-cand-2.mp4"]
        assert all(f.samefile(next((f.parent / "candidates" / str(k)).iterdir())) for k, f in enumerate(files, 1))
        # the run as an earlier ltxkit left it: each candidate known by its download's own name
        manifest = json.loads((run / "run.json").read_text())
        for k, cand in enumerate(manifest["segments"][0]["candidates"], start=1):
            Path(cand["file"]).unlink()
            cand["file"] = str(next((run / "segment-01" / "candidates" / str(k)).iterdir()))
        (run / "run.json").write_text(json.dumps(manifest))
        second = extend(spec, run, config, ExtendOptions(yes=True, resume=True))
        assert len(server_jobs(handle)) == 2  # nothing submitted again
    assert second["picks"] == first["picks"] and [Path(c["file"]) for c in second["segments"][0]["candidates"]] == files
    assert all(f.exists() for f in files) and codes(Path(second["output"])) == codes(Path(first["output"]))


def test_resume_skips_a_candidate_whose_output_is_gone(media: dict[str, Path], tmp_path: Path) -> None:
    with emulator() as handle:
        spec, config = build_spec(clip=media["clip"], prompt=PROMPT, overlap=2, frames=17, candidates=2,
                                  env=env_for(handle))
        first = extend(spec, tmp_path / "run", config, ExtendOptions(yes=True))
        chosen = first["segments"][0]["candidates"][first["picks"][0] - 1]
        lose_locally(chosen)  # lost locally ...
        Path(first["output"]).unlink()
        for served in (handle.data_dir / "files" / chosen["job_id"]).iterdir():
            served.unlink()  # ... and expired on the server
        second = extend(spec, tmp_path / "run", config, ExtendOptions(yes=True, resume=True))
    assert second["picks"] == [3 - first["picks"][0]]
    lost = second["segments"][0]["candidates"][first["picks"][0] - 1]
    assert (lost["status"], lost["file"], lost["score"]) == ("failed", None, None)
    assert probe(Path(second["output"])).frame_count == 50 + 17 - 2


def test_kill_mid_run_and_resume_submits_nothing_twice(media: dict[str, Path], tmp_path: Path) -> None:
    run = tmp_path / "run"
    with run_in_thread(EmulatorConfig(queued_seconds=0.3, running_seconds=1.5)) as handle:
        env = {**os.environ, **env_for(handle)}
        args = [LTXKIT, "extend", str(media["clip"]), "--prompt", PROMPT, "--overlap", "3", "--frames", "25",
                "--candidates", "3", "--yes", "-o", str(run)]
        proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        # kill once all three jobs exist AND the journal holds their ids: killed between the server's answer
        # and the journal write, the resumed run must (and does) resend that create under its key, an
        # idempotent replay that is not a second job but is a fourth POST
        while (len(server_jobs(handle)) < 3 or journaled_job_ids(run) < 3) and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert len(server_jobs(handle)) == 3
        assert not (run / "extended.mp4").exists()
        done = subprocess.run([*args, "--resume", "--json"], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert len(server_jobs(handle)) == 3  # the resumed run found all three jobs: no second submit
        posts = [r for r in handle.requests() if r.method == "POST"]
    result = json.loads(done.stdout)
    assert probe(Path(result["output"])).frame_count == 50 + 25 - 3
    assert len({c["job_id"] for c in result["segments"][0]["candidates"]}) == 3
    assert len(posts) == 3  # one create per candidate, across both runs


def test_plan_covers_the_track_and_extend_runs_it(media: dict[str, Path], tmp_path: Path) -> None:
    plan = make_plan(media["track"], Fraction(25), 3, clip=media["clip"], max_frames=33)
    frames = [s["frames"] for s in plan["segments"]]
    assert all(is_valid_ltx_frames(f) and f <= 33 for f in frames)
    # 5 s = 125 frames; A covers 50; each segment adds frames - 3
    assert plan["opening_frames"] == 50 and 50 + sum(f - 3 for f in frames) >= 125
    assert 50 + sum(f - 3 for f in frames[:-1]) < 125
    assert [s["cut_seconds_exact"] for s in plan["segments"]][:2] == ["2", str(Fraction(50 + 30, 25))]
    (tmp_path / "plan.json").write_text(json.dumps(plan, default=float))
    with emulator() as handle:
        spec, config = build_spec(clip=None, prompt=PROMPT, overlap=None, frames=None,
                                  plan_path=tmp_path / "plan.json", candidates=1, env=env_for(handle))
        result = extend(spec, tmp_path / "run", config, ExtendOptions(yes=True))
    out = probe(Path(result["output"]))
    assert out.frame_count == plan["timeline_frames"] == 50 + sum(f - 3 for f in frames)
    samples, rate = soundfile.read(media["track"])[0], 48000
    assert out.audio[0].sample_rate == rate and len(samples) == 5 * rate


def test_image_opened_plan_combined_on_the_server(media: dict[str, Path], tmp_path: Path) -> None:
    image = tmp_path / "opening.png"
    Image.fromarray(render_frame(0, 128, 64)).save(image)
    plan = make_plan(media["track"], Fraction(25), 2, image=image, max_frames=65)  # 125 frames: 65 + 62
    assert [(s["frames"], s["overlap_frames"]) for s in plan["segments"]] == [(65, 0), (65, 2)]
    (tmp_path / "plan.json").write_text(json.dumps(plan, default=float))
    with emulator() as handle:
        spec, config = build_spec(clip=None, prompt=PROMPT, overlap=None, frames=None, size=(128, 64),
                                  plan_path=tmp_path / "plan.json", candidates=1, combine="remote",
                                  env=env_for(handle))
        result = extend(spec, tmp_path / "run", config, ExtendOptions(yes=True))
        jobs = server_jobs(handle)
    assert jobs == [("video.generate", "completed")] * 2 + [("video.combine", "completed")]
    seg1 = result["segments"][0]["candidates"][0]
    assert seg1["verdict"] == "ok" and seg1["anchor_psnr_db"] > 30  # frame 0 reproduces the opening image (4:2:0)
    out = probe(Path(result["output"]))
    assert (out.frame_count, out.width, out.height) == (65 + 65 - 2, 128, 64)
    assert codes(Path(result["output"])) == list(range(128))  # combined with the overlap trimmed in time
    assert result["combine_job"] and [s["verdict"] for s in result["seams"]] == ["ok"]


def interpolated_plan(tmp_path: Path, fps: int) -> Path:
    """An image-opened two-segment plan at ``fps`` (41 frames, then 41 at 30 fps or 25 at 25, overlap 2)
    for a 2.5 s track."""
    track = tmp_path / "track.wav"
    soundfile.write(track, TONE.samples(0, 120000, 48000, 2).T, 48000, subtype="PCM_16")
    image = tmp_path / "opening.png"
    Image.fromarray(render_frame(0, 128, 64)).save(image)
    plan = make_plan(track, Fraction(fps), 2, image=image, max_frames=41)
    assert [(s["frames"], s["overlap_frames"]) for s in plan["segments"]] == [(41, 0), (41 if fps == 30 else 25, 2)]
    (tmp_path / "plan.json").write_text(json.dumps(plan, default=float))
    return tmp_path / "plan.json"


def combine_inputs(handle: EmulatorHandle) -> list[dict[str, Any]]:
    """The effective input of every video.combine the emulator ran (its own database), in order."""
    with sqlite3.connect(handle.data_dir / "emulator.sqlite3") as db:
        rows = db.execute("SELECT effective FROM jobs WHERE task = 'video.combine' ORDER BY rowid").fetchall()
    return [{k: v for k, v in json.loads(r[0]).items() if k != "videoUrls"} for r in rows]


@pytest.mark.parametrize("reading", ["frames", "samples"])
def test_remote_combine_sends_the_interpolated_rate_and_checks_the_answer_in_each_reading(
        reading: str, tmp_path: Path) -> None:
    # 30 → 60 fps under RIFE's 2F-1: 41 samples are 81 frames and the 2 overlap samples are B's first 3 frames
    # (its 4th lies between B's samples 1 and 2, after A's end). The document's example sends frameRate 60;
    # ltxkit reads overlapFrames as frames at it ("frames", the emulator's default). A server counting sampled
    # frames trims 2·3-1 = 5: the answer is 2 frames short, and the combine goes again as overlapFrames 2.
    plan = interpolated_plan(tmp_path, 30)
    with emulator(combine_reading=reading) as handle:
        spec, config = build_spec(clip=None, prompt=PROMPT, overlap=None, frames=None, size=(128, 64),
                                  plan_path=plan, candidates=1, combine="remote", sampled_fps=Fraction(30),
                                  interpolation_fps=60, env=env_for(handle))
        result = extend(spec, tmp_path / "run", config, ExtendOptions(yes=True))
        sent = combine_inputs(handle)
    assert probe(Path(result["output"])).frame_count == 81 + 81 - 3  # the local splice's length, both readings
    resent = [w for w in result["warnings"] if w.startswith("video.combine")]
    if reading == "frames":
        assert sent == [{"overlapFrames": 3, "frameRate": 60}] and resent == []
    else:
        assert sent == [{"overlapFrames": 3, "frameRate": 60}, {"overlapFrames": 2, "frameRate": 60}]
        assert len(resent) == 2
        assert "trimmed 5 frames a seam for overlapFrames 3 at frameRate 60: 157 frames where 159 were meant" \
            in resent[0]
        assert resent[1] == ("video.combine counted overlapFrames in sampled frames: sent again with overlapFrames 2, "
                             "which it trimmed as meant")


def test_remote_combine_warns_when_the_overlap_is_no_whole_number_of_frames_at_the_rate_sent(
        tmp_path: Path) -> None:
    plan = interpolated_plan(tmp_path, 25)
    with emulator() as handle:
        res = CliRunner().invoke(main, ["extend", "--plan", str(plan), "--prompt", PROMPT, "--size", "128x64",
                                        "--sampled-fps", "25", "--interpolation-fps", "60", "--combine", "remote",
                                        "--candidates", "1", "--yes", "--json", "-o", str(tmp_path / "run")],
                                 env=env_for(handle))
        sent = combine_inputs(handle)
    assert res.exit_code == 0, res.stderr
    warning = ("video.combine: the overlap of 2 frames at 25 fps (0.080 s) is 4.80 frames at the 60 fps sent as "
               "frameRate, not a whole number: the server's cut can be off by a fraction of a frame (a sampled "
               "rate that divides 60 fps, or --combine local, joins exactly)")
    assert warning in json.loads(res.stdout)["warnings"] and f"warning: {warning}\n" in res.stderr
    assert sent == [{"overlapFrames": 3, "frameRate": 60}]  # B's frames 0-2 lie before its sample 1 (2.4 frames)


def test_extend_through_another_provider(tmp_path: Path) -> None:
    # Kubeez conditions on one last frame (uploaded) and renders 24 fps: the same workflow, another API
    clip = write_clip(tmp_path / "a.mp4", frames=48, fps=24, width=480, height=480, tone=TONE)
    with emulator() as handle:
        env = {**env_for(handle), "LTXKIT_API_BASE": f"{handle.base_url}/kubeez"}
        spec, config = build_spec(clip=clip, prompt=PROMPT, overlap=1, frames=25, candidates=2, provider="kubeez",
                                  env=env)
        result = extend(spec, tmp_path / "run", config, ExtendOptions(yes=True))
        posts = [r.path for r in handle.requests() if r.method == "POST"]
    assert spec.provider == "kubeez" and posts.count("/kubeez/v1/generate/media") == 2
    assert probe(Path(result["output"])).frame_count == 48 + 25 - 1
    for name, overlap, message in (("zsky", 1, "provider zsky cannot"),
                                   ("zooop", 3, "provider zooop conditions on one last frame only")):
        with pytest.raises(InputError, match=message):
            spec, config = build_spec(clip=clip, prompt=PROMPT, overlap=overlap, frames=25, provider=name,
                                      env={"LTXKIT_API_KEY": "k"})
            extend(spec, tmp_path / name, config)
        assert not (tmp_path / name).exists()


def test_plan_cli_and_bad_inputs(media: dict[str, Path], tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(main, ["plan", str(media["track"]), "--clip", str(media["clip"]), "--fps", "25",
                              "--overlap", "3", "--max-frames", "57", "-o", str(tmp_path / "plan.json"), "--json"])
    assert ok.exit_code == 0, ok.output
    assert [s["frames"] for s in json.loads(ok.stdout)["segments"]] == [57, 25]
    env = {"LTXKIT_API_BASE": "http://127.0.0.1:9", "LTXKIT_API_KEY": "k-test"}
    cases = [
        (["--frames", "250"], "nearest valid: 249 or 257"),
        (["--frames", "25", "--size", "100x96"], "multiple of 32"),
        (["--frames", "25", "--interpolation-fps", "60"], "a local splice needs one rate"),
        (["--frames", "25", "--audio", str(media["track"]), "--cut", "9"], "past the end"),
        (["--frames", "25", "--cut", "1"], "--cut needs --audio"),
        (["--frames", "25", "--pick", "4"], "choose a candidate from 1 to 3"),
        (["--frames", "25", "--size", "4096x2048"], "over the 4 MP limit"),
        (["--frames", "25", "--prompt", "   "], "a non-empty prompt is required"),
    ]
    for extra, message in cases:
        res = runner.invoke(main, ["extend", str(media["clip"]), "--prompt", PROMPT, "--overlap", "3", *extra,
                                   "-o", str(tmp_path / "bad")], env=env)
        assert res.exit_code == 2, (extra, res.output)
        assert message in res.stderr and res.stderr.count("\n") == 1, (extra, res.stderr)
        assert not (tmp_path / "bad").exists()
    not_image = tmp_path / "notes.png"
    not_image.write_text("not a picture")
    res = runner.invoke(main, ["plan", str(media["track"]), "--image", str(not_image), "--fps", "25", "--overlap", "3"])
    assert res.exit_code == 2 and "is not a readable image" in res.stderr
    no_key = runner.invoke(main, ["extend", str(media["clip"]), "--prompt", PROMPT, "--overlap", "3", "--frames",
                                  "25", "-o", str(tmp_path / "bad")], env={"LTXKIT_API_KEY": ""})
    assert no_key.exit_code == 2 and "no API key" in no_key.stderr


def test_silent_opening_clip_gives_a_silent_extension(tmp_path: Path) -> None:
    # regression: a clip A without audio made the splice fail ("has no audio stream (audio was requested)")
    clip = write_clip(tmp_path / "silent.mp4", frames=20, fps=25, width=64, height=64)
    with emulator() as handle:
        spec, config = build_spec(clip=clip, prompt=PROMPT, overlap=2, frames=9, candidates=1, env=env_for(handle))
        logs: list[str] = []
        result = extend(spec, tmp_path / "run", config, ExtendOptions(yes=True, log=logs.append))
    info = probe(Path(result["output"]))
    assert (info.frame_count, info.audio) == (20 + 9 - 2, [])
    assert any("silent.mp4 has no audio" in line for line in logs)


def test_run_sync_works_inside_a_running_loop() -> None:
    # regression: extend() from a notebook (a running event loop) raised "asyncio.run() cannot be called
    # from a running event loop"
    async def answer() -> int:
        return 42

    async def notebook_cell() -> int:
        return run_sync(answer())

    assert run_sync(answer()) == 42
    assert asyncio.run(notebook_cell()) == 42


# what the seam review says of each emulated defect (the reason the candidate is set aside)
DEFECT_WORDS = {"white_balance": "B is warmer than A by ΔE", "exposure": "L* darker than A from its first new frame",
                "flash": "a 2-frame bright flash", "frozen": "B freezes from its frame",
                "skipped": "a frame seems skipped at the cut", "audio": "dB quieter than A's at the switch"}


@pytest.mark.parametrize("kind", DEFECT_KINDS)
def test_extend_sets_a_defective_candidate_aside_and_says_why(panning: dict[str, Path], tmp_path: Path,
                                                              kind: str) -> None:
    model = DefectModel(0.5, (kind,))
    seed = next(s for s in range(1000) if model.for_seed(s) and not model.for_seed(s + 1))  # candidate 1 only
    with emulator(defects=model) as handle:
        spec, config = build_spec(clip=panning["clip"], prompt=PROMPT, overlap=3, frames=25, audio=panning["track"],
                                  candidates=2, seed=seed, env=env_for(handle))
        logs: list[str] = []
        result = extend(spec, tmp_path / "run", config, ExtendOptions(yes=True, log=logs.append))
    seg = json.loads((tmp_path / "run" / "run.json").read_text())["segments"][0]
    bad, good = seg["candidates"]
    assert (seg["chosen"], seg["ranking"]) == (2, [2, 1])
    assert DEFECT_WORDS[kind] in bad["rejected"] and bad["verdict"] in ("check", "bad")
    assert [f["words"] for f in bad["findings"]] == bad["rejected"].split("; ")
    assert "rejected" not in good and good["findings"] == []
    assert f"segment 1: set candidate 1 aside: {bad['rejected']}" in logs
    assert not [line for line in logs if "every candidate" in line]
    table = _summary(result)
    assert "set aside" in table and DEFECT_WORDS[kind].split()[0] in table


def test_when_every_candidate_is_defective_the_least_bad_is_used_with_a_warning(panning: dict[str, Path],
                                                                               tmp_path: Path) -> None:
    with emulator(defects=DefectModel(1.0, ("flash",))) as handle:
        spec, config = build_spec(clip=panning["clip"], prompt=PROMPT, overlap=3, frames=17, candidates=2, seed=1,
                                  env=env_for(handle))
        logs: list[str] = []
        extend(spec, tmp_path / "run", config, ExtendOptions(yes=True, log=logs.append))
    seg = json.loads((tmp_path / "run" / "run.json").read_text())["segments"][0]
    assert all("flash" in c["rejected"] for c in seg["candidates"]) and seg["chosen"] == seg["ranking"][0]
    assert (f"warning: segment 1: every candidate has a visible defect; using candidate {seg['chosen']}, the "
            "least bad. Run it again with another --seed, or pick in 'ltxkit review'") in logs


def test_ranking_prefers_verdict_then_score() -> None:
    def review(psnr: float, *levels: str) -> dict[str, Any]:
        return {"metrics": {"overlap_fidelity": {"psnr_db_mean": psnr}}, "findings": [{"level": v} for v in levels]}

    assert seam_score(review(40.0)) == 40.0
    assert seam_score(review(60.0, "check")) == 50.0 - 5.0
    assert seam_score(review(45.0, "bad", "check")) == 45.0 - 20.0
    cands = [CandidateRecord(candidate=1, seed=1, idempotency_key="k1", status="done", verdict="check", score=45.0),
             CandidateRecord(candidate=2, seed=2, idempotency_key="k2", status="done", verdict="ok", score=31.0),
             CandidateRecord(candidate=3, seed=3, idempotency_key="k3", status="done", verdict="ok", score=33.0),
             CandidateRecord(candidate=4, seed=4, idempotency_key="k4", status="running", verdict=None, score=None),
             CandidateRecord(candidate=5, seed=5, idempotency_key="k5", status="failed", verdict="ok", score=49.0),
             CandidateRecord(candidate=6, seed=6, idempotency_key="k6", status="done", verdict="ok", score=48.0,
                             rejected="a 1-frame bright flash")]
    assert [c.candidate for c in rank(cands)] == [3, 2, 1, 6]  # set aside: last, whatever its score


@pytest.mark.xdist_group("demo")
def test_demo_runs_offline(demo_run: DemoRun, tmp_path: Path) -> None:
    result = demo_run.result
    assert not demo_run.price_book.exists()  # the emulator's stand-in prices stay out of the user's price book
    assert (result["run_dir"], result["output"]) == (str(demo_run.path), str(demo_run.path / "extended.mp4"))
    info = probe(Path(result["output"]))
    assert (info.frame_count, info.fps) == (150, Fraction(25))  # 2 s opening + two segments cover 6 s
    assert [len(s["candidates"]) for s in result["segments"]] == [3, 3]
    assert Path(result["report"]).exists() and result["verdict"] == "ok"
    # the emulator's defect model is on: seed 7 comes back with a flash, seed 8 darker; both are set aside
    for seg in result["segments"]:
        flash, darker, clean = seg["candidates"]
        assert (seg["chosen"], seg["ranking"][0], [c["seed"] for c in seg["candidates"]]) == (3, 3, [7, 8, 9])
        assert "a 2-frame bright flash" in flash["rejected"] and "L* darker than A" in darker["rejected"]
        assert "rejected" not in clean and clean["verdict"] == "ok"
    page = Path(result["report"]).read_text()  # the report compares them: why 1 and 2 were set aside
    assert page.count("<b>set aside</b>") == 4 and "a 2-frame bright flash" in page and "L* darker than A" in page
    assert codes(Path(result["output"])) == list(range(150))
    with av.open(result["output"]) as c:
        audio = np.concatenate([f.to_ndarray() for f in c.decode(audio=0)], axis=1)
    assert audio.shape[1] >= 6 * 48000
    with pytest.raises(InputError, match="not empty"):
        (tmp_path / "other").mkdir()
        (tmp_path / "other" / "keep.txt").write_text("mine")
        run_demo(tmp_path / "other")
    assert (tmp_path / "other" / "keep.txt").read_text() == "mine"


def test_manifest_records_rewrite_an_earlier_run_json_byte_for_byte(tmp_path: Path) -> None:
    # run.json as earlier ltxkit versions wrote it: keys appear only once their step has run (a pending
    # candidate has no "error" yet, an unrated segment no "ranking"); resuming must not rewrite it differently
    done = {"candidate": 1, "seed": 5, "idempotency_key": "ltxkit-1", "job_id": "job_1", "status": "done",
            "file": "/runs/r/segment-01/candidates/1/video.mp4", "url": "http://127.0.0.1:1/f/1.mp4",
            "verdict": "ok", "score": 39.5, "error": None, "levels": {"seam_jump": "ok"}}
    failed = {**done, "candidate": 2, "seed": 6, "idempotency_key": "ltxkit-2", "status": "failed", "file": None,
              "verdict": None, "score": None, "error": "job failed: boom"}
    anchor = {k: v for k, v in done.items() if k != "levels"} | {"anchor_psnr_db": 37.84}
    pending = {"candidate": 1, "seed": 5, "idempotency_key": "ltxkit-3", "job_id": None, "status": "pending",
               "file": None, "url": None, "verdict": None, "score": None}
    data = {"version": 1, "spec": {"prompt": "p", "overlap": 3}, "warnings": ["w"],
            "result": {"output": "/runs/r/extended.mp4", "picks": [1, 1], "verdict": "ok", "report": None,
                       "frames": 72},
            "segments": [
                {"index": 1, "candidates": [done, failed], "chosen": 1, "frames": 25, "cut_seconds": "2",
                 "audio_window": {"start_sample": 90240, "sample_rate": 48000}, "ranking": [1],
                 "estimate": {"per_candidate_usd": 0.01, "segment_usd": 0.02, "remaining_usd": None}},
                {"index": 2, "candidates": [anchor], "chosen": None, "frames": 17, "cut_seconds": "72/25"},
                {"index": 3, "candidates": [pending], "chosen": None, "frames": 9, "cut_seconds": "3"},
            ]}
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    (tmp_path / "run.json").write_text(text)
    run = open_run(tmp_path, data["spec"], resume=True)
    assert run.manifest.segments[0].candidate(1).file == Path(done["file"])
    assert run.manifest.segments[1].cut_seconds == Fraction(72, 25)
    run.save()
    assert (tmp_path / "run.json").read_text() == text
    fresh = open_run(tmp_path / "new", {"prompt": "p"}, resume=False)
    assert json.loads(fresh.manifest_path.read_text()) == {"version": 1, "spec": {"prompt": "p"}, "segments": [],
                                                           "result": None}


# --- issue 15: the default sampled fps of a 60 fps clip; the 2F-1 emulator end to end ----------------------


def test_a_60_fps_clip_is_sampled_at_30_by_default_and_extends_as_one_2f_minus_1_take(tmp_path: Path) -> None:
    # the opening clip as RIFE makes it: 25 samples at 30 → 49 frames at 60, frame j showing sample j/2 (blends
    # carry the nearer sample's code, later on ties, as the emulator's do)
    clip = write_clip(tmp_path / "a60.mp4", frames=49, fps=60, width=160, height=96, tone=TONE,
                      render=(render_frame(round_half_up(Fraction(j, 2)), 160, 96) for j in range(49)))
    with emulator() as handle:  # the emulator's default interpolation: 2F-1
        spec, config = build_spec(clip=clip, prompt=PROMPT, overlap=3, frames=17, candidates=1, env=env_for(handle))
        logs: list[str] = []
        result = extend(spec, tmp_path / "run", config, ExtendOptions(yes=True, log=logs.append))
        with sqlite3.connect(handle.data_dir / "emulator.sqlite3") as db:
            sent = [json.loads(r[0]) for r in db.execute("SELECT effective FROM jobs")]
    note = "a60.mp4 is 60 fps: sampling at 30 fps and interpolating to 60, the API's default pipeline"
    assert sum(note in line for line in logs) == 1
    assert [(s["sampledFps"], s["interpolationFps"]) for s in sent] == [(30, 60)]
    manifest = json.loads((tmp_path / "run" / "run.json").read_text())
    assert manifest["spec"]["sampled_fps"] == "30" and note in manifest["spec"]["sampled_fps_note"]
    # B (17 samples, 33 frames) continues A's samples 22..24 (frames 44, 46, 48): one 2F-1 take of
    # 25 + 17 - 3 = 39 samples, 77 frames, with no frame repeated or skipped at the seam
    out = Path(result["output"])
    assert codes(out) == [round_half_up(Fraction(j, 2)) for j in range(2 * (25 + 17 - 3) - 1)]


def test_a_clip_made_by_an_earlier_run_is_sampled_as_that_run_was(make_clip: Any, tmp_path: Path) -> None:
    run = tmp_path / "run"
    (run / "segment-01").mkdir(parents=True)
    made = run / "segment-01" / "candidate-1.mp4"
    made.write_bytes(make_clip(fps=60, frames=40).read_bytes())
    (run / "run.json").write_text(json.dumps({"spec": {"sampled_fps": "25"}, "result": None, "segments": [
        {"candidates": [{"file": str(Path("run") / "segment-01" / "candidate-1.mp4")}]}]}))
    fps, note = default_sampled_fps(probe(made))
    assert fps == 25 and note is not None and f"made by the run in {run}" in note
    other = tmp_path / "other.mp4"  # not in any run: the API's default
    other.write_bytes(made.read_bytes())
    assert default_sampled_fps(probe(other))[0] == 30
    assert default_sampled_fps(probe(make_clip(fps=25, frames=40))) == (25, None)  # at most 30 fps: its own


def test_plan_prints_its_summary_for_a_track_of_a_fractional_length(make_clip: Any, tmp_path: Path) -> None:
    # regression: `ltxkit plan` crashed on float('21/5') printing the total of a 4.2 s track
    track = tmp_path / "t.wav"
    write_track(track, 4 * 48000 + 9600)
    res = CliRunner().invoke(main, ["plan", str(track), "--clip", str(make_clip(fps=25, frames=25)), "--fps", "25",
                                    "--overlap", "3"])
    assert res.exit_code == 0, res.output
    assert "cover 4.200 s" in res.stdout


def test_an_interpolated_opening_clip_is_cut_where_its_samples_end(tmp_path: Path, media: dict[str, Path]) -> None:
    # 25 samples at 30 interpolated 2F-1 to 60: 49 frames lasting 49/60 s; the next sample is at 25/30 s, so
    # B's reference audio starts 3 samples before that instant, not half a sample early
    clip = write_clip(tmp_path / "rife.mp4", frames=49, fps=60, width=64, height=48)
    spec, _ = build_spec(clip=clip, prompt=PROMPT, overlap=3, frames=25, sampled_fps="30", audio=media["track"],
                         env={"LTXKIT_API_KEY": "k"})
    assert spec.segments[0].cut_seconds == Fraction(25, 30)
    at_one_rate, _ = build_spec(clip=media["clip"], prompt=PROMPT, overlap=3, frames=25, audio=media["track"],
                                env={"LTXKIT_API_KEY": "k"})
    assert at_one_rate.segments[0].cut_seconds == probe(media["clip"]).duration_seconds


def test_lip_sync_prompt_advice_is_a_warning_before_paying(media: dict[str, Path]) -> None:
    """``extend --audio`` runs the guide's prompt checks (issue 17 item 7); without audio they stay quiet."""
    from ltxkit.workflow.extend import validate_spec

    env = {"LTXKIT_API_BASE": "http://127.0.0.1:9", "LTXKIT_API_KEY": "k-test"}
    portrait = "a glamour portrait of the singer, shot 1: she smiles"
    spec, _ = build_spec(clip=media["clip"], prompt=portrait, overlap=3, frames=25, audio=media["track"], env=env)
    assert validate_spec(spec) == [
        "the prompt describes a portrait rather than a performance; lip-sync shots animate the framing instead of "
        "the mouth with such prompts", "timestamp or segment syntax in the prompt; use one coherent paragraph"]
    silent, _ = build_spec(clip=media["clip"], prompt=portrait, overlap=3, frames=25, env=env)
    assert validate_spec(silent) == []
