"""The HTTP surface of the emulator: the media-jobs routes of the API document, as a Starlette app.

Routes: ``POST /api/v1/media/jobs``, ``GET /api/v1/media/jobs?jobId=…[&includeDetails=1]``,
``GET /api/v1/balance``, ``GET /api/v1/health`` (no key) and ``GET|HEAD /files/<job>/<name>`` (no key,
like CDN links: the job id is unguessable; Range requests and Content-Length via Starlette's
``FileResponse``). Every error is ``{"error": ..., "details": ...}`` JSON.

Inline media (``{dataBase64, mimeType}``) is staged at submit, as the service stages it on its CDN:
written to ``/files/<job>/input-<field>.<ext>`` (bytes unchanged; the service's best-effort WebP
conversion is skipped so overlap frames stay lossless) and replaced by that URL in the effective input.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import mimetypes
import secrets
import shutil
import threading
from collections import deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ltxkit._version import __version__
from ltxkit.api_schema import TASKS, SchemaError, decode_inline, validate_task_input
from ltxkit.emulator.config import EmulatorConfig
from ltxkit.emulator.faults import HEADER as FAULT_HEADER
from ltxkit.emulator.faults import HOLD_SECONDS, INTERPOLATION_FAULTS, FaultBook, FaultBudget, FaultPlan
from ltxkit.emulator.generate import plan_video, resolve_size
from ltxkit.emulator.pricing import price_usd
from ltxkit.emulator.providers import EmulatedProviders
from ltxkit.emulator.providers.common import Backend, is_file_path
from ltxkit.emulator.runner import Files, Runner
from ltxkit.emulator.store import InsufficientBalance, Store, StoredJob, utc_now
from ltxkit.emulator.web import (
    BEARER,
    EXTENSIONS,
    FAULTS_SCOPE,
    X_API_KEY,
    Connections,
    Dialect,
    Http,
    Problem,
    api_key,
    fault_budget,
    image_problem,
    take_fault,
)
from ltxkit.errors import InputError

log = logging.getLogger("ltxkit.emulator")

PRICE_MODEL = "ltxkit emulator stand-in prices (ltxkit.emulator.pricing.price_usd), not the service's"
_CONTENT_TYPES = {".obj": "model/obj", ".webp": "image/webp", ".opus": "audio/ogg", ".m4a": "audio/mp4"}


MEDIA_JOBS = Dialect()  # the base words are media-jobs' own
CREDENTIALS = frozenset({BEARER, X_API_KEY})  # headers a request record leaves out


def problem(status: int, text: str, details: object = None) -> Problem:
    return MEDIA_JOBS.problem(status, text, details)


def money(value: Decimal) -> float:
    """Dollars as a JSON number (exact decimal text in the database; cents-level floats on the wire)."""
    return float(value)


def cents(value: Decimal) -> int | float:
    """Dollars as cents: a whole number, or a fraction (a three-clip combine is 1.5 cents)."""
    amount = value * 100
    return int(amount) if amount == amount.to_integral_value() else float(amount)


class TruncatedFileResponse(FileResponse):
    """A ``FileResponse`` (Range support included) cut off after half its announced Content-Length;
    ``stall``: then nothing more until the client hangs up (Starlette's own disconnect watch ends it),
    closed after :data:`HOLD_SECONDS` at the most."""

    def __init__(self, path: Path, connections: Connections, *, stall: bool = False, **kwargs: Any) -> None:
        super().__init__(path, **kwargs)
        self._connections = connections
        self._stall = stall

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        left = 0
        done = False

        async def cut(message: Message) -> None:
            nonlocal left, done
            if done:
                return
            if message["type"] == "http.response.start":
                length = dict(message.get("headers", [])).get(b"content-length", b"0")
                left = int(length) // 2
                await send(message)
                return
            body = message.get("body", b"")
            if len(body) < left and message.get("more_body", False):
                left -= len(body)
                await send(message)
                return
            await send({"type": "http.response.body", "body": body[:left], "more_body": True})
            done = True
            if self._stall:
                await asyncio.sleep(HOLD_SECONDS)
            if not await self._connections.hang_up(scope, reset=False):
                raise ConnectionAbortedError("truncate fault: cannot reach the connection")

        await super().__call__(scope, receive, cut)


@dataclass
class RequestRecord:
    """One request as the emulator saw it; ``status`` stays ``None`` when it hung up without answering.
    ``headers`` are lower-cased and hold no credentials (``authorization``, ``x-api-key`` are left out)."""

    method: str
    path: str
    status: int | None = None
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)


class RequestLog(list[RequestRecord]):
    """The requests an emulator still holds, oldest first: the last ``EmulatorConfig.request_log``.
    ``dropped`` counts the earlier ones no longer held, so a count over the log can tell it came up short:
    read ``total`` before, then take :meth:`since` it."""

    def __init__(self, records: Iterable[RequestRecord], dropped: int, limit: int) -> None:
        super().__init__(records)
        self.dropped, self.limit = dropped, limit

    @property
    def total(self) -> int:
        """Every request served so far, dropped or held."""
        return self.dropped + len(self)

    def since(self, total: int) -> list[RequestRecord]:
        """The requests served after the first ``total`` (a :attr:`total` read earlier); refused when some
        of them were dropped already."""
        if total < self.dropped:
            raise LookupError(f"{self.dropped - total} of the requests since then were dropped: the emulator "
                              f"keeps the last {self.limit} (EmulatorConfig.request_log)")
        return self[total - self.dropped:]


class Emulator:
    """One emulator instance: configuration, state and the Starlette app serving it.

    It keeps the last ``config.request_log`` requests (and counts the ones it dropped) so that tests can
    count what a client really sent (retries, resumed downloads) without instrumenting the client.
    """

    def __init__(self, config: EmulatorConfig, data_dir: Path) -> None:
        self.config = config
        self.files = Files(data_dir / "files")
        self.files.root.mkdir(parents=True, exist_ok=True)
        self.store = Store(data_dir, config.starting_balance)
        self.faults = FaultBook(config.faults)
        self.connections = Connections()
        self.http = Http(config.resolve_keys(), config.max_body_bytes, self.connections)
        self._requests: deque[RequestRecord] = deque(maxlen=config.request_log)
        self._dropped = 0
        self._requests_lock = threading.Lock()
        self.runner: Runner | None = None
        # the seeds' other APIs, each under /<name>, on the same jobs, files and request steps
        self.providers = EmulatedProviders(Backend(config, self.store, self.files, self.http, self.start,
                                                   self.serve))
        routes = [
            Route("/api/v1/media/jobs", self.create_job, methods=["POST"]),
            Route("/api/v1/media/jobs", self.get_job, methods=["GET"]),
            Route("/api/v1/balance", self.balance, methods=["GET"]),
            Route("/api/v1/health", self.health, methods=["GET"]),
            Route("/files/{job_id}/{name}", self.file, methods=["GET", "HEAD"]),
            *(Mount(f"/{name}", routes=api.routes()) for name, api in self.providers.items()),
        ]
        starlette = Starlette(routes=routes, lifespan=self._lifespan, exception_handlers={
            Problem: self._problem, HTTPException: self._http_problem, Exception: self._crash})
        self.app: ASGIApp = FaultMiddleware(starlette, self)

    def record(self, request: RequestRecord) -> None:
        with self._requests_lock:  # the log is read from the tests' thread
            if len(self._requests) == self._requests.maxlen:
                self._dropped += 1
            self._requests.append(request)

    def requests(self) -> RequestLog:
        with self._requests_lock:
            return RequestLog(self._requests.copy(), self._dropped, self.config.request_log)

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        cfg = self.config
        self.runner = Runner(self.store, self.files, queued_seconds=cfg.queued_seconds,
                             running_seconds=cfg.running_seconds, crf=cfg.crf, interpolation=cfg.interpolation,
                             workers=cfg.workers, fetch_timeout_seconds=cfg.fetch_timeout_seconds,
                             defects=cfg.defects, combine_reading=cfg.combine_reading)
        for job in self.store.unfinished_jobs():
            log.info("resuming job %s (%s)", job.id, job.status)
            self.runner.start(job)
        try:
            yield
        finally:
            await self.runner.close()

    def start(self, job: StoredJob) -> None:
        assert self.runner is not None, "the emulator's lifespan has not started"
        self.runner.start(job)

    def dialect(self, path: str) -> Dialect:
        """The API answering ``path``: a provider under its prefix, else media-jobs (files included)."""
        name = path.split("/", 2)[1] if path.startswith("/") else ""
        return self.providers.get(name, MEDIA_JOBS)

    # --- errors -----------------------------------------------------------------------------------

    async def _crash(self, request: Request, exc: Exception) -> JSONResponse:
        """Even a bug answers in the API's error shape (uvicorn still logs the traceback)."""
        return self.dialect(request.url.path).problem(500, "internal error", type(exc).__name__).response()

    async def _problem(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Problem)
        return exc.response()

    async def _http_problem(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        error = {404: "not found", 405: "method not allowed"}.get(exc.status_code, str(exc.detail))
        return self.dialect(request.url.path).problem(exc.status_code, error, f"{request.method} {request.url.path}",
                                                      dict(exc.headers or {})).response()

    # --- routes -----------------------------------------------------------------------------------

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "service": "ltxkit-emulator", "version": __version__, "time": utc_now()})

    async def balance(self, request: Request) -> Response:
        account = self.http.account(request, MEDIA_JOBS)
        balance = self.store.balance(account)
        if self.config.money_reading == "cents":
            return JSONResponse({"balance": {"usdCents": cents(balance)}, "currency": "USD"})
        return JSONResponse({"balanceUsd": money(balance), "currency": "USD"})

    async def create_job(self, request: Request) -> Response:
        account = self.http.account(request, MEDIA_JOBS)
        body = await self.http.json(request, MEDIA_JOBS)
        idempotency_key = self._idempotency_key(request, body)
        try:
            validated = validate_task_input(body.get("task"), body.get("input"))
        except SchemaError as exc:
            known_task = isinstance(body.get("task"), str) and body["task"] in TASKS
            raise problem(400, "invalid input", [
                {"field": f"input.{p.field}" if p.field else ("input" if known_task else "task"), "message": p.message}
                for p in exc.problems]) from exc
        body_hash = _body_hash(body)
        if idempotency_key is not None:
            found = self.store.find_idempotent(account, idempotency_key)
            if found is not None:
                return await self._replay(request, account, idempotency_key, body_hash, *found)
        task, effective, adjustments = validated.task, validated.effective, list(validated.adjustments)
        if task == "video.generate":
            width, height, note = resolve_size(effective)
            effective["width"], effective["height"] = width, height
            if note:
                adjustments.append(note)
        price = price_usd(task, effective)
        balance = self.store.balance(account)
        if balance < price:
            raise self._insufficient(balance, price)
        job_id = "job_" + secrets.token_hex(12)
        now = utc_now()
        job = StoredJob(
            id=job_id, account=account, task=task, status="queued", effective=effective, adjustments=adjustments,
            price=price,
            faults=[f for f in ("fail-job", "odd-status", *INTERPOLATION_FAULTS) if take_fault(request, f)],
            estimated_seconds=self._estimate(task, effective), idempotency_key=idempotency_key, created_at=now,
            updated_at=now,
        )
        try:
            adjustments += self._stage_inline(job, str(request.base_url).rstrip("/"))
            balance = self.store.create_job(job, body_hash)
        except InsufficientBalance as exc:
            self._discard_files(job_id)
            raise self._insufficient(exc.balance, exc.required) from exc
        except BaseException:
            self._discard_files(job_id)
            raise
        assert self.runner is not None
        self.runner.start(job)
        return await self._submit_answer(request, job, balance, replay=False)

    async def get_job(self, request: Request) -> Response:
        account = self.http.account(request, MEDIA_JOBS)
        job_id = request.query_params.get("jobId")
        if not job_id:
            raise problem(400, "missing jobId", "GET /api/v1/media/jobs?jobId=<id>")
        job = self.store.get_job(job_id)
        if job is None or job.account != account:
            raise problem(404, "job not found", {"jobId": job_id})
        base = str(request.base_url).rstrip("/")
        answer: dict[str, Any] = {
            "jobId": job.id,
            "externalJobId": job.id,
            "task": job.task,
            "status": job.status,
            "downloadableOutputUrls": [f"{base}/files/{job.id}/{name}" for name in job.outputs]
            if job.status == "completed" else [],
            "error": job.error,
            "createdAt": job.created_at,
            "updatedAt": job.updated_at,
            "completedAt": job.completed_at,
            "billing": {**self.amount("charged", job.price), "currency": "USD", "refunded": job.refunded},
        }
        if request.query_params.get("includeDetails", "").lower() in ("1", "true", "yes"):
            answer.update(upstreamResult=job.upstream, effectiveInput=job.effective,
                          inputAdjustments=job.adjustments)
        return JSONResponse(answer)

    async def file(self, request: Request) -> Response:
        path = self.files.path(request.path_params["job_id"], request.path_params["name"])
        if path is None:
            raise problem(404, "file not found", request.url.path)
        return self.serve(request, path)

    def serve(self, request: Request, path: Path) -> Response:
        """A stored file with Range support (and the ``truncate`` / ``stall`` faults): every file URL's answer."""
        media_type = _CONTENT_TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        for fault in ("truncate", "stall"):
            if request.method == "GET" and take_fault(request, fault):
                return TruncatedFileResponse(path, self.connections, stall=fault == "stall", media_type=media_type)
        return FileResponse(path, media_type=media_type)

    # --- helpers ----------------------------------------------------------------------------------

    @staticmethod
    def _idempotency_key(request: Request, body: dict[str, Any]) -> str | None:
        header = request.headers.get("x-idempotency-key")
        in_body = body.get("idempotencyKey")
        if in_body is not None and (not isinstance(in_body, str) or not in_body.strip()):
            raise problem(400, "invalid idempotencyKey", "idempotencyKey must be a non-empty string")
        if header is not None and not header.strip():
            raise problem(400, "invalid X-Idempotency-Key", "the header must not be empty")
        if header is not None and in_body is not None and header != in_body:
            raise problem(400, "conflicting idempotency keys", {
                "X-Idempotency-Key": header, "idempotencyKey": in_body,
                "hint": "send one key, or the same key in both places"})
        return header if header is not None else in_body

    async def _replay(self, request: Request, account: str, key: str, body_hash: str, stored_hash: str,
                      job_id: str) -> Response:
        if stored_hash != body_hash:
            raise problem(409, "idempotency key reused with a different request", {
                "idempotencyKey": key, "jobId": job_id,
                "hint": "an idempotency key names one request; use a new key for a different body"})
        job = self.store.get_job(job_id)
        assert job is not None
        return await self._submit_answer(request, job, self.store.balance(account), replay=True)

    async def _submit_answer(self, request: Request, job: StoredJob, balance: Decimal, *, replay: bool) -> Response:
        if (gone := await self.http.dropped(request)) is not None:
            return gone
        return JSONResponse({
            "jobId": job.id,
            "externalJobId": job.id,
            "task": job.task,
            "status": job.status,
            "createdAt": job.created_at,
            "idempotencyKey": job.idempotency_key,
            "idempotentReplay": replay,
            "billing": {**self.amount("charged", job.price), "currency": "USD", **self.amount("balance", balance),
                        "chargedAt": "submit", "priceModel": PRICE_MODEL},
            "estimatedDurationSeconds": job.estimated_seconds,
            "effectiveInput": job.effective,
            "inputAdjustments": job.adjustments,
        })

    def amount(self, name: str, value: Decimal) -> dict[str, int | float]:
        """``{nameUsd: dollars}``, or ``{nameCents: cents}`` under ``money_reading="cents"``."""
        return {f"{name}Cents": cents(value)} if self.config.money_reading == "cents" else {f"{name}Usd": money(value)}

    def _insufficient(self, balance: Decimal, price: Decimal) -> Problem:
        return problem(402, "insufficient balance",
                       {**self.amount("balance", balance), **self.amount("required", price)})

    def _estimate(self, task: str, effective: dict[str, Any]) -> float:
        """Rough seconds to completion: the lifecycle phases plus a guess at the render time."""
        work = 0.1
        if task == "video.generate":
            plan = plan_video(effective, self.config.interpolation)
            work = plan.output_frames * plan.width * plan.height * 15e-9
        return round(self.config.queued_seconds + self.config.running_seconds + work, 3)

    def _stage_inline(self, job: StoredJob, base: str) -> list[str]:
        """Write inline ``{dataBase64, mimeType}`` inputs as files; put their URLs in the effective input."""
        notes = []
        for name, value in list(job.effective.items()):
            is_list = isinstance(value, list)
            items = value if is_list else [value]
            staged = []
            for i, item in enumerate(items):
                if isinstance(item, dict) and isinstance(item.get("dataBase64"), str):
                    mime, label = str(item.get("mimeType")), f"{name}[{i}]" if is_list else name
                    file_name = f"input-{name}{f'-{i}' if is_list else ''}.{EXTENSIONS.get(mime, 'bin')}"
                    path = self.files.job_dir(job.id) / file_name
                    path.parent.mkdir(parents=True, exist_ok=True)
                    data = decode_inline(item["dataBase64"])
                    if (refusal := image_problem(data)) is not None:
                        raise problem(400, "invalid input", [{"field": f"input.{label}", "message": refusal}])
                    path.write_bytes(data)
                    item = f"{base}/files/{job.id}/{file_name}"
                    notes.append(f"input.{label}: inline {mime} staged at {item}")
                staged.append(item)
            if staged != items:
                job.effective[name] = staged if is_list else staged[0]
        return notes

    def _discard_files(self, job_id: str) -> None:
        shutil.rmtree(self.files.job_dir(job_id), ignore_errors=True)


def _body_hash(body: dict[str, Any]) -> str:
    """What "the same request" means for idempotency: the body without its idempotency key."""
    canonical = json.dumps({k: v for k, v in body.items() if k != "idempotencyKey"}, sort_keys=True,
                           separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class FaultMiddleware:
    """Outermost layer: picks the request's fault budget and applies reset / 429 / 503 first."""

    def __init__(self, app: ASGIApp, emulator: Emulator) -> None:
        self.app = app
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        dialect = self.emulator.dialect(scope["path"])
        headers = Headers(scope=scope)
        spec = headers.get(FAULT_HEADER)
        if spec is not None and not self.emulator.http.knows(api_key(headers, (BEARER, X_API_KEY))):
            spec = ""  # a stranger's faults are ignored: its 401 must not cost the emulator a budget
        try:
            budget = FaultBudget(FaultPlan()) if spec == "" else self.emulator.faults.budget_for(spec)
        except InputError as exc:
            await dialect.problem(400, "invalid X-Emulator-Faults header", str(exc)).response()(scope, receive, send)
            return
        scope[FAULTS_SCOPE] = budget
        record = RequestRecord(scope["method"], scope["path"], query=scope.get("query_string", b"").decode("latin-1"),
                               headers={k: v for k, v in headers.items() if k not in CREDENTIALS})
        self.emulator.record(record)

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
            await send(message)

        await self._faulty(scope, receive, recording_send, dialect)

    async def _faulty(self, scope: Scope, receive: Receive, send: Send, dialect: Dialect) -> None:
        budget = fault_budget(scope)
        if scope["path"] != "/api/v1/health":
            if budget.take("reset") and await self.emulator.connections.hang_up(scope, reset=True):
                return
            for status in (429, 503):
                if not dialect.handles_fault(str(status), scope["method"], scope["path"]) and budget.take(str(status)):
                    await dialect.fault(status, budget.retry_after).response()(scope, receive, send)
                    return
            if scope["method"] == "GET" and not is_file_path(scope["path"]) and budget.take("404"):
                await dialect.fault(404, budget.retry_after).response()(scope, receive, send)
                return
        await self.app(scope, receive, send)
