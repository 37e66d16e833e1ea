"""Probe a clip: exact fps, frame count, duration, geometry, rotation, VFR, audio streams.

Frame count and VFR come from the container's sample index when it has one (mp4/mov: no packet is
read, and only a bounded sample of the in-memory index is checked for VFR unless it finds VFR, so a
10-minute clip probes about as fast as a 10-second one), else from a demux-only scan.
"""

from __future__ import annotations

import collections
import itertools
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from ltxkit.errors import InputError, MediaError
from ltxkit.frames import mp4
from ltxkit.fsutil import StrPath
from ltxkit.timing import format_fps, snap_fps


@dataclass(frozen=True)
class AudioStreamInfo:
    index: int  # position among the file's audio streams (what ``--stream`` takes)
    codec: str
    sample_rate: int
    channels: int
    duration_seconds: Fraction | None


@dataclass(frozen=True)
class ProbeResult:
    path: Path
    fps: Fraction
    frame_count: int
    duration_seconds: Fraction
    width: int
    height: int
    pix_fmt: str
    codec: str
    rotation: int
    vfr: bool
    start_seconds: Fraction
    time_base: Fraction
    audio: list[AudioStreamInfo] = field(default_factory=list)

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) as a viewer sees the clip: a quarter turn swaps them."""
        return (self.height, self.width) if self.rotation % 180 else (self.width, self.height)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(
            path=str(self.path),
            fps=format_fps(self.fps),
            fps_float=float(self.fps),
            duration_seconds=float(self.duration_seconds),
            start_seconds=float(self.start_seconds),
            time_base=str(self.time_base),
            audio=[{**asdict(a), "duration_seconds": None if a.duration_seconds is None
                    else float(a.duration_seconds)} for a in self.audio],
        )
        return data


# FFmpeg's stream probe decodes a file's first pictures to learn what its header already says but the pixel
# format (13 ms for a 1080p h264 file, 1 ms without): a reader, which decodes anyway, skips it where the
# container's header lists every stream (a transport stream's are found by reading packets)
_READER_OPTIONS = {"skip_frame": "all", "analyzeduration": "1"}
_HEADER_FORMATS = {mp4.FORMAT, "matroska,webm"}


def open_media(path: StrPath, *, decoding: bool = False) -> av.container.InputContainer:
    """Open a media file, turning every failure into one clear :class:`InputError`. ``decoding``: the
    caller reads streams it has probed and decodes them, so the codec parameters FFmpeg's probe finds by
    decoding or parsing the first packets need not be found first: pixel and sample format, an AAC
    profile or frame size may be unset (a ten-minute clip's sound had no profile)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"no such file: {path}")
    if not path.is_file():
        raise InputError(f"not a file: {path}")
    try:
        if decoding:
            container = av.open(str(path), options=_READER_OPTIONS)
            if container.format.name in _HEADER_FORMATS:
                return container
            container.close()
        return av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path} as media: {exc}") from exc


def demux_only(container: av.container.InputContainer, stream: Any) -> Any:
    """``stream``, with every other stream of ``container`` discarded by the demuxer: their packets are then
    never read (mp4 skips their samples), where a demux or decode would read and drop them one by one
    (half of a copy's cost when picture and sound interleave)."""
    for other in container.streams:
        if other.index != stream.index:
            other.discard = av.stream.Discard.all
    return stream


def upright(rgb: np.ndarray, rotation: int) -> np.ndarray:
    """Decoded pixels turned as the display matrix says (``rotation``: degrees counterclockwise, as
    probed), so what ltxkit hands on (API conditioning frames, splices) is what a viewer sees."""
    turns = (rotation // 90) % 4
    return np.ascontiguousarray(np.rot90(rgb, turns)) if turns else rgb


VFR_SAMPLE_PAIRS = 1024
MAX_PIXELS = 8192 * 8192  # twice 8K UHD: above it one decoded frame is hundreds of MB (a decompression bomb)


def check_pixels(path: Path, width: int, height: int) -> None:
    """Refuse a picture too large to decode, from its header, before a single frame is decoded."""
    if not width or not height:  # FFmpeg could not read even the header (a text file named .png)
        raise InputError(f"cannot read {path} as media: no picture size in its header")
    if width * height > MAX_PIXELS:
        raise InputError(f"{path} is {width}x{height}, over the {MAX_PIXELS // 1_000_000} MP a frame may have")


def _frame_dts(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> list[int]:
    """Sorted timestamps of frames: dts from the sample index, else pts from a demux-only scan.

    With a full index (mp4/mov) only consecutive pairs at up to ``VFR_SAMPLE_PAIRS`` evenly spread
    positions plus the tail are read, so the cost stays flat with the clip's length; the caller gets
    every timestamp again (:func:`_all_dts`) when that sample shows a variable frame rate.
    """
    entries = stream.index_entries
    n = len(entries)
    if stream.frames and n == stream.frames:
        step = max(1, n // VFR_SAMPLE_PAIRS)
        picks = sorted({*range(0, n - 1, step), *range(max(0, n - 33), n - 1)})
        return [entries[j].timestamp for i in picks for j in (i, i + 1)]
    return _all_dts(container, stream)


def _all_dts(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> list[int]:
    entries = stream.index_entries
    if stream.frames and len(entries) == stream.frames:
        return sorted(e.timestamp for e in entries if not e.is_discard)
    # by pts: mkv stores no dts, so its first B-frame packets come out with dts None (and were lost)
    stamps = (p.pts if p.pts is not None else p.dts for p in container.demux(stream) if p.size > 0)
    dts = sorted(t for t in stamps if t is not None)
    container.seek(0)
    return dts


def _index_frame_count(stream: av.video.stream.VideoStream, fps: Fraction, tb: Fraction) -> int:
    """Frames a full sample index (mp4/mov) will decode to: its samples minus those an edit list discards.

    A head-trimmed mp4 (``ffmpeg -ss … -c copy``, phone trims) keeps the samples before the cut, from
    the keyframe on, and flags them discard; ``stream.frames`` counts them. Counting the flags walks the
    index, so it is done only when the file hints at discards: an index end flagged, or a stream
    duration (the edit list's) that is not ``stream.frames`` frames long.
    """
    entries = stream.index_entries
    frames = int(stream.frames)
    spans = round(Fraction(stream.duration) * tb * fps) if stream.duration else frames
    if spans == frames and not entries[0].is_discard and not entries[-1].is_discard:
        return frames
    return sum(1 for e in entries if not e.is_discard)


def _declared_seconds(container: av.container.InputContainer, vs: av.video.stream.VideoStream) -> Fraction | None:
    """How long the header says the video lasts: Matroska's per-track ``DURATION`` tag, or the
    container's duration when the video is its only stream (a file-level duration covers every track)."""
    tag = vs.metadata.get("DURATION")
    if tag:
        hours, minutes, seconds = tag.split(":")
        return (int(hours) * 60 + int(minutes)) * 60 + Fraction(seconds)
    if len(container.streams) == 1 and container.duration:
        return Fraction(container.duration, av.time_base)
    return None


def _check_complete(path: Path, container: av.container.InputContainer, vs: av.video.stream.VideoStream,
                    stamps: list[int], tb: Fraction, fps: Fraction) -> None:
    """Refuse a file whose frames stop more than a frame short of what its header declares.

    Without a full sample index (Matroska, WebM) the frames are counted by demuxing, so a truncated
    file would otherwise probe as a shorter, healthy clip and give the wrong tail.
    """
    declared = _declared_seconds(container, vs)
    if declared is None or not stamps:
        return
    shown = (stamps[-1] - stamps[0]) * tb + 1 / fps  # first frame to the end of the last one
    if declared - shown > 1 / fps:
        raise InputError(f"{path}: truncated: frames stop after frame {len(stamps) - 1} ({float(shown):.3f} s) "
                         f"but the header says {float(declared):.3f} s")


def probe(path: StrPath) -> ProbeResult:
    """Everything the tail extractor and the splicer need to know about a clip, exactly."""
    path = Path(path)
    with open_media(path) as container:
        if not container.streams.video:
            raise InputError(f"{path} has no video stream")
        vs = container.streams.video[0]
        ctx = vs.codec_context
        fps = vs.average_rate or vs.guessed_rate or vs.base_rate
        if not fps:
            raise MediaError(f"{path}: cannot determine the frame rate")
        fps = Fraction(fps)
        tb = Fraction(vs.time_base) if vs.time_base else 1 / fps
        sampled = _frame_dts(container, vs)
        full_index = bool(vs.frames) and len(vs.index_entries) == vs.frames
        frame_count = _index_frame_count(vs, fps, tb) if full_index else len(sampled)
        if not full_index:
            _check_complete(path, container, vs, sampled, tb, fps)
        if frame_count == 0:
            raise InputError(f"{path} has no video frames")
        pairs = zip(sampled[::2], sampled[1::2], strict=False) if full_index else itertools.pairwise(sampled)
        deltas = collections.Counter(b - a for a, b in pairs)  # interval -> occurrences
        # O(frames + distinct intervals): a jittery VFR clip has thousands of distinct intervals
        typical = max(deltas, key=lambda d: (deltas[d], d)) if deltas else None
        vfr = any(abs(d - typical) > 1 for d in deltas) if typical is not None else False
        if not vfr:  # first and last timestamps are both read (index pairs or the full scan)
            intervals = (len(vs.index_entries) if full_index else len(sampled)) - 1
            fps = snap_fps(fps, (sampled[-1] - sampled[0]) * tb, intervals, tb) if sampled else fps
        # CFR: exactly frames / fps. VFR: the stream's own duration when the container has one (an
        # mp4 index holds dts, whose span is off by the B-frame delay), else first to last timestamp
        # plus one typical frame.
        duration = Fraction(frame_count) / fps
        if vfr:
            dts = _all_dts(container, vs) if full_index else sampled
            duration = Fraction(vs.duration) * tb if vs.duration else (dts[-1] - dts[0] + (typical or 0)) * tb
        check_pixels(path, int(ctx.width), int(ctx.height))
        rotation = 0
        try:
            for frame in container.decode(vs):
                rotation = int(getattr(frame, "rotation", 0) or 0)
                break
        except av.error.FFmpegError as exc:
            raise InputError(f"cannot decode {path}: {exc}") from exc
        audio = [
            AudioStreamInfo(
                index=i,
                codec=a.codec_context.name,
                sample_rate=int(a.codec_context.sample_rate or 0),
                channels=int(a.codec_context.channels or 0),
                duration_seconds=Fraction(a.duration) * a.time_base if a.duration and a.time_base else None,
            )
            for i, a in enumerate(container.streams.audio)
        ]
        return ProbeResult(
            path=path,
            fps=fps,
            frame_count=frame_count,
            duration_seconds=duration,
            width=int(ctx.width),
            height=int(ctx.height),
            pix_fmt=str(ctx.pix_fmt),
            codec=ctx.name,
            rotation=rotation,
            vfr=vfr,
            start_seconds=Fraction(vs.start_time or 0) * tb,
            time_base=tb,
            audio=audio,
        )
