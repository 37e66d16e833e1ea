"""Write a splice: probe and check the clips, plan the edit (:mod:`ltxkit.assembly.edit`), render it.

Everything is validated before anything is written; the result is verified after writing, and an
OpenTimelineIO file can describe the same edit for an editor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from ltxkit.assembly.edit import Joint, SplicePlan, plan_splice
from ltxkit.assembly.modes import SpliceMode
from ltxkit.assembly.otio_export import write_otio
from ltxkit.frames.checks import check_inputs, check_output
from ltxkit.frames.codecs import codec_profile
from ltxkit.frames.render import output_json
from ltxkit.frames.smart import smart_render
from ltxkit.timing import format_fps, overlap_seconds


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
    overlap_at_clip_fps: int
    clips: list[dict[str, Any]]
    joints: list[Joint]
    audio_samples: int | None
    sample_rate: int | None
    warnings: list[str]
    notes: list[str]
    otio: Path | None = None
    curve: str = "linear"
    render: dict[str, Any] | None = None  # smart or full, why, what was copied (SmartRenderResult.to_json)

    def to_json(self) -> dict[str, Any]:
        return {
            **output_json(self.output, self.frame_count, self.fps, self.duration_seconds),
            "mode": self.mode,
            "curve": self.curve,
            "audio_from": self.audio_from,
            "overlap": {"frames": self.overlap, "sampled_fps": format_fps(self.sampled_fps),
                        "seconds": float(overlap_seconds(self.overlap, self.sampled_fps)),
                        "frames_at_clip_fps": self.overlap_at_clip_fps},
            "clips": self.clips,
            "joints": [j.to_json(self.fps) for j in self.joints],
            "audio_samples": self.audio_samples,
            "sample_rate": self.sample_rate,
            "warnings": list(self.warnings),
            "notes": list(self.notes),
            "otio": None if self.otio is None else str(self.otio),
            "render": self.render,
        }


def prepare_splice(clips: Sequence[Path], *, overlap: int, sampled_fps: Fraction,
                   mode: str | SpliceMode = "trim-b", audio_from: str = "b", scale: bool = False,
                   audio: bool | None = True, audio_fade: str = "linear", curve: str = "linear") -> SplicePlan:
    """Probe and validate the clips and plan the splice; nothing is written. ``audio=None``: with audio
    when every clip has it (read from the same probe)."""
    infos = check_inputs([Path(c) for c in clips], audio=bool(audio), scale=scale)
    if audio is None:
        audio = all(i.audio for i in infos)
    plan = plan_splice(infos, overlap=overlap, sampled_fps=sampled_fps, mode=mode, audio_from=audio_from,
                       audio=audio, audio_fade=audio_fade, curve=curve)
    first = infos[0]
    for info in infos[1:]:
        if info.display_size != first.display_size:
            plan.warnings.append(f"{info.path.name}: scaled from {'x'.join(map(str, info.display_size))} to "
                                 f"{'x'.join(map(str, first.display_size))}")
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


def splice(clips: Sequence[Path], output: Path, *, overlap: int, sampled_fps: Fraction,
           mode: str | SpliceMode = "trim-b", audio_from: str = "b", codec: str = "h264", scale: bool = False,
           audio: bool = True, audio_fade: str = "linear", otio: bool = True, curve: str = "linear",
           render: str = "smart") -> SpliceResult:
    """Write the splice of ``clips`` to ``output`` and describe it (frame count verified after writing).

    Everything is validated before anything is written: one frame rate, one size unless ``scale``
    (then every clip is scaled to the first one's size), an overlap shorter than every clip, and an
    audio stream in every clip when ``audio``. ``render`` 'smart' copies the GOPs the splice leaves
    untouched (:mod:`ltxkit.frames.smart`), 'full' re-encodes every frame.
    """
    plan = prepare_splice(clips, overlap=overlap, sampled_fps=sampled_fps, mode=mode, audio_from=audio_from,
                          scale=scale, audio=audio, audio_fade=audio_fade, curve=curve)
    check_output(output, [info.path for info in plan.infos], codec)
    plan = fit_codec(plan, codec, scale=scale)
    return render_splice(plan, output, codec=codec, otio=otio, render=render)


def write_splice_otio(plan: SplicePlan, output: Path) -> tuple[Path | None, list[str]]:
    """``<output>.otio`` describing the edit, or a note when ``opentimelineio`` is not installed."""
    otio_path, note = write_otio(plan, output)
    return otio_path, [note] if note else []


def render_splice(plan: SplicePlan, output: Path, *, codec: str = "h264", otio: bool = True,
                  render: str = "smart") -> SpliceResult:
    """Encode a prepared plan (``render`` as in :func:`splice`). With ``otio`` an OpenTimelineIO file
    ``<output>.otio`` describes the same edit when the optional ``opentimelineio`` package is installed;
    without it a note says so."""
    smart = smart_render(plan.timeline, output, codec=codec, render=render,
                         infos={i.path: i for i in plan.infos})  # probed when planned: not again
    rendered = smart.render
    notes: list[str] = []
    otio_path = None
    if otio:
        otio_path, notes = write_splice_otio(plan, output)
    clips_json = [{"path": str(info.path), "frames": info.frame_count, "placed_at_frame": plan.placements[i],
                   "kept": list(plan.kept[i])} for i, info in enumerate(plan.infos)]
    return SpliceResult(output=output, frame_count=rendered.frame_count, fps=rendered.fps,
                        duration_seconds=rendered.duration_seconds, mode=plan.mode.name, audio_from=plan.audio_from,
                        overlap=plan.overlap, sampled_fps=plan.sampled_fps,
                        overlap_at_clip_fps=plan.overlap_at_clip_fps, clips=clips_json, joints=plan.joints,
                        audio_samples=rendered.audio_samples,
                        sample_rate=rendered.sample_rate, warnings=plan.warnings + rendered.warnings,
                        notes=notes, otio=otio_path, curve=plan.curve, render=smart.to_json())
