"""Everything specific to one hosted jobs API, in one place: paths, id fields, status words, errors.

The client core (retries, polling, downloads, journal) only talks to a :class:`Provider`. Another
hosted API with other paths, id fields or status words is a new ``Provider(...)`` instance (or a
subclass overriding ``submit_request``/``status_request``/``parse_job`` when its shapes differ more),
passed as ``Client(provider=...)``; nothing else changes.

The media-jobs API documents the submit and status endpoints but not every status word, so statuses
are mapped through synonym sets and anything unknown counts as still running (the raw word is kept).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from ltxkit.errors import ApiError
from ltxkit.jobs.retry import is_retryable_status, parse_retry_after

JobState = Literal["running", "done", "failed"]


@dataclass(frozen=True)
class RequestSpec:
    """One API request, before authentication: safe to log, never holds the key.

    ``path`` is relative to the API base; ``auth=False`` marks endpoints that need no key (health).
    The body is ``json``, or raw ``content`` bytes, or multipart ``files`` (``{field: (name, bytes, mime)}``),
    for APIs whose upload step takes a file. ``idempotent=False`` marks a create the server cannot
    deduplicate (no idempotency key): it is not sent again after an answer that may have been lost.
    """

    method: str
    path: str
    params: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    auth: bool = True
    content: bytes | None = field(default=None, repr=False)
    files: Mapping[str, tuple[str, bytes, str]] | None = field(default=None, repr=False)
    idempotent: bool = True

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class Job:
    """A job's state as last reported by the server."""

    id: str
    state: JobState
    raw_status: str | None
    outputs: tuple[str, ...] = ()
    error: str | None = None
    payload: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {"jobId": self.id, "status": self.state, "rawStatus": self.raw_status,
                "outputs": list(self.outputs), "error": self.error}


def dig(payload: object, path: str) -> object:
    """``dig(d, "result.jobId")`` → ``d["result"]["jobId"]`` or None when any step is missing."""
    node = payload
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def _first(payload: object, paths: tuple[str, ...]) -> object:
    for path in paths:
        value = dig(payload, path)
        if value is not None and value != "":
            return value
    return None


def _frozen(d: dict[str, str]) -> Mapping[str, str]:
    return MappingProxyType(d)


@dataclass(frozen=True)
class Provider:
    """Description of a hosted jobs API. Defaults describe the media-jobs API (``MEDIA_JOBS``)."""

    name: str = "media-jobs"
    submit_path: str = "/api/v1/media/jobs"
    status_path: str = "/api/v1/media/jobs"
    status_id_param: str = "jobId"
    details_params: Mapping[str, str] = field(default_factory=lambda: _frozen({"includeDetails": "1"}))
    balance_path: str = "/api/v1/balance"
    health_path: str = "/api/v1/health"
    idempotency_header: str = "X-Idempotency-Key"
    idempotency_body_field: str | None = "idempotencyKey"
    # documented order: externalJobId // jobId // result.jobId // id
    job_id_fields: tuple[str, ...] = ("externalJobId", "jobId", "result.jobId", "id")
    status_fields: tuple[str, ...] = ("status", "state", "result.status", "job.status")
    outputs_fields: tuple[str, ...] = ("downloadableOutputUrls", "result.downloadableOutputUrls")
    error_fields: tuple[str, ...] = ("error", "errorMessage", "result.error", "failureReason")
    done_words: frozenset[str] = frozenset({
        "completed", "complete", "succeeded", "success", "successful", "done", "finished",
    })
    failed_words: frozenset[str] = frozenset({
        "failed", "failure", "error", "errored", "cancelled", "canceled", "blocked", "rejected", "aborted",
        "expired", "timed_out",
    })
    # The one auth header the API accepts ("bearer" or "x-api-key"); None: the configured style.
    auth_style: str | None = None
    # ClientConfig values this API wants unless LTXKIT_* or explicit options say otherwise
    # (its base URL, the polling pace it documents, its concurrent-job limit).
    config_defaults: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))

    def submit_request(self, task: str, input_: Mapping[str, Any], key: str) -> RequestSpec:
        """The create call; the idempotency key goes in the header and (if the API has one) the body."""
        body: dict[str, Any] = {"task": task, "input": dict(input_)}
        if self.idempotency_body_field:
            body[self.idempotency_body_field] = key
        return RequestSpec("POST", self.submit_path, json=body, headers={self.idempotency_header: key})

    def status_request(self, job_id: str, details: bool = False) -> RequestSpec:
        params = {self.status_id_param: job_id, **(self.details_params if details else {})}
        return RequestSpec("GET", self.status_path, params=params)

    def balance_request(self) -> RequestSpec:
        return RequestSpec("GET", self.balance_path)

    def health_request(self) -> RequestSpec:
        return RequestSpec("GET", self.health_path, auth=False)

    def map_status(self, raw: str | None) -> JobState:
        word = (raw or "").strip().lower().replace("-", "_").replace(" ", "_")
        if word in self.done_words:
            return "done"
        if word in self.failed_words:
            return "failed"
        return "running"

    def job_id(self, payload: object) -> str | None:
        value = _first(payload, self.job_id_fields)
        return None if value is None or isinstance(value, (dict, list, bool)) else str(value)

    def outputs(self, payload: object) -> tuple[str, ...]:
        value = _first(payload, self.outputs_fields)
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, list):
            return ()
        urls: list[str] = []
        for item in value:
            url = item.get("url") if isinstance(item, Mapping) else item
            if isinstance(url, str) and url:
                urls.append(url)
        return tuple(urls)

    def error_text(self, payload: object) -> tuple[str | None, object]:
        """The server's ``error`` text and ``details`` (any JSON) from an error body or a failed job."""
        error = _first(payload, self.error_fields)
        if isinstance(error, Mapping):  # {"error": {"message": ...}} shapes
            error = error.get("message") or error.get("error") or str(dict(error))
        details = dig(payload, "details")
        return (None if error is None else str(error)), details

    def retry_hint(self, headers: Mapping[str, str], body: bytes, now: float) -> float | None:
        """Seconds the server asked us to wait before trying again (``Retry-After``), or None.

        Subclasses add their API's other signals (a ``retry_after`` body field, ``X-RateLimit-Reset``).
        """
        return parse_retry_after(headers.get("retry-after"), now)

    def is_retryable(self, status: int, payload: object) -> bool:
        """Whether an error answer is worth retrying: 408/429/5xx, unless the API says a 429 is final."""
        return is_retryable_status(status)

    def error_class(self, status: int, payload: object) -> type[ApiError] | None:
        """The error type for an answer when the API gives a status another meaning (None: by status)."""
        return None

    def parse_job(self, payload: Mapping[str, Any], known_id: str | None = None) -> Job:
        """A submit or status response → :class:`Job`. ``known_id`` fills in when the body has no id."""
        job_id = self.job_id(payload) or known_id
        if job_id is None:
            raise ValueError("no job id in the response")
        raw = _first(payload, self.status_fields)
        raw_status = None if raw is None else str(raw)
        state = self.map_status(raw_status)
        error = self.error_text(payload)[0] if state == "failed" else None
        return Job(job_id, state, raw_status, self.outputs(payload), error, payload)


MEDIA_JOBS = Provider()
