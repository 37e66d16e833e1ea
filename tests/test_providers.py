"""Providers without a server: the capability table's "no"s raise before anything is read or
sent, each API's status words / error shapes / rate-limit signals map onto the shared client's policy,
requests are built as each seed documents, and the neutral key ignores where media were uploaded."""

from __future__ import annotations

import base64
import io
import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from ltxkit.errors import (
    ApiConnectionError,
    BadRequestError,
    InputError,
    NotFoundError,
    PaymentRequiredError,
)
from ltxkit.jobs import MEDIA_JOBS, Client, ClientConfig, PollPolicy, RequestSpec
from ltxkit.jobs.providers import (
    PROVIDERS,
    TABLE,
    ExtendRequest,
    capabilities,
    combine_request,
    from_media_input,
    get_provider,
    markdown_table,
    prepare_extend,
    prepare_submission,
    quote,
    upload,
)
from ltxkit.jobs.providers import cancel as cancel_job
from ltxkit.jobs.providers.capabilities import CAPABILITY_NAMES
from ltxkit.jobs.providers.request import fit_option, neutral_digest

NOWHERE = "http://127.0.0.1:9"  # nothing listens: any request would be an ApiConnectionError, not an InputError
PROMPT = "the lighthouse beam keeps sweeping"


def offline(name: str) -> Client:
    return Client(provider=get_provider(name), base_url=NOWHERE, api_key="k-offline-123", max_retries=0,
                  progress=False)


# ---- the capability table matches behaviour: every "no" is an honest InputError, nothing sent ----------------

NO_CASES: dict[str, Any] = {
    "overlap_frames": lambda name: prepare_extend(name, ExtendRequest(PROMPT, overlap_images=["a.png", "b.png"])),
    "last_frame": lambda name: prepare_extend(name, ExtendRequest(PROMPT, last_frame="missing.png")),
    "server_extend": lambda name: prepare_extend(name, ExtendRequest(PROMPT, source_job_id="job-1")),
    "reference_audio": lambda name: prepare_extend(name, ExtendRequest(PROMPT, reference_audio="missing.wav")),
    "combine": lambda name: combine_request(name, ["https://x/a.mp4", "https://x/b.mp4"]),
    "uploads": lambda name: upload(offline(name), "missing.png"),
    "cancel": lambda name: cancel_job(offline(name), "job-1"),
    "quote": lambda name: quote(offline(name), ExtendRequest(PROMPT)),
}
NO_CELLS = [(name, cap) for name, caps in TABLE.items() for cap in CAPABILITY_NAMES if not caps.supports(cap)]


@pytest.mark.parametrize(("name", "capability"), NO_CELLS)
def test_every_no_in_the_table_raises_an_input_error_naming_the_provider(name: str, capability: str) -> None:
    with pytest.raises(InputError, match=f"provider {name}") as info:
        NO_CASES[capability](name)
    assert not isinstance(info.value, ApiConnectionError)


def test_the_table_has_every_provider_and_both_kinds_of_cell() -> None:
    assert list(TABLE) == list(PROVIDERS) == ["media-jobs", "zsky", "apex", "zooop", "kubeez"]
    assert len(NO_CELLS) == 28  # and 12 yes cells, each exercised against the emulator in test_providers_live
    lines = markdown_table().splitlines()
    assert lines[0] == ("| provider | frames overlap | last frame | server-side extend | reference audio | combine "
                        "| uploads | cancel | quote |")
    assert len(lines) == 2 + len(TABLE)
    assert lines[5].startswith("| zooop | no (one start frame only) | yes: `first_frame`")


def test_the_errors_say_what_to_do_instead() -> None:
    with pytest.raises(InputError, match=r"provider zooop conditions on one last frame only; pass --overlap 1 or use "
                                         r"media-jobs$"):
        prepare_extend("zooop", ExtendRequest(PROMPT, overlap_images=["a.png", "b.png"]))
    with pytest.raises(InputError, match=r"provider zsky cannot start from a frame \(image-to-video is promised for "
                                         r"v2\); use media-jobs or zooop or kubeez$"):
        prepare_extend("zsky", ExtendRequest(PROMPT, last_frame="a.png"))
    with pytest.raises(InputError, match=r"provider apex cannot extend a job by its id .* use zooop or kubeez$"):
        prepare_extend("apex", ExtendRequest(PROMPT, source_job_id="j"))
    with pytest.raises(InputError, match="a server-side extend takes the source job id and a prompt only"):
        prepare_extend("kubeez", ExtendRequest(PROMPT, source_job_id="j", last_frame="a.png"))
    with pytest.raises(InputError, match="unknown provider 'runway'; known: media-jobs, zsky, apex, zooop, kubeez"):
        capabilities("runway")


# ---- registry, configuration defaults, auth header ------------------------------------------------------------


def test_get_provider_by_name_env_and_default() -> None:
    assert get_provider("ZOOOP").name == "zooop"
    assert get_provider(env={"LTXKIT_PROVIDER": "kubeez"}).name == "kubeez"
    assert get_provider(env={}).name == "media-jobs"
    with pytest.raises(InputError, match="unknown provider 'nope'"):
        get_provider("nope")


def test_each_provider_brings_its_base_url_and_pacing_but_env_and_options_win() -> None:
    with Client(provider=get_provider("zsky"), api_key="k-1234567890") as c:
        assert (c.config.base_url, c.config.concurrency) == ("https://zsky.ai", 3)
    assert ClientConfig.from_env({}, get_provider("kubeez").config_defaults).poll == \
        ClientConfig(poll=PollPolicy(interval=5.0, max_interval=30.0)).poll
    env = {"LTXKIT_API_BASE": "http://127.0.0.1:8787/apex", "LTXKIT_POLL_INTERVAL": "0.5"}
    config = ClientConfig.from_env(env, get_provider("kubeez").config_defaults, poll_max_interval=2.0)
    assert (config.base_url, config.poll.interval, config.poll.max_interval) == \
        ("http://127.0.0.1:8787/apex", 0.5, 2.0)
    assert ClientConfig.from_env({}, MEDIA_JOBS.config_defaults).base_url == "https://api.killatamata.com"


@pytest.mark.parametrize(("name", "configured", "header"), [
    ("zsky", "bearer", "x-api-key"), ("apex", "x-api-key", "Authorization"), ("zooop", "x-api-key", "Authorization"),
    ("kubeez", "x-api-key", "x-api-key"), ("kubeez", "bearer", "Authorization"),
])
def test_the_auth_header_is_the_one_the_api_takes(name: str, configured: str, header: str) -> None:
    with Client(provider=get_provider(name), api_key="k-1234567890", auth=configured) as c:
        assert list(c._auth_headers()) == [header]


# ---- status words, ids, outputs, error shapes -------------------------------------------------------------------

JOB_PAYLOADS = [
    ("zsky", {"job_id": "8a1", "status": "completed", "kind": "video", "result_url": "https://r2/x.mp4?sig=1"},
     ("8a1", "done", ("https://r2/x.mp4?sig=1",), None)),
    ("zsky", {"job_id": "8a1", "status": "blocked", "error": "Sorry — our safety check stopped this video"},
     ("8a1", "failed", (), "Sorry — our safety check stopped this video")),
    ("apex", {"data": {"jobId": "u-1", "status": "completed", "outputUrl": "https://cdn/o.mp4"}},
     ("u-1", "done", ("https://cdn/o.mp4",), None)),
    ("apex", {"data": {"jobId": "u-1", "status": "failed", "error": "Generation failed"}},
     ("u-1", "failed", (), "Generation failed")),
    ("zooop", {"taskId": "t", "status": "succeeded", "outputs": [{"url": "https://s/a.mp4", "thumbnailUrl": None}],
               "error": None}, ("t", "done", ("https://s/a.mp4",), None)),
    ("zooop", {"taskId": "t", "status": "cancelled", "error": {"message": "stopped", "code": "cancelled"}},
     ("t", "failed", (), "stopped")),
    ("kubeez", {"generation_id": "g", "status": "queued"}, ("g", "running", (), None)),
    ("kubeez", {"id": "g", "status": "completed", "outputs": [{"url": "https://k/v.mp4", "media_type": "video"}]},
     ("g", "done", ("https://k/v.mp4",), None)),
]


@pytest.mark.parametrize(("name", "payload", "expected"), JOB_PAYLOADS)
def test_documented_job_answers_map_to_jobs(name: str, payload: dict[str, Any], expected: tuple[Any, ...]) -> None:
    job = get_provider(name).parse_job(payload)
    assert (job.id, job.state, job.outputs, job.error) == expected


def test_apex_status_reads_the_documented_job_list_and_the_examples_object() -> None:
    apex = get_provider("apex")
    listed = {"data": [{"jobId": "u-2", "status": "queued"},
                       {"jobId": "u-1", "status": "completed", "outputUrl": "https://cdn/o.mp4"}]}
    job = apex.parse_job(listed, "u-1")
    assert (job.id, job.state, job.outputs) == ("u-1", "done", ("https://cdn/o.mp4",))
    assert apex.parse_job({"data": {"jobId": "u-1", "status": "processing"}}, "u-1").state == "running"
    with pytest.raises(NotFoundError, match=r"^GET /api/jobs: the job list \(1 jobs\) has no job u-3$") as info:
        apex.parse_job({"data": [{"jobId": "u-2", "status": "queued"}]}, "u-3")
    assert info.value.status_code == 404


@pytest.mark.parametrize(("name", "word"), [("zsky", "running"), ("apex", "processing"), ("zooop", "running"),
                                            ("kubeez", "processing"), ("zooop", "moderating")])
def test_running_and_unknown_words_keep_polling(name: str, word: str) -> None:
    assert get_provider(name).map_status(word) == "running"


@pytest.mark.parametrize(("name", "body", "text", "details"), [
    ("zsky", {"error": "job not found"}, "job not found", None),
    ("apex", {"error": "Too many requests", "code": "RATE_LIMITED"}, "Too many requests", {"code": "RATE_LIMITED"}),
    ("zooop", {"error": {"message": "Missing required parameters: first_frame", "type": "invalid_request_error",
                         "code": "missing_required_params", "params": [{"id": "first_frame"}]}},
     "Missing required parameters: first_frame",
     {"code": "missing_required_params", "type": "invalid_request_error", "params": [{"id": "first_frame"}]}),
    ("kubeez", {"error": "rate_limit_exceeded", "message": "too many", "retry_after": 3}, "too many",
     {"code": "rate_limit_exceeded"}),
])
def test_error_shapes(name: str, body: dict[str, Any], text: str, details: object) -> None:
    assert get_provider(name).error_text(body) == (text, details)


@pytest.mark.parametrize(("name", "status", "body", "retryable", "error"), [
    ("zsky", 429, {"error": "concurrent job limit reached: 3 jobs per API key"}, True, None),
    ("zsky", 429, {"error": "monthly video allowance reached (300 videos)"}, False, PaymentRequiredError),
    ("zsky", 451, {"error": "Generation blocked by safety filter"}, False, BadRequestError),
    ("zsky", 503, {"error": "workers unavailable"}, True, None),
    ("zooop", 429, {"error": {"code": "rate_limited", "message": "slow"}}, True, None),
    ("zooop", 429, {"error": {"code": "token_daily_cap_reached", "message": "cap"}}, False, PaymentRequiredError),
    ("zooop", 451, {"error": {"code": "moderation_blocked", "message": "no"}}, False, BadRequestError),
    ("apex", 429, {"error": "Too many requests", "code": "RATE_LIMITED"}, True, None),
    ("kubeez", 413, {"error": "file_too_large", "message": "over 500 MB"}, False, BadRequestError),
])
def test_which_answers_are_retried_and_how_the_rest_are_typed(name: str, status: int, body: dict[str, Any],
                                                              retryable: bool, error: type | None) -> None:
    provider = get_provider(name)
    assert provider.is_retryable(status, body) is retryable
    assert provider.error_class(status, body) is error


def test_rate_limit_hints_beyond_retry_after() -> None:
    now = 1_700_000_000.0
    apex, kubeez = get_provider("apex"), get_provider("kubeez")
    exhausted = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(now) + 7)}
    assert apex.retry_hint(exhausted, b"", now) == 7.0
    assert apex.retry_hint({**exhausted, "retry-after": "2"}, b"", now) == 2.0  # Retry-After wins
    assert apex.retry_hint({"x-ratelimit-remaining": "3", "x-ratelimit-reset": str(int(now) + 7)}, b"", now) is None
    body = json.dumps({"error": "rate_limit_exceeded", "message": "slow", "retry_after": 1.5}).encode()
    assert kubeez.retry_hint({}, body, now) == 1.5
    assert kubeez.retry_hint({"retry-after": "4"}, body, now) == 4.0
    assert kubeez.retry_hint({}, b"not json", now) is None
    assert get_provider("zsky").retry_hint({"retry-after": "3"}, b"", now) == 3.0


# ---- requests as the seeds document them --------------------------------------------------------------------


def test_submit_and_status_requests() -> None:
    zsky, apex, zooop, kubeez = (get_provider(n) for n in ("zsky", "apex", "zooop", "kubeez"))
    spec = zsky.submit_request("videos.generate", {"prompt": "p", "length": 121}, "k1")
    assert (spec.path, spec.json, dict(spec.headers), spec.idempotent) == \
        ("/v1/videos/generate", {"prompt": "p", "length": 121}, {}, False)
    assert zsky.status_request("a/b").path == "/v1/jobs/a%2Fb"
    assert (apex.status_request("u-1").path, dict(apex.status_request("u-1").params)) == ("/api/jobs", {"id": "u-1"})
    spec = zooop.submit_request("tasks", {"interfaceId": "m"}, "ltxkit-key")
    assert (spec.path, dict(spec.headers), spec.idempotent) == ("/v1/tasks", {"Idempotency-Key": "ltxkit-key"}, True)
    assert kubeez.status_request("g-1").path == "/v1/generate/media/g-1"
    assert kubeez.health_request().path == "/health" and not kubeez.health_request().auth
    with pytest.raises(InputError, match="provider zooop documents no health endpoint"):
        zooop.health_request()
    with pytest.raises(InputError, match=r"provider apex has no task 'tasks'; known: video\.generate \(translated\), "
                                         r"video, text2video"):
        prepare_submission("apex", "tasks", {})


def test_zsky_takes_prompt_and_length_and_says_what_it_drops() -> None:
    sub = prepare_extend("zsky", ExtendRequest(PROMPT, frames=121, fps=24, size=(768, 512), seed=3))
    assert sub.ready is not None
    assert dict(sub.ready.input) == {"prompt": PROMPT, "length": 121}
    assert sub.ready.validated.adjustments == ["zsky v1 takes no size: 768x512 not sent, zsky chooses",
                                               "zsky v1 takes no fps: 24 not sent, zsky chooses",
                                               "zsky v1 takes no seed: 3 not sent, zsky chooses"]


def test_each_provider_checks_sizes_by_its_own_rule() -> None:
    """Apex renders 1280x720 (no multiple of 32) and 1920x1080 only; media-jobs multiples of 32 up to 4 MP;
    the others any size (their model options decide). The default canvas follows the same rule."""
    gen = {"prompt": PROMPT, "durationFrames": 73, "sampledFps": 24, "width": 1280, "height": 720}
    sub = prepare_submission("apex", "video.generate", gen)
    assert sub.ready is not None and dict(sub.ready.input) == {"script": PROMPT, "duration": 3, "resolution": "720p"}
    with pytest.raises(InputError, match=r"^provider apex renders 1280x720 or 1920x1080 \(720p/1080p\) only, "
                                         r"got 1280x736$"):
        prepare_submission("apex", "video.generate", {**gen, "height": 736})
    with pytest.raises(InputError, match=r"input\.height: 720 must be a positive multiple of 32"):
        prepare_submission("media-jobs", "video.generate", gen)
    with pytest.raises(InputError, match=r"^input.width and input.height: give both, as whole numbers \(got 1280, "
                                         r"None\)$"):
        prepare_submission("apex", "video.generate", {**gen, "height": None})
    media, apex, kubeez = (get_provider(n).sizes for n in ("media-jobs", "apex", "kubeez"))
    assert media.problem(2048, 2080) == "cannot render 2048x2080: 4.06 MP is over the 4 MP limit"
    assert (media.canvas(1920, 1080).width, media.canvas(1920, 1080).height) == (1920, 1088)
    assert [(c.width, c.height) for c in (apex.canvas(1280, 720), kubeez.canvas(854, 480))] == [(1280, 720),
                                                                                                 (854, 480)]
    assert kubeez.problem(854, 480) is None and apex.problem(854, 480) is not None


def test_apex_maps_length_and_size_or_refuses() -> None:
    sub = prepare_extend("apex", ExtendRequest(PROMPT, frames=121, fps=24, size=(1280, 720), model="veo-3.1"))
    assert sub.ready is not None and sub.task == "video"
    assert dict(sub.ready.input) == {"script": PROMPT, "duration": 5, "resolution": "720p", "model": "veo-3.1"}
    assert sub.ready.validated.adjustments == ["apex takes whole seconds: duration=5 for 121 frames at 24 fps "
                                               "(5.042 s)"]
    with pytest.raises(InputError, match=r"provider apex renders 1280x720 or 1920x1080 \(720p/1080p\) only, "
                                         r"got 768x512"):
        prepare_extend("apex", ExtendRequest(PROMPT, size=(768, 512)))
    with pytest.raises(InputError, match="provider apex makes videos of 3-60 s; 25 frames at 24 fps is 1 s"):
        prepare_extend("apex", ExtendRequest(PROMPT, frames=25, fps=24))


def test_media_jobs_builds_video_generate_with_the_shared_schema(tmp_path: Path) -> None:
    frame = tmp_path / "f.png"
    frame.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 32)
    sub = prepare_extend(MEDIA_JOBS, ExtendRequest(PROMPT, overlap_images=[frame, "https://x/f2.png"], frames=49,
                                                   fps=Fraction(30000, 1001), size=(256, 256), seed=7,
                                                   extra={"interpolationFps": 0}))
    assert sub.ready is not None and sub.ready.task == "video.generate"
    inp = dict(sub.ready.input)
    assert inp["overlapFrameImages"][1] == "https://x/f2.png"
    assert inp["overlapFrameImages"][0]["mimeType"] == "image/png"
    assert {k: inp[k] for k in ("durationFrames", "sampledFps", "width", "height", "seed", "interpolationFps")} == \
        {"durationFrames": 49, "sampledFps": 29.97, "width": 256, "height": 256, "seed": 7,
         "interpolationFps": 0}
    with pytest.raises(InputError, match=r"input\.durationFrames: 50 is not 8n\+1"):
        prepare_extend(MEDIA_JOBS, ExtendRequest(PROMPT, frames=50))


def test_the_neutral_key_follows_content_not_names(tmp_path: Path) -> None:
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    a.write_bytes(b"\x89PNG\r\n\x1a\nsame")
    b.write_bytes(b"\x89PNG\r\n\x1a\nsame")
    first = prepare_extend("zooop", ExtendRequest(PROMPT, last_frame=a, frames=24, fps=24))
    assert prepare_extend("zooop", ExtendRequest(PROMPT, last_frame=str(b), frames=24, fps=24)).key == first.key
    b.write_bytes(b"\x89PNG\r\n\x1a\nother")
    assert prepare_extend("zooop", ExtendRequest(PROMPT, last_frame=b, frames=24, fps=24)).key != first.key
    assert prepare_extend("kubeez", ExtendRequest(PROMPT, last_frame=a, frames=24, fps=24)).key != first.key
    assert first.key.startswith("ltxkit-") and len(first.input_hash) == 64
    assert first.input_hash == neutral_digest("zooop", ExtendRequest(PROMPT, last_frame=a, frames=24, fps=24))
    assert prepare_extend("zooop", ExtendRequest(PROMPT), key="mine-1").key == "mine-1"
    with pytest.raises(InputError, match="--idempotency-key must be"):
        prepare_extend("zooop", ExtendRequest(PROMPT), key="has space")


def test_a_media_jobs_input_translates_for_other_providers() -> None:
    raw = {"prompt": PROMPT, "durationSeconds": 2, "startFrameImageUrl": "https://x/f.png", "width": 480,
           "height": 480, "seed": 5}
    request = from_media_input("zooop", raw)
    assert (request.frames, request.fps, request.size, request.seed, request.last_frame) == \
        (57, Fraction(30), (480, 480), 5, "https://x/f.png")
    with pytest.raises(InputError, match=r"provider kubeez: input\.finalFrameImageUrl has no equivalent there"):
        from_media_input("kubeez", {**raw, "finalFrameImageUrl": "https://x/z.png"})
    with pytest.raises(InputError, match=r"input\.width: 481 must be a positive multiple of 32"):
        prepare_submission("media-jobs", "video.generate", {**raw, "width": 481})
    # another provider's sizes are its own, not media-jobs' multiples of 32 (its model's options decide)
    assert prepare_extend("zooop", from_media_input("zooop", {**raw, "width": 481}, get_provider("zooop").sizes)) \
        .neutral == ExtendRequest(PROMPT, last_frame="https://x/f.png", frames=57, fps=30, size=(481, 480), seed=5)
    with pytest.raises(InputError, match="provider zsky cannot start from a frame"):
        prepare_submission("zsky", "video.generate", raw)


@pytest.mark.parametrize(("options", "value", "fitted"), [
    (["16:9", "9:16"], "427:240", "16:9"), ([{"value": "1:1", "label": "1:1"}], "1:1", "1:1"),
    (["16:9"], "4:3", None), ({"min": 1, "max": 10}, 4, 4), ({"min": 1, "max": 10}, 11, None),
    ([4, 6, 8], 5, None), (None, "720p", "720p"),
])
def test_fit_option(options: object, value: object, fitted: object) -> None:
    assert fit_option(options, "aspect_ratio" if isinstance(value, str) and ":" in value else "x", value) == fitted


def test_readme_capability_table_is_the_code_table() -> None:
    from ltxkit.jobs.providers import markdown_table

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert markdown_table().strip() in readme


def test_the_table_is_what_each_provider_declares_and_extras_refuse_by_default() -> None:
    assert {name: p.capabilities for name, p in PROVIDERS.items()} == TABLE
    assert get_provider("zsky").purge_request("j 1") == RequestSpec("DELETE", "/v1/jobs/j%201")
    with pytest.raises(InputError, match=r"^provider media-jobs has no way to delete a job's outputs; use zsky$"):
        MEDIA_JOBS.purge_request("j-1")
    with pytest.raises(InputError, match=r"^provider zsky has no quote \(monthly allowance counters at `/v1/usage`\); "
                                         r"use zooop$"):
        get_provider("zsky").quote_request({})


# ---- ZOOOP: media params take ZOOOP-hosted URLs only; foreign ones are fetched (keyless) and uploaded ---------

ZOOOP_KEY = "zpk_live_test0123456789"


def zooop_client(handler: Any) -> Client:
    return Client(provider=get_provider("zooop"), http_client=httpx.Client(transport=httpx.MockTransport(handler)),
                  base_url="https://api.zooop.ai", api_key=ZOOOP_KEY, max_retries=0, poll_interval=0.001,
                  poll_max_interval=0.001, progress=False)


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize(("url", "hosted"), [
    ("https://storage.zooop.ai/p/u.png", True), ("https://zooop.ai/x.png", True),
    ("https://api.zooop.ai/v1/x.png", True), ("http://127.0.0.1:8/zooop/storage/a/b.png", True),
    ("https://cdn.example.com/a.png", False), ("https://evilzooop.ai/a.png", False),
    ("https://zooop.ai.example.com/a.png", False), ("http://127.0.0.1:8/files/a/b.png", False),
    ("http://127.0.0.1:8/zooopx/a.png", False),
])
def test_zooop_hosted_means_zooop_ai_or_under_the_api_base(url: str, hosted: bool) -> None:
    zooop = get_provider("zooop")
    assert zooop.hosted(url, "http://127.0.0.1:8/zooop") is hosted  # type: ignore[attr-defined]


def test_zooop_a_foreign_url_is_fetched_without_the_key_even_through_a_redirect_then_uploaded() -> None:
    png, seen = png_bytes(), []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "cdn.example.com":  # redirects into the API's own origin: still no key
            return httpx.Response(302, headers={"Location": "https://api.zooop.ai/mirror/f.png"})
        if request.url.path == "/mirror/f.png":
            return httpx.Response(200, content=png, headers={"Content-Type": "text/plain"})  # the type lies
        assert request.url.path == "/v1/uploads"
        return httpx.Response(200, json={"status": "ready", "url": "https://storage.zooop.ai/p/u.png",
                                         "size": len(png), "contentType": "image/png"})

    with zooop_client(handler) as c:
        assert upload(c, "https://cdn.example.com/tail/f.png") == "https://storage.zooop.ai/p/u.png"
        assert upload(c, "https://storage.zooop.ai/p/mine.png") == "https://storage.zooop.ai/p/mine.png"
    assert [(r.method, str(r.url)) for r in seen] == [
        ("GET", "https://cdn.example.com/tail/f.png"), ("GET", "https://api.zooop.ai/mirror/f.png"),
        ("POST", "https://api.zooop.ai/v1/uploads")]
    for fetched in seen[:2]:
        assert "authorization" not in fetched.headers and ZOOOP_KEY not in str(fetched.headers.raw)
    posted = seen[2]
    assert (posted.headers["authorization"], posted.headers["content-type"], posted.content) == \
        (f"Bearer {ZOOOP_KEY}", "image/png", png)


def test_zooop_a_video_upload_is_polled_until_ready_and_a_blocked_one_is_refused() -> None:
    video = b"\0\0\0\x18ftypisom\0\0\0\0isomavc1" + b"\0" * 64
    polls: list[str] = []
    verdict = {"status": "ready", "url": "https://storage.zooop.ai/p/v.mp4", "contentType": "video/mp4"}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            assert (request.headers["content-type"], request.content) == ("video/mp4", video)
            return httpx.Response(202, json={"status": "processing", "uploadId": "u 1", "pollUrl": "/v1/uploads/u 1"})
        polls.append(request.url.raw_path.decode())
        if len(polls) % 3:
            return httpx.Response(202, json={"status": "processing"})
        return httpx.Response(200, json=verdict)

    with zooop_client(handler) as c:
        assert upload(c, {"dataBase64": base64.b64encode(video).decode(), "mimeType": "video/mp4"}, "video") == \
            "https://storage.zooop.ai/p/v.mp4"
        assert polls == ["/v1/uploads/u%201"] * 3
        verdict = {"status": "blocked", "labels": "porn", "error": "Uploaded content violates content policy"}
        with pytest.raises(BadRequestError, match=r"zooop refused the upload of .*: Uploaded content violates "
                                                  r"content policy \(porn\)"):
            upload(c, {"dataBase64": base64.b64encode(video).decode(), "mimeType": "video/mp4"}, "video")


def test_zooop_refuses_media_it_cannot_take_before_sending(tmp_path: Path) -> None:
    flac = tmp_path / "voice.flac"
    flac.write_bytes(b"fLaC" + b"\0" * 64)
    with zooop_client(lambda request: pytest.fail(f"sent {request.url}")) as c, \
            pytest.raises(InputError, match=r"upload: ZOOOP uploads take image/png, .*; voice\.flac is audio/flac"):
        upload(c, flac, "audio")
