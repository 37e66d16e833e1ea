"""Tail extraction: the right source frames (by burned-in code), bit-exact pixels, seek modes, outputs, errors."""

from __future__ import annotations

import json
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
from ltxkit.timing import tail_source_indices

ClipFactory = Callable[..., Path]
Decoder = Callable[[Path], list[np.ndarray]]

RATES = [Fraction(24000, 1001), Fraction(25), Fraction(30), Fraction(60)]


@pytest.fixture(scope="session")
def full_decode() -> Decoder:
    """Every frame of a clip from a plain decode from the start: the reference pixels (cached)."""
    cache: dict[Path, list[np.ndarray]] = {}

    def decode(path: Path) -> list[np.ndarray]:
        if path not in cache:
            with av.open(str(path)) as container:
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
    # 25 fps clip at 60: instants 60 - k * 25/60 frames for k = 5..1 = 57.92, 58.33, 58.75, 59.17, 59.58
    # -> nearest frame starts 58, 58, 59, 59, 60 (past the end: the last frame, 59)
    result = read_tail(make_clip(fps=25, frames=60, bframes=2, gop=12), 5, Fraction(60))
    assert codes(result) == [58, 58, 59, 59, 59]
    assert np.array_equal(result.frames[0].rgb, result.frames[1].rgb)
    assert result.frames[0].rgb is not result.frames[1].rgb  # callers may modify one without the other


def test_vfr_clip_uses_real_frame_times(vfr_clip: Path, full_decode: Decoder) -> None:
    result = read_tail(vfr_clip, 12, Fraction(25))
    times = [Fraction(ms, 1000) for ms in VFR_TIMES_MS]
    # independent brute force: the clip ends one interval after its last frame; the nearest frame start
    # to each instant end - k/25, ties to the later frame
    end = times[-1] + (times[-1] - times[-2])
    instants = [end - Fraction(k, 25) for k in range(12, 0, -1)]

    def nearest(instant: Fraction) -> int:
        return min(range(len(times)), key=lambda i: (abs(times[i] - instant), -i))

    expected = [nearest(t) for t in instants]
    # by hand: the clip ends at 1.37 s; 0.89 s lies midway between frames 24 (0.88) and 25 (0.90) -> 25;
    # 1.25 s -> 41 (1.26)
    assert expected == [25, 27, 29, 31, 33, 35, 37, 39, 40, 41, 42, 43]
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
    # 25/29.97 = 0.834 frames a step: instants 132 - 3.34, 2.50, 1.67, 0.83 = 128.66, 129.50-, 130.33, 131.17
    (4, Fraction(30000, 1001), [129, 129, 130, 131]),
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
    # at 25: 1.1988 frames a step back from the end (120): 115.2, 116.4, 117.6, 118.8
    result = read_tail(real_clip_ntsc, 4, Fraction(25))
    assert [f.source_index for f in result.frames] == [115, 116, 118, 119]
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
