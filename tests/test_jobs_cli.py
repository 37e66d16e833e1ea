"""``ltxkit jobs …``, ``balance``, ``health``: the commands against a scripted API (:mod:`fake_api`; every
client the CLI makes talks to it over ``httpx.MockTransport``); kill-and-re-run resumes from the journal
(real processes against the emulator on a loopback socket); the API key never shows up anywhere."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile
from click.testing import CliRunner, Result
from fake_api import API, API_KEY, FakeApi, Fault, unreachable_url
from PIL import Image

from ltxkit.cli import main
from ltxkit.emulator.server import EmulatorConfig, EmulatorHandle, run_in_thread
from ltxkit.emulator.store import DB_NAME
from ltxkit.errors import BadRequestError
from ltxkit.jobs import Client, JobRequest

DATA = bytes((i * 13) % 256 for i in range(300_000))
GEN = {"prompt": "a lighthouse at dusk, slow push-in", "durationFrames": 49, "width": 256, "height": 256}
KEY = JobRequest.build("video.generate", GEN).key


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> FakeApi:
    server = FakeApi()
    server.files["clip.mp4"] = DATA
    server.next_outputs = ["clip.mp4"]
    server.serve_every_client(monkeypatch)
    return server


def client_env(**overrides: str) -> dict[str, str]:
    """The test settings as LTXKIT_* environment variables, for CLI runs: the fake API, tiny delays."""
    return {"LTXKIT_API_BASE": API, "LTXKIT_API_KEY": API_KEY, "LTXKIT_TIMEOUT": "5", "LTXKIT_MAX_RETRIES": "4",
            "LTXKIT_RETRY_BASE_DELAY": "0.001", "LTXKIT_RETRY_MAX_DELAY": "0.01", "LTXKIT_POLL_INTERVAL": "0.001",
            "LTXKIT_POLL_MAX_INTERVAL": "0.005", "LTXKIT_WAIT_TIMEOUT": "20", **overrides}


def cli(server: FakeApi, *args: str, **env: str | None) -> Result:
    merged: dict[str, str | None] = {**client_env(), **env}
    return CliRunner().invoke(main, list(args), env=merged)


def submit_args(tmp_path: Path, *extra: str) -> list[str]:
    return ["jobs", "submit", "video.generate", "--input", json.dumps(GEN), "--state", str(tmp_path), *extra]


# ---- commands ---------------------------------------------------------------------------------------------


def test_submit_wait_download_prints_the_record(server: FakeApi, tmp_path: Path) -> None:
    server.fault("create", Fault("drop"))
    result = cli(server, *submit_args(tmp_path, "--download", str(tmp_path / "out"), "--json"))
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert (out["jobId"], out["status"], out["rawStatus"], out["idempotencyKey"]) == ("job-1", "done", "succeeded",
                                                                                      KEY)
    assert out["files"] == [str((tmp_path / "out" / "clip.mp4").resolve())]
    assert (tmp_path / "out" / "clip.mp4").read_bytes() == DATA
    assert dict(server.creates) == {KEY: 1}
    again = cli(server, *submit_args(tmp_path, "--download", str(tmp_path / "out")))
    assert again.exit_code == 0 and again.stdout.startswith("job job-1: done (succeeded)\n")
    assert len(server.seen("POST")) == 2  # the dropped one and its retry; the re-run posted nothing


def test_submit_without_wait_returns_once_acknowledged(server: FakeApi, tmp_path: Path) -> None:
    result = cli(server, *submit_args(tmp_path, "--idempotency-key", "batch-7", "--json"))
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "running"
    assert server.seen("GET") == []
    assert json.loads(server.seen("POST")[0].body)["idempotencyKey"] == "batch-7"


def test_missing_key_is_one_line_and_exit_2(server: FakeApi, tmp_path: Path) -> None:
    for args in (submit_args(tmp_path), ["jobs", "status", "job-1"], ["jobs", "wait", "job-1"], ["balance"]):
        result = cli(server, *args, LTXKIT_API_KEY=None)
        assert result.exit_code == 2, args
        assert result.stderr.count("\n") == 1 and "LTXKIT_API_KEY" in result.stderr
    assert server.requests == []
    assert not (tmp_path / "ltxkit-jobs.sqlite").exists()


@pytest.mark.parametrize(("input_text", "named"), [
    ("{not json", "--input: not valid JSON"),
    ("[1, 2]", "--input: must be a JSON object"),
    ("@/nonexistent/input.json", "--input: cannot read"),
    (json.dumps({**GEN, "durationFrames": 250}), "input.durationFrames: 250 is not 8n+1"),
    (json.dumps({"durationFrames": 49}), "input.prompt"),
])
def test_bad_input_exits_2_naming_the_field(server: FakeApi, tmp_path: Path, input_text: str, named: str) -> None:
    result = cli(server, "jobs", "submit", "video.generate", "--input", input_text, "--state", str(tmp_path))
    assert result.exit_code == 2
    assert named in result.stderr and result.stderr.startswith("ltxkit: error: ")
    assert server.requests == []
    assert list(tmp_path.iterdir()) == []


def test_input_from_file_with_media_files(server: FakeApi, tmp_path: Path) -> None:
    frames = tmp_path / "tail"
    frames.mkdir()
    for i in range(3):
        Image.new("RGB", (32, 32), (i * 80, 0, 0)).save(frames / f"f{i}.png")
    (frames / "frames.json").write_text(json.dumps({"frames": [{"file": f"f{i}.png"} for i in (0, 1, 2)]}))
    soundfile.write(tmp_path / "line.wav", np.zeros((800, 1), dtype=np.int16), 16000)
    (tmp_path / "in.json").write_text(json.dumps({"prompt": "continue the shot", "durationFrames": 49}))
    result = cli(server, "jobs", "submit", "video.generate", "--input", f"@{tmp_path / 'in.json'}",
                 "--overlap-frames", str(frames), "--reference-audio", str(tmp_path / "line.wav"),
                 "--state", str(tmp_path), "--json")
    assert result.exit_code == 0, result.stderr
    sent = json.loads(server.seen("POST")[0].body)["input"]
    assert [f["mimeType"] for f in sent["overlapFrameImages"]] == ["image/png"] * 3
    import base64
    assert [base64.b64decode(f["dataBase64"]) for f in sent["overlapFrameImages"]] == \
        [(frames / f"f{i}.png").read_bytes() for i in range(3)]
    assert sent["referenceAudio"]["mimeType"] == "audio/wav"


def test_server_400_exits_2_and_5xx_exits_1_with_the_server_text(server: FakeApi, tmp_path: Path) -> None:
    server.fault("create", Fault("status", 400, {"error": "durationFrames exceeds your plan"}))
    result = cli(server, *submit_args(tmp_path))
    assert result.exit_code == 2
    assert result.stderr == "ltxkit: error: POST /api/v1/media/jobs: HTTP 400: durationFrames exceeds your plan\n"
    server.fault("create", *[Fault("status", 500, {"error": "GPU pool exhausted"})] * 5)
    result = cli(server, *submit_args(tmp_path))
    assert result.exit_code == 1
    assert "HTTP 500: GPU pool exhausted" in result.stderr and result.stderr.count("\n") == 1


def test_status_with_details(server: FakeApi, tmp_path: Path) -> None:
    assert cli(server, *submit_args(tmp_path)).exit_code == 0
    result = cli(server, "jobs", "status", "job-1", "--details", "--json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert (out["jobId"], out["rawStatus"], out["response"]["details"]["upstream"]) == ("job-1", "queued",
                                                                                         "sanitized")
    assert server.seen("GET")[-1].query == "jobId=job-1&includeDetails=1"
    missing = cli(server, "jobs", "status", "job-404")
    assert missing.exit_code == 1 and "HTTP 404: job not found" in missing.stderr


def test_wait_several_ids_downloads_and_reports_failures(server: FakeApi, tmp_path: Path) -> None:
    with Client(**client_env_options(server)) as c:
        ids = [c.submit("video.generate", {**GEN, "seed": i}).id for i in range(3)]
    server.jobs[ids[2]].statuses = ["queued", "error"]
    server.jobs[ids[2]].error = "upstream OOM"
    result = cli(server, "jobs", "wait", *ids, "--download", str(tmp_path / "out"), "--state", str(tmp_path))
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == "job job-1: done (succeeded)"
    assert "job job-2: done" in result.stdout and "job-3" not in result.stdout
    assert "upstream OOM" in result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["clip-1.mp4", "clip.mp4"]


def client_env_options(server: FakeApi) -> dict[str, Any]:
    return {"base_url": API, "api_key": server.api_key, "progress": False}


def test_balance_and_health(server: FakeApi) -> None:
    balance = cli(server, "balance")
    assert (balance.exit_code, balance.stdout) == (0, "balanceUsd: 12.34\ncurrency: USD\n")
    assert json.loads(cli(server, "balance", "--json").stdout) == {"balanceUsd": "12.34", "currency": "USD"}
    health = cli(server, "health", "--json", LTXKIT_API_KEY=None)
    assert health.exit_code == 0 and json.loads(health.stdout) == {"status": "ok"}


# ---- kill and re-run: real processes, the emulator on a loopback socket ---------------------------------------


def emulator(*, running_seconds: float = 0.02, faults: str = "") -> EmulatorHandle:
    return run_in_thread(EmulatorConfig(api_keys=[API_KEY], queued_seconds=0.02, running_seconds=running_seconds,
                                        faults=faults))


def run_cli(emu: EmulatorHandle, cwd: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, **client_env(LTXKIT_API_BASE=emu.base_url)}
    return subprocess.Popen([sys.executable, "-c", "from ltxkit.cli import main; main()", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_until(condition: Callable[[], bool], what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def journal_row(cwd: Path) -> tuple[Any, ...]:
    with sqlite3.connect(cwd / "ltxkit-jobs.sqlite") as db:
        row = db.execute("SELECT idempotency_key, job_id, state FROM jobs").fetchone()
    assert row is not None
    return tuple(row)


def created(emu: EmulatorHandle) -> list[tuple[str, str]]:
    """``(job id, idempotency key)`` of every job the emulator made, oldest first."""
    with contextlib.closing(sqlite3.connect(f"file:{emu.data_dir / DB_NAME}?mode=ro", uri=True)) as db:
        return [tuple(row) for row in db.execute("SELECT id, idempotency_key FROM jobs ORDER BY created_at")]


def output(emu: EmulatorHandle, job_id: str) -> bytes:
    path = emu.emulator.files.path(job_id, "video.mp4")
    return b"" if path is None else path.read_bytes()


def sent(emu: EmulatorHandle, method: str, prefix: str) -> list[Any]:
    return [r for r in emu.requests() if r.method == method and r.path.startswith(prefix)]


SUBMIT = ["jobs", "submit", "video.generate", "--input", json.dumps(GEN), "--wait", "--download", "out", "--json"]


def kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=10)
    assert proc.returncode == -signal.SIGKILL


def rerun(emu: EmulatorHandle, cwd: Path) -> dict[str, Any]:
    proc = run_cli(emu, cwd, *SUBMIT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    out: dict[str, Any] = json.loads(stdout)
    assert created(emu) == [(out["jobId"], KEY)]  # one job, made once for the key
    assert out["status"] == "done"
    assert (cwd / "out" / "video.mp4").read_bytes() == output(emu, out["jobId"])
    assert sorted(p.name for p in (cwd / "out").iterdir()) == ["video.mp4"]
    return out


def test_killed_while_polling_resumes_the_same_job_without_posting_again(tmp_path: Path) -> None:
    with emulator(running_seconds=4) as emu:  # running until well after the kill
        proc = run_cli(emu, tmp_path, *SUBMIT)
        wait_until(lambda: len(sent(emu, "GET", "/api/v1/media/jobs")) >= 2, "the first polls")
        kill(proc)
        ((job_id, _),) = created(emu)
        assert journal_row(tmp_path) == (KEY, job_id, "running")
        rerun(emu, tmp_path)
        assert len(sent(emu, "POST", "/api/v1/media/jobs")) == 1


def test_killed_between_post_and_answer_posts_again_with_the_same_key(tmp_path: Path) -> None:
    with emulator(faults="hold-create") as emu:  # recorded, answer not sent
        proc = run_cli(emu, tmp_path, *SUBMIT)
        wait_until(lambda: bool(created(emu)), "the create")
        kill(proc)
        assert journal_row(tmp_path) == (KEY, None, "pending")
        rerun(emu, tmp_path)  # the emulator deduplicated the second POST
        assert [r.headers["x-idempotency-key"] for r in sent(emu, "POST", "/api/v1/media/jobs")] == [KEY, KEY]


def test_killed_mid_download_resumes_the_download(tmp_path: Path) -> None:
    part = tmp_path / "out" / "video.mp4.part"
    with emulator(faults="stall") as emu:  # the first download stops at half its bytes
        proc = run_cli(emu, tmp_path, *SUBMIT)

        def half_there() -> bool:
            jobs = created(emu)
            return bool(jobs) and part.exists() and 0 < part.stat().st_size == len(output(emu, jobs[0][0])) // 2

        wait_until(half_there, "half the download")
        kill(proc)
        half = part.stat().st_size
        assert not (tmp_path / "out" / "video.mp4").exists()
        rerun(emu, tmp_path)
        assert [r.headers.get("range") for r in sent(emu, "GET", "/files/")] == [None, f"bytes={half}-"]
        assert len(sent(emu, "POST", "/api/v1/media/jobs")) == 1


# ---- the key never shows up ---------------------------------------------------------------------------------


def test_the_key_appears_nowhere(server: FakeApi, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server.fault("create", Fault("drop"), Fault("status", 503))
    server.fault("file:clip.mp4", Fault("truncate", size=5000))
    results = [cli(server, *submit_args(tmp_path, "--download", str(tmp_path / "out"), "--json"))]
    server.fault("create", Fault("status", 400, {"error": f"key {API_KEY} may not do this",
                                                 "details": {"key": API_KEY}}))
    results.append(cli(server, "jobs", "submit", "video.generate", "--input", json.dumps({**GEN, "seed": 1}),
                       "--state", str(tmp_path)))
    results += [cli(server, "jobs", "status", "job-1", "--details", "--json"), cli(server, "balance", "--json"),
                cli(server, "jobs", "wait", "job-1", "job-404", "--state", str(tmp_path))]
    results.append(cli(server, "jobs", "status", "job-1", LTXKIT_API_BASE=unreachable_url(), LTXKIT_MAX_RETRIES="1"))
    assert [r.exit_code for r in results] == [0, 2, 0, 0, 1, 1]
    assert "***" in results[1].stderr
    for r in results:
        assert API_KEY not in r.stdout and API_KEY not in r.stderr
    assert API_KEY not in caplog.text
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"ltxkit-jobs.sqlite", "clip.mp4"}
    for path in files:
        assert API_KEY.encode() not in path.read_bytes(), path

    with Client(**client_env_options(server)) as c, pytest.raises(BadRequestError) as info:
        server.fault("create", Fault("status", 400, {"error": f"echo {API_KEY}"}))
        c.submit("video.generate", GEN)
    assert API_KEY not in str(info.value) and API_KEY not in repr(info.value) and API_KEY not in repr(c.config)
    assert API_KEY not in repr(c) and "***" in repr(c.config)


def test_the_same_command_against_another_server_submits_there(tmp_path: Path) -> None:
    # regression: the journal was keyed by the idempotency key alone, so the same command run against a
    # second server (emulator, then the real API) printed the first server's job and submitted nothing
    from ltxkit.emulator.config import EmulatorConfig
    from ltxkit.emulator.server import run_in_thread

    ids = []
    for _ in range(2):
        with run_in_thread(EmulatorConfig(queued_seconds=0.01, running_seconds=0.01)) as emu:
            env = {"LTXKIT_API_BASE": emu.base_url, "LTXKIT_API_KEY": emu.api_key, "LTXKIT_POLL_INTERVAL": "0.05"}
            result = CliRunner().invoke(main, [*submit_args(tmp_path), "--wait", "--json"], env=env)
            assert result.exit_code == 0, result.stderr
            ids.append(json.loads(result.stdout)["jobId"])
            assert [r.method for r in emu.requests() if r.path == "/api/v1/media/jobs"].count("POST") == 1
    assert ids[0] != ids[1]


def test_wait_with_a_repeated_id_downloads_once(server: FakeApi, tmp_path: Path) -> None:
    # regression: two coroutines claimed the same download and raced on one .part file (traceback, exit 1)
    with Client(**client_env_options(server)) as c:
        job_id = c.submit("video.generate", GEN).id
    result = cli(server, "jobs", "wait", job_id, job_id, "--download", str(tmp_path / "out"), "--state",
                 str(tmp_path), "--json")
    assert result.exit_code == 0, result.stderr
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["clip.mp4"]
    assert (tmp_path / "out" / "clip.mp4").read_bytes() == DATA
    assert len([r for r in server.seen("GET") if "clip.mp4" in r.path]) == 1
