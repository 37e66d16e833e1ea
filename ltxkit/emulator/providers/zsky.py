"""ZSky (seed 000) under ``/zsky``: ``POST /v1/videos/generate``, ``POST /v1/images/generate``,
``GET``/``DELETE /v1/jobs/{id}``, ``GET /v1/usage``; ``X-API-Key`` only; errors ``{"error": text}``.

Limits as documented, each a 429: 3 concurrent jobs per key, a burst of 20 generate requests a minute
(the seed does not say whether polls count; here they do not), and the monthly allowance (300 videos,
1000 images; blocked generations count, refused requests do not). 451 refuses an unsafe prompt; a job
whose output check fails ends ``blocked``. Videos are ``length`` frames (default 121) at 24 fps in the
emulator's default size (768x512): the seed documents no other parameter.
"""

from __future__ import annotations

import calendar
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ltxkit.emulator.providers.common import UNSAFE_OUTPUT, Backend, ProviderApi, meta, phase, refused, video_input
from ltxkit.emulator.store import StoredJob
from ltxkit.emulator.web import X_API_KEY, Allowance, Problem, Window

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
                        effective: dict[str, Any]) -> Response:
        if refused(effective["prompt"]):
            raise error(451, "Generation blocked by safety filter")
        self._admit(account, kind)
        job = self.backend.create(request, account=account, provider=NAME, task=task, effective=effective,
                                  options={"kind": kind, "blocked": UNSAFE_OUTPUT in effective["prompt"]})
        self.active[account].append(job.id)
        self.used[account][kind] += 1
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
        account = self.account(request)  # the key before the body: a stranger gets 401, not a 400 about JSON
        body = await self.json(request)
        prompt = self._prompt(body)
        length = self._whole(body, "length", DEFAULT_LENGTH, 2, 257)
        return await self._generate(request, account, "video", "video.generate",
                                    video_input(prompt, frames=length, size=SIZE))

    async def generate_image(self, request: Request) -> Response:
        account = self.account(request)
        body = await self.json(request)
        prompt = self._prompt(body)
        width, height = (self._whole(body, n, 1024, 64, 2048) for n in ("width", "height"))
        return await self._generate(request, account, "image", "image.generate",
                                    {"prompt": prompt, "width": width, "height": height, "outputFormat": "webp"})

    def _job(self, request: Request) -> StoredJob:
        job = self.backend.get(self.account(request), NAME, request.path_params["job_id"])
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
        used = self.used.get(self.account(request), Counter())
        return JSONResponse({
            "videos_used": used["video"], "videos_overage": 0, "images_used": used["image"], "images_overage": 0,
            "overage_charged_cents": 0, "base_videos_allowance": self.limits.monthly_videos,
            "base_images_allowance": self.limits.monthly_images,
            "month_start": datetime.now(UTC).strftime("%Y-%m-01")})


API = ZSkyApi
