"""concat_clips: frame-exact head trims, audio that follows the rounded video trim, checks after writing."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import cast

import av
import numpy as np
import pytest
from av.audio.stream import AudioStream
from av.video.stream import VideoStream

from ltxkit.assembly.seam import best_lag
from ltxkit.audio.source import open_audio
from ltxkit.errors import InputError, MediaError
from ltxkit.frames import render, smart
from ltxkit.frames.concat import concat_clips
from ltxkit.frames.probe import probe
from ltxkit.frames.readers import AudioReader, VideoReader
from ltxkit.frames.synth import Tone, read_frame_code, render_frame, write_clip
from ltxkit.frames.timeline import Piece, Timeline, window_pieces

W, H, RATE = 160, 96, 48000


def codes(path: Path) -> list[int]:
    with VideoReader(path) as reader:
        return [read_frame_code(f) for f in reader.rgb()]


def left_channel(path: Path, count: int) -> np.ndarray:
    with AudioReader(path, RATE, "stereo") as reader:
        return reader.read(0, count)[0].astype(np.float64)


def clip(path: Path, fps: int, indices: range, *, tone: Tone | None = None, width: int = W) -> Path:
    return write_clip(path, frames=len(indices), fps=fps, width=width, height=H, tone=tone,
                      render=(render_frame(i, width, H) for i in indices))


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("join")
    return {
        "a": clip(d / "a.mp4", 25, range(0, 40), tone=Tone(440)),
        # B repeats A's last 3 frames; its own tone (660 Hz from its sample 0) shows where its audio starts
        "b": clip(d / "b.mp4", 25, range(37, 80), tone=Tone(660)),
        "a60": clip(d / "a60.mp4", 60, range(0, 60), tone=Tone(440)),
        "b60": clip(d / "b60.mp4", 60, range(1000, 1030), tone=Tone(660)),
        "silent": clip(d / "silent.mp4", 25, range(0, 20)),
        "narrow": clip(d / "narrow.mp4", 25, range(0, 20), tone=Tone(), width=128),
        "b30": clip(d / "b30.mp4", 30, range(0, 20), tone=Tone()),
    }


def _assert_tone(out: np.ndarray, start: int, count: int, tone: Tone, source_start: int) -> None:
    """``out[start:start+count]`` is ``tone`` from its sample ``source_start``: same phase, to the sample."""
    ideal = tone.samples(source_start, count, RATE, 1)[0].astype(np.float64)
    lag, corr = best_lag(ideal, out[start:start + count], 40)
    assert (lag, corr > 0.99) == (0, True)


@pytest.mark.parametrize("render_mode", ["smart", "full"])
def test_concat_trims_b_head_to_the_frame_and_audio_with_it(clips: dict[str, Path], tmp_path: Path,
                                                            render_mode: str) -> None:
    out = tmp_path / "ab.mp4"
    result = concat_clips([clips["a"], clips["b"]], out, trim_head_seconds=[Fraction(0), Fraction(3, 25)],
                          render=render_mode)
    assert result.render is not None and result.render["mode"] == render_mode
    with av.open(str(out)) as c, av.open(str(clips["a"])) as src:
        copied = [bytes(p) for p in c.demux(video=0) if p.size][:40] == [bytes(p) for p in src.demux(video=0) if p.size]
    assert copied == (render_mode == "smart")  # video.combine's twin leaves A's packets untouched
    assert codes(out) == list(range(80))
    assert (result.frame_count, result.fps, result.duration_seconds) == (80, 25, Fraction(16, 5))
    assert result.trimmed_frames == [0, 3] and result.warnings == []
    assert result.audio_samples == 80 * 1920
    info = probe(out)
    assert (info.frame_count, info.audio[0].codec, info.audio[0].duration_seconds) == (80, "aac", Fraction(16, 5))
    audio = left_channel(out, 80 * 1920)
    joint = 40 * 1920  # A's 40 frames, then B from its frame 3 = its sample 3 × 1920
    _assert_tone(audio, joint - 4800, 4800, Tone(440), joint - 4800)
    _assert_tone(audio, joint, 4800, Tone(660), 3 * 1920)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ab.mp4"]


def test_a_trim_of_3_frames_at_25_on_60_fps_clips_is_7_frames_and_warns(clips: dict[str, Path],
                                                                        tmp_path: Path) -> None:
    out = tmp_path / "ab60.mp4"
    result = concat_clips([clips["a60"], clips["b60"]], out, trim_head_seconds=[Fraction(0), Fraction(3, 25)])
    assert result.trimmed_frames == [0, 7]
    assert len(result.warnings) == 1 and "7.20 frames" in result.warnings[0]
    assert "rounded to 7 frames (-3.33 ms)" in result.warnings[0]
    assert codes(out) == list(range(60)) + list(range(1007, 1030))
    assert (result.frame_count, result.audio_samples) == (83, 83 * 800)
    audio = left_channel(out, 83 * 800)
    _assert_tone(audio, 60 * 800, 4000, Tone(660), 7 * 800)  # audio trimmed by the rounded 7 frames


def test_audio_trim_smaller_than_video_trim_switches_audio_earlier(clips: dict[str, Path],
                                                                   tmp_path: Path) -> None:
    out = tmp_path / "early.mp4"
    concat_clips([clips["a"], clips["b"]], out, trim_head_seconds=[Fraction(0), Fraction(3, 25)],
                 audio_trim_head_seconds=[Fraction(0), Fraction(0)])
    assert codes(out) == list(range(80))
    audio = left_channel(out, 80 * 1920)
    switch = 37 * 1920  # B's sample 0 sits under its frame 0, three frames before A ends
    _assert_tone(audio, switch - 4800, 4800, Tone(440), switch - 4800)
    _assert_tone(audio, switch, 4800, Tone(660), 0)


@pytest.mark.parametrize(("codec", "name", "video", "audio"), [
    ("prores", "ab.mov", "prores", "pcm_s16le"),
    ("ffv1", "ab.mkv", "ffv1", "pcm_s16le"),
])
def test_editing_codecs_write_exact_frames_and_pcm(clips: dict[str, Path], tmp_path: Path, codec: str, name: str,
                                                   video: str, audio: str) -> None:
    out = tmp_path / name
    result = concat_clips([clips["a"], clips["b"]], out, trim_head_seconds=[Fraction(0), Fraction(3, 25)],
                          codec=codec)
    info = probe(out)
    assert (info.codec, info.audio[0].codec, info.frame_count, result.audio_samples) == (video, audio, 80,
                                                                                       80 * 1920)
    assert codes(out) == list(range(80))


def test_video_only_concat_of_clips_without_audio(clips: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "silent.mp4"
    result = concat_clips([clips["silent"], clips["silent"]], out, trim_head_seconds=[Fraction(0), Fraction(1, 5)],
                          audio=False)
    assert codes(out) == list(range(20)) + list(range(5, 20))
    assert result.audio_samples is None and probe(out).audio == []


@pytest.mark.parametrize(("second", "codec", "name", "message"), [
    ("narrow", "h264", "o.mp4", "sizes differ"),
    ("b30", "h264", "o.mp4", "frame rates differ: a.mp4 is 25 fps, b30.mp4 is 30 fps"),
    ("silent", "h264", "o.mp4", "has no audio stream"),
    ("b", "prores", "o.mp4", "--codec prores writes .mov files"),
    ("b", "h264", "o.mkv", "--codec h264 writes"),
])
def test_bad_inputs_raise_input_error_and_write_nothing(clips: dict[str, Path], tmp_path: Path, second: str,
                                                      codec: str, name: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        concat_clips([clips["a"], clips[second]], tmp_path / name, trim_head_seconds=[Fraction(0), Fraction(0)],
                     codec=codec)
    assert list(tmp_path.iterdir()) == []


def test_size_error_names_both_sizes(clips: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        concat_clips([clips["a"], clips["narrow"]], tmp_path / "o.mp4", trim_head_seconds=[0, 0])
    assert "160x96" in str(err.value) and "128x96" in str(err.value)


def test_trim_that_leaves_nothing_is_an_input_error(clips: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(InputError, match="leaves nothing"):
        concat_clips([clips["a"], clips["b"]], tmp_path / "o.mp4", trim_head_seconds=[Fraction(0), Fraction(2)])
    assert list(tmp_path.iterdir()) == []


def test_a_failed_check_after_writing_leaves_no_file(clips: dict[str, Path], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def wrong(path: Path, tl: Timeline) -> None:
        raise MediaError("the written file is not what was planned: 79 frames instead of 80")

    monkeypatch.setattr(smart, "verify_written", wrong)
    monkeypatch.setattr(render, "verify_written", wrong)
    with pytest.raises(MediaError, match="79 frames"):
        concat_clips([clips["a"], clips["b"]], tmp_path / "o.mp4", trim_head_seconds=[Fraction(0), Fraction(0)])
    assert list(tmp_path.iterdir()) == []


def test_window_of_a_timeline_keeps_fade_weights_and_sample_spans() -> None:
    a, b = Path("a.mp4"), Path("b.mp4")
    piece = Piece(a, 10, 4, blend=b, blend_start=0, fade_length=4)
    windowed = window_pieces([Piece(a, 0, 10), piece], 12, 2)
    assert windowed == [Piece(a, 12, 2, blend=b, blend_start=2, fade_offset=2, fade_length=4)]
    assert list(windowed[0].fade_weights(0, 2, centred=False)) == [0.6, 0.8]
    tl = Timeline(Fraction(30000, 1001), 16, 16, (Piece(a, 0, 30),), (Piece(a, 0, 48048),))
    assert tl.sample_count == 48048
    w = tl.window(1, 2)
    assert w.audio is not None and w.audio[0].start == 1602 and w.audio[0].count == 3203


def test_missing_output_directories_are_made_but_a_file_in_the_way_is_refused(clips: dict[str, Path],
                                                                              tmp_path: Path) -> None:
    out = tmp_path / "new" / "dir" / "ab.mp4"
    concat_clips([clips["silent"], clips["silent"]], out, trim_head_seconds=[0, 0], audio=False)
    assert probe(out).frame_count == 40
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="is not a directory"):
        concat_clips([clips["silent"]], tmp_path / "file" / "o.mp4", trim_head_seconds=[0], audio=False)
    with pytest.raises(InputError, match="would overwrite an input"):
        concat_clips([clips["silent"]], clips["silent"], trim_head_seconds=[0], audio=False)


# --- Matroska audio, rotation, odd sizes --------------------------------------------------------------


def _webm(path: Path, frames: int, fps: int, tone: Tone) -> Path:
    """VP8 + Opus (WebM): Opus frames of 960 samples after a 648-sample first one, stamped in ms."""
    with av.open(str(path), "w") as out:
        vs = cast(VideoStream, out.add_stream("libvpx", rate=fps))
        vs.width, vs.height, vs.pix_fmt = 64, 48, "yuv420p"
        vs.options = {"deadline": "realtime", "cpu-used": "8"}
        aus = cast(AudioStream, out.add_stream("libopus", rate=RATE))
        aus.layout = "stereo"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(render_frame(i, 64, 48), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(vs.encode(frame))
        out.mux(vs.encode(None))
        total = frames * RATE // fps
        for start in range(0, total, 960):
            af = av.AudioFrame.from_ndarray(tone.samples(start, min(960, total - start), RATE, 2), format="fltp",
                                            layout="stereo")
            af.sample_rate, af.pts, af.time_base = RATE, start, Fraction(1, RATE)
            out.mux(aus.encode(af))
        out.mux(aus.encode(None))
    return path


@pytest.mark.parametrize(("ext", "stamps"), [("mkv", [0, 21, 43, 64]), ("webm", [0, 14, 34, 54])])
def test_matroska_audio_reads_back_to_back_like_a_plain_decode(tmp_path: Path, ext: str,
                                                               stamps: list[int]) -> None:
    path = tmp_path / f"clip.{ext}"
    if ext == "mkv":  # AAC: 1024 samples = 21.33 ms per frame
        write_clip(path, frames=50, fps=25, width=64, height=48, tone=Tone())
    else:
        _webm(path, 50, 25, Tone())
    with av.open(str(path)) as container:
        decoded = list(container.decode(audio=0))
        plain = np.concatenate([f.to_ndarray() for f in decoded], axis=1)
    assert [f.pts for f in decoded[:4]] == stamps  # milliseconds: off the sample count by up to 0.5 ms
    with AudioReader(path, RATE, "stereo") as reader:
        read = reader.read(0, plain.shape[1])
        assert reader.padded == 0
    # every sample in place: placing each frame by its own stamp dropped or zero-filled up to 24 a joint
    assert read.dtype == plain.dtype and np.array_equal(read, plain)


def test_a_real_gap_in_matroska_audio_is_still_silence(gapped_mkv: Path) -> None:
    gapped = gapped_mkv
    # AAC frames from 0.5 s of an mp4 moved 100 ms later in an mkv. In the mkv the encoder's 1024 priming
    # samples come first and the picture starts at 21 ms (sample 1008, the reader's sample 0); frames 0-24
    # sit back to back, frame 25 is stamped 633 ms = sample 30384: a real gap of 4784 samples.
    with av.open(str(gapped)) as container:
        assert container.streams.video[0].start_time == 21
        decoded = list(container.decode(audio=0))
        plain = np.concatenate([f.to_ndarray() for f in decoded], axis=1)
    assert [f.pts for f in decoded[23:27]] == [490, 512, 633, 654]
    gap_from, gap_to = 25600 - 1008, 30384 - 1008
    with AudioReader(gapped, RATE, "stereo") as reader:
        read = reader.read(0, gap_to + plain.shape[1] - 25600)
    assert np.array_equal(read[:, :gap_from], plain[:, 1008:25600])
    assert not read[:, gap_from:gap_to].any()
    assert np.array_equal(read[:, gap_to:], plain[:, 25600:])


def test_the_render_and_the_audio_window_read_a_seeked_aac_track_like_a_decode_from_the_start(
        tmp_path: Path) -> None:
    # one AudioDecoder under both: the render's AudioReader (resampling, here to the same format) and
    # the reference-audio AudioSource seek 1/2 s before sample 8 s + 123 and give the same bits
    path = write_clip(tmp_path / "long.mp4", frames=250, fps=25, width=64, height=48, tone=Tone())
    start, n = 8 * RATE + 123, 4800
    with AudioReader(path, RATE, "stereo") as reader:
        whole = reader.read(0, start + n)[:, start:]
        assert reader.seeks == 0
    with AudioReader(path, RATE, "stereo") as reader:
        seeked = reader.read(start, n)
        assert (reader.seeks, reader.padded) == (1, 0)
    assert np.array_equal(seeked, whole)
    with open_audio(path, reader="pyav") as source:
        window = source.read(start, start + n)
    # decoding began at the start of the 1024-sample AAC frame holding the seek target, 1/2 s back
    assert (window.first, window.decoded_from) == (start, (start - RATE // 2) // 1024 * 1024)
    assert np.array_equal(window.samples.T.astype(np.float32), whole)


@pytest.mark.parametrize(("codec", "name"), [("h264", "rot.mp4"), ("prores", "rot.mov"), ("ffv1", "rot.mkv")])
def test_rotated_clips_are_joined_as_displayed(clips: dict[str, Path], remux: Callable[..., Path], tmp_path: Path,
                                               codec: str, name: str) -> None:
    # phone clips: pixels stored landscape, a display matrix says "turn by -90°" (clockwise)
    rotated = [remux(clips[k], tmp_path / f"phone-{k}.mp4", rotation=-90) for k in ("a", "b")]
    assert [probe(r).rotation for r in rotated] == [-90, -90]
    out = tmp_path / name
    concat_clips(rotated, out, trim_head_seconds=[Fraction(0), Fraction(3, 25)], codec=codec)
    info = probe(out)
    # the output plays the same way, stored upright: portrait pixels and no display matrix
    assert (info.rotation, info.width, info.height, info.frame_count) == (0, H, W, 80)
    with VideoReader(out) as reader:  # turned back counterclockwise, each frame shows its code
        assert [read_frame_code(np.rot90(f, 1)) for f in reader.rgb()] == list(range(80))


def test_odd_size_h264_output_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    odd = [write_clip(inputs / f"{n}.mkv", frames=10, fps=25, width=81, height=61, codec="ffv1", tone=Tone())
           for n in ("a", "b")]
    out = tmp_path / "out" / "o.mp4"
    with pytest.raises(InputError) as caught:
        concat_clips(odd, out, trim_head_seconds=[Fraction(0), Fraction(0)])
    assert str(caught.value) == ("h264 needs even width and height, the output is 81x61; "
                                 "use --codec ffv1 or prores, or --scale")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a.mkv", "b.mkv", "in"]
    # the editing codecs take odd sizes as they are
    result = concat_clips(odd, tmp_path / "o.mkv", trim_head_seconds=[Fraction(0), Fraction(0)], codec="ffv1")
    assert (result.width, result.height, result.frame_count) == (81, 61, 20)
