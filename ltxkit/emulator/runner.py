"""Job lifecycle and task execution: queued → running → completed (or failed), in the background.

Each job is one asyncio task on the server's loop: it sleeps through the configured ``queued`` phase,
fetches its inputs (the emulator's own ``/files/...`` URLs are read from disk, any other http(s) URL
is downloaded with httpx), runs the CPU work in a small thread pool so the loop keeps answering
polls, waits out the rest of the ``running`` phase and records the outcome. A job interrupted by a
shutdown stays ``queued``/``running`` in the database and is started again by the next server on the
same data directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import av
import httpx
from PIL import Image

from ltxkit.api_schema import AUDIO_FIELDS, DEFAULT_SAMPLED_FPS, FINAL_FRAME_FIELDS, START_FRAME_FIELDS, pick_field
from ltxkit.emulator import generate, standins
from ltxkit.emulator.defects import DefectModel
from ltxkit.emulator.faults import INTERPOLATION_FAULTS
from ltxkit.emulator.pricing import quality_kbps, speech_seconds
from ltxkit.emulator.store import Store, StoredJob
from ltxkit.errors import LtxkitError, MediaError
from ltxkit.timing import format_fps, parse_fps, sample_grid, splice_layout

log = logging.getLogger("ltxkit.emulator")

MAX_FETCH_BYTES = 512 * 1024 * 1024
FAILED_BY_FAULT = "emulated failure (fault fail-job): the generator gave up"
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
ODD_RUNNING, ODD_FINALIZING = "rendering", "finalizing"


def safe_segment(text: str) -> bool:
    """A path segment the file store accepts (no separators, no leading dot)."""
    return bool(_SAFE_NAME.fullmatch(text)) and ".." not in text


class Files:
    """The emulator's file store: ``root/<job>/<name>``, served as ``/files/<job>/<name>``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def job_dir(self, job_id: str) -> Path:
        return self.root / job_id

    def path(self, job_id: str, name: str) -> Path | None:
        if not (safe_segment(job_id) and safe_segment(name)):
            return None
        path = self.root / job_id / name
        return path if path.is_file() else None

    def local(self, url: str) -> Path | None:
        """The stored file behind one of our own ``.../files/<job>/<name>`` URLs (any host), if it exists."""
        parts = urlsplit(url).path.split("/")
        if len(parts) == 4 and parts[0] == "" and parts[1] == "files":
            return self.path(parts[2], parts[3])
        return None


class Fetcher:
    """Materialise an input URL as a local file: our own files directly, others over HTTP."""

    def __init__(self, files: Files, client: httpx.AsyncClient) -> None:
        self.files = files
        self.client = client

    async def fetch(self, field: str, url: str, work: Path) -> Path:
        local = self.files.local(url)
        if local is not None:
            return local
        work.mkdir(parents=True, exist_ok=True)
        suffix = Path(urlsplit(url).path).suffix[:8]
        dest = work / f"{re.sub(r'[^A-Za-z0-9_-]', '_', field)}{suffix}"
        try:
            async with self.client.stream("GET", url) as response:
                if response.status_code != 200:
                    raise MediaError(f"could not fetch input.{field} ({url}): HTTP {response.status_code}")
                size = 0
                with dest.open("wb") as fh:
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                        if size > MAX_FETCH_BYTES:
                            raise MediaError(f"input.{field} ({url}) is larger than {MAX_FETCH_BYTES} bytes")
                        fh.write(chunk)
        except httpx.HTTPError as exc:
            raise MediaError(f"could not fetch input.{field} ({url}): {exc}") from exc
        return dest


class Runner:
    """Starts and tracks the lifecycle task of every unfinished job."""

    def __init__(self, store: Store, files: Files, *, queued_seconds: float, running_seconds: float, crf: int,
                 interpolation: str, workers: int, fetch_timeout_seconds: float,
                 defects: DefectModel | None = None, combine_reading: str = "frames") -> None:
        self.store = store
        self.files = files
        self.queued_seconds = queued_seconds
        self.running_seconds = running_seconds
        self.crf = crf
        self.interpolation = interpolation
        self.combine_reading = combine_reading
        self.defects = defects or DefectModel()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ltxkit-emulator")
        self._client = httpx.AsyncClient(timeout=fetch_timeout_seconds, follow_redirects=True)
        self._fetcher = Fetcher(files, self._client)
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, job: StoredJob) -> None:
        task = asyncio.get_running_loop().create_task(self._lifecycle(job), name=f"job-{job.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Stop every lifecycle (jobs stay unfinished in the database) and the worker threads."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._client.aclose()
        await asyncio.to_thread(self._pool.shutdown, wait=True, cancel_futures=True)

    async def _lifecycle(self, job: StoredJob) -> None:
        odd = "odd-status" in job.faults
        loop = asyncio.get_running_loop()
        if job.status == "queued":
            await asyncio.sleep(self.queued_seconds)
        self.store.set_status(job, ODD_RUNNING if odd else "running")
        started = loop.time()
        outputs: list[str] = []
        upstream: dict[str, Any] = {}
        error: str | None = None
        try:
            if "fail-job" in job.faults:
                error = FAILED_BY_FAULT
            else:
                inputs = await self._inputs(job)
                outputs, upstream = await loop.run_in_executor(self._pool, self._execute, job, inputs)
        except asyncio.CancelledError:
            raise
        except (LtxkitError, OSError, av.error.FFmpegError) as exc:
            error = str(exc) or type(exc).__name__
        except Exception as exc:  # a bug in a stand-in must fail the job, not hang it
            log.exception("job %s: unexpected error", job.id)
            error = f"internal emulator error: {type(exc).__name__}: {exc}"
        await asyncio.sleep(max(0.0, self.running_seconds - (loop.time() - started)))
        if odd:
            self.store.set_status(job, ODD_FINALIZING)
            await asyncio.sleep(self.running_seconds)
        payload = {
            "provider": "ltxkit-emulator",
            "model": "LTX-2.3 (emulated)" if job.task == "video.generate" else f"{job.task} (emulated stand-in)",
            "task": job.task,
            "status": "failed" if error is not None else "completed",
            "outputs": upstream.get("outputs", []),
            "notes": upstream.get("notes", []),
            "timings": {"queuedSeconds": self.queued_seconds, "runningSeconds": round(loop.time() - started, 3)},
        }
        if error is not None:
            error = error.replace(str(self.files.root), "<files>")  # no server paths in answers
            payload["error"] = error
            log.warning("job %s (%s) failed: %s", job.id, job.task, error)
            with contextlib.suppress(OSError):
                shutil.rmtree(self.files.job_dir(job.id) / "work")
        self.store.finish(job, outputs=outputs, upstream=payload, error=error)

    async def _inputs(self, job: StoredJob) -> dict[str, Path | list[Path]]:
        """Fetch the media a task really reads (stand-ins read nothing)."""
        inp, work = job.effective, self.files.job_dir(job.id) / "work"
        found: dict[str, Any] = {}
        if job.task == "video.generate":
            for role, pairs in (("start", START_FRAME_FIELDS), ("final", FINAL_FRAME_FIELDS), ("audio", AUDIO_FIELDS)):
                picked = pick_field(inp, pairs)
                if picked is not None:
                    found[role] = await self._fetcher.fetch(picked[0], picked[1], work)
            for name in ("overlapFrameImages", "overlapFrameImageUrls"):
                if inp.get(name):
                    found["overlap"] = [await self._fetcher.fetch(f"{name}[{i}]", url, work)
                                        for i, url in enumerate(inp[name])]
                    break
        elif job.task == "video.combine":
            found["videos"] = [await self._fetcher.fetch(f"videoUrls[{i}]", url, work)
                               for i, url in enumerate(inp["videoUrls"])]
            found["sampled"] = [self._sampled(url) for url in inp["videoUrls"]]
        elif job.task == "image.edit":  # the size follows the source when we hold it; nothing is downloaded
            picked = pick_field(inp, (("sourceImageUrl", "sourceImage"),))
            local = self.files.local(picked[1]) if picked is not None and isinstance(picked[1], str) else None
            if local is not None:
                found["source"] = local
        return found

    def _sampled(self, url: str) -> tuple[Fraction, int] | None:
        """(sampled fps, samples) of a clip this emulator generated, None for any other clip."""
        path = self.files.local(url)
        job = None if path is None else self.store.get_job(path.parent.name)
        if job is None or job.task != "video.generate" or not job.effective.get("durationFrames"):
            return None
        return (parse_fps(job.effective.get("sampledFps", DEFAULT_SAMPLED_FPS), name="sampledFps"),
                int(job.effective["durationFrames"]))

    def _execute(self, job: StoredJob, inputs: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
        """The CPU part of a job (worker thread): write the outputs, describe them."""
        out_dir = self.files.job_dir(job.id)
        out_dir.mkdir(parents=True, exist_ok=True)
        if job.task == "video.generate":
            convention = next((INTERPOLATION_FAULTS[f] for f in job.faults if f in INTERPOLATION_FAULTS),
                              self.interpolation)
            infos, notes = _video_generate(job, inputs, out_dir, self.crf, convention, self.defects)
        elif job.task == "video.combine":
            infos, notes = _video_combine(job, inputs, out_dir, self.combine_reading)
        elif job.task in ("image.generate", "image.edit"):
            infos, notes = _image(job, inputs, out_dir)
        else:
            infos, notes = _standin(job, out_dir)
        shutil.rmtree(out_dir / "work", ignore_errors=True)
        return [i["name"] for i in infos], {"outputs": infos, "notes": notes}


def _video_generate(job: StoredJob, inputs: dict[str, Any], out_dir: Path, crf: int, convention: str,
                    defects: DefectModel) -> tuple[list[dict[str, Any]], list[str]]:
    plan = generate.plan_video(job.effective, convention)
    defect = defects.for_seed(plan.seed)
    if defect is not None:  # only in the log: like a real service's, the answer does not say so
        log.info("job %s: seed %d comes back with the emulated defect %s", job.id, plan.seed, defect.kind)
    notes: list[str] = []

    def image(path: Path) -> Any:
        rgb, note = generate.load_image(path, plan.width, plan.height)
        if note:
            notes.append(note)
        return rgb

    anchors = ([image(inputs["start"])] if "start" in inputs else []) + [image(p) for p in inputs.get("overlap", [])]
    final = image(inputs["final"]) if "final" in inputs else None
    audio = generate.load_audio(inputs["audio"]) if "audio" in inputs else None
    if audio is not None and audio.shape[1] < plan.audio_samples:
        notes.append(f"reference audio is {audio.shape[1]} samples at 48 kHz, padded with silence to "
                     f"{plan.audio_samples}")
    path = out_dir / "video.mp4"
    result = generate.synthesize_video(path, plan, anchors=anchors, final=final, audio=audio, crf=crf,
                                       defect=defect)
    info = {"name": path.name, "contentType": "video/mp4", "bytes": path.stat().st_size, **result.to_json(),
            "sampledFps": format_fps(plan.sampled_fps), "sampledFrames": plan.sampled_frames,
            "anchorFrames": len(anchors), "finalFrame": final is not None}
    return [info], notes


def _video_combine(job: StoredJob, inputs: dict[str, Any], out_dir: Path,
                   reading: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Concatenate with :func:`ltxkit.frames.concat.concat_clips`, trimming the overlap from each later head.

    The document leaves ``overlapFrames``' units open; its example sends ``frameRate`` 60, the interpolated
    rate. ``reading`` ``frames`` (the default, ltxkit's written reading): ``frameRate`` is the clips' rate
    (default: theirs) and ``overlapFrames`` counts frames at it, trimmed in time (``overlapFrames /
    frameRate`` s). ``samples``: ``overlapFrames`` counts the clips' sampled frames (their sampled rate
    known from the jobs that made them, else their own rate): each clip is shown up to its last sample and
    the next from its frame after it (:func:`ltxkit.timing.splice_layout`), as ltxkit's local splice does."""
    from ltxkit.frames.concat import concat_clips
    from ltxkit.frames.probe import probe

    videos: list[Path] = inputs["videos"]
    infos = [probe(v) for v in videos]
    overlap = int(job.effective.get("overlapFrames") or 0)
    rate = job.effective.get("frameRate")
    frame_rate = None if rate is None else parse_fps(rate, name="frameRate")
    tails: list[int] | None = None
    if overlap and reading == "samples":
        sampled = [s or (i.fps, None) for s, i in zip(inputs.get("sampled") or [None] * len(infos), infos,
                                                          strict=True)]
        layout = splice_layout([sample_grid(i.frame_count, i.fps, fps, samples)
                                for i, (fps, samples) in zip(infos, sampled, strict=True)], overlap)
        trims = [Fraction(0)] + [Fraction(r) / info.fps for r, info in zip(layout.overlaps, infos[1:], strict=True)]
        tails = [info.frame_count - shown for info, shown in zip(infos, layout.shown_counts, strict=True)]
    else:
        trims = [Fraction(0)] + [Fraction(overlap) / (frame_rate or info.fps) for info in infos[1:]]
    path = out_dir / "combined.mp4"
    result = concat_clips(videos, path, trim_head_seconds=trims, audio=all(info.audio for info in infos),
                          trim_tail_frames=tails)
    info = {"name": path.name, "contentType": "video/mp4", "bytes": path.stat().st_size,
            "frames": result.frame_count, "fps": format_fps(result.fps), "width": result.width,
            "height": result.height, "durationSeconds": float(result.duration_seconds), "clips": len(videos),
            "trimmedHeadFrames": list(result.trimmed_frames), "audioSamples": result.audio_samples,
            "sampleRate": result.sample_rate, "render": (result.render or {}).get("mode"),
            "renderReason": (result.render or {}).get("reason")}
    return [info], list(result.warnings)


def _image(job: StoredJob, inputs: dict[str, Any], out_dir: Path) -> tuple[list[dict[str, Any]], list[str]]:
    inp = job.effective
    width, height = int(inp.get("width") or 1024), int(inp.get("height") or 1024)
    notes: list[str] = []
    source = inputs.get("source")
    if source is not None:
        with Image.open(source) as img:
            width, height = img.size
        notes.append(f"output size follows the source image: {width}x{height}")
    fmt = str(inp.get("outputFormat") or "webp")
    info = standins.write_image(out_dir / f"image.{fmt}", width=width, height=height, fmt=fmt,
                                prompt=str(inp.get("prompt", "")))
    return [info], notes


def _standin(job: StoredJob, out_dir: Path) -> tuple[list[dict[str, Any]], list[str]]:
    inp = job.effective
    given = inp.get("seed")
    seed = given if isinstance(given, int) else standins.text_seed(job.id)
    if job.task == "audio.speak":
        seconds = max(1.0, float(speech_seconds(str(inp["text"]))))
        info = standins.write_audio(out_dir / "speech.mp3", seconds=seconds, kbps=quality_kbps(inp.get("quality")),
                                    seed=seed)
    elif job.task in ("ace.step.create", "moss.sound.effect"):
        name = "music.mp3" if job.task == "ace.step.create" else "effect.mp3"
        info = standins.write_audio(out_dir / name, seconds=float(Decimal(str(inp["durationSeconds"]))),
                                    kbps=quality_kbps(inp.get("quality")), seed=seed)
    elif job.task == "audio.annotation.reference":
        transcript = inp.get("transcript") if isinstance(inp.get("transcript"), str) else None
        seconds = float(speech_seconds(transcript)) if transcript else 120.0
        info = standins.write_annotation(out_dir / "annotation.json", transcript=transcript, seconds=seconds,
                                         language=str(inp.get("language") or "en"))
    elif job.task == "trellis.generate":
        info = standins.write_mesh(out_dir / "model.obj")
    else:
        raise MediaError(f"the emulator has no stand-in for {job.task}")
    return [info], ["stand-in output: inputs are accepted but not read"]

