"""``audio_window`` / ``write_audio``: sample-exact PCM, codec priming, seeking, padding, outputs."""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf

from ltxkit.audio import audio_window, open_audio, source_duration, write_audio
from ltxkit.audio import source as audio_source
from ltxkit.errors import InputError
from ltxkit.frames.readers import AudioDecoder
from ltxkit.frames.synth import Tone

ClipFactory = Callable[..., Path]
NTSC_FILM = Fraction(24000, 1001)
FPS = [NTSC_FILM, Fraction(25), Fraction(30)]
PCM_SECONDS = 12
TONE_HZ = 440.0


def _exact(x: Fraction) -> int:
    """The documented rule, computed independently of ltxkit: floor(x + 1/2)."""
    return math.floor(x + Fraction(1, 2))


def _counter(rate: int) -> np.ndarray:
    """Every sample distinct: channel 0 holds its own index k, channel 1 holds −k−1 (24-bit range)."""
    k = np.arange(PCM_SECONDS * rate, dtype=np.int64)
    return np.stack([k, -k - 1], axis=1)


@pytest.fixture(scope="module")
def pcm_sources(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[int, str], Path]:
    """12-second counter files at 44.1 and 48 kHz as WAV PCM_24, FLAC PCM_24 and WAV FLOAT."""
    root = tmp_path_factory.mktemp("pcm")
    files: dict[tuple[int, str], Path] = {}
    for rate in (44100, 48000):
        ints = _counter(rate)
        for kind, fmt, subtype in (("wav24", "WAV", "PCM_24"), ("flac24", "FLAC", "PCM_24"),
                                   ("wavfloat", "WAV", "FLOAT")):
            path = root / f"counter_{rate}_{kind}.{fmt.lower()}"
            data = (ints << 8).astype(np.int32) if subtype == "PCM_24" else (ints / 2**23).astype(np.float32)
            sf.write(path, data, rate, subtype=subtype, format=fmt)
            files[rate, kind] = path
    return files


def _encode_tone(path: Path, codec: str, rate: int, seconds: int, *onsets: Fraction, fmt: str | None = None,
                 options: dict[str, str] | None = None) -> Path:
    """Tones silent before each onset, encoded with PyAV in 1000-sample chunks: one audio stream per
    onset, the first stereo and the others mono (so a test can tell which stream it got)."""
    with av.open(str(path), "w", format=fmt) as out:
        streams = []
        for i, onset in enumerate(onsets):
            stream = out.add_stream(codec, rate=rate, options=options)
            assert isinstance(stream, av.audio.stream.AudioStream)
            stream.layout = "stereo" if i == 0 else "mono"
            streams.append((stream, Tone(hz=TONE_HZ, onset=onset), 2 if i == 0 else 1))
        total = seconds * rate
        for start in range(0, total, 1000):
            for stream, tone, channels in streams:
                count = min(1000, total - start)
                frame = av.AudioFrame.from_ndarray(tone.samples(start, count, rate, channels), format="fltp",
                                                   layout=stream.layout)
                frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
                out.mux(stream.encode(frame))
        for stream, _, _ in streams:
            out.mux(stream.encode(None))
    return path


@pytest.fixture(scope="module")
def lossy(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """PyAV-written compressed files with a tone starting at 1.5 s (0.5 s in the 30 s m4a)."""
    root = tmp_path_factory.mktemp("lossy")
    return {
        "mp3": _encode_tone(root / "tone.mp3", "libmp3lame", 44100, 4, Fraction(3, 2)),
        "opus": _encode_tone(root / "tone.opus", "libopus", 48000, 4, Fraction(3, 2)),
        # no noise substitution: its noise is not replayed after a seek, and the seek test compares bits
        "m4a": _encode_tone(root / "long.m4a", "aac", 48000, 30, Fraction(1, 2), fmt="mp4", options={"aac_pns": "0"}),
        "mka": _encode_tone(root / "tone.mka", "aac", 48000, 4, Fraction(3, 2), fmt="matroska"),
        "adts": _encode_tone(root / "tone.aac", "aac", 48000, 4, Fraction(3, 2), fmt="adts"),
        "two": _encode_tone(root / "two.mp4", "aac", 48000, 4, Fraction(3, 2), Fraction(7, 4), fmt="mp4"),
    }


def _onset(samples: np.ndarray, threshold: float = 0.05) -> int:
    """First sample above 10 % of the tone's 0.5 amplitude."""
    above = np.flatnonzero(np.abs(samples[:, 0]) > threshold)
    assert above.size, "no tone in the window"
    return int(above[0])


def _phase_offset(samples: np.ndarray, first_sample: int, rate: int) -> float:
    """Least-squares fit of the tone sin(2π f n / rate): how many samples the window is shifted by."""
    n = np.arange(len(samples)) + first_sample
    basis = np.stack([np.sin(2 * np.pi * TONE_HZ * n / rate), np.cos(2 * np.pi * TONE_HZ * n / rate)], axis=1)
    (s, c), *_ = np.linalg.lstsq(basis, samples[:, 0], rcond=None)
    return float(np.arctan2(c, s) / (2 * np.pi * TONE_HZ) * rate)


# --- sample-exact PCM ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["wav24", "flac24", "wavfloat"])
@pytest.mark.parametrize("fps", FPS, ids=str)
@pytest.mark.parametrize("rate", [44100, 48000])
def test_pcm_window_equals_soundfile_read(pcm_sources: dict[tuple[int, str], Path], tmp_path: Path,
                                          rate: int, fps: Fraction, kind: str) -> None:
    src = pcm_sources[rate, kind]
    clip = audio_window(src, "7.3", 8, fps, frames=97)
    w = clip.window
    assert w.start_sample == _exact(rate * (Fraction(73, 10) - 8 / fps))
    assert w.num_samples == _exact(rate * 97 / fps)
    expected, _ = sf.read(src, start=w.start_sample, frames=w.num_samples, always_2d=True)
    assert clip.samples.shape == (w.num_samples, 2)
    assert np.array_equal(clip.samples, expected)
    assert round(clip.samples[0, 0] * 2**23) == w.start_sample  # the counter names its own index
    assert (clip.pad_before, clip.pad_after, clip.source.reader) == (0, 0, "soundfile")

    source_ints = _counter(rate)[w.start_sample : w.end_sample]
    for name in ("out.wav", "out.flac"):
        written = write_audio(clip, tmp_path / name)
        assert (written.subtype, written.sample_rate, written.num_samples) == ("PCM_24", rate, w.num_samples)
        back, back_rate = sf.read(tmp_path / name, dtype="int32", always_2d=True)
        assert back_rate == rate
        assert np.array_equal(back >> 8, source_ints)


def test_window_with_a_rounding_tie_starts_half_up(pcm_sources: dict[tuple[int, str], Path]) -> None:
    # 44100 × (2 − 40·1001/24000) = 14626.5 and 40 frames = 73573.5 samples: both round up.
    clip = audio_window(pcm_sources[44100, "wav24"], "2", 40, "24000/1001", seconds=Fraction(40) / NTSC_FILM)
    assert (clip.window.start_sample, clip.window.num_samples) == (14627, 73574)
    assert round(clip.samples[0, 0] * 2**23) == 14627


def test_soundfile_reads_from_the_window_start(pcm_sources: dict[tuple[int, str], Path]) -> None:
    clip = audio_window(pcm_sources[48000, "wav24"], "11", 8, 25, frames=9)
    assert clip.decoded_from == clip.window.start_sample == 48000 * 11 - 15360


# --- codec priming: AAC in a video, mp3 and opus written by PyAV -------------------------------------------


@pytest.mark.parametrize("fps", FPS, ids=str)
def test_aac_tone_onset_in_a_video_lands_where_expected(make_clip: ClipFactory, fps: Fraction) -> None:
    """Bound ±1 ms (48 samples); achieved: onset within 3 samples and the tone's phase within 0.05 samples.

    FFmpeg's encoder primes AAC with 1024 samples and records them in the MP4 edit list; the demuxer
    marks them as skip-samples, so the decoded track starts at the first real sample. The 10 %-threshold
    onset sits 1–2 samples late only because the tone starts at zero phase (sin rises from 0); the phase
    fit over the steady tone is the sample-exact check.
    """
    onset = Fraction(27, 10)
    video = make_clip(fps=fps, frames=int(4 * fps), tone=Tone(hz=TONE_HZ, onset=onset))
    clip = audio_window(video, "2.5", 8, fps, frames=33)
    rate, start = clip.sample_rate, clip.window.start_sample
    assert (clip.source.reader, clip.source.codec, rate, clip.channels) == ("pyav", "aac", 48000, 2)
    expected = int(onset * rate) - start
    assert abs(_onset(clip.samples) - expected) <= 3
    assert abs(_onset(clip.samples) - expected) <= rate // 1000
    steady = expected + rate // 100
    assert abs(_phase_offset(clip.samples[steady:], start + steady, rate)) < 0.05


@pytest.mark.parametrize("reader", ["auto", "pyav"])
@pytest.mark.parametrize("kind", ["mp3", "opus"])
def test_mp3_and_opus_priming_is_removed_by_both_readers(lossy: dict[str, Path], kind: str, reader: str) -> None:
    """LAME's encoder delay and Opus's pre-skip are dropped by libsndfile and FFmpeg alike (±1 ms bound;
    achieved ≤ 3 samples; Opus's own phase response shifts the fitted phase by ~0.12 samples)."""
    clip = audio_window(lossy[kind], "1.8", 8, 25, frames=25, reader=reader)  # type: ignore[arg-type]
    rate, start = clip.sample_rate, clip.window.start_sample
    assert clip.source.reader == ("soundfile" if reader == "auto" else "pyav")
    expected = int(Fraction(3, 2) * rate) - start
    assert abs(_onset(clip.samples) - expected) <= 3
    steady = expected + rate // 100
    assert abs(_phase_offset(clip.samples[steady:], start + steady, rate)) < 0.25
    assert source_duration(lossy[kind], reader=reader) == (4 * rate, rate)  # type: ignore[arg-type]


def test_both_readers_agree_on_an_mp3(lossy: dict[str, Path]) -> None:
    a = audio_window(lossy["mp3"], "3", 8, 25, frames=9)
    b = audio_window(lossy["mp3"], "3", 8, 25, frames=9, reader="pyav")
    assert a.window == b.window
    assert np.max(np.abs(a.samples - b.samples)) < 1e-4


def test_matroska_millisecond_timestamps_do_not_shift_the_window(lossy: dict[str, Path]) -> None:
    """Matroska stamps AAC frames in whole ms (21.33 ms apart): the reader anchors once and counts."""
    clip = audio_window(lossy["mka"], "1.8", 8, 25, frames=25)
    start = clip.window.start_sample
    assert (clip.source.reader, clip.decoded_from) == ("pyav", 0)
    expected = 72000 - start
    assert abs(_onset(clip.samples) - expected) <= 3
    steady = expected + 480
    assert abs(_phase_offset(clip.samples[steady:], start + steady, 48000)) < 0.05


def test_raw_adts_warns_that_priming_is_unknown(lossy: dict[str, Path]) -> None:
    clip = audio_window(lossy["adts"], "1.8", 8, 25, frames=25)
    assert len(clip.source.warnings) == 1 and "no encoder-delay information" in clip.source.warnings[0]
    assert clip.to_json()["warnings"] == list(clip.source.warnings)
    assert _onset(clip.samples) - (72000 - clip.window.start_sample) == pytest.approx(1024, abs=3)


@pytest.mark.parametrize(("stream", "channels", "onset"), [(None, 2, Fraction(3, 2)), (0, 2, Fraction(3, 2)),
                                                            (1, 1, Fraction(7, 4))])
def test_stream_picks_among_several_audio_tracks(lossy: dict[str, Path], stream: int | None, channels: int,
                                                 onset: Fraction) -> None:
    clip = audio_window(lossy["two"], "1.8", 8, 25, frames=25, stream=stream)
    assert (clip.channels, clip.source.stream) == (channels, stream or 0)
    assert abs(_onset(clip.samples) - (int(onset * 48000) - clip.window.start_sample)) <= 3
    with pytest.raises(InputError, match=r"has 2 audio streams; --stream 2 is out of range \(0\.\.1\)"):
        audio_window(lossy["two"], "1.8", 8, 25, frames=25, stream=2)


def test_real_clip_six_channel_aac(real_clip: Path, tmp_path: Path) -> None:
    clip = audio_window(real_clip, "3.2", 8, 25, frames=33)
    assert (clip.window.start_sample, clip.window.num_samples) == (138240, 63360)
    assert clip.samples.shape == (63360, 6)
    assert clip.source_samples == 254976  # from the MP4 header, without decoding to the end
    written = write_audio(clip, tmp_path / "real.flac")
    data, rate = sf.read(tmp_path / "real.flac", always_2d=True)
    assert (data.shape, rate, written.subtype) == ((63360, 6), 48000, "PCM_16")
    resampled = write_audio(clip, tmp_path / "real.wav", rate=44100)
    assert (resampled.channels, resampled.num_samples) == (6, 58212)  # 63360 × 44100 / 48000
    assert sf.info(tmp_path / "real.wav").frames == 58212
    assert source_duration(real_clip) == (254976, 48000)


# --- seeking in long compressed tracks -----------------------------------------------------------------------


def test_long_mp4_seek_is_bit_identical_to_decoding_from_the_start(
        lossy: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    seeked = audio_window(lossy["m4a"], "20.04", 8, 25, frames=49)
    assert seeked.decoded_from > 48000 * 19  # seeked to just before the window, not decoded from 0
    monkeypatch.setattr(audio_source, "SEEK_MIN_SECONDS", Fraction(10**6))
    full = audio_window(lossy["m4a"], "20.04", 8, 25, frames=49)
    assert full.decoded_from == 0
    assert seeked.window == full.window
    assert np.array_equal(seeked.samples, full.samples)
    steady = 48000 // 10
    assert abs(_phase_offset(seeked.samples[steady:], seeked.window.start_sample + steady, 48000)) < 0.05


def _encode_speech_like(path: Path, rate: int, channels: int, *, pns: bool) -> Path:
    """10 s of a pulsing 180 Hz voice plus bursts of noise, AAC in MP4; ``pns`` lets FFmpeg's encoder code
    noisy bands as noise substitution (its default)."""
    t = np.arange(10 * rate) / rate
    noise = np.random.default_rng(2).standard_normal(t.size)
    voice = 0.4 * np.sin(2 * np.pi * 180 * t) * np.sin(2 * np.pi * 3 * t) ** 2
    mono = voice + 0.05 * noise * (np.sin(2.6 * np.pi * t) > 0)
    samples = np.stack([np.roll(mono, 37 * c) for c in range(channels)]).astype(np.float32)
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=rate, layout="stereo" if channels == 2 else "mono",
                                options={"aac_pns": str(int(pns))})
        for start in range(0, t.size, 1024):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[:, start:start + 1024]), format="fltp",
                                               layout=stream.layout)
            frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def _window(rate: int) -> tuple[int, int]:
    return int(7.3 * rate), int(8.8 * rate)  # starts mid-frame at both rates


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("rate", [44100, 48000])
def test_a_seeked_aac_read_is_sample_for_sample_a_decode_from_the_start(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rate: int, channels: int) -> None:
    path = _encode_speech_like(tmp_path / "voice.m4a", rate, channels, pns=False)
    lo, hi = _window(rate)
    with open_audio(path) as source:
        seeked = source.read(lo, hi)
    assert 0 < seeked.decoded_from <= lo - rate // 2  # seeked, with the pre-roll before the window
    with monkeypatch.context() as m:
        m.setattr(audio_source, "SEEK_MIN_SECONDS", Fraction(10**6))
        with open_audio(path) as source:
            full = source.read(lo, hi)
    assert full.decoded_from == 0
    assert (seeked.first, full.first) == (lo, lo)
    assert seeked.samples.shape == (hi - lo, channels)
    assert np.array_equal(seeked.samples, full.samples)
    # without the pre-roll the window's first frame is decoded without its predecessor's overlap
    monkeypatch.setattr(AudioDecoder.seek, "__defaults__", (Fraction(0),))
    with open_audio(path) as source:
        bare = source.read(lo, hi)
    wrong = np.flatnonzero(np.any(bare.samples != full.samples, axis=1))
    assert wrong.size and wrong[-1] < 1024


def test_a_window_reads_the_same_samples_every_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """AAC noise substitution draws from a generator that runs on from the decoder's opening: each read
    opens a fresh decoder, so neither an earlier read of the same window nor of another one changes it."""
    path = _encode_speech_like(tmp_path / "voice.m4a", 48000, 2, pns=True)
    lo, hi = _window(48000)
    with open_audio(path) as source:
        first = source.read(lo, hi).samples
        again = source.read(lo, hi).samples
        source.read(3 * 48000, 4 * 48000)
        after_another = source.read(lo, hi).samples
    with open_audio(path) as source:
        fresh = source.read(lo, hi).samples
    assert np.array_equal(first, again) and np.array_equal(first, after_another) and np.array_equal(first, fresh)
    monkeypatch.setattr(audio_source, "SEEK_MIN_SECONDS", Fraction(10**6))
    with open_audio(path) as source:
        start = source.read(lo, hi).samples
        assert np.array_equal(source.read(lo, hi).samples, start)  # decoding from the start twice, too
    assert not np.array_equal(start, first), "the file must hold noise-coded bands for this test to mean anything"


def test_mp4_track_ends_at_its_edit_list_not_at_the_encoder_padding(lossy: dict[str, Path]) -> None:
    with open_audio(lossy["m4a"]) as source:
        assert source.info.total_samples == 30 * 48000
    clip = audio_window(lossy["m4a"], "29.8", 8, 25, frames=17, pad=True)
    # 29.8 − 8/25 = 29.48 s → 1415040; 17 frames = 32640 samples; the track has 1440000.
    assert (clip.window.start_sample, clip.window.end_sample, clip.pad_after) == (1415040, 1447680, 7680)
    assert not np.any(clip.samples[-clip.pad_after :])


# --- padding and error policies ----------------------------------------------------------------------------


def test_window_before_the_start_is_an_error_with_exact_numbers(pcm_sources: dict[tuple[int, str], Path]) -> None:
    with pytest.raises(InputError, match=r"starts at -0\.120000 s \(sample -5760 at 48000 Hz\), 5760 samples"):
        audio_window(pcm_sources[48000, "wav24"], "0.2", 8, 25, frames=9)


def test_pad_fills_before_the_start_with_silence(pcm_sources: dict[tuple[int, str], Path]) -> None:
    clip = audio_window(pcm_sources[48000, "wav24"], "0.2", 8, 25, frames=9, pad=True)
    assert (clip.pad_before, clip.pad_after, clip.window.start_sample) == (5760, 0, -5760)
    assert not np.any(clip.samples[:5760])
    assert np.array_equal(np.round(clip.samples[5760:, 0] * 2**23), np.arange(17280 - 5760))


def test_window_past_the_end_is_an_error_with_exact_numbers(pcm_sources: dict[tuple[int, str], Path]) -> None:
    with pytest.raises(InputError, match=r"ends at 12\.040000 s \(sample 577920\), 1920 samples \(0\.040000 s\) "
                                         r"past the end of .* \(12\.000000 s, 576000 samples at 48000 Hz\)"):
        audio_window(pcm_sources[48000, "wav24"], "12", 8, 25, frames=9)


def test_pad_fills_past_the_end_with_silence(pcm_sources: dict[tuple[int, str], Path]) -> None:
    clip = audio_window(pcm_sources[48000, "flac24"], "12", 8, 25, frames=9, pad=True)
    assert (clip.pad_before, clip.pad_after, clip.source_samples) == (0, 1920, 576000)
    assert not np.any(clip.samples[-1920:])
    assert round(clip.samples[-1921, 0] * 2**23) == 575999


def test_a_window_wholly_before_the_start_is_all_padding(pcm_sources: dict[tuple[int, str], Path]) -> None:
    clip = audio_window(pcm_sources[44100, "wav24"], "0", 16, 25, frames=9, pad=True)
    assert (clip.pad_before, clip.pad_after, clip.samples.shape) == (15876, 0, (15876, 2))
    assert not np.any(clip.samples)


@pytest.mark.parametrize("pad", [False, True])
def test_a_cut_past_the_end_is_an_error_even_with_pad(pcm_sources: dict[tuple[int, str], Path],
                                                      lossy: dict[str, Path], pad: bool) -> None:
    with pytest.raises(InputError, match=r"--cut 12\.000021 s \(sample 576001\) is past the end"):
        audio_window(pcm_sources[48000, "wav24"], "12.000021", 8, 25, frames=9, pad=pad)
    with pytest.raises(InputError, match=r"--cut 31\.000000 s .* past the end .* 1440000 samples"):
        audio_window(lossy["m4a"], "31", 8, 25, frames=9, pad=pad)


@pytest.mark.parametrize("frames", [250, 0, 48])
def test_frames_not_8n_plus_1_are_an_error_naming_the_nearest_counts(
        pcm_sources: dict[tuple[int, str], Path], frames: int) -> None:
    with pytest.raises(InputError, match="--frames"):
        audio_window(pcm_sources[48000, "wav24"], "5", 8, 25, frames=frames)
    with pytest.raises(InputError, match="nearest valid: 249 or 257"):
        audio_window(pcm_sources[48000, "wav24"], "5", 8, 25, frames=250)


def test_seconds_takes_any_length(pcm_sources: dict[tuple[int, str], Path]) -> None:
    clip = audio_window(pcm_sources[48000, "wav24"], "5", 8, 25, seconds="0.0101")
    assert (clip.window.num_samples, clip.frames) == (485, None)  # 484.8 → 485


@pytest.mark.parametrize(("kwargs", "message"), [
    ({}, "exactly one of --frames or --seconds"),
    ({"frames": 9, "seconds": "1"}, "exactly one of --frames or --seconds"),
    ({"seconds": "0"}, "--seconds must be > 0"),
    ({"frames": 9, "stream": 1}, r"has 1 audio stream; --stream 1 is out of range \(0\.\.0\)"),
    ({"frames": 9, "stream": -1}, "--stream must be ≥ 0"),
])
def test_bad_arguments(pcm_sources: dict[tuple[int, str], Path], kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        audio_window(pcm_sources[48000, "wav24"], "5", 8, 25, **kwargs)  # type: ignore[arg-type]


# --- outputs ------------------------------------------------------------------------------------------------


def test_opus_output_is_48k_and_keeps_the_onset(lossy: dict[str, Path], tmp_path: Path) -> None:
    """44.1 kHz mp3 → swresample to 48 kHz (PyAV AudioResampler) → libsndfile Opus; onset still ±1 ms."""
    clip = audio_window(lossy["mp3"], "1.8", 8, 25, frames=25)
    written = write_audio(clip, tmp_path / "w.opus")
    assert (written.format, written.subtype, written.sample_rate) == ("OGG", "OPUS", 48000)
    assert written.num_samples == _exact(Fraction(clip.window.num_samples * 48000, 44100))
    back, rate = sf.read(tmp_path / "w.opus", always_2d=True)
    assert (rate, len(back)) == (48000, written.num_samples)
    expected = _exact(48000 * (Fraction(3, 2) - clip.window.start_seconds))
    assert abs(_onset(back) - expected) <= 48


def test_rate_and_mono(pcm_sources: dict[tuple[int, str], Path], tmp_path: Path) -> None:
    clip = audio_window(pcm_sources[44100, "wav24"], "6", 8, 25, frames=49)
    written = write_audio(clip, tmp_path / "w.wav", rate=16000, mono=True)
    assert (written.sample_rate, written.channels, written.num_samples) == (16000, 1, 31360)
    info = sf.info(tmp_path / "w.wav")
    assert (info.samplerate, info.channels, info.frames, info.subtype) == (16000, 1, 31360, "PCM_24")


def test_mono_of_identical_channels_is_bit_identical(lossy: dict[str, Path], tmp_path: Path) -> None:
    clip = audio_window(lossy["m4a"], "3", 8, 25, frames=9)
    assert np.array_equal(clip.samples[:, 0], clip.samples[:, 1])
    write_audio(clip, tmp_path / "stereo.wav")
    write_audio(clip, tmp_path / "mono.wav", mono=True)
    stereo, _ = sf.read(tmp_path / "stereo.wav", dtype="int16", always_2d=True)
    mono, _ = sf.read(tmp_path / "mono.wav", dtype="int16", always_2d=True)
    assert sf.info(tmp_path / "mono.wav").subtype == "PCM_16"  # compressed sources are written as PCM_16
    assert np.array_equal(mono[:, 0], stereo[:, 0])


def test_resample_is_aligned_and_exact_in_length() -> None:
    from ltxkit.audio import resample

    tone = Tone(hz=TONE_HZ, onset=Fraction(1, 2)).samples(0, 44100, 44100, 2).T.astype(np.float64)
    out = resample(tone, 44100, 48000)
    assert out.shape == (48000, 2)
    assert abs(_onset(out) - 24000) <= 3
    assert abs(_phase_offset(out[25000:45000], 25000, 48000)) < 0.05


@pytest.mark.parametrize("name", ["w.mp3", "w.WAVE", "w"])
def test_unknown_output_extension_fails_before_writing(pcm_sources: dict[tuple[int, str], Path], tmp_path: Path,
                                                        name: str) -> None:
    clip = audio_window(pcm_sources[48000, "wav24"], "5", 8, 25, frames=9)
    with pytest.raises(InputError, match="unknown output extension"):
        write_audio(clip, tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_leaves_no_partial_file(pcm_sources: dict[tuple[int, str], Path], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    clip = audio_window(pcm_sources[48000, "wav24"], "5", 8, 25, frames=9)
    (tmp_path / "w.wav").write_bytes(b"previous")

    def broken(path: str, *args: object, **kwargs: object) -> None:
        Path(path).write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(sf, "write", broken)
    with pytest.raises(OSError, match="disk full"):
        write_audio(clip, tmp_path / "w.wav")
    assert [p.name for p in tmp_path.iterdir()] == ["w.wav"]
    assert (tmp_path / "w.wav").read_bytes() == b"previous"


# --- gaps in the stream; damaged files -----------------------------------------------------------------


def test_a_real_gap_in_matroska_audio_reads_as_silence(gapped_mkv: Path) -> None:
    gapped = gapped_mkv
    # AAC frames from 0.5 s of an mp4 moved 100 ms later in an mkv (its picture, the origin, starts at
    # 21 ms = sample 1008): frames 0-24 back to back, frame 25 at 633 ms = sample 30384
    with av.open(str(gapped)) as container:
        plain = np.concatenate([f.to_ndarray() for f in container.decode(audio=0)], axis=1).T.astype(np.float64)
    gap_from, gap_to = 25600 - 1008, 30384 - 1008
    with open_audio(gapped, reader="pyav") as source:
        got = source.read(0, gap_to + len(plain) - 25600, until=2**62)
    assert (got.first, got.total_samples, len(got.samples)) == (0, gap_to + len(plain) - 25600,
                                                                gap_to + len(plain) - 25600)
    assert np.array_equal(got.samples[:gap_from], plain[1008:25600])
    assert not got.samples[gap_from:gap_to].any()
    assert np.array_equal(got.samples[gap_to:], plain[25600:])


def test_a_truncated_mp4_is_a_one_line_input_error(make_clip: ClipFactory, remux: Callable[..., Path],
                                                   tmp_path: Path) -> None:
    from click.testing import CliRunner

    from ltxkit.cli import main

    # the index first (faststart), cut halfway through the audio packet 60% of the way in: the track's
    # header still promises 2 s (a cut at a byte fraction landed wherever the encoder's bits put it)
    fast = remux(make_clip(fps=25, frames=50, audio=True), tmp_path / "fast.mp4", faststart=True)
    with av.open(str(fast)) as container:
        packets = sorted((p.pos, p.size) for p in container.demux(audio=0) if p.size and p.pos is not None)
    pos, size = packets[len(packets) * 6 // 10]
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(fast.read_bytes()[: pos + size // 2])
    decoded = 0
    with av.open(str(truncated)) as container, pytest.raises(av.error.InvalidDataError):
        for frame in container.decode(audio=0):
            decoded += frame.samples
    assert 0 < decoded < 72000
    out = tmp_path / "w.wav"
    result = CliRunner().invoke(main, ["audio", "window", str(truncated), "--cut", "1.5", "--overlap", "3",
                                       "--fps", "25", "--seconds", "0.4", "-o", str(out)])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.splitlines() == [
        f"ltxkit: error: {truncated}: decoding failed at audio sample {decoded} (Invalid data found when "
        "processing input); the file looks truncated or corrupt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fast.mp4", "truncated.mp4"]
