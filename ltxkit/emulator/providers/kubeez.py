"""Kubeez (seed 003) under ``/kubeez``: ``POST /v1/generate/media``, ``POST /v1/generate/media/extend``,
``GET /v1/generate/media/{id}``, ``POST /v1/upload/media`` (multipart ``file``), ``GET /v1/models``,
``GET /v1/balance``, and without a key ``GET /health`` and ``GET /docs/models.json``.

``X-API-Key`` or Bearer keys; errors ``{"error": code, "message": text}``; a 429 carries ``Retry-After``
and ``retry_after`` in the body (generate 30/min, uploads 30/min, reads 120/min per key). The catalog
holds emulated stand-ins: ``veo-3.1-fast`` (16:9 or 9:16, 4/6/8 s, one source image; its completed
generations get a ``source_task_id`` and can be extended unless 1080p), ``ltx-2-fast`` (1-10 s, one
image and one audio source) and the image model ``nano-banana-2``. Outputs are 24 fps. Credits are
charged at submit and never refunded (as documented). An extend starts from the source's last frame
and has the source's size and length.
"""

from __future__ import annotations

import email.parser
import email.policy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ltxkit.emulator.providers.common import Backend, ProviderApi, frames_for, kind_of, meta, phase, sized, video_input
from ltxkit.emulator.store import StoredJob
from ltxkit.emulator.web import (
    BEARER,
    EXTENSIONS,
    X_API_KEY,
    Allowance,
    Problem,
    Window,
    image_problem,
    status_code_name,
)

NAME = "kubeez"
TASK_PREFIX = "veo-task-"
EXTEND_PRICES = {"lite": 45, "fast": 75, "quality": 300}
MODELS: list[dict[str, Any]] = [
    {"model_id": "veo-3.1-fast", "model_type": "video", "generation_types": ["text-to-video", "image-to-video"],
     "capabilities": {"aspect_ratio_options": ["16:9", "9:16"], "duration_options": [4, 6, 8],
                      "resolution_options": ["480p", "720p", "1080p"], "max_input_images": 1, "max_input_videos": 0,
                      "max_input_audios": 0, "video_audio": "included", "supports_negative_prompt": False,
                      "prompt_max_chars": 2000},
     "cost_per_generation": None, "cost_note": "15 credits per second of output", "credits_per_second": 15,
     "usage_notes": "emulated Veo 3.1 stand-in; completed generations below 1080p can be extended"},
    {"model_id": "ltx-2-fast", "model_type": "video", "generation_types": ["text-to-video", "image-to-video"],
     "capabilities": {"aspect_ratio_options": ["16:9", "9:16", "1:1"], "duration_options": {"min": 1, "max": 10},
                      "resolution_options": ["480p", "720p"], "max_input_images": 1, "max_input_videos": 0,
                      "max_input_audios": 1, "video_audio": "included", "supports_negative_prompt": True,
                      "prompt_max_chars": 2000},
     "cost_per_generation": None, "cost_note": "6 credits per second of output", "credits_per_second": 6,
     "usage_notes": "emulated LTX-2 stand-in; a source audio becomes the soundtrack"},
    {"model_id": "nano-banana-2", "model_type": "image", "generation_types": ["text-to-image", "image-to-image"],
     "capabilities": {"aspect_ratio_options": ["1:1", "16:9", "9:16"], "max_input_images": 4, "max_input_videos": 0,
                      "max_input_audios": 0, "prompt_max_chars": 4000},
     "cost_per_generation": 4, "cost_note": "flat per image"},
]
BY_ID = {m["model_id"]: m for m in MODELS}


@dataclass
class KubeezLimits:
    generate: Window = field(default_factory=lambda: Window(30, 60.0))
    uploads: Window = field(default_factory=lambda: Window(30, 60.0))
    reads: Window = field(default_factory=lambda: Window(120, 60.0))
    starting_credits: int = 5000


def error(status: int, code: str, message: str, headers: Mapping[str, str] | None = None, **extra: Any) -> Problem:
    return Problem(status, {"error": code, "message": message, **extra}, headers)


def invalid(message: str) -> Problem:
    return error(400, "invalid_request", message)


def multipart_files(content_type: str, body: bytes) -> dict[str, tuple[str, bytes, str]]:
    """``multipart/form-data`` → ``{field: (filename, bytes, type)}`` for its file parts (stdlib parser)."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise invalid("send multipart/form-data with a file field named 'file'")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
    files: dict[str, tuple[str, bytes, str]] = {}
    for part in message.iter_parts():
        name, filename = part.get_param("name", header="content-disposition"), part.get_filename()
        data = part.get_payload(decode=True)
        if isinstance(name, str) and filename and isinstance(data, bytes):
            files[name] = (filename, data, part.get_content_type())
    return files


class KubeezApi(ProviderApi):
    name = NAME
    key_headers = (X_API_KEY, BEARER)

    def __init__(self, backend: Backend) -> None:
        super().__init__(backend)
        self.limits: KubeezLimits = KubeezLimits()
        self.charges: dict[str, int] = {}

    def routes(self) -> list[BaseRoute]:
        return [Route(path, endpoint, methods=[method]) for path, method, endpoint in (
            ("/health", "GET", self.health), ("/docs/models.json", "GET", self.catalog),
            ("/v1/models", "GET", self.models), ("/v1/balance", "GET", self.balance),
            ("/v1/upload/media", "POST", self.upload), ("/v1/generate/media", "POST", self.generate),
            ("/v1/generate/media/extend", "POST", self.extend), ("/v1/generate/media/{job_id}", "GET", self.status))]

    # ---- error words --------------------------------------------------------------------------------

    def problem(self, status: int, text: str, details: object = None,
                headers: Mapping[str, str] | None = None) -> Problem:
        code = {400: "invalid_request", 429: "rate_limit_exceeded"}.get(status) or status_code_name(status)
        return error(status, code, text if details is None else f"{text}: {details}", headers)


    def too_large(self, limit: int) -> Problem:
        return invalid(f"body larger than {limit} bytes")

    def unauthorized(self, request: Request, given: bool) -> Problem:
        return error(401, "unauthorized", "missing or invalid API key (X-API-Key or Authorization: Bearer)")

    def rate_limited(self, bucket: str, allowance: Allowance) -> Problem:
        wait = allowance.retry_after
        return error(429, "rate_limit_exceeded", f"too many {bucket} requests", {"Retry-After": wait},
                     retry_after=float(wait))

    def credits(self, account: str) -> int:
        store = self.backend.store
        return self.limits.starting_credits - sum(c for job_id, c in self.charges.items()
                                                  if (job := store.get_job(job_id)) and job.account == account)

    def _charge(self, account: str, credits: int) -> None:
        if self.credits(account) < credits:
            raise error(402, "insufficient_credits", f"this generation costs {credits} credits; top up at "
                                                     "https://kubeez.com/billing")

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "healthy"})

    async def catalog(self, request: Request) -> Response:
        return JSONResponse({"models": MODELS})

    async def models(self, request: Request) -> Response:
        self.account(request, "reads")
        kind = request.query_params.get("model_type")
        return JSONResponse({"models": [m for m in MODELS if kind is None or m["model_type"] == kind]})

    async def balance(self, request: Request) -> Response:
        credits = self.credits(self.account(request, "reads"))
        return JSONResponse({"credits": credits, "message": f"You have {credits} credits"})

    async def upload(self, request: Request) -> Response:
        self.account(request, "uploads")
        body = await self.body(request, lambda n: error(413, "file_too_large", f"uploads are limited to "
                                                                                       f"{n} bytes"))
        upload = multipart_files(request.headers.get("content-type", ""), body).get("file")
        if upload is None:
            raise error(400, "missing_file", "the multipart body has no 'file' field")
        filename, data, mime = upload
        if (refusal := image_problem(data)) is not None:
            raise invalid(refusal)
        extension = EXTENSIONS.get(mime) or filename.rsplit(".", 1)[-1].lower()
        url = self.backend.save(request, data, f"upload.{extension}")
        return JSONResponse({"success": True, "urls": [url], "uploaded": 1})

    # ---- generation -----------------------------------------------------------------------------------

    @staticmethod
    def _option(body: dict[str, Any], name: str, options: Any, code: str = "invalid_request") -> Any:
        value = body.get(name)
        if isinstance(options, dict):  # a flexible whole-number range
            value = options["min"] if value is None else value
            if isinstance(value, bool) or not isinstance(value, int) or not options["min"] <= value <= options["max"]:
                raise error(400, code, f"{name} must be a whole number {options['min']}-{options['max']}")
            return value
        value = options[0] if value is None else value
        if value not in options:
            raise error(400, code, f"{name} must be one of {', '.join(map(str, options))}, got {value!r}")
        return value

    def _sources(self, body: dict[str, Any], caps: dict[str, Any]) -> dict[str, list[str]]:
        urls = body.get("source_media_urls") or []
        if not isinstance(urls, list) or not all(isinstance(u, str) and u.startswith(("http://", "https://"))
                                                 for u in urls):
            raise invalid("source_media_urls must be a list of http(s) URLs")
        found: dict[str, list[str]] = {"image": [], "audio": [], "video": []}
        for url in urls:
            kind = kind_of(url)
            if kind is None:
                raise invalid(f"cannot tell the media type of {url}")
            found[kind].append(url)
        for kind, items in found.items():
            if len(items) > int(caps.get(f"max_input_{kind}s") or 0):
                raise invalid(f"this model takes at most {caps.get(f'max_input_{kind}s') or 0} {kind} source(s)")
        return found

    async def generate(self, request: Request) -> Response:
        account = self.account(request, "generate")
        body = await self.json(request)
        model = BY_ID.get(str(body.get("model")))
        if model is None:
            raise error(404 if body.get("model") else 400, "model_not_found" if body.get("model") else "missing_model",
                        f"unknown or disabled model {body.get('model')!r} (see /docs/models.json)")
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            raise error(400, "missing_prompt", "prompt is required")
        if body.get("generation_type") is not None and body["generation_type"] not in model["generation_types"]:
            raise invalid(f"generation_type must be one of {', '.join(model['generation_types'])}")
        caps = model["capabilities"]
        ratio = self._option(body, "aspect_ratio", caps["aspect_ratio_options"], "unsupported_aspect")
        sources = self._sources(body, caps)
        if model["model_type"] == "image":
            self._charge(account, model["cost_per_generation"])
            effective: dict[str, Any] = {"prompt": prompt, "outputFormat": "webp",
                                         **dict(zip(("width", "height"), sized(1024, ratio), strict=True))}
            return await self._start(request, account, model, "image.generate", effective,
                                     model["cost_per_generation"], {"kind": "image"})
        seconds = self._option(body, "duration", caps["duration_options"])
        resolution = self._option(body, "resolution", caps["resolution_options"])
        credits = model["credits_per_second"] * seconds
        self._charge(account, credits)
        effective = video_input(prompt, frames=frames_for(seconds),
                                size=sized(int(resolution[:-1]), ratio),
                                first_frame=sources["image"][0] if sources["image"] else None,
                                audio=sources["audio"][0] if sources["audio"] else None)
        return await self._start(request, account, model, "video.generate", effective, credits,
                                 {"kind": "video", "resolution": resolution})

    async def _start(self, request: Request, account: str, model: dict[str, Any], task: str,
                     effective: dict[str, Any], credits: int, options: dict[str, Any],
                     job_id: str | None = None, extra: dict[str, Any] | None = None) -> Response:
        job = self.backend.create(request, account=account, provider=NAME, task=task, effective=effective,
                                  job_id=job_id, options={"model": model["model_id"], **options})
        self.charges[job.id] = credits
        if (gone := await self.dropped(request)) is not None:
            return gone
        return JSONResponse({"generation_id": job.id, "status": "queued", **(extra or {})})

    async def extend(self, request: Request) -> Response:
        account = self.account(request, "generate")
        body = await self.json(request)
        task_id, prompt = body.get("source_task_id"), body.get("prompt")
        if not isinstance(task_id, str) or not task_id:
            raise error(400, "missing_source_task_id", "source_task_id is required")
        if not isinstance(prompt, str) or not prompt.strip():
            raise error(400, "missing_prompt", "prompt is required")
        tier = self._option(body, "extend_model", ["fast", "lite", "quality"])
        source = self.backend.get(account, NAME, task_id.removeprefix(TASK_PREFIX)) \
            if task_id.startswith(TASK_PREFIX) else None
        if source is None:
            raise error(404, "not_found", f"no generation of yours has source_task_id {task_id}")
        if self._task_id(source) is None:
            raise invalid("the source must be your own completed Veo 3.1 generation, not an extend, not 1080p")
        video = self.backend.output_path(source)
        if video is None:
            raise invalid("the source generation's output is gone")
        self._charge(account, EXTEND_PRICES[tier])
        job_id = self.backend.new_id()
        first = await self.backend.last_frame(request, video, job_id)
        effective = video_input(prompt, frames=int(source.effective["durationFrames"]),
                                size=(int(source.effective["width"]), int(source.effective["height"])),
                                first_frame=first)
        return await self._start(request, account, BY_ID[meta(source)["model"]], "video.generate", effective,
                                 EXTEND_PRICES[tier], {"kind": "extend", "source": source.id, "tier": tier},
                                 job_id=job_id, extra={"source_task_id": task_id,
                                                       "estimated_cost_credits": EXTEND_PRICES[tier]})

    @staticmethod
    def _task_id(job: StoredJob) -> str | None:
        """The ``source_task_id`` of an extendable generation: completed Veo 3.1, not an extend, not 1080p."""
        info = meta(job)
        if job.status != "completed" or not str(info.get("model", "")).startswith("veo-3.1") \
                or info.get("kind") != "video" or info.get("resolution") == "1080p":
            return None
        return TASK_PREFIX + job.id

    async def status(self, request: Request) -> Response:
        account = self.account(request, "reads")
        job = self.backend.get(account, NAME, request.path_params["job_id"])
        if job is None:
            raise error(404, "not_found", "no such generation")
        info = meta(job)
        state = {"running": "processing"}.get(phase(job), phase(job))
        media = "image" if job.task == "image.generate" else "video"
        answer: dict[str, Any] = {
            "id": job.id, "generation_id": job.id, "status": state, "model": info.get("model"),
            "outputs": [{"url": u, "media_type": media} for u in self.backend.output_urls(request, job)],
            "created_at": job.created_at, "completed_at": job.completed_at}
        if (task_id := self._task_id(job)) is not None:
            answer["source_task_id"] = task_id
        if state == "failed":
            answer["error"] = job.error or "generation failed"
        return JSONResponse(answer)


API = KubeezApi
