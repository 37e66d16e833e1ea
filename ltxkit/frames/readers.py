"""Decode media by frame index and by sample index, seeking when the wanted range is far away.

:class:`VideoReader` and :class:`AudioReader` feed the render (:mod:`ltxkit.frames.render`) and the seam
review; :class:`AudioDecoder` is the one PyAV audio decoder in ltxkit — the render's
:class:`AudioReader` and :class:`ltxkit.audio.source.AudioSource` both read through it, so a seek, its
pre-roll and the placing of decoded frames in samples happen one way everywhere. Readers decode forward
and seek (keyframe seek, then decode forward) when a range starts far from where they are, so cutting
two seconds out of a ten-minute file costs what it costs in a ten-second one.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any, Self

import av
import numpy as np

from ltxkit.errors import InputError, MediaError
from ltxkit.frames.convert import reformat
from ltxkit.frames.damage import DamageWatch
from ltxkit.frames.probe import ProbeResult, demux_only, open_media, probe, upright
from ltxkit.timing import frame_position, round_half_up, timestamp_slack

# Farther ahead than this, a keyframe seek is cheaper than decoding forward (and never slower in
# a file whose GOP is shorter than this).
SEEK_AHEAD_SECONDS = Fraction(3)

SEEK_PREROLL_SECONDS = Fraction(1, 2)
"""Decode at least this much before the wanted sample after an audio seek.

After a seek an MDCT decoder (AAC, Vorbis, Opus) has lost the previous frame's overlap, so the first
frame it returns is wrong. AAC-LC needs the one 1024-sample frame before the wanted sample's frame
(measured on FFmpeg-encoded MP4 at 44.1 and 48 kHz, mono and stereo, tone, speech-like and noise: no
pre-roll reads the first frame wrong; 512 samples, one frame, two frames and 1/2 s read what a decode
from the start does, bit for bit) — except in bands coded as noise (PNS, which FFmpeg's encoder uses
by default): their noise comes from a generator whose state runs on from the decoder's opening, so no
pre-roll short of the whole file reproduces it, and a seeked read differs there at the noise's own
level (about 5e-6 in a tone's near-empty bands; up to the noise's amplitude in noisy content) while
every other sample is bit-exact. HE-AAC frames are 2048 samples plus the SBR filterbank's delay (two of
them at 16 kHz are 0.256 s, just over the 1/4 s the splice's reader used) and Opus asks for 80 ms (RFC
7845). 1/2 s covers each with room to spare, for half a second of decoding per seek (a seek saves
everything before it).
"""


class AudioDecoder:
    """One audio stream of an open container, decoded forward with every frame placed in samples.

    Sample ``k`` is the instant ``origin_seconds + k / rate``. The first frame after a seek (or from the
    top) is placed by its timestamp, later ones back to back unless the gap is real
    (:func:`ltxkit.timing.frame_position`). With ``layout`` the frames are resampled to float planar at
    ``rate`` (the render mixes clips of different formats); without, they come as decoded, at the
    stream's own rate (a reference-audio window keeps the source's samples exactly).
    """

    def __init__(self, container: Any, stream: Any, origin_seconds: Fraction, *, rate: int | None = None,
                 layout: str | None = None) -> None:
        self._container = container
        self.stream = stream
        self.origin_seconds = origin_seconds
        self.rate = rate if rate is not None else int(stream.codec_context.sample_rate)
        self.time_base = Fraction(stream.time_base) if stream.time_base else Fraction(1, self.rate)
        self._layout = layout

    @property
    def end_sample(self) -> int | None:
        """Where the stream's declared duration ends (an MP4 edit list's end drops the encoder padding)."""
        st = self.stream
        if not st.duration:
            return None
        end_seconds = Fraction((st.start_time or 0) + st.duration) * self.time_base
        return round_half_up((end_seconds - self.origin_seconds) * self.rate)

    def seek(self, start: int, preroll: Fraction = SEEK_PREROLL_SECONDS) -> bool:
        """Keyframe-seek to ``preroll`` before sample ``start``; False (no seek) when that is before 0."""
        target = self.origin_seconds + Fraction(start, self.rate) - preroll
        if target <= 0:
            return False
        self._container.seek(math.floor(target / self.time_base), stream=self.stream, backward=True)
        return True

    def frames(self) -> Iterator[tuple[int, av.AudioFrame]]:
        """``(first sample, frame)`` for every frame from the container's current position on."""
        resampler = (None if self._layout is None
                     else av.AudioResampler(format="fltp", layout=self._layout, rate=self.rate))
        expected: int | None = None
        previous = 0  # the previous frame's samples: a timestamp off by less than half of it is jitter
        for frame in self._decoded(resampler):
            # a resampled frame carries its own pts (the resampler keeps time, its delay included)
            tb = frame.time_base if resampler is not None else self.time_base
            stamped = None if frame.pts is None or tb is None else round_half_up(
                (Fraction(frame.pts) * tb - self.origin_seconds) * self.rate)
            at = frame_position(expected, stamped, timestamp_slack(self.time_base, self.rate, previous))
            yield at, frame
            expected, previous = at + frame.samples, frame.samples

    def _decoded(self, resampler: av.AudioResampler | None) -> Iterator[av.AudioFrame]:
        for frame in self._container.decode(self.stream):
            if resampler is None:
                yield frame
            else:
                yield from resampler.resample(frame)
        if resampler is not None:
            yield from resampler.resample(None)


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
    a seek as well as after decoding from the start; a missing index is an error, never a silent shift,
    and a damaged frame (:class:`ltxkit.frames.damage.DamageWatch`) is refused, never rendered. Frames
    come upright as displayed (a rotated phone clip's display matrix applied), at ``info.display_size``.
    """

    def __init__(self, path: Path, info: ProbeResult | None = None) -> None:
        self.path = path
        self.info = info if info is not None else probe(path)
        self._container: Any = None
        self._decoder: Iterator[av.VideoFrame] | None = None
        self._lookahead: av.VideoFrame | None = None
        self._next = 0
        self._damage = DamageWatch(path)
        self.seeks = 0

    def rgb(self, start: int = 0, count: int | None = None,
            size: tuple[int, int] | None = None) -> Iterator[np.ndarray]:
        """Frames as RGB uint8 arrays, scaled to ``size`` (width, height) when given."""
        w, h = size or self.info.display_size
        n = self.info.frame_count - start if count is None else count
        for frame in self.frames(start, n):
            yield reformat(frame, w, h, "rgb24").to_ndarray()

    def _open(self) -> Any:
        self.close()
        self._container = open_media(self.path, decoding=True)
        stream = demux_only(self._container, self._container.streams.video[0])
        stream.thread_type = "AUTO"
        self._damage = DamageWatch(self.path)
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
            self._damage.see(frame, index, used=index == want)
            if index < want:
                continue
            if index > want:
                raise MediaError(f"{self.path}: frame {want} is missing (decoder jumped to {index})")
            yield self._upright(frame)
            want += 1

    def _upright(self, frame: av.VideoFrame) -> av.VideoFrame:
        if not self.info.rotation:
            return frame
        turned = av.VideoFrame.from_ndarray(upright(frame.to_ndarray(format="rgb24"), self.info.rotation),
                                            format="rgb24")
        turned.pts, turned.time_base = frame.pts, frame.time_base
        return turned




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
        self._decoder: Iterator[tuple[int, av.AudioFrame]] | None = None
        self._buf = np.zeros((self.channels, 0), np.float32)
        self._buf_start = 0
        self._placed = False  # has the first frame after (re)opening fixed the buffer position?
        self._eof = False
        self._end: int | None = None

    @property
    def _buf_end(self) -> int:
        return self._buf_start + self._buf.shape[1]

    def _position(self, start: int) -> None:
        """Reopen and seek so the buffer starts at or before ``start``, backing off while it does not."""
        back = SEEK_PREROLL_SECONDS
        while True:
            self.close()
            self._container = open_media(self.path, decoding=True)
            decoder = AudioDecoder(self._container, demux_only(self._container, self._container.streams.audio[0]),
                                   self.info.start_seconds,
                                   rate=self.sample_rate, layout=self.layout)
            if self._end is None:
                self._end = decoder.end_sample
            seeked = decoder.seek(start, back)
            self.seeks += seeked
            self._decoder = decoder.frames()
            self._buf = np.zeros((self.channels, 0), np.float32)
            self._placed = False
            self._eof = False
            self._decode_more()
            if not seeked or self._buf_start <= start:
                return
            back *= 2

    def _decode_more(self) -> None:
        """Append the next decoded frame where :class:`AudioDecoder` places it; a gap becomes silence."""
        assert self._decoder is not None
        placed = next(self._decoder, None)
        if placed is None:
            self._eof = True
            return
        pos, frame = placed
        data = frame.to_ndarray().astype(np.float32, copy=False)
        if not self._placed:
            self._buf_start, self._buf, self._placed = pos, data, True
            return
        if pos > self._buf_end:  # a real gap in the stream: silence
            gap = np.zeros((self.channels, pos - self._buf_end), np.float32)
            self._buf = np.concatenate([self._buf, gap], axis=1)
        self._buf = np.concatenate([self._buf, data], axis=1)

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

