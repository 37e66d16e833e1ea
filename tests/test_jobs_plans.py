"""The sans-I/O plans driven directly: each test sends outcomes into a plan and reads the actions it
yields, so retry and polling decisions are checked exactly, with no socket and no sleep. The last tests
run a real :class:`Client` over ``httpx.MockTransport`` for what only the executor does."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from ltxkit.errors import (
    ApiConnectionError,
    BadRequestError,
    DownloadError,
    JobTimeoutError,
    PaymentRequiredError,
    ServerError,
)
from ltxkit.jobs import MEDIA_JOBS, Client, PollPolicy, Provider, RetryPolicy
from ltxkit.jobs.download import download_plan, validator_path
from ltxkit.jobs.plan import (
    Context,
    Failure,
    Fetch,
    FetchResult,
    Plan,
    Reply,
    Send,
    Sleep,
    request_plan,
    submit_plan,
    wait_plan,
)
from ltxkit.jobs.providers import get_provider
from ltxkit.jobs.wire import RequestSpec

SPEC = RequestSpec("GET", "/api/v1/balance")
BASE = "http://127.0.0.1:9"


def context(provider: Provider = MEDIA_JOBS, *, retries: int = 3, clock: Callable[[], float] = lambda: 0.0,
            poll: PollPolicy | None = None) -> Context:
    """A context whose randomness and clocks are fixed: the full-jitter draw is always 1 (the ceiling)."""
    return Context(provider, RetryPolicy(max_retries=retries, base_delay=0.5, max_delay=4.0),
                   poll or PollPolicy(interval=2.0, max_interval=5.0, factor=2.0, timeout=20.0), BASE,
                   lambda text: text, rand=lambda: 1.0, clock=clock, wall=lambda: 1_000_000.0)


def reply(status: int, body: Any = None, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, headers or {}, json.dumps(body if body is not None else {}).encode())


def drive(plan: Plan[Any], outcomes: Iterator[Any], actions: list[Any] | None = None) -> tuple[list[Any], Any]:
    """Run ``plan``, answering each Send/Fetch with the next outcome and each Sleep with None; the actions
    it yielded are collected in ``actions`` (also when it raises)."""
    actions = [] if actions is None else actions
    value: Any = None
    try:
        while True:
            action = plan.send(value)
            actions.append(action)
            value = None if isinstance(action, Sleep) else next(outcomes)
    except StopIteration as stop:
        return actions, stop.value


def sleeps(actions: list[Any]) -> list[float]:
    return [a.seconds for a in actions if isinstance(a, Sleep)]


# ---- request_plan: the one retry step ------------------------------------------------------------------------


def test_503s_are_retried_with_the_backoff_then_the_answer_returns() -> None:
    actions, result = drive(request_plan(context(), SPEC), iter([reply(503), reply(503), reply(200, {"ok": 1})]))
    assert sleeps(actions) == [0.5, 1.0]
    assert [a.spec for a in actions if isinstance(a, Send)] == [SPEC] * 3
    assert result.json() == {"ok": 1}


def test_retry_after_is_the_wait_instead_of_the_backoff() -> None:
    actions, _ = drive(request_plan(context(), SPEC),
                       iter([reply(429, headers={"retry-after": "7"}), reply(200)]))
    assert sleeps(actions) == [7.0]


def test_retries_are_counted_against_the_policy_then_the_error_is_raised() -> None:
    with pytest.raises(ServerError, match=r"GET /api/v1/balance: HTTP 502: bad gateway"):
        drive(request_plan(context(retries=2), SPEC), iter([reply(502, {"error": "bad gateway"})] * 3))
    actions: list[Any] = []
    with pytest.raises(ApiConnectionError, match=r"ReadTimeout: slow after 3 tries$"):
        drive(request_plan(context(retries=2), SPEC), iter([Failure("ReadTimeout: slow")] * 3), actions)
    assert sleeps(actions) == [0.5, 1.0] and len([a for a in actions if isinstance(a, Send)]) == 3


def test_a_400_and_an_unretryable_failure_raise_at_once() -> None:
    with pytest.raises(BadRequestError, match="prompt is required"):
        drive(request_plan(context(), SPEC), iter([reply(400, {"error": "prompt is required"})]))
    with pytest.raises(ApiConnectionError, match=r"^GET /api/v1/balance: InvalidURL: bad$"):
        drive(request_plan(context(), SPEC), iter([Failure("InvalidURL: bad", retryable=False)]))


def test_a_lost_answer_to_a_create_without_idempotency_is_not_sent_again() -> None:
    spec = RequestSpec("POST", "/v1/videos/generate", idempotent=False)
    with pytest.raises(ApiConnectionError, match="not sent again: zsky cannot deduplicate it"):
        drive(request_plan(context(get_provider("zsky")), spec), iter([Failure("RemoteProtocolError: dropped")]))
    # nothing reached the server (no connection): safe to send again
    actions, _ = drive(request_plan(context(get_provider("zsky")), spec),
                       iter([Failure("ConnectError: refused", sent=False), reply(200)]))
    assert len([a for a in actions if isinstance(a, Send)]) == 2


def test_the_provider_decides_what_is_retryable() -> None:
    capped = reply(429, {"error": {"message": "daily cap", "code": "token_daily_cap_reached"}})
    with pytest.raises(PaymentRequiredError, match="daily cap"):
        drive(request_plan(context(get_provider("zooop")), SPEC), iter([capped]))
    actions, _ = drive(request_plan(context(get_provider("zooop")), SPEC),
                       iter([reply(429, {"error": {"message": "slow down", "code": "rate_limited"}}), reply(200)]))
    assert sleeps(actions) == [0.5]


def test_a_create_keeps_its_idempotency_key_on_every_try() -> None:
    actions, job = drive(submit_plan(context(), "video.generate", {"prompt": "x"}, "k-1"),
                         iter([Failure("ReadTimeout: slow"), reply(200, {"externalJobId": "j-1", "status": "queued"})]))
    sends = [a.spec for a in actions if isinstance(a, Send)]
    assert [dict(s.headers) for s in sends] == [{"X-Idempotency-Key": "k-1"}] * 2
    assert [s.json["idempotencyKey"] for s in sends] == ["k-1", "k-1"]
    assert (job.id, job.state) == ("j-1", "running")


# ---- wait_plan: polling pace and the total wait limit ---------------------------------------------------------


def test_polls_grow_to_the_maximum_and_unknown_words_keep_polling() -> None:
    words = ["queued", "warming_up", "running", "rendering", "succeeded"]
    actions, job = drive(wait_plan(context(), "j-1"), iter([reply(200, {"jobId": "j-1", "status": w}) for w in words]))
    assert sleeps(actions) == [2.0, 4.0, 5.0, 5.0]
    assert (job.state, job.raw_status) == ("done", "succeeded")


def test_the_wait_limit_raises_before_sleeping_past_it() -> None:
    now = [0.0]

    def clock() -> float:
        return now[0]

    plan = wait_plan(context(clock=clock), "j-1")
    running = reply(200, {"jobId": "j-1", "status": "running"})
    assert plan.send(None) == Send(MEDIA_JOBS.status_request("j-1"))
    assert plan.send(running) == Sleep(2.0)
    now[0] = 17.0  # 17 s waited: the next 4 s poll would pass the 20 s limit
    assert isinstance(plan.send(None), Send)
    with pytest.raises(JobTimeoutError, match=r"job j-1 still running after 17\.0 s \(wait limit 20 s\)"):
        plan.send(running)


# ---- download_plan: the same retry step, and the provider's view of what is retryable ---------------------------


def fetch_outcomes(part: Path, chunks: Sequence[tuple[int, bytes, int | None]]) -> Iterator[FetchResult]:
    """Each attempt appends its bytes to the .part file (as the executor would, with the validator they
    came under) and reports the result."""
    for status, data, expected in chunks:
        with open(part, "ab") as out:
            out.write(data)
        validator_path(part).write_text('"v1"')
        size = part.stat().st_size
        yield FetchResult(status, {}, size, complete=status in (200, 206) and expected is not None,
                          expected=expected)


def test_a_short_download_is_resumed_from_where_it_stopped(tmp_path: Path) -> None:
    dest = tmp_path / "clip.mp4"
    outcomes = fetch_outcomes(tmp_path / "clip.mp4.part", [(200, b"abc", 6), (206, b"def", 6)])
    actions, path = drive(download_plan(context(), f"{BASE}/files/clip.mp4", dest), outcomes)
    assert [a.offset for a in actions if isinstance(a, Fetch)] == [0, 3]
    assert sleeps(actions) == [0.5]
    assert path == dest and dest.read_bytes() == b"abcdef"


def test_progress_restarts_the_download_retry_count(tmp_path: Path) -> None:
    dest = tmp_path / "clip.mp4"
    steps = [(200, b"a", 9), (206, b"b", 9), (206, b"c", 9), (206, b"", 9)]
    with pytest.raises(DownloadError, match=r"got 3 of 9 bytes after 2 tries; clip\.mp4\.part is kept"):
        drive(download_plan(context(retries=1), f"{BASE}/files/clip.mp4", dest),
              fetch_outcomes(tmp_path / "clip.mp4.part", steps))


def test_download_retries_follow_the_providers_rule(tmp_path: Path) -> None:
    """Regression: the download loop retried every 5xx by status alone, ignoring ``is_retryable``."""

    class NoRetries(Provider):
        def is_retryable(self, status: int, payload: object) -> bool:
            return False

    def gone() -> Iterator[FetchResult]:
        yield FetchResult(503, {}, 0, body=b'{"error": "maintenance"}')

    with pytest.raises(DownloadError, match=r"download clip\.mp4: HTTP 503: maintenance"):
        drive(download_plan(context(NoRetries()), f"{BASE}/files/clip.mp4", tmp_path / "clip.mp4"), gone())
    actions, _ = drive(download_plan(context(), f"{BASE}/f/clip.mp4", tmp_path / "clip.mp4"),
                       iter([FetchResult(503, {}, 0), *fetch_outcomes(tmp_path / "clip.mp4.part", [(200, b"x", 1)])]))
    assert sleeps(actions) == [0.5]


# ---- the executor over httpx.MockTransport ---------------------------------------------------------------------


def mock_client(handler: Callable[[httpx.Request], httpx.Response], **options: Any) -> Client:
    settings: dict[str, Any] = {"base_url": BASE, "api_key": "sk-mock-1234567", "max_retries": 3,
                                "retry_base_delay": 0.0, "progress": False, **options}
    return Client(http_client=httpx.Client(transport=httpx.MockTransport(handler)), **settings)


def test_a_dropped_connection_is_a_retried_failure_with_the_same_key() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            raise httpx.RemoteProtocolError("server disconnected without sending a response", request=request)
        return httpx.Response(200, json={"externalJobId": "j-9", "status": "queued"})

    with mock_client(handler) as c:
        job = c.submit("video.generate", {"prompt": "a lighthouse", "durationFrames": 9}, key="k-9")
    assert job.id == "j-9"
    assert [r.headers["x-idempotency-key"] for r in seen] == ["k-9", "k-9"]


def test_transport_errors_never_carry_the_key() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"refused with {request.headers['authorization']}", request=request)

    with mock_client(handler, max_retries=1) as c, pytest.raises(ApiConnectionError) as info:
        c.balance()
    assert "sk-mock-1234567" not in str(info.value) and "after 2 tries" in str(info.value)
