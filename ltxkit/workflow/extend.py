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
import contextlib
import contextvars
import itertools
import os
import shutil
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ltxkit import progress
from ltxkit.assembly.measures import LEVELS
from ltxkit.assembly.report import review_seam, splice_with_report
from ltxkit.audio.window import extract_window
from ltxkit.errors import InputError, LtxkitError, PaymentRequiredError
from ltxkit.frames.checks import refuse_overwrite
from ltxkit.frames.probe import probe
from ltxkit.frames.tail import extract_tail
from ltxkit.fsutil import StrPath, atomic_path
from ltxkit.jobs.pricebook import USD, PriceBook, PriceEstimate, PriceKey, server_of
from ltxkit.timing import fps_number
from ltxkit.workflow.budget import Budget, NotSubmitted, Offer
from ltxkit.workflow.manifest import (
    OUTPUT,
    REPORT,
    CandidateRecord,
    Estimate,
    RunDir,
    RunResult,
    SegmentRecord,
    open_run,
    run_outputs,
)
from ltxkit.workflow.ranking import anchor_review, findings_record, rank, rejection, report_takes, seam_score
from ltxkit.workflow.spec import ExtendSpec, SegmentSpec, check_media, check_parameters, clip_canvas

if TYPE_CHECKING:
    from ltxkit.jobs import AsyncClient, ClientConfig, Journal, JournalEntry
    from ltxkit.jobs.providers import ExtendRequest, Submission

DEFAULT_CONFIRM_USD = 5.0
MEDIA_JOBS = "media-jobs"
T = TypeVar("T")


def validate_spec(spec: ExtendSpec) -> list[str]:
    """Check everything locally before anything is extracted, sent or paid; returns warnings.

    The spec's own rules, then the provider's (it can combine; every segment's request passes the
    API's input rules), then the media (:func:`~ltxkit.workflow.spec.check_media`); a lip-sync run
    (``--audio``) also gets the guide's prompt advice (:func:`~ltxkit.workflow.prompts.prompt_warnings`).
    """
    from ltxkit.workflow.prompts import prompt_warnings

    check_parameters(spec)
    combine_warning = None
    if spec.combine == "remote":
        from ltxkit.jobs.providers import require
        from ltxkit.workflow.combine import overlap_warning

        require(spec.provider, "combine")
        combine_warning = overlap_warning(spec.overlap, spec.sampled_fps, spec.output_fps)
    _check_requests(spec)
    return check_media(spec) + (prompt_warnings(spec.prompt) if spec.audio is not None else []) \
        + ([combine_warning] if combine_warning else [])


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
            "sampledFps": fps_number(fps),
            "interpolationFps": spec.interpolation_fps, "seed": spec.seed,
        }
        if i == 0 and spec.image is not None:
            inp["startFrameImageUrl"] = url
        elif spec.overlap:
            inp["overlapFrameImageUrls"] = [url] * spec.overlap
        if spec.audio is not None:
            inp["referenceAudioUrl"] = url
        validate_task_input("video.generate", inp)


# --- the run ---------------------------------------------------------------------------------------


@dataclass
class ExtendOptions:
    """How to run, not what to make, so ``--resume`` accepts other values; ``picks`` may change only the
    choice of segments that no later segment was generated from."""

    resume: bool = False
    yes: bool = False
    confirm_usd: float = DEFAULT_CONFIRM_USD
    max_usd: float | None = None  # what the run directory may be billed in all (--max-usd)
    price_book: StrPath | None = None  # default: $LTXKIT_PRICE_BOOK, else $XDG_DATA_HOME/ltxkit/prices.sqlite
    picks: tuple[int, ...] = ()  # 1-based candidate per segment, overriding the ranking
    color_match: str = "none"  # --color-match / --color-ref of the final splice
    color_ref: str = "previous"
    cut: str = "mode"  # --splice-cut: 'best' moves each seam's cut of the final splice (assembly.cut)
    render: str = "smart"  # --render of the final splice and its review clips
    confirm: Callable[[str], bool] = lambda _question: False
    log: Callable[[str], None] = lambda _message: None

    @property
    def splice_settings(self) -> dict[str, str]:
        """What the final local splice is made with (kept in ``run.json`` for a review pick)."""
        return {"color_match": self.color_match, "color_ref": self.color_ref, "cut": self.cut, "render": self.render}


def extend(spec: ExtendSpec, run_dir: StrPath, client_config: ClientConfig, options: ExtendOptions | None = None,
           ) -> dict[str, Any]:
    """Run (or resume) an extension; returns the summary that ``ltxkit extend --json`` prints."""
    from ltxkit.jobs import Journal

    opts = options or ExtendOptions()
    config = client_config
    config.require_key()
    warnings = validate_spec(spec)
    canvas = None if spec.clip is None else clip_canvas(spec, spec.clip)
    if opts.picks and len(opts.picks) > len(spec.segments):
        raise InputError(f"--pick given {len(opts.picks)} times for {len(spec.segments)} segment(s)")
    for pick in opts.picks:
        if not 1 <= pick <= spec.candidates:
            raise InputError(f"--pick {pick}: choose a candidate from 1 to {spec.candidates}")
    from ltxkit.jobs.providers import get_provider

    provider = get_provider(spec.provider)
    if opts.max_usd is not None and provider.money_unit != USD:
        raise InputError(f"--max-usd: provider {provider.name} bills in {provider.money_unit}, not in dollars; "
                         "drop --max-usd (ltxkit asks before spending them)")
    run_dir = Path(run_dir)
    refuse_overwrite(run_outputs(run_dir, len(spec.segments)), [spec.clip, spec.image, spec.audio])
    Journal.check_dir(run_dir)
    # said only once every check has passed: bad input is one line on stderr
    if spec.sampled_fps_note is not None:
        opts.log(spec.sampled_fps_note)
    for warning in warnings:
        opts.log(f"warning: {warning}")
    if canvas is not None and (canvas.width, canvas.height) != (canvas.source_width, canvas.source_height):
        opts.log(canvas.describe())
    with PriceBook(opts.price_book) as book:
        run = open_run(run_dir, spec.to_json(), resume=opts.resume)
        run.manifest.warnings = warnings
        budget = Budget(provider, book, yes=opts.yes, confirm_at=Decimal(str(opts.confirm_usd)),
                        cap=None if opts.max_usd is None else Decimal(str(opts.max_usd)), confirm=opts.confirm,
                        log=opts.log, spent_before=sum((Decimal(str(b)) for b in run.manifest.charged), Decimal(0)))
        condition = spec.clip
        chosen: list[CandidateRecord] = []
        clips = [] if spec.clip is None else [spec.clip]
        for index, segment in enumerate(spec.segments):
            best = _run_segment(run, spec, index, segment, condition, config, opts, budget)
            chosen.append(best)
            condition = best.file
            assert condition is not None  # a candidate is chosen only with its output (see _choose)
            clips.append(condition)
        run.manifest.result = _assemble(run, spec, chosen, clips, config, opts, budget)
        run.save()
    return {"run_dir": str(run.path), "manifest": str(run.manifest_path), **run.manifest.result.to_json(),
            "segments": [s.to_json() for s in run.manifest.segments],
            "warnings": warnings + (run.manifest.result.warnings or [])}


def _run_segment(run: RunDir, spec: ExtendSpec, index: int, segment: SegmentSpec, condition: Path | None,
                 config: ClientConfig, opts: ExtendOptions, budget: Budget) -> CandidateRecord:
    """Inputs, candidates, ratings and the choice of one segment; returns the chosen candidate."""
    record = _segment_record(run, index, segment)
    overlap_files, audio_src = _conditioning(run, spec, index, segment, record, condition, opts)
    requests = _requests(spec, segment, condition is None, overlap_files, audio_src)
    if not record.candidates:
        record.candidates = [CandidateRecord(candidate=k + 1, seed=spec.seed + k, idempotency_key=r.key)
                             for k, r in enumerate(requests)]
        run.save()
    try:
        outcomes = run_sync(_generate(run, spec, index, requests, config, budget))
    finally:
        _record_charges(run, budget)
    for cand, outcome in zip(record.candidates, outcomes, strict=True):
        _record_outcome(cand, outcome)
        if cand.file is not None:
            cand.file = _named(cand.file, run.segment_dir(index) / f"seg-{index + 1:02d}-cand-{cand.candidate}")
    run.save()
    refused = sorted(((not isinstance(o, PaymentRequiredError), k, o) for k, o in enumerate(outcomes)
                      if isinstance(o, (NotSubmitted, PaymentRequiredError))), key=lambda t: t[:2])
    if refused:  # the money ran out (--max-usd, a 402): stop here, whatever else finished
        _, k, error = refused[0]
        raise budget.stopped(str(error) if isinstance(error, NotSubmitted) else
                             f"the server refused {candidate_task(index, k)} for payment ({error}); top up")
    for k, cand in enumerate(record.candidates):
        if cand.file is not None and cand.score is None:
            with progress.task(candidate_task(index, k)):
                _rate(cand, cand.file, spec, condition)
            run.save()
    return _choose(run, index, record, opts)


def _segment_record(run: RunDir, index: int, segment: SegmentSpec) -> SegmentRecord:
    segments = run.manifest.segments
    if len(segments) <= index:
        segments.append(SegmentRecord(index=index + 1, frames=segment.frames, cut_seconds=segment.cut_seconds))
    record = segments[index]
    record.frames, record.cut_seconds = segment.frames, segment.cut_seconds
    return record


def _conditioning(run: RunDir, spec: ExtendSpec, index: int, segment: SegmentSpec, record: SegmentRecord,
                  condition: Path | None, opts: ExtendOptions) -> tuple[list[str | Path], Path | None]:
    """The overlap frames (the tail of ``condition``) and the reference-audio window, each made once."""
    from ltxkit.jobs import overlap_frame_files

    seg_dir = run.segment_dir(index)
    overlap_dir = seg_dir / "overlap"
    if condition is not None and not (overlap_dir / "frames.json").exists():
        # a chosen clip holds the samples its request asked for: the grid need not be inferred
        known = spec.segments[index - 1].frames if condition != spec.clip and index > 0 else None
        extract_tail(condition, spec.overlap, overlap_dir, sampled_fps=spec.sampled_fps, samples=known,
                     canvas=clip_canvas(spec, condition))
        opts.log(f"segment {index + 1}: took the last {spec.overlap} frames of {condition.name}")
    audio_file = seg_dir / "reference.flac"
    if spec.audio is not None and not audio_file.exists():
        window = extract_window(spec.audio, audio_file, segment.cut_seconds, spec.shared_frames(index),
                                spec.sampled_fps, frames=segment.frames, pad=True)
        record.audio_window = {k: window[k] for k in ("start_seconds", "end_seconds", "start_sample",
                                                      "end_sample", "sample_rate") if k in window}
    run.save()
    overlap_files = [] if condition is None else overlap_frame_files(overlap_dir)
    return overlap_files, audio_file if spec.audio is not None else None


def _requests(spec: ExtendSpec, segment: SegmentSpec, from_image: bool, overlap_files: list[str | Path],
              audio_src: Path | None) -> list[Submission]:
    """The checked request of every candidate (``seed + k``), in the provider's own terms."""
    from ltxkit.jobs import VideoGenerate
    from ltxkit.jobs.providers import get_provider, prepare_extend, prepare_submission

    adapter = get_provider(spec.provider)
    if spec.provider == MEDIA_JOBS:
        return [prepare_submission(adapter, "video.generate", VideoGenerate(
            prompt=spec.prompt, start_frame=spec.image if from_image else None,
            overlap_images=overlap_files or None, reference_audio=audio_src,
            duration_frames=segment.frames, width=spec.width, height=spec.height,
            sampled_fps=spec.sampled_fps, interpolation_fps=spec.interpolation_fps, seed=spec.seed + k,
            extreme_quality=spec.extreme_quality or None,
        ).to_input()) for k in range(spec.candidates)]
    return [prepare_extend(adapter, _neutral(spec, segment, spec.seed + k, overlap_files,
                                             spec.image if from_image else None, audio_src))
            for k in range(spec.candidates)]


def _record_charges(run: RunDir, budget: Budget) -> None:
    """What each job submitted in this invocation was billed, into ``run.json`` (for --max-usd): the
    candidates' by their keys, any other key's (a combine) in ``combine_charged``."""
    billed = {key: float(price.amount) for key, price in budget.charges.items() if price is not None}
    for seg in run.manifest.segments:
        for cand in seg.candidates:
            if cand.idempotency_key in billed:
                cand.charged = billed.pop(cand.idempotency_key)
    if billed:
        run.manifest.combine_charged = (run.manifest.combine_charged or {}) | billed
    run.save()


def _record_outcome(cand: CandidateRecord, outcome: JournalEntry | BaseException) -> None:
    if isinstance(outcome, NotSubmitted):
        cand.status, cand.error = "not submitted", str(outcome)
        return
    if isinstance(outcome, BaseException):
        if not isinstance(outcome, LtxkitError):
            raise outcome
        # whatever an earlier run rated is void now: the file may be gone with the server's copy
        cand.status, cand.error, cand.file, cand.score, cand.verdict = "failed", str(outcome), None, None, None
        return
    cand.job_id, cand.status, cand.error = outcome.job_id, outcome.state, outcome.error
    cand.url = outcome.outputs[0] if outcome.outputs else None
    cand.file = Path(outcome.files[0]) if outcome.files else None


def _rate(cand: CandidateRecord, file: Path, spec: ExtendSpec, condition: Path | None) -> None:
    """The seam against the clip it continues, or (opening from the image) the first frame against it."""
    if condition is None:
        assert spec.image is not None
        anchor = anchor_review(file, spec.image)
        cand.verdict, cand.score, cand.anchor_psnr_db = anchor["verdict"], anchor["score"], anchor["anchor_psnr_db"]
        cand.rejected = anchor["rejected"]
        return
    review = review_seam(condition, file, overlap=spec.overlap, sampled_fps=spec.sampled_fps, scale=True)["seam"]
    cand.verdict, cand.score, cand.levels = review["verdict"], seam_score(review), review["levels"]
    cand.findings, cand.rejected = findings_record(review), rejection(review)


def _choose(run: RunDir, index: int, record: SegmentRecord, opts: ExtendOptions) -> CandidateRecord:
    """The picked or best-ranked candidate; a choice a later segment was generated from stays locked."""
    ranked = rank(record.candidates)
    if not ranked:
        raise LtxkitError(f"segment {index + 1}: no candidate finished "
                          f"({'; '.join(c.error or c.status for c in record.candidates)})")
    pick = opts.picks[index] if index < len(opts.picks) else record.picked  # --pick, else 'ltxkit review's
    if pick is not None and record.candidate(pick).file is None:
        raise InputError(f"--pick {pick}: candidate {pick} of segment {index + 1} has no output "
                         f"({record.candidate(pick).status})")
    choice = pick or ranked[0].candidate
    later = index + 1 < len(run.manifest.segments)
    if later and record.chosen is not None and choice != record.chosen:
        # the next segment was generated from the earlier choice: that choice is locked in this run
        if pick is not None:
            raise InputError(f"--pick {pick}: segment {index + 2} was generated from candidate {record.chosen} "
                             f"of segment {index + 1}; to continue from another one, start a new run (-o)")
        choice = record.chosen
        if record.candidate(choice).file is None:
            raise LtxkitError(f"segment {index + 1}: candidate {choice}, which segment {index + 2} was generated "
                              "from, is gone (locally and on the server); start a new run (-o)")
    for cand in ranked:
        if cand.rejected is not None:
            opts.log(f"segment {index + 1}: set candidate {cand.candidate} aside: {cand.rejected}")
    if pick is None and ranked[0].rejected is not None:
        opts.log(f"warning: segment {index + 1}: every candidate has a visible defect; using candidate "
                 f"{choice}, the least bad. Run it again with another --seed, or pick in 'ltxkit review'")
    record.ranking = [c.candidate for c in ranked]
    record.chosen = choice
    if pick is not None:
        record.picked = pick  # a later --resume keeps it, as it keeps a pick made in 'ltxkit review'
    run.save()
    opts.log(f"segment {index + 1}: chose candidate {choice} "
             f"({'picked' if pick else 'best seam'}) of {len(ranked)} rated")
    return record.candidate(choice)


async def _generate(run: RunDir, spec: ExtendSpec, index: int, requests: list[Submission], config: ClientConfig,
                    budget: Budget) -> list[JournalEntry | BaseException]:
    """Estimate and agree the cost of the candidates not yet submitted, then run all of them concurrently."""
    from ltxkit.jobs import AsyncClient, Journal
    from ltxkit.jobs.providers import get_provider

    with Journal.in_dir(run.path) as journal:
        async with AsyncClient(config, provider=get_provider(spec.provider)) as client:
            key = _price_key(spec, index, requests[0], client.config.base_url)
            scope = client.context.scope
            new = [k for k, r in enumerate(requests) if (e := journal.find(key=r.key, provider=scope)) is None
                   or e.job_id is None]
            each = PriceEstimate(None, "not needed: every candidate was submitted before")
            if new:
                requests[new[0]], each = await budget.estimate(client, requests[new[0]], key)
                later = [seg.frames for seg in spec.segments[index + 1:] for _ in range(spec.candidates)]
                combine = client.provider.combine_price(len(spec.segments)) if spec.combine == "remote" else None
                offer = Offer(index + 1, len(new), each, budget.later(each, key, later, combine))
                await budget.check_funds(client, offer)
                if budget.authorize(offer) < len(new):  # the price is unknown: one candidate learns it
                    first = new.pop(0)
                    await _submit(client, requests[first], journal, run, index, first, budget, key, each, wait=False)
                    each = budget.book.estimate(key)
                    offer = Offer(index + 1, len(new), each, budget.later(each, key, later, combine))
                    await budget.check_funds(client, offer)
                    budget.authorize(offer, learned=True)
                _record_estimate(run.manifest.segments[index], offer, spec.candidates)
                run.save()
            slots = asyncio.Semaphore(config.concurrency)

            async def one(k: int) -> JournalEntry:
                with progress.task(candidate_task(index, k)), _failure_reported(candidate_task(index, k)):
                    async with slots:
                        return await _submit(client, requests[k], journal, run, index, k, budget, key, each)

            # errors come back in place: one failed candidate must not cancel the other paid jobs
            return list(await asyncio.gather(*(one(k) for k in range(len(requests))), return_exceptions=True))


async def _submit(client: AsyncClient, submission: Submission, journal: Journal, run: RunDir, index: int, k: int,
                  budget: Budget, key: PriceKey, each: PriceEstimate, *, wait: bool = True) -> JournalEntry:
    """One candidate, submitted under the budget's guard (a job the journal has is only waited for)."""
    from ltxkit.jobs.providers import arun_submission

    try:
        return await arun_submission(client, submission, journal=journal, download_dir=candidate_dir(run, index, k),
                                     wait=wait, guard=budget.guard(candidate_task(index, k), key, each))
    except PaymentRequiredError as exc:
        budget.refused_payment(exc)
        raise


def _price_key(spec: ExtendSpec, index: int, submission: Submission, base_url: str) -> PriceKey:
    """What a candidate's price depends on, as the price book keys it."""
    return PriceKey(submission.task, spec.segments[index].frames,
                    None if spec.width is None or spec.height is None else spec.width * spec.height,
                    spec.audio is not None, spec.extreme_quality, spec.provider, server_of(base_url))


def _record_estimate(record: SegmentRecord, offer: Offer, candidates: int) -> None:
    price = offer.each.price
    if price is None or price.unit != USD:
        record.estimate = Estimate(per_candidate_usd=None, segment_usd=None, remaining_usd=None)
        return
    total = offer.total
    record.estimate = Estimate(per_candidate_usd=float(price.amount), segment_usd=float(price.amount * candidates),
                               remaining_usd=None if total is None else float(total.amount))


def _neutral(spec: ExtendSpec, segment: SegmentSpec, seed: int, overlap: Sequence[str | Path],
             first: str | Path | None, audio: str | Path | None) -> ExtendRequest:
    """The provider-neutral request for one candidate (another provider's adapter translates or refuses it)."""
    from ltxkit.jobs.providers import ExtendRequest

    return ExtendRequest(prompt=spec.prompt, overlap_images=tuple(overlap), last_frame=first, reference_audio=audio,
                         frames=segment.frames, fps=spec.sampled_fps, size=(spec.width, spec.height), seed=seed)


def _named(download: Path, stem: Path) -> Path:
    """The candidate under a name that says which it is (``seg-02-cand-3.mp4``; the download keeps the
    server's name, which the journal knows it by), linked, so no byte is stored twice. A run made before
    files were named gets its links on resume."""
    named = stem.with_suffix(download.suffix)
    if download == named or (named.exists() and named.samefile(download)):
        return named
    named.unlink(missing_ok=True)
    try:
        os.link(download, named)
    except OSError:  # a file system without hard links
        _copy(download, named)
    return named


def candidate_task(index: int, k: int) -> str:
    return f"segment {index + 1} candidate {k + 1}"


@contextlib.contextmanager
def _failure_reported(name: str) -> Iterator[None]:
    """A candidate that fails before its job does (refused submit, lost download) shows as failed too."""
    try:
        yield
    except LtxkitError:
        progress.report(name, "failed")
        raise


def candidate_dir(run: RunDir, index: int, k: int) -> Path:
    return run.segment_dir(index) / "candidates" / f"{k + 1}"


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run``, also from code that already runs an event loop (Jupyter): then on a worker thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(contextvars.copy_context().run, asyncio.run, coro).result()  # keeps the progress sink


def _assemble(run: RunDir, spec: ExtendSpec, chosen: list[CandidateRecord], clips: list[Path],
              config: ClientConfig, opts: ExtendOptions, budget: Budget) -> RunResult:
    """Join the opening clip and the chosen clips (``clips``) into ``extended.mp4`` with the seam report."""
    output = run.path / OUTPUT
    report_dir = run.path / REPORT
    picks = [c.candidate for c in chosen]
    previous = run.manifest.result
    if previous is not None and previous.picks == picks and output.exists() and (
            spec.combine == "remote" or previous.splice_settings == opts.splice_settings):
        return previous  # a resume with other splice settings splices again
    output.unlink(missing_ok=True)
    if len(clips) == 1:
        _copy(clips[0], output)
        return RunResult(output=output, picks=picks, verdict=chosen[0].verdict, report=None,
                         settings=opts.splice_settings)
    if spec.combine == "remote":
        from ltxkit.workflow.combine import combine_remote

        try:
            job, warnings = combine_remote(run.path, [c.url for c in chosen if c.url is not None], clips,
                                           spec.overlap, spec.sampled_fps, [s.frames for s in spec.segments],
                                           config, budget, opts.log)
        finally:
            _record_charges(run, budget)
        _copy(job.files[0], output)
        seams = [review_seam(a, b, overlap=spec.overlap, sampled_fps=spec.sampled_fps, scale=True)
                 for a, b in itertools.pairwise(clips)]
        verdict = max((s["verdict"] for s in seams), key=LEVELS.index)
        opts.log(f"combined on the server (job {job.job_id}): {output}")
        return RunResult(output=output, picks=picks, verdict=verdict, report=None, combine_job=job.job_id,
                         seams=[s["seam"] for s in seams], warnings=warnings or None)
    silent = [c.name for c in clips if not probe(c).audio]
    if silent:
        opts.log(f"warning: {', '.join(silent)} has no audio: the extended clip is written without sound")
    report = splice_with_report(clips, output, overlap=spec.overlap, sampled_fps=spec.sampled_fps,
                                scale=True, audio=not silent, report_dir=report_dir,
                                color_match=opts.color_match, color_ref=opts.color_ref, cut=opts.cut,
                                render=opts.render,
                                takes=report_takes([s.to_json() for s in run.manifest.segments], picks,
                                                   spec.clip is not None))
    opts.log(f"spliced {len(clips)} clips: {output} (seams: {report['verdict']})")
    return RunResult(output=output, picks=picks, verdict=report["verdict"], report=report["report"],
                     frames=report["splice"].get("frame_count"), render=report["splice"]["render"],
                     settings=opts.splice_settings)


def _copy(src: Path, dest: Path) -> None:
    with atomic_path(dest) as tmp:
        shutil.copyfile(src, tmp)
