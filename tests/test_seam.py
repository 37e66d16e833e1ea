"""Seam metrics, verdicts and the review outputs (contact sheet, review clip cut by seeking, HTML)."""

from __future__ import annotations

import html
import json
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from ltxkit.assembly import report as report_module
from ltxkit.assembly import review_seam, splice_with_report
from ltxkit.assembly import seam as seam_module
from ltxkit.assembly.review import file_timeline, review_clip, review_frames, review_scale, review_window
from ltxkit.assembly.seam import (
    ANALYSIS_MAX_WIDTH,
    FINDINGS_AFTER,
    FINDINGS_BEFORE,
    FINDINGS_MAX_WIDTH,
    THRESHOLDS,
    best_lag,
    findings_rgb,
    load_seam,
    psnr,
    scaled_size,
    seam_words,
    ssim,
)
from ltxkit.assembly.splice import prepare_splice
from ltxkit.errors import InputError
from ltxkit.frames import checks, readers
from ltxkit.frames import render as render_module
from ltxkit.frames.probe import probe
from ltxkit.frames.readers import VideoReader
from ltxkit.frames.synth import Tone, read_frame_code, render_frame, write_clip

W, H = 160, 96


@dataclass(frozen=True)
class ShiftedTone(Tone):
    offset: int = 0

    def samples(self, start: int, count: int, rate: int, channels: int) -> np.ndarray:
        return super().samples(start + self.offset, count, rate, channels)


def tinted(i: int) -> np.ndarray:
    f = render_frame(i, W, H).astype(np.int16)
    f[..., 0] += 40
    f[..., 2] -= 40
    return f.clip(0, 255).astype(np.uint8)


def codes(path: Path) -> list[int]:
    with VideoReader(path) as reader:
        return [read_frame_code(f) for f in reader.rgb()]


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("seam")

    def clip(name: str, frames: range, *, tone: Tone | None = None, tint: bool = False) -> Path:
        source = (tinted(i) if tint else render_frame(i, W, H) for i in frames)
        return write_clip(d / name, frames=len(frames), fps=25, width=W, height=H, tone=tone, render=source)

    return {
        "a": clip("a.mp4", range(0, 100), tone=Tone()),
        "b": clip("b.mp4", range(97, 150), tone=ShiftedTone(offset=97 * 1920)),
        "b_tinted": clip("b_tinted.mp4", range(97, 150), tone=ShiftedTone(offset=97 * 1920), tint=True),
        "b_late": clip("b_late.mp4", range(112, 165), tone=ShiftedTone(offset=97 * 1920)),
        "b_loud": clip("b_loud.mp4", range(97, 150), tone=ShiftedTone(amplitude=0.05, offset=97 * 1920)),
        "c": clip("c.mp4", range(147, 180), tone=ShiftedTone(offset=147 * 1920)),
    }


def test_psnr_ssim_and_lag_on_known_inputs() -> None:
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    assert psnr(img, img) == 100.0 and ssim(img[..., 0].astype(float), img[..., 0].astype(float)) == 1.0
    noisy = np.clip(img.astype(int) + rng.integers(-8, 9, img.shape), 0, 255).astype(np.uint8)
    assert 30 < psnr(img, noisy) < 40
    assert 0.5 < ssim(img[..., 0].astype(float), noisy[..., 0].astype(float)) < 1.0
    x = rng.standard_normal(4000)
    assert best_lag(x[100:3100], x[90:3090], 50)[0] == 10  # x[100] comes 10 samples later in the signal
    assert best_lag(x[100:3100], x[110:3110], 50)[0] == -10


def test_a_good_seam_is_ok_with_every_metric_measured(clips: dict[str, Path]) -> None:
    result = review_seam(clips["a"], clips["b"], overlap=3, sampled_fps=Fraction(25))
    seam = result["seam"]
    assert result["verdict"] == "ok" and set(seam["levels"].values()) == {"ok"}
    m = seam["metrics"]
    assert m["overlap_fidelity"]["pairs"] == [[97, 0], [98, 1], [99, 2]]
    assert m["overlap_fidelity"]["psnr_db_mean"] > 35 and m["overlap_fidelity"]["ssim_mean"] > 0.97
    assert seam["findings"] == []  # nor an audio level jump
    assert m["av_offset"]["offset_ms"] == 0 and m["av_offset"]["reliable"]
    assert seam["thresholds"] == THRESHOLDS and json.dumps(result)


def test_a_colour_shifted_b_is_rated_bad(clips: dict[str, Path]) -> None:
    result = review_seam(clips["a"], clips["b_tinted"], overlap=3, sampled_fps=Fraction(25))
    levels = result["seam"]["levels"]
    assert result["verdict"] == "bad"
    assert levels["colour"] == "bad" and levels["overlap_psnr"] == "bad"
    (colour,) = [f for f in result["seam"]["findings"] if f["kind"] == "colour"]
    assert colour["words"].startswith("B is warmer than A by ΔE ") and colour["size"] > 20
    assert colour["words"].endswith("over all of B (already in the overlap)") and colour["frame"] == 100


def test_a_b_that_starts_late_is_bad_at_the_cut_not_motion(clips: dict[str, Path]) -> None:
    result = review_seam(clips["a"], clips["b_late"], overlap=3, sampled_fps=Fraction(25))
    seam = result["seam"]
    assert result["verdict"] == "bad" and seam["levels"]["overlap_psnr"] == "bad"
    assert {f["frame"] for f in seam["findings"]} == {100} and seam["findings"][0]["level"] == "bad"


def test_the_report_states_every_level_in_the_words_the_review_page_uses(clips: dict[str, Path],
                                                                          tmp_path: Path) -> None:
    result = review_seam(clips["a"], clips["b_late"], overlap=3, sampled_fps=Fraction(25), report_dir=tmp_path / "r")
    seam = result["seam"]
    words = seam_words(seam["levels"], seam["findings"])
    assert {"metric": "overlap_psnr", "level": "bad", "text": "B's overlap does not match the frames it continues"} \
        in words
    page = html.unescape((tmp_path / "r" / "report.html").read_text())
    assert all(w["text"] in page for w in words if w["level"] != "ok")


def test_a_quieter_b_is_an_audio_level_jump(clips: dict[str, Path]) -> None:
    result = review_seam(clips["a"], clips["b_loud"], overlap=3, sampled_fps=Fraction(25))
    (f,) = result["seam"]["findings"]
    assert (f["kind"], f["level"], round(f["size"]), f["frame"]) == ("audio", "bad", -20, 97)
    assert f["words"].startswith("B's sound is 20.0 dB quieter than A's at the switch")


def test_seam_report_has_sheet_review_clip_and_self_contained_html(clips: dict[str, Path], tmp_path: Path) -> None:
    report = tmp_path / "review"
    result = review_seam(clips["a"], clips["b"], overlap=3, sampled_fps=Fraction(25), report_dir=report)
    assert result["report"] == str(report / "report.html")
    assert sorted(p.name for p in report.iterdir()) == ["report.html", "report.json", "seam-1-review.mp4",
                                                         "seam-1-sheet.png"]
    assert [p.name for p in tmp_path.iterdir()] == ["review"]  # no temporary directory left behind
    page = (report / "report.html").read_text()
    assert "data:image/png;base64," in page and "<video controls" in page and "data:video/mp4;base64," in page
    assert "OK" in page and "Nothing visible at the cut" in page
    with Image.open(report / "seam-1-sheet.png") as sheet:
        assert sheet.width > 4 * 150 and sheet.height > 4 * 80
    # ±2 s around the cut (output frame 100) of the splice A+B, cut straight from A and B
    assert codes(report / "seam-1-review.mp4") == list(range(50, 150))
    assert probe(report / "seam-1-review.mp4").audio[0].duration_seconds == 4


def test_review_clip_of_a_long_file_is_cut_by_seeking(tmp_path: Path) -> None:
    long = write_clip(tmp_path / "long.mp4", frames=600, fps=25, width=96, height=64, gop=25, tone=Tone(),
                      render=(render_frame(i, 96, 64) for i in range(600)))
    clip = review_clip(file_timeline(probe(long), audio=True), 500, tmp_path / "r.mp4", render="full")
    assert clip.render.seeks >= 2  # picture and sound each seek straight to the cut instead of decoding 20 s
    assert codes(tmp_path / "r.mp4") == list(range(450, 550))
    assert clip.render.audio_samples == 100 * 1920
    assert (clip.mode, clip.reason) == ("full", "--render full")


def test_review_clip_of_a_small_source_copies_its_whole_gops(tmp_path: Path) -> None:
    long = write_clip(tmp_path / "long.mp4", frames=600, fps=25, width=96, height=64, gop=25, tone=Tone(), bframes=0,
                      render=(render_frame(i, 96, 64) for i in range(600)))
    with av.open(str(long)) as container:  # x264 puts keyframes where scenes cut, at most 25 apart
        keys = [i for i, p in enumerate(container.demux(video=0)) if p.is_keyframe]  # no B-frames: i = frame
    inside = [k for k in keys if 460 <= k <= 560]
    clip = review_clip(file_timeline(probe(long), audio=True), 510, tmp_path / "r.mp4")
    assert (clip.mode, clip.copied_frames, clip.encoded_frames) == ("smart", inside[-1] - inside[0],
                                                                    100 - (inside[-1] - inside[0]))
    assert [c.to_json() for c in clip.copied] == [{"clip": "long.mp4", "first_frame": inside[0],
                                                   "last_frame": inside[-1] - 1, "gops": len(inside) - 1}]
    assert codes(tmp_path / "r.mp4") == list(range(460, 560))
    assert clip.render.audio_samples == 100 * 1920


def test_review_clip_of_a_wide_source_is_scaled_so_re_encoded(tmp_path: Path) -> None:
    # just wider than REVIEW_MAX_WIDTH (what a 1280x720 source does, at a third of the pixels to make)
    wide = write_clip(tmp_path / "wide.mp4", frames=100, fps=25, width=704, height=396, gop=25)
    clip = review_clip(file_timeline(probe(wide), audio=False), 50, tmp_path / "r.mp4")
    assert (clip.mode, clip.reason) == ("full", "wide.mp4 is 704x396, the output 640x360")
    assert (clip.render.width, clip.render.frame_count) == (640, 100)


def test_splice_with_report_rates_every_seam_of_three_clips(clips: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "abc.mp4"
    result = splice_with_report([clips["a"], clips["b"], clips["c"]], out, overlap=3, sampled_fps=Fraction(25),
                                report_dir=tmp_path / "rep", otio=False)
    assert result["verdict"] == "ok" and result["splice"]["frame_count"] == 180
    assert [s["cut"]["cut_frame"] for s in result["seams"]] == [100, 150]
    assert codes(tmp_path / "rep" / "seam-2-review.mp4") == list(range(100, 180))  # clipped at the end
    saved = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert [s["verdict"] for s in saved["seams"]] == ["ok", "ok"]
    assert saved["seams"][0]["files"]["review_clip"] == str(tmp_path / "rep" / "seam-1-review.mp4")


def test_report_path_that_is_a_file_is_refused_before_writing(clips: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("x")
    with pytest.raises(InputError, match="must be a directory"):
        splice_with_report([clips["a"], clips["b"]], tmp_path / "o.mp4", overlap=3, sampled_fps=Fraction(25),
                           report_dir=tmp_path / "taken")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_the_seam_review_decodes_each_clip_in_one_pass_the_same_frames(clips: dict[str, Path],
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The overlap pairs, the preview and the findings' frames are read in one forward pass per clip (a
    second pass seeked back and decoded the same GOP again), and they are the frames a plain decode gives."""
    plan = prepare_splice([clips["a"], clips["b"]], overlap=3, sampled_fps=Fraction(25))
    positioned: list[str] = []
    position = VideoReader._position

    def counting(self: VideoReader, start: int) -> None:
        positioned.append(self.path.name)
        position(self, start)

    monkeypatch.setattr(VideoReader, "_position", counting)
    data = load_seam(plan)
    assert positioned == ["a.mp4", "b.mp4"]
    monkeypatch.setattr(VideoReader, "_position", position)
    size, small = scaled_size(W, H, ANALYSIS_MAX_WIDTH), scaled_size(W, H, FINDINGS_MAX_WIDTH)
    a_from = 97 - FINDINGS_BEFORE
    with VideoReader(clips["a"]) as a, VideoReader(clips["b"]) as b:
        assert sorted(data.a_frames) == [97, 98, 99] and sorted(data.b_frames) == [0, 1, 2, 3, 4, 5]
        for i, f in data.a_frames.items():
            assert np.array_equal(f, next(a.rgb(i, 1, size)))
        for i, f in data.b_frames.items():
            assert np.array_equal(f, next(b.rgb(i, 1, size)))
        assert len(data.cut.a) == 100 - a_from and len(data.cut.b) == 3 + FINDINGS_AFTER
        assert all(np.array_equal(x, y) for x, y in zip(data.cut.a, a.rgb(a_from, 100 - a_from, small), strict=True))
        assert all(np.array_equal(x, y) for x, y in zip(data.cut.b, b.rgb(0, 3 + FINDINGS_AFTER, small), strict=True))


def test_a_wide_clip_is_shrunk_once_a_frame_and_every_use_reads_the_shrunk_frame(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Wider than the analysis size, each decoded frame is scaled down from full size once (area-averaged,
    yuv420p); the metrics' RGB, the findings' RGB, the review clip's picture and the frames ``--cut best``
    and ``--color-match`` read all come from that one shrunk frame."""
    w, h = 704, 396
    a = write_clip(tmp_path / "a.mp4", frames=50, fps=25, width=w, height=h, gop=25)
    b = write_clip(tmp_path / "b.mp4", frames=30, fps=25, width=w, height=h, gop=25)
    plan = prepare_splice([a, b], overlap=3, sampled_fps=Fraction(25), audio=False)
    size, small = scaled_size(w, h, ANALYSIS_MAX_WIDTH), scaled_size(w, h, FINDINGS_MAX_WIDTH)
    from_full: Counter[tuple[int, int, str, str | None]] = Counter()
    real = seam_module.reformat

    def counting(frame: av.VideoFrame, width: int, height: int, format: str, interpolation: str | None = None,
                 threads: int | None = None) -> av.VideoFrame:
        if (frame.width, frame.height) == (w, h):
            from_full[(width, height, format, interpolation)] += 1
        return real(frame, width, height, format, interpolation, threads)

    monkeypatch.setattr(seam_module, "reformat", counting)
    window = review_window(plan.timeline, plan.joints[0].cut_frame)
    data = load_seam(plan, scale=review_scale(window), also=review_frames(window, plan.infos))
    # every frame decoded (A's 50: the review window starts at its frame 0; B's 30) shrunk once, nothing else
    assert from_full == {(640, 360, "yuv420p", "AREA"): 50 + 30}

    def reference(path: Path, start: int, count: int) -> list[av.VideoFrame]:
        with VideoReader(path) as reader:
            return [f.reformat(640, 360, "yuv420p", interpolation="AREA", threads=1)
                    for f in reader.frames(start, count)]

    def rgb(frames: list[av.VideoFrame], at: tuple[int, int]) -> list[np.ndarray]:
        return [f.reformat(at[0], at[1], "rgb24", threads=1).to_ndarray() for f in frames]

    a_ref, b_ref = reference(a, 0, 50), reference(b, 0, 30)
    a_from = 47 - FINDINGS_BEFORE  # A's frame 47 is shown with B's frame 0
    assert sorted(data.a_frames) == [47, 48, 49] and (len(data.cut.a), len(data.cut.b)) == (50 - a_from, 30)
    assert all(np.array_equal(f, rgb([a_ref[i]], size)[0]) for i, f in data.a_frames.items())
    assert all(np.array_equal(f, rgb([b_ref[i]], size)[0]) for i, f in data.b_frames.items())
    assert all(np.array_equal(x, y) for x, y in zip(data.cut.a, rgb(a_ref[a_from:], small), strict=True))
    assert all(np.array_equal(x, y) for x, y in zip(data.cut.b, rgb(b_ref, small), strict=True))
    assert sorted(data.scaled) == [(a, i) for i in range(50)] + [(b, i) for i in range(3, 30)]
    assert all(np.array_equal(data.scaled[(a, i)].to_ndarray(), a_ref[i].to_ndarray()) for i in range(50))
    with VideoReader(a) as reader:  # what --cut best and --color-match read is what the findings read
        assert all(np.array_equal(x, y) for x, y in
                   zip(findings_rgb(reader, a_from, 50 - a_from, (w, h)), data.cut.a, strict=True))


def test_seam_report_probes_each_clip_once(clips: dict[str, Path], tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The review clip renders from the seam review's probes: each input is probed once, the written
    review clip once (its check)."""
    seen: list[str] = []
    for module in (checks, render_module, readers, report_module):
        probed = module.probe
        monkeypatch.setattr(module, "probe", lambda path, probed=probed: seen.append(Path(path).name) or probed(path))
    review_seam(clips["a"], clips["b"], overlap=3, sampled_fps=Fraction(25), report_dir=tmp_path / "r")
    assert (seen.count("a.mp4"), seen.count("b.mp4"), len(seen)) == (1, 1, 3)
    assert codes(tmp_path / "r" / "seam-1-review.mp4") == list(range(50, 150))


def test_a_wide_seam_review_decodes_every_frame_once_and_its_review_clip_is_unchanged(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The review clip of a wide A→B is scaled, so re-encoded: its frames come scaled from the seam
    review's own pass over A and B, not from a second decode, and its bytes are those of a render that
    decodes them itself."""
    w, h = 704, 396  # just wider than REVIEW_MAX_WIDTH
    a = write_clip(tmp_path / "a.mp4", frames=40, fps=25, width=w, height=h, gop=25,
                   render=(render_frame(i, w, h) for i in range(40)))
    b = write_clip(tmp_path / "b.mp4", frames=40, fps=25, width=w, height=h, gop=25,
                   render=(render_frame(i, w, h) for i in range(37, 77)))
    decoded: Counter[tuple[str, int]] = Counter()
    pull = VideoReader._pull

    def counting(self: VideoReader) -> av.VideoFrame | None:
        frame = pull(self)
        if frame is not None:
            decoded[self.path.name, self._index(frame)] += 1
        return frame

    monkeypatch.setattr(VideoReader, "_pull", counting)
    result = review_seam(a, b, overlap=3, sampled_fps=Fraction(25), report_dir=tmp_path / "r")
    monkeypatch.setattr(VideoReader, "_pull", pull)
    assert result["seam"]["review_clip"]["render"]["mode"] == "full"
    assert max(decoded.values()) == 1  # no frame of A or B decoded twice
    assert {i for name, i in decoded if name == "b.mp4"} == set(range(40))  # B up to the clip's end, once
    plan = prepare_splice([a, b], overlap=3, sampled_fps=Fraction(25), audio=False)
    alone = review_clip(plan.timeline, plan.joints[0].cut_frame, tmp_path / "alone.mp4")
    assert (tmp_path / "r" / "seam-1-review.mp4").read_bytes() == alone.render.output.read_bytes()
    assert codes(alone.render.output) == list(range(77))
