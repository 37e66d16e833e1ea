"""ZOOOP (seed 002) under ``/zooop``: ``/v1/models``, ``/v1/quote``, ``/v1/tasks``, ``/v1/tasks/{id}``,
``/v1/uploads`` (+ ``/{id}``), ``/v1/me``.

Bearer tokens; errors in the OpenAI-style envelope ``{"error": {message, type, code, param?, params?}}``.
Three emulated video models, one per subtype the adapters use (``text-ref``, ``first-last-frame`` with a
required ``first_frame`` and an optional ``last_frame``, ``extend-video`` with a required ``video_url``),
each with ``prompt``, ``duration`` (1-10 s, 24 fps), ``seed`` and, but for extends, ``resolution`` and
``aspect_ratio`` options. Media params take only this API's own storage URLs (``POST /v1/uploads`` —
raw body, images/audio ready at once, video ``202`` then polled — and task outputs), served without a key
at ``/zooop/storage/<folder>/<name>``; any other URL, this emulator's ``/files/…`` included, is a foreign
one: 400 ``invalid_payload`` naming the param. 8 credits a second, quoted and then
charged at submit, given back if the task fails. ``Idempotency-Key`` replays answer the first task with
``"idempotent": true`` (a reused key with another body: 400 ``invalid_idempotency_key``). At most
``maxConcurrency`` (3) tasks run per token; more wait ``queued`` in FIFO order. Per-token windows:
tasks 60/min, quote 120/min, uploads 30/min, upload polls and ``/v1/me`` 120/min (429 + Retry-After).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ltxkit.emulator.providers.common import (
    Backend,
    ProviderApi,
    frames_for,
    kind_of,
    meta,
    phase,
    refused,
    sized,
    video_input,
)
from ltxkit.emulator.store import StoredJob
from ltxkit.emulator.web import BEARER, EXTENSIONS, Allowance, Problem, Window, image_problem, status_code_name

NAME = "zooop"
CREDITS_PER_SECOND = 8
MEDIA_TYPES = {"first_frame": "image", "last_frame": "image", "image_url": "image", "video_url": "video",
               "audio_url": "audio"}
UPLOAD_TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif", "audio/mpeg", "audio/wav", "audio/webm",
                "audio/ogg", "video/mp4", "video/webm", "video/quicktime")
CATEGORIES = [["image", "default"], ["image", "edit-image"], ["video", "text-ref"], ["video", "motion-control"],
              ["video", "first-last-frame"], ["video", "audio-lipsync"], ["video", "extend-video"],
              ["video", "video-edit"], ["audio", "text-to-speech"], ["audio", "voice-clone"],
              ["audio", "sound-effect"], ["audio", "music"]]


def _options(values: list[Any]) -> list[dict[str, Any]]:
    return [{"value": v, "label": str(v)} for v in values]


def _model(subtype: str, name: str, extra: list[dict[str, Any]], sizes: bool = True) -> dict[str, Any]:
    params: list[dict[str, Any]] = [
        {"id": "prompt", "type": "long_text", "required": True, "maxLength": 2000},
        {"id": "duration", "type": "duration", "required": False, "default": 5,
         "options": _options(list(range(1, 11)))},
        {"id": "seed", "type": "seed", "required": False},
    ]
    if sizes:
        params += [{"id": "resolution", "type": "resolution", "required": False, "default": "720p",
                    "options": _options(["480p", "720p"])},
                   {"id": "aspect_ratio", "type": "aspect_ratio", "required": False, "default": "16:9",
                    "options": _options(["16:9", "9:16", "1:1"])}]
    return {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"ltxkit-emulator/zooop/{subtype}")), "name": name,
            "type": "video", "subType": subtype, "description": f"{name}: a stand-in rendered by the ltxkit emulator",
            "brand": {"id": "ltxkit", "name": "ltxkit emulator"}, "promptRequired": True, "promptMaxLength": 2000,
            "params": params + extra,
            "versions": [{"id": "standard", "name": "Standard", "typicalPrice": {
                "typicalCredits": CREDITS_PER_SECOND, "unit": "second", "note": "~40 credits for 5s"}}],
            "tags": ["EMULATED"]}


MODELS = {m["subType"]: m for m in (
    _model("text-ref", "LTX Video (emulated)", []),
    _model("first-last-frame", "LTX Keyframes (emulated)",
           [{"id": "first_frame", "type": "first_frame", "required": True},
            {"id": "last_frame", "type": "last_frame", "required": False}]),
    _model("extend-video", "LTX Extend (emulated)", [{"id": "video_url", "type": "video_url", "required": True}],
           sizes=False),
)}
BY_ID = {m["id"]: m for m in MODELS.values()}


@dataclass
class ZooopLimits:
    tasks: Window = field(default_factory=lambda: Window(60, 60.0))
    quote: Window = field(default_factory=lambda: Window(120, 60.0))
    uploads: Window = field(default_factory=lambda: Window(30, 60.0))
    upload_polls: Window = field(default_factory=lambda: Window(120, 60.0))
    me: Window = field(default_factory=lambda: Window(120, 60.0))
    max_concurrency: int = 3
    starting_credits: int = 1000
    daily_credit_cap: int | None = None


def error(status: int, message: str, code: str, kind: str = "invalid_request_error",
          headers: Mapping[str, str] | None = None, **extra: Any) -> Problem:
    return Problem(status, {"error": {"message": message, "type": kind, "code": code, **extra}}, headers)


def invalid(message: str, **extra: Any) -> Problem:
    return error(400, message, "invalid_payload", **extra)


@dataclass
class UploadRecord:
    account: str
    url: str
    content_type: str
    ready_at: float


class ZooopApi(ProviderApi):
    name = NAME
    key_headers = (BEARER,)

    def __init__(self, backend: Backend) -> None:
        super().__init__(backend)
        self.limits: ZooopLimits = ZooopLimits()
        self.charges: dict[str, dict[str, int]] = {}
        self.uploads: dict[str, UploadRecord] = {}
        self.folders: set[str] = set()
        self.waiting: deque[StoredJob] = deque()
        self.running: dict[str, list[str]] = {}
        self._drainer: asyncio.Task[None] | None = None

    def routes(self) -> list[BaseRoute]:
        return [Route(path, endpoint, methods=[method]) for path, method, endpoint in (
            ("/v1/me", "GET", self.me), ("/v1/models", "GET", self.models), ("/v1/quote", "POST", self.quote),
            ("/v1/tasks", "POST", self.submit), ("/v1/tasks/{task_id}", "GET", self.task),
            ("/v1/uploads", "POST", self.upload), ("/v1/uploads/{upload_id}", "GET", self.upload_status),
            ("/storage/{folder}/{name}", "GET", self.storage))]  # GET routes answer HEAD too

    # ---- storage: the only media URLs tasks accept ------------------------------------------------------

    def _ours(self, folder: str) -> bool:
        """Whether ``folder`` is this API's storage: an upload made here, or one of its tasks."""
        return folder in self.folders or ((job := self.backend.store.get_job(folder)) is not None
                                          and meta(job).get("name") == NAME)

    @staticmethod
    def _storage_root(request: Request) -> str:
        return f"{Backend.base(request)}{request.scope.get('root_path', '')}/storage/"

    def hosted(self, request: Request, files_url: str) -> str:
        """The storage URL of one of the emulator's ``/files/<folder>/<name>`` URLs."""
        return self._storage_root(request) + urlsplit(files_url).path.removeprefix("/files/")

    def stored(self, request: Request, url: object) -> str | None:
        """The emulator's own ``/files/…`` URL behind one of this API's storage URLs, None for any other
        (a foreign) URL."""
        if not isinstance(url, str) or not url.startswith(root := self._storage_root(request)):
            return None
        folder, _, name = url[len(root):].partition("/")
        if not self._ours(folder) or self.backend.files.path(folder, name) is None:
            return None
        return f"{Backend.base(request)}/files/{folder}/{name}"

    async def storage(self, request: Request) -> Response:
        folder, name = request.path_params["folder"], request.path_params["name"]
        path = self.backend.files.path(folder, name) if self._ours(folder) else None
        if path is None:
            raise error(404, "file not found", "not_found")
        return self.backend.serve(request, path)

    # ---- error words --------------------------------------------------------------------------------

    def problem(self, status: int, text: str, details: object = None,
                headers: Mapping[str, str] | None = None) -> Problem:
        kind = "rate_limit_error" if status == 429 else "api_error" if status >= 500 else "invalid_request_error"
        code = {400: "invalid_payload", 429: "rate_limited"}.get(status) or status_code_name(status)
        return error(status, text if details is None else f"{text}: {details}", code, kind, headers)


    def too_large(self, limit: int) -> Problem:
        return invalid(f"body larger than {limit} bytes")

    def unauthorized(self, request: Request, given: bool) -> Problem:
        return error(401, "Missing or invalid token" if given else "Missing token",
                     "invalid_token" if given else "missing_token", "authentication_error")

    def rate_limited(self, bucket: str, allowance: Allowance) -> Problem:
        return error(429, f"Rate limit reached for {bucket}", "rate_limited", "rate_limit_error",
                     {"Retry-After": allowance.retry_after})

    # ---- money ----------------------------------------------------------------------------------------

    def balance(self, account: str) -> int:
        return self.limits.starting_credits - self.spent(account)

    def spent(self, account: str, since: str = "") -> int:
        """Credits of this account's tasks that did not fail (created on or after ``since``, an ISO date)."""
        store = self.backend.store
        return sum(c for task_id, c in self.charges.get(account, {}).items()
                   if (job := store.get_job(task_id)) is not None and job.status != "failed"
                   and job.created_at >= since)

    # ---- models and validation ------------------------------------------------------------------------

    async def models(self, request: Request) -> Response:
        self.account(request)
        kind, subtype = request.query_params.get("type"), request.query_params.get("subtype")
        if [kind, subtype] not in CATEGORIES:
            raise error(400, "type and subtype must name a public category", "invalid_category",
                        validCategories=[{"type": t, "subType": s} for t, s in CATEGORIES])
        found = [MODELS[subtype]] if kind == "video" and subtype in MODELS else []
        return JSONResponse({"models": found})

    def _check(self, request: Request, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], int]:
        """(model, params with defaults, credits) for a task/quote body, or the documented 4xx. Media
        params come back as the emulator's own ``/files/…`` URLs (what its runner reads)."""
        if body.get("aiTool") is not None and body.get("interfaceId") is not None:
            raise invalid("send aiTool or interfaceId, not both")
        if body.get("aiTool") is not None:
            raise error(404, f"unknown AI tool {body['aiTool']!r}", "unknown_ai_tool")
        model = BY_ID.get(str(body.get("interfaceId")))
        if model is None:
            raise error(404, f"unknown model {body.get('interfaceId')!r}", "unknown_model")
        if body.get("versionId") not in [v["id"] for v in model["versions"]]:
            raise invalid(f"unknown versionId {body.get('versionId')!r}", param="versionId")
        given = body.get("params")
        if not isinstance(given, dict):
            raise invalid("params must be an object", param="params")
        spec = {p["id"]: p for p in model["params"]}
        unknown = sorted(set(given) - set(spec))
        if unknown:
            raise invalid(f"unknown parameter {unknown[0]!r}", param=unknown[0])
        missing = [p for p in model["params"] if p["required"] and given.get(p["id"]) in (None, "")]
        if missing:
            raise error(400, "Missing required parameters: " + ", ".join(p["id"] for p in missing),
                        "missing_required_params", params=missing)
        params = {**{p["id"]: p["default"] for p in model["params"] if "default" in p}, **given}
        for name, value in list(params.items()):
            options = [o["value"] for o in spec[name].get("options", [])]
            if options and value not in options:
                raise invalid(f"{name} must be one of {', '.join(map(str, options))}, got {value!r}", param=name)
            media = MEDIA_TYPES.get(spec[name]["type"])
            if media is None:
                continue
            local = self.stored(request, value)
            if local is None or kind_of(local) != media:
                raise invalid(f"{name} must be a ZOOOP storage URL of an uploaded {media} (POST /v1/uploads); "
                              "upload foreign URLs first", param=name)
            params[name] = local
        if not isinstance(params["prompt"], str) or not params["prompt"].strip():
            raise invalid("prompt must be a non-empty string", param="prompt")
        if refused(params["prompt"]):
            raise error(422, "Text or image violates content policy", "moderation_blocked")
        return model, params, CREDITS_PER_SECOND * int(params["duration"])

    async def quote(self, request: Request) -> Response:
        self.account(request, "quote")
        model, _, credits = self._check(request, await self.json(request))
        return JSONResponse({"credits": credits, "estimatedSeconds": None, "modelId": model["id"],
                             "versionId": "standard", "modelName": model["name"],
                             "breakdown": {"pricingKey": "second", "base": CREDITS_PER_SECOND,
                                           "multiplier": credits // CREDITS_PER_SECOND, "surcharges": 0,
                                           "basePrice": 0, "minPriceApplied": False}})

    # ---- tasks ----------------------------------------------------------------------------------------

    async def submit(self, request: Request) -> Response:
        account = self.account(request, "tasks")
        key = request.headers.get("idempotency-key")
        if key is not None and not 1 <= len(key) <= 256:
            raise error(400, "Idempotency-Key must be 1..256 characters", "invalid_idempotency_key")
        body = await self.json(request)
        body_hash = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        if key is not None and (found := self.backend.store.find_idempotent(account, f"zooop:{key}")):
            if found[0] != body_hash:
                raise error(400, "Idempotency-Key was already used with a different request",
                            "invalid_idempotency_key")
            job = self.backend.store.get_job(found[1])
            assert job is not None
            return await self._answer(request, job, replay=True)
        model, params, credits = self._check(request, body)
        cap = self.limits.daily_credit_cap
        today = self.spent(account, time.strftime("%Y-%m-%d", time.gmtime()))
        if cap is not None and today >= cap:
            raise error(429, f"the token's daily credit cap ({cap}) is reached", "token_daily_cap_reached",
                        "rate_limit_error", cap=cap, spent=today)
        if cap is not None and today + credits > cap:
            raise error(402, f"this task ({credits} credits) would exceed the daily cap ({cap})",
                        "token_daily_cap_exceeded", cap=cap, spent=today)
        if self.balance(account) < credits:
            raise error(402, "Account in arrears: top up your credits", "arrears")
        job_id = self.backend.new_id()
        effective = await self._effective(request, model, params, job_id)
        job = self.backend.create(request, account=account, provider=NAME, task="video.generate", job_id=job_id,
                                  effective=effective, options={"modelId": model["id"], "versionId": "standard"},
                                  idempotency_key=None if key is None else f"zooop:{key}", body_hash=body_hash,
                                  start=False)
        self.charges.setdefault(account, {})[job.id] = credits
        self._admit(job)
        return await self._answer(request, job, replay=False)

    async def _effective(self, request: Request, model: dict[str, Any], params: dict[str, Any],
                         job_id: str) -> dict[str, Any]:
        frames = frames_for(int(params["duration"]))
        if model["subType"] == "extend-video":
            from ltxkit.frames.probe import probe

            video = self.backend.local(params["video_url"])
            assert video is not None
            info = await asyncio.to_thread(probe, video)
            first = await self.backend.last_frame(request, video, job_id)
            return video_input(params["prompt"], frames=frames, size=(info.width, info.height),
                               seed=params.get("seed"), first_frame=first)
        size = sized(int(str(params["resolution"])[:-1]), str(params["aspect_ratio"]))
        effective = video_input(params["prompt"], frames=frames, size=size, seed=params.get("seed"),
                                first_frame=params.get("first_frame"))
        if params.get("last_frame"):
            effective["finalFrameImageUrl"] = params["last_frame"]
        return effective

    async def _answer(self, request: Request, job: StoredJob, *, replay: bool) -> Response:
        if (gone := await self.dropped(request)) is not None:
            return gone
        answer: dict[str, Any] = {"taskId": job.id, "status": self._status(job), "modelId": meta(job).get("modelId"),
                                  "versionId": "standard"}
        if replay:
            answer["idempotent"] = True
        return JSONResponse(answer)

    def _admit(self, job: StoredJob) -> None:
        """Start now if the token has a free slot, else queue (FIFO) until one frees."""
        self.waiting.append(job)
        self._drain_once()
        if self.waiting and (self._drainer is None or self._drainer.done()):
            self._drainer = asyncio.ensure_future(self._drain())

    def _drain_once(self) -> None:
        store = self.backend.store
        for job in list(self.waiting):
            running = [j for j in self.running.get(job.account, []) if (r := store.get_job(j)) and not r.terminal]
            self.running[job.account] = running
            if len(running) < self.limits.max_concurrency:
                self.waiting.remove(job)
                running.append(job.id)
                self.backend.start(job)

    async def _drain(self) -> None:
        while self.waiting:
            await asyncio.sleep(0.02)
            self._drain_once()

    @staticmethod
    def _status(job: StoredJob) -> str:
        return {"completed": "succeeded"}.get(phase(job), phase(job))

    async def task(self, request: Request) -> Response:
        account = self.account(request)
        job = self.backend.get(account, NAME, request.path_params["task_id"])
        if job is None:
            raise error(404, "unknown task", "unknown_task")
        status = self._status(job)
        failed = status == "failed"
        return JSONResponse({
            "taskId": job.id, "status": status,
            "outputs": [{"url": self.hosted(request, url), "thumbnailUrl": None}
                        for url in self.backend.output_urls(request, job)],
            "error": {"message": job.error or "generation failed", "code": "generation_failed"} if failed else None,
            "creditsCharged": 0 if failed else self.charges.get(account, {}).get(job.id, 0),
            "createdAt": job.created_at, "completedAt": job.completed_at})

    # ---- uploads and account --------------------------------------------------------------------------

    async def upload(self, request: Request) -> Response:
        account = self.account(request, "uploads")
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in UPLOAD_TYPES:
            raise invalid(f"Content-Type {content_type or '(none)'} is not allowed", allowed=list(UPLOAD_TYPES))
        data = await self.body(request, lambda n: error(413, f"files over {n} bytes cannot be uploaded "
                                                                     "through the API", "payload_too_large"))
        if not data:
            raise invalid("the body is empty: send the file's bytes")
        if (refusal := image_problem(data)) is not None:
            raise invalid(refusal)
        folder = f"upload-{uuid.uuid4()}"
        self.folders.add(folder)
        url = self.hosted(request, self.backend.save(request, data, f"upload.{EXTENSIONS[content_type]}", folder))
        if not content_type.startswith("video/"):
            return JSONResponse({"status": "ready", "url": url, "size": len(data), "contentType": content_type})
        upload_id = str(uuid.uuid4())
        self.uploads[upload_id] = UploadRecord(account, url, content_type,
                                               time.monotonic() + self.backend.config.queued_seconds)
        root = request.scope.get("root_path", "")
        return JSONResponse({"status": "processing", "uploadId": upload_id,
                             "pollUrl": f"{root}/v1/uploads/{upload_id}"}, status_code=202)

    async def upload_status(self, request: Request) -> Response:
        account = self.account(request, "upload_polls")
        upload = self.uploads.get(request.path_params["upload_id"])
        if upload is None or upload.account != account:
            raise error(404, "unknown upload", "unknown_upload")
        if time.monotonic() < upload.ready_at:
            return JSONResponse({"status": "processing"}, status_code=202)
        return JSONResponse({"status": "ready", "url": upload.url, "contentType": upload.content_type})

    async def me(self, request: Request) -> Response:
        account = self.account(request, "me")
        cap = self.limits.daily_credit_cap
        today = self.spent(account, time.strftime("%Y-%m-%d", time.gmtime()))
        return JSONResponse({
            "key": {"id": account[:8], "prefix": "zpk_live_…", "label": "ltxkit emulator", "createdAt": None,
                    "expiresAt": None, "dailyCreditCap": cap, "creditsSpentToday": today,
                    "creditsRemainingToday": None if cap is None else max(0, cap - today)},
            "project": {"id": account[8:16], "name": "ltxkit emulator project"},
            "user": {"creditBalance": self.balance(account)},
            "limits": {"tasksPerMin": self.limits.tasks.count, "uploadsPerMin": self.limits.uploads.count,
                       "uploadPollPerMin": self.limits.upload_polls.count}})


API = ZooopApi
