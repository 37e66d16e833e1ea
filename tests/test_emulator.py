"""The emulator's HTTP contract over a real loopback socket: auth, 400/401/402/404/409/413, idempotency,
lifecycle, staging and Range downloads, persistence across restarts, and every fault mode seen by httpx.
Plus the pure pieces: fault SPEC parsing, the stand-in price model, output timing and size rules.
"""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from ltxkit.emulator.faults import FaultBudget, parse_faults
from ltxkit.emulator.generate import plan_video, resolve_size
from ltxkit.emulator.pricing import price_usd
from ltxkit.emulator.server import EmulatorConfig, EmulatorHandle, run_in_thread
from ltxkit.errors import InputError

JOBS = "/api/v1/media/jobs"
KEY_A, KEY_B = "key-a-0123456789", "key-b-9876543210"
IMAGE: dict[str, Any] = {"task": "image.generate",
                         "input": {"prompt": "cinematic fox astronaut", "width": 64, "height": 64}}
IMAGE_PRICE = 0.03


def fast(**kw: Any) -> EmulatorConfig:
    base: dict[str, Any] = {"api_keys": [KEY_A, KEY_B], "queued_seconds": 0.02, "running_seconds": 0.02}
    return EmulatorConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorHandle]:
    with run_in_thread(fast(max_body_bytes=256 * 1024)) as handle:
        yield handle


def client(handle: EmulatorHandle, key: str = KEY_A) -> httpx.Client:
    # verify=False: plain http on loopback, and it spares loading the CA bundle (~60 ms per client).
    return httpx.Client(base_url=handle.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30,
                        verify=False)


def wait_job(c: httpx.Client, job_id: str, timeout: float = 30) -> tuple[dict[str, Any], list[str]]:
    """Poll until terminal; return the last answer and every distinct status seen, in order."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        answer = c.get(JOBS, params={"jobId": job_id}).json()
        if not seen or seen[-1] != answer["status"]:
            seen.append(answer["status"])
        if answer["status"] in ("completed", "failed"):
            return answer, seen
        assert time.monotonic() < deadline, f"job {job_id} stuck in {seen}"
        time.sleep(0.005)


def balance(c: httpx.Client) -> float:
    """The balance in dollars, in either money reading (cents by default, balance.usdCents)."""
    data = c.get("/api/v1/balance").json()
    return float(data["balanceUsd"]) if "balanceUsd" in data else float(data["balance"]["usdCents"]) / 100


def png_b64(rgb: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


# --- auth, health, balance ------------------------------------------------------------------------


def test_auth_both_header_styles_and_health_without_key(emu: EmulatorHandle) -> None:
    with httpx.Client(base_url=emu.base_url, verify=False) as anon:
        health = anon.get("/api/v1/health")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        missing = anon.get("/api/v1/balance")
        assert missing.status_code == 401
        assert missing.json() == {"error": "missing API key",
                                  "details": "send 'Authorization: Bearer <key>' or 'x-api-key: <key>'"}
        for headers in ({"Authorization": "Bearer nope"}, {"x-api-key": "nope"}, {"Authorization": "Basic " + KEY_A}):
            wrong = anon.get("/api/v1/balance", headers=headers)
            assert wrong.status_code == 401, headers
            assert wrong.json()["error"] in ("invalid API key", "missing API key")
            assert KEY_A not in wrong.text
        for headers in ({"Authorization": f"Bearer {KEY_A}"}, {"x-api-key": KEY_A},
                        {"authorization": f"bearer {KEY_B}"}):
            ok = anon.get("/api/v1/balance", headers=headers)
            assert ok.status_code == 200 and ok.json()["currency"] == "USD", headers
        assert anon.post(JOBS, json=IMAGE).status_code == 401


def test_unknown_routes_and_methods_are_json_errors(emu: EmulatorHandle) -> None:
    with client(emu) as c:
        assert c.get("/api/v1/nope").json() == {"error": "not found", "details": "GET /api/v1/nope"}
        r = c.delete(JOBS)
        assert r.status_code == 405 and r.json()["error"] == "method not allowed"
        assert c.get("/files/job_x/../emulator.sqlite3").status_code == 404
        assert c.get("/files/job_missing/video.mp4").json()["error"] == "file not found"


# --- validation -----------------------------------------------------------------------------------

URL = "https://cdn.example.com/input/frame.webp"
PNG = {"dataBase64": base64.b64encode(b"\x89PNG").decode(), "mimeType": "image/png"}


def vg(**fields: Any) -> dict[str, Any]:
    return {"task": "video.generate", "input": {"prompt": "slow push-in", **fields}}


@pytest.mark.parametrize(("body", "field", "words"), [
    (vg(durationFrames=250, sampledFps=25), "input.durationFrames", "249 or 257"),
    (vg(durationFrames=1, overlapFrameImageUrls=[URL] * 3), "input.durationFrames", "overlap"),
    (vg(durationFrames=257, durationSeconds=6), "input.durationSeconds", "not both"),
    (vg(durationSeconds=-1), "input.durationSeconds", "positive"),
    (vg(width=1280), "input.height", "together"),
    (vg(width=1000, height=1024), "input.width", "multiple of 32"),
    (vg(width=4096, height=2048), "input.width", "4 MP"),
    (vg(interpolationFps=20), "input.interpolationFps", "30..60"),
    (vg(referenceAudioUrl="https://cdn.example.com/a.opus"), "input.referenceAudioUrl", "start frame"),
    (vg(startFrameImage={"dataBase64": "abc", "mimeType": "image/gif"}), "input.startFrameImage", "mimeType"),
    (vg(startFrameImage={"dataBase64": "!!!", "mimeType": "image/png"}), "input.startFrameImage", "base64"),
    (vg(overlapFrameImageUrls=["not a url"]), "input.overlapFrameImageUrls[0]", "URL"),
    (vg(overlapFrameImageUrls=[URL], overlapFrameImages=[PNG]), "input.overlapFrameImages", "either"),
    (vg(sampledFps="fast"), "input.sampledFps", "fast"),
    (vg(seed="x"), "input.seed", "integer"),
    (vg(aspectRatio="wide"), "input.aspectRatio", "16:9"),
    ({"task": "video.generate", "input": {"durationFrames": 257}}, "input.prompt", "prompt"),
    ({"task": "video.combine", "input": {"videoUrls": ["https://x/a.mp4"]}}, "input.videoUrls", "two"),
    ({"task": "video.combine", "input": {"videoUrls": ["https://x/a.mp4", "https://x/b.mp4"], "overlapFrames": -1}},
     "input.overlapFrames", "≥ 0"),
    ({"task": "video.combine", "input": {"videoUrls": ["https://x/a.mp4", "https://x/b.mp4"], "frameRate": 0}},
     "input.frameRate", "positive"),
    ({"task": "image.generate", "input": {"prompt": "x", "width": 1000, "height": 1024}}, "input.width", "32"),
    ({"task": "image.generate", "input": {"prompt": "x", "outputFormat": "gif"}}, "input.outputFormat", "webp"),
    ({"task": "image.edit", "input": {"prompt": "noir"}}, "input.sourceImage", "sourceImage"),
    ({"task": "audio.speak", "input": {"text": "too short"}}, "input.text", "40..600"),
    ({"task": "ace.step.create", "input": {"durationSeconds": 300}}, "input.durationSeconds", "15..240"),
    ({"task": "moss.sound.effect", "input": {"prompt": "bang", "durationSeconds": 40}}, "input.durationSeconds",
     "1..30"),
    ({"task": "trellis.generate", "input": {}}, "input.sourceImage", "sourceImage"),
    ({"task": "video.upscale", "input": {}}, "task", "unknown task"),
    ({"input": {}}, "task", "unknown task"),
    ({"task": ["video.generate"], "input": {}}, "task", "unknown task"),
    ({"task": "video.generate", "input": [1]}, "input", "JSON object"),
])
def test_each_rule_is_a_400_naming_the_field(emu: EmulatorHandle, body: dict[str, Any], field: str,
                                             words: str) -> None:
    with client(emu) as c:
        before = balance(c)
        r = c.post(JOBS, json=body)
        assert r.status_code == 400
        answer = r.json()
        assert answer["error"] == "invalid input"
        matching = [d for d in answer["details"] if d["field"] == field]
        assert matching, answer
        assert words in matching[0]["message"], matching
        assert balance(c) == before


def test_malformed_json_and_wrong_shapes(emu: EmulatorHandle) -> None:
    with client(emu) as c:
        r = c.post(JOBS, content=b'{"task": "image.generate", ', headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and r.json()["error"] == "malformed JSON body"
        assert "line 1" in r.json()["details"]
        r = c.post(JOBS, content=b"[1, 2]")
        assert r.status_code == 400 and "JSON object" in r.json()["details"]
        r = c.post(JOBS, content=b"\xff\xfe")
        assert r.status_code == 400 and r.json()["error"] == "malformed JSON body"
        r = c.post(JOBS, json={**IMAGE, "idempotencyKey": 5})
        assert r.status_code == 400 and r.json()["error"] == "invalid idempotencyKey"
        # regression: absurd nesting raised RecursionError, answered as a plain-text 500 (and retried)
        r = c.post(JOBS, content=b"[" * 100_000 + b"]" * 100_000)
        assert r.status_code == 400 and r.json()["error"] == "malformed JSON body"
        assert c.get(JOBS).json() == {"error": "missing jobId", "details": "GET /api/v1/media/jobs?jobId=<id>"}


def test_413_for_declared_and_streamed_bodies(emu: EmulatorHandle) -> None:
    big = b'{"task": "image.generate", "input": {"prompt": "' + b"x" * (300 * 1024) + b'"}}'
    with client(emu) as c:
        before = balance(c)
        r = c.post(JOBS, content=big)
        assert r.status_code == 413
        assert r.json() == {"error": "request body too large", "details": "the limit is 262144 bytes"}
        r = c.post(JOBS, content=iter([big[:100_000], big[100_000:]]))  # chunked: no Content-Length
        assert "content-length" not in r.request.headers
        assert r.status_code == 413
        assert balance(c) == before


@pytest.mark.parametrize(("reading", "left", "details"), [
    ("cents", {"balanceCents": 2}, {"balanceCents": 2, "requiredCents": 3}),  # the default
    ("usd", {"balanceUsd": 0.02}, {"balanceUsd": 0.02, "requiredUsd": 0.03}),
])
def test_402_when_the_balance_is_too_low(reading: str, left: dict[str, float], details: dict[str, float]) -> None:
    with run_in_thread(fast(starting_balance=Decimal("0.05"), money_reading=reading)) as handle, \
            client(handle) as c:
        first = c.post(JOBS, json=IMAGE)
        assert first.status_code == 200 and first.json()["billing"].items() >= left.items()
        r = c.post(JOBS, json=IMAGE)
        assert r.status_code == 402
        assert r.json() == {"error": "insufficient balance", "details": details}
        assert balance(c) == 0.02
        with client(handle, KEY_B) as other:  # every key is its own account
            assert balance(other) == 0.05


def test_404_for_unknown_jobs_and_other_accounts_jobs(emu: EmulatorHandle) -> None:
    with client(emu) as a, client(emu, KEY_B) as b:
        r = a.get(JOBS, params={"jobId": "abc123"})
        assert r.status_code == 404 and r.json() == {"error": "job not found", "details": {"jobId": "abc123"}}
        job_id = a.post(JOBS, json=IMAGE).json()["jobId"]
        assert a.get(JOBS, params={"jobId": job_id}).status_code == 200
        assert b.get(JOBS, params={"jobId": job_id}).status_code == 404


# --- idempotency ----------------------------------------------------------------------------------


def test_idempotent_retries_return_one_job_charged_once(emu: EmulatorHandle) -> None:
    with client(emu) as c, client(emu, KEY_B) as other:
        before = balance(c)
        first = c.post(JOBS, json=IMAGE, headers={"X-Idempotency-Key": "job-001"}).json()
        assert first["idempotentReplay"] is False and first["idempotencyKey"] == "job-001"
        again = c.post(JOBS, json={**IMAGE, "idempotencyKey": "job-001"}, headers={"X-Idempotency-Key": "job-001"})
        assert again.status_code == 200
        assert again.json()["jobId"] == first["jobId"] and again.json()["idempotentReplay"] is True
        body_only = c.post(JOBS, json={**IMAGE, "idempotencyKey": "job-001"}).json()
        assert body_only["jobId"] == first["jobId"]
        assert balance(c) == pytest.approx(before - IMAGE_PRICE)

        changed = {**IMAGE, "input": {**IMAGE["input"], "prompt": "another fox"}}
        conflict = c.post(JOBS, json=changed, headers={"X-Idempotency-Key": "job-001"})
        assert conflict.status_code == 409
        assert conflict.json()["details"]["jobId"] == first["jobId"]
        mismatch = c.post(JOBS, json={**IMAGE, "idempotencyKey": "job-002"}, headers={"X-Idempotency-Key": "job-001"})
        assert mismatch.status_code == 400 and mismatch.json()["error"] == "conflicting idempotency keys"
        assert balance(c) == pytest.approx(before - IMAGE_PRICE)

        theirs = other.post(JOBS, json=IMAGE, headers={"X-Idempotency-Key": "job-001"}).json()
        assert theirs["jobId"] != first["jobId"] and theirs["idempotentReplay"] is False


# --- lifecycle, details, staging, downloads -------------------------------------------------------


def test_submit_answer_lifecycle_and_details(emu: EmulatorHandle) -> None:
    rgb = np.zeros((64, 96, 3), np.uint8)
    rgb[:, :, 1] = 200
    body = vg(startFrameImage={"dataBase64": png_b64(rgb), "mimeType": "image/png"}, durationSeconds=0.3,
              sampledFps=25, interpolationFps=0, aspectRatio="3:2", seed=3)
    with client(emu) as c:
        before = balance(c)
        submit = c.post(JOBS, json=body).json()
        assert submit["jobId"] == submit["externalJobId"] and submit["status"] == "queued"
        assert submit["billing"]["chargedCents"] == 1  # the emulator's default money reading: cents
        assert submit["billing"]["balanceCents"] == pytest.approx(before * 100 - 1)
        assert submit["estimatedDurationSeconds"] > 0.04
        eff = submit["effectiveInput"]
        staged = f"{emu.base_url}/files/{submit['jobId']}/input-startFrameImage.png"
        assert eff["startFrameImage"] == staged
        assert (eff["durationFrames"], eff["sampledFps"], eff["width"], eff["height"]) == (9, 25, 768, 512)
        assert submit["inputAdjustments"] == [
            "durationSeconds=0.3 -> durationFrames=9 (8n+1 at 25 fps)",
            "aspectRatio=3:2: width=768, height=512 (emulator default area)",
            f"input.startFrameImage: inline image/png staged at {staged}",
        ]
        assert c.get(staged).content == base64.b64decode(body["input"]["startFrameImage"]["dataBase64"])

        done, seen = wait_job(c, submit["jobId"])
        assert seen[-2:] == ["running", "completed"] and set(seen) <= {"queued", "running", "completed"}
        assert done["downloadableOutputUrls"] == [f"{emu.base_url}/files/{submit['jobId']}/video.mp4"]
        assert "upstreamResult" not in done
        detailed = c.get(JOBS, params={"jobId": submit["jobId"], "includeDetails": 1}).json()
        assert detailed["effectiveInput"] == eff and detailed["inputAdjustments"] == submit["inputAdjustments"]
        upstream = detailed["upstreamResult"]
        assert upstream["status"] == "completed" and upstream["outputs"][0]["frames"] == 9
        assert upstream["notes"] == ["input-startFrameImage.png: 96x64 resized to 768x512"]
        text = c.get(JOBS, params={"jobId": submit["jobId"], "includeDetails": 1}).text
        assert str(emu.data_dir) not in text and KEY_A not in text


def test_downloads_support_range_head_and_content_length(emu: EmulatorHandle) -> None:
    with client(emu) as c:
        job_id = c.post(JOBS, json=IMAGE).json()["jobId"]
        url = wait_job(c, job_id)[0]["downloadableOutputUrls"][0]
    with httpx.Client(verify=False) as anon:  # public, like a CDN link
        full = anon.get(url)
        assert full.headers["content-type"] == "image/webp"
        assert int(full.headers["content-length"]) == len(full.content) > 20
        part = anon.get(url, headers={"Range": "bytes=10-"})
        assert part.status_code == 206 and part.content == full.content[10:]
        assert part.headers["content-range"] == f"bytes 10-{len(full.content) - 1}/{len(full.content)}"
        head = anon.head(url)
        assert head.status_code == 200 and head.headers["content-length"] == str(len(full.content))
        with Image.open(io.BytesIO(full.content)) as img:
            assert img.size == (64, 64) and img.format == "WEBP"


def test_failed_input_fetch_fails_the_job_and_refunds(emu: EmulatorHandle) -> None:
    missing = f"{emu.base_url}/files/job_000/none.png"
    with client(emu) as c:
        before = balance(c)
        body = vg(startFrameImageUrl=missing, durationFrames=9, width=64, height=64)
        job_id = c.post(JOBS, json=body).json()["jobId"]
        done, _ = wait_job(c, job_id)
        assert done["status"] == "failed" and done["downloadableOutputUrls"] == []
        assert done["error"] == f"could not fetch input.startFrameImageUrl ({missing}): HTTP 404"
        assert done["billing"] == {"chargedCents": 1, "currency": "USD", "refunded": True}
        assert balance(c) == before


def test_restart_keeps_jobs_balance_and_idempotency_and_resumes_unfinished(tmp_path: Path) -> None:
    with run_in_thread(fast(data_dir=tmp_path)) as first, client(first) as c:
        done_id = c.post(JOBS, json=IMAGE, headers={"X-Idempotency-Key": "k"}).json()["jobId"]
        wait_job(c, done_id)
        left = balance(c)
    with run_in_thread(fast(data_dir=tmp_path, queued_seconds=60)) as second, client(second) as c:
        pending_id = c.post(JOBS, json=IMAGE).json()["jobId"]
        assert c.get(JOBS, params={"jobId": pending_id}).json()["status"] == "queued"
    with run_in_thread(fast(data_dir=tmp_path)) as third, client(third) as c:
        replay = c.post(JOBS, json=IMAGE, headers={"X-Idempotency-Key": "k"}).json()
        assert replay["jobId"] == done_id and replay["idempotentReplay"] is True
        old = c.get(JOBS, params={"jobId": done_id}).json()
        assert old["status"] == "completed"
        assert old["downloadableOutputUrls"][0].startswith(third.base_url)
        assert c.get(old["downloadableOutputUrls"][0]).status_code == 200
        assert wait_job(c, pending_id)[0]["status"] == "completed"
        assert balance(c) == pytest.approx(left - IMAGE_PRICE)


# --- faults at the socket level -------------------------------------------------------------------


def test_reset_429_503_in_order_then_success() -> None:
    with run_in_thread(fast(faults="reset=1,429=2,503=1,retry-after=0")) as handle, client(handle) as c:
        assert c.get("/api/v1/health").status_code == 200  # health is exempt
        with pytest.raises(httpx.ReadError, match="reset"):
            c.get("/api/v1/balance")
        statuses = [c.post(JOBS, json=IMAGE) for _ in range(4)]
        assert [r.status_code for r in statuses] == [429, 429, 503, 200]
        assert statuses[0].headers["retry-after"] == "0"
        assert statuses[0].json() == {"error": "rate limited", "details": "emulated fault 429; retry after 0 s"}
        assert statuses[2].json()["error"] == "service unavailable" and statuses[2].headers["retry-after"] == "0"
        assert balance(c) == pytest.approx(25 - IMAGE_PRICE)  # only the successful submit charged
        seen = [(r.method, r.path, r.status) for r in handle.requests()]
        assert seen[:6] == [("GET", "/api/v1/health", 200), ("GET", "/api/v1/balance", None)] + [
            ("POST", JOBS, status) for status in (429, 429, 503, 200)]


def test_drop_create_leaves_a_job_that_an_idempotent_retry_finds() -> None:
    with run_in_thread(fast(faults="drop-create=2")) as handle, client(handle) as c:
        headers = {"X-Idempotency-Key": "retry-me"}
        for _ in range(2):  # the creation and the first retry both lose their answer
            with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
                c.post(JOBS, json=IMAGE, headers=headers)
        answer = c.post(JOBS, json=IMAGE, headers=headers).json()
        assert answer["idempotentReplay"] is True
        assert [r.status for r in handle.requests()] == [None, None, 200]
        assert balance(c) == pytest.approx(25 - IMAGE_PRICE)
        assert wait_job(c, answer["jobId"])[0]["status"] == "completed"


def test_truncate_sends_content_length_then_closes_and_range_resumes() -> None:
    with run_in_thread(fast()) as handle, client(handle) as c:
        url = wait_job(c, c.post(JOBS, json=IMAGE).json()["jobId"])[0]["downloadableOutputUrls"][0]
        full = c.get(url).content
        got = bytearray()
        fault = {"X-Emulator-Faults": "truncate=1"}
        with pytest.raises(httpx.RemoteProtocolError, match="complete message body"), \
                c.stream("GET", url, headers=fault) as r:
            assert r.headers["content-length"] == str(len(full))
            for chunk in r.iter_raw():
                got += chunk
        assert 0 < len(got) == len(full) // 2 and bytes(got) == full[: len(got)]
        rest = c.get(url, headers={**fault, "Range": f"bytes={len(got)}-"})
        assert rest.status_code == 206 and bytes(got) + rest.content == full


def test_hold_create_keeps_the_answer_until_the_client_hangs_up() -> None:
    with run_in_thread(fast(faults="hold-create")) as handle, client(handle) as c:
        headers = {"X-Idempotency-Key": "held-1"}
        with pytest.raises(httpx.ReadTimeout):  # the job is made, the answer does not come
            c.post(JOBS, json=IMAGE, headers=headers, timeout=0.5)
        answer = c.post(JOBS, json=IMAGE, headers=headers).json()
        assert answer["idempotentReplay"] is True
        assert [(r.status, r.headers["x-idempotency-key"]) for r in handle.requests()] == [
            (None, "held-1"), (200, "held-1")]
        assert balance(c) == pytest.approx(25 - IMAGE_PRICE)


def test_stall_sends_half_then_nothing_until_the_client_hangs_up() -> None:
    with run_in_thread(fast()) as handle, client(handle) as c:
        url = wait_job(c, c.post(JOBS, json=IMAGE).json()["jobId"])[0]["downloadableOutputUrls"][0]
        full = c.get(url).content
        got = bytearray()
        with pytest.raises(httpx.ReadTimeout), c.stream("GET", url, headers={"X-Emulator-Faults": "stall"},
                                                         timeout=0.5) as r:
            assert r.headers["content-length"] == str(len(full))
            for chunk in r.iter_raw():
                got += chunk
        assert 0 < len(got) == len(full) // 2 and bytes(got) == full[: len(got)]
        assert c.get(url, headers={"Range": f"bytes={len(got)}-"}).content == full[len(got):]
        files = [r for r in handle.requests() if r.path.startswith("/files/")]
        assert [(r.query, r.headers.get("range")) for r in files] == [("", None), ("", None),
                                                                      ("", f"bytes={len(got)}-")]
        assert all("authorization" not in r.headers and "x-api-key" not in r.headers for r in handle.requests())
        polls = [r for r in handle.requests() if r.method == "GET" and r.path == JOBS]
        assert polls and all(r.query.startswith("jobId=job_") for r in polls)


def test_fail_job_and_odd_status_via_header_budget(emu: EmulatorHandle) -> None:
    with client(emu) as c:
        before = balance(c)
        failing = c.post(JOBS, json=IMAGE, headers={"X-Emulator-Faults": "fail-job"}).json()["jobId"]
        done, seen = wait_job(c, failing)
        assert seen[-1] == "failed" and done["error"].startswith("emulated failure (fault fail-job)")
        assert done["billing"]["refunded"] is True and balance(c) == before
        details = c.get(JOBS, params={"jobId": failing, "includeDetails": 1}).json()
        assert details["upstreamResult"]["status"] == "failed"
    # each phase lasts 0.3 s: a poll every 5 ms sees all four even when a loaded machine stalls it for 0.25 s
    # (queued for 0.02 s, a first poll that came 20 ms late missed "queued")
    with run_in_thread(fast(queued_seconds=0.3, running_seconds=0.3, faults="odd-status")) as slow, \
            client(slow) as c:
        done, seen = wait_job(c, c.post(JOBS, json=IMAGE).json()["jobId"])
        assert seen == ["queued", "rendering", "finalizing", "completed"]


def test_header_budgets_are_per_value_and_do_not_touch_other_requests(emu: EmulatorHandle) -> None:
    with client(emu) as c:
        fault = {"X-Emulator-Faults": "429=2,retry-after=0,tag=budget-test"}
        assert c.get("/api/v1/balance", headers=fault).status_code == 429
        assert c.get("/api/v1/balance").status_code == 200  # no header: the server budget (empty)
        assert c.get("/api/v1/balance", headers=fault).status_code == 429
        assert c.get("/api/v1/balance", headers=fault).status_code == 200  # exactly two, then success
        fresh = {"X-Emulator-Faults": "429=2,retry-after=0,tag=budget-test-2"}
        assert c.get("/api/v1/balance", headers=fresh).status_code == 429
        bad = c.get("/api/v1/balance", headers={"X-Emulator-Faults": "explode=1"})
        assert bad.status_code == 400 and "unknown fault 'explode'" in bad.json()["details"]


# --- pure parts -----------------------------------------------------------------------------------


def test_fault_spec_parsing_and_counting() -> None:
    plan = parse_faults(" drop-create=1, 429=2 ,503=*,odd-status,retry-after=5,tag=x ")
    assert plan.counts == {"drop-create": 1, "429": 2, "503": None, "odd-status": 1} and plan.retry_after == 5
    budget = FaultBudget(plan)
    assert [budget.take("429") for _ in range(3)] == [True, True, False]
    assert all(budget.take("503") for _ in range(50)) and not budget.take("reset")
    assert parse_faults("").counts == {} and parse_faults(None).retry_after == 1
    for bad in ("explode", "429=0", "429=-1", "429=x", "retry-after=soon"):
        with pytest.raises(InputError, match="faults:"):
            parse_faults(bad)


def test_price_model() -> None:
    ext = {"prompt": "p", "durationFrames": 257, "width": 1280, "height": 1280, "referenceAudioUrl": "https://a"}
    assert price_usd("video.generate", ext) == Decimal("0.61")  # 0.0012 × 257 × 1.6384 × 1.2 = 0.6063 → up
    assert price_usd("video.generate", {**ext, "extremeQuality": True}) == Decimal("0.91")
    plain = {"prompt": "p", "durationFrames": 177, "width": 1920, "height": 1088}
    assert price_usd("video.generate", plain) == Decimal("0.45")  # 0.4437… → 0.45
    assert price_usd("video.generate", {**plain, "durationFrames": 9, "width": 64, "height": 64}) == Decimal("0.01")
    assert price_usd("video.combine", {"videoUrls": ["a", "b"]}) == Decimal("0.01")
    assert price_usd("video.combine", {"videoUrls": ["a", "b", "c"]}) == Decimal("0.015")
    assert price_usd("ace.step.create", {"durationSeconds": 108, "quality": "192k"}) == Decimal("0.165888")
    assert price_usd("ace.step.create", {"durationSeconds": 15}) == Decimal("0.05")
    assert price_usd("moss.sound.effect", {"durationSeconds": 2, "maxNewTokens": 1024}) == Decimal("0.016192")
    assert price_usd("audio.speak", {"text": "x" * 45}) == Decimal("0.01")  # 3 s
    assert price_usd("audio.speak", {"text": "x" * 150}) == Decimal("0.03")  # 10 s
    assert price_usd("audio.speak", {"text": "x" * 151}) == Decimal("0.04")
    assert price_usd("audio.annotation.reference", {}) == Decimal("0.05")  # default 120 s band
    assert price_usd("audio.annotation.reference", {"transcript": "x" * 900}) == Decimal("0.03")
    assert price_usd("image.generate", {"highDetail": True}) == Decimal("0.045")


def test_output_timing_and_size_rules() -> None:
    base = {"prompt": "p", "width": 64, "height": 64}
    interp = {**base, "durationFrames": 257, "sampledFps": 25, "interpolationFps": 60}
    # fill-between by default: 256 x 2.4 = 614.4 frames after frame 0 → 615; keeping the duration 616.8 → 617
    assert [plan_video(interp, c).output_frames for c in ("2F-1", "2F", "2F+1")] == [615, 617, 618]
    assert plan_video(interp).output_fps == Fraction(60) and plan_video(interp).output_frames == 615
    exact = plan_video({**base, "durationFrames": 25, "sampledFps": 25, "interpolationFps": 60}, "2F")
    assert (exact.output_frames, exact.duration, exact.audio_samples) == (60, Fraction(1), 48000)
    at_2x = {**base, "durationFrames": 57, "sampledFps": 30, "interpolationFps": 60}
    assert [plan_video(at_2x, c).output_frames for c in ("2F-1", "2F", "2F+1")] == [113, 114, 115]
    off = plan_video({**base, "durationFrames": 177, "sampledFps": "30000/1001", "interpolationFps": 0})
    assert (off.output_frames, off.output_fps) == (177, Fraction(30000, 1001))
    assert resolve_size({}) == (768, 512, "no width/height: using 768x512 (emulator default)")
    assert resolve_size({"aspectRatio": "16:9"})[:2] == (832, 480)
    assert resolve_size({"aspectRatio": "9:16", "width": 64, "height": 128}) == (64, 128, None)
