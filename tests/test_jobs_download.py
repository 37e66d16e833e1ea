"""Downloads through the real client over ``httpx.MockTransport``: truncation detected and resumed
(Range) or restarted, no file under the final name until it is complete, and the key kept away from
other origins. The file host (:mod:`fake_api`) answers from memory: no socket, no sleep."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fake_api import API, API_KEY, CDN, FakeApi, Fault

from ltxkit.errors import DownloadError
from ltxkit.jobs import Client, Job, Journal, submit_and_collect
from ltxkit.progress import Update, reporting

DATA = bytes((i * 7 + i // 251) % 256 for i in range(200_000))
GEN = {"prompt": "a lighthouse at dusk", "durationFrames": 49}


def options(**overrides: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {"base_url": API, "api_key": API_KEY, "max_retries": 4, "retry_base_delay": 0.0,
                                "poll_interval": 0.001, "progress": False, **overrides}
    return settings


def client(host: FakeApi, **overrides: Any) -> Client:
    return host.client(**options(**overrides))


@pytest.fixture
def host() -> FakeApi:
    """The API's one job ends at once with one output on the CDN, a different origin."""
    host = FakeApi()
    host.files["clip.mp4"] = DATA
    host.next_statuses, host.next_outputs, host.output_base = ["succeeded"], ["clip.mp4"], CDN
    return host


URL = f"{API}/files/clip.mp4"


def test_truncated_download_is_resumed_with_range(host: FakeApi, tmp_path: Path) -> None:
    host.fault("file:clip.mp4", Fault("truncate", size=70_000))
    with client(host) as c:
        path = c.download(URL, tmp_path / "clip.mp4")
    assert path.read_bytes() == DATA
    assert host.ranges(URL) == [None, "bytes=70000-"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]


def test_truncated_download_restarts_when_the_server_ignores_range(host: FakeApi, tmp_path: Path) -> None:
    host.range_support = False
    host.fault("file:clip.mp4", Fault("truncate", size=70_000), Fault("truncate", size=120_000))
    with client(host) as c:
        path = c.download(URL, tmp_path / "clip.mp4")
    assert path.read_bytes() == DATA
    assert host.ranges(URL) == [None, "bytes=70000-", "bytes=120000-"]  # asked, got 200 each time


def test_no_file_under_the_final_name_until_complete(host: FakeApi, tmp_path: Path) -> None:
    release = threading.Event()
    host.fault("file:clip.mp4", Fault("stall", size=50_000, release=release))
    dest, part = tmp_path / "clip.mp4", tmp_path / "clip.mp4.part"
    with client(host) as c:
        worker = threading.Thread(target=c.download, args=(URL, dest))
        worker.start()
        deadline = time.monotonic() + 10
        while not (part.exists() and part.stat().st_size == 50_000) and time.monotonic() < deadline:
            time.sleep(0.005)
        assert part.read_bytes() == DATA[:50_000]
        assert not dest.exists()
        release.set()  # the connection now closes short of Content-Length
        worker.join(10)
    assert dest.read_bytes() == DATA and not part.exists()
    assert host.ranges(URL) == [None, "bytes=50000-"]


def test_an_existing_part_file_is_resumed(host: FakeApi, tmp_path: Path) -> None:
    (tmp_path / "clip.mp4.part").write_bytes(DATA[:123_456])
    (tmp_path / "clip.mp4.part.validator").write_text('"v1"')  # what the killed run's first answer said
    with client(host) as c:
        c.download(URL, tmp_path / "clip.mp4")
    assert (tmp_path / "clip.mp4").read_bytes() == DATA
    assert host.ranges(URL) == ["bytes=123456-"]


def test_a_complete_part_file_is_renamed_after_416(host: FakeApi, tmp_path: Path) -> None:
    (tmp_path / "clip.mp4.part").write_bytes(DATA)
    with client(host) as c:
        c.download(URL, tmp_path / "clip.mp4")
    assert (tmp_path / "clip.mp4").read_bytes() == DATA


def test_a_gone_output_raises_and_leaves_nothing(host: FakeApi, tmp_path: Path) -> None:
    with client(host) as c, pytest.raises(DownloadError, match="HTTP 404: output expired"):
        c.download(f"{API}/files/gone.mp4", tmp_path / "gone.mp4")
    assert list(tmp_path.iterdir()) == []


def test_endless_truncation_gives_up_and_keeps_the_part_for_a_re_run(host: FakeApi, tmp_path: Path) -> None:
    host.range_support = False
    host.fault("file:clip.mp4", *[Fault("truncate", size=1000)] * 4)
    with client(host, max_retries=2) as c, pytest.raises(DownloadError, match="re-run resumes it"):
        c.download(URL, tmp_path / "clip.mp4")
    assert not (tmp_path / "clip.mp4").exists()
    assert (tmp_path / "clip.mp4.part").stat().st_size == 1000


def test_5xx_on_download_is_retried(host: FakeApi, tmp_path: Path) -> None:
    host.fault("file:clip.mp4", Fault("status", code=503, headers={"Retry-After": "0"}))
    with client(host) as c:
        c.download(URL, tmp_path / "clip.mp4")
    assert (tmp_path / "clip.mp4").read_bytes() == DATA


def test_outputs_get_unique_sanitised_names(host: FakeApi, tmp_path: Path) -> None:
    host.files["..%252F..%252Fevil%20name.mp4"] = b"evil"
    (tmp_path / "clip.mp4").write_bytes(b"someone else's clip")
    job = Job("job-9", "done", "done", (URL, URL, f"{API}/files/..%252F..%252Fevil%20name.mp4"))
    with client(host) as c:
        paths = c.download_outputs(job, tmp_path)
    assert [p.name for p in paths[:2]] == ["clip-1.mp4", "clip-2.mp4"]
    assert paths[2].name.endswith("evil_name.mp4") and "/" not in paths[2].name  # decoded once, never a path
    assert all(p.parent == tmp_path for p in paths)
    assert (tmp_path / "clip.mp4").read_bytes() == b"someone else's clip"
    assert paths[0].read_bytes() == DATA


def test_the_key_is_not_sent_to_another_origin(host: FakeApi, tmp_path: Path) -> None:
    host.fault("file:clip.mp4", Fault("truncate", size=1000))
    with client(host) as c, Journal.in_dir(tmp_path) as journal:
        record = submit_and_collect(c, "video.generate", GEN, journal=journal, download_dir=tmp_path / "out")
        # same-origin redirect to the CDN: the API hop may see the key, the CDN hop must not
        c.download(f"{API}/redirect/clip.mp4", tmp_path / "redirected.mp4")
    cdn_seen = [r for r in host.requests if r.url.host == "cdn.test"]
    assert record.files[0].read_bytes() == DATA
    assert (tmp_path / "redirected.mp4").read_bytes() == DATA
    assert len(cdn_seen) == 3
    for seen in cdn_seen:
        assert "authorization" not in seen.headers and "x-api-key" not in seen.headers
        assert API_KEY not in repr(seen.headers.raw)
    assert host.seen(url=f"{API}/redirect/clip.mp4")[0].headers["authorization"] == f"Bearer {API_KEY}"


def test_same_origin_outputs_get_the_key(host: FakeApi, tmp_path: Path) -> None:
    with client(host, auth="x-api-key") as c:
        c.download(URL, tmp_path / "clip.mp4")
    assert host.seen(url=URL)[0].headers["x-api-key"] == API_KEY


def test_async_download_resumes_the_same_way(host: FakeApi, tmp_path: Path) -> None:
    host.fault("file:clip.mp4", Fault("truncate", size=70_000))

    async def go() -> Path:
        async with host.async_client(**options()) as c:
            return await c.download(URL, tmp_path / "clip.mp4")

    assert asyncio.run(go()).read_bytes() == DATA
    assert host.ranges(URL) == [None, "bytes=70000-"]


def test_download_progress_only_to_a_sink_and_only_when_asked(host: FakeApi, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    with client(host, progress=None) as c:  # no sink installed (the library alone): silent
        c.download(URL, tmp_path / "a.mp4")
    assert capsys.readouterr() == ("", "")
    updates: list[Update] = []
    with reporting(updates.append), client(host, progress=None) as c:
        c.download(URL, tmp_path / "b.mp4")
    with reporting(updates.append), client(host, progress=False) as c:
        c.download(URL, tmp_path / "c.mp4")
    assert capsys.readouterr() == ("", "")
    assert {u.task for u in updates} == {"b.mp4"}
    assert all(u.unit == "bytes" and u.total == len(DATA) for u in updates)
    assert [u.done for u in updates if u.state == "downloaded"] == [len(DATA)]
    assert [u.state for u in updates][-1] == "downloaded" and updates[-2].done == len(DATA)
