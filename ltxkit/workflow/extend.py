"""Extend a shot: the API guide's "extension-video playbook" as one resumable run.

For each segment: take the last N frames of the clip so far at the sampled fps, cut the segment's
reference-audio window, submit K ``video.generate`` candidates (same size, sampledFps,
interpolationFps; seeds ``seed .. seed+K-1``), download them, rate each one's seam against the clip it
continues, keep the best, and continue from it. Finally splice everything (locally, or with
``video.combine`` on the server) and write the seam report.

The tail of "the splice so far" is the tail of the last chosen clip (trim-b keeps B whole), so each
segment is conditioned on that clip directly: the same frames, without one more generation of h264 loss.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import shutil
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, TypeVar

from ltxkit.errors import InputError, LtxkitError
from ltxkit.fsutil import atomic_path
from ltxkit.timing import (
    check_ltx_frames,
    format_fps,
    frames_to_seconds,
    overlap_seconds,
)
from ltxkit.workflow.run import RunDir, open_run

DEFAULT_CONFIRM_USD = 5.0
BILLING_FIELDS = ("billing.chargedUsd", "billing.amountUsd", "chargedUsd", "costUsd", "priceUsd")
VERDICT_ORDER = ("ok", "check", "bad")
MEDIA_JOBS = "media-jobs"
T = TypeVar("T")


@dataclass(frozen=True)
class Segment:
    """One generated clip: its 8n+1 frame count and where its new content starts on the audio."""

    frames: int
    cut_seconds: Fraction  # on the reference audio's timeline: the end of the clip it continues


@dataclass(frozen=True)
class ExtendSpec:
    """Everything that defines a run; ``--resume`` refuses a run dir made with other values."""

    prompt: str
    overlap: int
    sampled_fps: Fraction
    interpolation_fps: int
    width: int
    height: int
    segments: tuple[Segment, ...]
    candidates: int = 3
    seed: int = 1
    clip: Path | None = None  # the opening clip A ...
    image: Path | None = None  # ... or an opening image (then segment 1 starts from it, no overlap)
    audio: Path | None = None
    extreme_quality: bool = False
    combine: str = "local"
    provider: str = "media-jobs"  # ltxkit.jobs.providers: what "extend" means there, or an honest refusal

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(
            sampled_fps=format_fps(self.sampled_fps),
            clip=None if self.clip is None else str(self.clip.resolve()),
            image=None if self.image is None else str(self.image.resolve()),
            audio=None if self.audio is None else str(self.audio.resolve()),
            segments=[{"frames": s.frames, "cut_seconds": str(s.cut_seconds)} for s in self.segments],
        )
        return data

    @property
    def output_fps(self) -> Fraction:
        return Fraction(self.interpolation_fps) if self.interpolation_fps else self.sampled_fps


def validate_spec(spec: ExtendSpec) -> list[str]:
    """Check everything locally before anything is extracted, sent or paid; returns warnings.

    Rules: one opening (clip or image); 8n+1 frame counts longer than the overlap; width/height
    multiples of 32; a local splice needs the candidates at the opening clip's fps; each segment's audio
    window must lie inside the reference audio (a plan's last segment may run past its end: padded).
    """
    from ltxkit.audio.source import source_duration
    from ltxkit.frames.probe import probe

    warnings: list[str] = []
    if (spec.clip is None) == (spec.image is None):
        raise InputError("give an opening clip or an opening image (--image), not both or neither")
    if spec.candidates < 1:
        raise InputError(f"--candidates must be ≥ 1, got {spec.candidates}")
    if spec.combine not in ("local", "remote"):
        raise InputError(f"--combine must be local or remote, got {spec.combine!r}")
    if not spec.segments:
        raise InputError("nothing to extend: the plan has no segments")
    overlap_seconds(spec.overlap, spec.sampled_fps)
    if spec.clip is not None and spec.overlap < 1:
        raise InputError("--overlap must be ≥ 1 to continue a clip")
    for i, seg in enumerate(spec.segments):
        check = check_ltx_frames(seg.frames)
        if not check.valid:
            raise InputError(f"segment {i + 1}: --frames {seg.frames} is not 8n+1 at "
                             f"{format_fps(spec.sampled_fps)} fps; nearest valid: {check.suggestion()}")
        if seg.frames <= spec.overlap:
            raise InputError(f"segment {i + 1}: --frames {seg.frames} must exceed --overlap {spec.overlap}")
    for name, value in (("width", spec.width), ("height", spec.height)):
        if value <= 0 or value % 32:
            raise InputError(f"--size: {name} {value} must be a positive multiple of 32 (the API's rule)")
    if spec.image is not None:
        check_image(spec.image)
    if spec.combine == "remote":
        from ltxkit.jobs.providers import require

        require(spec.provider, "combine")
    _check_requests(spec)
    if spec.clip is not None:
        info = probe(spec.clip)
        if spec.combine == "remote":
            raise InputError("--combine remote needs every clip on the server; the opening clip is local "
                             "(use --combine local, or open from an image)")
        if info.fps != spec.output_fps:
            raise InputError(f"{spec.clip.name} is {format_fps(info.fps)} fps but the candidates will be "
                             f"{format_fps(spec.output_fps)} fps (interpolationFps {spec.interpolation_fps}); "
                             "a local splice needs one rate: set --interpolation-fps to match")
        if (info.width, info.height) != (spec.width, spec.height):
            warnings.append(f"{spec.clip.name} is {info.width}x{info.height}, candidates {spec.width}x"
                            f"{spec.height}: the splice scales them to the opening clip's size")
    if spec.audio is not None:
        samples, rate = source_duration(spec.audio)
        total = Fraction(samples, rate)
        for i, seg in enumerate(spec.segments):
            shared = 0 if (i == 0 and spec.image is not None) else spec.overlap
            start = seg.cut_seconds - overlap_seconds(shared, spec.sampled_fps)
            end = start + frames_to_seconds(seg.frames, spec.sampled_fps)
            if start < 0:
                raise InputError(f"segment {i + 1}: its audio window starts at {float(start):.3f} s, before the "
                                 f"start of {spec.audio.name}; move --cut later")
            if start >= total:
                raise InputError(f"segment {i + 1}: --cut {float(seg.cut_seconds):.3f} s is past the end of "
                                 f"{spec.audio.name} ({float(total):.3f} s)")
            if end > total:
                warnings.append(f"segment {i + 1}: audio runs {float(end - total):.3f} s past the end of "
                                f"{spec.audio.name}; padded with silence")
    return warnings


def check_image(path: Path) -> None:
    """An opening image must be a real picture: caught here, not as K failed paid jobs."""
    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        raise InputError(f"no such image: {path}")
    try:
        with Image.open(path) as im:
            im.verify()
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise InputError(f"{path} is not a readable image ({exc})") from exc


def _check_requests(spec: ExtendSpec) -> None:
    """Run the API's own input rules on every segment's request (media as placeholders) before any output."""
    from ltxkit.api_schema import validate_task_input
    from ltxkit.jobs.providers import check_request

    url = "https://placeholder.invalid/media"
    fps = spec.sampled_fps
    if spec.provider != MEDIA_JOBS:
        for i, seg in enumerate(spec.segments):
            from_image = i == 0 and spec.image is not None
            check_request(spec.provider, _neutral(spec, seg, spec.seed, [url] * (0 if from_image else spec.overlap),
                                                  url if from_image else None, url if spec.audio else None))
        return
    for i, seg in enumerate(spec.segments):
        inp: dict[str, Any] = {
            "prompt": spec.prompt, "durationFrames": seg.frames, "width": spec.width, "height": spec.height,
            "sampledFps": fps.numerator if fps.denominator == 1 else format_fps(fps),
            "interpolationFps": spec.interpolation_fps, "seed": spec.seed,
        }
        if i == 0 and spec.image is not None:
            inp["startFrameImageUrl"] = url
        elif spec.overlap:
            inp["overlapFrameImageUrls"] = [url] * spec.overlap
        if spec.audio is not None:
            inp["referenceAudioUrl"] = url
        validate_task_input("video.generate", inp)


# --- ranking ---------------------------------------------------------------------------------------


def seam_score(review: dict[str, Any]) -> float:
    """One number to rank candidates (higher is better), from the seam metrics:

    ``min(overlap PSNR, 50) − 4·max(0, seam-jump ratio − 1) − colour drift (levels)``: fidelity to the
    frames B was conditioned on, minus a visible jump at the cut, minus a colour shift. The verdict
    (ok/check/bad) ranks first; this breaks ties within a verdict.
    """
    metrics = review["metrics"]
    fidelity = metrics.get("overlap_fidelity") or {}
    psnr = min(float(fidelity.get("psnr_db_mean", 50.0)), 50.0)
    jump = float(metrics["seam_jump"]["ratio"])
    drift = float(metrics["colour_drift"]["max_levels"])
    return round(psnr - 4 * max(0.0, jump - 1) - drift, 3)


def rank(candidates: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rated candidates, best first: verdict, then score, then the lower seed (stable)."""
    rated = [c for c in candidates if c.get("score") is not None and c.get("status") == "done"]
    return sorted(rated, key=lambda c: (VERDICT_ORDER.index(c["verdict"]), -c["score"], c["seed"]))


def anchor_review(video: Path, image: Path) -> dict[str, Any]:
    """Rate an image-opened clip (no seam yet): PSNR of its first frame against the start image."""
    import numpy as np
    from PIL import Image

    from ltxkit.assembly.seam import PSNR_DB, higher_is_better, psnr
    from ltxkit.frames.probe import open_media

    with open_media(video) as container:
        first = next(container.decode(video=0)).to_ndarray(format="rgb24")
    with Image.open(image) as im:
        ref = np.asarray(im.convert("RGB").resize((first.shape[1], first.shape[0])))
    value = psnr(first, ref)
    return {"verdict": higher_is_better(value, PSNR_DB), "score": round(min(value, 50.0), 3),
            "anchor_psnr_db": round(value, 2)}


# --- the run ---------------------------------------------------------------------------------------


@dataclass
class ExtendOptions:
    """How to run, not what to make, so ``--resume`` accepts other values; ``picks`` may change only the
    choice of segments that no later segment was generated from."""

    resume: bool = False
    yes: bool = False
    confirm_usd: float = DEFAULT_CONFIRM_USD
    picks: tuple[int, ...] = ()  # 1-based candidate per segment, overriding the ranking
    confirm: Callable[[str], bool] = lambda _question: False
    log: Callable[[str], None] = lambda _message: None


def extend(spec: ExtendSpec, run_dir: Path, client_config: Any, options: ExtendOptions | None = None,
           ) -> dict[str, Any]:
    """Run (or resume) an extension; returns the summary that ``ltxkit extend --json`` prints."""
    from ltxkit.jobs import ClientConfig

    opts = options or ExtendOptions()
    config: ClientConfig = client_config
    config.require_key()
    warnings = validate_spec(spec)
    for warning in warnings:
        opts.log(f"warning: {warning}")
    if opts.picks and len(opts.picks) > len(spec.segments):
        raise InputError(f"--pick given {len(opts.picks)} times for {len(spec.segments)} segment(s)")
    for pick in opts.picks:
        if not 1 <= pick <= spec.candidates:
            raise InputError(f"--pick {pick}: choose a candidate from 1 to {spec.candidates}")
    run = open_run(run_dir, spec.to_json(), resume=opts.resume)
    run.data["warnings"] = warnings
    condition = spec.clip
    chosen: list[dict[str, Any]] = []
    for index, segment in enumerate(spec.segments):
        seg = _run_segment(run, spec, index, segment, condition, config, opts)
        best = seg["candidates"][seg["chosen"] - 1]
        chosen.append(best)
        condition = Path(best["file"])
    result = _assemble(run, spec, chosen, config, opts)
    run.data["result"] = result
    run.save()
    return {"run_dir": str(run.path), "manifest": str(run.manifest), **result,
            "segments": run.data["segments"], "warnings": warnings}


def _segment_record(run: RunDir, index: int) -> dict[str, Any]:
    segments: list[dict[str, Any]] = run.data["segments"]
    while len(segments) <= index:
        segments.append({"index": len(segments) + 1, "candidates": [], "chosen": None})
    return segments[index]


def _run_segment(run: RunDir, spec: ExtendSpec, index: int, segment: Segment, condition: Path | None,
                 config: Any, opts: ExtendOptions) -> dict[str, Any]:
    from ltxkit.assembly import review_seam
    from ltxkit.audio.window import extract_window
    from ltxkit.frames.tail import extract_tail
    from ltxkit.jobs import VideoGenerate, overlap_frame_files
    from ltxkit.jobs.providers import get_provider, prepare_extend, prepare_submission

    record = _segment_record(run, index)
    seg_dir = run.segment_dir(index)
    record.update(frames=segment.frames, cut_seconds=str(segment.cut_seconds))
    from_image = condition is None
    shared = 0 if from_image else spec.overlap
    overlap_dir = seg_dir / "overlap"
    if not from_image and not (overlap_dir / "frames.json").exists():
        assert condition is not None
        extract_tail(condition, spec.overlap, overlap_dir, sampled_fps=spec.sampled_fps)
        opts.log(f"segment {index + 1}: took the last {spec.overlap} frames of {condition.name}")
    audio_file = seg_dir / "reference.flac"
    if spec.audio is not None and not audio_file.exists():
        window = extract_window(spec.audio, audio_file, segment.cut_seconds, shared, spec.sampled_fps,
                                frames=segment.frames, pad=True)
        record["audio_window"] = {k: window[k] for k in ("start_seconds", "end_seconds", "start_sample",
                                                         "end_sample", "sample_rate") if k in window}
    run.save()

    overlap_files = [] if from_image else overlap_frame_files(overlap_dir)
    audio_src = audio_file if spec.audio is not None else None
    adapter = get_provider(spec.provider)
    if spec.provider == MEDIA_JOBS:
        requests = [prepare_submission(adapter, "video.generate", VideoGenerate(
            prompt=spec.prompt, start_frame=spec.image if from_image else None,
            overlap_frames=overlap_files or None, reference_audio=audio_src,
            duration_frames=segment.frames, width=spec.width, height=spec.height,
            sampled_fps=spec.sampled_fps, interpolation_fps=spec.interpolation_fps, seed=spec.seed + k,
            extreme_quality=spec.extreme_quality or None,
        ).to_input()) for k in range(spec.candidates)]
    else:
        requests = [prepare_extend(adapter, _neutral(spec, segment, spec.seed + k, overlap_files,
                                                     spec.image if from_image else None, audio_src))
                    for k in range(spec.candidates)]
    if not record["candidates"]:
        record["candidates"] = [{"candidate": k + 1, "seed": spec.seed + k, "idempotency_key": r.key,
                                 "job_id": None, "status": "pending", "file": None, "url": None,
                                 "verdict": None, "score": None} for k, r in enumerate(requests)]
        run.save()
    records = run_sync(_generate(run, spec, index, requests, config, opts))
    for cand, outcome in zip(record["candidates"], records, strict=True):
        if isinstance(outcome, BaseException):
            if not isinstance(outcome, LtxkitError):
                raise outcome
            # whatever an earlier run rated is void now: the file may be gone with the server's copy
            cand.update(status="failed", error=str(outcome), file=None, score=None, verdict=None)
            continue
        cand.update(job_id=outcome.job_id, status=outcome.state, error=outcome.error,
                    url=outcome.outputs[0] if outcome.outputs else None,
                    file=str(outcome.files[0]) if outcome.files else None)
    run.save()
    for cand in record["candidates"]:
        if cand["file"] is None or cand["score"] is not None:
            continue
        if from_image:
            assert spec.image is not None
            review = anchor_review(Path(cand["file"]), spec.image)
            cand.update(verdict=review["verdict"], score=review["score"], anchor_psnr_db=review["anchor_psnr_db"])
        else:
            assert condition is not None
            review = review_seam(condition, Path(cand["file"]), overlap=spec.overlap,
                                 sampled_fps=spec.sampled_fps, scale=True)["seam"]
            cand.update(verdict=review["verdict"], score=seam_score(review),
                        levels=review["levels"])
        run.save()
    ranked = rank(record["candidates"])
    if not ranked:
        raise LtxkitError(f"segment {index + 1}: no candidate finished "
                          f"({'; '.join(c.get('error') or c['status'] for c in record['candidates'])})")
    pick = opts.picks[index] if index < len(opts.picks) else None
    if pick is not None and record["candidates"][pick - 1]["file"] is None:
        raise InputError(f"--pick {pick}: candidate {pick} of segment {index + 1} has no output "
                         f"({record['candidates'][pick - 1]['status']})")
    choice = pick or ranked[0]["candidate"]
    later = run.data["segments"][index + 1] if index + 1 < len(run.data["segments"]) else None
    if later is not None and record["chosen"] is not None and choice != record["chosen"]:
        # the next segment was generated from the earlier choice: that choice is locked in this run
        if pick is not None:
            raise InputError(f"--pick {pick}: segment {index + 2} was generated from candidate {record['chosen']} "
                             f"of segment {index + 1}; to continue from another one, start a new run (-o)")
        choice = record["chosen"]
        if record["candidates"][choice - 1]["file"] is None:
            raise LtxkitError(f"segment {index + 1}: candidate {choice}, which segment {index + 2} was generated "
                              "from, is gone (locally and on the server); start a new run (-o)")
    record["ranking"] = [c["candidate"] for c in ranked]
    record["chosen"] = choice
    run.save()
    opts.log(f"segment {index + 1}: chose candidate {record['chosen']} "
             f"({'picked' if pick else 'best seam'}) of {len(ranked)} rated")
    return record


async def _generate(run: RunDir, spec: ExtendSpec, index: int, requests: list[Any], config: Any,
                    opts: ExtendOptions) -> list[Any]:
    """Estimate the cost from the server's own answer, confirm if needed, run all candidates concurrently."""
    from ltxkit.jobs import AsyncClient, Journal
    from ltxkit.jobs.providers import arun_submission, get_provider

    record = run.data["segments"][index]
    with Journal.in_dir(run.path) as journal:
        async with AsyncClient(config, provider=get_provider(spec.provider)) as client:
            if "estimate" not in record:
                price = await _first_price(client, journal, requests[0])
                remaining = len(spec.segments) - index
                total = None if price is None else price * spec.candidates * remaining
                record["estimate"] = {"per_candidate_usd": price, "segment_usd": None if price is None
                                      else price * spec.candidates, "remaining_usd": total}
                opts.log(f"segment {index + 1}: {spec.candidates} candidates at "
                         f"{'an unreported price' if price is None else f'${price:.2f} each'}"
                         + ("" if total is None else f"; about ${total:.2f} for the remaining segments"))
                if not opts.yes and (total is None or total > opts.confirm_usd):
                    question = (f"Submit {spec.candidates} candidate(s) for segment {index + 1}"
                                f"{'' if total is None else f' (about ${total:.2f} in all)'}?")
                    if not opts.confirm(question):
                        del record["estimate"]
                        raise LtxkitError("stopped before submitting (pass --yes to skip the question); "
                                          "--resume continues")
                run.save()
            slots = asyncio.Semaphore(config.concurrency)

            async def one(k: int) -> Any:
                async with slots:
                    return await arun_submission(client, requests[k], journal=journal,
                                                 download_dir=candidate_dir(run, index, k))

            # errors come back in place: one failed candidate must not cancel the other paid jobs
            return list(await asyncio.gather(*(one(k) for k in range(len(requests))), return_exceptions=True))


async def _first_price(client: Any, journal: Any, submission: Any) -> float | None:
    """The media-jobs API bills at submit and says so in its answer: the first candidate is submitted
    (journaled like any submit; repeating it is safe, its key makes it the same paid job) and its charge
    read. A resumed run asks the job's status instead. Other providers report no price up front."""
    req = submission.ready
    if client.provider.name != MEDIA_JOBS or req is None:
        return None
    row = journal.begin(req.key, req.task, req.input_hash, client.context.scope)
    if row.job_id is None:
        first = await client.submit(req.task, req.input, key=req.key)
        journal.record_job(row.row, first)
    else:
        first = await client.status(row.job_id)
    return _charged(first.payload)


def _neutral(spec: ExtendSpec, segment: Segment, seed: int, overlap: Sequence[Any], first: Any, audio: Any) -> Any:
    """The provider-neutral request for one candidate (another provider's adapter translates or refuses it)."""
    from ltxkit.jobs.providers import ExtendRequest

    return ExtendRequest(prompt=spec.prompt, overlap_frames=tuple(overlap), last_frame=first, reference_audio=audio,
                         frames=segment.frames, fps=spec.sampled_fps, size=(spec.width, spec.height), seed=seed)


def candidate_dir(run: RunDir, index: int, k: int) -> Path:
    return run.segment_dir(index) / "candidates" / f"{k + 1}"


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run``, also from code that already runs an event loop (Jupyter): then on a worker thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _charged(payload: Any) -> float | None:
    from ltxkit.jobs.wire import dig

    for path in BILLING_FIELDS:
        value = dig(payload, path)
        if isinstance(value, (int, float, str)) and not isinstance(value, bool):
            try:
                return float(value)
            except ValueError:
                continue
    return None


def _assemble(run: RunDir, spec: ExtendSpec, chosen: list[dict[str, Any]], config: Any,
              opts: ExtendOptions) -> dict[str, Any]:
    """Join the opening clip and the chosen clips into ``extended.mp4`` with the seam report."""
    from ltxkit.assembly import review_seam, splice_with_report
    from ltxkit.frames.probe import probe
    from ltxkit.jobs import Client, Journal, VideoCombine, submit_and_collect

    output = run.path / "extended.mp4"
    report_dir = run.path / "report"
    picks = [c["candidate"] for c in chosen]
    previous = run.data.get("result") or {}
    if previous.get("picks") == picks and output.exists():
        return dict(previous)
    output.unlink(missing_ok=True)
    clips = ([spec.clip] if spec.clip is not None else []) + [Path(c["file"]) for c in chosen]
    if len(clips) == 1:
        _copy(clips[0], output)
        return {"output": str(output), "picks": picks, "verdict": chosen[0]["verdict"], "report": None}
    if spec.combine == "remote":
        with Journal.in_dir(run.path) as journal, Client(config) as client:
            job = submit_and_collect(client, VideoCombine(
                video_urls=[c["url"] for c in chosen], overlap_frames=spec.overlap,
                frame_rate=spec.sampled_fps), journal=journal, download_dir=run.path / "combined")
        _copy(job.files[0], output)
        seams = [review_seam(a, b, overlap=spec.overlap, sampled_fps=spec.sampled_fps, scale=True)
                 for a, b in itertools.pairwise(clips)]
        verdict = max((s["verdict"] for s in seams), key=VERDICT_ORDER.index)
        opts.log(f"combined on the server (job {job.job_id}): {output}")
        return {"output": str(output), "picks": picks, "verdict": verdict, "report": None,
                "combine_job": job.job_id, "seams": [s["seam"] for s in seams]}
    silent = [c.name for c in clips if not probe(c).audio]
    if silent:
        opts.log(f"warning: {', '.join(silent)} has no audio: the extended clip is written without sound")
    report = splice_with_report(clips, output, overlap=spec.overlap, sampled_fps=spec.sampled_fps,
                                scale=True, audio=not silent, report_dir=report_dir)
    opts.log(f"spliced {len(clips)} clips: {output} (seams: {report['verdict']})")
    return {"output": str(output), "picks": picks, "verdict": report["verdict"], "report": report["report"],
            "frames": report["splice"].get("frame_count")}


def _copy(src: Path, dest: Path) -> None:
    with atomic_path(dest) as tmp:
        shutil.copyfile(src, tmp)


def parse_size(text: str) -> tuple[int, int]:
    """``1280x704`` → (1280, 704)."""
    try:
        w, h = text.lower().split("x")
        return int(w), int(h)
    except ValueError as exc:
        raise InputError(f"--size must look like 1280x704, got {text!r}") from exc


