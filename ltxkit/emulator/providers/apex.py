"""Apex Studio (seed 001) under ``/apex``: ``POST /api/generate/{video,text2video,b-roll,image}``,
``GET /api/jobs[?id=…]``, ``GET /api/usage``, ``PATCH /api/settings`` (webhook URL).

Bearer keys only. Success bodies are ``{"data": …}``, errors ``{"error": text, "code": CODE}``. Every
answer to a known key carries ``X-RateLimit-Limit/Remaining/Reset`` (reset: Unix seconds) for its
window — 5 generation requests / 10 s, 20 reads / 10 s — and a 429 adds ``Retry-After``. Credits
(4500 to start; video 250, b-roll 150, image 10) are taken at submit and given back when a job fails.
A configured webhook gets ``job.completed`` / ``job.failed`` with the documented payload, retried after
10, 60 and 300 s. Videos are 24 fps; 720p is 1280x720. Emulator deviation: loopback http webhook
URLs are allowed (the service accepts public HTTPS only).

``GET /api/jobs?id=…``: the endpoint table documents the list ``{"data": [...jobs]}`` while the seed's
client examples read ``{"data": job}``, and nothing says whether ``id`` narrows the list.
``ApexLimits.job_answer`` picks the reading: ``"list"`` (default, the least convenient: every job of
the key, newest first, ``id`` ignored), ``"filtered"`` (the list narrowed to that job) or ``"object"``.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ltxkit.emulator.providers.common import Backend, ProviderApi, frames_for, meta, phase, sized, video_input
from ltxkit.emulator.store import StoredJob
from ltxkit.emulator.web import BEARER, Allowance, Problem, Window, status_code_name

NAME = "apex"
PRICES = {"image": 10, "video": 250, "text2video": 250, "b-roll": 150}
MODELS = {
    "video": ("wan-2.6", "kling-2.6-pro", "kling-3.0-pro", "veo-3.1"),
    "text2video": ("wan-2.6", "kling-2.6-pro", "kling-3.0-pro", "veo-3.1"),
    "b-roll": ("wan-2.6", "kling-2.6-pro"),
    "image": ("grok-imagine", "flux-2-dev", "flux-2-pro", "ideogram-v3", "flux-kontext-max"),
}
RESOLUTIONS = {"video": ("720p", "1080p"), "text2video": ("720p", "1080p"), "b-roll": ("480p", "720p")}
DURATIONS = {"video": (3, 60, 5), "text2video": (3, 60, 5), "b-roll": (3, 6, 4)}  # low, high, default


@dataclass
class ApexLimits:
    generation: Window = field(default_factory=lambda: Window(5, 10.0))
    reads: Window = field(default_factory=lambda: Window(20, 10.0))
    starting_credits: int = 4500
    webhook_delays: tuple[float, ...] = (10.0, 60.0, 300.0)
    job_answer: str = "list"  # how GET /api/jobs?id=… answers: "list", "filtered" or "object" (see above)


def error(status: int, text: str, code: str, headers: Mapping[str, str] | None = None) -> Problem:
    return Problem(status, {"error": text, "code": code}, headers)


def bad(text: str) -> Problem:
    return error(400, text, "BAD_REQUEST")


def rate_headers(allowance: Allowance) -> dict[str, str]:
    """The ``X-RateLimit-*`` headers every answer to a known key carries (reset: Unix seconds)."""
    return {"X-RateLimit-Limit": str(allowance.limit), "X-RateLimit-Remaining": str(allowance.remaining),
            "X-RateLimit-Reset": str(math.ceil(time.time() + allowance.reset_in))}


class ApexApi(ProviderApi):
    name = NAME
    key_headers = (BEARER,)

    def __init__(self, backend: Backend) -> None:
        super().__init__(backend)
        self.limits: ApexLimits = ApexLimits()
        self.charges: dict[str, dict[str, int]] = {}  # account -> job id -> credits
        self.webhooks: dict[str, str] = {}
        self.deliveries: list[dict[str, Any]] = []  # every webhook attempt: url, event, status
        self._tasks: set[asyncio.Task[None]] = set()

    def routes(self) -> list[BaseRoute]:
        generate = [Route(f"/api/generate/{kind}", self._endpoint("generation", self._generator(kind)),
                          methods=["POST"]) for kind in PRICES]
        return [*generate,
                Route("/api/jobs", self._endpoint("reads", self.jobs), methods=["GET"]),
                Route("/api/usage", self._endpoint("reads", self.usage), methods=["GET"]),
                Route("/api/settings", self._endpoint("reads", self.settings), methods=["PATCH"])]

    # ---- error words, auth, rate limits, headers ---------------------------------------------------

    def problem(self, status: int, text: str, details: object = None,
                headers: Mapping[str, str] | None = None) -> Problem:
        text = text if details is None else f"{text}: {details}"
        code = "RATE_LIMITED" if status == 429 else status_code_name(status).upper()
        return Problem(status, {"error": text, "code": code}, headers)


    def too_large(self, limit: int) -> Problem:
        return bad(f"Request body larger than {limit} bytes")

    def unauthorized(self, request: Request, given: bool) -> Problem:
        return error(401, "Missing or invalid API key", "UNAUTHORIZED")

    def rate_limited(self, bucket: str, allowance: Allowance) -> Problem:
        return error(429, "Too many requests", "RATE_LIMITED",
                     {**rate_headers(allowance), "Retry-After": allowance.retry_after})

    def _endpoint(self, bucket: str,
                  handler: Callable[[Request, str], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        """Authenticate and count in ``bucket`` (429 when full), then answer with the window's headers."""
        async def endpoint(request: Request) -> Response:
            account = self.account(request)
            allowance = self.admit(account, bucket)
            try:
                response = await handler(request, account)
            except Problem as exc:
                response = exc.response()
            response.headers.update(rate_headers(allowance))
            return response

        return endpoint

    # ---- generation ---------------------------------------------------------------------------------

    def credits(self, account: str) -> int:
        """Starting credits minus what unfailed jobs cost (a failed job's credits come back)."""
        store = self.backend.store
        spent = sum(c for job_id, c in self.charges.get(account, {}).items()
                    if (job := store.get_job(job_id)) is None or job.status != "failed")
        return self.limits.starting_credits - spent

    def _generator(self, kind: str) -> Callable[[Request, str], Awaitable[Response]]:
        async def generate(request: Request, account: str) -> Response:
            body = await self.json(request)
            task, effective, options = self._input(kind, body)
            price = PRICES[kind]
            if self.credits(account) < price:
                raise error(402, "Insufficient credits. Purchase more at Dashboard > Billing.", "PAYMENT_REQUIRED")
            job = self.backend.create(request, account=account, provider=NAME, task=task, effective=effective,
                                      options={"kind": kind, **options})
            self.charges.setdefault(account, {})[job.id] = price
            if account in self.webhooks:
                self._spawn(self._notify(job.id, account, self.backend.base(request)))
            if (gone := await self.dropped(request)) is not None:
                return gone
            noun = "Image" if kind == "image" else "Video"
            return JSONResponse({"data": {"jobId": job.id, "status": "queued",
                                          "message": f"{noun} generation job queued"}})

        return generate

    @staticmethod
    def _text(body: dict[str, Any], name: str, limit: int) -> str:
        value = body.get(name)
        if not isinstance(value, str) or not 1 <= len(value.strip()) <= limit:
            raise bad(f"{name} is required (1-{limit:,} characters)")
        return value

    @staticmethod
    def _choice(body: dict[str, Any], name: str, options: tuple[str, ...], default: str | None) -> str | None:
        value = body.get(name, default)
        if value is not None and value not in options:
            raise bad(f"{name} must be one of {' | '.join(options)}, got {value!r}")
        return value

    @staticmethod
    def _number(body: dict[str, Any], name: str, low: int, high: int, default: int) -> int:
        value = body.get(name, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise bad(f"{name} must be a number {low}-{high}, got {value!r}")
        return math.ceil(value)

    def _input(self, kind: str, body: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
        """(runner task, effective input, what the job answer reports) for one generation request."""
        model = self._choice(body, "model", MODELS[kind], MODELS[kind][0])
        if kind == "image":
            prompt = self._text(body, "prompt", 2000)
            width, height = (self._number(body, n, 256, 2048, 1024) for n in ("width", "height"))
            return "image.generate", {"prompt": prompt, "width": width, "height": height, "outputFormat": "png"}, \
                {"model": model, "width": width, "height": height}
        prompt = self._text(body, "prompt" if kind == "b-roll" else "script", 5000)
        low, high, default = DURATIONS[kind]
        seconds = self._number(body, "duration", low, high, default)
        resolution = self._choice(body, "resolution", RESOLUTIONS[kind], RESOLUTIONS[kind][0])
        assert resolution is not None
        if body.get("avatarImage") is not None and not str(body["avatarImage"]).startswith(("http://", "https://")):
            raise bad("avatarImage must be an HTTPS URL")
        effective = video_input(prompt, frames=frames_for(seconds),
                                size=sized(int(resolution[:-1]), "16:9"))
        return "video.generate", effective, {"model": model, "durationSeconds": seconds, "resolution": resolution}

    # ---- reads --------------------------------------------------------------------------------------

    def _job_json(self, request: Request, job: StoredJob) -> dict[str, Any]:
        info = meta(job)
        state = {"running": "processing"}.get(phase(job), phase(job))
        answer: dict[str, Any] = {"jobId": job.id, "type": info.get("kind"), "status": state,
                                  "createdAt": job.created_at}
        metadata = {k: v for k, v in info.items() if k not in ("name", "kind")}
        if state == "completed":
            urls = self.backend.output_urls(request, job)
            answer.update(outputUrl=urls[0] if urls else None, metadata=metadata, completedAt=job.completed_at,
                          outputType="image/png" if job.task == "image.generate" else "video/mp4")
        elif state == "failed":
            answer.update(error="Generation failed", failedAt=job.completed_at,
                          creditsRefunded=self.charges.get(job.account, {}).get(job.id, 0))
        return answer

    async def jobs(self, request: Request, account: str) -> Response:
        job_id, shape = request.query_params.get("id"), self.limits.job_answer
        if job_id is not None and shape == "object":
            job = self.backend.get(account, NAME, job_id)
            if job is None:
                raise error(404, "Job not found", "NOT_FOUND")
            return JSONResponse({"data": self._job_json(request, job)})
        found = [j for i in reversed(self.charges.get(account, {})) if (j := self.backend.get(account, NAME, i))
                 and (job_id is None or shape == "list" or j.id == job_id)]
        return JSONResponse({"data": [self._job_json(request, j) for j in found]})

    async def usage(self, request: Request, account: str) -> Response:
        store = self.backend.store
        used: dict[str, int] = {}
        for job_id in self.charges.get(account, {}):
            job = store.get_job(job_id)
            if job is not None:
                kind = str(meta(job).get("kind"))
                used[kind + "s"] = used.get(kind + "s", 0) + 1
        return JSONResponse({"data": {"credits": self.credits(account), "used": used, "plan": "enterprise"}})

    async def settings(self, request: Request, account: str) -> Response:
        body = await self.json(request)
        url = body.get("webhookUrl")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise bad("webhookUrl must be an HTTPS URL")
        self.webhooks[account] = url
        return JSONResponse({"data": {"webhookUrl": url}})

    # ---- webhooks -----------------------------------------------------------------------------------

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _notify(self, job_id: str, account: str, base: str) -> None:
        """Wait for the job to end, then POST the documented event, retrying after each delay."""
        store = self.backend.store
        while (job := store.get_job(job_id)) is not None and not job.terminal:
            await asyncio.sleep(0.02)
        if job is None:
            return
        info, now = meta(job), job.completed_at
        data: dict[str, Any] = {"jobId": job.id, "type": info.get("kind"), "status": job.status,
                                "createdAt": job.created_at}
        if job.status == "completed":
            event = "job.completed"
            data.update(outputUrl=f"{base}/files/{job.id}/{job.outputs[0]}" if job.outputs else None,
                        outputType="video/mp4" if job.task == "video.generate" else "image/png",
                        metadata={k: v for k, v in info.items() if k not in ("name", "kind")}, completedAt=now)
        else:
            event = "job.failed"
            data.update(status="failed", error="Generation failed",
                        creditsRefunded=self.charges.get(account, {}).get(job.id, 0), failedAt=now)
        payload = {"event": event, "timestamp": now, "data": data}
        async with httpx.AsyncClient(timeout=10.0) as client:
            for delay in (0.0, *self.limits.webhook_delays):
                await asyncio.sleep(delay)
                status = 0
                with contextlib.suppress(httpx.HTTPError):
                    status = (await client.post(self.webhooks[account], json=payload)).status_code
                self.deliveries.append({"url": self.webhooks[account], "event": event, "status": status})
                if 200 <= status < 300:
                    return


API = ApexApi
