"""What the emulated provider APIs share: keys, provider-shaped errors, rate windows, and jobs.

Every provider route creates its jobs in the emulator's own :class:`~ltxkit.emulator.store.Store` and
hands them to its own :class:`~ltxkit.emulator.runner.Runner`, so their outputs are the same real MP4s
(first frames = the given frame, audio = the given reference audio) served at ``/files/<job>/<name>``
with Range support, and ``X-Emulator-Faults`` (``fail-job``, ``drop-create``, ``429``, ``503``,
``reset``, ``truncate``) works on them too. A provider job's effective input carries
``emulatedProvider`` (name, kind, options) so each API only sees its own jobs and can answer in its
own words. Money and allowances are kept per provider in memory (the store charges these jobs 0 USD).

Emulator conventions shared by the providers (not in any seed): a prompt containing
:data:`UNSAFE_PROMPT` is refused by the API's input moderation, one containing :data:`UNSAFE_OUTPUT`
ends blocked/failed by its output check.
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
import secrets
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import numpy as np
from PIL import Image
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ltxkit.emulator.faults import FaultBudget
from ltxkit.emulator.store import JobRecord, account_id, utc_now
from ltxkit.timing import ltx_frames_for_seconds

if TYPE_CHECKING:
    from ltxkit.emulator.app import Emulator

PROVIDER_FIELD = "emulatedProvider"
FPS = Fraction(24)  # every emulated provider renders at 24 fps (none of the seeds says)
UNSAFE_PROMPT = "emulator:unsafe"
UNSAFE_OUTPUT = "emulator:unsafe-output"
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".gif"})
AUDIO_SUFFIXES = frozenset({".mp3", ".wav", ".ogg", ".opus", ".m4a", ".aac", ".flac", ".webm"})
VIDEO_SUFFIXES = frozenset({".mp4", ".mov"})
EXTENSIONS = {
    "image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif", "audio/mpeg": "mp3",
    "audio/wav": "wav", "audio/x-wav": "wav", "audio/webm": "webm", "audio/ogg": "ogg", "audio/opus": "opus",
    "audio/flac": "flac", "audio/aac": "aac", "audio/mp4": "m4a", "video/mp4": "mp4", "video/webm": "webm",
    "video/quicktime": "mov",
}

Endpoint = Callable[[Request], Awaitable[Response]]


class ProviderError(Exception):
    """An error answer in the provider's own JSON shape."""

    def __init__(self, status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"HTTP {status}")
        self.status, self.body, self.headers = status, dict(body), dict(headers or {})


def answers_errors(endpoint: Endpoint) -> Endpoint:
    """Turn a :class:`ProviderError` raised by ``endpoint`` into its answer (the emulator's own handlers
    only know media-jobs shapes)."""
    @functools.wraps(endpoint)
    async def wrapped(request: Request) -> Response:
        try:
            return await endpoint(request)
        except ProviderError as exc:
            return JSONResponse(exc.body, status_code=exc.status, headers=exc.headers or None)

    return wrapped


def seconds_text(seconds: float) -> str:
    """A ``Retry-After`` value: whole seconds (rounded up), or milliseconds for sub-second test windows."""
    return str(max(1, math.ceil(seconds))) if seconds >= 1 else f"{max(seconds, 0.001):.3f}"


@dataclass(frozen=True)
class Window:
    """At most ``count`` requests per ``seconds`` (a sliding window)."""

    count: int
    seconds: float


@dataclass(frozen=True)
class Allowance:
    allowed: bool
    limit: int
    remaining: int
    reset_in: float  # seconds until the oldest counted request leaves the window


class RateLimiter:
    """Sliding windows per (account, bucket). Only touched from the server's event loop."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._hits: dict[tuple[str, str], deque[float]] = {}

    def take(self, account: str, bucket: str, window: Window) -> Allowance:
        now = self.clock()
        hits = self._hits.setdefault((account, bucket), deque())
        while hits and hits[0] <= now - window.seconds:
            hits.popleft()
        if len(hits) >= window.count:
            return Allowance(False, window.count, 0, hits[0] + window.seconds - now)
        hits.append(now)
        return Allowance(True, window.count, window.count - len(hits), hits[0] + window.seconds - now)


def refused(prompt: str) -> bool:
    """Whether the emulated input moderation refuses ``prompt`` (see :data:`UNSAFE_PROMPT`)."""
    return UNSAFE_PROMPT in prompt and UNSAFE_OUTPUT not in prompt


def budget(request: Request) -> FaultBudget | None:
    found = request.scope.get("ltxkit.faults")
    return found if isinstance(found, FaultBudget) else None


def kind_of(url: str) -> str | None:
    """``image``, ``audio`` or ``video`` by the URL's file extension."""
    suffix = Path(urlsplit(url).path).suffix.lower()
    return "image" if suffix in IMAGE_SUFFIXES else "audio" if suffix in AUDIO_SUFFIXES else \
        "video" if suffix in VIDEO_SUFFIXES else None


def meta(job: JobRecord) -> dict[str, Any]:
    found = job.effective.get(PROVIDER_FIELD)
    return found if isinstance(found, dict) else {}


def phase(job: JobRecord) -> str:
    """``queued``, ``running``, ``completed`` or ``failed`` (the runner's odd words count as running)."""
    return job.status if job.status in ("queued", "completed", "failed") else "running"


class Backend:
    """The emulator's store, runner, files and faults, as the provider routes use them."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    @property
    def config(self) -> Any:
        return self.emulator.config

    # ---- keys and requests ------------------------------------------------------------------------

    def account(self, key: str | None) -> str | None:
        """The account of a configured key (accounts are key hashes, as in the media-jobs routes)."""
        if not key:
            return None
        account = account_id(key)
        known = self.emulator.keys.get(account)
        return account if known is not None and secrets.compare_digest(known, key) else None

    @staticmethod
    def bearer(request: Request) -> str | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return token.strip() or None if scheme.lower() == "bearer" else None

    @staticmethod
    def base(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    async def body(self, request: Request, too_large: Callable[[int], ProviderError]) -> bytes:
        limit = self.config.max_body_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise too_large(limit)
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large(limit)
            chunks.append(chunk)
        return b"".join(chunks)

    async def json(self, request: Request, bad: Callable[[str], ProviderError],
                   too_large: Callable[[int], ProviderError]) -> dict[str, Any]:
        try:
            body = json.loads(await self.body(request, too_large))
        except (ValueError, UnicodeDecodeError) as exc:
            raise bad(f"malformed JSON body: {exc}") from exc
        if not isinstance(body, dict):
            raise bad("the body must be a JSON object")
        return body

    # ---- faults -----------------------------------------------------------------------------------

    @staticmethod
    def take_fault(request: Request, name: str) -> bool:
        found = budget(request)
        return found is not None and found.take(name)

    async def dropped(self, request: Request) -> Response | None:
        """The ``drop-create`` fault: the job exists, the answer never comes (an empty response to return)."""
        from ltxkit.emulator.app import NoResponse  # app.py mounts these routes: import it at call time

        if self.take_fault(request, "drop-create") and await self.emulator.connections.hang_up(request.scope,
                                                                                              reset=False):
            return NoResponse()
        return None

    # ---- jobs -------------------------------------------------------------------------------------

    @staticmethod
    def new_id() -> str:
        return str(uuid.uuid4())

    def create(self, request: Request, *, account: str, provider: str, task: str, effective: dict[str, Any],
               options: Mapping[str, Any], job_id: str | None = None, idempotency_key: str | None = None,
               body_hash: str | None = None, start: bool = True) -> JobRecord:
        """Record a job for the runner (not charged in USD: providers keep their own money)."""
        prompt = str(effective.get("prompt", ""))
        faults = [f for f in ("fail-job", "odd-status") if self.take_fault(request, f)]
        if UNSAFE_OUTPUT in prompt and "fail-job" not in faults:
            faults.append("fail-job")
        now = utc_now()
        effective = {**effective, PROVIDER_FIELD: {"name": provider, **options}}
        job = JobRecord(
            id=job_id or self.new_id(), account=account, task=task, status="queued", effective=effective,
            adjustments=[f"emulated {provider} job"], price=Decimal(0), faults=faults,
            estimated_seconds=round(self.config.queued_seconds + self.config.running_seconds + 1.0, 3),
            idempotency_key=idempotency_key, created_at=now, updated_at=now)
        self.emulator.store.create_job(job, body_hash)
        if start:
            self.start(job)
        return job

    def start(self, job: JobRecord) -> None:
        assert self.emulator.runner is not None, "the emulator's lifespan has not started"
        self.emulator.runner.start(job)

    def get(self, account: str, provider: str, job_id: str) -> JobRecord | None:
        """The job if it exists, is this provider's and belongs to ``account``."""
        job = self.emulator.store.get_job(job_id)
        if job is None or job.account != account or meta(job).get("name") != provider:
            return None
        return job

    def output_urls(self, request: Request, job: JobRecord) -> list[str]:
        if job.status != "completed":
            return []
        return [f"{self.base(request)}/files/{job.id}/{name}" for name in job.outputs
                if self.emulator.files.path(job.id, name) is not None]

    def output_path(self, job: JobRecord) -> Path | None:
        return next((p for p in (self.emulator.files.path(job.id, n) for n in job.outputs) if p is not None), None)

    def purge(self, job: JobRecord) -> None:
        for name in job.outputs:
            path = self.emulator.files.path(job.id, name)
            if path is not None:
                path.unlink()

    # ---- files ------------------------------------------------------------------------------------

    def local(self, url: str) -> Path | None:
        """The stored file behind one of this emulator's ``/files/...`` URLs."""
        return self.emulator.files.local(url)

    def save(self, request: Request, data: bytes, file_name: str, owner: str | None = None) -> str:
        """Store bytes as ``/files/<new id>/<file_name>`` (the provider's storage); return the URL."""
        folder = owner or f"upload-{uuid.uuid4()}"
        path = self.emulator.files.job_dir(folder) / file_name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return f"{self.base(request)}/files/{folder}/{file_name}"

    async def last_frame(self, request: Request, video: Path, job_id: str) -> str:
        """The last frame of ``video`` as a lossless PNG in ``job_id``'s folder: what an extend starts from."""
        from ltxkit.frames.tail import read_tail

        rgb = (await asyncio.to_thread(read_tail, video, 1)).arrays[0]
        target = self.emulator.files.job_dir(job_id) / "input-source-last.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(Image.fromarray(np.ascontiguousarray(rgb)).save, target, "PNG")
        return f"{self.base(request)}/files/{job_id}/{target.name}"


def frames_for(seconds: int) -> int:
    """The LTX frame count (8n+1) nearest ``seconds`` at :data:`FPS`."""
    return ltx_frames_for_seconds(seconds, FPS)


def video_input(prompt: str, *, frames: int, size: tuple[int, int], seed: int | None = None,
                first_frame: str | None = None, audio: str | None = None) -> dict[str, Any]:
    """A ``video.generate`` effective input for the runner: exactly ``frames`` at :data:`FPS` (no
    interpolation), starting with ``first_frame`` when given, with ``audio`` as its soundtrack when given."""
    effective: dict[str, Any] = {"prompt": prompt, "durationFrames": frames, "sampledFps": FPS.numerator,
                                 "interpolationFps": 0, "width": size[0], "height": size[1]}
    if seed is not None:
        effective["seed"] = seed
    if first_frame is not None:
        effective["startFrameImageUrl"] = first_frame
    if audio is not None:
        effective["referenceAudioUrl"] = audio
    return effective


def sized(height: int, ratio: str) -> tuple[int, int]:
    """``(720, "16:9")`` → ``(1280, 720)``: the width rounded to an even number (h264 needs even sides)."""
    a, _, b = ratio.partition(":")
    return 2 * round(height * int(a) / int(b) / 2), height
