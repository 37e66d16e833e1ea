"""Join generated clips A, B, C… where each clip's first N sampled frames repeat the previous clip's tail.

Clip B was generated from A's last ``N`` frames at the sampled fps, so B's first ``N / sampledFps``
seconds show what A's last ``N / sampledFps`` seconds show. Placing B that much before A's end puts
every clip on one time line; the modes only choose which picture fills the overlap:

* ``trim-b`` (default): all of A, then B without its overlap (the cut is at A's end);
* ``trim-a``: A without its last overlap, then all of B (the cut is at B's start);
* ``crossfade``: a linear dissolve from A's tail into B's head over the overlap.

The result is ``ΣnI − (K−1)·overlap`` frames in every mode. Audio follows the same time line: with
``audio_from='b'`` each clip's audio takes over at the start of the overlap (B's soundtrack was made to
continue from the reference window), with ``'a'`` at its end; a crossfade also crossfades the audio.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from ltxkit.assembly.modes import AUDIO_FADES, AUDIO_FROM, MODES
from ltxkit.errors import InputError
from ltxkit.frames.checks import audio_format_of, check_inputs, check_output
from ltxkit.frames.codecs import codec_profile
from ltxkit.frames.concat import plan_concat, snap_trim
from ltxkit.frames.probe import ProbeResult
from ltxkit.frames.render import output_json, render
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
    mode: str
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


def _check_lengths(infos: Sequence[ProbeResult], r: int, overlap: int, sampled_fps: Fraction) -> None:
    what = (f"the overlap ({overlap} frames at {format_fps(sampled_fps)} fps = {r} frames at "
            f"{format_fps(infos[0].fps)} fps)")
    for i, info in enumerate(infos):
        role = "A" if i == 0 else "B"
        need = r + 1 if i in (0, len(infos) - 1) else 2 * r + 1
        if info.frame_count < need:
            raise InputError(f"{what} is larger than clip {role} {info.path.name} "
                             f"({info.frame_count} frames; it needs at least {need})")


def plan_splice(infos: Sequence[ProbeResult], *, overlap: int, sampled_fps: Fraction, mode: str = "trim-b",
                audio_from: str = "b", audio: bool = True, audio_fade: str = "linear") -> SplicePlan:
    """Pure arithmetic over probed clips: where every frame and sample of the splice comes from."""
    if len(infos) < 2:
        raise InputError("a splice needs at least two clips")
    if mode not in MODES:
        raise InputError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
    if audio_from not in AUDIO_FROM:
        raise InputError(f"audio_from must be 'a' or 'b', got {audio_from!r}")
    if audio_fade not in AUDIO_FADES:
        raise InputError(f"audio fade must be one of {', '.join(AUDIO_FADES)}, got {audio_fade!r}")
    seconds = overlap_seconds(overlap, sampled_fps)
    warnings: list[str] = []
    r = snap_trim(seconds, infos[1], "overlap", warnings)
    _check_lengths(infos, r, overlap, sampled_fps)
    placements = [0]
    for info in infos[:-1]:
        placements.append(placements[-1] + info.frame_count - r)
    total = placements[-1] + infos[-1].frame_count
    last = len(infos) - 1
    # kept[i]: the frames of clip i shown without a blend
    if mode == "trim-b":
        kept = [(0 if i == 0 else r, info.frame_count) for i, info in enumerate(infos)]
    elif mode == "trim-a":
        kept = [(0, info.frame_count - (r if i < last else 0)) for i, info in enumerate(infos)]
    else:
        kept = [(0 if i == 0 else r, info.frame_count - (r if i < last else 0)) for i, info in enumerate(infos)]
    joints = []
    for i in range(1, len(infos)):
        a, b, p = infos[i - 1], infos[i], placements[i]
        cut = p if mode == "trim-a" else p + r
        joints.append(Joint(
            a=a.path, b=b.path, overlap_start=p, cut_frame=cut,
            a_last_frame=kept[i - 1][1] - 1 if mode != "crossfade" else a.frame_count - 1,
            b_first_frame=kept[i][0],
            audio_switch_frame=p if (audio_from == "b" or mode == "crossfade") else p + r,
        ))
    if mode == "trim-b":
        # exactly a concat of the clips with B's overlap trimmed from its head (the shared primitive)
        trims = [Fraction(0)] + [seconds] * last
        audio_trims = [Fraction(0)] * len(infos) if audio_from == "b" else None
        concat = plan_concat(infos, trims, audio=audio, audio_trim_head_seconds=audio_trims)
        timeline = concat.timeline
        warnings += [w for w in concat.warnings if w not in warnings and "head trim" not in w]
    else:
        timeline = _timeline(infos, placements, kept, r, mode, audio_from, audio, audio_fade, warnings)
    assert timeline.frame_count == total, (timeline.frame_count, total)
    return SplicePlan(timeline=timeline, infos=list(infos), mode=mode, audio_from=audio_from, overlap=overlap,
                      sampled_fps=sampled_fps, overlap_frames=r, placements=placements, kept=kept,
                      joints=joints, warnings=warnings)


def _timeline(infos: Sequence[ProbeResult], placements: list[int], kept: list[tuple[int, int]], r: int,
              mode: str, audio_from: str, audio: bool, audio_fade: str, warnings: list[str]) -> Timeline:
    fps = infos[0].fps
    video: list[Piece] = []
    for i, info in enumerate(infos):
        start, stop = kept[i]
        video.append(Piece(info.path, start, stop - start))
        if mode == "crossfade" and i + 1 < len(infos) and r > 0:
            video.append(Piece(info.path, info.frame_count - r, r, blend=infos[i + 1].path, blend_start=0,
                               fade_length=r))
    video = [p for p in video if p.count > 0]
    width, height = infos[0].width, infos[0].height
    if not audio:
        return Timeline(fps, width, height, tuple(video))
    rate, layout, audio_warnings = audio_format_of(infos)
    warnings += audio_warnings
    origin = [frame_to_sample(p, fps, rate) for p in placements]
    # audio of clip i alone covers output frames [own_from[i], own_to[i]); crossfades fill the rest
    own_from = [0] + [p + (r if (audio_from == "a" or mode == "crossfade") else 0) for p in placements[1:]]
    if mode == "crossfade":
        own_to = [*placements[1:], placements[-1] + infos[-1].frame_count]
    else:
        own_to = [*own_from[1:], placements[-1] + infos[-1].frame_count]

    def sample(frame: int) -> int:
        return frame_to_sample(frame, fps, rate)

    pieces: list[Piece] = []
    for i, info in enumerate(infos):
        s0, s1 = sample(own_from[i]), sample(own_to[i])
        pieces.append(Piece(info.path, s0 - origin[i], s1 - s0))
        if mode == "crossfade" and i + 1 < len(infos) and r > 0:
            f0, f1 = sample(placements[i + 1]), sample(placements[i + 1] + r)
            pieces.append(Piece(info.path, f0 - origin[i], f1 - f0, blend=infos[i + 1].path,
                                blend_start=f0 - origin[i + 1], fade_length=f1 - f0))
    pieces = [p for p in pieces if p.count > 0]
    return Timeline(fps, width, height, tuple(video), tuple(pieces), rate, layout, audio_fade)


@dataclass(frozen=True)
class SpliceResult:
    output: Path
    frame_count: int
    fps: Fraction
    duration_seconds: Fraction
    mode: str
    audio_from: str
    overlap: int
    sampled_fps: Fraction
    overlap_frames: int
    clips: list[dict[str, Any]]
    joints: list[Joint]
    audio_samples: int | None
    sample_rate: int | None
    warnings: list[str]
    notes: list[str]
    otio: Path | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            **output_json(self.output, self.frame_count, self.fps, self.duration_seconds),
            "mode": self.mode,
            "audio_from": self.audio_from,
            "overlap": {"frames": self.overlap, "sampled_fps": format_fps(self.sampled_fps),
                        "seconds": float(overlap_seconds(self.overlap, self.sampled_fps)),
                        "frames_at_clip_fps": self.overlap_frames},
            "clips": self.clips,
            "joints": [j.to_json(self.fps) for j in self.joints],
            "audio_samples": self.audio_samples,
            "sample_rate": self.sample_rate,
            "warnings": list(self.warnings),
            "notes": list(self.notes),
            "otio": None if self.otio is None else str(self.otio),
        }


def prepare_splice(clips: Sequence[Path], *, overlap: int, sampled_fps: Fraction, mode: str = "trim-b",
                   audio_from: str = "b", scale: bool = False, audio: bool = True,
                   audio_fade: str = "linear") -> SplicePlan:
    """Probe and validate the clips and plan the splice; nothing is written."""
    infos = check_inputs([Path(c) for c in clips], audio=audio, scale=scale)
    plan = plan_splice(infos, overlap=overlap, sampled_fps=sampled_fps, mode=mode, audio_from=audio_from,
                       audio=audio, audio_fade=audio_fade)
    first = infos[0]
    for info in infos[1:]:
        if (info.width, info.height) != (first.width, first.height):
            plan.warnings.append(f"{info.path.name}: scaled from {info.width}x{info.height} to "
                                 f"{first.width}x{first.height}")
    return plan


def fit_codec(plan: SplicePlan, codec: str, *, scale: bool = False) -> SplicePlan:
    """``plan`` at a size ``codec`` can encode: h264 needs an even width and height.

    With ``scale`` an odd size is rounded down to even (every clip is scaled to it, with a warning);
    without, the splice is refused before anything is written.
    """
    profile = codec_profile(codec)
    tl = plan.timeline
    if not profile.even_size or (tl.width % 2 == 0 and tl.height % 2 == 0):
        return plan
    if not scale:
        profile.check_size(tl.width, tl.height)
    width, height = max(2, tl.width - tl.width % 2), max(2, tl.height - tl.height % 2)
    warning = f"scaled from {tl.width}x{tl.height} to {width}x{height}: {codec} needs an even size"
    return replace(plan, timeline=replace(tl, width=width, height=height), warnings=[*plan.warnings, warning])


def splice(clips: Sequence[Path], output: Path, *, overlap: int, sampled_fps: Fraction, mode: str = "trim-b",
           audio_from: str = "b", codec: str = "h264", scale: bool = False, audio: bool = True,
           audio_fade: str = "linear", otio: bool = True) -> SpliceResult:
    """Write the splice of ``clips`` to ``output`` and describe it (frame count verified after writing).

    Everything is validated before anything is written: one frame rate, one size unless ``scale``
    (then every clip is scaled to the first one's size), an overlap shorter than every clip, and an
    audio stream in every clip when ``audio``.
    """
    plan = prepare_splice(clips, overlap=overlap, sampled_fps=sampled_fps, mode=mode, audio_from=audio_from,
                          scale=scale, audio=audio, audio_fade=audio_fade)
    check_output(output, [info.path for info in plan.infos], codec)
    plan = fit_codec(plan, codec, scale=scale)
    return render_splice(plan, output, codec=codec, otio=otio)


def write_splice_otio(plan: SplicePlan, output: Path) -> tuple[Path | None, list[str]]:
    """``<output>.otio`` describing the edit, or a note when ``opentimelineio`` is not installed."""
    from ltxkit.assembly.otio_export import write_otio

    otio_path, note = write_otio(plan, output)
    return otio_path, [note] if note else []


def render_splice(plan: SplicePlan, output: Path, *, codec: str = "h264", otio: bool = True) -> SpliceResult:
    """Encode a prepared plan. With ``otio`` an OpenTimelineIO file ``<output>.otio`` describes the same
    edit when the optional ``opentimelineio`` package is installed; without it a note says so."""
    rendered = render(plan.timeline, output, codec=codec)
    notes: list[str] = []
    otio_path = None
    if otio:
        otio_path, notes = write_splice_otio(plan, output)
    clips_json = [{"path": str(info.path), "frames": info.frame_count, "placed_at_frame": plan.placements[i],
                   "kept": list(plan.kept[i])} for i, info in enumerate(plan.infos)]
    return SpliceResult(output=output, frame_count=rendered.frame_count, fps=rendered.fps,
                        duration_seconds=rendered.duration_seconds, mode=plan.mode, audio_from=plan.audio_from,
                        overlap=plan.overlap, sampled_fps=plan.sampled_fps, overlap_frames=plan.overlap_frames,
                        clips=clips_json, joints=plan.joints, audio_samples=rendered.audio_samples,
                        sample_rate=rendered.sample_rate, warnings=plan.warnings + rendered.warnings,
                        notes=notes, otio=otio_path)
