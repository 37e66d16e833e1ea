"""Downloads against a real loopback server: truncation detected and resumed (Range) or restarted,
no file under the final name until it is complete, and the key kept away from other origins."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from jobs_server import API_KEY, Fault, JobsServer, client_options, fresh_server, running

from ltxkit.errors import DownloadError
from ltxkit.jobs import AsyncClient, Client, Job, Journal, submit_and_collect

DATA = bytes((i * 7 + i // 251) % 256 for i in range(200_000))
GEN = {"prompt": "a lighthouse at dusk", "durationFrames": 49}


@pytest.fixture
def server() -> JobsServer:
    server = fresh_server()
    server.files["clip.mp4"] = DATA
    return server


def file_requests(server: JobsServer, name: str = "clip.mp4") -> list[str | None]:
    return [s.headers.get("range") for s in server.seen("GET", f"/files/{name}")]


def test_truncated_download_is_resumed_with_range(server: JobsServer, tmp_path: Path) -> None:
    server.fault("file:clip.mp4", Fault("truncate", size=70_000))
    with Client(**client_options(server)) as c:
        path = c.download(f"{server.url}/files/clip.mp4", tmp_path / "clip.mp4")
    assert path.read_bytes() == DATA
    assert file_requests(server) == [None, "bytes=70000-"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]


def test_truncated_download_restarts_when_the_server_ignores_range(server: JobsServer, tmp_path: Path) -> None:
    server.range_support = False
    server.fault("file:clip.mp4", Fault("truncate", size=70_000), Fault("truncate", size=120_000))
    with Client(**client_options(server)) as c:
        path = c.download(f"{server.url}/files/clip.mp4", tmp_path / "clip.mp4")
    assert path.read_bytes() == DATA
    assert file_requests(server) == [None, "bytes=70000-", "bytes=120000-"]  # asked, got 200 each time


def test_no_file_under_the_final_name_until_complete(server: JobsServer, tmp_path: Path) -> None:
    release = threading.Event()
    server.fault("file:clip.mp4", Fault("stall", size=50_000, release=release))
    dest, part = tmp_path / "clip.mp4", tmp_path / "clip.mp4.part"
    with Client(**client_options(server)) as c:
        worker = threading.Thread(target=c.download, args=(f"{server.url}/files/clip.mp4", dest))
        worker.start()
        deadline = time.monotonic() + 10
        while not (part.exists() and part.stat().st_size == 50_000) and time.monotonic() < deadline:
            time.sleep(0.005)
        assert part.read_bytes() == DATA[:50_000]
        assert not dest.exists()
        release.set()  # the server now closes the connection short of Content-Length
        worker.join(10)
    assert dest.read_bytes() == DATA and not part.exists()
    assert file_requests(server) == [None, "bytes=50000-"]


def test_an_existing_part_file_is_resumed(server: JobsServer, tmp_path: Path) -> None:
    (tmp_path / "clip.mp4.part").write_bytes(DATA[:123_456])
    with Client(**client_options(server)) as c:
        c.download(f"{server.url}/files/clip.mp4", tmp_path / "clip.mp4")
    assert (tmp_path / "clip.mp4").read_bytes() == DATA
    assert file_requests(server) == ["bytes=123456-"]


def test_a_complete_part_file_is_renamed_after_416(server: JobsServer, tmp_path: Path) -> None:
    (tmp_path / "clip.mp4.part").write_bytes(DATA)
    with Client(**client_options(server)) as c:
        c.download(f"{server.url}/files/clip.mp4", tmp_path / "clip.mp4")
    assert (tmp_path / "clip.mp4").read_bytes() == DATA


def test_a_gone_output_raises_and_leaves_nothing(server: JobsServer, tmp_path: Path) -> None:
    with Client(**client_options(server)) as c, pytest.raises(DownloadError, match="HTTP 404: output expired"):
        c.download(f"{server.url}/files/gone.mp4", tmp_path / "gone.mp4")
    assert list(tmp_path.iterdir()) == []


def test_endless_truncation_gives_up_and_keeps_the_part_for_a_re_run(server: JobsServer, tmp_path: Path) -> None:
    server.range_support = False
    server.fault("file:clip.mp4", *[Fault("truncate", size=1000)] * 4)
    with Client(**client_options(server, max_retries=2)) as c, \
            pytest.raises(DownloadError, match="re-run resumes it"):
        c.download(f"{server.url}/files/clip.mp4", tmp_path / "clip.mp4")
    assert not (tmp_path / "clip.mp4").exists()
    assert (tmp_path / "clip.mp4.part").stat().st_size == 1000


def test_5xx_on_download_is_retried(server: JobsServer, tmp_path: Path) -> None:
    server.fault("file:clip.mp4", Fault("status", 503, headers={"Retry-After": "0"}))
    with Client(**client_options(server)) as c:
        c.download(f"{server.url}/files/clip.mp4", tmp_path / "clip.mp4")
    assert (tmp_path / "clip.mp4").read_bytes() == DATA


def test_outputs_get_unique_sanitised_names(server: JobsServer, tmp_path: Path) -> None:
    server.files["..%2F..%2Fevil name.mp4"] = b"evil"
    (tmp_path / "clip.mp4").write_bytes(b"someone else's clip")
    job = Job("job-9", "done", "done", (f"{server.url}/files/clip.mp4", f"{server.url}/files/clip.mp4",
                                        f"{server.url}/files/..%252F..%252Fevil%20name.mp4"))
    with Client(**client_options(server)) as c:
        paths = c.download_outputs(job, tmp_path)
    assert [p.name for p in paths[:2]] == ["clip-1.mp4", "clip-2.mp4"]
    assert paths[2].name.endswith("evil_name.mp4") and "/" not in paths[2].name  # decoded once, never a path
    assert all(p.parent == tmp_path for p in paths)
    assert (tmp_path / "clip.mp4").read_bytes() == b"someone else's clip"
    assert paths[0].read_bytes() == DATA


def test_the_key_is_not_sent_to_another_origin(server: JobsServer, tmp_path: Path) -> None:
    with running() as cdn:
        cdn.files["clip.mp4"] = DATA
        server.output_base = cdn.url  # outputs live on another port: another origin
        server.next_outputs = ["clip.mp4"]
        cdn.fault("file:clip.mp4", Fault("truncate", size=1000))
        with Client(**client_options(server)) as c, Journal.in_dir(tmp_path) as journal:
            record = submit_and_collect(c, "video.generate", GEN, journal=journal, download_dir=tmp_path / "out")
            # same-origin redirect to the CDN: the API hop may see the key, the CDN hop must not
            c.download(f"{server.url}/redirect/clip.mp4", tmp_path / "redirected.mp4")
        cdn_seen = cdn.seen()
    assert record.files[0].read_bytes() == DATA
    assert (tmp_path / "redirected.mp4").read_bytes() == DATA
    assert len(cdn_seen) == 3
    for seen in cdn_seen:
        assert "authorization" not in seen.headers and "x-api-key" not in seen.headers
        assert API_KEY not in repr(seen.headers)
    assert server.seen("GET", "/redirect/clip.mp4")[0].headers["authorization"] == f"Bearer {API_KEY}"


def test_same_origin_outputs_get_the_key(server: JobsServer, tmp_path: Path) -> None:
    with Client(**client_options(server, auth="x-api-key")) as c:
        c.download(f"{server.url}/files/clip.mp4", tmp_path / "clip.mp4")
    assert server.seen("GET", "/files/clip.mp4")[0].headers["x-api-key"] == API_KEY


def test_async_download_resumes_the_same_way(server: JobsServer, tmp_path: Path) -> None:
    server.fault("file:clip.mp4", Fault("truncate", size=70_000))

    async def go() -> Path:
        async with AsyncClient(**client_options(server)) as c:
            return await c.download(f"{server.url}/files/clip.mp4", tmp_path / "clip.mp4")

    assert asyncio.run(go()).read_bytes() == DATA
    assert file_requests(server) == [None, "bytes=70000-"]


def test_progress_bar_only_on_stderr_and_only_when_asked(server: JobsServer, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    with Client(**client_options(server, progress=None)) as c:  # stderr is not a terminal here: no bar
        c.download(f"{server.url}/files/clip.mp4", tmp_path / "a.mp4")
    assert capsys.readouterr() == ("", "")
    with Client(**client_options(server, progress=True)) as c:
        c.download(f"{server.url}/files/clip.mp4", tmp_path / "b.mp4")
    out, err = capsys.readouterr()
    assert out == "" and "b.mp4" in err and "200.0" in err  # 200.0 kB of 200.0 kB
