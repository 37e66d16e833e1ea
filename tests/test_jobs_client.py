"""Jobs client against a scripted API (:mod:`fake_api` over ``httpx.MockTransport``): idempotent retries,
typed errors, polling, validation, and the sync and async faces giving the same results."""

from __future__ import annotations

import asyncio
import email.utils
import json
import math
import time
from pathlib import Path
from typing import Any

import pytest
from fake_api import API, API_KEY, FakeApi, Fault, unreachable_url

from ltxkit.api_schema import SchemaError
from ltxkit.errors import (
    ApiConnectionError,
    AuthError,
    BadRequestError,
    InputError,
    JobFailedError,
    JobTimeoutError,
    NotFoundError,
    PaymentRequiredError,
    ServerError,
)
from ltxkit.jobs import (
    Client,
    JobRequest,
    Journal,
    VideoCombine,
    VideoGenerate,
    asubmit_and_collect,
    submit_and_collect,
)

GEN = {"prompt": "a slow push-in on a lighthouse", "durationFrames": 49, "width": 256, "height": 256}


@pytest.fixture
def server() -> FakeApi:
    return FakeApi()


def client_options(**overrides: Any) -> dict[str, Any]:
    """Client keyword options for a test: the fake API, its key, and tiny retry/poll delays."""
    return {"base_url": API, "api_key": API_KEY, "timeout": 5.0, "max_retries": 4, "retry_base_delay": 0.001,
            "retry_max_delay": 0.01, "poll_interval": 0.001, "poll_max_interval": 0.005, "wait_timeout": 20.0,
            "progress": False, **overrides}


def client(server: FakeApi, **overrides: Any) -> Client:
    return server.client(**client_options(**overrides))


def posts(server: FakeApi) -> list[Any]:
    return server.seen("POST", "/api/v1/media/jobs")


# ---- idempotent create ----------------------------------------------------------------------------------


def test_dropped_create_answer_is_retried_with_the_same_key_and_one_job_exists(server: FakeApi) -> None:
    server.fault("create", Fault("drop"))  # the server records the job, then closes without an answer
    with client(server) as c:
        job = c.submit("video.generate", GEN)
    key = JobRequest.build("video.generate", GEN).key
    assert job.id == "job-1"
    assert dict(server.creates) == {key: 1}
    assert len(server.jobs) == 1
    sent = posts(server)
    assert len(sent) == 2
    assert [s.headers["x-idempotency-key"] for s in sent] == [key, key]
    assert [json.loads(s.body)["idempotencyKey"] for s in sent] == [key, key]
    assert sent[0].body == sent[1].body  # byte-identical request on retry


def test_create_answer_slower_than_the_read_timeout_is_retried_with_the_same_key(server: FakeApi) -> None:
    server.fault("create", Fault("timeout"))
    with client(server, timeout=0.4) as c:
        job = c.submit("video.generate", GEN, key="my-key-001")
    assert job.id == "job-1"
    assert dict(server.creates) == {"my-key-001": 1}
    assert server.posts["my-key-001"] == 2


def test_re_running_the_same_request_derives_the_same_key(server: FakeApi) -> None:
    reordered = dict(reversed(list(GEN.items())))
    with client(server) as c:
        first, second = c.submit("video.generate", GEN), c.submit("video.generate", reordered)
    assert first.id == second.id
    assert len(server.creates) == 1
    assert JobRequest.build("video.generate", GEN).key.startswith("ltxkit-")


# ---- retry policy -----------------------------------------------------------------------------------------


def test_429_retry_after_seconds_is_honoured(server: FakeApi) -> None:
    server.fault("create", Fault("status", 429, {"error": "slow down"}, {"Retry-After": "0.3"}))
    with client(server) as c:
        c.submit("video.generate", GEN)
    first, second = posts(server)
    assert second.at - first.at >= 0.3
    assert len(server.jobs) == 1


def test_429_retry_after_http_date_is_honoured(server: FakeApi) -> None:
    target = math.floor(time.time()) + 2  # HTTP-dates have whole seconds
    server.fault("create", Fault("status", 429, {"error": "slow down"},
                                 {"Retry-After": email.utils.formatdate(target, usegmt=True)}))
    with client(server) as c:
        c.submit("video.generate", GEN)
    assert posts(server)[1].at >= target - 0.01
    assert len(server.jobs) == 1


def test_503_three_times_then_success(server: FakeApi) -> None:
    server.fault("create", *[Fault("status", 503, {"error": "warming up"})] * 3)
    with client(server) as c:
        job = c.submit("video.generate", GEN)
    assert job.id == "job-1"
    assert len(posts(server)) == 4
    assert len(server.jobs) == 1


def test_400_is_not_retried_and_carries_the_server_text(server: FakeApi) -> None:
    server.fault("create", Fault("status", 400, {"error": "prompt rejected by moderation",
                                                 "details": {"field": "prompt"}}))
    with client(server) as c, pytest.raises(BadRequestError) as info:
        c.submit("video.generate", GEN)
    assert len(posts(server)) == 1
    assert "prompt rejected by moderation" in str(info.value)
    assert '"field": "prompt"' in str(info.value)
    assert info.value.status_code == 400
    assert info.value.error == "prompt rejected by moderation"
    assert info.value.details == {"field": "prompt"}
    assert info.value.exit_code == 2


@pytest.mark.parametrize(("code", "error"), [(401, AuthError), (403, AuthError), (402, PaymentRequiredError),
                                             (404, NotFoundError)])
def test_other_4xx_are_typed_and_not_retried(server: FakeApi, code: int, error: type[Exception]) -> None:
    server.fault("create", Fault("status", code, {"error": f"scripted {code} text"}))
    with client(server) as c, pytest.raises(error, match=f"HTTP {code}: scripted {code} text"):
        c.submit("video.generate", GEN)
    assert len(posts(server)) == 1


def test_5xx_after_every_retry_raises_server_error(server: FakeApi) -> None:
    server.fault("create", *[Fault("status", 502, {"error": "bad gateway upstream"})] * 3)
    with client(server, max_retries=2) as c, pytest.raises(ServerError, match="bad gateway upstream"):
        c.submit("video.generate", GEN)
    assert len(posts(server)) == 3


def test_unreachable_server_raises_connection_error_after_retries() -> None:
    with Client(base_url=unreachable_url(), api_key=API_KEY, max_retries=2, retry_base_delay=0.001) as c, \
            pytest.raises(ApiConnectionError, match="after 3 tries") as info:
        c.status("job-1")
    assert API_KEY not in str(info.value) and API_KEY not in repr(info.value)


def test_wrong_key_is_auth_error_without_the_key_in_the_message(server: FakeApi) -> None:
    with client(server, api_key="sk-wrong-" + API_KEY[::-1]) as c, pytest.raises(AuthError) as info:
        c.balance()
    assert "invalid API key" in str(info.value)
    assert API_KEY[::-1] not in str(info.value)


def test_x_api_key_auth_style(server: FakeApi) -> None:
    with client(server, auth="x-api-key") as c:
        assert c.balance() == {"balanceUsd": "12.34", "currency": "USD"}
    seen = server.seen("GET", "/api/v1/balance")[0]
    assert seen.headers["x-api-key"] == API_KEY and "authorization" not in seen.headers


def test_health_needs_no_key(server: FakeApi) -> None:
    with server.client(base_url=API, api_key=None) as c:
        assert c.health() == {"status": "ok"}
    assert "authorization" not in server.seen("GET", "/api/v1/health")[0].headers


def test_missing_key_is_an_input_error(server: FakeApi) -> None:
    with server.client(base_url=API, api_key=None) as c, pytest.raises(InputError, match="LTXKIT_API_KEY"):
        c.balance()
    assert server.requests == []


# ---- polling ----------------------------------------------------------------------------------------------


def test_unknown_status_words_keep_polling_until_done(server: FakeApi) -> None:
    server.next_statuses = ["queued", "warming_up", "Rendering Frames", "uploading", "SUCCEEDED"]
    server.next_outputs = []
    seen: list[str | None] = []
    with client(server) as c:
        job = c.submit("video.generate", GEN)
        done = c.wait(job.id, on_update=lambda j: seen.append(j.raw_status))
    assert (done.state, done.raw_status) == ("done", "SUCCEEDED")
    assert seen == ["queued", "warming_up", "Rendering Frames", "uploading", "SUCCEEDED"]


@pytest.mark.parametrize("word", ["failed", "error", "cancelled", "canceled", "blocked"])
def test_failed_status_raises_job_failed_with_the_server_text(server: FakeApi, word: str) -> None:
    server.next_statuses = ["queued", word]
    server.next_error = "frame zero is not an image"
    with client(server) as c:
        job = c.submit("video.generate", GEN)
        with pytest.raises(JobFailedError, match="frame zero is not an image") as info:
            c.wait(job.id)
    assert info.value.error == "frame zero is not an image"


def test_total_wait_limit_raises_job_timeout(server: FakeApi) -> None:
    server.next_statuses = ["queued"]
    with client(server, wait_timeout=0.05) as c:
        job = c.submit("video.generate", GEN)
        with pytest.raises(JobTimeoutError, match="ltxkit jobs wait job-1"):
            c.wait(job.id)


def test_details_asks_for_include_details(server: FakeApi) -> None:
    with client(server) as c:
        job = c.submit("video.generate", GEN)
        detailed = c.status(job.id, details=True)
    assert server.seen("GET", "/api/v1/media/jobs")[-1].query == f"jobId={job.id}&includeDetails=1"
    assert detailed.payload["details"]["upstream"] == "sanitized"


def test_journaled_failure_is_recorded_and_not_resubmitted(server: FakeApi, tmp_path: Path) -> None:
    server.next_statuses = ["queued", "blocked"]
    server.next_error = "content policy"
    with client(server) as c, Journal.in_dir(tmp_path) as journal:
        with pytest.raises(JobFailedError, match="content policy"):
            submit_and_collect(c, "video.generate", GEN, journal=journal)
        record = journal.records()[0]
        assert (record.state, record.raw_status, record.error) == ("failed", "blocked", "content policy")
        with pytest.raises(JobFailedError, match="new --idempotency-key"):
            submit_and_collect(c, "video.generate", GEN, journal=journal)
    assert len(posts(server)) == 1


# ---- local validation: nothing is sent --------------------------------------------------------------------

BAD_INPUTS = [
    ("video.generate", {"durationFrames": 49}, "input.prompt"),
    ("video.generate", {**GEN, "height": None}, "input.height"),
    ("video.generate", {**GEN, "width": 1000}, "input.width"),
    ("video.generate", {**GEN, "width": 4096, "height": 4096}, "input.width"),
    ("video.generate", {**GEN, "durationFrames": 250}, "input.durationFrames"),
    ("video.generate", {**GEN, "interpolationFps": 20}, "input.interpolationFps"),
    ("video.generate", {**GEN, "referenceAudioUrl": "https://cdn.example/a.opus"}, "input.referenceAudioUrl"),
    ("video.generate", {**GEN, "overlapFrameImageUrls": ["frame.webp"]}, "input.overlapFrameImageUrls[0]"),
    ("video.generate", {**GEN, "startFrameImage": {"dataBase64": "aGk=", "mimeType": "image/gif"}},
     "input.startFrameImage"),
    ("video.generate", {**GEN, "startFrameImage": {"dataBase64": "!!not base64!!", "mimeType": "image/png"}},
     "input.startFrameImage"),
    ("video.generate", {**GEN, "seed": "42"}, "input.seed"),
    ("video.combine", {"videoUrls": ["https://cdn.example/a.mp4"]}, "input.videoUrls"),
    ("video.combine", {"videoUrls": ["https://cdn.example/a.mp4", "b.mp4"]}, "input.videoUrls[1]"),
    ("video.combine", {"videoUrls": ["https://x/a.mp4", "https://x/b.mp4"], "overlapFrames": -1},
     "input.overlapFrames"),
    ("video.combine", {"videoUrls": ["https://x/a.mp4", "https://x/b.mp4"], "frameRate": 0}, "input.frameRate"),
    ("video.upscale", {"prompt": "x"}, "unknown task"),
]


@pytest.mark.parametrize(("task", "inp", "named"), BAD_INPUTS)
def test_bad_input_is_refused_before_any_request(server: FakeApi, tmp_path: Path, task: str,
                                                 inp: dict[str, Any], named: str) -> None:
    with client(server) as c:
        with pytest.raises(SchemaError, match=named.replace("[", r"\[").replace("]", r"\]")):
            c.submit(task, inp)
        with Journal.in_dir(tmp_path) as journal, pytest.raises(InputError):
            submit_and_collect(c, task, inp, journal=journal, download_dir=tmp_path / "out")
    with pytest.raises(InputError):
        asyncio.run(_async_submit(server, task, inp))
    assert server.requests == []
    assert not (tmp_path / "out").exists()


async def _async_submit(server: FakeApi, task: str, inp: dict[str, Any]) -> None:
    async with server.async_client(**client_options()) as c:
        await c.submit(task, inp)


def test_models_refuse_bad_local_files_before_any_request(server: FakeApi, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not an image")
    with client(server) as c:
        with pytest.raises(InputError, match=r"startFrameImage: .*missing\.png is not a file"):
            c.submit(VideoGenerate("p", start_frame=tmp_path / "missing.png"))
        with pytest.raises(InputError, match=r"finalFrameImage: .*notes\.txt is not a supported image"):
            c.submit(VideoGenerate("p", start_frame="https://x/a.png", final_frame=tmp_path / "notes.txt"))
        with pytest.raises(InputError, match=r"referenceAudio: .*notes\.txt is not a supported audio"):
            c.submit(VideoGenerate("p", start_frame="https://x/a.png", reference_audio=tmp_path / "notes.txt"))
        with pytest.raises(InputError, match=r"overlapFrameImages: .* has no frames\.json"):
            c.submit(VideoGenerate("p", overlap_images=tmp_path))
        with pytest.raises(SchemaError, match=r"input\.videoUrls"):
            c.submit(VideoCombine(["https://x/a.mp4"]))
    assert server.requests == []


# ---- sync and async faces ---------------------------------------------------------------------------------


def _script(server: FakeApi) -> None:
    server.next_statuses = ["queued", "warming", "completed"]
    server.next_outputs = ["clip.mp4", "preview.webp"]
    server.files["clip.mp4"] = bytes(range(256)) * 300
    server.files["preview.webp"] = b"RIFF\x00\x00\x00\x00WEBP" + b"\x01" * 5000
    server.fault("create", Fault("drop"), Fault("status", 503))
    server.fault("status", Fault("status", 500))
    server.fault("file:clip.mp4", Fault("truncate", size=10_000))


def _comparable(record: dict[str, Any], root: Path) -> dict[str, Any]:
    out = {k: v for k, v in record.items() if not k.endswith("At") and k not in ("outputs",)}
    out["files"] = [(Path(f).relative_to(root).as_posix(), Path(f).read_bytes()) for f in record["files"]]
    return out


def test_sync_and_async_faces_give_the_same_results(tmp_path: Path) -> None:
    results = []
    for face in ("sync", "async"):
        root = tmp_path / face
        server = FakeApi()
        _script(server)
        with Journal.in_dir(root) as journal:
            if face == "sync":
                with client(server) as c:
                    record = submit_and_collect(c, "video.generate", GEN, journal=journal, download_dir=root / "out")
            else:
                async def go(server: FakeApi = server, journal: Journal = journal, root: Path = root) -> Any:
                    async with server.async_client(**client_options()) as c:
                        return await asubmit_and_collect(c, "video.generate", GEN, journal=journal,
                                                         download_dir=root / "out")
                record = asyncio.run(go())
        results.append((_comparable(record.to_json(), root),
                        [(s.method, s.path, s.headers.get("range")) for s in server.requests], dict(server.creates)))
    assert results[0] == results[1]
    assert results[0][0]["status"] == "done"
    assert [f for f, _ in results[0][0]["files"]] == ["out/clip.mp4", "out/preview.webp"]


def test_run_many_is_bounded_and_creates_each_job_once(server: FakeApi, tmp_path: Path) -> None:
    server.latency = 0.02
    server.next_statuses = ["queued", "done"]
    requests = [JobRequest.build("video.generate", {**GEN, "seed": i}) for i in range(12)]
    server.fault("create", Fault("drop"), Fault("drop"))

    async def go() -> list[Any]:
        async with server.async_client(**client_options(concurrency=3)) as c:
            with Journal.in_dir(tmp_path) as journal:
                return await c.run_many(requests, journal=journal)

    records = asyncio.run(go())
    assert [r.state for r in records] == ["done"] * 12
    assert len({r.job_id for r in records}) == 12
    assert sorted(server.creates.values()) == [1] * 12
    assert 2 <= server.max_inflight <= 3


def test_wait_many_returns_each_result_in_order(server: FakeApi) -> None:
    with client(server) as c:
        ids = [c.submit("video.generate", {**GEN, "seed": i}).id for i in range(3)]
    server.jobs[ids[1]].statuses = ["queued", "failed"]
    server.jobs[ids[1]].error = "upstream crashed"

    async def go() -> list[Any]:
        async with server.async_client(**client_options()) as c:
            return await c.wait_many([*ids, "job-404"])

    done, failed, done2, missing = asyncio.run(go())
    assert (done.state, done2.state) == ("done", "done")
    assert isinstance(failed, JobFailedError) and "upstream crashed" in str(failed)
    assert isinstance(missing, NotFoundError)


def test_key_echoed_by_the_server_is_scrubbed_before_shortening(server: FakeApi) -> None:
    # regression: the text was shortened to 500 characters first, so a key straddling the cut leaked in part
    echo = "x" * 458 + f"Authorization: Bearer {API_KEY}"  # in the details JSON the key starts at 490
    server.fault("create", Fault("status", 400, {"error": echo, "details": {"echo": echo, "n": [API_KEY]}}))
    with client(server) as c, pytest.raises(BadRequestError) as info:
        c.submit("video.generate", GEN)
    for text in (str(info.value), repr(info.value.details), info.value.error or ""):
        assert API_KEY not in text and API_KEY[:8] not in text


def test_failed_job_error_is_scrubbed_in_the_journal(server: FakeApi, tmp_path: Path) -> None:
    # regression: a failed job's error text went to the journal (and the re-run's message) unscrubbed
    server.next_statuses = ["queued", "failed"]
    server.next_error = f"upstream said: bad token {API_KEY}"
    with client(server) as c, Journal.in_dir(tmp_path) as journal:
        for _ in range(2):  # the second run raises the journaled failure
            with pytest.raises(JobFailedError) as info:
                submit_and_collect(c, "video.generate", GEN, journal=journal)
            assert API_KEY not in str(info.value) and "bad token ***" in str(info.value)
    assert API_KEY.encode() not in (tmp_path / "ltxkit-jobs.sqlite").read_bytes()
