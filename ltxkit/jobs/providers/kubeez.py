"""Kubeez (seed 003): extend = one start image, or a server-side extend of a Veo 3.1 generation.

``POST /v1/generate/media {model, prompt, duration, aspect_ratio, resolution, source_media_urls}`` →
``{generation_id, status}``; poll ``GET /v1/generate/media/{id}`` until ``completed`` (``outputs[].url``),
``failed`` or ``cancelled``, on the documented backoff (5 s first, up to 30 s: the client's defaults for
this provider). ``POST /v1/generate/media/extend {source_task_id, prompt, extend_model}`` continues a
completed Veo 3.1 generation from its last frame; ``source_task_id`` is read from that generation's
status. Local files go up ``POST /v1/upload/media`` (multipart ``file``) first. The model is the one
``request.model`` names, else the first video model of ``GET /v1/models?model_type=video`` whose
``max_input_images``/``max_input_audios`` fit the request. 429 carries ``Retry-After`` and a
``retry_after`` body field (either is honoured). No idempotency key and no refunds: a create whose
answer was lost is not sent again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ltxkit.errors import InputError
from ltxkit.jobs.models import JobRequest
from ltxkit.jobs.plan import Context, Plan, json_plan, status_plan
from ltxkit.jobs.pricebook import Price
from ltxkit.jobs.providers.base import Built, RestProvider, frozen
from ltxkit.jobs.providers.capabilities import Capabilities
from ltxkit.jobs.providers.request import ExtendRequest, Upload, aspect_ratio, describe_options, fit_option
from ltxkit.jobs.wire import RequestSpec

EXTEND_MODELS = ("lite", "fast", "quality")
EXTEND_CREDITS = {"lite": 45, "fast": 75, "quality": 300}  # "Flat price: lite=45, fast=75, quality=300 credits"


@dataclass(frozen=True)
class KubeezProvider(RestProvider):
    name: str = "kubeez"
    rank: int = 4
    tasks: Mapping[str, str] = field(default_factory=lambda: frozen({
        "media": "/v1/generate/media", "media.extend": "/v1/generate/media/extend"}))
    status_path: str = "/v1/generate/media/{id}"
    balance_path: str = "/v1/balance"
    health_path: str = "/health"
    job_id_fields: tuple[str, ...] = ("generation_id", "id")
    outputs_fields: tuple[str, ...] = ("outputs",)
    failed_words: frozenset[str] = frozenset({"failed", "cancelled"})
    money_unit: str = "credits"
    billing_fields: tuple[str, ...] = ("estimated_cost_credits",)
    funds_fields: tuple[str, ...] = ("credits",)
    # both X-API-Key and Bearer are accepted: the configured style (LTXKIT_API_AUTH) is used
    config_defaults: Mapping[str, object] = field(default_factory=lambda: frozen({
        "base_url": "https://api.kubeez.com", "poll_interval": 5.0, "poll_max_interval": 30.0}))
    capabilities: Capabilities = field(default_factory=lambda: Capabilities(
        last_frame="`source_media_urls` of an image-to-video model, uploaded",
        server_extend="`/v1/generate/media/extend` by `source_task_id` (Veo 3.1 sources)",
        reference_audio="`source_media_urls` of a model with `max_input_audios` ≥ 1",
        uploads="`POST /v1/upload/media` (multipart)",
        remarks={"overlap_frames": "source images are references, not consecutive frames",
                 "quote": "no estimate endpoint; flat extend prices: lite 45, fast 75, quality 300 credits"}))

    def task_for(self, request: ExtendRequest) -> str:
        return "media.extend" if request.source_job_id is not None else "media"

    def build_plan(self, ctx: Context, request: ExtendRequest) -> Plan[Built]:
        if request.source_job_id is not None:
            return (yield from self.extend_plan(ctx, request))
        notes: list[str] = []
        wanted: dict[str, object] = {"duration": request.whole_seconds(self.name, notes)}
        if request.size is not None:
            wanted.update(aspect_ratio=aspect_ratio(*request.size), resolution=f"{request.size[1]}p")
        model, fitted = yield from self.model_plan(ctx, request, {k: v for k, v in wanted.items() if v is not None})
        urls: list[str] = []
        for frame in request.conditioning:
            urls.append((yield from self.upload_plan(ctx, frame, "last_frame", "image")))
        if request.reference_audio is not None:
            urls.append((yield from self.upload_plan(ctx, request.reference_audio, "reference_audio", "audio")))
        body: dict[str, Any] = {"model": model, "prompt": request.prompt, **fitted,
                                "generation_type": "image-to-video" if urls else "text-to-video"}
        if urls:
            body["source_media_urls"] = urls
        if request.seed is not None:
            notes.append("kubeez media take no seed: not sent")
        body.update(request.extra)
        return Built("media", body, tuple(notes))

    def extend_plan(self, ctx: Context, request: ExtendRequest) -> Plan[Built]:
        assert request.source_job_id is not None
        source = yield from status_plan(ctx, request.source_job_id)
        task_id = source.payload.get("source_task_id")
        if source.state != "done" or not isinstance(task_id, str) or not task_id:
            raise InputError(f"kubeez can extend only its own completed Veo 3.1 generations (not an extend, not "
                             f"1080p): generation {request.source_job_id} is {source.raw_status or 'unknown'} "
                             "and has no source_task_id")
        body: dict[str, Any] = {"source_task_id": task_id, "prompt": request.prompt}
        if request.model is not None:
            if request.model not in EXTEND_MODELS:
                raise InputError(f"kubeez extend_model must be one of {', '.join(EXTEND_MODELS)}, "
                                 f"got {request.model!r}")
            body["extend_model"] = request.model
        notes = [f"kubeez extend decides the {what} itself: not sent" for what, value in (
            ("length", request.frames), ("size", request.size), ("seed", request.seed)) if value is not None]
        body.update(request.extra)
        return Built("media.extend", body, tuple(notes))

    def documented_price(self, request: JobRequest) -> Price | None:
        credits = EXTEND_CREDITS.get(str(request.input.get("extend_model"))) if request.task == "media.extend" else None
        return None if credits is None else Price(Decimal(credits), self.money_unit)

    def model_plan(self, ctx: Context, request: ExtendRequest,
                   wanted: Mapping[str, object]) -> Plan[tuple[str, dict[str, object]]]:
        """``request.model``, or the first video model of the catalog, that takes the request's source
        images/audio and offers its duration, aspect ratio and resolution (with those as it names them)."""
        answer = yield from json_plan(ctx, RequestSpec("GET", "/v1/models", params={"model_type": "video"}))
        models = [m for m in answer.get("models") or [] if isinstance(m, Mapping)]
        if request.model is not None:
            models = [m for m in models if m.get("model_id") == request.model]
            if not models:
                raise InputError(f"kubeez has no video model {request.model!r} (see /docs/models.json)")
        images, audios = len(request.conditioning), int(request.reference_audio is not None)
        problems: list[str] = []
        for model in models:
            caps = model.get("capabilities")
            caps = caps if isinstance(caps, Mapping) else {}
            name = str(model.get("model_id"))
            if int(caps.get("max_input_images") or 0) < images or int(caps.get("max_input_audios") or 0) < audios:
                problems.append(f"{name} takes {caps.get('max_input_images') or 0} image(s), "
                                f"{caps.get('max_input_audios') or 0} audio")
                continue
            fitted = {key: fit_option(caps.get(f"{key}_options"), key, value) for key, value in wanted.items()}
            bad = [k for k, v in fitted.items() if v is None]
            if not bad:
                return name, fitted
            problems.append(f"{name} offers " + "; ".join(
                f"{k} {describe_options(caps.get(f'{k}_options'))} (not {wanted[k]})" for k in bad))
        raise InputError("kubeez has no video model for this request: " + " | ".join(problems))

    def unsent_reason(self) -> str:
        return "look for it in GET /v1/generations before trying again: Kubeez does not refund"

    def upload_request(self, upload: Upload) -> RequestSpec:
        return RequestSpec("POST", "/v1/upload/media", files={"file": (upload.filename, upload.data, upload.mime)})

    def uploaded_url(self, payload: Mapping[str, Any]) -> str | None:
        urls = payload.get("urls")
        return urls[0] if isinstance(urls, list) and urls and isinstance(urls[0], str) else None

    def retry_hint(self, headers: Mapping[str, str], body: bytes, now: float) -> float | None:
        hint = super().retry_hint(headers, body, now)
        if hint is not None:
            return hint
        try:
            seconds = json.loads(body).get("retry_after")
        except (ValueError, AttributeError):
            return None
        return max(0.0, float(seconds)) if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) \
            else None


KUBEEZ = PROVIDER = KubeezProvider()
