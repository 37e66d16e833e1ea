"""Read a sample range of an audio track, sample-exact, from any file ltxkit accepts.

Two readers, one contract: sample ``k`` of a source is the instant ``k / rate`` after the source's
origin, and :meth:`AudioSource.read` returns exactly the samples ``[start, stop)`` that exist.

* **soundfile** (libsndfile) for every file it can open: WAV, FLAC, AIFF, OGG Vorbis/Opus, MP3, ...
  It seeks to the first needed frame, so a window from a one-hour WAV costs what a 10-second one does,
  and libsndfile already drops codec priming (Opus pre-skip, the MP3 LAME/Xing encoder delay).
* **PyAV** (FFmpeg) for everything else: audio tracks inside video containers, MP4/M4A AAC, Matroska,
  raw ADTS. FFmpeg turns the container's priming information (MP4 edit list, Matroska CodecDelay)
  into skip-samples that the decoder drops, so the first decoded frame already starts at the first real
  sample. The origin (sample 0) is:

  - for a file with a video stream: the first video frame's time, so that the cut (measured from clip
    A's first frame) lines up with the picture — in normal files the audio starts there too;
  - for an audio-only file: the audio stream's ``start_time`` (0.025 s for an MP3 whose encoder delay
    FFmpeg reports that way), never negative: samples at negative timestamps are priming.

  Decoding goes through :class:`ltxkit.frames.readers.AudioDecoder`, the seekable reader the render
  uses too. For MP4/MOV (a sample table gives every packet its exact timestamp) it seeks to
  :data:`ltxkit.frames.readers.SEEK_PREROLL_SECONDS` before the window, places the first decoded frame
  by its timestamp in samples and counts from there; the pre-roll lets the decoder's overlap state
  settle, so the seek path is bit-identical to decoding from the start (tested), except in AAC bands
  coded as noise (PNS), whose generator no pre-roll can replay. Each read opens a fresh decoder, so
  a window reads the same samples however often and after whatever else it is read. Other containers
  decode from the start: Matroska stores millisecond timestamps (coarser than a sample) and FFmpeg's
  MP3/ADTS seeks estimate the timestamp from the byte position, both of which would shift the window
  by up to a frame. MP4 tracks are also cut at the edit list's duration, dropping the encoder's end
  padding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    import av

from ltxkit.errors import InputError, MediaError

Reader = Literal["auto", "soundfile", "pyav"]

SEEK_MIN_SECONDS = Fraction(2)
"""Windows starting earlier than this are decoded from the start (a seek would save nothing)."""

# libsndfile subtypes that hold more than 16 bits exactly; everything lossy is written back as PCM_16.
_WIDE_SUBTYPES = {"PCM_24", "PCM_32", "FLOAT", "DOUBLE", "ALAC_20", "ALAC_24", "ALAC_32"}
_LOSSLESS_SUBTYPES = _WIDE_SUBTYPES | {"PCM_16", "PCM_S8", "PCM_U8", "ALAC_16"}
_SEEKABLE_FORMATS = {"mov,mp4,m4a,3gp,3g2,mj2"}  # exact per-packet timestamps from the sample table
_INT_SCALE = {np.dtype(np.int16): 2.0**15, np.dtype(np.int32): 2.0**31}


@dataclass(frozen=True)
class SourceInfo:
    """What a window needs to know about its source, available before any sample is decoded."""

    path: Path
    reader: str  # "soundfile" or "pyav"
    stream: int  # index among the file's audio streams
    codec: str  # libsndfile subtype (PCM_24, MPEG_LAYER_III, ...) or FFmpeg codec name (aac, opus, ...)
    sample_rate: int
    channels: int
    lossless: bool
    bits: int  # 24 if the source holds more than 16 bits exactly, else 16 (also for every lossy codec)
    total_samples: int | None  # exact length when known without decoding to the end
    origin_seconds: Fraction  # container time of sample 0 (0 for soundfile sources)
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class SampleRange:
    """Samples ``[first, first + len(samples))`` of the source, float64 ``(frames, channels)`` in [-1, 1]."""

    samples: np.ndarray
    first: int
    total_samples: int | None  # exact source length if the read reached the end (or it was known)
    decoded_from: int  # sample where reading/decoding began (after a seek, before the window)


class AudioSource:
    """An open audio track: ``info`` plus :meth:`read`. Use as a context manager."""

    info: SourceInfo

    def read(self, start: int, stop: int, *, until: int | None = None) -> SampleRange:
        """The existing samples of ``[start, stop)``; keep decoding to ``until`` to learn that it exists."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> AudioSource:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def open_audio(path: Path, *, stream: int | None = None, reader: Reader = "auto") -> AudioSource:
    """Open ``path``'s audio track ``stream`` (index among its audio streams; default the first).

    ``reader="auto"`` tries libsndfile first and falls back to FFmpeg for files it cannot open.
    Raises :class:`InputError` for a missing file, a file without audio or a stream index out of range.
    """
    if reader not in ("auto", "soundfile", "pyav"):
        raise InputError(f"reader must be auto, soundfile or pyav, got {reader!r}")
    if stream is not None and stream < 0:
        raise InputError(f"--stream must be ≥ 0, got {stream}")
    path = Path(path)
    if not path.exists():
        raise InputError(f"no such file: {path}")
    if not path.is_file():
        raise InputError(f"not a file: {path}")
    if reader != "pyav":
        import soundfile

        try:
            handle = soundfile.SoundFile(str(path))
        except (soundfile.LibsndfileError, RuntimeError, TypeError) as exc:
            if reader == "soundfile":
                raise InputError(f"cannot read {path} with libsndfile: {exc}") from exc
        else:
            return _SoundFileSource(path, handle, stream)
    return _PyAVSource(path, stream)


def source_duration(path: Path, *, stream: int | None = None, reader: Reader = "auto") -> tuple[int, int]:
    """Exact length of an audio track as ``(samples, sample_rate)``.

    Free for libsndfile sources and MP4 tracks (from the header); other containers are decoded once.
    """
    with open_audio(path, stream=stream, reader=reader) as source:
        total = source.info.total_samples
        if total is None:
            total = source.read(0, 0, until=2**62).total_samples
        assert total is not None  # a read to "forever" always ends at EOF
        return total, source.info.sample_rate


def _stream_error(path: Path, count: int, stream: int) -> InputError:
    return InputError(f"{path} has {count} audio stream{'s' if count != 1 else ''}; "
                      f"--stream {stream} is out of range (0..{count - 1})")


# --- libsndfile ------------------------------------------------------------------------------------------


class _SoundFileSource(AudioSource):
    def __init__(self, path: Path, handle: Any, stream: int | None) -> None:
        self._file = handle
        if stream not in (None, 0):
            handle.close()
            raise _stream_error(path, 1, stream)
        subtype = str(handle.subtype)
        self.info = SourceInfo(
            path=path,
            reader="soundfile",
            stream=0,
            codec=subtype,
            sample_rate=int(handle.samplerate),
            channels=int(handle.channels),
            lossless=subtype in _LOSSLESS_SUBTYPES,
            bits=24 if subtype in _WIDE_SUBTYPES else 16,
            total_samples=int(handle.frames),
            origin_seconds=Fraction(0),
        )

    def read(self, start: int, stop: int, *, until: int | None = None) -> SampleRange:
        total = self.info.total_samples
        assert total is not None
        first = min(max(start, 0), total)
        count = max(0, min(stop, total) - first)
        self._file.seek(first)
        samples = self._file.read(frames=count, dtype="float64", always_2d=True)
        if len(samples) != count:
            raise MediaError(f"{self.info.path}: libsndfile returned {len(samples)} samples at {first}, "
                             f"expected {count}")
        return SampleRange(samples=samples, first=first, total_samples=total, decoded_from=first)

    def close(self) -> None:
        self._file.close()


# --- FFmpeg via PyAV ----------------------------------------------------------------------------------------


def _frame_samples(frame: av.AudioFrame) -> np.ndarray:
    """A decoded frame as float64 ``(frames, channels)``; integer formats scaled exactly to [-1, 1)."""
    data: np.ndarray = frame.to_ndarray()
    channels = len(frame.layout.channels)
    data = data.T if frame.format.is_planar else data.reshape(-1, channels)
    out: np.ndarray = data.astype(np.float64)
    if data.dtype == np.uint8:
        return (out - 128.0) / 128.0
    scale = _INT_SCALE.get(data.dtype)
    return out / scale if scale is not None else out


class _PyAVSource(AudioSource):
    def __init__(self, path: Path, stream: int | None) -> None:
        import av

        from ltxkit.frames.probe import open_media

        self._container = open_media(path)
        self._used = False
        try:
            self.info = self._describe(path, stream if stream is not None else 0, av)
        except BaseException:
            self._container.close()
            raise

    def _describe(self, path: Path, index: int, av: Any) -> SourceInfo:
        from ltxkit.frames.readers import AudioDecoder

        container = self._container
        streams = list(container.streams.audio)
        if not streams:
            raise InputError(f"{path} has no audio stream")
        if index >= len(streams):
            raise _stream_error(path, len(streams), index)
        st = streams[index]
        ctx = st.codec_context
        rate = int(ctx.sample_rate or 0)
        channels = int(ctx.channels or 0)
        if rate <= 0 or channels <= 0:
            raise MediaError(f"{path}: audio stream {index} has no sample rate or channel layout")
        tb = Fraction(st.time_base) if st.time_base else Fraction(1, rate)
        video = [v for v in container.streams.video
                 if not v.disposition & av.stream.Disposition.attached_pic]
        if video:
            vs = video[0]
            vtb = Fraction(vs.time_base) if vs.time_base else Fraction(0)
            origin = Fraction(vs.start_time or 0) * vtb
        else:
            origin = max(Fraction(0), Fraction(st.start_time or 0) * tb)
        self._decoder = AudioDecoder(container, st, origin, rate=rate)
        self._cap: int | None = None
        fmt = container.format.name
        end = self._decoder.end_sample
        if fmt in _SEEKABLE_FORMATS and end is not None:
            self._cap = max(0, end)
        self._seekable = fmt in _SEEKABLE_FORMATS and self._decoder.time_base <= Fraction(1, rate)
        codec = str(ctx.name)
        lossless = codec.startswith("pcm_") or codec in ("flac", "alac", "wavpack", "tta", "mlp", "truehd")
        raw_bits = int(getattr(ctx, "bits_per_raw_sample", 0) or 0)
        warnings: tuple[str, ...] = ()
        if fmt == "aac":
            warnings = (f"{path} is raw ADTS AAC, which carries no encoder-delay information: the window "
                        "may be late by the encoder's priming (1024 samples for FFmpeg, 2112 for Apple)",)
        return SourceInfo(
            path=path,
            reader="pyav",
            stream=index,
            codec=codec,
            sample_rate=rate,
            channels=channels,
            lossless=lossless,
            bits=24 if lossless and (raw_bits > 16 or ctx.format.bytes > 2) else 16,
            total_samples=self._cap,
            origin_seconds=origin,
            warnings=warnings,
        )

    def read(self, start: int, stop: int, *, until: int | None = None) -> SampleRange:
        import av

        from ltxkit.frames.readers import SEEK_PREROLL_SECONDS

        rate = self.info.sample_rate
        lo = max(start, 0)
        until = max(stop, until or 0)
        cap = self._cap if self._cap is not None else math.inf
        seek_from = Fraction(lo, rate) - SEEK_PREROLL_SECONDS
        chunks: list[np.ndarray] = []
        first: int | None = None
        pos: int | None = None
        decoded_from = 0
        at_eof = True
        try:
            if self._used:
                self._reopen()
            self._used = True
            if self._seekable and seek_from >= SEEK_MIN_SECONDS:
                self._decoder.seek(lo)
            # anchored once on the first frame's timestamp, then counted: later timestamps can be rounded
            # (Matroska: milliseconds) while the decoded sample count is exact
            for at, frame in self._decoder.frames():
                if pos is None:
                    decoded_from = at
                elif at > pos:  # a real gap in the stream: silence
                    a, b = max(pos, lo), min(at, stop, cap)
                    if a < b:
                        first = a if first is None else first
                        chunks.append(np.zeros((int(b - a), self.info.channels), dtype=np.float64))
                pos = at
                n = frame.samples
                a, b = max(pos, lo), min(pos + n, stop, cap)
                if a < b:
                    first = a if first is None else first
                    chunks.append(_frame_samples(frame)[a - pos : b - pos])
                pos += n
                if pos >= until:
                    at_eof = pos >= cap
                    break
        except av.error.FFmpegError as exc:
            where = "its first audio frame" if pos is None else f"audio sample {pos}"
            raise InputError(f"{self.info.path}: decoding failed at {where} ({exc.strerror or type(exc).__name__}); "
                             "the file looks truncated or corrupt") from exc
        end = 0 if pos is None else max(pos, 0)
        if at_eof:
            total: int | None = end if self._cap is None else min(end, self._cap)
        else:
            total = self._cap
        samples = (np.concatenate(chunks) if chunks
                   else np.zeros((0, self.info.channels), dtype=np.float64))
        if samples.shape[1] != self.info.channels:
            raise MediaError(f"{self.info.path}: the channel count changed mid-stream "
                             f"({self.info.channels} → {samples.shape[1]})")
        if first is None:
            first = lo if total is None else min(lo, total)
        return SampleRange(samples=samples, first=first, total_samples=total, decoded_from=decoded_from)

    def _reopen(self) -> None:
        """A fresh decoder for every read after the first: AAC's noise substitution (PNS) draws its noise
        from a generator that runs on from the decoder's opening, and a seek does not reset it, so a reused
        decoder would read the same window differently each time."""
        from ltxkit.frames.probe import open_media
        from ltxkit.frames.readers import AudioDecoder

        self._container.close()
        self._container = open_media(self.info.path, decoding=True)
        self._decoder = AudioDecoder(self._container, self._container.streams.audio[self.info.stream],
                                     self.info.origin_seconds, rate=self.info.sample_rate)

    def close(self) -> None:
        self._container.close()
