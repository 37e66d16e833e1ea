"""Encode a :class:`~ltxkit.frames.timeline.Timeline` frame-exactly: the primitive behind splice, concat,
the seam review clip and ``video.combine``.

Everything is re-encoded. A stream copy can only cut on keyframes, and every cut here falls on an
arbitrary frame (B's overlap is a few frames long), so decode → trim → encode is the only reliable way
to get the exact frames. Audio follows the video: each span of output frames owns the samples from
its first frame boundary to the next (:func:`ltxkit.timing.frame_to_sample`), so the audio of the
joined clip tiles with no gap or double at any joint and stays locked to its picture. The readers
(:mod:`ltxkit.frames.readers`) seek when a piece starts far from where they are, so cutting two seconds
out of a ten-minute file costs what it costs in a ten-second one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, cast

import av
import numpy as np
from av.audio.stream import AudioStream
from av.video.stream import VideoStream

from ltxkit.errors import InputError, MediaError
from ltxkit.frames.canvas import conform
from ltxkit.frames.codecs import CodecProfile, codec_profile
from ltxkit.frames.convert import reformat
from ltxkit.frames.probe import ProbeResult, demux_only, open_media, probe
from ltxkit.frames.readers import AudioReader, VideoReader
from ltxkit.frames.timeline import Timeline
from ltxkit.fsutil import atomic_path, final_name
from ltxkit.progress import report
from ltxkit.timing import format_fps, frame_to_sample, round_half_up


def output_json(output: Path, frame_count: int, fps: Fraction, duration_seconds: Fraction) -> dict[str, Any]:
    """The fields every written-file result starts with, spelled one way."""
    return {"output": str(output), "frame_count": frame_count, "fps": format_fps(fps),
            "duration_seconds": float(duration_seconds)}


@dataclass
class Readers:
    """One reader per (file, role): a cross-fade reads A and B at the same time, each forward."""

    sample_rate: int = 48000
    layout: str = "stereo"
    infos: dict[Path, ProbeResult] = field(default_factory=dict)
    video: dict[tuple[Path, bool], VideoReader] = field(default_factory=dict)
    audio: dict[tuple[Path, bool], AudioReader] = field(default_factory=dict)
    # frames a caller already decoded and passed through :func:`scale_frame` for this timeline (a seam
    # review's, for its review clip), by (file, frame): taken instead of decoding them again
    scaled: dict[tuple[Path, int], av.VideoFrame] = field(default_factory=dict)

    def info(self, path: Path) -> ProbeResult:
        if path not in self.infos:
            self.infos[path] = probe(path)
        return self.infos[path]

    def video_reader(self, path: Path, blend: bool = False) -> VideoReader:
        key = (path, blend)
        if key not in self.video:
            self.video[key] = VideoReader(path, self.info(path))
        return self.video[key]

    def audio_reader(self, path: Path, blend: bool = False) -> AudioReader:
        key = (path, blend)
        if key not in self.audio:
            self.audio[key] = AudioReader(path, self.sample_rate, self.layout, self.info(path))
        return self.audio[key]

    def all(self) -> list[VideoReader | AudioReader]:
        return [*self.video.values(), *self.audio.values()]

    def close(self) -> None:
        for r in self.all():
            r.close()

    def padded_seconds(self) -> dict[Path, Fraction]:
        out: dict[Path, Fraction] = {}
        for (path, _), r in self.audio.items():
            if r.padded:
                out[path] = out.get(path, Fraction(0)) + Fraction(r.padded, self.sample_rate)
        return out


def _graded(frame: av.VideoFrame, grade: Callable[[np.ndarray], np.ndarray], tl: Timeline) -> av.VideoFrame:
    rgb = reformat(frame, tl.width, tl.height, "rgb24").to_ndarray()
    return av.VideoFrame.from_ndarray(np.ascontiguousarray(grade(rgb)), format="rgb24")


def scale_frame(frame: av.VideoFrame, tl: Timeline, pix_fmt: str, interpolation: str) -> av.VideoFrame:
    """``frame`` as the encoder takes it: an API output on a padded canvas cropped back, then scaled to
    the timeline's size here rather than in the encoder (all cores, threads=0, the chosen filter)."""
    frame = conform(frame, tl.width, tl.height)
    if (frame.width, frame.height) != (tl.width, tl.height):
        frame = reformat(frame, tl.width, tl.height, pix_fmt, interpolation, threads=0)
    return frame


def video_frames(tl: Timeline, readers: Readers) -> Iterator[av.VideoFrame]:
    for piece in tl.video:
        keys = [(piece.source, i) for i in range(piece.start, piece.start + piece.count)]
        if piece.grade is None and piece.blend is None and all(k in readers.scaled for k in keys):
            yield from (readers.scaled[k] for k in keys)
            continue
        frames: Iterator[av.VideoFrame] = readers.video_reader(piece.source).frames(piece.start, piece.count)
        if piece.grade is not None:
            frames = (_graded(f, piece.grade, tl) for f in frames)
        if piece.blend is None:
            yield from frames
            continue
        others: Iterator[av.VideoFrame] = readers.video_reader(piece.blend, blend=True).frames(piece.blend_start,
                                                                                               piece.count)
        if piece.blend_grade is not None:
            others = (_graded(f, piece.blend_grade, tl) for f in others)
        weights = piece.fade_weights(0, piece.count, centred=False)
        if piece.curve is not None:  # mixed in the curve's space (linear light, Lab): in RGB
            for w, fa, fb in zip(weights, frames, others, strict=True):
                a, b = (reformat(f, tl.width, tl.height, "rgb24").to_ndarray() for f in (fa, fb))
                yield av.VideoFrame.from_ndarray(np.ascontiguousarray(piece.curve.mix(a, b, float(w))), format="rgb24")
            continue
        for w, fa, fb in zip(weights, frames, others, strict=True):
            # yuv is an affine map of rgb, so blending the yuv planes is the rgb blend, minus two
            # colour conversions and their rounding.
            a = reformat(fa, tl.width, tl.height, "yuv420p").to_ndarray()
            b = reformat(fb, tl.width, tl.height, "yuv420p").to_ndarray()
            mixed = a.astype(np.float32) * (1 - w) + b.astype(np.float32) * w
            yield av.VideoFrame.from_ndarray(np.rint(mixed).clip(0, 255).astype(np.uint8), format="yuv420p")


class AudioCursor:
    """Reads the timeline's audio pieces in order, any number of samples at a time."""

    def __init__(self, tl: Timeline, readers: Readers, start: int = 0) -> None:
        assert tl.audio is not None
        self._pieces = [p for p in tl.audio if p.count > 0]
        self._readers = readers
        self._equal_power = tl.audio_fade == "equal-power"
        self._i = 0
        self._offset = start  # output sample ``start`` first (a smart render's re-encode after copied audio)
        while self._i < len(self._pieces) and self._offset >= self._pieces[self._i].count:
            self._offset -= self._pieces[self._i].count
            self._i += 1
        self._channels = av.AudioLayout(tl.layout).nb_channels

    def read(self, n: int) -> np.ndarray:
        parts = []
        while n > 0 and self._i < len(self._pieces):
            p = self._pieces[self._i]
            take = min(n, p.count - self._offset)
            a = self._readers.audio_reader(p.source).read(p.start + self._offset, take)
            if p.blend is not None:
                b = self._readers.audio_reader(p.blend, blend=True).read(p.blend_start + self._offset, take)
                w = p.fade_weights(self._offset, take, centred=True)
                if p.curve is not None:  # the sound's fade follows the picture's curve
                    w = p.curve.weights(w)
                if self._equal_power:
                    gain_a, gain_b = np.cos(w * np.pi / 2), np.sin(w * np.pi / 2)
                else:
                    gain_a, gain_b = 1 - w, w
                a = (a * gain_a + b * gain_b).astype(np.float32)
            parts.append(a)
            n -= take
            self._offset += take
            if self._offset == p.count:
                self._i, self._offset = self._i + 1, 0
        if n > 0:
            raise MediaError(f"the timeline's audio pieces are {n} samples short")
        return np.concatenate(parts, axis=1) if parts else np.zeros((self._channels, 0), np.float32)


@dataclass(frozen=True)
class RenderResult:
    output: Path
    frame_count: int
    fps: Fraction
    duration_seconds: Fraction
    width: int
    height: int
    audio_samples: int | None
    sample_rate: int | None
    warnings: list[str]
    seeks: int  # keyframe seeks the readers made (the review clip's cost does not grow with length)

    @classmethod
    def written(cls, output: Path, info: ProbeResult, tl: Timeline, readers: Readers) -> RenderResult:
        """What was written, as probed, with the readers' warnings (audio padded with silence) and seeks."""
        warnings = [f"{p.name}: {float(s) * 1000:.1f} ms of audio missing, filled with silence"
                    for p, s in readers.padded_seconds().items()]
        return cls(output=output, frame_count=info.frame_count, fps=info.fps,
                   duration_seconds=info.duration_seconds, width=info.width, height=info.height,
                   audio_samples=tl.sample_count if tl.audio is not None else None,
                   sample_rate=tl.sample_rate if tl.audio is not None else None,
                   warnings=warnings, seeks=sum(r.seeks for r in readers.all()))


class AudioEncode:
    """The timeline's audio from output sample ``start`` on, through ``encoder`` into ``stream``.

    Packets are stamped in output samples; those before ``keep_from`` are the encoder's warm-up (a smart
    render re-encodes from where copied AAC packets stop, so the first kept packet overlap-adds with the
    last copied one as the encoder meant it to) and are dropped.
    """

    def __init__(self, tl: Timeline, readers: Readers, encoder: Any, start: int = 0,
                 keep_from: int | None = None) -> None:
        self.tl, self.encoder, self.keep_from = tl, encoder, keep_from
        self.fed = start
        self._cursor = AudioCursor(tl, readers, start)
        self.pending: list[av.Packet[Any]] = []
        self._flushed = False

    def _take(self, packets: list[av.Packet[Any]]) -> None:
        self.pending += [p for p in packets if self.keep_from is None or (p.pts or 0) >= self.keep_from]

    def feed(self, target: int, chunk: int = 4096) -> None:
        """Encode the samples up to output sample ``target`` (their packets go to :attr:`pending`)."""
        while self.fed < target:
            count = min(target - self.fed, chunk)
            frame = av.AudioFrame.from_ndarray(self._cursor.read(count), format="fltp", layout=self.tl.layout)
            frame.sample_rate, frame.pts = self.tl.sample_rate, self.fed
            frame.time_base = Fraction(1, self.tl.sample_rate)
            self._take(self.encoder.encode(frame))
            self.fed += count

    def mux_until(self, out: Any, stream: AudioStream, target: int) -> None:
        """Mux the audio up to output sample ``target`` (all of it, encoder flushed, at the end)."""
        self.feed(min(target, self.tl.sample_count))
        if target >= self.tl.sample_count and not self._flushed:
            self._take(self.encoder.encode(None))
            self._flushed = True
        for packet in self.pending:
            packet.stream = stream
            out.mux(packet)
        self.pending = []


def _audio_sample_count(path: Path, info: ProbeResult) -> int | None:
    """Samples in the first audio stream: its duration as probed when it has one, else decoded."""
    if not info.audio:
        return None
    if info.audio[0].duration_seconds is not None:  # no second open: a long file's index costs to read
        return round_half_up(info.audio[0].duration_seconds * info.audio[0].sample_rate)
    with open_media(path) as container:  # no duration in the container (Matroska): count them
        return sum(int(f.samples) for f in container.decode(demux_only(container, container.streams.audio[0])))


def verify_written(path: Path, tl: Timeline) -> ProbeResult:
    """Re-probe what was written: frame count, rate, duration and sample count must be exact."""
    info = probe(path)
    problems = []
    if info.frame_count != tl.frame_count:
        problems.append(f"{info.frame_count} frames instead of {tl.frame_count}")
    if info.fps != tl.fps:
        problems.append(f"{format_fps(info.fps)} fps instead of {format_fps(tl.fps)}")
    if info.duration_seconds != tl.duration_seconds:
        problems.append(f"{float(info.duration_seconds):.6f} s instead of {float(tl.duration_seconds):.6f} s")
    if tl.audio is not None:
        samples = _audio_sample_count(path, info)
        if samples != tl.sample_count:
            problems.append(f"{samples} audio samples instead of {tl.sample_count}")
    if problems:
        raise MediaError(f"the written file is not what was planned: {'; '.join(problems)}")
    return info


def _encode(tl: Timeline, path: Path, profile: CodecProfile, fmt: str, readers: Readers,
            video_options: dict[str, str] | None, interpolation: str, task: str) -> None:
    container_options = {}
    if fmt in ("mp4", "mov"):
        # The edit list is written in the movie timescale (1000 by default): 90400 samples at 60 fps
        # would be stored as 1883 ms = 90384 samples. A timescale both rates divide keeps it exact.
        timescale = math.lcm(tl.sample_rate, tl.fps.numerator) if tl.audio is not None else tl.fps.numerator
        container_options = {"movflags": "+faststart", "movie_timescale": str(timescale)}
    with av.open(str(path), "w", format=fmt, options=container_options) as out:
        vs = cast(VideoStream, out.add_stream(profile.video_codec, rate=tl.fps))
        vs.width, vs.height, vs.pix_fmt = tl.width, tl.height, profile.pix_fmt
        vs.codec_context.time_base = 1 / tl.fps
        if profile.frame_threads:
            vs.codec_context.thread_type = "FRAME"
        vs.options = {**profile.options, **(video_options or {})}
        aus: AudioStream | None = None
        sound = None
        if tl.audio is not None:
            aus = cast(AudioStream, out.add_stream(profile.audio_codec, rate=tl.sample_rate))
            aus.layout = tl.layout
            aus.format = profile.audio_format
            sound = AudioEncode(tl, readers, aus.codec_context)
        for k, decoded in enumerate(video_frames(tl, readers)):
            frame = scale_frame(decoded, tl, profile.pix_fmt, interpolation)
            frame.pts = k
            frame.time_base = vs.codec_context.time_base
            frame.pict_type = av.video.frame.PictureType.NONE  # do not inherit the source's GOP
            out.mux(vs.encode(frame))
            report(task, "rendering", k + 1, tl.frame_count, "frames")
            if aus is not None and sound is not None:
                # interleave: the audio up to the end of this frame goes in right after it
                sound.mux_until(out, aus, frame_to_sample(k + 1, tl.fps, tl.sample_rate))
        out.mux(vs.encode(None))
        if aus is not None and sound is not None:
            sound.mux_until(out, aus, tl.sample_count)


def render(tl: Timeline, output: Path, *, codec: str = "h264", video_options: dict[str, str] | None = None,
           interpolation: str = "BICUBIC", verify: bool = True,
           infos: dict[Path, ProbeResult] | None = None,
           scaled: dict[tuple[Path, int], av.VideoFrame] | None = None) -> RenderResult:
    """Encode ``tl`` to ``output`` (temp file beside it, renamed when verified; removed on any error).

    Frames of another size (``--scale``, review clips) are scaled with the swscale ``interpolation``
    (bicubic for deliveries; a review clip asks for ``AREA``, 2.4× cheaper at 1080p → 640 px).
    ``infos``: sources already probed (a smart render falling back), not probed again; ``scaled``: frames
    already decoded and scaled (:attr:`Readers.scaled`).
    """
    profile = codec_profile(codec)
    fmt = profile.container_for(output)
    if tl.frame_count <= 0:
        raise InputError("nothing to write: the timeline has no frames")
    profile.check_size(tl.width, tl.height)
    readers = Readers(sample_rate=tl.sample_rate, layout=tl.layout, infos=dict(infos or {}),  # probed: not again
                      scaled=dict(scaled or {}))
    task = f"render {final_name(output)}"
    try:
        with atomic_path(output) as tmp:
            _encode(tl, tmp, profile, fmt, readers, video_options, interpolation, task)
            info = verify_written(tmp, tl) if verify else probe(tmp)
        report(task, "done", tl.frame_count, tl.frame_count, "frames")
    except av.error.FFmpegError as exc:
        raise MediaError(f"encoding {output.name} failed: {exc}") from exc
    finally:
        readers.close()
    return RenderResult.written(output, info, tl, readers)
