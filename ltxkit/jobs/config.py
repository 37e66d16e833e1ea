"""Client configuration: where the API is, how to authenticate, and how patient to be.

Everything comes from arguments or ``LTXKIT_*`` environment variables. The API key is held here and
nowhere else; ``repr`` masks it, and it is checked to be header-safe up front because an HTTP library
that rejects a header value tends to quote the value in its error message.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Literal

from ltxkit.errors import InputError
from ltxkit.jobs.retry import PollPolicy, RetryPolicy

DEFAULT_API_BASE = "https://api.killatamata.com"
AuthStyle = Literal["bearer", "x-api-key"]

ENV_BASE = "LTXKIT_API_BASE"
ENV_KEY = "LTXKIT_API_KEY"
ENV_AUTH = "LTXKIT_API_AUTH"

# numeric settings that may come from the environment: field name -> variable
_NUMERIC_ENV = {
    "timeout": "LTXKIT_TIMEOUT",
    "connect_timeout": "LTXKIT_CONNECT_TIMEOUT",
    "max_retries": "LTXKIT_MAX_RETRIES",
    "retry_base_delay": "LTXKIT_RETRY_BASE_DELAY",
    "retry_max_delay": "LTXKIT_RETRY_MAX_DELAY",
    "poll_interval": "LTXKIT_POLL_INTERVAL",
    "poll_max_interval": "LTXKIT_POLL_MAX_INTERVAL",
    "wait_timeout": "LTXKIT_WAIT_TIMEOUT",
    "concurrency": "LTXKIT_CONCURRENCY",
}


@dataclass(frozen=True)
class ClientConfig:
    base_url: str = DEFAULT_API_BASE
    api_key: str | None = field(default=None, repr=False)
    auth: AuthStyle = "bearer"
    timeout: float = 60.0
    connect_timeout: float = 10.0
    max_retries: int = 5
    retry_base_delay: float = 0.5
    retry_max_delay: float = 30.0
    poll_interval: float = 2.0
    poll_max_interval: float = 30.0
    wait_timeout: float = 3600.0
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
        for name in ("timeout", "connect_timeout", "poll_interval", "poll_max_interval", "wait_timeout"):
            if not getattr(self, name) > 0:
                raise InputError(f"{name} must be positive, got {getattr(self, name)!r}")
        if self.max_retries < 0 or self.retry_base_delay < 0 or self.retry_max_delay < 0:
            raise InputError("max_retries and retry delays must not be negative")
        if self.concurrency < 1:
            raise InputError(f"concurrency must be at least 1, got {self.concurrency}")

    def __repr__(self) -> str:
        shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.name != "api_key")
        return f"ClientConfig({shown}, api_key={'***' if self.api_key else None!r})"

    @property
    def retry(self) -> RetryPolicy:
        return RetryPolicy(self.max_retries, self.retry_base_delay, self.retry_max_delay)

    @property
    def poll(self) -> PollPolicy:
        return PollPolicy(self.poll_interval, self.poll_max_interval, timeout=self.wait_timeout)

    def require_key(self) -> str:
        if not self.api_key:
            raise InputError(f"no API key: set {ENV_KEY} (see the account page of the API)")
        return self.api_key

    def with_options(self, **changes: object) -> ClientConfig:
        return replace(self, **changes)  # type: ignore[arg-type]

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
        types = {f.name: f.type for f in fields(cls)}
        for name, var in _NUMERIC_ENV.items():
            raw = env.get(var)
            if raw:
                try:
                    values[name] = int(raw) if types[name] == "int" else float(raw)
                except ValueError:
                    raise InputError(f"{var} must be a number, got {raw!r}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
