"""Every provider against the emulator on a real loopback socket: each "yes" of the capability table is a
request the emulator accepts (submit → poll → download, first frames checked by their burned-in codes),
and each seed's documented errors and rate limits go through the one shared retry policy — retried
where the seed says so (after its Retry-After / retry_after), a typed error where not."""

from __future__ import annotations

import asyncio
import dataclasses
import http.server
import json
import threading
import time
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar

import av
import httpx
import numpy as np
import pytest
import soundfile
from click.testing import CliRunner
from PIL import Image
from web import WEB

from ltxkit.cli import main
from ltxkit.emulator.providers import UNSAFE_OUTPUT, UNSAFE_PROMPT, EmulatedProviders
from ltxkit.emulator.providers.apex import ApexLimits
from ltxkit.emulator.providers.common import RateLimiter, Window
from ltxkit.emulator.providers.kubeez import KubeezLimits
from ltxkit.emulator.providers.zooop import ZooopLimits
from ltxkit.emulator.providers.zsky import ZSkyLimits
from ltxkit.emulator.server import EmulatorConfig, EmulatorHandle, run_in_thread
from ltxkit.errors import (
    ApiConnectionError,
    AuthError,
    BadRequestError,
    DownloadError,
    InputError,
    JobFailedError,
    NotFoundError,
    PaymentRequiredError,
    RateLimitedError,
    ServerError,
)
from ltxkit.frames.probe import probe
from ltxkit.frames.synth import read_frame_code, render_frame
from ltxkit.jobs import AsyncClient, Client, Journal
from ltxkit.jobs.models import JobRequest
from ltxkit.jobs.providers import (
    TABLE,
    ExtendRequest,
    asubmit_extend,
    build_request,
    combine_request,
    get_provider,
    prepare_extend,
    prepare_submission,
    purge,
    quote,
    submit_extend,
    upload,
)
from ltxkit.jobs.providers.capabilities import CAPABILITY_NAMES

KEY = "k-providers-0123456789"
PROMPT = "the lighthouse beam keeps sweeping"
WIDE = Window(100_000, 60.0)


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorHandle]:
    with run_in_thread(EmulatorConfig(api_keys=[KEY], queued_seconds=0.02, running_seconds=0.02)) as handle:
        yield handle


@pytest.fixture
def apis(emu: EmulatorHandle) -> EmulatedProviders:
    """The emulated providers with windows wide enough for fast polling; a test narrows what it checks."""
    apis = emu.emulator.providers
    apis.zsky.limits = ZSkyLimits(burst=WIDE)
    apis.apex.limits = ApexLimits(generation=WIDE, reads=WIDE, webhook_delays=(0.05, 0.05, 0.05))
    apis.zooop.limits = ZooopLimits(tasks=WIDE, quote=WIDE, uploads=WIDE, upload_polls=WIDE, me=WIDE)
    apis.kubeez.limits = KubeezLimits(generate=WIDE, uploads=WIDE, reads=WIDE)
    for api in (apis.zsky, apis.apex, apis.zooop, apis.kubeez):
        api.rate = RateLimiter()
    return apis


def base(emu: EmulatorHandle, name: str) -> str:
    return emu.base_url + ("" if name == "media-jobs" else f"/{name}")


def client(emu: EmulatorHandle, name: str, **overrides: Any) -> Client:
    options: dict[str, Any] = {
        "base_url": base(emu, name), "api_key": KEY, "timeout": 30.0, "max_retries": 4, "retry_base_delay": 0.001,
        "retry_max_delay": 0.01, "poll_interval": 0.005, "poll_max_interval": 0.02, "wait_timeout": 60.0,
        "progress": False}
    options.update(overrides)
    provider = get_provider(name)
    if provider.request_window is not None:  # paced to the emulated windows (`apis`), not to ZSky's real minute
        provider = dataclasses.replace(provider, request_window=(WIDE.count, WIDE.seconds))
    return Client(provider=provider, **options)


def faulty(spec: str) -> httpx.Client:
    """An httpx client sending ``X-Emulator-Faults`` (its own fault budget per distinct value)."""
    return httpx.Client(headers={"X-Emulator-Faults": spec}, timeout=30.0)


def posts(emu: EmulatorHandle, path: str) -> int:
    return sum(1 for r in emu.requests() if r.method == "POST" and r.path == path)


def coded_frames(directory: Path, first: int, count: int, size: tuple[int, int] = (480, 480)) -> list[Path]:
    """PNG frames whose burned-in codes are first, first+1, …: the emulator continues the numbering."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for code in range(first, first + count):
        path = directory / f"frame-{code}.png"
        Image.fromarray(render_frame(code, *size)).save(path)
        paths.append(path)
    return paths


def codes(video: Path, count: int) -> list[int]:
    with av.open(str(video)) as container:
        frames = container.decode(video=0)
        return [read_frame_code(next(frames).to_ndarray(format="rgb24")) for _ in range(count)]


def tone(path: Path, seconds: float = 1.5) -> Path:
    t = np.arange(int(48000 * seconds)) / 48000
    soundfile.write(path, np.stack([np.sin(2 * np.pi * 330 * t)] * 2, axis=1) * 0.25, 48000)
    return path


def extend(emu: EmulatorHandle, name: str, request: ExtendRequest, tmp_path: Path) -> tuple[Any, Path]:
    with client(emu, name) as c, Journal.in_dir(tmp_path / f"state-{name}") as journal:
        record = submit_extend(c, request, journal=journal, download_dir=tmp_path / f"out-{name}")
    assert record.state == "done", record
    (video,) = record.files
    return record, video


def audio_source(emu: EmulatorHandle, job_id: str) -> str:
    """What the emulator's generator used as soundtrack (its media-jobs details see every job)."""
    answer = WEB.get(f"{emu.base_url}/api/v1/media/jobs", params={"jobId": job_id, "includeDetails": "1"},
                       headers={"x-api-key": KEY}).json()
    return str(answer["upstreamResult"]["outputs"][0]["audio"]["source"])


# ---- every "yes" of the capability table is accepted --------------------------------------------------------


def media_overlap(emu: EmulatorHandle, tmp_path: Path) -> None:
    frames = coded_frames(tmp_path / "tail", 40, 3, (256, 256))
    _, video = extend(emu, "media-jobs", ExtendRequest(PROMPT, overlap_images=frames, frames=25, fps=24,
                                                       size=(256, 256), extra={"interpolationFps": 0}), tmp_path)
    info = probe(video)
    assert (info.frame_count, info.fps, info.width) == (25, Fraction(24), 256)
    assert codes(video, 5) == [40, 41, 42, 43, 44]


def media_last_frame(emu: EmulatorHandle, tmp_path: Path) -> None:
    (frame,) = coded_frames(tmp_path / "tail", 7, 1, (256, 256))
    _, video = extend(emu, "media-jobs", ExtendRequest(PROMPT, last_frame=frame, frames=17, fps=24,
                                                       size=(256, 256), extra={"interpolationFps": 0}), tmp_path)
    assert codes(video, 3) == [7, 8, 9]


def media_audio(emu: EmulatorHandle, tmp_path: Path) -> None:
    (frame,) = coded_frames(tmp_path / "tail", 1, 1, (256, 256))
    record, _ = extend(emu, "media-jobs", ExtendRequest(PROMPT, last_frame=frame, reference_audio=tone(
        tmp_path / "ref.wav"), frames=17, fps=24, size=(256, 256), extra={"interpolationFps": 0}), tmp_path)
    assert audio_source(emu, record.job_id) == "referenceAudio"


def media_combine(emu: EmulatorHandle, tmp_path: Path) -> None:
    urls = []
    with client(emu, "media-jobs") as c:
        for first in (0, 16):
            (frame,) = coded_frames(tmp_path / f"clip{first}", first, 1, (256, 256))
            job = c.submit(build_request(c, ExtendRequest(PROMPT, last_frame=frame, frames=17, fps=24,
                                                          size=(256, 256), extra={"interpolationFps": 0})))
            urls.append(c.wait(job.id).outputs[0])
        combined = c.wait(c.submit(combine_request("media-jobs", urls, overlap_at_clip_fps=1)).id)
        (video,) = c.download_outputs(combined, tmp_path / "combined")
    assert probe(video).frame_count == 17 + 16
    assert codes(video, 18)[15:] == [15, 16, 17]  # the second clip's repeated first frame was trimmed


def zooop_last_frame(emu: EmulatorHandle, tmp_path: Path) -> None:
    (frame,) = coded_frames(tmp_path / "tail", 100, 1)
    _, video = extend(emu, "zooop", ExtendRequest(PROMPT, last_frame=frame, frames=24, fps=24, size=(480, 480)),
                      tmp_path)
    info = probe(video)
    assert (info.frame_count, info.fps, info.width, info.height) == (25, Fraction(24), 480, 480)
    assert codes(video, 2) == [100, 101]


def zooop_server_extend(emu: EmulatorHandle, tmp_path: Path) -> None:
    source, first = extend(emu, "zooop", ExtendRequest(PROMPT, frames=24, fps=24, size=(480, 480)), tmp_path / "a")
    _, video = extend(emu, "zooop", ExtendRequest("and further", source_job_id=source.job_id, frames=24, fps=24),
                      tmp_path / "b")
    last = codes(first, 25)[-1]
    assert codes(video, 2) == [last, last + 1]  # starts from the source's last frame


def zooop_uploads(emu: EmulatorHandle, tmp_path: Path) -> None:
    (frame,) = coded_frames(tmp_path, 3, 1)
    with client(emu, "zooop") as c:
        url = upload(c, frame)
    assert WEB.get(url).content == frame.read_bytes()


def zooop_quote(emu: EmulatorHandle, tmp_path: Path) -> None:
    with client(emu, "zooop") as c:
        answer = quote(c, ExtendRequest(PROMPT, frames=72, fps=24, size=(480, 480)))
    assert (answer["credits"], answer["modelName"]) == (24, "LTX Video (emulated)")


def kubeez_last_frame(emu: EmulatorHandle, tmp_path: Path) -> None:
    (frame,) = coded_frames(tmp_path / "tail", 200, 1)
    _, video = extend(emu, "kubeez", ExtendRequest(PROMPT, last_frame=frame, frames=24, fps=24, size=(480, 480)),
                      tmp_path)
    assert codes(video, 2) == [200, 201]
    assert probe(video).frame_count == 25


def kubeez_server_extend(emu: EmulatorHandle, tmp_path: Path) -> None:
    (frame,) = coded_frames(tmp_path / "tail", 300, 1, (854, 480))
    source, first = extend(emu, "kubeez", ExtendRequest(PROMPT, last_frame=frame, frames=96, fps=24,
                                                        size=(854, 480)), tmp_path / "a")
    _, video = extend(emu, "kubeez", ExtendRequest("and further", source_job_id=source.job_id, model="lite"),
                      tmp_path / "b")
    assert codes(video, 2) == [300 + 96, 300 + 97]
    assert probe(video).frame_count == probe(first).frame_count == 97


def kubeez_audio(emu: EmulatorHandle, tmp_path: Path) -> None:
    (frame,) = coded_frames(tmp_path / "tail", 5, 1)
    record, _ = extend(emu, "kubeez", ExtendRequest(PROMPT, last_frame=frame, reference_audio=tone(tmp_path / "r.wav"),
                                                    frames=24, fps=24, size=(480, 480)), tmp_path)
    assert audio_source(emu, record.job_id) == "referenceAudio"


def kubeez_uploads(emu: EmulatorHandle, tmp_path: Path) -> None:
    audio = tone(tmp_path / "voice.wav", 0.2)
    with client(emu, "kubeez") as c:
        url = upload(c, audio, kind="audio")
    assert url.endswith(".wav") and WEB.get(url).content == audio.read_bytes()


YES_CASES: dict[tuple[str, str], Callable[[EmulatorHandle, Path], None]] = {
    ("media-jobs", "overlap_frames"): media_overlap, ("media-jobs", "last_frame"): media_last_frame,
    ("media-jobs", "reference_audio"): media_audio, ("media-jobs", "combine"): media_combine,
    ("zooop", "last_frame"): zooop_last_frame, ("zooop", "server_extend"): zooop_server_extend,
    ("zooop", "uploads"): zooop_uploads, ("zooop", "quote"): zooop_quote,
    ("kubeez", "last_frame"): kubeez_last_frame, ("kubeez", "server_extend"): kubeez_server_extend,
    ("kubeez", "reference_audio"): kubeez_audio, ("kubeez", "uploads"): kubeez_uploads,
}


def test_the_yes_cases_are_exactly_the_tables_yes_cells() -> None:
    assert set(YES_CASES) == {(n, c) for n, caps in TABLE.items() for c in CAPABILITY_NAMES if caps.supports(c)}


@pytest.mark.parametrize(("name", "capability"), list(YES_CASES))
def test_every_yes_in_the_table_is_accepted_by_the_emulator(emu: EmulatorHandle, apis: EmulatedProviders,
                                                            tmp_path: Path, name: str, capability: str) -> None:
    YES_CASES[(name, capability)](emu, tmp_path)


# ---- ZSky: X-API-Key, 429 (rate, concurrency: retried; allowance: final), 451, blocked, purge -----------------


def test_zsky_text_to_video_usage_and_purge(emu: EmulatorHandle, apis: EmulatedProviders, tmp_path: Path) -> None:
    record, video = extend(emu, "zsky", ExtendRequest(PROMPT, frames=9), tmp_path)
    assert (probe(video).frame_count, probe(video).fps) == (9, Fraction(24))
    with client(emu, "zsky", auth="bearer") as c:  # the configured style cannot override the API's header
        assert c.balance()["videos_used"] == apis.zsky.used[next(iter(apis.zsky.used))]["video"] >= 1
        purge(c, record.job_id)
        after = c.status(record.job_id)
        assert (after.state, after.outputs, after.payload["purged"]) == ("done", (), True)
        with pytest.raises(DownloadError, match="HTTP 404"):
            c.download(record.outputs[0], tmp_path / "again.mp4")
    answer = WEB.post(f"{base(emu, 'zsky')}/v1/videos/generate", json={"prompt": PROMPT},
                        headers={"Authorization": f"Bearer {KEY}"})
    assert (answer.status_code, answer.json()) == (401, {"error": "missing or invalid API key (ZSky takes X-API-Key, "
                                                                  "not Authorization)"})


def test_zsky_safety_refusal_451_is_final(emu: EmulatorHandle, apis: EmulatedProviders) -> None:
    before = posts(emu, "/zsky/v1/videos/generate")
    with client(emu, "zsky") as c, pytest.raises(BadRequestError, match="HTTP 451: Generation blocked") as info:
        c.submit(build_request(c, ExtendRequest(f"{UNSAFE_PROMPT} {PROMPT}", frames=9)))
    assert posts(emu, "/zsky/v1/videos/generate") == before + 1
    assert info.value.exit_code == 2


def test_zsky_blocked_output_is_a_failed_job(emu: EmulatorHandle, apis: EmulatedProviders, tmp_path: Path) -> None:
    with client(emu, "zsky") as c:
        job = c.submit(build_request(c, ExtendRequest(f"{UNSAFE_OUTPUT} {PROMPT}", frames=9)))
        with pytest.raises(JobFailedError, match=f"job {job.id} blocked: Sorry — our safety check"):
            c.wait(job.id)


def test_zsky_concurrency_429_is_retried_until_a_slot_frees(emu: EmulatorHandle, apis: EmulatedProviders) -> None:
    apis.zsky.limits.concurrent_jobs = 1
    with client(emu, "zsky") as c, client(emu, "zsky", max_retries=0) as impatient, \
            client(emu, "zsky", max_retries=50, retry_base_delay=0.05, retry_max_delay=0.2) as patient:
        first = c.submit(build_request(c, ExtendRequest(PROMPT, frames=49)))  # ~0.5 s; seconds on a loaded machine
        with pytest.raises(RateLimitedError, match="concurrent job limit reached: 1 jobs per API key"):
            impatient.submit(build_request(c, ExtendRequest(PROMPT, frames=17)))
        before = posts(emu, "/zsky/v1/videos/generate")
        second = patient.submit(build_request(c, ExtendRequest(PROMPT, frames=17)))
        assert posts(emu, "/zsky/v1/videos/generate") - before >= 2  # refused while the first ran, then taken
        assert c.wait(first.id).state == c.wait(second.id).state == "done"


def test_zsky_spent_allowance_429_is_final(emu: EmulatorHandle, apis: EmulatedProviders) -> None:
    apis.zsky.limits.monthly_videos = 0
    before = posts(emu, "/zsky/v1/videos/generate")
    with client(emu, "zsky") as c, pytest.raises(PaymentRequiredError, match="monthly video allowance reached"):
        c.submit(build_request(c, ExtendRequest(PROMPT, frames=9)))
    assert posts(emu, "/zsky/v1/videos/generate") == before + 1


def test_zsky_burst_429_waits_its_retry_after(emu: EmulatorHandle, apis: EmulatedProviders) -> None:
    apis.zsky.limits.burst = Window(1, 0.4)
    with client(emu, "zsky") as c:
        c.submit(build_request(c, ExtendRequest(PROMPT, frames=9, seed=1)))
        started = time.monotonic()
        job = c.submit(build_request(c, ExtendRequest(PROMPT, frames=9, seed=2)))
        assert time.monotonic() - started >= 0.3
        assert c.wait(job.id).state == "done"


@pytest.mark.parametrize("queued", [True, False])
def test_zsky_503_on_a_create_is_not_sent_again(emu: EmulatorHandle, apis: EmulatedProviders, queued: bool) -> None:
    """ZSky's 503 is "queued — please retry" and ZSky cannot deduplicate: whether the video was queued (the
    emulator's default) or not, the create is sent once and the error says how to tell."""
    apis.zsky.limits.queued_on_503 = queued
    before, used = posts(emu, "/zsky/v1/videos/generate"), sum(c["video"] for c in apis.zsky.used.values())
    with client(emu, "zsky", http_client=faulty(f"503=1,retry-after=0,tag=zsky-{queued}")) as c, \
            pytest.raises(ServerError, match=r"HTTP 503: Workers unavailable; queued — please retry shortly; not "
                                             r"sent again: ZSky's 503 means 'queued — please retry', so the video "
                                             r"may be queued already; ZSky takes no idempotency key and has no job "
                                             r"list .* compare videos_used at /v1/usage") as info:
        c.submit(build_request(c, ExtendRequest(PROMPT, frames=9, seed=3)))
    assert info.value.exit_code == 1
    assert posts(emu, "/zsky/v1/videos/generate") == before + 1
    assert sum(c["video"] for c in apis.zsky.used.values()) == used + int(queued)


# ---- every provider: a job just created may not be visible yet (eventual consistency) ------------------------


def not_found_polls(emu: EmulatorHandle) -> int:
    return sum(1 for r in emu.requests() if r.method == "GET" and r.status == 404)


def lagging(name: str, words: str) -> ExtendRequest:
    if name == "media-jobs":
        return ExtendRequest(f"{PROMPT} {words}", frames=9, fps=24, size=(256, 256), extra={"interpolationFps": 0})
    return ExtendRequest(f"{PROMPT} {words}", frames=9)


@pytest.mark.parametrize("name", ["media-jobs", "zsky"])
def test_a_404_right_after_the_create_is_polled_through(emu: EmulatorHandle, apis: EmulatedProviders,
                                                       tmp_path: Path, name: str) -> None:
    before = not_found_polls(emu)
    with client(emu, name, http_client=faulty(f"404=2,tag=lag-{name}")) as c, Journal.in_dir(tmp_path) as journal:
        record = submit_extend(c, lagging(name, "lagging"), journal=journal)
    assert record.state == "done" and len(record.files) == 0 and len(record.outputs) == 1
    assert not_found_polls(emu) == before + 2


@pytest.mark.parametrize("name", ["media-jobs", "zsky"])
def test_a_job_that_stays_unknown_fails_after_the_grace(emu: EmulatorHandle, apis: EmulatedProviders,
                                                        tmp_path: Path, name: str) -> None:
    with client(emu, name, http_client=faulty(f"404=*,tag=lost-{name}"), not_found_grace=0.2) as c, \
            Journal.in_dir(tmp_path) as journal:
        started = time.monotonic()
        with pytest.raises(NotFoundError, match=rf"^job \S+ was created, but {name} still answers 404 for it after "
                                                r"0\.\d s \(the not_found_grace limit of 0\.2 s, "
                                                r"LTXKIT_NOT_FOUND_GRACE\): .*job not found"):
            submit_extend(c, lagging(name, "lost"), journal=journal)
        assert time.monotonic() - started >= 0.2
        (row,) = journal.records()
        before = not_found_polls(emu)
        with pytest.raises(NotFoundError, match="HTTP 404"):  # its grace is over: no second one
            c.wait(str(row.job_id))
        assert not_found_polls(emu) == before + 1


def test_client_submit_then_wait_polls_through_a_404_right_after_the_create(emu: EmulatorHandle,
                                                                            apis: EmulatedProviders) -> None:
    """The grace holds for the Python API's own submit → wait too (the client remembers the jobs it
    created), in both faces; a client that did not create the job gets no grace."""
    with client(emu, "media-jobs", http_client=faulty("404=2,tag=api-lag")) as c:
        job = c.submit(build_request(c, lagging("media-jobs", "submitted, then waited")))
        before = not_found_polls(emu)
        assert c.wait(job.id).state == "done"
        assert not_found_polls(emu) == before + 2
    with client(emu, "media-jobs", http_client=faulty("404=1,tag=api-other")) as other, \
            pytest.raises(NotFoundError, match="HTTP 404"):
        other.wait(job.id)
    assert not_found_polls(emu) == before + 3

    async def async_face() -> str:
        options = {"base_url": base(emu, "media-jobs"), "api_key": KEY, "max_retries": 4, "retry_base_delay": 0.001,
                   "poll_interval": 0.005, "poll_max_interval": 0.02, "progress": False}
        http = httpx.AsyncClient(headers={"X-Emulator-Faults": "404=2,tag=api-lag-async"}, timeout=30.0)
        async with http, AsyncClient(provider=get_provider("media-jobs"), http_client=http, **options) as a:
            ready = prepare_extend("media-jobs", lagging("media-jobs", "async face")).ready
            assert ready is not None  # media-jobs builds without a request
            created = await a.submit(ready)
            return (await a.wait(created.id)).state

    before = not_found_polls(emu)
    assert asyncio.run(async_face()) == "done"
    assert not_found_polls(emu) == before + 2


def test_zsky_503_on_a_poll_is_retried(emu: EmulatorHandle, apis: EmulatedProviders) -> None:
    with client(emu, "zsky") as c, client(emu, "zsky", http_client=faulty("503=2,retry-after=0,tag=zsky-poll")) as p:
        job = c.submit(build_request(c, ExtendRequest(PROMPT, frames=9, seed=4)))
        assert p.wait(job.id).state == "done"
    assert [r.status for r in emu.requests() if r.path == f"/zsky/v1/jobs/{job.id}"][:3] == [503, 503, 200]


def test_zsky_client_paces_every_request_to_the_burst_window(emu: EmulatorHandle, apis: EmulatedProviders) -> None:
    """Polls count in ZSky's burst (the emulator's default reading): the client keeps all its requests inside
    the window, so the server never has to answer 429."""
    apis.zsky.limits.burst = Window(4, 0.5)
    paced = dataclasses.replace(get_provider("zsky"), request_window=(4, 0.5))
    seen = emu.requests().total
    with Client(provider=paced, base_url=base(emu, "zsky"), api_key=KEY, max_retries=0, poll_interval=0.005,
                poll_max_interval=0.01, progress=False) as c:
        started = time.monotonic()
        job = c.submit(build_request(c, ExtendRequest(PROMPT, frames=49, seed=5)))
        assert c.wait(job.id).state == "done"
        elapsed = time.monotonic() - started
    answered = [r.status for r in emu.requests().since(seen) if r.path.startswith("/zsky/")]
    assert 429 not in answered and len(answered) >= 2
    assert elapsed >= 0.5 * ((len(answered) - 1) // 4)  # 4 starts per 0.5 s at most


# ---- Apex: Bearer, {data}, {error, code}, X-RateLimit-*, Retry-After, credits, webhooks ------------------------


class Hooks(http.server.BaseHTTPRequestHandler):
    """A webhook receiver: answers 500 to the first delivery, 200 after; keeps the payloads."""

    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        self.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(500 if len(self.received) == 1 else 200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


def test_apex_video_end_to_end_with_rate_headers_credits_and_webhook(emu: EmulatorHandle, apis: EmulatedProviders,
                                                                      tmp_path: Path) -> None:
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hooks)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    auth = {"Authorization": f"Bearer {KEY}"}
    try:
        hook = WEB.patch(f"{base(emu, 'apex')}/api/settings", headers=auth,
                           json={"webhookUrl": f"http://127.0.0.1:{receiver.server_port}/hook"})
        assert hook.json() == {"data": {"webhookUrl": f"http://127.0.0.1:{receiver.server_port}/hook"}}
        assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"} <= set(hook.headers)
        credits = WEB.get(f"{base(emu, 'apex')}/api/usage", headers=auth).json()["data"]["credits"]
        tried = len(apis.apex.deliveries)
        record, video = extend(emu, "apex", ExtendRequest(PROMPT, frames=72, fps=24, size=(1280, 720)), tmp_path)
        info = probe(video)
        assert (info.frame_count, info.fps, info.width, info.height) == (73, Fraction(24), 1280, 720)
        assert WEB.get(f"{base(emu, 'apex')}/api/usage", headers=auth).json()["data"]["credits"] == credits - 250
        # the receiver keeps a delivery before it answers, the emulator counts it once answered: wait for both
        # (waiting for the receiver alone once read the second delivery before the emulator had counted it)
        deadline = time.monotonic() + 10
        while (len(Hooks.received) < 2 or len(apis.apex.deliveries) < tried + 2) and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        receiver.shutdown()
        apis.apex.webhooks.clear()
    first, second = Hooks.received[:2]
    assert first == second and first["event"] == "job.completed"
    assert (first["data"]["jobId"], first["data"]["outputUrl"]) == (record.job_id, record.outputs[0])
    assert [d["status"] for d in apis.apex.deliveries[tried:]] == [500, 200]


def test_apex_720p_from_a_media_jobs_input(emu: EmulatorHandle, apis: EmulatedProviders, tmp_path: Path) -> None:
    """1280x720 is Apex's own size: not refused as "not a multiple of 32", rendered at 1280x720."""
    gen = json.dumps({"prompt": PROMPT, "durationFrames": 73, "sampledFps": 24, "width": 1280, "height": 720})
    env = {"LTXKIT_API_KEY": KEY, "LTXKIT_POLL_INTERVAL": "0.05", "LTXKIT_API_BASE": base(emu, "apex")}
    done = CliRunner().invoke(main, ["jobs", "submit", "video.generate", "--input", gen, "--provider", "apex",
                                     "--state", str(tmp_path), "--download", str(tmp_path / "out"), "--json"], env=env)
    assert done.exit_code == 0, done.stderr
    info = probe(Path(json.loads(done.stdout)["files"][0]))
    assert (info.width, info.height, info.frame_count, info.fps) == (1280, 720, 73, Fraction(24))


@pytest.mark.parametrize("shape", ["list", "filtered", "object"])
def test_apex_status_in_each_documented_shape(emu: EmulatorHandle, apis: EmulatedProviders, shape: str) -> None:
    """The endpoint table's ``{data: [...jobs]}`` (all the key's jobs, or narrowed by id) and the examples'
    ``{data: job}``: the client finds its job in each, and a list without it is a 404."""
    apis.apex.limits.job_answer = shape
    with client(emu, "apex", poll_interval=0.05, poll_max_interval=0.1) as c:  # few polls: emu.requests() keeps 1000
        first, second = (c.submit(build_request(c, ExtendRequest(f"{PROMPT} {n}", frames=72, fps=24)))
                         for n in (1, 2))
        done = c.wait(first.id)
        assert (done.id, done.state, len(done.outputs)) == (first.id, "done", 1)
        assert c.wait(second.id).id == second.id
        listed = WEB.get(f"{base(emu, 'apex')}/api/jobs", params={"id": first.id},
                           headers={"Authorization": f"Bearer {KEY}"}).json()["data"]
        if shape == "object":
            assert listed["jobId"] == first.id
        else:
            ids = [j["jobId"] for j in listed]
            assert ids == [first.id] if shape == "filtered" else ids[:2] == [second.id, first.id]
        with pytest.raises(NotFoundError, match="has no job nope" if shape != "object" else "Job not found"):
            c.status("nope")


def test_apex_429_waits_for_retry_after_and_4xx_are_typed(emu: EmulatorHandle, apis: EmulatedProviders) -> None:
    apis.apex.limits.generation = Window(1, 0.4)
    bad = prepare_submission("apex", "video", {"script": PROMPT, "duration": 99}).ready
    assert isinstance(bad, JobRequest)
    with client(emu, "apex") as c:
        with pytest.raises(BadRequestError, match=r"duration must be a number 3-60.*\{\"code\": \"BAD_REQUEST\"\}"):
            c.submit(bad)
        before, started = posts(emu, "/apex/api/generate/video"), time.monotonic()
        with pytest.raises(BadRequestError, match="duration must be"):  # 429 first, retried after Retry-After
            c.submit(bad)
        assert time.monotonic() - started >= 0.3
        assert posts(emu, "/apex/api/generate/video") == before + 2
    apis.apex.limits.starting_credits = 0
    with client(emu, "apex") as c, pytest.raises(PaymentRequiredError, match="Insufficient credits") as info:
        c.submit(build_request(c, ExtendRequest(PROMPT, frames=72, fps=24)))
    assert info.value.details == {"code": "PAYMENT_REQUIRED"}
    with client(emu, "apex", api_key="k-wrong-0123456789") as c, \
            pytest.raises(AuthError, match="HTTP 401: Missing or invalid API key"):
        c.balance()


# ---- ZOOOP: Idempotency-Key, envelope errors, daily cap, FIFO concurrency ----------------------------------


def test_zooop_dropped_create_is_retried_with_the_same_idempotency_key(emu: EmulatorHandle, apis: EmulatedProviders,
                                                                        tmp_path: Path) -> None:
    request = ExtendRequest(PROMPT, frames=24, fps=24, size=(480, 480), seed=11)
    before = posts(emu, "/zooop/v1/tasks")
    with client(emu, "zooop", http_client=faulty("drop-create=1,tag=zooop")) as c, \
            Journal.in_dir(tmp_path) as journal:
        record = submit_extend(c, request, journal=journal)
        job_request = build_request(c, request)
    assert record.state == "done" and posts(emu, "/zooop/v1/tasks") == before + 2
    replay = WEB.post(f"{base(emu, 'zooop')}/v1/tasks", json=dict(job_request.input),
                        headers={"Authorization": f"Bearer {KEY}", "Idempotency-Key": str(record.idempotency_key)})
    assert replay.json() == {"taskId": record.job_id, "status": "succeeded", "modelId": job_request.input[
        "interfaceId"], "versionId": "standard", "idempotent": True}


def test_zooop_documented_errors(emu: EmulatorHandle, apis: EmulatedProviders, tmp_path: Path) -> None:
    with client(emu, "zooop") as c:
        with pytest.raises(BadRequestError, match=r"HTTP 422: Text or image violates content policy .*"
                                                  r"moderation_blocked"):
            c.submit(build_request(c, ExtendRequest(f"{UNSAFE_PROMPT} {PROMPT}", frames=24, fps=24)))
        (frame,) = coded_frames(tmp_path, 1, 1)
        model = build_request(c, ExtendRequest(PROMPT, last_frame=frame)).input
        native = prepare_submission("zooop", "tasks", {**model, "params": {"prompt": PROMPT}}).ready
        assert native is not None
        with pytest.raises(BadRequestError, match="Missing required parameters: first_frame") as info:
            c.submit(native)
        assert isinstance(info.value.details, dict) and info.value.details["params"][0]["id"] == "first_frame"
        with pytest.raises(InputError, match=r"zooop model 'LTX Video \(emulated\)' offers resolution 480p, 720p; "
                                             r"256p is not one of them"):
            build_request(c, ExtendRequest(PROMPT, size=(256, 256)))
        apis.zooop.limits.daily_credit_cap = 0
        before = posts(emu, "/zooop/v1/tasks")
        with pytest.raises(PaymentRequiredError, match="daily credit cap"):
            c.submit(build_request(c, ExtendRequest(PROMPT, frames=24, fps=24)))
        assert posts(emu, "/zooop/v1/tasks") == before + 1
        apis.zooop.limits.quote = Window(1, 0.4)
        started = time.monotonic()
        quote(c, ExtendRequest(PROMPT))
        quote(c, ExtendRequest(PROMPT))
        assert time.monotonic() - started >= 0.3
        assert c.balance()["user"]["creditBalance"] <= 1000


class Foreign(http.server.BaseHTTPRequestHandler):
    """A foreign host (a CDN): serves ``files`` by path and keeps every request's headers."""

    files: ClassVar[dict[str, bytes]] = {}
    seen: ClassVar[list[tuple[str, dict[str, str]]]] = []

    def do_GET(self) -> None:
        self.seen.append((self.path, dict(self.headers)))
        data = self.files.get(self.path)
        self.send_response(200 if data is not None else 404)
        self.send_header("Content-Length", str(len(data or b"")))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        self.wfile.write(data or b"")

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def foreign() -> Iterator[str]:
    Foreign.files, Foreign.seen = {}, []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Foreign)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def test_zooop_foreign_frame_urls_are_fetched_without_the_key_and_uploaded(emu: EmulatorHandle, apis: EmulatedProviders,
                                                                           foreign: str, tmp_path: Path) -> None:
    first, last = coded_frames(tmp_path / "cdn", 500, 2)
    Foreign.files = {"/tail/first.png": first.read_bytes(), "/tail/last.png": last.read_bytes()}
    uploads = posts(emu, "/zooop/v1/uploads")
    record, video = extend(emu, "zooop", ExtendRequest(
        PROMPT, last_frame=f"{foreign}/tail/first.png", frames=24, fps=24, size=(480, 480),
        extra={"last_frame": f"{foreign}/tail/last.png"}), tmp_path)
    assert codes(video, 2) == [500, 501]
    assert sorted(path for path, _ in Foreign.seen) == ["/tail/first.png", "/tail/last.png"]
    for _, headers in Foreign.seen:  # the key never reaches the foreign host
        assert "Authorization" not in headers and "x-api-key" not in {h.lower() for h in headers}
        assert not any(KEY in value for value in headers.values())
    assert posts(emu, "/zooop/v1/uploads") == uploads + 2
    with client(emu, "zooop") as c:
        (output,) = c.status(record.job_id).outputs
    assert output.startswith(f"{base(emu, 'zooop')}/storage/{record.job_id}/")  # outputs are ZOOOP-hosted
    assert WEB.get(output).content == video.read_bytes()  # a CDN link: no key needed


def test_zooop_emulator_takes_only_its_own_storage_urls(emu: EmulatorHandle, apis: EmulatedProviders,
                                                        foreign: str, tmp_path: Path) -> None:
    (frame,) = coded_frames(tmp_path, 9, 1)
    Foreign.files = {"/f.png": frame.read_bytes()}
    with client(emu, "zooop") as c:
        hosted = upload(c, frame)
        assert hosted.startswith(f"{base(emu, 'zooop')}/storage/upload-")
        model = build_request(c, ExtendRequest(PROMPT, last_frame=hosted)).input
        folder_and_name = hosted.removeprefix(f"{base(emu, 'zooop')}/storage/")
        for url in (f"{foreign}/f.png", "https://cdn.example.com/f.png", f"{emu.base_url}/files/{folder_and_name}",
                    f"{base(emu, 'zooop')}/storage/upload-unknown/upload.png"):
            native = prepare_submission("zooop", "tasks", {**model, "params": {
                "prompt": PROMPT, "duration": 1, "first_frame": url}}).ready
            assert native is not None
            with pytest.raises(BadRequestError, match=r"HTTP 400: first_frame must be a ZOOOP storage URL of an "
                                                      r"uploaded image \(POST /v1/uploads\); upload foreign URLs "
                                                      r"first") as info:
                c.submit(native)
            assert info.value.details == {"code": "invalid_payload", "type": "invalid_request_error",
                                          "param": "first_frame"}
        assert Foreign.seen == []  # the emulator fetched nothing foreign either
        accepted = c.submit(prepare_submission("zooop", "tasks", {**model, "params": {
            "prompt": PROMPT, "duration": 1, "first_frame": hosted}}).ready)  # type: ignore[arg-type]
        assert c.wait(accepted.id).state == "done"


def test_zooop_video_uploads_are_polled_until_ready(emu: EmulatorHandle, apis: EmulatedProviders, foreign: str,
                                                    tmp_path: Path) -> None:
    _, clip = extend(emu, "zooop", ExtendRequest(PROMPT, frames=24, fps=24, size=(480, 480), seed=31), tmp_path)
    Foreign.files = {"/clip.mp4": clip.read_bytes()}
    polls = sum(1 for r in emu.requests() if r.path.startswith("/zooop/v1/uploads/"))
    with client(emu, "zooop") as c:
        local, remote = upload(c, clip, "video"), upload(c, f"{foreign}/clip.mp4", "video")
    assert local.endswith(".mp4") and remote.endswith(".mp4") and local != remote
    assert WEB.get(local).content == WEB.get(remote).content == clip.read_bytes()
    assert sum(1 for r in emu.requests() if r.path.startswith("/zooop/v1/uploads/")) >= polls + 2


def test_zooop_a_replayed_create_without_a_journal_still_downloads_the_output(emu: EmulatorHandle,
                                                                             apis: EmulatedProviders,
                                                                             tmp_path: Path) -> None:
    """Regression: the replay answers ``{taskId, status: "succeeded"}`` with no outputs; a re-run whose
    journal was lost took that as done with nothing to download."""
    request = ExtendRequest(PROMPT, frames=24, fps=24, size=(480, 480), seed=32)
    first, video = extend(emu, "zooop", request, tmp_path / "one")
    again, copy = extend(emu, "zooop", request, tmp_path / "two")
    assert again.job_id == first.job_id and copy.read_bytes() == video.read_bytes()


def test_zooop_runs_max_concurrency_tasks_and_queues_the_rest(emu: EmulatorHandle, apis: EmulatedProviders) -> None:
    apis.zooop.limits.max_concurrency = 1
    with client(emu, "zooop") as c:
        first, second = (c.submit(build_request(c, ExtendRequest(PROMPT, frames=24, fps=24, size=(480, 480),
                                                                  seed=seed))) for seed in (21, 22))
        assert c.status(second.id).raw_status == "queued"
        assert c.status(first.id).raw_status in ("queued", "running")
        assert c.wait(first.id).state == c.wait(second.id).state == "done"


# ---- Kubeez: retry_after, no idempotency, extend only Veo sources -----------------------------------------


def test_kubeez_429_is_retried_after_its_retry_after(emu: EmulatorHandle, apis: EmulatedProviders) -> None:
    apis.kubeez.limits.generate = Window(1, 0.4)
    with client(emu, "kubeez") as c:
        c.submit(build_request(c, ExtendRequest(PROMPT, frames=24, fps=24, size=(480, 480))))
        started = time.monotonic()
        job = c.submit(build_request(c, ExtendRequest(PROMPT, frames=48, fps=24, size=(480, 480))))
        assert time.monotonic() - started >= 0.3
        assert c.wait(job.id).state == "done"
        assert c.health() == {"status": "healthy"}
        assert c.balance()["credits"] < 5000


def test_kubeez_dropped_create_is_not_sent_again(emu: EmulatorHandle, apis: EmulatedProviders) -> None:
    charged = len(apis.kubeez.charges)
    before = posts(emu, "/kubeez/v1/generate/media")
    with client(emu, "kubeez", http_client=faulty("drop-create=1,tag=kubeez")) as c:
        request = build_request(c, ExtendRequest(PROMPT, frames=24, fps=24, size=(480, 480), seed=5))
        with pytest.raises(ApiConnectionError, match="not sent again: kubeez cannot deduplicate it"):
            c.submit(request)
    assert posts(emu, "/kubeez/v1/generate/media") == before + 1
    assert len(apis.kubeez.charges) == charged + 1  # the server did create (and charge) it


def test_kubeez_extends_only_veo_generations(emu: EmulatorHandle, apis: EmulatedProviders, tmp_path: Path) -> None:
    source, _ = extend(emu, "kubeez", ExtendRequest(PROMPT, frames=24, fps=24, size=(480, 480), seed=9), tmp_path)
    with client(emu, "kubeez") as c:
        with pytest.raises(InputError, match=f"kubeez can extend only its own completed Veo 3.1 generations .* "
                                             f"generation {source.job_id} is completed and has no source_task_id"):
            build_request(c, ExtendRequest(PROMPT, source_job_id=source.job_id))
        with pytest.raises(InputError, match=r"kubeez has no video model for this request: veo-3.1-fast offers "
                                             r"aspect_ratio 16:9, 9:16 \(not 4:3\)"):
            build_request(c, ExtendRequest(PROMPT, size=(640, 480), model="veo-3.1-fast"))


# ---- journal and faces -------------------------------------------------------------------------------------


def test_a_re_run_neither_uploads_nor_submits_again(emu: EmulatorHandle, apis: EmulatedProviders,
                                                    tmp_path: Path) -> None:
    (frame,) = coded_frames(tmp_path / "tail", 70, 1)
    request = ExtendRequest(PROMPT, last_frame=frame, frames=24, fps=24, size=(480, 480), seed=31)
    first, _ = extend(emu, "zooop", request, tmp_path)
    sent = posts(emu, "/zooop/v1/uploads"), posts(emu, "/zooop/v1/tasks")
    again, _ = extend(emu, "zooop", request, tmp_path)
    assert (again.job_id, again.files) == (first.job_id, first.files)
    assert (posts(emu, "/zooop/v1/uploads"), posts(emu, "/zooop/v1/tasks")) == sent


def test_the_async_face_runs_the_same_plans(emu: EmulatorHandle, apis: EmulatedProviders, tmp_path: Path) -> None:
    (frame,) = coded_frames(tmp_path / "tail", 80, 1)
    request = ExtendRequest(PROMPT, last_frame=frame, frames=24, fps=24, size=(480, 480), seed=41)

    async def go() -> Any:
        options: dict[str, Any] = {"base_url": base(emu, "kubeez"), "api_key": KEY, "poll_interval": 0.005,
                                   "poll_max_interval": 0.02, "progress": False}
        async with AsyncClient(provider=get_provider("kubeez"), **options) as c:
            with Journal.in_dir(tmp_path) as journal:
                return await asubmit_extend(c, request, journal=journal, download_dir=tmp_path / "out")

    record = asyncio.run(go())
    assert record.state == "done" and codes(record.files[0], 1) == [80]


# ---- the CLI: --provider and LTXKIT_PROVIDER ---------------------------------------------------------------


def test_cli_switches_provider_without_changing_the_command(emu: EmulatorHandle, apis: EmulatedProviders,
                                                            tmp_path: Path) -> None:
    (frame,) = coded_frames(tmp_path / "tail", 60, 1)
    env = {"LTXKIT_API_KEY": KEY, "LTXKIT_POLL_INTERVAL": "0.005", "LTXKIT_POLL_MAX_INTERVAL": "0.02"}
    gen = json.dumps({"prompt": PROMPT, "durationFrames": 25, "sampledFps": 24, "width": 480, "height": 480})
    args = ["jobs", "submit", "video.generate", "--input", gen, "--start-frame", str(frame), "--state", str(tmp_path),
            "--json"]
    runner = CliRunner()
    done = runner.invoke(main, [*args, "--download", str(tmp_path / "out")],
                         env={**env, "LTXKIT_API_BASE": base(emu, "kubeez"), "LTXKIT_PROVIDER": "kubeez"})
    assert done.exit_code == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["status"] == "done" and codes(Path(record["files"][0]), 1) == [60]
    status = runner.invoke(main, ["jobs", "status", record["jobId"], "--provider", "kubeez", "--json"],
                           env={**env, "LTXKIT_API_BASE": base(emu, "kubeez")})
    assert json.loads(status.stdout)["rawStatus"] == "completed"
    refused = runner.invoke(main, [*args, "--provider", "zsky"], env={**env, "LTXKIT_API_BASE": base(emu, "zsky")})
    assert refused.exit_code == 2
    assert refused.stderr == ("ltxkit: error: provider zsky cannot start from a frame (image-to-video is promised "
                              "for v2); use media-jobs or zooop or kubeez\n")
    native = runner.invoke(main, ["jobs", "submit", "videos.generate", "--input", '{"prompt": "x", "length": 9}',
                                  "--wait", "--state", str(tmp_path), "--provider", "zsky", "--json"],
                           env={**env, "LTXKIT_API_BASE": base(emu, "zsky")})
    assert json.loads(native.stdout)["status"] == "done", native.stderr
    balance = runner.invoke(main, ["balance", "--json"], env={**env, "LTXKIT_API_BASE": base(emu, "zooop"),
                                                              "LTXKIT_PROVIDER": "zooop"})
    assert "creditBalance" in json.loads(balance.stdout)["user"]
    assert KEY not in done.stdout + done.stderr + refused.stderr + native.stderr
