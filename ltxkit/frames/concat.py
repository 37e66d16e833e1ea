"""Join clips in order, trimming each head in time: ``ltxkit splice``'s plain case and ``video.combine``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from ltxkit.errors import InputError
from ltxkit.frames.checks import audio_format_of, check_inputs, check_output
from ltxkit.frames.probe import ProbeResult
from ltxkit.frames.render import output_json
from ltxkit.frames.smart import smart_render
from ltxkit.frames.timeline import Piece, Timeline
from ltxkit.timing import format_fps, frame_to_sample, seconds_to_frame_boundary


@dataclass(frozen=True)
class ConcatResult:
    output: Path
    frame_count: int
    fps: Fraction
    duration_seconds: Fraction
    trimmed_frames: list[int]  # frames dropped from the head of each input
    warnings: list[str]
    width: int = 0
    height: int = 0
    audio_samples: int | None = None
    sample_rate: int | None = None
    render: dict[str, Any] | None = None  # smart or full and why (SmartRenderResult.to_json)

    def to_json(self) -> dict[str, Any]:
        return {
            **output_json(self.output, self.frame_count, self.fps, self.duration_seconds),
            "trimmed_frames": list(self.trimmed_frames),
            "width": self.width,
            "height": self.height,
            "audio_samples": self.audio_samples,
            "sample_rate": self.sample_rate,
            "warnings": list(self.warnings),
            "render": self.render,
        }


@dataclass(frozen=True)
class ConcatPlan:
    timeline: Timeline
    trimmed_frames: list[int]
    warnings: list[str]


def snap_trim(seconds: Fraction, info: ProbeResult, what: str, warnings: list[str]) -> int:
    """``seconds`` as whole frames of ``info``'s clip; appends a warning with the error when not whole."""
    if seconds < 0:
        raise InputError(f"{what} of {info.path.name} must be ≥ 0 s, got {float(seconds)} s")
    m = seconds_to_frame_boundary(seconds, info.fps)
    if not m.whole:
        warnings.append(f"{info.path.name}: {what} {float(seconds) * 1000:.2f} ms is {float(m.exact):.2f} "
                        f"frames at {format_fps(info.fps)} fps; rounded to {m.rounded} frames "
                        f"({m.error_ms:+.2f} ms)")
    return m.rounded


def plan_concat(infos: Sequence[ProbeResult], trim_head_seconds: Sequence[Fraction], *, audio: bool,
                audio_trim_head_seconds: Sequence[Fraction] | None = None,
                size: tuple[int, int] | None = None, trim_tail_frames: Sequence[int] | None = None) -> ConcatPlan:
    """The timeline of a concat: pure arithmetic over probed inputs (no I/O).

    ``trim_tail_frames`` drops frames from each input's end (an interpolated clip's copies of its last
    sample, :attr:`ltxkit.timing.SpliceLayout.shown_counts`); its audio ends with them.
    """
    if len(trim_head_seconds) != len(infos):
        raise InputError(f"{len(infos)} inputs but {len(trim_head_seconds)} head trims")
    tails = list(trim_tail_frames) if trim_tail_frames is not None else [0] * len(infos)
    warnings: list[str] = []
    trims = [snap_trim(Fraction(t), info, "head trim", warnings)
             for t, info in zip(trim_head_seconds, infos, strict=True)]
    if audio_trim_head_seconds is None:
        audio_trims = list(trims)
    else:
        if len(audio_trim_head_seconds) != len(infos):
            raise InputError(f"{len(infos)} inputs but {len(audio_trim_head_seconds)} audio head trims")
        audio_trims = [snap_trim(Fraction(t), info, "audio head trim", warnings)
                       for t, info in zip(audio_trim_head_seconds, infos, strict=True)]
    fps = infos[0].fps
    video: list[Piece] = []
    starts: list[int] = []  # output frame where input i's first kept frame lands
    pos = 0
    for info, trim, tail in zip(infos, trims, tails, strict=True):
        if trim + tail >= info.frame_count:
            raise InputError(f"trimming {trim + tail} frames from {info.path.name} leaves nothing "
                             f"(it has {info.frame_count} frames at {format_fps(info.fps)} fps)")
        starts.append(pos)
        video.append(Piece(info.path, trim, info.frame_count - trim - tail))
        pos += info.frame_count - trim - tail
    width, height = size if size is not None else infos[0].display_size
    if not audio:
        return ConcatPlan(Timeline(fps, width, height, tuple(video)), trims, warnings)
    rate, layout, audio_warnings = audio_format_of(infos)
    warnings += audio_warnings
    # Input i's audio takes over where its audio trim puts it: trims[i] - audio_trims[i] frames before
    # its first kept frame (0 = together with the picture). Input i's frame 0 sits at starts[i] - trims[i].
    switch: list[int] = []
    for i, (trim, atrim) in enumerate(zip(trims, audio_trims, strict=True)):
        if not 0 <= atrim <= trim:
            raise InputError(f"{infos[i].path.name}: the audio head trim must lie between 0 and the "
                             f"video head trim ({trim} frames), got {atrim} frames")
        at = starts[i] - (trim - atrim)
        if i > 0 and at < switch[-1]:
            raise InputError(f"{infos[i].path.name}: its audio would start before the previous clip's")
        switch.append(max(at, 0))
    switch.append(pos)
    pieces = []
    for i, info in enumerate(infos):
        origin = frame_to_sample(starts[i] - trims[i], fps, rate)  # output sample of input i's sample 0
        s0, s1 = frame_to_sample(switch[i], fps, rate), frame_to_sample(switch[i + 1], fps, rate)
        pieces.append(Piece(info.path, s0 - origin, s1 - s0))
    return ConcatPlan(Timeline(fps, width, height, tuple(video), tuple(pieces), rate, layout), trims, warnings)


def concat_clips(inputs: Sequence[Path], output: Path, *, trim_head_seconds: Sequence[Fraction],
                 codec: str = "h264", audio: bool = True,
                 audio_trim_head_seconds: Sequence[Fraction] | None = None,
                 trim_tail_frames: Sequence[int] | None = None, render: str = "smart") -> ConcatResult:
    """Join ``inputs`` in order, dropping ``trim_head_seconds[i]`` from the head of input ``i``.

    The trim is time: ``seconds × fps`` frames, rounded to the nearest frame boundary when not whole
    (a warning gives the error in ms). Audio is trimmed by the same rounded duration, sample-exact,
    unless ``audio_trim_head_seconds`` says otherwise: a smaller audio trim starts input ``i``'s audio
    earlier and cuts the previous input's audio short by the difference (the splice's ``audio_from='b'``).
    All inputs need one size and frame rate (``InputError`` naming the numbers), and an audio stream
    when ``audio``. The result's frame count, duration and sample count are verified after writing.
    ``render`` 'smart' stream-copies every GOP a kept range holds whole (:mod:`ltxkit.frames.smart`).
    """
    inputs = [Path(p) for p in inputs]
    infos = check_inputs(inputs, audio=audio)
    check_output(output, inputs, codec)
    plan = plan_concat(infos, trim_head_seconds, audio=audio, audio_trim_head_seconds=audio_trim_head_seconds,
                       trim_tail_frames=trim_tail_frames)
    smart = smart_render(plan.timeline, output, codec=codec, render=render, infos={i.path: i for i in infos})
    result = smart.render
    return ConcatResult(output=output, frame_count=result.frame_count, fps=result.fps,
                        duration_seconds=result.duration_seconds, trimmed_frames=plan.trimmed_frames,
                        warnings=plan.warnings + result.warnings, width=result.width, height=result.height,
                        audio_samples=result.audio_samples, sample_rate=result.sample_rate, render=smart.to_json())
