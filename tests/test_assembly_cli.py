"""``ltxkit splice`` / ``ltxkit seam``: results on stdout, bad input → exit 2 with one line and no file."""

from __future__ import annotations

import html
import json
from pathlib import Path

import av
import pytest
from click.testing import CliRunner

from ltxkit.assembly.modes import OUTPUT_CODECS
from ltxkit.cli import main
from ltxkit.frames.codecs import CODECS
from ltxkit.frames.probe import probe
from ltxkit.frames.synth import Tone, render_frame, write_clip


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("cli")

    def clip(name: str, frames: range, *, width: int = 160, audio: bool = True) -> Path:
        return write_clip(d / name, frames=len(frames), fps=25, width=width, height=96,
                          tone=Tone() if audio else None, render=(render_frame(i, width, 96) for i in frames))

    return {
        "a": clip("a.mp4", range(0, 60)),
        "b": clip("b.mp4", range(57, 90)),
        "b_narrow": clip("b_narrow.mp4", range(57, 90), width=128),
        "b_short": clip("b_short.mp4", range(57, 59)),
        "b_silent": clip("b_silent.mp4", range(57, 90), audio=False),
    }


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def join(command: str, a: Path, b: Path, *extra: str, overlap: int = 3) -> tuple[int, str, str]:
    """``ltxkit splice|seam A B --overlap 3 --sampled-fps 25 EXTRA…``: how every case here joins two clips."""
    return run(command, str(a), str(b), "--overlap", str(overlap), "--sampled-fps", "25", *extra)


def test_output_codec_names_match_the_encoders() -> None:
    assert tuple(CODECS) == OUTPUT_CODECS


def test_splice_json_reports_frames_joints_and_verdict(clips: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "s.mp4"
    code, stdout, _ = join("splice", clips["a"], clips["b"], "-o", str(out), "--no-otio", "--json")
    assert code == 0
    data = json.loads(stdout)
    assert data["verdict"] == "ok" and data["splice"]["frame_count"] == 90 == probe(out).frame_count
    assert data["splice"]["joints"][0]["cut_frame"] == 60 and data["report"] is None


@pytest.mark.parametrize(("b", "extra", "message"), [
    ("b_narrow", [], "sizes differ: a.mp4 is 160x96, b_narrow.mp4 is 128x96"),
    ("b_short", [], "is larger than clip B b_short.mp4 (2 frames"),
    ("b_silent", [], "b_silent.mp4 has no audio stream (audio was requested)"),
    ("b", ["--codec", "prores"], "--codec prores writes .mov files, not 'out.mp4'"),
    ("b", ["--sampled-fps", "0"], "--sampled-fps must be a positive number"),
])
def test_bad_input_exits_2_with_one_line_and_leaves_nothing(clips: dict[str, Path], tmp_path: Path, b: str,
                                                            extra: list[str], message: str) -> None:
    out = tmp_path / "out.mp4"
    code, stdout, stderr = join("splice", clips["a"], clips[b], "-o", str(out), "--report", str(tmp_path / "rep"),
                                *extra)
    assert code == 2 and stdout == ""
    assert stderr.count("\n") == 1 and stderr.startswith("ltxkit: error: ") and message in stderr
    assert list(tmp_path.iterdir()) == []


def _video_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(video=0) if p.size]


def test_splice_renders_smart_by_default_and_says_what_it_copied(clips: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "s.mp4"
    code, stdout, stderr = join("splice", clips["a"], clips["b"], "-o", str(out), "--no-otio", "--report",
                                str(tmp_path / "rep"), "--json")
    assert code == 0
    render = json.loads(stdout)["splice"]["render"]
    assert render["mode"] == "smart" and render["reason"].startswith("copied a.mp4 0-59; re-encoded b.mp4 3-")
    assert render["copied"][0] | {"gops": 0} == {"clip": "a.mp4", "first_frame": 0, "last_frame": 59, "gops": 0}
    assert render["copied_frames"] + render["encoded_frames"] == 90
    assert _video_packets(out)[:60] == _video_packets(clips["a"])  # A untouched, bit for bit
    gops = render["copied"][0]["gops"]
    note = (f"a.mp4: {gops} GOP{'s' if gops != 1 else ''} (frames 0-59) copied without decoding: passed through "
            "bit-for-bit, as good (or as damaged) as the source")
    assert render["notes"][0] == note and "copied without decoding" not in stderr  # --json: said in "render"
    report = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert report["render"] == f"{render['summary']}; {'; '.join(render['notes'])}"
    assert report["render"].startswith(f"smart: {render['copied_frames']} frames copied, "
                                       f"{render['encoded_frames']} re-encoded (copied a.mp4 0-59;")
    assert html.escape(note) in (tmp_path / "rep" / "report.html").read_text()
    sound = render["audio"]
    assert sound["clip"] == "a.mp4" and sound["copied_packets"] > 0 and sound["reason"] is None
    said = (f"sound: a.mp4's first {sound['copied_packets']} AAC packets copied bit-for-bit, re-encoded from "
            f"{sound['reencoded_from_seconds']:.3f} s on")
    assert render["notes"][-1] == said
    code, stdout, stderr = join("splice", clips["a"], clips["b"], "-o", str(tmp_path / "t.mp4"), "--no-otio")
    assert code == 0 and f"ltxkit: note: {note}\n" in stderr and f"ltxkit: note: {said}\n" in stderr
    assert f"render: {render['summary']}\n" in stdout


@pytest.mark.parametrize(("b", "extra", "reason"), [
    ("b", ["--render", "full"], "--render full"),
    ("b_narrow", ["--scale"], "b_narrow.mp4 is 128x96, the output 160x96"),
])
def test_splice_falls_back_to_full_and_says_why(clips: dict[str, Path], tmp_path: Path, b: str, extra: list[str],
                                                reason: str) -> None:
    out = tmp_path / "s.mp4"
    code, stdout, _ = join("splice", clips["a"], clips[b], "-o", str(out), "--no-otio", *extra)
    assert code == 0 and f"render: full re-encode ({reason})\n" in stdout
    code, stdout, stderr = join("splice", clips["a"], clips[b], "-o", str(tmp_path / "j.mp4"), "--no-otio", "--json",
                                *extra)
    render = json.loads(stdout)["splice"]["render"]
    assert (render["mode"], render["reason"], render["copied_frames"], render["encoded_frames"], render["copied"]) \
        == ("full", reason, 0, 90, [])
    assert "copied without decoding" not in stderr
    assert _video_packets(tmp_path / "j.mp4")[0] != _video_packets(clips["a"])[0]


def test_no_audio_splices_a_clip_without_sound(clips: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "mute.mp4"
    code, stdout, _ = join("splice", clips["a"], clips["b_silent"], "-o", str(out), "--no-audio", "--no-otio")
    assert code == 0 and "90 frames at 25 fps" in stdout
    assert probe(out).audio == []


def test_seam_rates_without_writing_a_splice(clips: dict[str, Path], tmp_path: Path) -> None:
    code, stdout, _ = join("seam", clips["a"], clips["b"], "--report", str(tmp_path / "rep"))
    assert code == 0 and "verdict OK" in stdout and "report:" in stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]
    code, stdout, _ = join("seam", clips["a"], clips["b"], "--json")
    assert code == 0 and json.loads(stdout)["seam"]["metrics"]["overlap_fidelity"]["pairs"][0] == [57, 0]


@pytest.mark.parametrize("render", ["smart", "full"])
def test_seam_review_clip_renders_as_asked(clips: dict[str, Path], tmp_path: Path, render: str) -> None:
    code, stdout, _ = join("seam", clips["a"], clips["b"], "--report", str(tmp_path / "rep"), "--render", render,
                           "--json")
    assert code == 0
    clip = json.loads(stdout)["seam"]["review_clip"]
    assert clip["render"]["mode"] == render and clip["frames"] == 80  # 2 s before the cut at 60, B to its end
    if render == "full":
        assert clip["render"]["reason"] == "--render full"
    else:  # 160 px wide: not scaled, so A's whole GOPs inside the window are copied
        assert clip["render"]["copied"][0]["clip"] == "a.mp4" and clip["render"]["copied_frames"] > 0


def test_seam_with_an_overlap_longer_than_b_exits_2(clips: dict[str, Path]) -> None:
    code, _, stderr = join("seam", clips["a"], clips["b_short"], overlap=5)
    assert code == 2 and stderr.count("\n") == 1 and "larger than clip B" in stderr


@pytest.fixture(scope="module")
def odd_clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """81x61 clips (FFV1 in mkv takes any size) where B repeats A's last 3 frames."""
    d = tmp_path_factory.mktemp("odd")
    return {name: write_clip(d / f"{name}.mkv", frames=len(frames), fps=25, width=81, height=61, codec="ffv1",
                             tone=Tone(), render=(render_frame(i, 81, 61) for i in frames))
            for name, frames in (("a", range(0, 30)), ("b", range(27, 50)))}


def test_odd_size_h264_splice_exits_2_before_writing(odd_clips: dict[str, Path], tmp_path: Path) -> None:
    code, stdout, stderr = join("splice", odd_clips["a"], odd_clips["b"], "-o", str(tmp_path / "new" / "out.mp4"),
                                "--report", str(tmp_path / "rep"))
    assert (code, stdout) == (2, "")
    assert stderr == ("ltxkit: error: h264 needs even width and height, the output is 81x61; "
                      "use --codec ffv1 or prores, or --scale\n")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("clip_set", "b", "note", "expected"), [
    ("clips", "b_narrow", "scaled from 128x96 to 160x96", (160, 96, 90)),
    ("odd_clips", "b", "ltxkit: note: scaled from 81x61 to 80x60: h264 needs an even size", (80, 60, 50)),
], ids=["smaller-b-to-a-size", "odd-size-rounds-down-to-even"])
def test_scale_brings_the_output_to_one_size_h264_takes(request: pytest.FixtureRequest, tmp_path: Path,
                                                        clip_set: str, b: str, note: str,
                                                        expected: tuple[int, int, int]) -> None:
    given: dict[str, Path] = request.getfixturevalue(clip_set)
    out = tmp_path / "scaled.mp4"
    code, _, stderr = join("splice", given["a"], given[b], "-o", str(out), "--scale", "--no-otio")
    assert code == 0 and note in stderr
    info = probe(out)
    assert (info.width, info.height, info.frame_count) == expected


def test_odd_size_clips_splice_to_ffv1_and_review(odd_clips: dict[str, Path], tmp_path: Path) -> None:
    # the review clips are h264 at an even size cut from the odd one
    out = tmp_path / "out.mkv"
    code, stdout, _ = join("splice", odd_clips["a"], odd_clips["b"], "-o", str(out), "--codec", "ffv1", "--no-otio",
                           "--report", str(tmp_path / "rep"), "--json")
    assert code == 0 and json.loads(stdout)["verdict"] == "ok"
    assert (probe(out).width, probe(out).height) == (81, 61)
    review = probe(tmp_path / "rep" / "seam-1-review.mp4")
    assert (review.width, review.height, review.frame_count) == (80, 60, 50)
    code, stdout, _ = join("seam", odd_clips["a"], odd_clips["b"], "--report", str(tmp_path / "seam"), "--json")
    assert code == 0 and json.loads(stdout)["seam"]["metrics"]["overlap_fidelity"]["pairs"] == [
        [27, 0], [28, 1], [29, 2]]
    assert sorted(p.name for p in (tmp_path / "seam").iterdir()) == [
        "report.html", "report.json", "seam-1-review.mp4", "seam-1-sheet.png"]


def test_a_failed_report_leaves_no_splice_behind(clips: dict[str, Path], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from ltxkit.assembly import report
    from ltxkit.errors import MediaError

    def broken(*args: object, **kwargs: object) -> Path:
        raise MediaError("cannot write report.html: disk full")

    monkeypatch.setattr(report, "html_report", broken)
    code, stdout, stderr = join("splice", clips["a"], clips["b"], "-o", str(tmp_path / "s.mp4"), "--report",
                                str(tmp_path / "rep"), "--json")
    assert (code, stdout, stderr) == (1, "", "ltxkit: error: cannot write report.html: disk full\n")
    assert list(tmp_path.iterdir()) == []  # no s.mp4, no s.otio, no report, no temporaries
