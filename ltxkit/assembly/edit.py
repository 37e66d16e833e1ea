"""The edit of a splice, as pure arithmetic over probed clips: where every frame and sample comes from.

Clip B was generated from A's last ``N`` frames at the sampled fps, so B's first ``N / sampledFps``
seconds show what A's last ``N / sampledFps`` seconds show. Placing B that much before A's end puts
every clip on one time line; the mode (:mod:`ltxkit.assembly.modes`) only chooses how the picture and
the sound hand over from A to B inside the overlap:

* ``trim-b`` (default): all of A, then B without its overlap (the cut is at A's end);
* ``trim-a``: A without its last overlap, then all of B (the cut is at B's start);
* ``crossfade``: a linear dissolve from A's tail into B's head over the overlap.

The result is ``ΣnI − (K−1)·overlap`` frames in every mode. Audio follows the same time line: with
``audio_from='b'`` each clip's audio takes over at the start of the overlap (B's soundtrack was made to
continue from the reference window), with ``'a'`` at its end; a crossfade also crossfades the audio.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from ltxkit.assembly.modes import AUDIO_FADES, AUDIO_FROM, SpliceMode, splice_mode
from ltxkit.errors import InputError
from ltxkit.frames.checks import audio_format_of
from ltxkit.frames.concat import snap_trim
from ltxkit.frames.probe import ProbeResult
from ltxkit.frames.timeline import Piece, Timeline
from ltxkit.timing import format_fps, frame_to_sample, overlap_seconds


@dataclass(frozen=True)
class Joint:
    """Where clip ``b`` meets clip ``a`` in the output (frame indices are exact)."""

    a: Path
    b: Path
    overlap_start: int  # output frame where B's frame 0 lands (the overlap starts here)
    cut_frame: int  # output frame of the first frame after the cut
    a_last_frame: int  # A's source frame shown just before the cut
    b_first_frame: int  # B's source frame shown first after the cut
    audio_switch_frame: int  # output frame where the audio becomes B's (start of the fade in crossfade)

    def to_json(self, fps: Fraction) -> dict[str, Any]:
        return {
            "a": str(self.a),
            "b": str(self.b),
            "overlap_start_frame": self.overlap_start,
            "cut_frame": self.cut_frame,
            "cut_seconds": float(Fraction(self.cut_frame) / fps),
            "a_last_frame": self.a_last_frame,
            "b_first_frame": self.b_first_frame,
            "audio_switch_frame": self.audio_switch_frame,
            "audio_switch_seconds": float(Fraction(self.audio_switch_frame) / fps),
        }


@dataclass(frozen=True)
class SplicePlan:
    timeline: Timeline
    infos: list[ProbeResult]
    mode: SpliceMode
    audio_from: str
    overlap: int  # sampled frames
    sampled_fps: Fraction
    overlap_frames: int  # the overlap at the clips' fps, rounded to a frame boundary
    placements: list[int]  # output frame of each clip's frame 0
    kept: list[tuple[int, int]]  # source frame range [start, stop) of each clip that is shown alone
    joints: list[Joint]
    warnings: list[str] = field(default_factory=list)

    @property
    def fps(self) -> Fraction:
        return self.timeline.fps

    @property
    def counts(self) -> list[int]:
        return [info.frame_count for info in self.infos]


def _check_lengths(infos: Sequence[ProbeResult], r: int, overlap: int, sampled_fps: Fraction) -> None:
    what = (f"the overlap ({overlap} frames at {format_fps(sampled_fps)} fps = {r} frames at "
            f"{format_fps(infos[0].fps)} fps)")
    for i, info in enumerate(infos):
        role = "A" if i == 0 else "B"
        need = r + 1 if i in (0, len(infos) - 1) else 2 * r + 1
        if info.frame_count < need:
            raise InputError(f"{what} is larger than clip {role} {info.path.name} "
                             f"({info.frame_count} frames; it needs at least {need})")


def plan_splice(infos: Sequence[ProbeResult], *, overlap: int, sampled_fps: Fraction,
                mode: str | SpliceMode = "trim-b", audio_from: str = "b", audio: bool = True,
                audio_fade: str = "linear") -> SplicePlan:
    """Pure arithmetic over probed clips: where every frame and sample of the splice comes from."""
    if len(infos) < 2:
        raise InputError("a splice needs at least two clips")
    how = splice_mode(mode)
    if audio_from not in AUDIO_FROM:
        raise InputError(f"audio_from must be 'a' or 'b', got {audio_from!r}")
    if audio_fade not in AUDIO_FADES:
        raise InputError(f"audio fade must be one of {', '.join(AUDIO_FADES)}, got {audio_fade!r}")
    warnings: list[str] = []
    r = snap_trim(overlap_seconds(overlap, sampled_fps), infos[1], "overlap", warnings)
    _check_lengths(infos, r, overlap, sampled_fps)
    counts = [info.frame_count for info in infos]
    placements = [0]
    for n in counts[:-1]:
        placements.append(placements[-1] + n - r)
    kept = how.kept(counts, r)
    picture, sound = how.picture(r), how.sound(r, audio_from)
    joints = [Joint(a=infos[i - 1].path, b=infos[i].path, overlap_start=p, cut_frame=p + picture.stop,
                    a_last_frame=counts[i - 1] - r + picture.stop - 1, b_first_frame=kept[i][0],
                    audio_switch_frame=p + sound.start)
              for i, p in enumerate(placements) if i > 0]
    timeline = _timeline(infos, placements, kept, r, how, audio_from, audio, audio_fade, warnings)
    assert timeline.frame_count == placements[-1] + counts[-1], (timeline.frame_count, placements, counts)
    return SplicePlan(timeline=timeline, infos=list(infos), mode=how, audio_from=audio_from, overlap=overlap,
                      sampled_fps=sampled_fps, overlap_frames=r, placements=placements, kept=kept,
                      joints=joints, warnings=warnings)


def _timeline(infos: Sequence[ProbeResult], placements: list[int], kept: list[tuple[int, int]], r: int,
              mode: SpliceMode, audio_from: str, audio: bool, audio_fade: str, warnings: list[str]) -> Timeline:
    fps = infos[0].fps
    picture = mode.picture(r)
    video: list[Piece] = []
    for i, info in enumerate(infos):
        start, stop = kept[i]
        video.append(Piece(info.path, start, stop - start))
        if picture.fade > 0 and i + 1 < len(infos):
            video.append(Piece(info.path, info.frame_count - r + picture.start, picture.fade,
                               blend=infos[i + 1].path, blend_start=picture.start, fade_length=picture.fade))
    video = [p for p in video if p.count > 0]
    width, height = infos[0].width, infos[0].height
    if not audio:
        return Timeline(fps, width, height, tuple(video))
    rate, layout, audio_warnings = audio_format_of(infos)
    warnings += audio_warnings
    sound = mode.sound(r, audio_from)
    total = placements[-1] + infos[-1].frame_count

    def sample(frame: int) -> int:
        return frame_to_sample(frame, fps, rate)

    origin = [sample(p) for p in placements]
    # audio of clip i alone covers output frames [own_from[i], own_to[i]); the sound's fades fill the rest
    own_from = [0] + [p + sound.stop for p in placements[1:]]
    own_to = [p + sound.start for p in placements[1:]] + [total]
    pieces: list[Piece] = []
    for i, info in enumerate(infos):
        s0, s1 = sample(own_from[i]), sample(own_to[i])
        pieces.append(Piece(info.path, s0 - origin[i], s1 - s0))
        if sound.fade > 0 and i + 1 < len(infos):
            f0, f1 = sample(placements[i + 1] + sound.start), sample(placements[i + 1] + sound.stop)
            pieces.append(Piece(info.path, f0 - origin[i], f1 - f0, blend=infos[i + 1].path,
                                blend_start=f0 - origin[i + 1], fade_length=f1 - f0))
    pieces = [p for p in pieces if p.count > 0]
    return Timeline(fps, width, height, tuple(video), tuple(pieces), rate, layout, audio_fade)
