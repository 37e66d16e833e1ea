"""ZOOOP (seed 002): extend = one start frame (``first-last-frame``) or ``extend-video`` of an earlier task.

``POST /v1/tasks {interfaceId, versionId, params}`` with ``Idempotency-Key`` → ``{taskId, status}``; poll
``GET /v1/tasks/{id}`` until ``succeeded`` (``outputs[].url``), ``failed`` or ``cancelled``. The model
(``interfaceId``) is found with ``GET /v1/models?type=video&subtype=…``: ``models[0]`` as the seed
recommends, or the one named by ``request.model`` (id, or name substring). Its ``params[]`` say which
keys to fill: the frame goes into its ``first_frame``/``image_url`` param, the source video into its
``video_url`` param. Media params take only ZOOOP-hosted URLs ("upload foreign URLs first"): a local file,
and a foreign URL (fetched first, never with the key), go up ``POST /v1/uploads`` (images/audio answer at
once, video ``202`` and is polled until ready); a URL on ``zooop.ai`` or under the API base is sent as is.
That holds for media URLs passed in ``extra`` too.
``POST /v1/quote`` prices the same body. Errors are ``{error: {message, type, code}}``; a 429 is
retried after ``Retry-After`` unless its code is ``token_daily_cap_reached`` (final, like 402).
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from ltxkit.errors import ApiError, BadRequestError, InputError, JobTimeoutError, PaymentRequiredError
from ltxkit.jobs.download import download_plan, filename_from_url
from ltxkit.jobs.plan import Context, Plan, Sleep, json_plan, status_plan
from ltxkit.jobs.pricebook import Price
from ltxkit.jobs.providers.base import Built, RestProvider, frozen
from ltxkit.jobs.providers.capabilities import Capabilities
from ltxkit.jobs.providers.request import (
    ExtendRequest,
    MediaArg,
    Upload,
    aspect_ratio,
    bytes_upload,
    describe_options,
    fit_option,
    is_url,
    media_upload,
)
from ltxkit.jobs.retry import poll_delay
from ltxkit.jobs.wire import RequestSpec, dig

FRAME_PARAM_TYPES = ("first_frame", "image_url")
VIDEO_PARAM_TYPES = ("video_url",)
# the param types whose values must be ZOOOP-hosted URLs, and what they hold ("image_urls": a list of them)
MEDIA_KINDS = {"image_url": "image", "first_frame": "image", "last_frame": "image", "mask_url": "image",
               "video_url": "video", "audio_url": "audio", "voice": "audio"}
UPLOAD_TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif", "audio/mpeg", "audio/wav", "audio/webm",
                "audio/ogg", "video/mp4", "video/webm", "video/quicktime")
UPLOAD_CAP = 100 * 1024 * 1024  # "100 MB hard ceiling per file"
HOME = "zooop.ai"


def media_kind(param_type: str) -> str | None:
    return MEDIA_KINDS.get(param_type) or MEDIA_KINDS.get(param_type.removesuffix("s"))


def _fit(label: str, key: str, spec: Mapping[str, Any], value: object) -> object:
    """``value`` if the model's ``options`` allow it; else refuse naming the options."""
    options = spec.get("options") or spec.get("enumValues")
    fitted = fit_option(options, key, value)
    if fitted is None:
        raise InputError(f"{label} offers {key} {describe_options(options)}; {value} is not one of them")
    return fitted


@dataclass(frozen=True)
class ZooopProvider(RestProvider):
    name: str = "zooop"
    rank: int = 3
    tasks: Mapping[str, str] = field(default_factory=lambda: frozen({"tasks": "/v1/tasks"}))
    status_path: str = "/v1/tasks/{id}"
    balance_path: str = "/v1/me"
    idempotency_header: str = "Idempotency-Key"
    job_id_fields: tuple[str, ...] = ("taskId",)
    status_fields: tuple[str, ...] = ("status",)
    outputs_fields: tuple[str, ...] = ("outputs",)
    error_fields: tuple[str, ...] = ("error",)
    done_words: frozenset[str] = frozenset({"succeeded"})
    failed_words: frozenset[str] = frozenset({"failed", "cancelled"})
    auth_style: str | None = "bearer"
    config_defaults: Mapping[str, object] = field(default_factory=lambda: frozen({"base_url": "https://api.zooop.ai"}))
    money_unit: str = "credits"
    billing_fields: tuple[str, ...] = ("creditsCharged",)
    funds_fields: tuple[str, ...] = ("team.creditBalance", "user.creditBalance")  # a team token spends the team's
    capabilities: Capabilities = field(default_factory=lambda: Capabilities(
        last_frame="`first_frame` of a `first-last-frame` model, uploaded",
        server_extend="`extend-video` model on the source task's output",
        uploads="`POST /v1/uploads` (raw body): local files and foreign URLs",
        quote="`POST /v1/quote`",
        remarks={"overlap_frames": "one start frame only",
                 "reference_audio": "no audio input on `first-last-frame`/`extend-video` models"}))

    def task_for(self, request: ExtendRequest) -> str:
        return "tasks"

    @staticmethod
    def subtype(request: ExtendRequest) -> str:
        if request.source_job_id is not None:
            return "extend-video"
        return "first-last-frame" if request.conditioning else "text-ref"

    def model_plan(self, ctx: Context, subtype: str, wanted: str | None) -> Plan[Mapping[str, Any]]:
        """``models[0]`` of the subtype, or the one ``wanted`` names (its id, or part of its name)."""
        spec = RequestSpec("GET", "/v1/models", params={"type": "video", "subtype": subtype})
        models = [m for m in (yield from json_plan(ctx, spec)).get("models") or [] if isinstance(m, Mapping)]
        if wanted is not None:
            models = [m for m in models if m.get("id") == wanted or wanted.lower() in str(m.get("name", "")).lower()]
        if not models:
            raise InputError(f"provider zooop has no video/{subtype} model"
                             + (f" matching {wanted!r}" if wanted is not None else ""))
        return models[0]

    def build_plan(self, ctx: Context, request: ExtendRequest) -> Plan[Built]:
        subtype = self.subtype(request)
        model = yield from self.model_plan(ctx, subtype, request.model)
        params_spec = [p for p in model.get("params") or [] if isinstance(p, Mapping)]
        by_type = {str(p.get("type")): str(p.get("id")) for p in reversed(params_spec)}
        label = f"zooop model {model.get('name', model.get('id'))!r}"
        notes: list[str] = []
        params: dict[str, Any] = {"prompt": request.prompt}
        media_types = FRAME_PARAM_TYPES if subtype == "first-last-frame" else VIDEO_PARAM_TYPES
        media_param = next((by_type[t] for t in media_types if t in by_type), None)
        if subtype != "text-ref" and media_param is None:
            raise InputError(f"{label} has no {'/'.join(media_types)} parameter for the "
                             f"{'frame' if subtype == 'first-last-frame' else 'source video'}")
        wanted: dict[str, object] = {"duration": request.whole_seconds(self.name, notes), "seed": request.seed}
        if request.size is not None:
            wanted.update(resolution=f"{request.size[1]}p", aspect_ratio=aspect_ratio(*request.size))
        specs = {str(p.get("id")): p for p in params_spec}
        for key, value in wanted.items():
            if value is None:
                continue
            if key in specs:
                params[key] = _fit(label, key, specs[key], value)
            else:
                notes.append(f"{label} takes no {key}: {value} not sent")
        params.update(request.extra)
        missing = [str(p.get("id")) for p in params_spec if p.get("required") and p.get("id") not in params
                   and p.get("id") != media_param and p.get("default") is None]
        if missing:
            raise InputError(f"{label} requires {', '.join(missing)}; pass them in the request's extra")
        # only now, with the request known to fit the model, read the source or upload the frame
        if request.source_job_id is not None and media_param is not None:
            params[media_param] = yield from self.source_video_plan(ctx, request.source_job_id)
        elif media_param is not None:
            params[media_param] = yield from self.upload_plan(ctx, request.conditioning[0], "last_frame", "image")
        for spec in params_spec:  # media URLs given in ``extra``: foreign ones are uploaded too
            key, kind = str(spec.get("id")), media_kind(str(spec.get("type")))
            value = params.get(key)
            if kind is None or key == media_param or value is None:
                continue
            if isinstance(value, list):
                hosted = []
                for i, item in enumerate(value):
                    hosted.append((yield from self.url_plan(ctx, item, f"extra.{key}[{i}]", kind)))
                params[key] = hosted
            else:
                params[key] = yield from self.url_plan(ctx, value, f"extra.{key}", kind)
        versions = [v for v in model.get("versions") or [] if isinstance(v, Mapping)]
        body = {"interfaceId": model.get("id"), "versionId": versions[0].get("id") if versions else "standard",
                "params": params}
        return Built("tasks", body, tuple(notes))

    def source_video_plan(self, ctx: Context, task_id: str) -> Plan[str]:
        """The output URL of an earlier task (ZOOOP-hosted, so ``extend-video`` can read it)."""
        source = yield from status_plan(ctx, task_id)
        if source.state != "done" or not source.outputs:
            raise InputError(f"zooop task {task_id} is {source.raw_status or 'unfinished'}; only a succeeded "
                             "task with an output can be extended")
        return source.outputs[0]

    # ---- media: only ZOOOP-hosted URLs reach a task ----------------------------------------------------

    @staticmethod
    def hosted(url: str, base_url: str) -> bool:
        """Whether ZOOOP reads ``url`` as its own: on ``zooop.ai`` (its CDN is ``storage.zooop.ai``) or
        under the API base this client talks to (an emulator, a proxy). Any other URL is foreign."""
        host = (urlsplit(url).hostname or "").lower()
        return host == HOME or host.endswith("." + HOME) or url.startswith(base_url.rstrip("/") + "/")

    def url_plan(self, ctx: Context, value: object, what: str, kind: str) -> Plan[object]:
        """A media URL from ``extra`` made ZOOOP-hosted; anything else (an id, a voice name) as it is."""
        if isinstance(value, str) and is_url(value):
            return (yield from self.upload_plan(ctx, value, what, kind))
        return value

    def upload_plan(self, ctx: Context, value: MediaArg, field_name: str, kind: str) -> Plan[str]:
        """A ZOOOP-hosted URL for ``value``: as is when it already is one; a local or inline file, or a
        foreign URL's bytes (fetched without the key: it is not ZOOOP's), uploaded."""
        if isinstance(value, str) and is_url(value):
            if self.hosted(value, ctx.base_url):
                return value
            upload = yield from self.fetch_plan(ctx, value, field_name, kind)
        else:
            got = media_upload(value, field_name, kind)
            assert isinstance(got, Upload)
            upload = got
        return (yield from self.send_upload_plan(ctx, upload, field_name))

    def fetch_plan(self, ctx: Context, url: str, field_name: str, kind: str) -> Plan[Upload]:
        """A foreign URL's bytes, downloaded (by the one download plan: retried, bounded, here to ZOOOP's
        upload cap) never with the key, and its type sniffed from the content (a CDN's Content-Type may
        say anything)."""
        capped = dataclasses.replace(ctx, limits=dataclasses.replace(
            ctx.limits, max_download_bytes=min(ctx.limits.max_download_bytes, UPLOAD_CAP)))
        with tempfile.TemporaryDirectory(prefix="ltxkit-zooop-") as folder:
            name = filename_from_url(url, kind)
            path = yield from download_plan(capped, url, Path(folder) / name, keyless=True)
            data = path.read_bytes()
        return bytes_upload(data, kind, name, f"{field_name}: {url}")

    def send_upload_plan(self, ctx: Context, upload: Upload, field_name: str) -> Plan[str]:
        """``POST /v1/uploads`` (raw body); a video's ``202 processing`` is polled until ready."""
        mime = "audio/ogg" if upload.mime == "audio/opus" else upload.mime  # Opus comes in an Ogg file
        if mime not in UPLOAD_TYPES:
            raise InputError(f"{field_name}: ZOOOP uploads take {', '.join(UPLOAD_TYPES)}; {upload.filename} "
                             f"is {upload.mime}")
        if len(upload.data) > UPLOAD_CAP:
            raise InputError(f"{field_name}: {upload.filename} is {len(upload.data)} bytes; ZOOOP uploads take "
                             f"at most {UPLOAD_CAP} (100 MB)")
        payload = yield from json_plan(ctx, self.upload_request(Upload(upload.data, mime, upload.filename)))
        upload_id, started, polls = payload.get("uploadId"), ctx.clock(), 0
        while payload.get("status") == "processing" and isinstance(upload_id, str):
            delay = poll_delay(polls, ctx.poll)
            if ctx.clock() - started + delay > ctx.poll.timeout:
                raise JobTimeoutError(f"zooop upload {upload_id} ({upload.filename}) still processing after "
                                      f"{ctx.clock() - started:.1f} s (wait limit {ctx.poll.timeout:g} s)")
            yield Sleep(delay)
            polls += 1
            payload = yield from json_plan(ctx, RequestSpec("GET", f"/v1/uploads/{quote(upload_id, safe='')}"))
        status = payload.get("status")
        if status == "blocked":
            raise BadRequestError(f"zooop refused the upload of {upload.filename}: {payload.get('error') or 'blocked'}"
                                  f" ({payload.get('labels') or 'content policy'})")
        url = self.uploaded_url(payload)
        if url is None:
            raise ApiError(f"POST /v1/uploads: {upload.filename} is {status or 'not ready'}"
                           + (f": {payload['reason']}" if payload.get("reason") else ""))
        return url

    def upload_request(self, upload: Upload) -> RequestSpec:
        return RequestSpec("POST", "/v1/uploads", content=upload.data, headers={"Content-Type": upload.mime})

    def uploaded_url(self, payload: Mapping[str, Any]) -> str | None:
        url = payload.get("url") if payload.get("status") == "ready" else None
        return url if isinstance(url, str) and url else None

    def quote_request(self, body: Mapping[str, Any]) -> RequestSpec:
        return RequestSpec("POST", "/v1/quote", json=dict(body))

    def quoted(self, payload: Mapping[str, Any]) -> Price | None:
        """``credits``: "authoritative cost for this exact payload" (the submit charges it)."""
        return Price.parse(payload.get("credits"), self.money_unit)

    def funds(self, payload: object) -> Price | None:
        """``/v1/me``'s wallet, or less when the token's daily credit cap leaves less today
        (``key.creditsRemainingToday``, null without a cap): what a submit can still be charged."""
        known = [p for p in (super().funds(payload), Price.parse(dig(payload, "key.creditsRemainingToday"),
                                                                 self.money_unit)) if p is not None]
        return min(known, key=lambda p: p.amount) if known else None

    def funds_limit(self, payload: object) -> tuple[str, str]:
        """The token's daily cap when what it leaves today is less than the wallet (see :meth:`funds`)."""
        wallet, today = super().funds(payload), Price.parse(dig(payload, "key.creditsRemainingToday"), self.money_unit)
        if today is None or (wallet is not None and wallet.amount <= today.amount):
            return super().funds_limit(payload)
        cap = Price.parse(dig(payload, "key.dailyCreditCap"), self.money_unit)
        return (f"what the token's daily credit cap{'' if cap is None else f' ({cap})'} leaves today",
                "wait for tomorrow, raise the token's cap")

    def _cap_reached(self, status: int, payload: object) -> bool:
        return status == 429 and self.error_code(payload) == "token_daily_cap_reached"

    def is_retryable(self, status: int, payload: object) -> bool:
        return not self._cap_reached(status, payload) and super().is_retryable(status, payload)

    def error_class(self, status: int, payload: object) -> type[ApiError] | None:
        return PaymentRequiredError if self._cap_reached(status, payload) else super().error_class(status, payload)


ZOOOP = PROVIDER = ZooopProvider()
