"""The edit of a splice, as pure arithmetic over probed clips: where every frame and sample comes from.

Clip B was generated from A's last ``N`` samples at the sampled fps, so B's frame 0 is A's sample
``F_A - N``: it sits ``(F_A - N) / sampledFps`` after A's frame 0, whatever interpolation made the clips
(:func:`ltxkit.timing.splice_layout`, anchored at frame 0). Placing B there puts every clip on one time
line; the overlap is the output frames from B's frame 0 to A's last sample, and the mode
(:mod:`ltxkit.assembly.modes`) only chooses how the picture and the sound hand over from A to B in it:

* ``trim-b`` (default): A up to its last sample, then B from the frame after (the cut is at A's end);
* ``trim-a``: A up to B's frame 0, then all of B (the cut is at B's start);
* ``crossfade``: a linear dissolve from A's tail into B's head over the overlap.

Nothing repeats or skips: two 2F-1 clips sampled at 30 and delivered at 60 give ``2(F_A + F_B - N) - 1``
frames, one continuous take. Audio follows the same time line, each clip's track placed at its exact
origin (to the sample, even when 25 → 60 rounds B's picture to a frame): with ``audio_from='b'`` each
clip's audio takes over at its frame 0 (B's soundtrack was made to continue from the reference window),
with ``'a'`` at the cut; a crossfade also crossfades the audio.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ltxkit.assembly.colour import CrossfadeCurve
from ltxkit.assembly.modes import AUDIO_FADES, AUDIO_FROM, CURVES, Span, SpliceMode, splice_mode
from ltxkit.errors import InputError
from ltxkit.frames.checks import audio_format_of
from ltxkit.frames.probe import ProbeResult
from ltxkit.frames.timeline import Grade, Piece, Timeline
from ltxkit.timing import (
    SampleGrid,
    SpliceLayout,
    format_fps,
    frame_to_sample,
    overlap_seconds,
    sample_grid,
    seconds_to_sample,
    splice_layout,
)


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
    audio_switch_seconds: Fraction  # the exact instant (B's origin when it switches at B's frame 0)
    mode_cut_frame: int | None = None  # with ``--cut best``: where the mode alone would have cut

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
            "audio_switch_seconds": float(self.audio_switch_seconds),
            **({} if self.mode_cut_frame is None else {"mode_cut_frame": self.mode_cut_frame}),
        }


@dataclass(frozen=True)
class SplicePlan:
    timeline: Timeline
    infos: list[ProbeResult]
    mode: SpliceMode
    audio_from: str
    overlap: int  # sampled frames
    sampled_fps: Fraction
    layout: SpliceLayout  # the time line: origins, placements, frames each clip shows, overlaps
    kept: list[tuple[int, int]]  # source frame range [start, stop) of each clip that is shown alone
    joints: list[Joint]
    grids: list[SampleGrid]  # each clip's samples and interpolation convention
    warnings: list[str] = field(default_factory=list)
    pictures: tuple[Span, ...] = ()  # each joint's picture handover (the mode's, or a chosen cut)
    cuts: tuple[int | None, ...] = ()  # per joint: the chosen cut's offset into the overlap, None: the mode's
    grades: tuple[Grade | None, ...] = ()  # per clip: its colour correction (--color-match), None: as it came
    grade_from: tuple[int, ...] = ()  # per clip: its first frame that its grade corrects (see grade_at)
    curve: str = "linear"  # the dissolves' curve (--curve)

    @property
    def fps(self) -> Fraction:
        return self.timeline.fps

    @property
    def placements(self) -> list[int]:
        return list(self.layout.placements)

    @property
    def overlaps(self) -> list[int]:
        return list(self.layout.overlaps)

    @property
    def overlap_at_clip_fps(self) -> int:
        """The first joint's overlap at the clips' fps (every joint's with integer ratios)."""
        return self.layout.overlaps[0]

    @property
    def counts(self) -> list[int]:
        """Frames each clip can show: up to its last sample when another clip follows."""
        return list(self.layout.shown_counts)

    @property
    def sounds(self) -> list[Span]:
        """Each joint's sound handover (the mode's: a chosen cut never moves the audio)."""
        return [self.mode.sound(r, self.audio_from) for r in self.layout.overlaps]

    def grade_of(self, clip: int) -> Grade | None:
        return self.grades[clip] if self.grades else None

    def grade_at(self, clip: int, frame: int) -> Grade | None:
        """The correction frame ``frame`` of ``clip`` is shown through: the clip's own from its
        ``grade_from`` on; before it, the clip's copies of the previous clip's frames (a shift that starts
        with its first new frame) look as that clip is delivered, so they take its correction."""
        if clip > 0 and self.grade_from and frame < self.grade_from[clip]:
            return self.grade_of(clip - 1)
        return self.grade_of(clip)

    def delivered(self, clip: int, start: int, frames: Iterable[np.ndarray]) -> list[np.ndarray]:
        """``frames`` (RGB, frame ``start`` of ``clip`` on) as the splice shows them: each through its grade."""
        return [f if (g := self.grade_at(clip, start + k)) is None else g(f) for k, f in enumerate(frames)]


def plan_splice(infos: Sequence[ProbeResult], *, overlap: int, sampled_fps: Fraction,
                mode: str | SpliceMode = "trim-b", audio_from: str = "b", audio: bool = True,
                audio_fade: str = "linear", samples: Sequence[int | None] | None = None,
                cuts: Sequence[int | None] | None = None, grades: Sequence[Grade | None] | None = None,
                grade_from: Sequence[int] | None = None, curve: str = "linear") -> SplicePlan:
    """Pure arithmetic over probed clips: where every frame and sample of the splice comes from.

    ``samples`` are the clips' sample counts where the run knows them (the request's durationFrames);
    the others are inferred from each clip's frame count (:func:`ltxkit.timing.sample_grid`).
    ``cuts`` move a hard cut within each joint's overlap (offsets ``0..r``, None: the mode's own;
    :mod:`ltxkit.assembly.cut`): only the picture's switch moves, the frame count and the sound stay.
    ``grades`` colour-correct each clip's frames from its ``grade_from`` frame on (0 when not given;
    :meth:`SplicePlan.grade_at`, :mod:`ltxkit.assembly.grade`); ``curve`` shapes the dissolves, picture
    and sound (:data:`ltxkit.assembly.modes.CURVES`).
    """
    if len(infos) < 2:
        raise InputError("a splice needs at least two clips")
    how = splice_mode(mode)
    if audio_from not in AUDIO_FROM:
        raise InputError(f"audio_from must be 'a' or 'b', got {audio_from!r}")
    if audio_fade not in AUDIO_FADES:
        raise InputError(f"audio fade must be one of {', '.join(AUDIO_FADES)}, got {audio_fade!r}")
    if curve not in CURVES:
        raise InputError(f"--curve must be one of {', '.join(CURVES)}, got {curve!r}")
    overlap_seconds(overlap, sampled_fps)  # a negative overlap is an InputError
    known = list(samples) if samples is not None else [None] * len(infos)
    grids = [sample_grid(info.frame_count, info.fps, sampled_fps, n) for info, n in zip(infos, known, strict=True)]
    names = [f"clip {'A' if i == 0 else 'B'} {info.path.name}" for i, info in enumerate(infos)]
    layout = splice_layout(grids, overlap, names)
    chosen = _check_cuts(how, layout.overlaps, cuts)
    if grades is not None and len(grades) != len(infos):
        raise ValueError(f"{len(grades)} grades for {len(infos)} clips")
    if grade_from is not None and len(grade_from) != len(infos):
        raise ValueError(f"{len(grade_from)} grade starts for {len(infos)} clips")
    own = [how.picture(r) for r in layout.overlaps]
    pictures = tuple(o if c is None else Span(c, c) for o, c in zip(own, chosen, strict=True))
    if curve != "linear" and not any(s.fade for s in (*pictures, *(how.sound(r, audio_from) for r in layout.overlaps))):
        raise InputError(f"--curve {curve} shapes a dissolve: use it with --mode crossfade (and an overlap)")
    warnings = [f"{info.path.name}: its frame 0 falls at frame {float(t * info.fps):.2f} of the splice at "
                f"{format_fps(info.fps)} fps; the picture is placed at frame {p} "
                f"({float((p - t * info.fps) / info.fps) * 1000:+.2f} ms), its audio at the exact instant"
                for info, t, p in zip(infos, layout.origins, layout.placements, strict=True)
                if (t * info.fps).denominator != 1]
    kept = how.kept(layout.shown_counts, layout.overlaps, pictures)
    placements = layout.placements
    joints = []
    for i in range(1, len(infos)):
        r, p = layout.overlaps[i - 1], placements[i]
        picture, sound = pictures[i - 1], how.sound(r, audio_from)
        switch = layout.origins[i] if sound.start == 0 else Fraction(p + sound.start) / layout.fps
        joints.append(Joint(a=infos[i - 1].path, b=infos[i].path, overlap_start=p, cut_frame=p + picture.stop,
                            a_last_frame=p - placements[i - 1] + picture.stop - 1, b_first_frame=kept[i][0],
                            audio_switch_frame=p + sound.start, audio_switch_seconds=switch,
                            mode_cut_frame=None if chosen[i - 1] is None else p + own[i - 1].stop))
    plan = SplicePlan(timeline=Timeline(layout.fps, *infos[0].display_size, ()), infos=list(infos), mode=how,
                      audio_from=audio_from, overlap=overlap, sampled_fps=sampled_fps, layout=layout, kept=kept,
                      joints=joints, grids=grids, warnings=warnings, pictures=pictures, cuts=tuple(chosen),
                      grades=tuple(grades) if grades is not None else (),
                      grade_from=tuple(grade_from) if grade_from is not None else (), curve=curve)
    timeline = _timeline(plan, audio, audio_fade)
    assert timeline.frame_count == layout.frame_count, (timeline.frame_count, layout)
    return replace(plan, timeline=timeline)


def replan(plan: SplicePlan, *, cuts: Sequence[int | None] | None = None,
           grades: Sequence[Grade | None] | None = None, grade_from: Sequence[int] | None = None) -> SplicePlan:
    """``plan`` planned again with other ``cuts`` or ``grades`` (the others kept), at its output size
    (:func:`ltxkit.assembly.splice.fit_codec`) and with its warnings."""
    tl = plan.timeline
    new = plan_splice(plan.infos, overlap=plan.overlap, sampled_fps=plan.sampled_fps, mode=plan.mode,
                      audio_from=plan.audio_from, audio=tl.audio is not None, audio_fade=tl.audio_fade,
                      samples=[g.samples for g in plan.grids], cuts=plan.cuts if cuts is None else cuts,
                      grades=(plan.grades or None) if grades is None else grades,
                      grade_from=(plan.grade_from or None) if grades is None else grade_from, curve=plan.curve)
    return replace(new, timeline=replace(new.timeline, width=tl.width, height=tl.height), warnings=plan.warnings)


def pair_plan(plan: SplicePlan, i: int) -> SplicePlan:
    """The two-clip plan of joint ``i`` (clips i and i+1), with their cut and grades: what a seam review
    of that joint looks at."""
    tl = plan.timeline
    return plan_splice(plan.infos[i:i + 2], overlap=plan.overlap, sampled_fps=plan.sampled_fps, mode=plan.mode,
                       audio_from=plan.audio_from, audio=tl.audio is not None, audio_fade=tl.audio_fade,
                       samples=[g.samples for g in plan.grids[i:i + 2]], cuts=plan.cuts[i:i + 1] or None,
                       grades=plan.grades[i:i + 2] or None,
                       grade_from=(0, plan.grade_from[i + 1]) if plan.grade_from else None, curve=plan.curve)


def _check_cuts(mode: SpliceMode, overlaps: Sequence[int], cuts: Sequence[int | None] | None) -> list[int | None]:
    if cuts is None:
        return [None] * len(overlaps)
    if len(cuts) != len(overlaps):
        raise ValueError(f"{len(cuts)} cuts for {len(overlaps)} joints")
    for r, c in zip(overlaps, cuts, strict=True):
        if c is None:
            continue
        if mode.picture(r).fade:
            raise InputError(f"--cut best places a hard cut; --mode {mode.name} dissolves over the overlap")
        if not 0 <= c <= r:
            raise InputError(f"a cut {c} frames into an overlap of {r} frames is outside it")
    return list(cuts)


def _timeline(plan: SplicePlan, audio: bool, audio_fade: str) -> Timeline:
    infos, layout, kept = plan.infos, plan.layout, plan.kept
    fps = layout.fps
    curve = None if plan.curve == "linear" else CrossfadeCurve(plan.curve)
    video: list[Piece] = []
    for i, info in enumerate(infos):
        start, stop = kept[i]
        split = min(max(start, plan.grade_from[i] if plan.grade_from else 0), stop)  # where its own grade starts
        video += [Piece(info.path, start, split - start, grade=plan.grade_at(i, start)),
                  Piece(info.path, split, stop - split, grade=plan.grade_at(i, split))]
        if i + 1 < len(infos):
            r = layout.overlaps[i]
            picture = plan.pictures[i]
            if picture.fade > 0:
                a_start = layout.shown_counts[i] - r + picture.start
                video.append(Piece(info.path, a_start, picture.fade,
                                   blend=infos[i + 1].path, blend_start=picture.start, fade_length=picture.fade,
                                   grade=plan.grade_at(i, a_start), blend_grade=plan.grade_at(i + 1, picture.start),
                                   curve=curve))
    video = [p for p in video if p.count > 0]
    width, height = infos[0].display_size
    if not audio:
        return Timeline(fps, width, height, tuple(video))
    rate, layout_name, audio_warnings = audio_format_of(infos)
    plan.warnings.extend(audio_warnings)
    origin = [seconds_to_sample(t, rate) for t in layout.origins]  # output sample of each clip's sample 0

    def at(clip: int, offset: int) -> int:
        """Output sample ``offset`` frames into the overlap before ``clip`` (0: the clip's exact origin)."""
        return origin[clip] if offset == 0 else frame_to_sample(layout.placements[clip] + offset, fps, rate)

    sounds = plan.sounds
    # audio of clip i alone covers output samples [own_from[i], own_to[i]); the sound's fades fill the rest
    own_from = [0] + [at(i + 1, s.stop) for i, s in enumerate(sounds)]
    own_to = [at(i + 1, s.start) for i, s in enumerate(sounds)] + [frame_to_sample(layout.frame_count, fps, rate)]
    pieces: list[Piece] = []
    for i, info in enumerate(infos):
        pieces.append(Piece(info.path, own_from[i] - origin[i], own_to[i] - own_from[i]))
        if i + 1 < len(infos) and sounds[i].fade > 0:
            f0, f1 = own_to[i], own_from[i + 1]
            pieces.append(Piece(info.path, f0 - origin[i], f1 - f0, blend=infos[i + 1].path,
                                blend_start=f0 - origin[i + 1], fade_length=f1 - f0, curve=curve))
    pieces = [p for p in pieces if p.count > 0]
    return Timeline(fps, width, height, tuple(video), tuple(pieces), rate, layout_name, audio_fade)
