"""The client core, written once as sans-I/O plans that both the sync and the async face execute.

A *plan* is a generator that yields actions (:class:`Send` an API request, :class:`Sleep`,
:class:`Fetch` a URL into a ``.part`` file) and receives their outcomes. It holds all the decisions —
what to send, whether to retry, how long to wait, when a job is finished, when a download is complete —
while :class:`~ltxkit.jobs.client.Client` and :class:`~ltxkit.jobs.client.AsyncClient` only perform
actions with ``httpx.Client``/``httpx.AsyncClient``. So the two faces cannot drift apart: they run the
same plan, with the same retry policy, status mapping and error texts. Tests drive a plan directly:
send it outcomes, read the actions it yields (no socket, no sleep).

Plans know a provider only through :class:`ProviderApi` (what they call on it); the provider classes
live in :mod:`ltxkit.jobs.providers`. Every retry — of an API request or of a download — is one
:class:`Attempts` step: the policy's delay (or the server's hint), a log line, a :class:`Sleep`.
"""

from __future__ import annotations

import bisect
import dataclasses
import json
import logging
import math
import random
import threading
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any, Protocol, TypeVar

from ltxkit.errors import (
    ApiConnectionError,
    ApiError,
    AuthError,
    BadRequestError,
    ConflictError,
    JobFailedError,
    JobTimeoutError,
    LtxkitError,
    NotFoundError,
    PaymentRequiredError,
    RateLimitedError,
    ServerError,
)
from ltxkit.jobs.config import limit_text
from ltxkit.jobs.retry import LimitPolicy, PollPolicy, RetryPolicy, poll_delay, retry_delay
from ltxkit.jobs.wire import Job, RequestSpec, dig, reported_sizes
from ltxkit.progress import report

T = TypeVar("T")
log = logging.getLogger("ltxkit.jobs")


class ProviderApi(Protocol):
    """What the plans need from a provider: its requests, how to read its answers, what to retry."""

    @property
    def name(self) -> str: ...

    @property
    def job_id_fields(self) -> tuple[str, ...]: ...

    def submit_request(self, task: str, input_: Mapping[str, Any], key: str) -> RequestSpec: ...

    def status_request(self, job_id: str, details: bool = False) -> RequestSpec: ...

    def parse_job(self, payload: Mapping[str, Any], known_id: str | None = None) -> Job: ...

    def error_text(self, payload: object) -> tuple[str | None, object]: ...

    def error_class(self, status: int, payload: object) -> type[ApiError] | None: ...

    def retry_hint(self, headers: Mapping[str, str], body: bytes, now: float) -> float | None: ...

    def is_retryable(self, status: int, payload: object) -> bool: ...

    def unsure_create(self, status: int, payload: object) -> str | None: ...

    def unsent_reason(self) -> str: ...


# ---- actions a plan yields -------------------------------------------------------------------------


@dataclass(frozen=True)
class Send:
    """Perform one API request and read the whole answer → :class:`Reply` or :class:`Failure`.

    The executor gives up at ``deadline`` (the plan's clock) and reads at most ``max_bytes`` of the
    decoded answer: both are failures, not exceptions, so the plan words the error."""

    spec: RequestSpec
    deadline: float = field(default=math.inf, compare=False)
    max_bytes: int = field(default=LimitPolicy.max_reply_bytes, compare=False)


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Fetch:
    """GET ``url`` into ``part`` (resuming at ``offset`` with ``Range``) → :class:`FetchResult`.

    ``auth`` says whether the URL may see the API key (same origin as the API base only). ``validator``
    (an ETag or Last-Modified of the bytes already in the ``.part``) goes out as ``If-Range``; ``sizes``
    are the sizes the job reported for the file. The executor stops writing past ``max_bytes`` (or any
    stated size), at ``deadline`` and below ``limits.min_download_rate``.
    """

    url: str
    part: Path
    offset: int
    auth: bool
    label: str
    validator: str | None = None
    sizes: tuple[int, ...] = ()
    deadline: float = field(default=math.inf, compare=False)
    limits: LimitPolicy = field(default_factory=LimitPolicy, compare=False)


# ---- outcomes sent back into a plan ----------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass(frozen=True)
class Failure:
    """The request got no complete answer. ``retryable``: network, timeout or a dropped connection.
    ``sent``: the request may have reached the server (False only when no connection was made)."""

    message: str
    retryable: bool = True
    sent: bool = True


@dataclass(frozen=True)
class FetchResult:
    """What one download attempt left behind: ``size`` bytes in the ``.part`` file.

    ``complete``: the body stream ended normally (httpx has already checked it against
    Content-Length); ``expected``: the full file size when the server told it.
    """

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    size: int = 0
    complete: bool = False
    expected: int | None = None
    error: str | None = None
    retryable: bool = True
    body: bytes = b""
    refused: bool = False  # the answer is unacceptable (encoded, too big, inconsistent sizes): no retry


Action = Send | Sleep | Fetch
Plan = Generator[Action, Any, T]


class Pacer:
    """At most ``count`` requests in any ``seconds``: a provider's documented request window (ZSky: 20 a
    minute per key, polls included), kept by the client so that it is never the server's 429 that paces
    us. A request is counted from its booked start until its answer has come back (the server counted it
    somewhere in between), so a start is booked a full window after an earlier answer, never after an
    earlier send. One per client, shared by every plan it runs (threads and tasks alike)."""

    def __init__(self, count: int, seconds: float) -> None:
        self.count, self.seconds = count, seconds
        self._times: list[float] = []  # the latest ``count`` starts/answers, in order
        self._lock = threading.Lock()

    def _keep(self, value: float) -> None:
        bisect.insort(self._times, value)
        del self._times[:-self.count]

    def reserve(self, now: float) -> float:
        """Book the next free start (a time on the plan's clock, ``now`` or later)."""
        with self._lock:
            slot = now if len(self._times) < self.count else max(now, self._times[-self.count] + self.seconds)
            self._keep(slot)
            return slot

    def done(self, slot: float, now: float) -> None:
        """The request booked at ``slot`` got its answer (or gave up) at ``now``."""
        with self._lock:
            if slot in self._times:
                self._times.remove(slot)
            self._keep(max(slot, now))


@dataclass(frozen=True)
class Context:
    """What plans need besides their arguments. ``scrub`` removes the API key from any text."""

    provider: ProviderApi
    retry: RetryPolicy
    poll: PollPolicy
    base_url: str
    scrub: Callable[[str], str]
    # journal rows belong to one server and account: the provider's name @ a fingerprint of both, so the
    # same command run against the emulator and then the real API (or another account) never mixes jobs
    scope: str = "media-jobs"
    limits: LimitPolicy = field(default_factory=LimitPolicy)
    pacer: Pacer | None = None
    # the jobs this client created (id → clock at the create), however they were submitted: a wait soon
    # after polls through their 404s (eventual consistency); forgotten once seen, or after the grace
    created: dict[str, float] = field(default_factory=dict, compare=False)
    rand: Callable[[], float] = random.random
    clock: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time


class Runner(Protocol):
    """A client face that performs a plan's actions (:class:`~ltxkit.jobs.client.Client`)."""

    @property
    def context(self) -> Context: ...

    def run(self, plan: Plan[T]) -> T: ...


class AsyncRunner(Protocol):
    """The async face (:class:`~ltxkit.jobs.client.AsyncClient`)."""

    @property
    def context(self) -> Context: ...

    async def run(self, plan: Plan[T]) -> T: ...


# ---- errors from answers ---------------------------------------------------------------------------

_STATUS_ERRORS: dict[int, type[ApiError]] = {
    400: BadRequestError, 422: BadRequestError, 401: AuthError, 403: AuthError, 402: PaymentRequiredError,
    404: NotFoundError, 409: ConflictError, 429: RateLimitedError,
}


def _short(ctx: Context, value: object, limit: int = 500) -> str:
    """Server text for a message: the key scrubbed from the *whole* text first, then shortened (shortening
    first could cut the key in two and leave a part that no longer matches)."""
    text = ctx.scrub(value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _scrubbed(ctx: Context, value: object) -> object:
    """``details`` as the exception carries them: the same structure with the key scrubbed out."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return json.loads(ctx.scrub(json.dumps(value, default=str)))


def error_for_reply(ctx: Context, reply: Reply, what: str, cls: type[ApiError] | None = None) -> ApiError:
    """An :class:`ApiError` subclass for an error answer, carrying the server's ``error``/``details``."""
    payload = reply.json()
    error, details = ctx.provider.error_text(payload) if isinstance(payload, Mapping) else (None, None)
    if error is None:
        error = reply.body[:65536].decode("utf-8", "replace").strip() or _reason(reply.status)
    error = _short(ctx, error)
    details = _scrubbed(ctx, details)
    detail_text = None if details in (None, "", [], {}) else _short(ctx, details)
    message = f"{what}: HTTP {reply.status}: {error}" + (f" ({detail_text})" if detail_text else "")
    if cls is None:
        cls = ctx.provider.error_class(reply.status, payload) or \
            _STATUS_ERRORS.get(reply.status, ServerError if reply.status >= 500 else ApiError)
    return cls(message, status_code=reply.status, error=error, details=details)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "error"


# ---- plans -----------------------------------------------------------------------------------------


def retry_wait(ctx: Context, attempt: int, headers: Mapping[str, str] | None = None, body: bytes = b"") -> float:
    """The delay before the next try, honouring the server's hint (``Retry-After``, or what the provider
    reads instead) when the answer carried one."""
    hint = ctx.provider.retry_hint(headers, body, ctx.wall()) if headers is not None else None
    return retry_delay(attempt, ctx.retry, rand=ctx.rand(), retry_after=hint)


@dataclass
class Attempts:
    """The one retry step, shared by API requests and downloads: count tries against the policy, wait.

    A retry that would start past ``deadline`` (the limit named ``limit``) raises ``error`` instead."""

    ctx: Context
    label: str
    count: int = 0
    deadline: float = math.inf
    limit: str = "request_deadline"
    error: type[LtxkitError] = ApiConnectionError

    @property
    def left(self) -> bool:
        return self.count < self.ctx.retry.max_retries

    @property
    def tries(self) -> str:
        return f"after {self.count + 1} tries"

    def wait(self, problem: str, headers: Mapping[str, str] | None = None, body: bytes = b"") -> Plan[None]:
        """Sleep before the next try: the server's hint when the answer has one, else the backoff."""
        delay = retry_wait(self.ctx, self.count, headers, body)
        if self.ctx.clock() + delay >= self.deadline:
            self.stop(problem)
        log.info("%s: %s; retry %d/%d in %.2f s", self.label, problem, self.count + 1, self.ctx.retry.max_retries,
                 delay)
        self.count += 1
        yield Sleep(delay)

    def stop(self, problem: str) -> None:
        """Raise the deadline's error: ``problem`` is what the last try ended with."""
        raise self.error(f"{self.label}: {problem}; gave up at {limit_text(self.limit, self.ctx.limits)}")


def request_plan(ctx: Context, spec: RequestSpec) -> Plan[Reply]:
    """Send ``spec`` until it gets a 2xx answer, retrying what is worth retrying.

    The spec is sent unchanged on every try, so a create keeps its idempotency key. Network errors,
    timeouts, dropped connections, 408/429 and 5xx are retried (as the provider classifies them); other
    answers raise at once. A non-idempotent spec whose answer was lost is not sent again: the server
    may have done it, and nothing would deduplicate a second one.
    """
    attempts = Attempts(ctx, spec.label, deadline=ctx.clock() + ctx.limits.request_deadline)
    while True:
        slot = None if ctx.pacer is None else ctx.pacer.reserve(ctx.clock())
        if slot is not None and slot > ctx.clock():
            yield Sleep(slot - ctx.clock())
        outcome = yield Send(spec, attempts.deadline, ctx.limits.max_reply_bytes)
        if ctx.pacer is not None and slot is not None:
            ctx.pacer.done(slot, ctx.clock())
        if isinstance(outcome, Failure):
            if outcome.retryable and outcome.sent and not spec.idempotent:
                raise ApiConnectionError(f"{spec.label}: {outcome.message}; not sent again: {ctx.provider.name} "
                                         f"cannot deduplicate it, so it may have been done; "
                                         f"{ctx.provider.unsent_reason()}")
            if not outcome.retryable:
                raise ApiConnectionError(f"{spec.label}: {outcome.message}")
            if not attempts.left:
                raise ApiConnectionError(f"{spec.label}: {outcome.message} {attempts.tries}")
            yield from attempts.wait(outcome.message)
        elif 200 <= outcome.status < 300:
            return outcome  # type: ignore[no-any-return]
        elif not spec.idempotent and (unsure := ctx.provider.unsure_create(outcome.status, outcome.json())):
            error = error_for_reply(ctx, outcome, spec.label)
            raise type(error)(f"{error}; not sent again: {unsure}; {ctx.provider.unsent_reason()}",
                              status_code=error.status_code, error=error.error, details=error.details)
        elif ctx.provider.is_retryable(outcome.status, outcome.json()) and attempts.left:
            yield from attempts.wait(f"HTTP {outcome.status}", outcome.headers, outcome.body)
        else:
            raise error_for_reply(ctx, outcome, spec.label)


def json_plan(ctx: Context, spec: RequestSpec) -> Plan[dict[str, Any]]:
    """:func:`request_plan` and decode a JSON object answer."""
    reply = yield from request_plan(ctx, spec)
    payload = reply.json()
    if not isinstance(payload, dict):
        text = ctx.scrub(reply.body[:200].decode("utf-8", "replace"))
        raise ApiError(f"{spec.label}: expected a JSON object, got {text!r}", status_code=reply.status)
    # the key scrubbed from all a server said, before anything reads it: a server that echoes the key
    # must not get it into printed details, journaled output URLs or error texts
    return _scrubbed(ctx, payload)  # type: ignore[return-value]


def submit_plan(ctx: Context, task: str, input_: Mapping[str, Any], key: str) -> Plan[Job]:
    spec = ctx.provider.submit_request(task, input_, key)
    payload = yield from json_plan(ctx, spec)
    try:
        job = _clean(ctx, ctx.provider.parse_job(payload))
    except ValueError:
        raise ApiError(f"{spec.label}: the answer has no job id ({', '.join(ctx.provider.job_id_fields)}): "
                       f"{_short(ctx, payload)}") from None
    now = ctx.clock()
    for old in [j for j, at in ctx.created.items() if now - at > ctx.poll.not_found_grace]:
        ctx.created.pop(old, None)
    ctx.created[job.id] = now
    return job


def status_plan(ctx: Context, job_id: str, details: bool = False) -> Plan[Job]:
    payload = yield from json_plan(ctx, ctx.provider.status_request(job_id, details))
    return _clean(ctx, ctx.provider.parse_job(payload, job_id))


def _clean(ctx: Context, job: Job) -> Job:
    """The job with its error text scrubbed (it is journaled and printed) and its outputs' sizes as the
    payload states them (a download is checked against them)."""
    return dataclasses.replace(job, error=None if job.error is None else ctx.scrub(job.error),
                               sizes=reported_sizes(job.payload, job.outputs))


def failed_error(ctx: Context, job: Job) -> JobFailedError:
    raw_error, details = ctx.provider.error_text(job.payload)
    error = _short(ctx, job.error or raw_error or "no error text given")
    details = _scrubbed(ctx, details)
    detail_text = None if details in (None, "", [], {}) else _short(ctx, details)
    return JobFailedError(f"job {job.id} {job.raw_status or 'failed'}: {error}"
                          + (f" ({detail_text})" if detail_text else ""),
                          error=error, details=details)


def wait_plan(ctx: Context, job_id: str, *, details: bool = False,
              on_update: Callable[[Job], None] | None = None) -> Plan[Job]:
    """Poll until the job is done (→ the :class:`Job`), failed (→ :class:`JobFailedError`) or the
    total wait passes ``ctx.poll.timeout`` (→ :class:`JobTimeoutError`). Unknown words keep polling.

    A job this client created (``ctx.created``: by :func:`submit_plan`, whichever face or helper sent
    it) that the status endpoint has never known is polled through its 404s for
    ``ctx.poll.not_found_grace`` seconds from the create; a 404 after that, once the job was seen, or
    for a job created elsewhere is a :class:`NotFoundError`."""
    started = ctx.clock()
    polls = 0
    while True:
        try:
            job = yield from status_plan(ctx, job_id, details)
        except NotFoundError as exc:
            created = ctx.created.get(job_id)
            if created is None:
                raise
            waited = ctx.clock() - created
            if waited >= ctx.poll.not_found_grace:
                ctx.created.pop(job_id, None)
                raise NotFoundError(
                    f"job {job_id} was created, but {ctx.provider.name} still answers 404 for it after "
                    f"{waited:.1f} s (the not_found_grace limit of {ctx.poll.not_found_grace:g} s, "
                    f"LTXKIT_NOT_FOUND_GRACE): {exc}", status_code=exc.status_code, error=exc.error,
                    details=exc.details) from None
            log.info("job %s: not visible yet (HTTP 404) %.1f s after its create; polling again", job_id, waited)
            yield Sleep(min(poll_delay(polls, ctx.poll), ctx.poll.not_found_grace - waited))
            polls += 1
            continue
        ctx.created.pop(job_id, None)  # seen: a 404 from now on means it is gone
        percent = server_percent(job.payload)
        report(f"job {job_id}", shown_state(job), percent, None if percent is None else 100, "%")
        if on_update is not None:
            on_update(job)
        if job.state == "done":
            return job
        if job.state == "failed":
            raise failed_error(ctx, job)
        delay = poll_delay(polls, ctx.poll)
        polls += 1
        waited = ctx.clock() - started
        if waited + delay > ctx.poll.timeout:
            raise JobTimeoutError(f"job {job_id} still {job.raw_status or 'running'} after {waited:.1f} s "
                                  f"(wait limit {ctx.poll.timeout:g} s); wait again with: ltxkit jobs wait {job_id}")
        yield Sleep(delay)


QUEUED_WORDS = frozenset({"queued", "pending", "waiting", "submitted", "created", "scheduled", "in_queue",
                          "inqueue", "accepted", "starting"})


def shown_state(job: Job) -> str:
    """queued / running / done / failed: what a person waiting wants told apart (the client itself needs
    only running, and treats any unknown word as running)."""
    word = (job.raw_status or "").strip().lower().replace("-", "_").replace(" ", "_")
    return "queued" if job.state == "running" and word in QUEUED_WORDS else job.state


PROGRESS_FIELDS = ("progress", "percent", "progressPercent", "result.progress", "job.progress")


def server_percent(payload: Mapping[str, Any]) -> float | None:
    """The server's own progress, when it gives one, in percent: a fraction (0..1, ``0.4``) or a
    percentage (``40``, ``"40%"``) — the documents do not say which, so a value up to 1 is a fraction."""
    for path in PROGRESS_FIELDS:
        value = dig(payload, path)
        if isinstance(value, str):
            try:
                value = float(value.rstrip("% "))
            except ValueError:
                continue
        if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 100:
            return float(value) * 100 if value <= 1 else float(value)
    return None
