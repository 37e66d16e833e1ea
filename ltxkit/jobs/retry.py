"""The one retry and polling policy: :class:`RetryPolicy` / :class:`PollPolicy` (held by
:class:`~ltxkit.jobs.config.ClientConfig`) and pure functions of (attempt, policy, server hint, draw).

The one retry step (:class:`~ltxkit.jobs.plan.Attempts`) uses these for every request, so a delay is
computed the same way whether a create is retried after a dropped connection, a status poll after a
503, or a download after a truncation. Randomness is passed in (``rand`` in [0, 1)) so the functions
are deterministic under test. Which answers are worth retrying is the provider's call
(``Provider.is_retryable``, by default :func:`is_retryable_status`).
"""

from __future__ import annotations

import email.utils
import math
from dataclasses import dataclass, fields

from ltxkit.errors import InputError

# 408 is a timeout the server noticed; 429 asks us to slow down; any 5xx may be transient.
RETRYABLE_STATUS = frozenset({408, 429})


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, capped at ``max_delay``.

    ``max_retry_after`` caps a server's ``Retry-After`` so a misconfigured server cannot park a client
    for hours.
    """

    max_retries: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0

    def __post_init__(self) -> None:
        if not all(math.isfinite(v) and v >= 0 for v in (self.max_retries, self.base_delay, self.max_delay,
                                                          self.max_retry_after)):
            raise InputError("max_retries and retry delays must not be negative, nor infinite or NaN")


@dataclass(frozen=True)
class PollPolicy:
    """How a job is polled: first wait ``interval``, growing by ``factor`` up to ``max_interval``;
    give up after ``timeout`` seconds of waiting in total. A job this client has just created may be
    unknown to the status endpoint for a while (eventual consistency): its 404s are polled through for
    ``not_found_grace`` seconds."""

    interval: float = 2.0
    max_interval: float = 30.0
    factor: float = 1.5
    timeout: float = 3600.0
    not_found_grace: float = 30.0

    def __post_init__(self) -> None:
        for name, value in (("poll_interval", self.interval), ("poll_max_interval", self.max_interval),
                            ("wait_timeout", self.timeout)):
            if not 0 < value < math.inf:
                raise InputError(f"{name} must be positive and finite, got {value!r}")
        if not 0 <= self.not_found_grace < math.inf:
            raise InputError(f"not_found_grace must be finite and not negative, got {self.not_found_grace!r}")
        if self.factor < 1:
            raise InputError(f"poll factor must be at least 1, got {self.factor!r}")


@dataclass(frozen=True)
class LimitPolicy:
    """How much a server may cost us: bytes, seconds and tries, so a hostile or broken server (an
    endless body, a gzip bomb, a 1 byte/s answer, a resume that never finishes) ends in a clear error.

    ``request_deadline`` bounds one API request with all its retries, ``download_deadline`` one download
    with all its retries and redirects; a download attempt slower than ``min_download_rate`` bytes/s over
    ``rate_window`` seconds is dropped (and retried). ``download_attempts`` caps the tries of one download
    in total (progress restarts the retry count, this cap it never restarts). A body is also capped by the
    size the server states for it.
    """

    max_reply_bytes: int = 4 << 20
    max_download_bytes: int = 64 << 30
    request_deadline: float = 300.0
    download_deadline: float = 4 * 3600.0
    min_download_rate: float = 1024.0
    rate_window: float = 30.0
    download_attempts: int = 30

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not math.isfinite(value) or value < 0 or (value == 0 and f.name != "min_download_rate"):
                raise InputError(f"{f.name} must be positive and finite, got {value!r}")


def is_retryable_status(status: int) -> bool:
    return status in RETRYABLE_STATUS or 500 <= status <= 599


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP-date (RFC 9110 §10.2.3).

    ``now`` is the current Unix time (for the date form). Unparseable values give None, so the caller
    falls back to its own backoff; dates in the past give 0.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        parsed = email.utils.parsedate_tz(text)
        if parsed is None:
            return None
        return max(0.0, float(email.utils.mktime_tz(parsed)) - now)
    return max(0.0, seconds) if seconds == seconds else None  # NaN is no hint


def retry_delay(attempt: int, policy: RetryPolicy, *, rand: float, retry_after: float | None = None) -> float:
    """Delay before retry number ``attempt + 1`` (``attempt`` counts from 0).

    A server's ``Retry-After`` is honoured as given (up to ``max_retry_after``): it knows when capacity
    returns, and jitter below it would only earn another 429. Otherwise "full jitter": uniform in
    [0, min(max_delay, base_delay·2^attempt)], which spreads a herd of clients best.
    """
    if retry_after is not None:
        return min(retry_after, policy.max_retry_after)
    ceiling = min(policy.max_delay, policy.base_delay * 2.0 ** min(attempt, 62))
    return rand * ceiling


def poll_delay(poll_number: int, policy: PollPolicy) -> float:
    """Wait before status poll ``poll_number + 1``: ``interval·factor^n``, at most ``max_interval``."""
    return min(policy.max_interval, policy.interval * policy.factor ** min(poll_number, 200))
