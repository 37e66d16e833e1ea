"""Clip B's reference-audio window, cut sample-exact from an audio file or a video's audio track.

For lip-sync extension, clip B is conditioned on the last ``overlap`` frames of clip A, so its reference
audio starts ``overlap / sampledFps`` seconds before the cut (the end of clip A) and covers B's whole
duration. A few milliseconds off and the lips drift, so every number here is exact: times are
:class:`~fractions.Fraction` seconds and samples are rounded once from them
(:func:`ltxkit.timing.reference_audio_window`).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, TypedDict, Unpack

import numpy as np

from ltxkit.audio.source import Reader, SourceInfo, open_audio
from ltxkit.errors import InputError, MediaError
from ltxkit.frames.checks import refuse_overwrite
from ltxkit.fsutil import atomic_path, write_failure_hint
from ltxkit.timing import (
    AudioWindow,
    Number,
    format_fps,
    frames_to_seconds,
    overlap_seconds,
    parse_fps,
    parse_seconds,
    reference_audio_window,
    require_ltx_frames,
    round_half_up,
    seconds_to_sample,
)

OPUS_RATE = 48000
MAX_WINDOW_SECONDS = 600  # a window conditions one generated clip (seconds long); 600 s is already ~230 MB
MAX_RATE = 384_000  # the highest rate of studio audio; --rate above it is a typo
# extension → (libsndfile container, fixed subtype or None for "as the source")
OUTPUT_FORMATS: dict[str, tuple[str, str | None]] = {
    ".wav": ("WAV", None),
    ".flac": ("FLAC", None),
    ".opus": ("OGG", "OPUS"),
    ".ogg": ("OGG", "OPUS"),
}


@dataclass(frozen=True)
class AudioClip:
    """A cut window: its samples plus every number that says where they came from.

    ``samples`` is float64 ``(window.num_samples, channels)`` in [-1, 1]; row 0 is source sample
    ``window.start_sample`` (negative when padded before the start). Lossless sources come through
    exactly: a PCM_24 sample survives float64 and is written back bit-identical.
    """

    samples: np.ndarray
    window: AudioWindow  # exact seconds and samples at the source's rate
    source: SourceInfo
    cut_seconds: Fraction
    overlap_frames: int  # a count at sampled_fps (as everywhere in audio/ and timing)
    sampled_fps: Fraction
    frames: int | None  # the clip's frame count when the duration was given in frames
    pad_before: int  # silent samples added before the source's first sample (pad=True)
    pad_after: int  # silent samples added after its last sample
    source_samples: int | None  # exact source length, when the read reached its end or knew it
    decoded_from: int  # source sample where reading started (shows that long files were seeked)

    @property
    def sample_rate(self) -> int:
        return self.window.sample_rate

    @property
    def channels(self) -> int:
        return int(self.samples.shape[1])

    @property
    def cut_sample(self) -> int:
        return seconds_to_sample(self.cut_seconds, self.sample_rate)

    def to_json(self) -> dict[str, Any]:
        w = self.window
        return {
            "source": str(self.source.path),
            "reader": self.source.reader,
            "stream": self.source.stream,
            "codec": self.source.codec,
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "source_samples": self.source_samples,
            "cut_seconds": self.cut_seconds,
            "cut_sample": self.cut_sample,
            "overlap_frames": self.overlap_frames,
            "fps": format_fps(self.sampled_fps),
            "frames": self.frames,
            "start_seconds": w.start_seconds,
            "end_seconds": w.end_seconds,
            "duration_seconds": w.duration_seconds,
            "start_seconds_exact": str(w.start_seconds),
            "duration_seconds_exact": str(w.duration_seconds),
            "start_sample": w.start_sample,
            "end_sample": w.end_sample,
            "num_samples": w.num_samples,
            "pad_before": self.pad_before,
            "pad_after": self.pad_after,
            "padded_samples": self.pad_before + self.pad_after,
            "warnings": list(self.source.warnings),
        }


@dataclass(frozen=True)
class WrittenAudio:
    path: Path
    format: str  # WAV, FLAC, OGG
    subtype: str  # PCM_16, PCM_24, OPUS
    sample_rate: int
    channels: int
    num_samples: int

    def to_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "format": self.format, "subtype": self.subtype,
                "sample_rate": self.sample_rate, "channels": self.channels, "num_samples": self.num_samples}


def _window_duration(frames: int | None, seconds: Number | None, fps: Fraction) -> Fraction:
    """B's duration from exactly one of ``frames`` (8n+1, see :func:`audio_window`) or ``seconds``."""
    if (frames is None) == (seconds is None):
        raise InputError("give exactly one of --frames or --seconds for the window's length")
    if frames is not None:
        if frames < 1:
            raise InputError(f"--frames must be ≥ 1, got {frames}")
        try:
            require_ltx_frames(frames, fps, name="--frames")
        except InputError as exc:
            raise InputError(f"{exc} (use --seconds for a window that is not an LTX clip)") from None
        duration = frames_to_seconds(frames, fps)
        if duration > MAX_WINDOW_SECONDS:
            raise InputError(f"--frames {frames} at {format_fps(fps)} fps lasts over {MAX_WINDOW_SECONDS} s, "
                             "the longest window")
        return duration
    assert seconds is not None
    duration = parse_seconds(seconds, name="--seconds")
    if not 0 < duration <= MAX_WINDOW_SECONDS:
        raise InputError(f"--seconds must be > 0 and at most {MAX_WINDOW_SECONDS} (one clip's audio), got {seconds}")
    return duration


def _fmt(seconds: Fraction) -> str:
    return f"{float(seconds):.6f} s"


def audio_window(
    src: Path | str,
    cut_seconds: Number,
    overlap_frames: int,
    sampled_fps: Number,
    *,
    frames: int | None = None,
    seconds: Number | None = None,
    stream: int | None = None,
    pad: bool = False,
    reader: Reader = "auto",
) -> AudioClip:
    """Cut clip B's reference audio from ``src``: ``overlap_frames`` before ``cut_seconds``, B's length.

    Rounding rule (one rule, applied once to exact values, never to an accumulated float)::

        start_sample = round_half_up(rate × (cut − overlap / sampled_fps))
        num_samples  = round_half_up(rate × frames / sampled_fps)     # or rate × seconds

    where ``round_half_up(x) = floor(x + 1/2)``: ties go toward +∞, and ties are real: at 44100 Hz a cut
    at 2 s with 40 overlap frames at 24000/1001 fps starts at exactly 14626.5 samples → 14627 (Python's
    ``round`` would give the even 14626); a cut at 1 s gives −29473.5 → −29473. One rule for frames and
    samples keeps neighbouring windows in agreement. ``end_sample = start_sample + num_samples``.

    ``cut_seconds`` is parsed exactly ("4.04" is 101/25 s), ``sampled_fps`` as :func:`parse_fps` does.
    Exactly one of ``frames`` or ``seconds`` gives the length. ``frames`` that is not 8n+1 is an error
    (naming the nearest valid counts), not a warning: the window exists to condition an LTX clip, and a
    count the generator cannot produce means audio that will not match the picture. Nothing legitimate is
    lost, since a window of any other length (say, for a non-LTX clip) is asked for with ``seconds``.

    ``stream`` picks among the file's audio streams. A window reaching before the source's first sample
    or past its last raises :class:`InputError` naming the exact seconds and samples, unless ``pad``
    fills the gap with silence (reported as ``pad_before``/``pad_after`` samples). A cut past the end of
    the source is always an error: there is no clip A to extend there.

    ``reader`` forces libsndfile or FFmpeg (default: libsndfile for files it opens, else FFmpeg).
    """
    fps = parse_fps(sampled_fps, name="--fps")
    cut = parse_seconds(cut_seconds, name="--cut")
    overlap_seconds(overlap_frames, fps)  # rejects a negative overlap before any file is opened
    duration = _window_duration(frames, seconds, fps)
    path = Path(src)
    with open_audio(path, stream=stream, reader=reader) as source:
        info = source.info
        rate = info.sample_rate
        win = reference_audio_window(cut, overlap_frames, fps, duration, rate)
        cut_sample = seconds_to_sample(cut, rate)
        if win.start_sample < 0 and not pad:
            raise _before_start(path, win, -win.start_sample)
        if info.total_samples is not None:  # fail before decoding when the length is known up front
            _check_end(path, win, cut, info.total_samples, pad)
        got = source.read(win.start_sample, win.end_sample, until=cut_sample + 1)
    pad_before = min(win.num_samples, max(0, got.first - win.start_sample))
    pad_after = win.num_samples - pad_before - len(got.samples)
    if pad_before and not pad:
        raise _before_start(path, win, pad_before)
    if got.total_samples is not None:
        _check_end(path, win, cut, got.total_samples, pad)
    if pad_after and not pad:  # the source ended early although its header said otherwise
        raise MediaError(f"{path}: the audio ended {pad_after} samples before the window's end")
    samples = got.samples
    if pad_before or pad_after:
        samples = np.concatenate([np.zeros((pad_before, info.channels)), samples,
                                  np.zeros((pad_after, info.channels))])
    return AudioClip(samples=samples, window=win, source=info, cut_seconds=cut, overlap_frames=overlap_frames,
                     sampled_fps=fps, frames=frames, pad_before=pad_before, pad_after=pad_after,
                     source_samples=got.total_samples, decoded_from=got.decoded_from)


def _before_start(path: Path, win: AudioWindow, missing: int) -> InputError:
    return InputError(
        f"the window starts at {_fmt(win.start_seconds)} (sample {win.start_sample} at {win.sample_rate} Hz), "
        f"{missing} samples ({_fmt(Fraction(missing, win.sample_rate))}) before the first sample of {path}; "
        "pass --pad to fill with silence"
    )


def _check_end(path: Path, win: AudioWindow, cut: Fraction, total: int, pad: bool) -> None:
    rate = win.sample_rate
    length = f"{path} ({_fmt(Fraction(total, rate))}, {total} samples at {rate} Hz)"
    if cut > Fraction(total, rate):
        raise InputError(f"--cut {_fmt(cut)} (sample {seconds_to_sample(cut, rate)}) is past the end of "
                         f"{length}")
    past = win.end_sample - total
    if past > 0 and not pad:
        raise InputError(
            f"the window ends at {_fmt(win.end_seconds)} (sample {win.end_sample}), {past} samples "
            f"({_fmt(Fraction(past, rate))}) past the end of {length}; pass --pad to fill with silence"
        )


# --- writing -------------------------------------------------------------------------------------------------


def output_format(out_path: Path, *, rate: int | None = None) -> tuple[str, str | None]:
    """``(container, subtype or None)`` for an output name; :class:`InputError` before anything is read.

    ``.wav``/``.flac`` keep the source's precision (PCM_24 if it holds more than 16 bits exactly, else
    PCM_16, so lossy sources become PCM_16); ``.opus``/``.ogg`` are Ogg Opus, which only runs at 48 kHz.
    """
    fmt = OUTPUT_FORMATS.get(Path(out_path).suffix.lower())
    if fmt is None:
        raise InputError(f"unknown output extension for {out_path}: use one of {', '.join(OUTPUT_FORMATS)}")
    if rate is not None and not 0 < rate <= MAX_RATE:
        raise InputError(f"--rate must be a positive number of Hz up to {MAX_RATE}, got {rate}")
    if fmt[1] == "OPUS" and rate not in (None, OPUS_RATE):
        raise InputError(f"Opus output runs at {OPUS_RATE} Hz only, got --rate {rate}")
    return fmt


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Resample float64 ``(frames, channels)`` with FFmpeg's swresample (through PyAV's AudioResampler).

    swresample compensates its filter delay, so output sample 0 is the instant of input sample 0 (tested
    on a tone onset); the length is made exactly ``round_half_up(frames × target / rate)``.
    """
    import av

    frames, channels = samples.shape
    want = round_half_up(Fraction(frames * target, rate))
    layout = av.AudioLayout(f"{channels} channels")  # unordered: resample only, never remix
    resampler = av.AudioResampler(format="dbl", layout=layout, rate=target)
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples).reshape(1, -1), format="dbl",
                                       layout=layout)
    frame.sample_rate = rate
    frame.pts = 0
    frame.time_base = Fraction(1, rate)
    out = [f.to_ndarray().reshape(-1, channels) for f in [*resampler.resample(frame), *resampler.resample(None)]]
    data = np.concatenate(out) if out else np.zeros((0, channels))
    if len(data) < want:
        data = np.concatenate([data, np.zeros((want - len(data), channels))])
    return data[:want]


def write_audio(clip: AudioClip, out_path: Path | str, *, rate: int | None = None,
                mono: bool = False) -> WrittenAudio:
    """Write ``clip`` as WAV, FLAC or Ogg Opus (by extension) through :func:`ltxkit.fsutil.atomic_path`.

    Keeps the clip's sample rate and channels unless ``rate`` / ``mono`` ask otherwise. ``mono`` is the
    equal-weight mean of all channels (no surround matrix: a mono window of identical channels stays
    bit-identical). Opus is always 48 kHz: other rates are resampled with FFmpeg's swresample through
    PyAV's ``AudioResampler`` and encoded by libsndfile's Opus encoder, like every other output.
    """
    out = Path(out_path)
    container, subtype = output_format(out, rate=rate)
    if subtype is None:
        subtype = "PCM_24" if clip.source.bits > 16 else "PCM_16"
    target = OPUS_RATE if subtype == "OPUS" else (rate or clip.sample_rate)
    data = clip.samples
    if mono and data.shape[1] > 1:
        data = data.mean(axis=1, keepdims=True)
    if target != clip.sample_rate:
        data = resample(data, clip.sample_rate, target)
    data = np.clip(data, -1.0, 1.0)  # libsndfile wraps out-of-range floats around when writing PCM
    write_samples(out, data, target, subtype=subtype, format=container)
    return WrittenAudio(path=out, format=container, subtype=subtype, sample_rate=target,
                        channels=int(data.shape[1]), num_samples=len(data))


def write_samples(path: Path, data: np.ndarray, rate: int, *, subtype: str, format: str | None = None) -> None:
    """``soundfile.write`` through :func:`~ltxkit.fsutil.atomic_path`: complete or absent, and a failed
    write (full disk, file-size limit) is one :class:`MediaError` instead of libsndfile's bare error."""
    import soundfile

    try:
        with atomic_path(path) as tmp:
            soundfile.write(str(tmp), data, rate, subtype=subtype, format=format)
    except soundfile.LibsndfileError as exc:
        raise MediaError(f"cannot write {path}: {exc}{write_failure_hint(path)}") from None


class WindowOptions(TypedDict, total=False):
    """The optional keywords of :func:`audio_window`, passed through by :func:`extract_window`."""

    frames: int | None
    seconds: Number | None
    stream: int | None
    pad: bool


def extract_window(src: Path | str, out_path: Path | str, cut_seconds: Number, overlap_frames: int,
                   sampled_fps: Number, *, rate: int | None = None, mono: bool = False,
                   **options: Unpack[WindowOptions]) -> dict[str, Any]:
    """``ltxkit audio window``: validate the output first, cut the window, write it, describe both."""
    output_format(Path(out_path), rate=rate)
    refuse_overwrite([Path(out_path)], [src])
    clip = audio_window(src, cut_seconds, overlap_frames, sampled_fps, **options)
    written = write_audio(clip, out_path, rate=rate, mono=mono)
    return {**clip.to_json(), "output": written.to_json()}
