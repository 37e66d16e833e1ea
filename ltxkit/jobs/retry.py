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
from dataclasses import dataclass

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
        if self.max_retries < 0 or self.base_delay < 0 or self.max_delay < 0 or self.max_retry_after < 0:
            raise InputError("max_retries and retry delays must not be negative")


@dataclass(frozen=True)
class PollPolicy:
    """How a job is polled: first wait ``interval``, growing by ``factor`` up to ``max_interval``;
    give up after ``timeout`` seconds of waiting in total."""

    interval: float = 2.0
    max_interval: float = 30.0
    factor: float = 1.5
    timeout: float = 3600.0

    def __post_init__(self) -> None:
        for name, value in (("poll_interval", self.interval), ("poll_max_interval", self.max_interval),
                            ("wait_timeout", self.timeout)):
            if not value > 0:
                raise InputError(f"{name} must be positive, got {value!r}")
        if self.factor < 1:
            raise InputError(f"poll factor must be at least 1, got {self.factor!r}")


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
