"""Split a long track into consecutive LTX clips whose reference-audio windows cover it all.

Pure arithmetic over exact fractions (:func:`plan_segments`); :func:`plan_source` only adds the track's
exact length. The timeline is counted in frames at the sampled fps: clip 0 starts at frame 0, and each
later clip is conditioned on the previous clip's last ``overlap`` frames, so it starts ``overlap``
frames before the previous clip's end (its *cut*) and contributes ``frames - overlap`` new frames.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from ltxkit.errors import InputError
from ltxkit.timing import (
    AudioWindow,
    Number,
    format_fps,
    frames_to_seconds,
    ltx_frames_at_least,
    overlap_seconds,
    parse_fps,
    parse_seconds,
    reference_audio_window,
    require_ltx_frames,
)

DEFAULT_MAX_FRAMES = 257


@dataclass(frozen=True)
class PlannedSegment:
    """One clip of the plan, in timeline frames at ``sampled_fps`` (exact seconds as properties)."""

    index: int
    frames: int  # the clip's LTX frame count (8n+1)
    overlap_frames: int  # frames at sampled_fps shared with the previous clip (0 for the first)
    start_frame: int  # timeline frame of the clip's first frame (= cut_frame - overlap_frames)
    sampled_fps: Fraction
    total_seconds: Fraction  # length of the whole track, to report how far this clip runs past it

    @property
    def cut_frame(self) -> int:
        """Where the clip's new content begins: the end of the previous clip (0 for the first)."""
        return self.start_frame + self.overlap_frames

    @property
    def end_frame(self) -> int:
        return self.start_frame + self.frames

    @property
    def new_frames(self) -> int:
        return self.frames - self.overlap_frames

    @property
    def cut_seconds(self) -> Fraction:
        return frames_to_seconds(self.cut_frame, self.sampled_fps)

    @property
    def audio_start_seconds(self) -> Fraction:
        return frames_to_seconds(self.start_frame, self.sampled_fps)

    @property
    def audio_end_seconds(self) -> Fraction:
        return frames_to_seconds(self.end_frame, self.sampled_fps)

    @property
    def duration_seconds(self) -> Fraction:
        return frames_to_seconds(self.frames, self.sampled_fps)

    @property
    def past_end_seconds(self) -> Fraction:
        """How far the clip runs past the end of the track (silence the generator still needs)."""
        return max(Fraction(0), self.audio_end_seconds - self.total_seconds)

    def audio_window(self, sample_rate: int) -> AudioWindow:
        """The clip's reference-audio window in samples, by the same rule as ``ltxkit audio window``."""
        return reference_audio_window(self.cut_seconds, self.overlap_frames, self.sampled_fps,
                                      self.duration_seconds, sample_rate)

    def to_json(self, sample_rate: int | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "index": self.index,
            "frames": self.frames,
            "overlap_frames": self.overlap_frames,
            "new_frames": self.new_frames,
            "start_frame": self.start_frame,
            "cut_frame": self.cut_frame,
            "end_frame": self.end_frame,
            "cut_seconds": self.cut_seconds,
            "audio_start_seconds": self.audio_start_seconds,
            "audio_end_seconds": self.audio_end_seconds,
            "past_end_seconds": self.past_end_seconds,
        }
        if sample_rate is not None:
            window = self.audio_window(sample_rate)
            data.update(start_sample=window.start_sample, end_sample=window.end_sample,
                        num_samples=window.num_samples)
        return data


@dataclass(frozen=True)
class SegmentPlan:
    """The segments plus the totals a caller checks; iterate it like the list of segments."""

    segments: tuple[PlannedSegment, ...]
    total_seconds: Fraction
    sampled_fps: Fraction
    overlap_frames: int  # at sampled_fps
    max_frames: int
    opening_frames: int = 0  # frames of an existing opening clip the plan continues from

    def __iter__(self) -> Iterator[PlannedSegment]:
        return iter(self.segments)

    def __len__(self) -> int:
        return len(self.segments)

    def __getitem__(self, index: int) -> PlannedSegment:
        return self.segments[index]

    @property
    def needed_frames(self) -> int:
        """Timeline frames the track needs: ``ceil(total_seconds × sampled_fps)``."""
        return math.ceil(self.total_seconds * self.sampled_fps)

    @property
    def timeline_frames(self) -> int:
        """Frames of the finished timeline: the opening clip's plus every planned clip's new frames."""
        return self.opening_frames + sum(s.new_frames for s in self.segments)

    @property
    def overshoot_frames(self) -> int:
        return self.timeline_frames - self.needed_frames

    @property
    def overshoot_seconds(self) -> Fraction:
        """How far the last clip runs past the end of the track (< 8 frames, since counts step by 8)."""
        return frames_to_seconds(self.timeline_frames, self.sampled_fps) - self.total_seconds

    def to_json(self, sample_rate: int | None = None) -> dict[str, Any]:
        return {
            "total_seconds": self.total_seconds,
            "fps": format_fps(self.sampled_fps),
            "overlap_frames": self.overlap_frames,
            "max_frames": self.max_frames,
            "opening_frames": self.opening_frames,
            "needed_frames": self.needed_frames,
            "timeline_frames": self.timeline_frames,
            "overshoot_frames": self.overshoot_frames,
            "overshoot_seconds": self.overshoot_seconds,
            "sample_rate": sample_rate,
            "segments": [s.to_json(sample_rate) for s in self.segments],
        }


def _check_inputs(sampled_fps: Number, overlap: int, max_frames: int) -> Fraction:
    fps = parse_fps(sampled_fps, name="--fps")
    overlap_seconds(overlap, fps)  # rejects a negative overlap
    require_ltx_frames(max_frames, fps, name="--max-frames")
    if max_frames <= overlap:
        raise InputError(f"--max-frames {max_frames} must exceed --overlap {overlap}: "
                         "each clip must add at least one new frame")
    return fps


def plan_segments(total_seconds: Number, sampled_fps: Number, overlap: int,
                  max_frames: int = DEFAULT_MAX_FRAMES, *, opening_frames: int = 0) -> SegmentPlan:
    """Fewest LTX clips (each 8n+1 ≤ ``max_frames``) whose timeline covers ``total_seconds``.

    Every clip but the last takes ``max_frames``; the last takes the smallest valid count that still
    covers the rest of the track (so it overshoots by fewer than 8 frames, reported as
    :attr:`SegmentPlan.overshoot_seconds` and the last segment's ``past_end_seconds``). Consecutive clips
    share exactly ``overlap`` frames. Any plan with this many clips has the same overshoot modulo 8
    frames (every count is 1 mod 8), so shortening earlier clips could not remove it.
    """
    fps = _check_inputs(sampled_fps, overlap, max_frames)
    total = parse_seconds(total_seconds, name="total_seconds")
    if total <= 0:
        raise InputError("the track is empty: nothing to plan")
    needed = math.ceil(total * fps)
    if opening_frames and opening_frames < overlap:
        raise InputError(f"the opening clip has {opening_frames} frames at {format_fps(fps)} fps, "
                         f"fewer than the {overlap} overlap frames")
    segments: list[PlannedSegment] = []
    made = opening_frames  # timeline frames produced so far (the next clip's cut)
    while made < needed:
        shared = overlap if segments or opening_frames else 0
        frames = min(max_frames, ltx_frames_at_least(needed - made + shared))
        segments.append(PlannedSegment(index=len(segments), frames=frames, overlap_frames=shared,
                                start_frame=made - shared, sampled_fps=fps, total_seconds=total))
        made += frames - shared
    return SegmentPlan(segments=tuple(segments), total_seconds=total, sampled_fps=fps,
                       overlap_frames=overlap, max_frames=max_frames, opening_frames=opening_frames)


def plan_source(src: Path | str, sampled_fps: Number, overlap: int, max_frames: int = DEFAULT_MAX_FRAMES,
                *, stream: int | None = None) -> dict[str, Any]:
    """``ltxkit audio plan``: plan the whole audio track of ``src`` (its exact length), with samples."""
    from ltxkit.audio.source import source_duration

    _check_inputs(sampled_fps, overlap, max_frames)  # before the file is opened
    samples, rate = source_duration(Path(src), stream=stream)
    plan = plan_segments(Fraction(samples, rate), sampled_fps, overlap, max_frames)
    return {"source": str(src), "source_samples": samples, **plan.to_json(rate)}
