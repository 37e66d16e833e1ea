"""What the emulated provider APIs share: the :class:`ProviderApi` base (auth and rate window in one
step, bodies and errors through :mod:`ltxkit.emulator.web`) and the :class:`Backend` that makes jobs.

Every provider route creates its jobs in the emulator's own :class:`~ltxkit.emulator.store.Store` and
hands them to its own :class:`~ltxkit.emulator.runner.Runner`, so their outputs are the same real MP4s
(first frames = the given frame, audio = the given reference audio) served at ``/files/<job>/<name>``
with Range support, and ``X-Emulator-Faults`` (``fail-job``, ``drop-create``, ``429``, ``503``,
``reset``, ``truncate``) works on them too. A provider job's effective input carries
``emulatedProvider`` (name, kind, options) so each API only sees its own jobs and can answer in its
own words. Money and allowances are kept per provider in memory (the store charges these jobs 0 USD).

A provider is one module in this package that sets ``API`` to its :class:`ProviderApi` subclass (whose
``name`` is its URL prefix); :mod:`ltxkit.emulator.providers` finds it, nothing else needs an edit.

Emulator conventions shared by the providers (not in any seed): a prompt containing
:data:`UNSAFE_PROMPT` is refused by the API's input moderation, one containing :data:`UNSAFE_OUTPUT`
ends blocked/failed by its output check.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import numpy as np
from PIL import Image
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from ltxkit.emulator.config import EmulatorConfig
from ltxkit.emulator.runner import Files
from ltxkit.emulator.store import Store, StoredJob, utc_now
from ltxkit.emulator.web import Allowance, Dialect, Http, Problem, RateLimiter, Window, take_fault
from ltxkit.timing import ltx_frames_for_seconds

PROVIDER_FIELD = "emulatedProvider"
FPS = Fraction(24)  # every emulated provider renders at 24 fps (none of the seeds says)
UNSAFE_PROMPT = "emulator:unsafe"
UNSAFE_OUTPUT = "emulator:unsafe-output"
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".gif"})
AUDIO_SUFFIXES = frozenset({".mp3", ".wav", ".ogg", ".opus", ".m4a", ".aac", ".flac", ".webm"})
VIDEO_SUFFIXES = frozenset({".mp4", ".mov"})


def is_file_path(path: str) -> bool:
    """Whether a request path downloads a stored file: ``/files/…``, or a provider's own storage
    (``/zooop/storage/…``). Those answer no status-poll faults (``404``)."""
    return "/files/" in path or "/storage/" in path


def refused(prompt: str) -> bool:
    """Whether the emulated input moderation refuses ``prompt`` (see :data:`UNSAFE_PROMPT`)."""
    return UNSAFE_PROMPT in prompt and UNSAFE_OUTPUT not in prompt


def kind_of(url: str) -> str | None:
    """``image``, ``audio`` or ``video`` by the URL's file extension."""
    suffix = Path(urlsplit(url).path).suffix.lower()
    return "image" if suffix in IMAGE_SUFFIXES else "audio" if suffix in AUDIO_SUFFIXES else \
        "video" if suffix in VIDEO_SUFFIXES else None


def meta(job: StoredJob) -> dict[str, Any]:
    found = job.effective.get(PROVIDER_FIELD)
    return found if isinstance(found, dict) else {}


def phase(job: StoredJob) -> str:
    """``queued``, ``running``, ``completed`` or ``failed`` (the runner's odd words count as running)."""
    return job.status if job.status in ("queued", "completed", "failed") else "running"


class Backend:
    """The emulator's store, files, runner and shared request steps, as the provider routes use them."""

    def __init__(self, config: EmulatorConfig, store: Store, files: Files, http: Http,
                 start: Callable[[StoredJob], None], serve: Callable[[Request, Path], Response]) -> None:
        self.config, self.store, self.files, self.http = config, store, files, http
        self.start = start  # hands a recorded job to the runner (which exists once the server runs)
        self.serve = serve  # a stored file's answer (Range, faults), for a provider's own storage URLs

    @staticmethod
    def base(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    # ---- jobs -------------------------------------------------------------------------------------

    @staticmethod
    def new_id() -> str:
        return str(uuid.uuid4())

    def create(self, request: Request, *, account: str, provider: str, task: str, effective: dict[str, Any],
               options: Mapping[str, Any], job_id: str | None = None, idempotency_key: str | None = None,
               body_hash: str | None = None, start: bool = True) -> StoredJob:
        """Record a job for the runner (not charged in USD: providers keep their own money)."""
        prompt = str(effective.get("prompt", ""))
        faults = [f for f in ("fail-job", "odd-status") if take_fault(request, f)]
        if UNSAFE_OUTPUT in prompt and "fail-job" not in faults:
            faults.append("fail-job")
        now = utc_now()
        effective = {**effective, PROVIDER_FIELD: {"name": provider, **options}}
        job = StoredJob(
            id=job_id or self.new_id(), account=account, task=task, status="queued", effective=effective,
            adjustments=[f"emulated {provider} job"], price=Decimal(0), faults=faults,
            estimated_seconds=round(self.config.queued_seconds + self.config.running_seconds + 1.0, 3),
            idempotency_key=idempotency_key, created_at=now, updated_at=now)
        self.store.create_job(job, body_hash)
        if start:
            self.start(job)
        return job

    def get(self, account: str, provider: str, job_id: str) -> StoredJob | None:
        """The job if it exists, is this provider's and belongs to ``account``."""
        job = self.store.get_job(job_id)
        if job is None or job.account != account or meta(job).get("name") != provider:
            return None
        return job

    def output_urls(self, request: Request, job: StoredJob) -> list[str]:
        if job.status != "completed":
            return []
        return [f"{self.base(request)}/files/{job.id}/{name}" for name in job.outputs
                if self.files.path(job.id, name) is not None]

    def output_path(self, job: StoredJob) -> Path | None:
        return next((p for p in (self.files.path(job.id, n) for n in job.outputs) if p is not None), None)

    def purge(self, job: StoredJob) -> None:
        for name in job.outputs:
            path = self.files.path(job.id, name)
            if path is not None:
                path.unlink()

    # ---- files ------------------------------------------------------------------------------------

    def local(self, url: str) -> Path | None:
        """The stored file behind one of this emulator's ``/files/...`` URLs."""
        return self.files.local(url)

    def save(self, request: Request, data: bytes, file_name: str, owner: str | None = None) -> str:
        """Store bytes as ``/files/<new id>/<file_name>`` (the provider's storage); return the URL."""
        folder = owner or f"upload-{uuid.uuid4()}"
        path = self.files.job_dir(folder) / file_name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return f"{self.base(request)}/files/{folder}/{file_name}"

    async def last_frame(self, request: Request, video: Path, job_id: str) -> str:
        """The last frame of ``video`` as a lossless PNG in ``job_id``'s folder: what an extend starts from."""
        from ltxkit.frames.tail import read_tail

        rgb = (await asyncio.to_thread(read_tail, video, 1)).arrays[0]
        target = self.files.job_dir(job_id) / "input-source-last.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(Image.fromarray(np.ascontiguousarray(rgb)).save, target, "PNG")
        return f"{self.base(request)}/files/{job_id}/{target.name}"


class ProviderApi(Dialect):
    """One emulated provider API, mounted at ``/<name>``: its routes, limits and error words.

    ``limits`` is a dataclass whose :class:`Window` fields are the rate buckets :meth:`account` checks
    (tests replace it, or ``rate``, to shrink or widen the windows).
    """

    name: ClassVar[str]
    limits: Any

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.rate = RateLimiter()

    def routes(self) -> list[BaseRoute]:
        raise NotImplementedError

    def account(self, request: Request, bucket: str | None = None) -> str:
        """Authenticate, then count the request in ``bucket``'s window: the step every endpoint starts with."""
        account = self.backend.http.account(request, self)
        if bucket is not None:
            self.admit(account, bucket)
        return account

    def admit(self, account: str, bucket: str) -> Allowance:
        """Count one request in the window ``limits.<bucket>``; the provider's 429 once it is full."""
        window: Window = getattr(self.limits, bucket)
        allowance = self.rate.take(account, bucket, window)
        if not allowance.allowed:
            raise self.rate_limited(bucket, allowance)
        return allowance

    async def json(self, request: Request) -> dict[str, Any]:
        return await self.backend.http.json(request, self)

    async def body(self, request: Request, too_large: Callable[[int], Problem] | None = None) -> bytes:
        return await self.backend.http.body(request, self, too_large)

    async def dropped(self, request: Request) -> Response | None:
        return await self.backend.http.dropped(request)


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
