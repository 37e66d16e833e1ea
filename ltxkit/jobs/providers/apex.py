"""Apex Studio (seed 001): a script-to-video API, so "extend" cannot be expressed there.

``POST /api/generate/video {script, duration (3-60 s), resolution (720p|1080p), model…}`` →
``{data: {jobId, status: queued}}``; poll ``GET /api/jobs?id=…`` until ``completed`` or ``failed``. The
endpoint table gives the answer as the job list ``{data: [...jobs]}``, the seed's client examples read
``{data: job}``: both are read, and in a list the job is the one whose ``jobId`` is ours (the list may or
may not be narrowed to it; a list without it is a 404, see ``wait_plan``'s grace for a job just created).
Bearer ``sk_live_…`` keys; errors are ``{error, code}``. Every answer carries
``X-RateLimit-Limit/Remaining/Reset`` (reset as a Unix time); a 429 carries ``Retry-After``, and when it
does not, the reset time is the hint. There is no idempotency key, so a create whose answer was lost is
not sent again (credits are charged at submit).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ltxkit.errors import InputError, NotFoundError
from ltxkit.jobs.models import JobRequest
from ltxkit.jobs.pricebook import Price
from ltxkit.jobs.providers.base import Built, RestProvider, frozen
from ltxkit.jobs.providers.capabilities import Capabilities, SizeRule
from ltxkit.jobs.providers.request import ExtendRequest
from ltxkit.jobs.wire import Job

# the document's endpoint table: credits per call, deducted at submit (refunded on failure)
CREDITS = {"video": 250, "text2video": 250, "b-roll": 150, "image": 10}
RESOLUTIONS = {(1280, 720): "720p", (1920, 1080): "1080p"}
DURATION_SECONDS = (3, 60)


@dataclass(frozen=True)
class ApexProvider(RestProvider):
    name: str = "apex"
    rank: int = 2
    tasks: Mapping[str, str] = field(default_factory=lambda: frozen({
        "video": "/api/generate/video", "text2video": "/api/generate/text2video", "b-roll": "/api/generate/b-roll",
        "image": "/api/generate/image"}))
    status_path: str = "/api/jobs"
    status_id_param: str = "id"
    balance_path: str = "/api/usage"
    job_id_fields: tuple[str, ...] = ("data.jobId", "data.id")
    status_fields: tuple[str, ...] = ("data.status",)
    outputs_fields: tuple[str, ...] = ("data.outputUrl",)
    error_fields: tuple[str, ...] = ("error", "data.error")
    failed_words: frozenset[str] = frozenset({"failed"})
    auth_style: str | None = "bearer"
    sizes: SizeRule = field(default_factory=lambda: SizeRule(fixed=RESOLUTIONS))
    config_defaults: Mapping[str, object] = field(default_factory=lambda: frozen({
        "base_url": "https://useapexstudio.com"}))
    money_unit: str = "credits"
    funds_fields: tuple[str, ...] = ("data.credits",)
    capabilities: Capabilities = field(default_factory=lambda: Capabilities(
        remarks={"overlap_frames": "`/api/generate/video` takes a script only",
                 "last_frame": "`avatarImage` is a face for an avatar, not a first frame",
                 "uploads": "`/api/upload/*` is only named in the rate-limit table",
                 "quote": "flat documented credits, video 250; `/api/usage`"}))

    def task_for(self, request: ExtendRequest) -> str:
        return "video"

    def build(self, request: ExtendRequest) -> Built:
        notes: list[str] = []
        body: dict[str, Any] = {"script": request.prompt}
        seconds = request.whole_seconds(self.name, notes)
        if seconds is not None:
            low, high = DURATION_SECONDS
            if not low <= seconds <= high:
                raise InputError(f"provider apex makes videos of {low}-{high} s; {request.frames} frames at "
                                 f"{request.rate} fps is {seconds} s")
            body["duration"] = seconds
        if request.size is not None:
            self.sizes.check(self.name, *request.size)
            body["resolution"] = RESOLUTIONS[request.size]
        if request.model is not None:
            body["model"] = request.model
        if request.seed is not None:
            notes.append("apex videos take no seed: not sent")
        body.update(request.extra)
        return Built("video", body, tuple(notes))

    def unsent_reason(self) -> str:
        return "look for it in the job list (GET /api/jobs) before trying again: credits are taken at submit"

    def parse_job(self, payload: Mapping[str, Any], known_id: str | None = None) -> Job:
        """``{data: job}``, or ``{data: [...jobs]}`` holding ours (by ``jobId``/``id``)."""
        jobs = payload.get("data")
        if not isinstance(jobs, list):
            return super().parse_job(payload, known_id)
        mine = [j for j in jobs if isinstance(j, Mapping) and known_id is not None
                and known_id in (str(j.get("jobId")), str(j.get("id")))]
        if not mine:
            raise NotFoundError(f"GET {self.status_path}: the job list ({len(jobs)} jobs) has no job {known_id}",
                                status_code=404, error="job not in the list")
        return super().parse_job({**payload, "data": mine[0]}, known_id)

    def documented_price(self, request: JobRequest) -> Price | None:
        credits = CREDITS.get(request.task)
        return None if credits is None else Price(Decimal(credits), self.money_unit)

    def retry_hint(self, headers: Mapping[str, str], body: bytes, now: float) -> float | None:
        hint = super().retry_hint(headers, body, now)
        reset = headers.get("x-ratelimit-reset", "")
        if hint is None and headers.get("x-ratelimit-remaining") == "0" and reset.strip().isdigit():
            return max(0.0, int(reset) - now)
        return hint


APEX = PROVIDER = ApexProvider()
