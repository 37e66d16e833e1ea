"""Overlap-frame tail extraction: the last N frames of a clip at a sampled fps, decoded bit-exactly.

The overlap frames sit at the very end of a clip, so decoding from the start would make the cost grow
with the clip's length. Instead we seek to the keyframe at or before the first wanted frame and decode
forward to the end. Three pitfalls shape the code:

* A seek aimed at frame ``i``'s pts can land after ``i``: indexes hold decode timestamps, and with
  B-frames a keyframe's dts precedes its pts; mpeg-ts seeks land on any packet. We look at the first
  keyframe packet before decoding anything and, if it is too late or absent, seek again further back.
* Frames are identified by pts (mapped to an index through the clip's start pts, time base and fps, or
  through the real pts list of a VFR clip) and the mapping is proven on every run: the decoded indices
  must be consecutive from the keyframe and end exactly on the clip's last frame.
* Leading frames of an open GOP (pts before the keyframe's) may reference the previous GOP; they are
  dropped, since only frames at or after the keyframe decode identically to a full decode.

If the seek cannot be proven right after a few attempts we fall back to a full decode, which
identifies frames by pts the same way, and say so in the result (``seek: "full-decode"``). A clip that
decodes to fewer (or other) frames than its container lists is truncated or corrupt: it is refused
with an :class:`InputError`, never answered with the wrong tail.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, TypeAlias

import av
import numpy as np
from PIL import Image

from ltxkit.api_schema import Canvas
from ltxkit.errors import InputError
from ltxkit.frames.canvas import to_canvas
from ltxkit.frames.checks import refuse_overwrite
from ltxkit.frames.damage import DamageWatch
from ltxkit.frames.probe import ProbeResult, demux_only, open_media, probe, upright
from ltxkit.fsutil import StrPath, atomic_path, write_json_atomic
from ltxkit.timing import SampleGrid, format_fps, round_half_up, sample_grid

SeekMode = Literal["keyframe", "full-decode"]
Selection = Literal["frame-index", "pts-time"]
if TYPE_CHECKING:  # av.Packet is generic only in the stubs
    VideoPacket: TypeAlias = av.Packet[av.video.stream.VideoStream]

SEEK_ATTEMPTS = 5  # first seek plus retries further back before decoding the whole clip
MANIFEST_NAME = "frames.json"

# Pillow encoder settings per output format. Both are lossless, so the files hold the decoded pixels;
# the knobs only trade size for time. In lossless WebP "quality" is compression effort: the defaults
# (and 100/method 4) take 1-3 s per 720p frame, while method 0 takes ~90 ms for files ~25% larger.
_FORMATS: dict[str, tuple[str, dict[str, Any]]] = {
    "webp": ("WEBP", {"lossless": True, "quality": 25, "method": 0}),
    "png": ("PNG", {"compress_level": 1}),
}
# Pillow encodes with the GIL released: 25 lossless 1080p WebP frames take 1.39 s on one thread and
# 0.45 s on two (issue 20; benchmarks/tail_extraction.py). Each file's bytes do not depend on it.
ENCODE_THREADS = 2


@dataclass(frozen=True)
class TailFrame:
    """One extracted frame and where it came from in the source clip."""

    from_end: int  # position on the sampled grid counted from the end: 1 = the last frame
    source_index: int  # frame index in the source clip (0 = first frame in presentation order)
    pts: int  # presentation timestamp in the stream's time base
    time_seconds: Fraction  # presentation time from the clip's first frame
    rgb: np.ndarray  # (height, width, 3) uint8 as displayed: the decoded rgb24 turned by the clip's rotation


@dataclass(frozen=True)
class TailResult:
    """The decoded tail, oldest first, with how it was found (seek mode, frame selection rule)."""

    info: ProbeResult
    sampled_fps: Fraction
    seek: SeekMode
    seek_attempts: int  # seeks tried before decoding (or before giving up and decoding everything)
    decoded_from: int  # index of the frame decoding started at: the keyframe, or 0 for a full decode
    selection: Selection  # "pts-time" for VFR clips: nearest real frame time to each sampled instant
    frames: list[TailFrame]
    grid: SampleGrid | None = None  # where a CFR clip's samples sit (samples, interpolation convention)
    damaged: tuple[int, ...] = ()  # frames the decoder flagged corrupt on the way, none of them used

    @property
    def arrays(self) -> list[np.ndarray]:
        return [f.rgb for f in self.frames]


def tail_indices_for_times(times: Sequence[Fraction], count: int, sampled_fps: Fraction,
                           samples: int | None = None) -> list[int]:
    """Indices of the frames starting nearest the last ``count`` sampled instants, for frames at ``times``.

    The VFR counterpart of :func:`ltxkit.timing.tail_source_indices` and identical to it on a constant
    grid (proven in the tests): sample k sits at ``k / sampled_fps`` after the first frame (the one exact
    anchor), the last sample is the last such instant inside the clip (or ``samples - 1`` when known),
    and each instant takes the frame starting nearest it, ties to the later one.
    """
    if count <= 0:
        raise InputError(f"-n must be ≥ 1, got {count}")
    if not times:
        raise InputError("the clip has no frames")
    start = times[0]
    if samples is None:
        samples = math.floor((times[-1] - start) * sampled_fps) + 1
    if count > samples:
        raise InputError(
            f"the clip has {len(times)} frames ({float(times[-1] - start):.3f} s), "
            f"too few for {count} frames at {format_fps(sampled_fps)} fps"
        )
    picks: list[int] = []
    for k in range(samples - count, samples):
        instant = start + Fraction(k) / sampled_fps
        hi = min(bisect.bisect_left(times, instant), len(times) - 1)
        picks.append(hi - 1 if hi > 0 and instant - times[hi - 1] < times[hi] - instant else hi)
    return picks


@dataclass(frozen=True)
class _Timeline:
    """Maps a pts to a frame index: arithmetic for CFR clips, the demuxed pts list for VFR clips."""

    start_pts: int
    time_base: Fraction
    fps: Fraction
    frame_count: int
    vfr_pts: tuple[int, ...] | None = None  # every frame's pts in presentation order (VFR only)

    def index_of(self, pts: int) -> int | None:
        if self.vfr_pts is not None:
            i = bisect.bisect_left(self.vfr_pts, pts)
            return i if i < len(self.vfr_pts) and self.vfr_pts[i] == pts else None
        return round_half_up((pts - self.start_pts) * self._frames_per_tick)

    @functools.cached_property
    def _frames_per_tick(self) -> Fraction:
        return self.time_base * self.fps

    def pts_of(self, index: int) -> int:
        if self.vfr_pts is not None:
            return self.vfr_pts[index]
        return self.start_pts + round_half_up(Fraction(index) / self.fps / self.time_base)

    def seconds(self, pts: int) -> Fraction:
        return (pts - self.start_pts) * self.time_base

    def select(self, count: int, sampled_fps: Fraction, samples: int | None) -> tuple[list[int], SampleGrid | None]:
        """The frames of the last ``count`` samples, and the sample grid of a CFR clip."""
        if self.vfr_pts is None:
            grid = sample_grid(self.frame_count, self.fps, sampled_fps, samples)
            return grid.tail(count), grid
        times = [self.seconds(p) for p in self.vfr_pts]
        return tail_indices_for_times(times, count, sampled_fps, samples), None


def _rgb(frame: av.VideoFrame) -> np.ndarray:
    """The one RGB conversion used by every path, so seek and full decode agree to the bit.

    Single-threaded: since PyAV 17 the default sets up a swscale thread pool per call, which costs
    ~8 ms per small frame instead of ~0.2 ms (PyAV issue #2200); the pixels are the same either way.
    """
    return frame.to_ndarray(format="rgb24", threads=1)


def _demux_pts(container: av.container.InputContainer, vs: av.video.stream.VideoStream) -> tuple[int, ...]:
    """Every frame's pts in presentation order, from a demux-only scan (VFR clips need real times)."""
    # packets an edit list discards (a head-trimmed mp4) are demuxed but never decoded into frames
    return tuple(sorted(p.pts for p in container.demux(vs) if p.size and p.pts is not None and not p.is_discard))


def _decode_from_keyframe(
    vs: av.video.stream.VideoStream,
    packets: Iterator[VideoPacket],
    key_pts: int,
    key_index: int,
    timeline: _Timeline,
    wanted: set[int],
    damage: DamageWatch,
) -> dict[int, tuple[int, np.ndarray]] | None:
    """Decode from the keyframe to the end; None unless the pts→index mapping is proven on the way.

    A damaged wanted frame is refused here: decoding from further back cannot undo the damage.
    """
    expected = max(key_index, 0)  # frames before the clip's start (edit-list discards) never come out
    got: dict[int, tuple[int, np.ndarray]] = {}
    for packet in packets:
        for frame in vs.decode(packet):
            if frame.pts is None:
                return None
            if frame.pts < key_pts:  # open-GOP leading frame: may reference the previous GOP
                continue
            index = timeline.index_of(frame.pts)
            if index is None or index != expected:  # a gap, a repeat, a stray pts: not proven
                return None
            damage.see(frame, index, used=index in wanted)
            expected = index + 1
            if index in wanted:
                got[index] = (frame.pts, _rgb(frame))
    if expected != timeline.frame_count or set(got) != wanted:
        return None
    return got


class _SeekOutcome(NamedTuple):
    frames: dict[int, tuple[int, np.ndarray]] | None  # index -> (pts, rgb); None: not proven
    attempts: int
    decoded_from: int  # index of the keyframe decoding started at (-1 if never decoded)


def _seek_decode(
    container: av.container.InputContainer, vs: av.video.stream.VideoStream, timeline: _Timeline,
    wanted: list[int], damage: DamageWatch,
) -> _SeekOutcome:
    """Seek to a keyframe at or before ``wanted[0]`` and decode forward to the end.

    A landing is judged from the first keyframe packet, before anything is decoded. When it is too
    late (a keyframe whose open-GOP leading frames include the first wanted one; an index of dts; an
    mpeg-ts seek that lands on any packet) or absent, seek again from before where we landed, further
    back at each attempt.
    """
    first = wanted[0]
    target = timeline.pts_of(first)
    for attempt in range(1, SEEK_ATTEMPTS + 1):
        container.seek(target, stream=vs, backward=True)
        packets = container.demux(vs)
        landed_at: int | None = None  # dts of the first packet after the seek: where it landed
        key = None
        for packet in packets:
            if not packet.size:
                continue
            if landed_at is None:
                landed_at = packet.dts if packet.dts is not None else packet.pts
            if packet.is_keyframe:
                key = packet
                break
        if key is not None:
            index = None if key.pts is None else timeline.index_of(key.pts)
            if key.pts is None or index is None:  # cannot tell which frame it is
                return _SeekOutcome(None, attempt, -1)
            if index <= first:  # only now decode: a rejected landing never touches the decoder
                frames = _decode_from_keyframe(vs, itertools.chain([key], packets), key.pts, index,
                                               timeline, set(wanted), damage)
                return _SeekOutcome(frames, attempt, index)
        if landed_at is not None:
            target = min(target, landed_at)
        # just before a late keyframe finds the previous one where seeking is exact (mp4, mkv);
        # otherwise (no keyframe after the landing, or a retry) go back 1 s, 2 s, 4 s, ...
        exact_retry = key is not None and attempt == 1
        target -= 1 if exact_retry else round_half_up(Fraction(2 ** (attempt - 1)) / timeline.time_base)
    return _SeekOutcome(None, SEEK_ATTEMPTS, -1)


def _corrupt(video: Path, decoded: int, exc: av.error.FFmpegError) -> InputError:
    reason = exc.strerror or type(exc).__name__
    return InputError(f"{video}: decoding failed after {decoded} frames ({reason}); "
                      "the file looks truncated or corrupt")


def _full_decode(video: Path, timeline: _Timeline, wanted: list[int],
                 damage: DamageWatch) -> dict[int, tuple[int, np.ndarray]]:
    """Decode every frame from the start: the reference path and the last resort.

    Each frame is identified by its pts through ``timeline``, as on the seek path, never by a counter:
    counting would renumber every frame after a lost one. A frame count other than the container's
    (a truncated or corrupt file) is refused, since the tail it would give is not the clip's tail.
    """
    want = set(wanted)
    got: dict[int, tuple[int, np.ndarray]] = {}
    decoded = 0
    index = -1
    with open_media(video, decoding=True) as container:
        vs = demux_only(container, container.streams.video[0])
        try:
            for frame in container.decode(vs):
                decoded += 1
                # no pts (rare, raw streams): the frame after the previous one
                found = index + 1 if frame.pts is None else timeline.index_of(frame.pts)
                if found is None or not 0 <= found < timeline.frame_count:
                    raise InputError(f"{video}: a decoded frame (pts {frame.pts}) is not one of the "
                                     f"{timeline.frame_count} frames the container lists; the file looks "
                                     "corrupt")
                index = found
                damage.see(frame, index, used=index in want)
                if index in want:
                    pts = frame.pts if frame.pts is not None else timeline.pts_of(index)
                    got[index] = (pts, _rgb(frame))
        except av.error.FFmpegError as exc:
            raise _corrupt(video, decoded, exc) from exc
    # (a VFR clip's frames are known by their exact pts: only the wanted ones must be there)
    if timeline.vfr_pts is None and decoded != timeline.frame_count:
        raise InputError(f"{video}: decoded {decoded} of {timeline.frame_count} frames; the file looks "
                         "truncated or corrupt")
    missing = sorted(want - got.keys())
    if missing:
        raise InputError(f"{video}: frame {missing[0]} of its {timeline.frame_count} frames was not decoded; "
                         "the file looks corrupt")
    return got


def read_tail(video: StrPath, count: int, sampled_fps: Fraction | None = None, *,
              info: ProbeResult | None = None, samples: int | None = None) -> TailResult:
    """The last ``count`` samples of ``video`` at ``sampled_fps`` (default: its own fps) as RGB arrays.

    Sample k is the frame nearest ``k / sampled_fps`` from frame 0 (:class:`ltxkit.timing.SampleGrid`):
    an interpolated clip's real samples in every convention, never the blends between them. ``samples``
    is the clip's sample count when the run knows it (the request's durationFrames); else it is inferred.

    Decodes one GOP whatever the clip's length; pixels equal those of a full decode. Pass ``info`` when
    the clip was already probed: probing walks the whole sample index, the one cost that grows with
    the clip's length.
    """
    video = Path(video)
    if count <= 0:
        raise InputError(f"-n must be ≥ 1, got {count}")
    if info is None:
        info = probe(video)
    elif info.path != video:
        raise ValueError(f"info describes {info.path}, not {video}")
    sampled = info.fps if sampled_fps is None else sampled_fps
    with open_media(video, decoding=True) as container:
        vs = demux_only(container, container.streams.video[0])
        vs.thread_type = "FRAME"  # one GOP 1.35x faster than PyAV's slice threads, the same pixels (tested)
        vfr_pts = _demux_pts(container, vs) if info.vfr else None
        timeline = _Timeline(
            start_pts=vfr_pts[0] if vfr_pts else int(vs.start_time or 0), time_base=info.time_base,
            fps=info.fps, frame_count=len(vfr_pts) if vfr_pts else info.frame_count, vfr_pts=vfr_pts)
        if vfr_pts is not None and len(vfr_pts) != info.frame_count:
            raise InputError(f"{video}: found {len(vfr_pts)} of {info.frame_count} frames; the file looks "
                             "truncated or corrupt")
        wanted, grid = timeline.select(count, sampled, samples)  # InputError here when the clip is too short
        damage = DamageWatch(video)
        try:
            outcome = _seek_decode(container, vs, timeline, wanted, damage)
        except av.error.FFmpegError:  # damaged data after the seek: the full decode says where, or copes
            outcome = _SeekOutcome(None, SEEK_ATTEMPTS, -1)
    seek: SeekMode = "keyframe"
    frames, decoded_from = outcome.frames, outcome.decoded_from
    if frames is None:
        seek, decoded_from = "full-decode", 0
        damage = DamageWatch(video)
        frames = _full_decode(video, timeline, wanted, damage)
    out: list[TailFrame] = []
    seen: set[int] = set()
    for k, index in enumerate(wanted):
        pts, rgb = frames[index]
        rgb = upright(rgb, info.rotation)
        out.append(TailFrame(from_end=len(wanted) - k, source_index=index, pts=pts,
                             time_seconds=timeline.seconds(pts), rgb=rgb.copy() if index in seen else rgb))
        seen.add(index)
    return TailResult(info=info, sampled_fps=sampled, seek=seek, seek_attempts=outcome.attempts,
                      decoded_from=decoded_from, selection="pts-time" if info.vfr else "frame-index", frames=out,
                      grid=grid, damaged=tuple(damage.flagged))


# --- writing frames + frames.json ----------------------------------------------------------------


def tail_file_name(stem: str, from_end: int, count: int, fmt: str) -> str:
    """``<stem>-last-03.webp``: the index from the end, zero-padded to the width of N (at least 2)."""
    return f"{stem}-last-{from_end:0{max(2, len(str(count)))}d}.{fmt}"


def _check_out_dir(out_dir: Path) -> None:
    """Refuse an output path that is, or sits under, an existing non-directory (before any decoding)."""
    for path in (out_dir, *out_dir.parents):
        if path.exists():
            if not path.is_dir():
                raise InputError(f"output path {path} exists and is not a directory")
            return


def _save_image(rgb: np.ndarray, target: Path, fmt: str) -> None:
    pil_format, options = _FORMATS[fmt]
    with atomic_path(target) as tmp:
        Image.fromarray(rgb).save(tmp, format=pil_format, **options)


def _missing_dirs(out_dir: Path) -> list[Path]:
    """``out_dir`` and its ancestors that do not exist yet, deepest first (what cleanup may remove)."""
    missing = []
    for path in (out_dir, *out_dir.parents):
        if path.exists():
            break
        missing.append(path)
    return missing


def extract_tail(video: StrPath, count: int, out_dir: StrPath, *, sampled_fps: Fraction | None = None,
                 fmt: str = "webp", samples: int | None = None, canvas: Canvas | None = None) -> dict[str, Any]:
    """Write the tail frames (lossless WebP or PNG, oldest first) and ``frames.json`` into ``out_dir``.

    With ``canvas`` the frames are put on the API's canvas (padded, see :class:`ltxkit.api_schema.Canvas`).

    Everything is validated and decoded before the directory is created; on any error the files
    written so far (and the directory, if this call created it) are removed. Returns the manifest.
    """
    video, out_dir = Path(video), Path(out_dir)
    if fmt not in _FORMATS:
        raise InputError(f"--format must be one of {', '.join(_FORMATS)}, got {fmt!r}")
    if count <= 0:
        raise InputError(f"-n must be ≥ 1, got {count}")
    _check_out_dir(out_dir)
    result = read_tail(video, count, sampled_fps, samples=samples)
    info = result.info
    manifest: dict[str, Any] = {
        "source": str(video.resolve()),
        "fps": format_fps(info.fps),
        "sampled_fps": format_fps(result.sampled_fps),
        "frame_count": info.frame_count,
        "count": count,
        "seek": result.seek,
        "seek_attempts": result.seek_attempts,
        "decoded_from": result.decoded_from,
        "vfr": info.vfr,
        "selection": result.selection,
        "damaged_frames": list(result.damaged),  # flagged corrupt and not used: the tail decodes clean without
        "sampling": None if result.grid is None else result.grid.to_json(),
        "width": info.display_size[0] if canvas is None else canvas.width,
        "height": info.display_size[1] if canvas is None else canvas.height,
        "canvas": None if canvas is None else canvas.describe(),
        "rotation": info.rotation,  # applied: the frames are upright as displayed, at the displayed size
        "time_base": str(info.time_base),
        "format": fmt,
        "frames": [
            {"file": tail_file_name(video.stem, f.from_end, count, fmt), "from_end": f.from_end,
             "source_index": f.source_index, "pts": f.pts, "time_seconds": float(f.time_seconds)}
            for f in result.frames
        ],
    }
    refuse_overwrite([out_dir / e["file"] for e in manifest["frames"]] + [out_dir / MANIFEST_NAME], [video])
    created = _missing_dirs(out_dir)
    targets = [out_dir / e["file"] for e in manifest["frames"]]  # none exists (refused above)

    def save(frame: TailFrame, target: Path) -> None:
        _save_image(frame.rgb if canvas is None else to_canvas(frame.rgb, canvas), target, fmt)

    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with ThreadPoolExecutor(max_workers=ENCODE_THREADS) as pool:  # leaving it waits for every file
            list(pool.map(save, result.frames, targets))
        write_json_atomic(out_dir / MANIFEST_NAME, manifest)  # last: the set is complete once it exists
    except BaseException:
        for path in targets:
            path.unlink(missing_ok=True)
        for path in created:
            if path.is_dir() and not any(path.iterdir()):
                path.rmdir()
        raise
    return manifest
