"""ZSky (seed 000): text-to-video only, so "extend" cannot be expressed there; plain generation can.

``POST /v1/videos/generate {prompt, length}`` → ``{job_id, status: queued, poll_url}``; poll
``GET /v1/jobs/{id}`` until ``completed`` (``result_url``, a 24-hour signed URL), ``blocked`` (safety)
or ``failed``. Auth is ``X-API-Key`` only. 429 is either the rate limit / the 3-concurrent-jobs limit
(retried, like 500 and 503) or the exhausted monthly allowance (final: :class:`PaymentRequiredError`);
451 is a safety refusal of the request (final: :class:`BadRequestError`). ``DELETE /v1/jobs/{id}``
purges the output early; it does not cancel. ``length`` is taken to be frames (the seed's 121 is an
LTX-style 8n+1 count); the seed documents no other video parameter.

ZSky takes no idempotency key and has no job list, so a create that may have been done is never sent
again: neither a lost answer nor a 503, which the seed words "Workers unavailable; queued — please retry
shortly" (queued: the video may exist and count against the allowance; retry: perhaps not). The error
says so and points at ``/v1/usage``'s counters. The burst limit (20 requests a minute per key) is not
said to spare polls, so the client paces every request to it (``request_window``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ltxkit.errors import ApiError, PaymentRequiredError
from ltxkit.jobs.models import JobRequest
from ltxkit.jobs.pricebook import Price
from ltxkit.jobs.providers.base import Built, RestProvider, frozen
from ltxkit.jobs.providers.capabilities import Capabilities
from ltxkit.jobs.providers.request import ExtendRequest
from ltxkit.jobs.wire import RequestSpec, dig

ALLOWANCE = "videos of the monthly allowance"


@dataclass(frozen=True)
class ZSkyProvider(RestProvider):
    name: str = "zsky"
    rank: int = 1
    tasks: Mapping[str, str] = field(default_factory=lambda: frozen({
        "videos.generate": "/v1/videos/generate", "images.generate": "/v1/images/generate"}))
    status_path: str = "/v1/jobs/{id}"
    balance_path: str = "/v1/usage"
    job_id_fields: tuple[str, ...] = ("job_id",)
    outputs_fields: tuple[str, ...] = ("result_url",)
    failed_words: frozenset[str] = frozenset({"failed", "blocked"})
    auth_style: str | None = "x-api-key"
    request_window: tuple[int, float] | None = (20, 60.0)  # "Burst: 20 requests per minute per key"
    money_unit: str = ALLOWANCE  # a flat $99/mo plan; overage ($0.50 a video) is opt-in, off by default
    config_defaults: Mapping[str, object] = field(default_factory=lambda: frozen({
        "base_url": "https://zsky.ai", "concurrency": 3}))  # 3 concurrent jobs per key
    capabilities: Capabilities = field(default_factory=lambda: Capabilities(
        purge="`DELETE /v1/jobs/{id}`",
        remarks={"overlap_frames": "v1 is text-to-video only", "last_frame": "image-to-video is promised for v2",
                 "cancel": "`DELETE /v1/jobs/{id}` purges the output, it does not cancel",
                 "quote": "monthly allowance counters at `/v1/usage`"}))

    def task_for(self, request: ExtendRequest) -> str:
        return "videos.generate"

    def build(self, request: ExtendRequest) -> Built:
        body: dict[str, Any] = {"prompt": request.prompt}
        if request.frames is not None:
            body["length"] = request.frames
        notes = [f"zsky v1 takes no {what}: {value} not sent, zsky chooses" for what, value in (
            ("size", request.size and f"{request.size[0]}x{request.size[1]}"), ("fps", request.fps),
            ("seed", request.seed), ("model", request.model)) if value is not None]
        body.update(request.extra)
        return Built("videos.generate", body, tuple(notes))

    def documented_price(self, request: JobRequest) -> Price | None:
        return Price(Decimal(1), self.money_unit) if request.task == "videos.generate" else None

    def funds(self, payload: object) -> Price | None:
        """``base_videos_allowance - videos_used`` of ``/v1/usage`` (the month's videos left)."""
        allowance, used = (Price.parse(dig(payload, k), self.money_unit) for k in ("base_videos_allowance",
                                                                                    "videos_used"))
        if allowance is None or used is None:
            return None
        return Price(max(Decimal(0), allowance.amount - used.amount), self.money_unit)

    def purge_request(self, job_id: str) -> RequestSpec:
        """``DELETE /v1/jobs/{id}``: remove the output from storage before the 7-day auto-delete (204)."""
        return RequestSpec("DELETE", self.id_path(self.status_path, job_id))

    def unsure_create(self, status: int, payload: object) -> str | None:
        if status == 503:
            return "ZSky's 503 means 'queued — please retry', so the video may be queued already"
        return None

    def unsent_reason(self) -> str:
        return ("ZSky takes no idempotency key and has no job list to look the job up by, so a second create "
                "could be a second video; compare videos_used at /v1/usage (ltxkit balance) before trying again")

    def _allowance_spent(self, status: int, payload: object) -> bool:
        text = self.error_text(payload)[0] or ""
        return status == 429 and "allowance" in text.lower()

    def is_retryable(self, status: int, payload: object) -> bool:
        return not self._allowance_spent(status, payload) and super().is_retryable(status, payload)

    def error_class(self, status: int, payload: object) -> type[ApiError] | None:
        return PaymentRequiredError if self._allowance_spent(status, payload) else super().error_class(status, payload)


ZSKY = PROVIDER = ZSkyProvider()
