"""``ltxkit audio window`` / ``ltxkit audio plan`` through the real command group (click's runner)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner, Result

from ltxkit.cli import main

ClipFactory = Callable[..., Path]


@pytest.fixture(scope="module")
def wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10 s of 48 kHz stereo PCM_16 whose channel 0 counts samples (mod 2^15)."""
    path = tmp_path_factory.mktemp("cli") / "track.wav"
    k = np.arange(480000)
    sf.write(path, np.stack([k % 32768, -(k % 32768)], axis=1).astype(np.int16), 48000, subtype="PCM_16")
    return path


def run(*args: object) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def window_args(src: Path, out: Path, *extra: object) -> list[object]:
    return ["audio", "window", src, "--cut", "4.04", "--overlap", 8, "--fps", 25, "-o", out, *extra]


def test_window_json_names_seconds_samples_and_output(wav: Path, tmp_path: Path) -> None:
    out = tmp_path / "b.flac"
    result = run(*window_args(wav, out, "--frames", 49, "--json"))
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["start_sample"], data["end_sample"], data["num_samples"]) == (178560, 272640, 94080)
    assert (data["start_seconds"], data["end_seconds"], data["start_seconds_exact"]) == (3.72, 5.68, "93/25")
    assert (data["sample_rate"], data["channels"], data["padded_samples"], data["cut_sample"]) == (48000, 2, 0, 193920)
    assert data["output"] == {"path": str(out), "format": "FLAC", "subtype": "PCM_16", "sample_rate": 48000,
                              "channels": 2, "num_samples": 94080}
    back, _ = sf.read(out, dtype="int16", always_2d=True)
    assert np.array_equal(back[:, 0], np.arange(178560, 272640) % 32768)
    assert result.stderr == ""


def test_window_human_output_and_padding_report(wav: Path, tmp_path: Path) -> None:
    out = tmp_path / "new" / "b.wav"  # a missing output directory is created, after validation
    result = run("audio", "window", wav, "--cut", "0.1", "--overlap", 8, "--fps", 25, "--frames", 9, "-o", out,
                 "--pad", "--mono", "--rate", 16000)
    assert result.exit_code == 0, result.stderr
    assert "padded 10560+0 samples" in result.stdout
    assert "samples -10560..6720 at 48000 Hz" in result.stdout
    info = sf.info(out)
    assert (info.samplerate, info.channels, info.frames) == (16000, 1, 5760)
    assert sorted(p.name for p in out.parent.iterdir()) == ["b.wav"]


def test_plan_json(wav: Path) -> None:
    result = run("audio", "plan", wav, "--fps", 25, "--overlap", 8, "--max-frames", 97, "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert [s["frames"] for s in data["segments"]] == [97, 97, 73]  # 250 frames: 97 + 89 + 65 = 251
    assert (data["needed_frames"], data["timeline_frames"], data["overshoot_frames"]) == (250, 251, 1)
    assert data["source_samples"] == 480000
    assert data["segments"][1]["start_sample"] == 89 * 1920
    human = run("audio", "plan", wav, "--fps", 25, "--overlap", 8, "--max-frames", 97)
    assert "3 clips, 251 timeline frames at 25 fps" in human.stdout
    assert "runs 1 frame (0.040000 s) past the end" in human.stdout


@pytest.fixture(scope="module")
def bad_inputs(wav: Path, make_clip: ClipFactory, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bad")
    (root / "notes.txt").write_text("not media\n")
    return {"wav": wav, "silent_video": make_clip(fps=25, frames=10), "text": root / "notes.txt",
            "missing": root / "missing.wav", "video": make_clip(fps=25, frames=25, audio=True)}


BAD_WINDOWS: list[tuple[str, str, list[object], str]] = [
    ("missing file", "missing", ["--frames", 9], "no such file"),
    ("not media", "text", ["--frames", 9], "cannot read"),
    ("no audio stream", "silent_video", ["--frames", 9], "has no audio stream"),
    ("negative overlap", "wav", ["--frames", 9, "--overlap", -1], "overlap must be ≥ 0"),
    ("cut past end", "wav", ["--frames", 9, "--cut", "10.5", "--pad"], "is past the end"),
    ("bad fps", "wav", ["--frames", 9, "--fps", "fast"], "--fps must be a positive number"),
    ("zero fps", "wav", ["--frames", 9, "--fps", "0"], "--fps must be a positive number"),
    ("unknown extension", "wav", ["--frames", 9, "-o", "OUT.mp3"], "unknown output extension"),
    ("stream out of range", "video", ["--frames", 9, "--stream", 1], "--stream 1 is out of range (0..0)"),
    ("wav stream out of range", "wav", ["--frames", 9, "--stream", 2], "--stream 2 is out of range"),
    ("frames not 8n+1", "wav", ["--frames", 250], "nearest valid: 249 or 257"),
    ("frames and seconds", "wav", ["--frames", 9, "--seconds", "1"], "exactly one of --frames or --seconds"),
    ("bad cut", "wav", ["--frames", 9, "--cut", "1.2.3"], "--cut must be a number of seconds"),
    ("before start", "wav", ["--frames", 9, "--cut", "0.1"], "sample -10560 at 48000 Hz"),
    ("past end", "wav", ["--frames", 57, "--cut", "9.9"], "past the end of"),
    ("opus rate", "wav", ["--frames", 9, "-o", "OUT.opus", "--rate", 44100], "48000 Hz only"),
]


@pytest.mark.parametrize(("source", "extra", "message"), [case[1:] for case in BAD_WINDOWS],
                         ids=[case[0] for case in BAD_WINDOWS])
def test_bad_window_inputs_exit_2_with_one_line_and_no_output(
        bad_inputs: dict[str, Path], tmp_path: Path, source: str, extra: list[object], message: str) -> None:
    out = tmp_path / "out.wav"
    extra = [str(tmp_path / e) if isinstance(e, str) and e.startswith("OUT.") else e
             for e in extra]
    args = ["audio", "window", bad_inputs[source], "--cut", "4.04", "--overlap", 8, "--fps", 25, "-o", out]
    for option in ("--overlap", "--fps", "--cut", "-o"):
        if option in extra:  # the case overrides a default option: drop the default pair
            at = args.index(option)
            del args[at : at + 2]
    result = run(*args, *extra)
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ltxkit: error: "), result.stderr
    assert message in lines[0]
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("extra", "message"), [
    (["--max-frames", 250], "not a valid LTX frame count"),
    (["--max-frames", 9, "--overlap", 9], "must exceed --overlap"),
    (["--fps", "0"], "--fps must be a positive number"),
    (["--stream", 1], "out of range"),
])
def test_bad_plan_inputs_exit_2(wav: Path, extra: list[object], message: str) -> None:
    args: list[object] = ["audio", "plan", wav, "--fps", 25, "--overlap", 8]
    for option in ("--overlap", "--fps"):
        if option in extra:
            at = args.index(option)
            del args[at : at + 2]
    result = run(*args, *extra)
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1 and message in result.stderr


def test_window_refuses_to_overwrite_its_source(wav: Path, tmp_path: Path) -> None:
    # regression: -o SRC silently replaced the source track with the window
    src = tmp_path / "song.wav"
    src.write_bytes(wav.read_bytes())
    result = run(*window_args(src, src))
    assert result.exit_code == 2 and "would overwrite an input" in result.stderr
    assert src.read_bytes() == wav.read_bytes()


def test_an_output_path_that_cannot_be_made_is_one_line_exit_2(wav: Path, tmp_path: Path) -> None:
    # regression: FileExistsError / FileNotFoundError tracebacks for impossible output paths
    for out in (wav / "x.wav", Path("/proc/ltxkit-nope/x.wav")):
        result = run(*window_args(wav, out))
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith("ltxkit: error: ") and result.stderr.count("\n") == 1
        assert "Traceback" not in result.stderr
