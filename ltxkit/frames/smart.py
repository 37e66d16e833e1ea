"""Smart render: copy the GOPs a join leaves untouched, re-encode only the frames around each seam.

A full render decodes and re-encodes every frame, so a splice after a ten-minute A costs ten minutes of
encoding and costs A a generation of quality. Here each h264 video piece of the :class:`Timeline` is
split at *clean cut points* of its source: a decode position whose packets before it show exactly the
frames before it and whose packet is an IDR picture (nothing after it references anything before it).
Packets between two cut points inside a kept range are stream-copied (bytes untouched, timestamps
rebased); only the frames from a piece's edge to the nearest cut point inside it are decoded and
re-encoded, by x264 with the copied stream's profile, level, pixel format, colour metadata and size.

Parameter sets: the re-encoded runs use their own SPS/PPS id (x264 ``sps-id``), stored next to the
first clip's in the mp4 ``avcC`` and repeated in-band at their IDRs, so copied packets keep decoding
with their own parameter sets; a copied clip whose parameter sets differ from the ones in force gets
them prepended in-band to its first packet. The first clip's AAC packets are copied up to the seam
and the sound re-encoded from there (:mod:`ltxkit.frames.aac`), or re-encoded whole, saying why.
Anything that cannot be matched (another codec, size, rate, pixel format, rotation, h264 profile,
edit-list discards) falls back to :func:`ltxkit.frames.render.render`, and the result says why.

A leading copied run (A up to its last IDR before the seam, however long) and the copied sound up to
the same instant never pass the muxer: the rest is muxed into a scratch file and
:func:`ltxkit.frames.mp4.prepend` puts the run's byte ranges before it, with sample tables built in bulk,
so the splice's cost does not grow with A's packet count.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any, cast

import av
import numpy as np

from ltxkit.errors import InputError, MediaError
from ltxkit.frames import mp4
from ltxkit.frames.aac import FRAME, AacCopy, plan_copy
from ltxkit.frames.codecs import RENDER_MODES, codec_profile
from ltxkit.frames.mp4 import Ints
from ltxkit.frames.probe import ProbeResult, demux_only, open_media
from ltxkit.frames.render import AudioEncode, Readers, RenderResult, verify_written, video_frames
from ltxkit.frames.render import render as render_full
from ltxkit.frames.timeline import Piece, Timeline
from ltxkit.fsutil import atomic_path, final_name, scratch_path
from ltxkit.progress import report
from ltxkit.timing import frame_to_sample, round_half_up

_X264_PROFILES = {"Constrained Baseline": "baseline", "Baseline": "baseline", "Main": "main", "High": "high"}
_NAL_IDR, _NAL_SPS, _NAL_PPS = 5, 7, 8
_COPY_REPORT = 250  # copied packets between progress reports (one a packet costs more than the copy)
_INTERLEAVE = 25  # video packets muxed between two batches of sound (well inside the muxer's 10 s delta)
# A seam run is short (to the next IDR: a GOP or two), and x264 holds each lookahead frame in full in every
# frame thread: preset fast's 30 frames made a 1080p smart render peak at 432 MiB, 20 frames at 387 MiB,
# and encoded a 35-frame run as well (luma 54.84 against 54.82 dB to the source, 0.2 % more bytes).
# A caller's own options (a review clip's ultrafast, which looks ahead 0) replace these.
SEAM_OPTIONS = {"rc-lookahead": "20"}


# --- h264 bitstream helpers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AvcConfig:
    """The parts of an ``avcC`` box (ISO 14496-15) a copy needs: NAL length size and parameter sets."""

    header: bytes  # version, profile, compatibility, level
    nal_size: int
    sps: tuple[bytes, ...]
    pps: tuple[bytes, ...]
    tail: bytes  # the high-profile extension bytes, kept as they are

    @classmethod
    def parse(cls, data: bytes) -> AvcConfig:
        if len(data) < 7 or data[0] != 1:
            raise ValueError("not an avcC record (Annex B extradata)")
        pos = 6
        sps = []
        for _ in range(data[5] & 0x1F):
            n = int.from_bytes(data[pos:pos + 2])
            sps.append(data[pos + 2:pos + 2 + n])
            pos += 2 + n
        pps = []
        count, pos = data[pos], pos + 1
        for _ in range(count):
            n = int.from_bytes(data[pos:pos + 2])
            pps.append(data[pos + 2:pos + 2 + n])
            pos += 2 + n
        return cls(data[:4], (data[4] & 3) + 1, tuple(sps), tuple(pps), data[pos:])

    def to_bytes(self) -> bytes:
        out = bytearray(self.header)
        out += bytes([0xFC | (self.nal_size - 1), 0xE0 | len(self.sps)])
        for nal in self.sps:
            out += len(nal).to_bytes(2) + nal
        out.append(len(self.pps))
        for nal in self.pps:
            out += len(nal).to_bytes(2) + nal
        return bytes(out + self.tail)

    def sets(self) -> dict[tuple[int, int], bytes]:
        """Parameter sets by (NAL type, id): the id follows profile, flags and level in an SPS."""
        return {**{(_NAL_SPS, _ue(n, 4)): n for n in self.sps}, **{(_NAL_PPS, _ue(n, 1)): n for n in self.pps}}

    def in_band(self) -> bytes:
        return b"".join(len(n).to_bytes(self.nal_size) + n for n in (*self.sps, *self.pps))


def _ue(nal: bytes, skip: int) -> int:
    """The first Exp-Golomb number after ``skip`` bytes of a NAL (header included): an SPS or PPS id."""
    bits = "".join(f"{b:08b}" for b in nal[skip:skip + 8])
    zeros = len(bits) - len(bits.lstrip("0"))
    return int(bits[zeros:2 * zeros + 1], 2) - 1


def split_annexb(data: bytes) -> list[bytes]:
    """The NAL units of an Annex B byte stream (what libx264 emits without a global header)."""
    nals = []
    starts = []
    i = data.find(b"\x00\x00\x01")
    while i >= 0:
        starts.append(i + 3)
        i = data.find(b"\x00\x00\x01", i + 3)
    for k, s in enumerate(starts):
        end = starts[k + 1] - 3 if k + 1 < len(starts) else len(data)
        nals.append(data[s:end].rstrip(b"\x00") if k + 1 < len(starts) else data[s:end])
    return nals


def _nal_types(data: bytes, nal_size: int) -> Iterator[int]:
    pos = 0
    while pos + nal_size < len(data):
        n = int.from_bytes(data[pos:pos + nal_size])
        yield data[pos + nal_size] & 0x1F
        pos += nal_size + n


# --- where a source can be cut ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    """A source's clean cut points, its reorder delay and its time stamps in frames."""

    info: ProbeResult
    config: AvcConfig
    cuts: dict[int, int]  # frame index -> decode position (the same number); frame_count -> packets
    open_gop: bool  # keyframes that are not IDR (recovery points): not cut points
    profile: str
    delay: int  # frames decoding runs ahead of display
    ticks: int  # time-base ticks a frame
    start_pts: int  # frame 0's
    tables: tuple[mp4.Track, Ints] | None  # its sample tables and the frame each sample shows (mp4/mov)


def _is_idr(data: bytes, config: AvcConfig) -> bool:
    return _NAL_IDR in _nal_types(data, config.nal_size)


_Found = tuple[int, int, list[int], int]  # packets, keyframes, IDR keyframes' decode positions, delay


def _indexed(info: ProbeResult, container: Any, stream: Any, config: AvcConfig, ticks: int,
             start_pts: int) -> tuple[_Found, tuple[mp4.Track, Ints]] | str | None:
    """From an mp4/mov file's sample tables (read in bulk), reading only the keyframes' bytes (an IDR shows
    every frame before it first, so its decode position is its frame); None without them (Matroska's cues
    list keyframes only), or when the edit list does more than move the track or hides frames (the demux
    then says which)."""
    track = mp4.read_track(info.path, container.format.name, stream.id)
    times = track.times() if track is not None else None
    if track is None or times is None or not len(track.samples):
        return None
    dts, pts = times
    frames, odd = np.divmod(pts - start_pts, ticks)
    positions = np.arange(len(frames))
    if odd.any() or not np.array_equal(np.sort(frames), positions):
        return None
    delay = Fraction(start_pts - int(dts[0]), ticks)
    if delay.denominator != 1 or delay < 0 or np.any(np.diff(dts) != ticks):
        return f"{info.path.name}: its decode timestamps are not one frame apart"
    # a cut point's packets before it show exactly the frames before it (a leading picture would not)
    shown = np.maximum.accumulate(frames)
    clean = (frames == positions) & (np.concatenate(([-1], shown[:-1])) == positions - 1)
    keys = np.flatnonzero(track.samples.sync & clean)
    idr = []
    with info.path.open("rb") as f:
        for j, pos, size in zip(keys.tolist(), track.samples.offsets[keys].tolist(),
                                track.samples.sizes[keys].tolist(), strict=True):
            f.seek(pos)
            if _is_idr(f.read(size), config):
                idr.append(j)
    return (len(dts), int(track.samples.sync.sum()), idr, int(delay)), (track, frames)


def _demuxed(container: Any, stream: Any, info: ProbeResult, config: AvcConfig) -> _Found | str:
    """By demuxing every packet (no sample index): an IDR is a cut point where it shows every frame before it."""
    frames: list[int] = []
    keys = 0
    idr: list[int] = []
    top = -1
    for packet in container.demux(stream):
        if packet.pts is None or packet.size == 0:
            continue
        frame = round_half_up((Fraction(packet.pts) * info.time_base - info.start_seconds) * info.fps)
        j = len(frames)
        frames.append(frame)
        if packet.is_keyframe:
            keys += 1
            if top == j - 1 == frame - 1 and _is_idr(bytes(packet), config):
                idr.append(j)
        top = max(top, frame)
    if sorted(frames) != list(range(info.frame_count)):
        return f"{info.path.name}: its packets do not show frames 0..{info.frame_count - 1} once each " \
               "(an edit list discards some)"
    return len(frames), keys, idr, _delay(frames)


def _scan(info: ProbeResult) -> _Source | str:
    """Where one source can be cut, from its sample index, else by demuxing; a string says why it cannot
    be copied at all."""
    name = info.path.name
    ticks = int(1 / (info.fps * info.time_base))  # whole: checked by _mismatch
    start_pts = round_half_up(info.start_seconds / info.time_base)
    with open_media(info.path) as container:
        stream = container.streams.video[0]
        profile = str(stream.codec_context.profile)
        if profile not in _X264_PROFILES:
            return f"{name}: x264 cannot match h264 profile {profile}"
        try:
            config = AvcConfig.parse(bytes(stream.codec_context.extradata or b""))
        except ValueError as exc:
            return f"{name}: {exc}"
        indexed = _indexed(info, container, stream, config, ticks, start_pts)
        tables = indexed[1] if isinstance(indexed, tuple) else None
        found = indexed[0] if isinstance(indexed, tuple) else \
            indexed if indexed is not None else _demuxed(container, stream, info, config)
    if isinstance(found, str):
        return found
    packets, keys, idr, delay = found
    if packets != info.frame_count:
        return f"{name}: its {packets} packets are not its {info.frame_count} frames"
    cuts = {info.frame_count: packets} | {j: j for j in idr}
    return _Source(info, config, cuts, len(idr) < keys, profile, delay, ticks, start_pts, tables)


# --- the plan: copied and re-encoded runs -----------------------------------------------------------------


@dataclass(frozen=True)
class _Copy:
    source: _Source
    first: int  # decode position of the first copied packet
    count: int  # packets (= frames)
    frame: int  # the source frame the run starts with



@dataclass(frozen=True)
class _Encode:
    pieces: tuple[Piece, ...]

    @property
    def count(self) -> int:
        return sum(p.count for p in self.pieces)


def _split(piece: Piece, src: _Source | None) -> list[_Copy | _Encode]:
    """Copy the part of ``piece`` between its outermost cut points; re-encode what lies outside them."""
    end = piece.start + piece.count
    if src is None or piece.blend is not None or piece.grade is not None:  # changed pictures: re-encoded
        return [_Encode((piece,))]
    inside = sorted(f for f in src.cuts if piece.start <= f <= end)
    if len(inside) < 2:
        return [_Encode((piece,))]
    k, e = inside[0], inside[-1]
    runs: list[_Copy | _Encode] = []
    if k > piece.start:
        runs.append(_Encode((replace(piece, count=k - piece.start),)))
    runs.append(_Copy(src, src.cuts[k], src.cuts[e] - src.cuts[k], k))
    if e < end:
        runs.append(_Encode((replace(piece, start=e, count=end - e),)))
    return runs


def _plan(tl: Timeline, sources: dict[Path, _Source]) -> list[_Copy | _Encode]:
    runs: list[_Copy | _Encode] = []
    for piece in tl.video:
        for run in _split(piece, sources.get(piece.source)):
            last = runs[-1] if runs else None
            if isinstance(run, _Encode) and isinstance(last, _Encode):
                runs[-1] = _Encode(last.pieces + run.pieces)  # one encoder session across the cut
            else:
                runs.append(run)
    return runs


def _mismatch(tl: Timeline, codec: str, output: Path, infos: Sequence[ProbeResult]) -> str | None:
    """Why the copied and re-encoded parts could not form one stream, or None."""
    if codec != "h264" or codec_profile(codec).container_for(output) not in ("mp4", "mov"):
        return f"--codec {codec} to {output.suffix}: smart render writes h264 in mp4/mov"
    for info in infos:
        name = info.path.name
        if info.codec != "h264":
            return f"{name} is {info.codec}, not h264"
        if (info.width, info.height) != (tl.width, tl.height):
            return f"{name} is {info.width}x{info.height}, the output {tl.width}x{tl.height}"
        if info.fps != tl.fps or info.vfr:
            return f"{name} is not constant {tl.fps} fps"
        if info.pix_fmt != "yuv420p":
            return f"{name} is {info.pix_fmt}, not yuv420p"
        if info.rotation:  # the render hands on upright pixels; copied packets would stay turned
            return f"{name} is rotated {info.rotation}°"
        ticks = 1 / (info.fps * info.time_base)
        if ticks.denominator != 1:
            return f"{name}: a frame is not a whole number of its time base {info.time_base}"
    return None


# --- encoding the runs that change ------------------------------------------------------------------------


@dataclass
class _Packets:
    """Encoded packets of one re-encoded run, converted to length-prefixed NALs."""

    data: list[bytes] = field(default_factory=list)
    frames: list[int] = field(default_factory=list)  # display index within the run
    keys: list[bool] = field(default_factory=list)
    config: AvcConfig | None = None


def _encoder(ref: Any, tl: Timeline, sps_id: int, options: dict[str, str]) -> Any:
    ctx = av.CodecContext.create("libx264", "w")
    ctx.width, ctx.height, ctx.pix_fmt = tl.width, tl.height, "yuv420p"
    ctx.time_base = 1 / tl.fps
    ctx.framerate = tl.fps
    for name in ("color_range", "colorspace", "color_primaries", "color_trc", "sample_aspect_ratio"):
        if getattr(ref, name) is not None:
            setattr(ctx, name, getattr(ref, name))
    ctx.thread_type = "FRAME"  # as the full render's (CodecProfile.frame_threads)
    ctx.options = {**options, "profile": _X264_PROFILES[ref.profile], "level": str(ref.level),
                   "x264-params": f"sps-id={sps_id}"}
    return ctx


@dataclass
class _Tally:
    """Frames rendered so far (re-encoded first, then copied), reported as the full render reports them."""

    task: str
    total: int
    done: int = 0

    def step(self, frames: int = 1) -> None:
        self.done += frames
        report(self.task, "rendering", self.done, self.total, "frames")


def _encode_run(run: _Encode, tl: Timeline, readers: Readers, ref: Any, sps_id: int,
                options: dict[str, str], nal_size: int, tally: _Tally) -> _Packets:
    ctx = _encoder(ref, tl, sps_id, options)
    out = _Packets()

    def take(packets: list[Any]) -> None:
        for packet in packets:
            nals = split_annexb(bytes(packet))
            if out.config is None:
                sps = tuple(n for n in nals if n[0] & 0x1F == _NAL_SPS)
                pps = tuple(n for n in nals if n[0] & 0x1F == _NAL_PPS)
                out.config = AvcConfig(b"", nal_size, sps, pps, b"")
            out.data.append(b"".join(len(n).to_bytes(nal_size) + n for n in nals))
            out.frames.append(int(packet.pts or 0))
            out.keys.append(bool(packet.is_keyframe))

    sub = replace(tl, video=run.pieces, audio=None)
    for k, frame in enumerate(video_frames(sub, readers)):
        frame.pts, frame.time_base = k, ctx.time_base
        frame.pict_type = av.video.frame.PictureType.NONE
        take(ctx.encode(frame))
        tally.step()
    take(ctx.encode(None))
    if sorted(out.frames) != list(range(run.count)):
        raise MediaError(f"the encoder returned frames {sorted(out.frames)[:3]}… for {run.count} frames")
    return out


# --- writing ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CopiedRun:
    """Source frames ``first``..``last`` of ``clip`` (``gops`` GOPs) stream-copied: never decoded here, so
    their packets reach the output as they are, damage included, like any stream copy."""

    clip: str
    first: int
    last: int
    gops: int

    def to_json(self) -> dict[str, Any]:
        return {"clip": self.clip, "first_frame": self.first, "last_frame": self.last, "gops": self.gops}


@dataclass(frozen=True)
class SmartRenderResult:
    """A render plus how it was made: ``mode`` 'smart' (GOPs copied) or 'full' (everything re-encoded)."""

    render: RenderResult
    mode: str
    reason: str  # why full, or what was copied and re-encoded
    copied_frames: int
    encoded_frames: int
    copied: tuple[CopiedRun, ...] = ()
    sound: dict[str, Any] | None = None  # AAC packets copied, or why the sound is re-encoded (smart only)

    def to_json(self) -> dict[str, Any]:
        audio = self.sound or ({"copied_packets": 0, "reason": self.reason}
                               if self.render.audio_samples is not None else None)
        return {"mode": self.mode, "reason": self.reason, "copied_frames": self.copied_frames,
                "encoded_frames": self.encoded_frames, "copied": [c.to_json() for c in self.copied],
                "audio": audio, "summary": self.summary, "notes": self.notes}

    @property
    def summary(self) -> str:
        """One line for a person: what was copied, or why everything was re-encoded."""
        if self.mode == "full":
            return f"full re-encode ({self.reason})"
        return f"smart: {self.copied_frames} frames copied, {self.encoded_frames} re-encoded ({self.reason})"

    @property
    def notes(self) -> list[str]:
        notes = [f"{c.clip}: {c.gops} GOP{'s' if c.gops != 1 else ''} (frames {c.first}-{c.last}) copied without "
                 "decoding: passed through bit-for-bit, as good (or as damaged) as the source"
                 for c in self.copied]
        if self.sound is not None and self.sound["copied_packets"]:
            notes.append(f"sound: {self.sound['clip']}'s first {self.sound['copied_packets']} AAC packets copied "
                         f"bit-for-bit, re-encoded from {self.sound['reencoded_from_seconds']:.3f} s on")
        elif self.sound is not None:
            notes.append(f"sound re-encoded: {self.sound['reason']}")
        return notes


def _delay(frames: Sequence[int]) -> int:
    """Reorder delay of a run (display indices in decode order): how far decoding runs ahead of display."""
    return max(0, max(k - f for k, f in enumerate(frames)))


def _copy_packets(run: _Copy, prefix: bytes) -> Iterator[av.Packet[Any]]:
    """The run's packets as stored (``prefix`` before the first), seeking to its first keyframe by its pts."""
    src = run.source
    wanted = src.start_pts + run.frame * src.ticks
    with open_media(src.info.path) as container:
        stream = demux_only(container, container.streams.video[0])
        if run.first > 0:
            container.seek(wanted, stream=stream, backward=True)
        sent = 0
        for packet in container.demux(stream):
            if packet.pts is None or packet.size == 0 or (sent == 0 and packet.pts != wanted):
                continue
            if sent == 0 and prefix:
                first: av.Packet[Any] = av.Packet(prefix + bytes(packet))
                first.pts = packet.pts
                yield first
            else:
                yield packet
            sent += 1
            if sent == run.count:
                return
    raise MediaError(f"{src.info.path.name}: {run.count - sent} packets missing after the seek")


class _Sound:
    """The output's audio: the first clip's copied AAC packets (when it has them), then the re-encode."""

    def __init__(self, tl: Timeline, readers: Readers, out: Any, copy: AacCopy | str, base: Any,
                 prepended: int) -> None:
        """``base``: the open first source, the copied sound's template when it is the copied clip;
        ``prepended``: copied packets that go in by byte range once the muxer is done (:func:`_prepend`)."""
        self.copy = copy
        if isinstance(copy, AacCopy):
            with nullcontext(base) if copy.source == Path(base.name) else open_media(copy.source) as template:
                self.stream = out.add_stream_from_template(template.streams.audio[0])
            self.sound = copy.sound
            self._copied: Iterator[av.Packet[Any]] | None = copy.packets(prepended)
        else:
            self.stream = out.add_stream("aac", rate=tl.sample_rate)
            self.stream.layout, self.stream.format = tl.layout, "fltp"
            self.sound = AudioEncode(tl, readers, self.stream.codec_context)
            self._copied = None
        self._held: av.Packet[Any] | None = None

    def mux_until(self, out: Any, target: int) -> None:
        """Mux the sound up to output sample ``target``: copied packets first, re-encoded ones after them."""
        if self._copied is not None:
            packet = self._held if self._held is not None else next(self._copied, None)
            stream = self.stream
            while packet is not None and int(packet.pts or 0) < target:
                packet.stream = stream
                out.mux(packet)
                packet = next(self._copied, None)
            self._held = packet
            if packet is not None:
                return
            self._copied = None
        self.sound.mux_until(out, self.stream, target)


def _shift(runs: list[_Copy | _Encode], encoded: list[_Packets]) -> int:
    """One dts shift for all runs (the largest reorder delay), so dts rises and never passes pts."""
    return max(run.source.delay if isinstance(run, _Copy) else _delay(cast(_Packets, enc).frames)
               for run, enc in zip(runs, _encoded_per_run(runs, encoded), strict=True))


def _write(tl: Timeline, path: Path, runs: list[_Copy | _Encode], encoded: list[_Packets], template: Any,
           config: AvcConfig, readers: Readers, tally: _Tally, copy: AacCopy | str | None,
           head: _Head | None) -> None:
    """``template``: the open first source, whose streams the output's copy. With ``head``, its run and
    sound are left out (no packet of theirs is muxed, but the time stamps count them) for :func:`_prepend`."""
    timescale = math.lcm(tl.sample_rate, tl.fps.numerator) if tl.audio is not None else tl.fps.numerator
    flags = {} if head is not None else {"movflags": "+faststart"}  # the join writes the moov first
    with av.open(str(path), "w", format="mp4" if path.suffix.lower() != ".mov" else "mov",
                 options={**flags, "movie_timescale": str(timescale)}) as out:
        vs = out.add_stream_from_template(template.streams.video[0])
        vs.codec_context.extradata = config.to_bytes()
        sound = _Sound(tl, readers, out, copy, template, head.sound if head is not None else 0) \
            if copy is not None else None
        per_run = _encoded_per_run(runs, encoded)
        shift = _shift(runs, encoded)
        active = config.sets()
        stored = dict(active)  # the avcC's: what a player seeking to a sync sample decodes it with
        n = 0  # output decode position
        start = 0  # output frame of the run
        tb = 1 / tl.fps
        sound_at = 0  # decode position after which the sound is muxed up to the video next
        for run, enc in zip(runs, per_run, strict=True):
            if head is not None and run is head.run:
                n, start = run.count, run.count
                tally.step(run.count)
                continue
            if isinstance(run, _Copy):
                src = run.source
                packets: Iterator[Any] = _copy_packets(run, _stale(src.config, active))
                # display position in the run from the packet's pts, in whole frames (integer time base)
                origin, ticks, frames = src.start_pts + run.frame * src.ticks, src.ticks, None
                keys = _sync_samples(run, stored)
            else:
                assert enc is not None
                src, packets = None, (av.Packet(data) for data in enc.data)
                origin, ticks, frames, keys = 0, 1, enc.frames, enc.keys
            for k, packet in enumerate(packets):
                frame = (packet.pts - origin) // ticks if frames is None else frames[k]
                if not 0 <= frame < run.count or n - shift > start + frame:
                    raise MediaError(f"{src.info.path.name if src else 'the encoder'}: a packet shows frame "
                                     f"{frame} of a run of {run.count} at decode position {n}")
                packet.time_base = tb
                packet.pts, packet.dts, packet.duration = start + frame, n - shift, 1
                packet.is_keyframe = keys[k]
                packet.stream = vs
                out.mux(packet)
                n += 1
                if sound is not None and n >= sound_at:
                    # the muxer interleaves by time stamp whatever the order of its calls, so the sound
                    # goes in a batch at a time: one call a frame cost more than copying its packets
                    sound.mux_until(out, frame_to_sample(max(0, n - shift), tl.fps, tl.sample_rate))
                    sound_at = n + _INTERLEAVE
                if src is not None and (k + 1 == run.count or (k + 1) % _COPY_REPORT == 0):
                    tally.step(k % _COPY_REPORT + 1)
            start += run.count
        if sound is not None:
            sound.mux_until(out, tl.sample_count)


@dataclass(frozen=True)
class _Head:
    """A leading copied run (and the first clip's copied sound, from the same file) that goes in by byte
    range (:func:`ltxkit.frames.mp4.prepend`): through the muxer, a ten-minute A cost a Python object and a
    muxer call a packet, and a chunk a frame in the output."""

    run: _Copy
    video: mp4.Samples  # the run's samples in its source; durations and composition offsets in frames
    shift: int
    sound: int  # the AacCopy's first packets that go with it: those before the video's end, so the
    # muxer's part starts with both tracks at one instant, interleaved as the source is


def _head(tl: Timeline, runs: list[_Copy | _Encode], copy: AacCopy | str | None, shift: int,
          config: AvcConfig) -> _Head | None:
    """The first run as a byte-range head, when it is a copy from sample tables that were read (mp4/mov) and
    show whole frames; None leaves it to the muxer."""
    run = runs[0]
    if not isinstance(run, _Copy) or len(runs) == 1 or run.source.tables is None:
        return None
    src = run.source
    track, shown = run.source.tables
    samples = track.samples[run.first:run.first + run.count]
    frames = shown[run.first:run.first + run.count] - run.frame
    order = np.arange(run.count)
    if not np.array_equal(np.sort(frames), order) or np.any(order - shift > frames):
        return None
    sync = np.array(_sync_samples(run, config.sets()), np.bool_)
    video = mp4.Samples(samples.offsets, samples.sizes, np.ones(run.count, np.int64), frames - order + shift, sync)
    sound = 0
    if isinstance(copy, AacCopy) and copy.source == src.info.path:
        first = copy.first_pts - copy.shift  # output sample of the first copied packet
        end = frame_to_sample(max(0, run.count - shift), tl.fps, tl.sample_rate)  # the video's next dts
        sound = min(copy.count, max(0, -(-(end - first) // FRAME)))
    return _Head(run, video, shift, sound)


def _prepend(tl: Timeline, tail: Path, output: Path, head: _Head, copy: AacCopy | str | None) -> None:
    """``output``: the head's samples, then ``tail``'s (the rest, as :func:`_write` muxed it)."""
    video, *others = mp4.Movie.read(tail).tracks().values()
    ticks = Fraction(video.timescale) / tl.fps
    if ticks.denominator != 1:
        raise MediaError(f"the muxer gave the video a timescale of {video.timescale}, not whole frames")
    t = int(ticks)
    v = head.video
    heads = {video.track_id: mp4.Head(replace(v, durations=v.durations * t, cts=v.cts * t), head.shift * t,
                                      tl.frame_count * t)}
    if head.sound:  # its first packets: a sound head
        assert isinstance(copy, AacCopy)
        audio = others[0]
        per = Fraction(audio.timescale, tl.sample_rate)
        if per.denominator != 1:
            raise MediaError(f"the muxer gave the sound a timescale of {audio.timescale}")
        n = head.sound
        spans = copy.spans[:n]
        samples = mp4.Samples(spans[:, 0], spans[:, 1], np.full(n, FRAME * int(per), np.int64),
                              np.zeros(n, np.int64), np.ones(n, np.bool_))
        heads[audio.track_id] = mp4.Head(samples, (copy.shift - copy.first_pts) * int(per),
                                         tl.sample_count * int(per))
    mp4.prepend(tail, output, head.run.source.info.path, heads)


def _sync_samples(run: _Copy, stored: dict[tuple[int, int], bytes]) -> list[bool]:
    """Which of a copied run's packets a player may start decoding at: its first, and its other IDR cut
    points too when the run's parameter sets are the ``avcC``'s (else they travel in band, before its first
    packet only, and a seek past that would decode with another clip's)."""
    src = run.source
    if not _in_force(src.config, stored):
        return [k == 0 for k in range(run.count)]
    return [k == 0 or run.first + k in src.cuts for k in range(run.count)]


def _encoded_per_run(runs: list[_Copy | _Encode], encoded: list[_Packets]) -> list[_Packets | None]:
    it = iter(encoded)
    return [next(it) if isinstance(r, _Encode) else None for r in runs]


def _stale(config: AvcConfig, active: dict[tuple[int, int], bytes]) -> bytes:
    """In-band parameter sets for a copied run whose own differ from those in force (then they are)."""
    if _in_force(config, active):
        return b""
    active.update(config.sets())
    return config.in_band()


def _in_force(config: AvcConfig, sets: dict[tuple[int, int], bytes]) -> bool:
    """Does ``sets`` (by NAL type and id) hold every parameter set of ``config`` as it is?"""
    return all(sets.get(key) == nal for key, nal in config.sets().items())


def _describe(runs: list[_Copy | _Encode]) -> str:
    parts = []
    for run in runs:
        if isinstance(run, _Copy):
            parts.append(f"copied {run.source.info.path.name} {run.frame}-{run.frame + run.count - 1}")
        else:
            parts += [f"re-encoded {p.source.name} {p.start}-{p.start + p.count - 1}" for p in run.pieces]
    return "; ".join(parts)


def _copied(runs: list[_Copy | _Encode]) -> tuple[CopiedRun, ...]:
    return tuple(CopiedRun(r.source.info.path.name, r.frame, r.frame + r.count - 1,
                           sum(1 for f in r.source.cuts if r.frame <= f < r.frame + r.count))
                 for r in runs if isinstance(r, _Copy))


def smart_render(tl: Timeline, output: Path, *, codec: str = "h264", render: str = "smart",
                 video_options: dict[str, str] | None = None, interpolation: str = "BICUBIC",
                 verify: bool = True, infos: Mapping[Path, ProbeResult] | None = None,
                 scaled: dict[tuple[Path, int], av.VideoFrame] | None = None) -> SmartRenderResult:
    """Write ``tl`` to ``output``, copying every GOP that a kept range holds whole; see the module doc.

    ``render='full'`` (``--render full``), or sources that cannot be copied into one h264 stream, or no
    GOP wholly inside a kept range: :func:`ltxkit.frames.render.render` re-encodes everything
    (``mode='full'``, ``reason`` says why). ``video_options`` and ``interpolation`` go to the encoder
    either way (a review clip's faster settings; without them the seam runs look ahead
    :data:`SEAM_OPTIONS`' 20 frames). ``infos``: sources already probed, not probed again;
    ``scaled``: frames already decoded and scaled for a full render (:attr:`Readers.scaled`).
    """
    if render not in RENDER_MODES:
        raise InputError(f"--render must be one of {', '.join(RENDER_MODES)}, got {render!r}")
    if tl.frame_count <= 0:
        raise InputError("nothing to write: the timeline has no frames")
    readers = Readers(sample_rate=tl.sample_rate, layout=tl.layout, infos=dict(infos or {}))
    paths = list(dict.fromkeys(p.source for p in tl.video if p.blend is None))
    used = [readers.info(p) for p in paths]
    reason = "--render full" if render == "full" else \
        _mismatch(tl, codec, output, used) if used else "every piece is a cross-fade"
    sources: dict[Path, _Source] = {}
    notes: list[str] = []
    for info in used if reason is None else []:
        scanned = _scan(info)
        if isinstance(scanned, str):
            reason = scanned
            break
        sources[info.path] = scanned
        if scanned.open_gop:
            notes.append(f"{info.path.name} has open GOPs: only its IDR keyframes are cut points")
    runs = _plan(tl, sources) if reason is None else []
    copied = sum(r.count for r in runs if isinstance(r, _Copy))
    if reason is None and copied == 0:
        reason = "no GOP lies wholly inside a kept range"
    if reason is not None:
        readers.close()
        full = render_full(tl, output, codec=codec, video_options=video_options, interpolation=interpolation,
                           verify=verify, infos=readers.infos, scaled=scaled)
        return SmartRenderResult(full, "full", reason, 0, full.frame_count)
    base = sources[tl.video[0].source] if tl.video[0].source in sources else next(iter(sources.values()))
    try:
        copy = plan_copy(tl, readers) if tl.audio is not None else None
        with open_media(base.info.path) as template:
            ref = template.streams.video[0].codec_context
            # x264 gives a PPS the id of its SPS, so one number free in both serves
            sps_id = 1 + max(i for s in sources.values() for _, i in s.config.sets())
            options = {**codec_profile(codec).options, **(video_options or SEAM_OPTIONS)}
            tally = _Tally(f"render {final_name(output)}", tl.frame_count)
            encoded = [_encode_run(r, tl, readers, ref, sps_id, options, base.config.nal_size, tally)
                       for r in runs if isinstance(r, _Encode)]
            config = base.config
            if encoded and encoded[0].config is not None:
                config = replace(config, sps=config.sps + encoded[0].config.sps,
                                 pps=config.pps + encoded[0].config.pps)
            shift = _shift(runs, encoded)
            head = _head(tl, runs, copy, shift, config)
            with atomic_path(output) as tmp:
                if head is None:
                    _write(tl, tmp, runs, encoded, template, config, readers, tally, copy, None)
                else:
                    with scratch_path(tmp) as tail:
                        _write(tl, tail, runs, encoded, template, config, readers, tally, copy, head)
                        _prepend(tl, tail, tmp, head, copy)
                info = verify_written(tmp, tl) if verify else readers.info(tmp)
        report(tally.task, "done", tl.frame_count, tl.frame_count, "frames")
    except av.error.FFmpegError as exc:
        raise MediaError(f"encoding {output.name} failed: {exc}") from exc
    finally:
        readers.close()
    return SmartRenderResult(RenderResult.written(output, info, tl, readers), "smart",
                             "; ".join([_describe(runs), *notes]), copied, tl.frame_count - copied, _copied(runs),
                             _sound(copy, tl))


def _sound(copy: AacCopy | str | None, tl: Timeline) -> dict[str, Any] | None:
    if copy is None:
        return None
    if isinstance(copy, str):
        return {"copied_packets": 0, "reason": copy}
    return {"clip": copy.source.name, "copied_packets": copy.count,
            "reencoded_from_seconds": float(Fraction(copy.resume, tl.sample_rate)), "reason": None}
