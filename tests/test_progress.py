"""Progress (issue 18 item 2): the library reports to a sink; the CLI draws it on a terminal, writes one
line per state change when stderr is not one, and stays quiet under --json. stdout never carries it."""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import CliRunner

from ltxkit import progress
from ltxkit.cli import main
from ltxkit.fsutil import atomic_path, final_name
from ltxkit.jobs.plan import Context, Reply, Sleep, server_percent, shown_state, wait_plan
from ltxkit.jobs.providers.media_jobs import MEDIA_JOBS
from ltxkit.jobs.retry import PollPolicy, RetryPolicy
from ltxkit.progress import Update, reporting

if TYPE_CHECKING:
    from conftest import DemoRun

ClipFactory = Callable[..., Path]
SPLICE_LINES = ["ltxkit: render s.mp4: rendering", "ltxkit: render s.mp4: done",
                "ltxkit: seam review: measuring seams", "ltxkit: seam review: writing the report",
                "ltxkit: render seam-1-review.mp4: rendering", "ltxkit: render seam-1-review.mp4: done",
                "ltxkit: seam review: done"]


def test_reports_without_a_sink_are_dropped_and_tasks_name_their_reports() -> None:
    progress.report("nobody listens", "running")  # no sink: nothing happens, nothing fails
    seen: list[Update] = []
    with reporting(seen.append):
        progress.report("render a.mp4", "rendering", 1, 10, "frames")
        with progress.task("segment 1 candidate 2"):
            progress.report("job j-1", "queued")
        with reporting(None):
            progress.report("render b.mp4", "rendering")
    progress.report("render c.mp4", "rendering")
    assert seen == [Update("render a.mp4", "rendering", 1, 10, "frames"), Update("segment 1 candidate 2", "queued")]


def test_each_asyncio_task_reports_under_its_own_name() -> None:
    seen: list[Update] = []

    async def one(k: int) -> None:
        with progress.task(f"candidate {k}"):
            await asyncio.sleep(0.01 * (3 - k))  # interleaved: names must not leak between tasks
            progress.report("job", "done")

    async def all_of_them() -> None:
        await asyncio.gather(*(one(k) for k in (1, 2)))

    with reporting(seen.append):
        asyncio.run(all_of_them())
    assert seen == [Update("candidate 2", "done"), Update("candidate 1", "done")]


def test_server_percent_reads_fractions_percentages_and_text() -> None:
    assert [server_percent(p) for p in ({"progress": 0.25}, {"progress": 40}, {"percent": "62.5%"},
                                        {"result": {"progress": 1}}, {"progress": 250}, {"progress": True},
                                        {"status": "running"})] == [25.0, 40.0, 62.5, 100.0, None, None, None]


def test_waiting_on_a_job_reports_each_state_and_the_servers_progress() -> None:
    ctx = Context(MEDIA_JOBS, RetryPolicy(max_retries=0), PollPolicy(interval=1.0, max_interval=1.0, timeout=60.0),
                  "http://127.0.0.1:9", lambda text: text, clock=lambda: 0.0)
    answers = iter([{"status": "queued"}, {"status": "running", "progress": 0.5}, {"status": "succeeded",
                                                                                    "outputs": ["https://x/v.mp4"]}])
    seen: list[Update] = []
    plan = wait_plan(ctx, "j-1")
    with reporting(seen.append):
        action: Any = plan.send(None)
        try:
            while True:
                action = plan.send(None if isinstance(action, Sleep) else
                                   Reply(200, {}, json.dumps({"jobId": "j-1", **next(answers)}).encode()))
        except StopIteration:
            pass
    assert seen == [Update("job j-1", "queued", None, None, "%"), Update("job j-1", "running", 50.0, 100, "%"),
                    Update("job j-1", "done", None, None, "%")]


def test_final_name_is_what_atomic_path_renames_to(tmp_path: Path) -> None:
    with atomic_path(tmp_path / "extended.mp4") as tmp:
        assert (tmp.name != "extended.mp4", final_name(tmp)) == (True, "extended.mp4")
        tmp.write_bytes(b"")
    assert final_name(tmp_path / "report") == "report"


def _splice_args(make_clip: ClipFactory, out: Path) -> list[str]:
    clip = make_clip(frames=40, audio=True)
    return ["splice", str(clip), str(clip), "--overlap", "3", "--sampled-fps", "25", "-o", str(out), "--no-otio",
            "--report", str(out.parent / "report")]


def test_without_a_terminal_progress_is_one_line_per_state_change(make_clip: ClipFactory, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, _splice_args(make_clip, tmp_path / "s.mp4"))
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.splitlines()
    notes = [line for line in lines if line.startswith("ltxkit: note: ")]  # what the smart render copied
    assert [line for line in lines if line not in notes] == SPLICE_LINES and len(notes) == 3
    assert "rendering" not in result.stdout and result.stdout.startswith(f"{tmp_path / 's.mp4'}: 77 frames")


def test_json_is_quiet(make_clip: ClipFactory, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, [*_splice_args(make_clip, tmp_path / "s.mp4"), "--json"])
    assert (result.exit_code, result.stderr) == (0, "")
    assert json.loads(result.stdout)["splice"]["frame_count"] == 77


def test_on_a_terminal_progress_is_drawn_on_stderr_and_stdout_stays_clean(make_clip: ClipFactory,
                                                                          tmp_path: Path) -> None:
    """A real ``ltxkit splice`` with stderr on a pseudo-terminal (160 columns) and stdout on a pipe."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "160"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen([sys.executable, "-c", "from ltxkit.cli import main; main()",
                             *_splice_args(make_clip, tmp_path / "s.mp4")],
                            stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL, env=env)
    os.close(slave)
    drawn = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        drawn += chunk
    os.close(master)
    stdout = proc.stdout.read().decode() if proc.stdout else ""
    assert proc.wait() == 0
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", drawn.decode(errors="replace"))
    assert "\x1b[" in drawn.decode(errors="replace")  # drawn live, not written as lines
    assert "ltxkit: render s.mp4: rendering" not in text
    for row in ("render s.mp4", "77/77 frames", "render seam-1-review.mp4", "seam review", "1/1 seams"):
        assert row in text
    assert stdout.startswith(f"{tmp_path / 's.mp4'}: 77 frames") and "\x1b" not in stdout
    assert "frames done" not in stdout and "render s.mp4" not in stdout and "rendering" not in stdout
    assert "\nrender: smart: 55 frames copied, 22 re-encoded" in stdout  # the result line, not progress


def test_queued_words_show_as_queued_and_others_keep_the_clients_state() -> None:
    from ltxkit.jobs.wire import Job

    assert [shown_state(Job("j", state, raw)) for state, raw in (("running", "Queued"), ("running", "IN-QUEUE"),
                                                                ("running", "processing"), ("running", None),
                                                                ("done", "succeeded"), ("failed", "error"))] == [
        "queued", "queued", "running", "running", "done", "failed"]


def test_extend_shows_each_candidate_from_its_job_to_its_rating(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["demo", "-o", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.stderr
    lines = [line.removeprefix("ltxkit: ") for line in result.stderr.splitlines()]
    for seg in (1, 2):
        for cand in (1, 2, 3):
            name = f"segment {seg} candidate {cand}: "
            states = [line.removeprefix(name) for line in lines if line.startswith(name)]
            assert states[-5:] == ["done", "downloading", "downloaded", "measuring seams", "done"]
            assert states[:-5] in (["queued"], ["running"], ["queued", "running"])  # as far as the polls saw
    assert lines[-10:] == ["render extended.mp4: rendering", "render extended.mp4: done",
                           "seam review: measuring seams", "seam review: writing the report",
                           "render seam-1-review.mp4: rendering", "render seam-1-review.mp4: done",
                           "render seam-2-review.mp4: rendering", "render seam-2-review.mp4: done",
                           "seam review: done", f"spliced 3 clips: {tmp_path / 'demo' / 'extended.mp4'} (seams: ok)"]
    assert "segment 2: took the last 3 frames of seg-01-cand-" in result.stderr  # the take, by its name
    assert "rendering" not in result.stdout and "candidate 1:" not in result.stdout
    assert "set aside: a 2-frame" in result.stdout  # the candidates' table: why 1 and 2 lost


@pytest.mark.xdist_group("demo")
def test_demo_json_shows_no_progress(demo_run: DemoRun) -> None:
    assert demo_run.result["verdict"] == "ok"  # the run went through, quietly
    assert not [line for line in demo_run.stderr.splitlines() if "candidate 1:" in line or "render" in line]
