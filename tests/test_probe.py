"""Probing: exact fps, frame count, duration and streams, from the sample index or a demux scan."""

from __future__ import annotations

import json
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile
from media import write_stamped

from ltxkit.errors import InputError
from ltxkit.frames.probe import AudioStreamInfo, open_media, probe
from ltxkit.frames.synth import write_clip

ClipFactory = Callable[..., Path]


@pytest.mark.parametrize("fps", [Fraction(24000, 1001), Fraction(25), Fraction(30), Fraction(60)], ids=str)
@pytest.mark.parametrize("audio", [False, True], ids=["no-audio", "audio"])
def test_generated_clips(make_clip: ClipFactory, fps: Fraction, audio: bool) -> None:
    info = probe(make_clip(fps=fps, frames=60, audio=audio, bframes=2, gop=12))
    assert (info.fps, info.frame_count, info.duration_seconds) == (fps, 60, Fraction(60) / fps)
    assert (info.width, info.height, info.codec, info.pix_fmt) == (160, 120, "h264", "yuv420p")
    assert (info.vfr, info.rotation, info.start_seconds) == (False, 0, Fraction(0))
    if audio:
        assert [(a.index, a.codec, a.sample_rate, a.channels) for a in info.audio] == [(0, "aac", 48000, 2)]
    else:
        assert info.audio == []


def test_real_clip(real_clip: Path) -> None:
    info = probe(real_clip)
    assert (info.fps, info.frame_count, info.duration_seconds) == (Fraction(25), 132, Fraction(132, 25))
    assert (info.width, info.height, info.codec, info.vfr) == (1280, 720, "h264", False)
    assert info.time_base == Fraction(1, 12800)
    assert [(a.codec, a.sample_rate, a.channels) for a in info.audio] == [("aac", 48000, 6)]


def test_real_ntsc_clip(real_clip_ntsc: Path) -> None:
    info = probe(real_clip_ntsc)
    assert info.fps == Fraction(30000, 1001) and info.frame_count == 120
    assert info.duration_seconds == Fraction(120 * 1001, 30000)
    assert (info.width, info.height, info.vfr, info.audio) == (176, 144, False, [])


def test_json_keeps_the_exact_fps(real_clip_ntsc: Path) -> None:
    data = json.loads(json.dumps(probe(real_clip_ntsc).to_json()))
    assert (data["fps"], data["frame_count"], data["path"]) == ("30000/1001", 120, str(real_clip_ntsc))
    assert data["fps_float"] == 30000 / 1001 and data["time_base"] == "1/30000"


@pytest.mark.parametrize("ext", ["mkv", "ts"])
def test_containers_without_a_full_index_count_the_same(tmp_path: Path, make_clip: ClipFactory,
                                                        ext: str) -> None:
    # mkv keeps cues for keyframes only and its B-frame packets lack dts; mpeg-ts has no index at all
    other = write_clip(tmp_path / f"clip.{ext}", frames=60, fps=25, width=160, height=120, bframes=2, gop=12)
    mp4 = probe(make_clip(fps=25, frames=60, bframes=2, gop=12))
    info = probe(other)
    assert (info.frame_count, info.fps, info.duration_seconds, info.vfr) == (
        mp4.frame_count, mp4.fps, mp4.duration_seconds, False)


@pytest.mark.parametrize("ext", ["mp4", "mkv"])
def test_vfr_clip_is_detected(tmp_path: Path, ext: str) -> None:
    # 10 frames at 25 fps then 10 at 50 fps (a phone switching rate), with B-frames
    times_ms = [i * 40 for i in range(10)] + [400 + i * 20 for i in range(10)]
    info = probe(write_stamped(tmp_path / f"vfr.{ext}", times_ms, 96, 64, bf="2"))
    assert info.vfr and info.frame_count == 20
    # last frame at 0.58 s plus 40 ms: the stream's own duration (mp4; its dts span would say 0.66 s
    # because of the B-frame delay) or one typical interval (mkv, 10 x 40 ms against 9 x 20 ms)
    assert info.duration_seconds == Fraction(62, 100)


def test_constant_rate_clip_is_not_vfr_despite_timestamp_rounding(tmp_path: Path) -> None:
    # 30000/1001 in a 1/1000 time base: intervals of 33 and 34 ticks are rounding, not VFR
    path = write_clip(tmp_path / "ntsc.mkv", frames=30, fps=Fraction(30000, 1001), width=96, height=64)
    info = probe(path)
    assert info.time_base == Fraction(1, 1000) and not info.vfr and info.frame_count == 30


def test_audio_stream_details(make_clip: ClipFactory) -> None:
    (audio,) = probe(make_clip(fps=25, frames=50, audio=True)).audio
    assert isinstance(audio, AudioStreamInfo) and audio.duration_seconds is not None
    # AAC adds encoder priming/padding, so the stream lasts at least the 2 s of video
    assert Fraction(2) <= audio.duration_seconds < Fraction(2) + Fraction(4096, 48000)


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        probe(tmp_path / "missing.mp4")
    with pytest.raises(InputError, match="not a file"):
        probe(tmp_path)
    text = tmp_path / "notes.mp4"
    text.write_text("definitely not a video\n" * 20)
    with pytest.raises(InputError, match="cannot read"):
        probe(text)
    wav = tmp_path / "tone.wav"
    soundfile.write(wav, np.zeros(800, dtype=np.int16), 8000)  # a real WAV, no video
    with pytest.raises(InputError, match="has no video stream"):
        probe(wav)


@pytest.mark.parametrize("fps", [Fraction(25), Fraction(30000, 1001)], ids=str)
def test_head_trimmed_mp4_counts_only_the_frames_it_shows(make_clip: ClipFactory, remux: Callable[..., Path],
                                                          tmp_path: Path, fps: Fraction) -> None:
    # `ffmpeg -ss … -c copy` and phone trims keep the GOP before the cut, discarded by an edit list
    clip = make_clip(fps=fps, frames=50, audio=True, bframes=2, gop=12)
    trimmed = remux(clip, tmp_path / "trimmed.mp4", head_frames=5)
    with av.open(str(trimmed)) as container:
        vs = container.streams.video[0]
        assert (vs.frames, sum(e.is_discard for e in vs.index_entries)) == (50, 5)
        shown = sum(1 for _ in container.decode(vs))
    assert shown == 45
    info = probe(trimmed)
    assert (info.frame_count, info.duration_seconds) == (45, 45 / fps)
    assert (info.start_seconds, info.vfr, info.fps) == (Fraction(0), False, fps)
    assert json.loads(json.dumps(info.to_json()))["frame_count"] == 45


@pytest.mark.parametrize("ext", [".mp4", ".mkv", ".ts"])
def test_a_reader_opens_without_ffmpegs_trial_decode_where_the_header_lists_every_stream(
        ext: str, make_clip: ClipFactory, remux: Callable[..., Path], tmp_path: Path) -> None:
    """``open_media(decoding=True)`` skips the stream probe's decode of the first pictures (the pixel format
    stays unset until a frame is decoded) for mp4 and Matroska; a transport stream, whose streams are found
    by reading packets, is opened with the full probe. Either way the decoded pictures and sound are the
    default open's."""
    clip = make_clip(frames=30, audio=True)
    path = clip if ext == ".mp4" else remux(clip, tmp_path / f"clip{ext}")
    for kind in ("video", "audio"):
        with open_media(path, decoding=True) as fast, open_media(path) as full:
            assert fast.streams.video[0].codec_context.pix_fmt == (None if ext != ".ts" else "yuv420p")
            assert full.streams.video[0].codec_context.pix_fmt == "yuv420p"
            assert len(fast.streams) == len(full.streams) == 2
            ours = [f.to_ndarray() for f in fast.decode(**{kind: 0})]
            theirs = [f.to_ndarray() for f in full.decode(**{kind: 0})]
        assert len(ours) == len(theirs) > 0 and all(np.array_equal(a, b) for a, b in zip(ours, theirs, strict=True))
