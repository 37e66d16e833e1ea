"""``extend --combine remote``: the chosen clips joined by ``video.combine``, its answer checked.

The API document does not say what ``video.combine``'s ``overlapFrames`` and ``frameRate`` count in. Its
example sends ``frameRate`` 60 (the rate its ``video.generate`` example interpolates to) with
``overlapFrames`` 3. ltxkit's reading: ``frameRate`` is the rate of the clips being joined, as delivered
(the interpolated rate when interpolation is on, else the sampled rate), and ``overlapFrames`` counts
frames at that rate. So an overlap of N sampled frames goes out as the frames of each later clip that
repeat the one before, laid out from the clips' sample grids as the local splice lays them out (N at one
rate; 2N-1 at 30 → 60 fps under RIFE's 2F-1), and an overlap that is not a whole number of frames at
that rate is warned about before anything is paid (the cut can be off by a fraction of a frame).

The other plausible reading, ``overlapFrames`` in sampled frames, is handled where the answer comes back:
the combined clip's frame count says how much the server trimmed. When it is not what was asked, the
combine is sent once more in the other reading's terms (``overlapFrames`` N); a length that neither
reading explains is a warning.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from ltxkit.errors import PaymentRequiredError
from ltxkit.frames.probe import probe
from ltxkit.jobs import Client, ClientConfig, JobRequest, Journal, VideoCombine
from ltxkit.jobs.journal import JournalEntry
from ltxkit.jobs.pricebook import PriceEstimate, PriceKey, server_of
from ltxkit.timing import format_fps, sample_grid, splice_layout
from ltxkit.workflow.budget import Budget, NotSubmitted


def overlap_warning(overlap: int, sampled_fps: Fraction, frame_rate: Fraction) -> str | None:
    """Why ``overlap`` sampled frames cannot be said exactly as frames at ``frame_rate``, or None."""
    exact = overlap * frame_rate / sampled_fps
    if exact.denominator == 1:
        return None
    return (f"video.combine: the overlap of {overlap} frames at {format_fps(sampled_fps)} fps "
            f"({float(overlap / sampled_fps):.3f} s) is {float(exact):.2f} frames at the {format_fps(frame_rate)} "
            "fps sent as frameRate, not a whole number: the server's cut can be off by a fraction of a frame "
            f"(a sampled rate that divides {format_fps(frame_rate)} fps, or --combine local, joins exactly)")


@dataclass(frozen=True)
class CombineLayout:
    """What the combine request says and what its answer must be: ``overlap_at_clip_fps`` at ``frame_rate``
    (the most common of the per-seam counts ``seams``), the frame count of the combined clip under
    ltxkit's reading (``expected``) and under the sampled-frames one (``expected_sampled``)."""

    frame_rate: Fraction
    overlap_at_clip_fps: int
    seams: tuple[int, ...]
    total: int
    expected_sampled: int

    @property
    def expected(self) -> int:
        return self.total - len(self.seams) * self.overlap_at_clip_fps


def combine_layout(clips: Sequence[Path], overlap: int, sampled_fps: Fraction,
                   samples: Sequence[int | None]) -> CombineLayout:
    """The clips' layout as the local splice makes it (:func:`~ltxkit.timing.splice_layout`); a later
    clip's count is its repeated frames plus the frames the one before shows after its last sample (a
    head-only trim must drop those instead)."""
    infos = [probe(c) for c in clips]
    grids = [sample_grid(i.frame_count, i.fps, sampled_fps, n) for i, n in zip(infos, samples, strict=True)]
    layout = splice_layout(grids, overlap, [c.name for c in clips])
    seams = tuple(o + (a.frame_count - shown)
                  for o, a, shown in zip(layout.overlaps, infos, layout.shown_counts, strict=False))
    total = sum(i.frame_count for i in infos)
    return CombineLayout(infos[0].fps, Counter(seams).most_common(1)[0][0], seams, total, total - sum(seams))


def paid_combine(client: Client, request: JobRequest, journal: Journal, download_dir: Path,
                 budget: Budget) -> JournalEntry:
    """One ``video.combine``, agreed to and guarded like a candidate (a job the journal has is only waited
    for): a paid job ($0.005 a clip) the user must have agreed to, inside ``--max-usd``."""
    from ltxkit.jobs import submit_and_collect

    provider = client.provider
    each = PriceEstimate(provider.documented_price(request), f"{provider.name}'s documented price", fixed=True)
    entry = journal.find(key=request.key, provider=client.context.scope)
    if (entry is None or entry.job_id is None) and each.price is not None:
        clips = len(request.input["videoUrls"])
        budget.agree(f"the combine of {clips} clips on the server at {each.price} ({each.basis})", each.price)
    key = PriceKey(request.task, None, None, False, False, provider.name, server_of(client.config.base_url))
    try:
        return submit_and_collect(client, request, journal=journal, download_dir=download_dir,
                                  guard=budget.guard("the combine", key, each))
    except NotSubmitted as exc:
        raise budget.stopped(str(exc)) from None
    except PaymentRequiredError as exc:
        raise budget.stopped(f"the server refused the combine for payment ({exc}); top up") from None


def combine_remote(run_path: Path, urls: Sequence[str], clips: Sequence[Path], overlap: int, sampled_fps: Fraction,
                   samples: Sequence[int | None], config: ClientConfig, budget: Budget,
                   log: Callable[[str], None]) -> tuple[JournalEntry, list[str]]:
    """``video.combine`` of ``urls`` (whose local copies are ``clips``) into ``run_path/combined``, checked
    against the clips' layout; returns the job kept and the warnings (also logged)."""
    layout = combine_layout(clips, overlap, sampled_fps, samples)
    seams = len(layout.seams)
    warnings: list[str] = []
    if len(set(layout.seams)) > 1:
        warnings.append(f"video.combine takes one overlapFrames for every seam; these need "
                        f"{', '.join(map(str, layout.seams))} frames at {format_fps(layout.frame_rate)} fps: "
                        f"sent {layout.overlap_at_clip_fps}")
    # (overlapFrames, the frame count that answer must have, how near): ltxkit's reading exactly, then the
    # sampled-frames one, whose server lays out the interpolated frames its own way (a frame a seam)
    readings = [(layout.overlap_at_clip_fps, layout.expected, 0)]
    if overlap != layout.overlap_at_clip_fps:
        readings.append((overlap, layout.expected_sampled, seams))
    answers: list[tuple[JournalEntry, int]] = []
    with Journal.in_dir(run_path) as journal, Client(config) as client:
        for count, expected, slack in readings:
            request = JobRequest.build(VideoCombine(video_urls=list(urls), overlap_at_clip_fps=count,
                                                    frame_rate=layout.frame_rate))
            job = paid_combine(client, request, journal, run_path / "combined", budget)
            got = probe(job.files[0]).frame_count
            answers.append((job, got))
            if abs(got - expected) <= slack:
                kept = job
                if count != layout.overlap_at_clip_fps:
                    warnings.append(f"video.combine counted overlapFrames in sampled frames: sent again with "
                                    f"overlapFrames {count}, which it trimmed as meant")
                break
            warnings.append(f"video.combine (job {job.job_id}) trimmed {float(Fraction(layout.total - got, seams)):g} "
                            f"frames a seam for overlapFrames {count} at frameRate {format_fps(layout.frame_rate)}: "
                            f"{got} frames where {expected} were meant")
        else:  # neither reading explains the answer: keep the one nearest the layout
            kept = min(answers, key=lambda a: abs(a[1] - layout.expected_sampled))[0]
            warnings.append("the combined clip may repeat or skip frames at its seams; --combine local joins exactly")
    for warning in warnings:
        log(f"warning: {warning}")
    return kept, warnings
