"""ZSky (seed 000) under ``/zsky``: ``POST /v1/videos/generate``, ``POST /v1/images/generate``,
``GET``/``DELETE /v1/jobs/{id}``, ``GET /v1/usage``; ``X-API-Key`` only; errors ``{"error": text}``.

Limits as documented, each a 429: 3 concurrent jobs per key, a burst of 20 requests a minute, and the
monthly allowance (300 videos, 1000 images; blocked generations count, refused requests do not). Where the
seed is silent the emulator takes the less convenient reading, and a limit switches to the other:
polls and usage reads count in the burst (``ZSkyLimits.burst_counts_reads``), and the ``503`` fault on a
create is the seed's "Workers unavailable; queued — please retry shortly" with the video queued and
counted (``ZSkyLimits.queued_on_503``; False: nothing was made). 451 refuses an unsafe prompt; a job
whose output check fails ends ``blocked``. Videos are ``length`` frames (default 121) at 24 fps in the
emulator's default size (768x512): the seed documents no other parameter.
"""

from __future__ import annotations

import calendar
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ltxkit.emulator.providers.common import UNSAFE_OUTPUT, Backend, ProviderApi, meta, phase, refused, video_input
from ltxkit.emulator.store import StoredJob
from ltxkit.emulator.web import X_API_KEY, Allowance, Problem, Window, fault_budget, take_fault

NAME = "zsky"
DEFAULT_LENGTH = 121
SIZE = (768, 512)
BLOCKED_TEXT = "Sorry — our safety check stopped this video. It still counts against your monthly allowance."


@dataclass
class ZSkyLimits:
    concurrent_jobs: int = 3
    burst: Window = field(default_factory=lambda: Window(20, 60.0))
    monthly_videos: int = 300
    monthly_images: int = 1000
    burst_counts_reads: bool = True
    queued_on_503: bool = True


def error(status: int, text: str, headers: dict[str, str] | None = None) -> Problem:
    return Problem(status, {"error": text}, headers)


def _next_month(now: datetime) -> float:
    """Seconds until 00:00 UTC on the 1st of next month (when the allowance resets)."""
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return calendar.timegm((year, month, 1, 0, 0, 0)) - now.timestamp()


class ZSkyApi(ProviderApi):
    name = NAME
    key_headers = (X_API_KEY,)

    def __init__(self, backend: Backend) -> None:
        super().__init__(backend)
        self.limits: ZSkyLimits = ZSkyLimits()
        self.used: dict[str, Counter[str]] = {}
        self.active: dict[str, list[str]] = {}

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/v1/videos/generate", self.generate_video, methods=["POST"]),
            Route("/v1/images/generate", self.generate_image, methods=["POST"]),
            Route("/v1/jobs/{job_id}", self.get_job, methods=["GET"]),
            Route("/v1/jobs/{job_id}", self.delete_job, methods=["DELETE"]),
            Route("/v1/usage", self.usage, methods=["GET"]),
        ]

    # ---- error words ------------------------------------------------------------------------------

    def problem(self, status: int, text: str, details: object = None,
                headers: Mapping[str, str] | None = None) -> Problem:
        return Problem(status, {"error": text if details is None else f"{text}: {details}"}, headers)


    def too_large(self, limit: int) -> Problem:
        return error(400, f"request body larger than {limit} bytes")

    def unauthorized(self, request: Request, given: bool) -> Problem:
        hint = " (ZSky takes X-API-Key, not Authorization)" if request.headers.get("authorization") else ""
        return error(401, "missing or invalid API key" + hint)

    def fault(self, status: int, retry_after: int) -> Problem:
        if status == 503:  # the seed's own words
            return error(503, "Workers unavailable; queued — please retry shortly", {"Retry-After": str(retry_after)})
        return super().fault(status, retry_after)

    def handles_fault(self, name: str, method: str, path: str) -> bool:
        return name == "503" and method == "POST" and path.endswith("/generate")

    def rate_limited(self, bucket: str, allowance: Allowance) -> Problem:
        return error(429, f"rate limit: {allowance.limit} requests per minute per key",
                     {"Retry-After": allowance.retry_after})

    # ---- generation -------------------------------------------------------------------------------

    def _admit(self, account: str, kind: str) -> None:
        """The 429s, in the order a request meets them: burst, allowance, concurrency."""
        self.admit(account, "burst")
        limit = self.limits.monthly_videos if kind == "video" else self.limits.monthly_images
        if self.used.setdefault(account, Counter())[kind] >= limit:
            raise error(429, f"monthly {kind} allowance reached ({limit} {kind}s); overage is not enabled",
                        {"Retry-After": str(int(_next_month(datetime.now(UTC))))})
        store = self.backend.store
        running = [j for j in self.active.get(account, []) if (job := store.get_job(j)) and not job.terminal]
        self.active[account] = running
        if len(running) >= self.limits.concurrent_jobs:
            raise error(429, f"concurrent job limit reached: {self.limits.concurrent_jobs} jobs per API key")

    async def _generate(self, request: Request, account: str, kind: str, task: str,
                        effective: dict[str, Any], busy: bool) -> Response:
        if refused(effective["prompt"]):
            raise error(451, "Generation blocked by safety filter")
        self._admit(account, kind)
        if busy and not self.limits.queued_on_503:
            raise self.fault(503, fault_budget(request.scope).retry_after)
        job = self.backend.create(request, account=account, provider=NAME, task=task, effective=effective,
                                  options={"kind": kind, "blocked": UNSAFE_OUTPUT in effective["prompt"]})
        self.active[account].append(job.id)
        self.used[account][kind] += 1
        if busy:
            raise self.fault(503, fault_budget(request.scope).retry_after)
        if (gone := await self.dropped(request)) is not None:
            return gone
        root = request.scope.get("root_path", "")
        return JSONResponse({"job_id": job.id, "status": "queued", "kind": kind,
                             "poll_url": f"{root}/v1/jobs/{job.id}"})

    @staticmethod
    def _prompt(body: dict[str, Any]) -> str:
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            raise error(400, "invalid params: prompt is required")
        return prompt

    @staticmethod
    def _whole(body: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
        value = body.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise error(400, f"invalid params: {name} must be a whole number {low}..{high}, got {value!r}")
        return value

    async def generate_video(self, request: Request) -> Response:
        return await self._create(request, "video", "video.generate", lambda body: video_input(
            self._prompt(body), frames=self._whole(body, "length", DEFAULT_LENGTH, 2, 257), size=SIZE))

    async def generate_image(self, request: Request) -> Response:
        def image(body: dict[str, Any]) -> dict[str, Any]:
            width, height = (self._whole(body, n, 1024, 64, 2048) for n in ("width", "height"))
            return {"prompt": self._prompt(body), "width": width, "height": height, "outputFormat": "webp"}

        return await self._create(request, "image", "image.generate", image)

    async def _create(self, request: Request, kind: str, task: str,
                      parse: Callable[[dict[str, Any]], dict[str, Any]]) -> Response:
        account = self.account(request)  # the key before the body: a stranger gets 401, not a 400 about JSON
        busy = take_fault(request, "503")
        try:
            effective = parse(await self.json(request))
        except Problem:
            if busy:  # down: the body was never looked at
                raise self.fault(503, fault_budget(request.scope).retry_after) from None
            raise
        return await self._generate(request, account, kind, task, effective, busy)

    def _reader(self, request: Request) -> str:
        return self.account(request, "burst" if self.limits.burst_counts_reads else None)

    def _job(self, request: Request) -> StoredJob:
        job = self.backend.get(self._reader(request), NAME, request.path_params["job_id"])
        if job is None:
            raise error(404, "job not found")
        return job

    async def get_job(self, request: Request) -> Response:
        job = self._job(request)
        state, kind = phase(job), meta(job).get("kind", "video")
        answer: dict[str, Any] = {"job_id": job.id, "status": state, "kind": kind}
        if state == "completed":
            urls = self.backend.output_urls(request, job)
            if urls:
                answer.update(result_url=urls[0], expires_in=86400)
            else:
                answer["purged"] = True
        elif state == "failed" and meta(job).get("blocked"):
            answer.update(status="blocked", error=BLOCKED_TEXT)
        elif state == "failed":
            answer["error"] = job.error or "generation failed"
        return JSONResponse(answer)

    async def delete_job(self, request: Request) -> Response:
        job = self._job(request)
        if not job.terminal:
            raise error(409, "job is still running; purge it once it has finished")
        self.backend.purge(job)
        return Response(status_code=204)

    async def usage(self, request: Request) -> Response:
        used = self.used.get(self._reader(request), Counter())
        return JSONResponse({
            "videos_used": used["video"], "videos_overage": 0, "images_used": used["image"], "images_overage": 0,
            "overage_charged_cents": 0, "base_videos_allowance": self.limits.monthly_videos,
            "base_images_allowance": self.limits.monthly_images,
            "month_start": datetime.now(UTC).strftime("%Y-%m-01")})


API = ZSkyApi
