"""Hostile servers (issue 19 items 3–6 and 12), over real loopback sockets (:mod:`tests.hostile_server`)
and through the CLI as a real process: every request and download ends by its deadline, no body grows
past its cap, a download is complete or absent, and a key the server echoes is shown and stored nowhere.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ltxkit.errors import ApiConnectionError, DownloadError, InputError
from ltxkit.jobs import AsyncClient, Client
from ltxkit.jobs.config import ClientConfig
from ltxkit.jobs.wire import reported_sizes

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hostile_server import FILE_A, FILE_B, KEY, Hostile, hostile

FACES = ("sync", "async")


@pytest.fixture(scope="module")
def server() -> Iterator[Hostile]:
    with hostile() as h:
        yield h


def options(h: Hostile, **overrides: Any) -> dict[str, Any]:
    return {"base_url": h.url, "api_key": KEY, "timeout": 5.0, "max_retries": 2, "retry_base_delay": 0.01,
            "retry_max_delay": 0.02, "progress": False, **overrides}


def call(face: str, h: Hostile, method: str, *args: Any, **overrides: Any) -> Any:
    """``Client(...).method(*args)`` or the same on ``AsyncClient``: both faces must hold the bounds."""
    if face == "sync":
        with Client(**options(h, **overrides)) as c:
            return getattr(c, method)(*args)

    async def run() -> Any:
        async with AsyncClient(**options(h, **overrides)) as c:
            return await getattr(c, method)(*args)

    return asyncio.run(run())


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[BaseException, float]:
    began = time.monotonic()
    with pytest.raises((ApiConnectionError, DownloadError)) as caught:
        fn(*args, **kwargs)
    return caught.value, time.monotonic() - began


def cli(h: Hostile, cwd: Path, *args: str, **env: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """The CLI as a real process against the hostile server (a read timeout far longer than the deadlines)."""
    merged = {**os.environ, "LTXKIT_API_BASE": h.url, "LTXKIT_API_KEY": KEY, "LTXKIT_TIMEOUT": "5",
              "LTXKIT_MAX_RETRIES": "2", "LTXKIT_RETRY_BASE_DELAY": "0.01", "LTXKIT_RETRY_MAX_DELAY": "0.02",
              "LTXKIT_POLL_INTERVAL": "0.01", **env}
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-c", "from ltxkit.cli import main; main()", *args], cwd=cwd, env=merged,
                          capture_output=True, text=True, timeout=60)
    return done, time.monotonic() - began


def one_clear_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr and "MemoryError" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


# ---- (6) deadlines ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("face", FACES)
def test_a_slowloris_header_stops_at_the_request_deadline(server: Hostile, face: str) -> None:
    """Regression: with a 5 s read timeout, a header sent at 1 byte/s was still being read at 60 s."""
    error, took = timed(call, face, server, "status", "slowloris", request_deadline=1.5)
    assert "gave up at the request_deadline limit of 1.5 (LTXKIT_REQUEST_DEADLINE)" in str(error)
    assert 1.4 < took < 3.5


def test_the_cli_stops_a_slowloris_status_by_the_deadline(server: Hostile, tmp_path: Path) -> None:
    done, took = cli(server, tmp_path, "jobs", "status", "slowloris", LTXKIT_REQUEST_DEADLINE="1.5")
    assert "request_deadline limit of 1.5 (LTXKIT_REQUEST_DEADLINE)" in one_clear_line(done)
    assert took < 8  # 1.5 s of deadline plus the interpreter's start


@pytest.mark.parametrize("face", FACES)
def test_a_1_byte_per_second_download_stops_at_the_download_deadline(server: Hostile, tmp_path: Path,
                                                                      face: str) -> None:
    error, took = timed(call, face, server, "download", f"{server.url}/files/slow.mp4", tmp_path / "slow.mp4",
                        download_deadline=1.5)
    assert "gave up at the download_deadline limit of 1.5 (LTXKIT_DOWNLOAD_DEADLINE)" in str(error)
    assert 1.4 < took < 3.5
    assert not (tmp_path / "slow.mp4").exists()


def test_a_download_below_the_minimum_rate_is_dropped_and_tried_a_bounded_number_of_times(
        server: Hostile, tmp_path: Path) -> None:
    before = len(server.gets("/files/slow.mp4"))
    error, took = timed(call, "sync", server, "download", f"{server.url}/files/slow.mp4", tmp_path / "slow.mp4",
                        rate_window=0.5, min_download_rate=100, download_attempts=2)
    assert "slower than the min_download_rate limit of 100 (LTXKIT_MIN_DOWNLOAD_RATE) bytes/s" in str(error)
    assert "after 2 tries in all (the download_attempts limit of 2 (LTXKIT_DOWNLOAD_ATTEMPTS))" in str(error)
    assert len(server.gets("/files/slow.mp4")) - before == 2
    assert took < 3


# ---- (4) API replies are capped, decoded bytes counted ---------------------------------------------------------


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("job", ["endless", "bomb"])
def test_an_endless_or_gzip_bomb_reply_is_refused_at_the_cap(server: Hostile, face: str, job: str) -> None:
    """Regression: an endless JSON body or a gzip bomb on ``jobs status`` drove the client to 4 GiB."""
    tracemalloc.start()
    try:
        error, _ = timed(call, face, server, "status", job, max_reply_bytes=1 << 20)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "larger than the max_reply_bytes limit of 1048576 bytes (LTXKIT_MAX_REPLY_BYTES)" in str(error)
    assert peak < 8 << 20, peak  # the cap and a piece, never the 256 MiB the bomb holds


def test_the_cli_refuses_a_gzip_bomb_with_one_line(server: Hostile, tmp_path: Path) -> None:
    done, _ = cli(server, tmp_path, "jobs", "status", "bomb", "--json")
    assert "larger than the max_reply_bytes limit of 4194304 bytes" in one_clear_line(done)
    assert done.stdout == ""


# ---- (5) downloads are bounded ---------------------------------------------------------------------------------


@pytest.mark.parametrize("face", FACES)
def test_an_endless_download_stops_at_the_size_cap_and_leaves_nothing(server: Hostile, tmp_path: Path,
                                                                       face: str) -> None:
    error, _ = timed(call, face, server, "download", f"{server.url}/files/endless.mp4", tmp_path / "e.mp4",
                     max_download_bytes=1 << 20)
    assert str(error).endswith("e.mp4: the server sent more than the max_download_bytes limit of 1048576 "
                               "(LTXKIT_MAX_DOWNLOAD_BYTES)")
    assert list(tmp_path.iterdir()) == []


def test_a_download_stops_at_the_size_the_job_reported(server: Hostile, tmp_path: Path) -> None:
    from ltxkit.jobs.download import download_plan

    with Client(**options(server)) as c, pytest.raises(DownloadError) as caught:
        c.run(download_plan(c.context, f"{server.url}/files/endless.mp4", tmp_path / "e.mp4", (5000,)))
    assert str(caught.value) == "e.mp4: the server sent more than the 5000 bytes the server stated"
    assert list(tmp_path.iterdir()) == []


def test_a_range_drip_cannot_reset_the_retry_budget_forever(server: Hostile, tmp_path: Path) -> None:
    """Regression: a server sending 4 MB per Range answer reset the retry budget on every answer (3 GiB)."""
    before = len(server.gets("/files/drip.mp4"))
    error, _ = timed(call, "sync", server, "download", f"{server.url}/files/drip.mp4", tmp_path / "d.mp4",
                     download_attempts=5)
    assert "after 5 tries in all (the download_attempts limit of 5 (LTXKIT_DOWNLOAD_ATTEMPTS))" in str(error)
    assert len(server.gets("/files/drip.mp4")) - before == 5
    assert (tmp_path / "d.mp4.part").stat().st_size == 5 * 65536  # each try resumed (the ETag held)
    assert not (tmp_path / "d.mp4").exists()


@pytest.mark.parametrize("face", FACES)
def test_encoded_media_is_refused_not_decoded(server: Hostile, tmp_path: Path, face: str) -> None:
    error, _ = timed(call, face, server, "download", f"{server.url}/files/gzip.mp4", tmp_path / "g.mp4")
    assert str(error) == "g.mp4: refused gzip-encoded media (asked for Accept-Encoding: identity)"
    assert server.gets("/files/gzip.mp4")[-1].headers["accept-encoding"] == "identity"
    assert list(tmp_path.iterdir()) == []


# ---- (3) complete or absent ------------------------------------------------------------------------------------


def test_a_cut_body_without_content_length_is_not_accepted_when_the_job_states_the_size(
        server: Hostile, tmp_path: Path) -> None:
    """Regression: 33,635 of 67,270 bytes saved as complete (200, no Content-Length, cut), journal done."""
    with Client(**options(server)) as c:
        job = c.status("cut")
        assert job.sizes == ((len(FILE_A),),)
        with pytest.raises(DownloadError, match=r"got 33635 of 67270 bytes after 3 tries"):
            c.download_outputs(job, tmp_path)
    assert list(tmp_path.iterdir()) == []  # no validator: nothing to resume, nothing kept


def test_a_cut_body_that_states_no_size_anywhere_is_refused(server: Hostile, tmp_path: Path) -> None:
    error, _ = timed(call, "sync", server, "download", f"{server.url}/files/cut.mp4", tmp_path / "cut.mp4")
    assert str(error) == "cut.mp4: the server states no size and ends the body by closing: a cut file would look whole"
    assert list(tmp_path.iterdir()) == []


def test_the_cli_leaves_no_file_and_no_done_journal_for_a_cut_download(server: Hostile, tmp_path: Path) -> None:
    done, _ = cli(server, tmp_path, "jobs", "wait", "cut", "--download", str(tmp_path / "out"), "--state",
                  str(tmp_path))
    assert done.returncode == 1 and "got 33635 of 67270 bytes" in done.stderr, done.stderr
    assert not (tmp_path / "out" / "cut.mp4").exists()


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("stem", ["changed", "changed-honest"])
def test_a_resume_after_the_file_changed_restarts_and_never_joins_two_files(server: Hostile, tmp_path: Path,
                                                                             face: str, stem: str) -> None:
    """Regression: a Range resume after the content changed joined the first half of A to the second of B."""
    server.versions.pop(stem, None)
    before = len(server.gets(f"/files/{stem}.mp4"))
    dest = call(face, server, "download", f"{server.url}/files/{stem}.mp4", tmp_path / "c.mp4")
    assert dest.read_bytes() == FILE_B
    seen = server.gets(f"/files/{stem}.mp4")[before:]
    assert [(s.headers.get("range"), s.headers.get("if-range")) for s in seen][:2] == \
        [(None, None), (f"bytes={len(FILE_A) // 2}-", '"A"')]
    # the dishonest server's 206 carries B's ETag: refused, and the file fetched whole
    assert len(seen) == (3 if stem == "changed" else 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.mp4"]


def test_a_part_file_without_a_validator_is_fetched_again_from_zero(server: Hostile, tmp_path: Path) -> None:
    (tmp_path / "p.mp4.part").write_bytes(FILE_B[:1000])  # bytes of unknown origin
    before = len(server.gets("/files/p.mp4"))
    call("sync", server, "download", f"{server.url}/files/p.mp4", tmp_path / "p.mp4")
    assert (tmp_path / "p.mp4").read_bytes() == FILE_A
    assert [s.headers.get("range") for s in server.gets("/files/p.mp4")[before:]] == [None]


# ---- (12) an echoed key is scrubbed from everything ------------------------------------------------------------


def test_an_echoed_key_is_shown_and_stored_nowhere(server: Hostile, tmp_path: Path) -> None:
    """Regression: ``jobs status --details --json`` printed a key the server echoed, and output URLs holding
    it went into the journal and onto the screen."""
    status, _ = cli(server, tmp_path, "jobs", "status", "echo", "--details", "--json")
    assert status.returncode == 0, status.stderr
    shown = json.loads(status.stdout)
    assert shown["outputs"] == [f"{server.url}/files/a.mp4?token=***"]
    assert shown["response"]["upstreamResult"] == {"request": {"headers": {"Authorization": "Bearer ***"}},
                                                   "key": "***"}
    wait, _ = cli(server, tmp_path, "jobs", "wait", "echo", "--download", str(tmp_path / "out"), "--state",
                  str(tmp_path), "--json")
    assert wait.returncode == 0, wait.stderr
    assert (tmp_path / "out" / "a.mp4").read_bytes() == FILE_A
    failed, _ = cli(server, tmp_path, "jobs", "wait", "failed-echo", "--state", str(tmp_path))
    assert failed.returncode == 1 and "upstream rejected key ***" in failed.stderr
    for done in (status, wait, failed):
        assert KEY not in done.stdout + done.stderr
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
    rows = [json.dumps(r) for db in tmp_path.glob("*.sqlite*") for r in sqlite3.connect(db).execute(
        "SELECT * FROM sqlite_master")]
    assert all(KEY not in r for r in rows)


# ---- units: the limits' settings, sizes stated in payloads, MockTransport ----------------------------------------


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-1"])
@pytest.mark.parametrize("var", ["LTXKIT_REQUEST_DEADLINE", "LTXKIT_DOWNLOAD_DEADLINE", "LTXKIT_RATE_WINDOW",
                                 "LTXKIT_RETRY_BASE_DELAY", "LTXKIT_TIMEOUT"])
def test_limits_from_the_environment_must_be_finite(var: str, value: str) -> None:
    if value == "0" and var == "LTXKIT_RETRY_BASE_DELAY":
        return  # no delay is a valid choice for a retry
    with pytest.raises(InputError, match=var if value in ("nan", "inf", "-inf") else "must"):
        ClientConfig.from_env({var: value})


def test_limits_have_defaults_and_flat_options() -> None:
    config = ClientConfig.from_env({"LTXKIT_MAX_REPLY_BYTES": "1000", "LTXKIT_DOWNLOAD_ATTEMPTS": "7",
                                    "LTXKIT_MIN_DOWNLOAD_RATE": "0"})
    assert (config.limits.max_reply_bytes, config.limits.download_attempts, config.limits.min_download_rate) == \
        (1000, 7, 0.0)
    defaults = ClientConfig().limits
    assert (defaults.max_reply_bytes, defaults.max_download_bytes, defaults.request_deadline,
            defaults.download_deadline, defaults.min_download_rate, defaults.rate_window,
            defaults.download_attempts) == (4 << 20, 64 << 30, 300.0, 14400.0, 1024.0, 30.0, 30)
    assert ClientConfig.build(request_deadline=2).limits.request_deadline == 2


def test_sizes_are_read_wherever_the_payload_states_them() -> None:
    payload = {"downloadableOutputUrls": ["https://cdn/x/a.mp4", "https://cdn/x/b.mp4"],
               "upstreamResult": {"outputs": [{"name": "a.mp4", "bytes": 10}, {"url": "https://cdn/x/b.mp4",
                                                                                "sizeBytes": 20, "size": 21}]},
               "other": {"name": "a.mp4", "bytes": True}}
    assert reported_sizes(payload, ("https://cdn/x/a.mp4", "https://cdn/x/b.mp4", "https://cdn/c.mp4")) == \
        ((10,), (20, 21), ())


def test_a_declared_oversized_reply_is_refused_before_it_is_read() -> None:
    reads: list[int] = []

    class Endless(httpx.SyncByteStream):
        def __iter__(self) -> Iterator[bytes]:
            for _ in range(1000):
                reads.append(1)
                yield b"x" * 65536

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Length": str(1 << 30)}, stream=Endless())

    http = httpx.Client(transport=httpx.MockTransport(handler))
    with Client(base_url="http://api.test", api_key=KEY, http_client=http, max_retries=0, progress=False) as c, \
            pytest.raises(ApiConnectionError, match="larger than the max_reply_bytes limit of 4194304 bytes"):
        c.balance()
    assert reads == []


def test_the_key_is_scrubbed_in_its_url_encoded_form_too() -> None:
    with Client(base_url="http://api.test", api_key="k+y/=1", progress=False) as c:
        assert c.context.scrub("a?t=k%2By%2F%3D1&u=k+y/=1") == "a?t=***&u=***"


def test_the_hostile_server_ends_the_answers_it_is_still_giving_before_its_loop_closes() -> None:
    """Regression: leaving the block cancelled the answers under way without waiting for them, so a later
    garbage collection ran their ``writer.close()`` on the closed loop ("Event loop is closed", reported as
    an unraisable exception inside whichever test was running then). Ten servers left with 20 clients
    each still connected made it happen at least once in every run."""
    caught: list[Any] = []
    previous, sys.unraisablehook = sys.unraisablehook, caught.append
    try:
        for _ in range(10):
            with hostile() as server:
                port = int(server.url.rsplit(":", 1)[1])
                clients = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(20)]
                for client in clients:
                    client.sendall(b"GET /api/v1/media/jobs?jobId=slowloris HTTP/1.1\r\nHost: x\r\n\r\n")
            for client in clients:
                client.close()
            gc.collect()
    finally:
        sys.unraisablehook = previous
    assert [str(u.exc_value) for u in caught] == []
