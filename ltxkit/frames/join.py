"""Trim and join clips frame-exactly: the shared primitive behind ``ltxkit splice`` and ``video.combine``.

Everything is re-encoded. A stream copy can only cut on keyframes, and every cut here falls on an
arbitrary frame (B's overlap is a few frames long), so decode → trim → encode is the only reliable way
to get the exact frames. Audio follows the video: each span of output frames owns the samples from
its first frame boundary to the next (:func:`ltxkit.timing.frame_to_sample`), so the audio of the
joined clip tiles with no gap or double at any joint and stays locked to its picture.

The building blocks are public because the splice (crossfades, trimming A instead of B) and the seam
review (a ±2 s clip cut out of a long file) describe their output the same way: a :class:`Timeline`
of :class:`Piece` runs, rendered by :func:`render`. Readers decode forward and seek (keyframe seek,
then decode forward) when a piece starts far from where they are, so cutting two seconds out of a
ten-minute file costs what it costs in a ten-second one.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any, Self, cast

import av
import numpy as np
from av.audio.stream import AudioStream
from av.video.stream import VideoStream

from ltxkit.audio.source import frame_position, timestamp_slack
from ltxkit.errors import InputError, MediaError
from ltxkit.frames.probe import ProbeResult, open_media, probe
from ltxkit.fsutil import atomic_path
from ltxkit.timing import format_fps, frame_to_sample, round_half_up, seconds_to_frame_boundary

# Farther ahead than this, a keyframe seek is cheaper than decoding forward (and never slower in
# a file whose GOP is shorter than this).
SEEK_AHEAD_SECONDS = Fraction(3)
# AAC (and other MDCT codecs) need a little pre-roll after a seek before samples are exact again.
AUDIO_PREROLL_SECONDS = Fraction(1, 4)


# --- output codecs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CodecProfile:
    """An output flavour: h264+AAC for delivery, ProRes or FFV1 with PCM for editing."""

    name: str
    video_codec: str
    pix_fmt: str
    options: dict[str, str]
    audio_codec: str
    audio_format: str
    containers: dict[str, str]  # accepted output suffix -> muxer
    even_size: bool = False  # libx264 refuses odd sizes in 4:2:0 (its encoder fails to open)

    def container_for(self, output: Path) -> str:
        fmt = self.containers.get(output.suffix.lower())
        if fmt is None:
            raise InputError(f"--codec {self.name} writes {' or '.join(self.containers)} files, "
                             f"not {output.name!r}")
        return fmt

    def check_size(self, width: int, height: int) -> None:
        """Refuse a frame size the encoder cannot open with, before any output exists."""
        if self.even_size and (width % 2 or height % 2):
            raise InputError(f"{self.name} needs even width and height, the output is {width}x{height}; "
                             "use --codec ffv1 or prores, or --scale")


CODECS: dict[str, CodecProfile] = {
    # (no .mkv for h264+AAC: Matroska keeps the encoder's trailing padding, so the sample count is off)
    "h264": CodecProfile("h264", "libx264", "yuv420p", {"crf": "18", "preset": "fast"}, "aac", "fltp",
                         {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov"}, even_size=True),
    "prores": CodecProfile("prores", "prores_ks", "yuv422p10le", {"profile": "3"}, "pcm_s16le", "s16",
                           {".mov": "mov"}),
    "ffv1": CodecProfile("ffv1", "ffv1", "yuv420p", {"level": "3"}, "pcm_s16le", "s16",
                         {".mkv": "matroska"}),
}


def codec_profile(codec: str) -> CodecProfile:
    try:
        return CODECS[codec]
    except KeyError:
        raise InputError(f"unknown codec {codec!r}; choose one of {', '.join(CODECS)}") from None


# --- the timeline model ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Piece:
    """``count`` output units (frames or samples) read from ``source`` starting at unit ``start``.

    With ``blend`` the run is a cross-fade from ``source`` into ``blend`` (read from ``blend_start``):
    unit ``k`` of the run gets weight ``(fade_offset + k + 1) / (fade_length + 1)`` on ``blend``
    (video; audio uses the sample centre and its curve), so a windowed piece keeps its weights.
    """

    source: Path
    start: int
    count: int
    blend: Path | None = None
    blend_start: int = 0
    fade_offset: int = 0
    fade_length: int = 0

    def fade_weights(self, offset: int, count: int, *, centred: bool) -> np.ndarray:
        """Weights of ``blend`` for units ``offset .. offset+count`` of this piece."""
        k = np.arange(self.fade_offset + offset, self.fade_offset + offset + count, dtype=np.float64)
        if centred:
            return (k + 0.5) / self.fade_length
        return (k + 1) / (self.fade_length + 1)


def window_pieces(pieces: Sequence[Piece], start: int, count: int) -> list[Piece]:
    """The pieces covering output units ``start .. start+count`` (trimmed at both ends)."""
    out: list[Piece] = []
    pos = 0
    end = start + count
    for p in pieces:
        lo, hi = max(pos, start), min(pos + p.count, end)
        if lo < hi:
            skip = lo - pos
            out.append(replace(p, start=p.start + skip, blend_start=p.blend_start + skip, count=hi - lo,
                               fade_offset=p.fade_offset + skip))
        pos += p.count
    return out


@dataclass(frozen=True)
class Timeline:
    """What to write: video pieces at ``fps`` and (optionally) audio pieces in samples at ``sample_rate``."""

    fps: Fraction
    width: int
    height: int
    video: tuple[Piece, ...]
    audio: tuple[Piece, ...] | None = None
    sample_rate: int = 48000
    layout: str = "stereo"
    audio_fade: str = "linear"  # "linear" or "equal-power" for audio cross-fade pieces

    @property
    def frame_count(self) -> int:
        return sum(p.count for p in self.video)

    @property
    def duration_seconds(self) -> Fraction:
        return Fraction(self.frame_count) / self.fps

    @property
    def sample_count(self) -> int:
        return frame_to_sample(self.frame_count, self.fps, self.sample_rate)

    def window(self, start_frame: int, frames: int) -> Timeline:
        """Frames ``start_frame .. start_frame+frames`` with the audio that belongs to them."""
        audio = None
        if self.audio is not None:
            s0 = frame_to_sample(start_frame, self.fps, self.sample_rate)
            s1 = frame_to_sample(start_frame + frames, self.fps, self.sample_rate)
            audio = tuple(window_pieces(self.audio, s0, s1 - s0))
        return replace(self, video=tuple(window_pieces(self.video, start_frame, frames)), audio=audio)


# --- readers -----------------------------------------------------------------------------------------


class _MediaReader:
    """An open container plus its decoder, closed by ``close()`` or a ``with`` block."""

    path: Path
    _container: Any = None
    _decoder: Iterator[Any] | None = None

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None
            self._decoder = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class VideoReader(_MediaReader):
    """Decode frames ``start .. start+count`` of one file in order, by frame index.

    The index of a decoded frame comes from its pts (``(pts·tb − start) · fps``), so it is right after
    a seek as well as after decoding from the start; a missing index is an error, never a silent shift.
    """

    def __init__(self, path: Path, info: ProbeResult | None = None) -> None:
        self.path = path
        self.info = info if info is not None else probe(path)
        self._container: Any = None
        self._decoder: Iterator[av.VideoFrame] | None = None
        self._lookahead: av.VideoFrame | None = None
        self._next = 0
        self.seeks = 0

    def rgb(self, start: int = 0, count: int | None = None,
            size: tuple[int, int] | None = None) -> Iterator[np.ndarray]:
        """Frames as RGB uint8 arrays, scaled to ``size`` (width, height) when given."""
        w, h = size or (self.info.width, self.info.height)
        n = self.info.frame_count - start if count is None else count
        for frame in self.frames(start, n):
            yield frame.reformat(width=w, height=h, format="rgb24").to_ndarray()

    def _open(self) -> Any:
        self.close()
        self._container = open_media(self.path)
        stream = self._container.streams.video[0]
        stream.thread_type = "AUTO"
        return stream

    def _index(self, frame: av.VideoFrame) -> int:
        if frame.pts is None:
            return self._next
        seconds = Fraction(frame.pts) * self.info.time_base - self.info.start_seconds
        return round_half_up(seconds * self.info.fps)

    def _position(self, start: int) -> None:
        """Make the next decoded frame's index ≤ ``start``: keyframe seek, backing off until it is."""
        back = Fraction(0)
        while True:
            target = self.info.start_seconds + Fraction(start) / self.info.fps - back
            stream = self._open()
            self._lookahead = None
            if start == 0 or target <= self.info.start_seconds:
                self._decoder = iter(self._container.decode(stream))
                self._next = 0
                return
            # Seeking is by decode time on the keyframe index; with B-frames a keyframe's pts can lie
            # after the target, so check the first frame and back off rather than trust the seek.
            self._container.seek(math.floor(target / self.info.time_base), stream=stream, backward=True)
            self.seeks += 1
            self._decoder = iter(self._container.decode(stream))
            first = next(self._decoder, None)
            if first is not None and self._index(first) <= start:
                self._lookahead = first
                self._next = self._index(first)
                return
            back = back * 2 if back else Fraction(1)

    def _pull(self) -> av.VideoFrame | None:
        if self._lookahead is not None:
            frame, self._lookahead = self._lookahead, None
            return frame
        assert self._decoder is not None
        return next(self._decoder, None)

    def frames(self, start: int, count: int) -> Iterator[av.VideoFrame]:
        if count <= 0:
            return
        if start < 0 or start + count > self.info.frame_count:
            raise MediaError(f"{self.path}: frames {start}..{start + count - 1} are outside its "
                             f"{self.info.frame_count} frames")
        ahead = Fraction(start - self._next) / self.info.fps
        if self._decoder is None or start < self._next or ahead > SEEK_AHEAD_SECONDS:
            self._position(start)
        want = start
        while want < start + count:
            frame = self._pull()
            if frame is None:
                raise MediaError(f"{self.path}: decoding ended before frame {want}")
            index = self._index(frame)
            self._next = index + 1
            if index < want:
                continue
            if index > want:
                raise MediaError(f"{self.path}: frame {want} is missing (decoder jumped to {index})")
            yield frame
            want += 1


class AudioReader(_MediaReader):
    """Samples ``start .. start+count`` of one file's first audio stream, as float32 ``[channels, n]``.

    Sample 0 is the instant of the file's first video frame, so audio stays where the picture is.
    Samples outside the stream (before it starts, after it ends, in gaps) read as silence and are
    counted in :attr:`padded` so callers can warn about them.
    """

    def __init__(self, path: Path, sample_rate: int, layout: str, info: ProbeResult | None = None) -> None:
        self.path = path
        self.info = info if info is not None else probe(path)
        if not self.info.audio:
            raise InputError(f"{path} has no audio stream")
        self.sample_rate = sample_rate
        self.layout = layout
        self.channels = av.AudioLayout(layout).nb_channels
        self.padded = 0
        self.seeks = 0
        self._container: Any = None
        self._decoder: Iterator[av.AudioFrame] | None = None
        self._resampler: av.AudioResampler | None = None
        self._buf = np.zeros((self.channels, 0), np.float32)
        self._buf_start = 0
        self._placed = False  # has the first frame after (re)opening fixed the buffer position?
        self._slack = 1  # samples a timestamp may be off (the stream's timestamp resolution), set on opening
        self._eof = False
        self._end: int | None = None

    @property
    def _buf_end(self) -> int:
        return self._buf_start + self._buf.shape[1]

    def _position(self, start: int) -> None:
        back = AUDIO_PREROLL_SECONDS
        while True:
            self.close()
            self._container = open_media(self.path)
            stream = self._container.streams.audio[0]
            self._slack = timestamp_slack(Fraction(stream.time_base or Fraction(1, self.sample_rate)),
                                          self.sample_rate)
            if self._end is None and stream.duration and stream.time_base:
                end_seconds = Fraction((stream.start_time or 0) + stream.duration) * stream.time_base
                self._end = round_half_up((end_seconds - self.info.start_seconds) * self.sample_rate)
            target = Fraction(start, self.sample_rate) + self.info.start_seconds - back
            if target > 0 and stream.time_base:
                self._container.seek(math.floor(target / stream.time_base), stream=stream, backward=True)
                self.seeks += 1
            self._decoder = iter(self._container.decode(stream))
            self._resampler = av.AudioResampler(format="fltp", layout=self.layout, rate=self.sample_rate)
            self._buf = np.zeros((self.channels, 0), np.float32)
            self._placed = False
            self._eof = False
            self._decode_more()
            if target <= 0 or self._buf_start <= start:
                return
            back *= 2

    def _append(self, frame: av.AudioFrame, source_pts: Fraction | None) -> None:
        """Place a decoded frame: by its timestamp after (re)opening, then back to back.

        Timestamps can be coarser than a sample (Matroska/WebM: 1 ms, so 1024-sample AAC frames sit at
        21 or 22 ms); placing every frame by its own would drop or zero-fill up to half a millisecond
        at each boundary. Only a gap wider than the timestamp resolution is silence (the same rule as
        :class:`ltxkit.audio.source.AudioSource`).
        """
        data = frame.to_ndarray().astype(np.float32, copy=False)
        stamped = None if source_pts is None else round_half_up(source_pts * self.sample_rate)
        pos = frame_position(self._buf_end if self._placed else None, stamped, self._slack)
        if not self._placed:
            self._buf_start, self._buf, self._placed = pos, data, True
            return
        if pos > self._buf_end:  # a real gap in the stream: silence
            gap = np.zeros((self.channels, pos - self._buf_end), np.float32)
            self._buf = np.concatenate([self._buf, gap], axis=1)
        self._buf = np.concatenate([self._buf, data], axis=1)

    def _decode_more(self) -> None:
        assert self._decoder is not None and self._resampler is not None
        frame = next(self._decoder, None)
        outs = self._resampler.resample(frame)
        for out in outs:
            # the converted frame's own pts (the resampler keeps time, delay included)
            pts = None
            if out.pts is not None and out.time_base is not None:
                pts = Fraction(out.pts) * out.time_base - self.info.start_seconds
            self._append(out, pts)
        if frame is None:
            self._eof = True

    def read(self, start: int, count: int) -> np.ndarray:
        out = np.zeros((self.channels, count), np.float32)
        if count <= 0:
            return out
        ahead = Fraction(start - self._buf_end, self.sample_rate)
        if self._decoder is None or start < self._buf_start or ahead > SEEK_AHEAD_SECONDS:
            self._position(start)
        while self._buf_end < start + count and not self._eof:
            self._decode_more()
        end = start + count if self._end is None else min(start + count, self._end)
        lo, hi = max(start, self._buf_start), min(end, self._buf_end)
        if lo < hi:
            out[:, lo - start:hi - start] = self._buf[:, lo - self._buf_start:hi - self._buf_start]
        self.padded += count - max(0, hi - lo)
        # keep a little history so a small step back does not reopen the file
        keep_from = max(self._buf_start, start + count - self.sample_rate)
        self._buf = self._buf[:, keep_from - self._buf_start:]
        self._buf_start = keep_from
        return out


# --- rendering ---------------------------------------------------------------------------------------


@dataclass
class _Readers:
    """One reader per (file, role): a cross-fade reads A and B at the same time, each forward."""

    sample_rate: int = 48000
    layout: str = "stereo"
    infos: dict[Path, ProbeResult] = field(default_factory=dict)
    video: dict[tuple[Path, bool], VideoReader] = field(default_factory=dict)
    audio: dict[tuple[Path, bool], AudioReader] = field(default_factory=dict)

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


def _video_frames(tl: Timeline, readers: _Readers) -> Iterator[av.VideoFrame]:
    for piece in tl.video:
        frames = readers.video_reader(piece.source).frames(piece.start, piece.count)
        if piece.blend is None:
            yield from frames
            continue
        others = readers.video_reader(piece.blend, blend=True).frames(piece.blend_start, piece.count)
        weights = piece.fade_weights(0, piece.count, centred=False)
        for w, fa, fb in zip(weights, frames, others, strict=True):
            # yuv is an affine map of rgb, so blending the yuv planes is the rgb blend, minus two
            # colour conversions and their rounding.
            a = fa.reformat(width=tl.width, height=tl.height, format="yuv420p").to_ndarray()
            b = fb.reformat(width=tl.width, height=tl.height, format="yuv420p").to_ndarray()
            mixed = a.astype(np.float32) * (1 - w) + b.astype(np.float32) * w
            yield av.VideoFrame.from_ndarray(np.rint(mixed).clip(0, 255).astype(np.uint8), format="yuv420p")


class _AudioCursor:
    """Reads the timeline's audio pieces in order, any number of samples at a time."""

    def __init__(self, tl: Timeline, readers: _Readers) -> None:
        assert tl.audio is not None
        self._pieces = [p for p in tl.audio if p.count > 0]
        self._readers = readers
        self._equal_power = tl.audio_fade == "equal-power"
        self._i = 0
        self._offset = 0
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


def _audio_sample_count(path: Path) -> int | None:
    """Samples in the first audio stream: the container's duration when it has one, else decoded."""
    with open_media(path) as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        rate = int(stream.codec_context.sample_rate)
        if stream.duration and stream.time_base:
            return round_half_up(Fraction(stream.duration) * stream.time_base * rate)
        return sum(f.samples for f in container.decode(stream))


def _verify(path: Path, tl: Timeline) -> ProbeResult:
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
        samples = _audio_sample_count(path)
        if samples != tl.sample_count:
            problems.append(f"{samples} audio samples instead of {tl.sample_count}")
    if problems:
        raise MediaError(f"the written file is not what was planned: {'; '.join(problems)}")
    return info


def _encode(tl: Timeline, path: Path, profile: CodecProfile, fmt: str, readers: _Readers,
            video_options: dict[str, str] | None, interpolation: str) -> None:
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
        vs.options = {**profile.options, **(video_options or {})}
        # the pixels are written as decoded, so the display rotation (a phone clip's display matrix)
        # must travel with them or the result plays sideways; the first clip's is the output's
        rotation = readers.info(tl.video[0].source).rotation if tl.video else 0
        if rotation:
            vs.set_display_rotation(rotation)
        aus: AudioStream | None = None
        cursor = None
        if tl.audio is not None:
            aus = cast(AudioStream, out.add_stream(profile.audio_codec, rate=tl.sample_rate))
            aus.layout = tl.layout
            aus.format = profile.audio_format
            cursor = _AudioCursor(tl, readers)
        written = 0
        for k, decoded in enumerate(_video_frames(tl, readers)):
            frame = decoded
            if (frame.width, frame.height) != (tl.width, tl.height):
                # scale here rather than in the encoder: all cores (threads=0), chosen filter
                frame = frame.reformat(width=tl.width, height=tl.height, format=profile.pix_fmt,
                                       interpolation=interpolation, threads=0)
            frame.pts = k
            frame.time_base = vs.codec_context.time_base
            frame.pict_type = av.video.frame.PictureType.NONE  # do not inherit the source's GOP
            out.mux(vs.encode(frame))
            if aus is None or cursor is None:
                continue
            # interleave: the audio up to the end of this frame goes in right after it
            target = frame_to_sample(k + 1, tl.fps, tl.sample_rate)
            while written < target:
                n = min(target - written, 4096)
                af = av.AudioFrame.from_ndarray(cursor.read(n), format="fltp", layout=tl.layout)
                af.sample_rate = tl.sample_rate
                af.pts = written
                af.time_base = Fraction(1, tl.sample_rate)
                out.mux(aus.encode(af))
                written += n
        out.mux(vs.encode(None))
        if aus is not None:
            out.mux(aus.encode(None))


def render(tl: Timeline, output: Path, *, codec: str = "h264", video_options: dict[str, str] | None = None,
           interpolation: str = "BICUBIC", verify: bool = True) -> RenderResult:
    """Encode ``tl`` to ``output`` (temp file beside it, renamed when verified; removed on any error).

    Frames of another size (``--scale``, review clips) are scaled with the swscale ``interpolation``
    (bicubic for deliveries; a review clip asks for ``FAST_BILINEAR``, 7× cheaper at 1080p → 640 px).
    """
    profile = codec_profile(codec)
    fmt = profile.container_for(output)
    if tl.frame_count <= 0:
        raise InputError("nothing to write: the timeline has no frames")
    profile.check_size(tl.width, tl.height)
    readers = _Readers(sample_rate=tl.sample_rate, layout=tl.layout)
    try:
        with atomic_path(output) as tmp:
            _encode(tl, tmp, profile, fmt, readers, video_options, interpolation)
            info = _verify(tmp, tl) if verify else probe(tmp)
    except av.error.FFmpegError as exc:
        raise MediaError(f"encoding {output.name} failed: {exc}") from exc
    finally:
        readers.close()
    warnings = [f"{p.name}: {float(s) * 1000:.1f} ms of audio missing, filled with silence"
                for p, s in readers.padded_seconds().items()]
    seeks = sum(r.seeks for r in readers.all())
    return RenderResult(output=output, frame_count=info.frame_count, fps=info.fps,
                        duration_seconds=info.duration_seconds, width=info.width, height=info.height,
                        audio_samples=tl.sample_count if tl.audio is not None else None,
                        sample_rate=tl.sample_rate if tl.audio is not None else None,
                        warnings=warnings, seeks=seeks)


# --- input checks shared with the splice -------------------------------------------------------------


def check_inputs(inputs: Sequence[Path], *, audio: bool, scale: bool = False) -> list[ProbeResult]:
    """Probe every input and insist on one frame rate, one size (unless ``scale``) and audio if asked."""
    if not inputs:
        raise InputError("no input clips given")
    infos = [probe(Path(p)) for p in inputs]
    first = infos[0]
    for info in infos:
        if info.vfr:
            raise InputError(f"{info.path} has a variable frame rate; convert it to a constant rate first")
        if info.fps != first.fps:
            raise InputError(f"frame rates differ: {first.path.name} is {format_fps(first.fps)} fps, "
                             f"{info.path.name} is {format_fps(info.fps)} fps")
        if not scale and (info.width, info.height) != (first.width, first.height):
            raise InputError(f"sizes differ: {first.path.name} is {first.width}x{first.height}, "
                             f"{info.path.name} is {info.width}x{info.height} (use --scale to scale to "
                             f"the first clip's size)")
        if audio and not info.audio:
            raise InputError(f"{info.path} has no audio stream (audio was requested)")
    return infos


def check_location(path: Path) -> None:
    """``path`` can be created: its nearest existing ancestor is a directory (missing ones get made)."""
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InputError(f"cannot create {path}: {ancestor} is not a directory")


def check_output(output: Path, inputs: Sequence[Path], codec: str) -> None:
    codec_profile(codec).container_for(output)
    if output.is_dir():
        raise InputError(f"cannot write {output}: it is a directory")
    check_location(output)
    resolved = output.resolve()
    if any(Path(p).resolve() == resolved for p in inputs):
        raise InputError(f"output {output} would overwrite an input")


# FFmpeg's default layout for a channel count (what a decoder reports for the usual AAC/PCM streams).
_DEFAULT_LAYOUTS = {1: "mono", 2: "stereo", 3: "2.1", 4: "quad", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}


def default_layout(channels: int) -> str:
    return _DEFAULT_LAYOUTS.get(channels, f"{channels}c")


def audio_format_of(infos: Sequence[ProbeResult]) -> tuple[int, str, list[str]]:
    """Output sample rate and layout (the first input's) plus warnings for inputs that get converted."""
    first = infos[0].audio[0]
    rate = first.sample_rate
    layout = default_layout(first.channels)
    warnings = [f"{info.path.name}: audio converted from {a.sample_rate} Hz/{a.channels} ch to "
                f"{rate} Hz/{first.channels} ch"
                for info in infos[1:] for a in info.audio[:1]
                if (a.sample_rate, a.channels) != (rate, first.channels)]
    return rate, layout, warnings


# --- concat ------------------------------------------------------------------------------------------


def output_json(output: Path, frame_count: int, fps: Fraction, duration_seconds: Fraction) -> dict[str, Any]:
    """The fields every written-file result starts with, spelled one way."""
    return {"output": str(output), "frame_count": frame_count, "fps": format_fps(fps),
            "duration_seconds": float(duration_seconds)}


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

    def to_json(self) -> dict[str, Any]:
        return {
            **output_json(self.output, self.frame_count, self.fps, self.duration_seconds),
            "trimmed_frames": list(self.trimmed_frames),
            "width": self.width,
            "height": self.height,
            "audio_samples": self.audio_samples,
            "sample_rate": self.sample_rate,
            "warnings": list(self.warnings),
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
                size: tuple[int, int] | None = None) -> ConcatPlan:
    """The timeline of a concat: pure arithmetic over probed inputs (no I/O)."""
    if len(trim_head_seconds) != len(infos):
        raise InputError(f"{len(infos)} inputs but {len(trim_head_seconds)} head trims")
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
    for info, trim in zip(infos, trims, strict=True):
        if trim >= info.frame_count:
            raise InputError(f"trimming {trim} frames from {info.path.name} leaves nothing "
                             f"(it has {info.frame_count} frames at {format_fps(info.fps)} fps)")
        starts.append(pos)
        video.append(Piece(info.path, trim, info.frame_count - trim))
        pos += info.frame_count - trim
    width, height = size if size is not None else (infos[0].width, infos[0].height)
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
                 audio_trim_head_seconds: Sequence[Fraction] | None = None) -> ConcatResult:
    """Join ``inputs`` in order, dropping ``trim_head_seconds[i]`` from the head of input ``i``.

    The trim is time: ``seconds × fps`` frames, rounded to the nearest frame boundary when not whole
    (a warning gives the error in ms). Audio is trimmed by the same rounded duration, sample-exact,
    unless ``audio_trim_head_seconds`` says otherwise: a smaller audio trim starts input ``i``'s audio
    earlier and cuts the previous input's audio short by the difference (the splice's ``audio_from='b'``).
    All inputs need one size and frame rate (``InputError`` naming the numbers), and an audio stream
    when ``audio``. The result's frame count, duration and sample count are verified after writing.
    """
    inputs = [Path(p) for p in inputs]
    infos = check_inputs(inputs, audio=audio)
    check_output(output, inputs, codec)
    plan = plan_concat(infos, trim_head_seconds, audio=audio, audio_trim_head_seconds=audio_trim_head_seconds)
    result = render(plan.timeline, output, codec=codec)
    return ConcatResult(output=output, frame_count=result.frame_count, fps=result.fps,
                        duration_seconds=result.duration_seconds, trimmed_frames=plan.trimmed_frames,
                        warnings=plan.warnings + result.warnings, width=result.width, height=result.height,
                        audio_samples=result.audio_samples, sample_rate=result.sample_rate)
