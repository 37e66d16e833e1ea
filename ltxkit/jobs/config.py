"""Client configuration: where the API is, how to authenticate, and how patient to be.

Everything comes from arguments or ``LTXKIT_*`` environment variables. The API key is held here and
nowhere else; ``repr`` masks it, and it is checked to be header-safe up front because an HTTP library
that rejects a header value tends to quote the value in its error message.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Literal

from ltxkit.errors import InputError
from ltxkit.jobs.retry import LimitPolicy, PollPolicy, RetryPolicy
from ltxkit.timing import parse_number

DEFAULT_API_BASE = "https://api.killatamata.com"
AuthStyle = Literal["bearer", "x-api-key"]

ENV_BASE = "LTXKIT_API_BASE"
ENV_KEY = "LTXKIT_API_KEY"
ENV_AUTH = "LTXKIT_API_AUTH"

# numeric settings that may come from the environment: option name -> variable. The retry, poll and limit
# options are flat names for fields of the policies (``max_retries`` is ``retry.max_retries``).
_NUMERIC_ENV = {
    "timeout": "LTXKIT_TIMEOUT",
    "connect_timeout": "LTXKIT_CONNECT_TIMEOUT",
    "max_retries": "LTXKIT_MAX_RETRIES",
    "retry_base_delay": "LTXKIT_RETRY_BASE_DELAY",
    "retry_max_delay": "LTXKIT_RETRY_MAX_DELAY",
    "poll_interval": "LTXKIT_POLL_INTERVAL",
    "poll_max_interval": "LTXKIT_POLL_MAX_INTERVAL",
    "wait_timeout": "LTXKIT_WAIT_TIMEOUT",
    "not_found_grace": "LTXKIT_NOT_FOUND_GRACE",
    "concurrency": "LTXKIT_CONCURRENCY",
    "max_reply_bytes": "LTXKIT_MAX_REPLY_BYTES",
    "max_download_bytes": "LTXKIT_MAX_DOWNLOAD_BYTES",
    "request_deadline": "LTXKIT_REQUEST_DEADLINE",
    "download_deadline": "LTXKIT_DOWNLOAD_DEADLINE",
    "min_download_rate": "LTXKIT_MIN_DOWNLOAD_RATE",
    "rate_window": "LTXKIT_RATE_WINDOW",
    "download_attempts": "LTXKIT_DOWNLOAD_ATTEMPTS",
}
_POLICY_OPTIONS = {
    "max_retries": ("retry", "max_retries"), "retry_base_delay": ("retry", "base_delay"),
    "retry_max_delay": ("retry", "max_delay"), "poll_interval": ("poll", "interval"),
    "poll_max_interval": ("poll", "max_interval"), "wait_timeout": ("poll", "timeout"),
    "not_found_grace": ("poll", "not_found_grace"),
    **{f: ("limits", f) for f in ("max_reply_bytes", "max_download_bytes", "request_deadline", "download_deadline",
                                  "min_download_rate", "rate_window", "download_attempts")},
}
_INT_OPTIONS = frozenset({"max_retries", "concurrency", "max_reply_bytes", "max_download_bytes", "download_attempts"})


def limit_text(name: str, limits: LimitPolicy) -> str:
    """``the request_deadline limit of 1.5 (LTXKIT_REQUEST_DEADLINE)``: what an error cites."""
    value = getattr(limits, name)
    return f"the {name} limit of {value:g} ({_NUMERIC_ENV[name]})" if isinstance(value, float) \
        else f"the {name} limit of {value} ({_NUMERIC_ENV[name]})"


@dataclass(frozen=True)
class ClientConfig:
    base_url: str = DEFAULT_API_BASE
    api_key: str | None = field(default=None, repr=False)
    auth: AuthStyle = "bearer"
    timeout: float = 60.0
    connect_timeout: float = 10.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    poll: PollPolicy = field(default_factory=PollPolicy)
    limits: LimitPolicy = field(default_factory=LimitPolicy)
    concurrency: int = 4

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
        if not self.base_url.startswith(("http://", "https://")):
            raise InputError(f"API base must be an http(s) URL, got {self.base_url!r}")
        if self.auth not in ("bearer", "x-api-key"):
            raise InputError(f"API auth style must be 'bearer' or 'x-api-key', got {self.auth!r}")
        if self.api_key is not None and (not self.api_key or any(not 0x21 <= ord(c) <= 0x7E for c in self.api_key)):
            # never echo the value: that is the whole point of the check
            raise InputError(f"{ENV_KEY} must be non-empty printable ASCII without spaces")
        for name in ("timeout", "connect_timeout"):
            if not 0 < getattr(self, name) < math.inf:
                raise InputError(f"{name} must be positive and finite, got {getattr(self, name)!r}")
        if self.concurrency < 1:
            raise InputError(f"concurrency must be at least 1, got {self.concurrency}")

    def __repr__(self) -> str:
        shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.name != "api_key")
        return f"ClientConfig({shown}, api_key={'***' if self.api_key else None!r})"

    @classmethod
    def build(cls, **options: object) -> ClientConfig:
        """A config from options, where ``max_retries``, ``poll_interval``… set fields of the policies."""
        return cls().with_options(**options)

    def require_key(self) -> str:
        if not self.api_key:
            raise InputError(f"no API key: set {ENV_KEY} (see the account page of the API)")
        return self.api_key

    def with_options(self, **changes: object) -> ClientConfig:
        """A copy with ``changes``: fields, or the flat policy options (``max_retries=2``, ``poll_interval=0.1``)."""
        policies: dict[str, dict[str, object]] = {"retry": {}, "poll": {}, "limits": {}}
        plain: dict[str, object] = {}
        for name, value in changes.items():
            if name in _POLICY_OPTIONS:
                policy, attr = _POLICY_OPTIONS[name]
                policies[policy][attr] = value
            else:
                plain[name] = value
        for policy, values in policies.items():
            if values:
                plain[policy] = replace(plain.get(policy, getattr(self, policy)), **values)  # type: ignore[type-var]
        return replace(self, **plain)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, defaults: Mapping[str, object] | None = None,
                 **overrides: object) -> ClientConfig:
        """Build from ``LTXKIT_*`` variables over ``defaults`` (a provider's); explicit ``overrides`` (not None)
        win."""
        env = os.environ if env is None else env
        values: dict[str, object] = dict(defaults or {})
        if env.get(ENV_BASE):
            values["base_url"] = env[ENV_BASE]
        if env.get(ENV_KEY):
            values["api_key"] = env[ENV_KEY].strip()
        if env.get(ENV_AUTH):
            values["auth"] = env[ENV_AUTH].strip().lower()
        for name, var in _NUMERIC_ENV.items():
            raw = env.get(var)
            if raw:
                if name not in _INT_OPTIONS:
                    values[name] = parse_number(raw, name=var, minimum=0)
                    continue
                try:
                    values[name] = int(raw)
                except ValueError:
                    raise InputError(f"{var} must be a number, got {raw!r}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.build(**values)
