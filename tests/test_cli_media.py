"""``ltxkit probe``, ``frames tail`` and ``timing check`` through click and as a real process."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ltxkit.cli import main

ClipFactory = Callable[..., Path]
LTXKIT = Path(sys.executable).parent / "ltxkit"  # the console script installed beside this interpreter


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def assert_user_error(result: Result | subprocess.CompletedProcess[str], message: str) -> None:
    """Exit 2, exactly one line on stderr naming the problem, nothing on stdout, no traceback."""
    code = result.exit_code if isinstance(result, Result) else result.returncode
    assert code == 2, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ltxkit: error: ") and message in lines[0], lines
    assert result.stdout == "" and "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def clip60(make_clip: ClipFactory) -> Path:
    return make_clip(fps=60, frames=120, bframes=2, gop=12)


def test_probe_json(real_clip: Path) -> None:
    result = run("probe", real_clip, "--json")
    assert result.exit_code == 0 and result.stderr == ""
    data = json.loads(result.stdout)
    assert (data["fps"], data["frame_count"], data["width"], data["height"], data["vfr"]) == (
        "25", 132, 1280, 720, False)
    assert data["duration_seconds"] == 5.28 and data["path"] == str(real_clip)
    assert [(a["codec"], a["sample_rate"], a["channels"]) for a in data["audio"]] == [("aac", 48000, 6)]


def test_probe_human(real_clip_ntsc: Path) -> None:
    result = run("probe", real_clip_ntsc)
    assert result.exit_code == 0
    assert result.stdout == (f"{real_clip_ntsc}: 176x144 h264 yuv420p, 30000/1001 fps, 120 frames, 4.004 s, "
                             "rotation 0, audio: none\n")


def test_frames_tail(clip60: Path, tmp_path: Path) -> None:
    out = tmp_path / "tail"
    result = run("frames", "tail", clip60, "-n", "3", "--fps", "25", "-o", out)
    assert result.exit_code == 0 and result.stderr == ""
    names = [f"{clip60.stem}-last-03.webp", f"{clip60.stem}-last-02.webp", f"{clip60.stem}-last-01.webp"]
    assert result.stdout.splitlines() == [str(out / n) for n in names]
    assert sorted(p.name for p in out.iterdir()) == sorted([*names, "frames.json"])
    manifest = json.loads((out / "frames.json").read_text())
    assert [f["source_index"] for f in manifest["frames"]] == [113, 115, 118]
    assert (manifest["fps"], manifest["sampled_fps"], manifest["seek"]) == ("60", "25", "keyframe")


def test_frames_tail_json_and_png(clip60: Path, tmp_path: Path) -> None:
    result = run("frames", "tail", clip60, "-n", "2", "--format", "png", "-o", tmp_path, "--json")
    assert result.exit_code == 0
    printed = json.loads(result.stdout)
    assert printed == json.loads((tmp_path / "frames.json").read_text())
    assert [f["file"] for f in printed["frames"]] == [f"{clip60.stem}-last-02.png", f"{clip60.stem}-last-01.png"]
    assert printed["sampled_fps"] == "60" and [f["source_index"] for f in printed["frames"]] == [118, 119]


def test_frames_tail_ntsc_fps_spelling(make_clip: ClipFactory, tmp_path: Path) -> None:
    clip = make_clip(fps=Fraction(30000, 1001), frames=60, bframes=2, gop=12)
    result = run("frames", "tail", clip, "-n", "3", "--fps", "23.976", "-o", tmp_path, "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert (data["fps"], data["sampled_fps"]) == ("30000/1001", "24000/1001")
    # 30/24 = 1.25 frames a step back: 2.5, 1.25, 0 -> 3, 1, 0
    assert [f["source_index"] for f in data["frames"]] == [56, 58, 59]


@pytest.mark.parametrize(("args", "message"), [
    (["-n", "0"], "-n must be ≥ 1"),
    (["-n", "121"], "too few for 121 frames"),
    (["-n", "3", "--fps", "abc"], "--fps must be a positive number"),
    (["-n", "3", "--fps", "0"], "--fps must be a positive number"),
    (["-n", "3", "--fps", "-25"], "--fps must be a positive number"),
])
def test_frames_tail_bad_numbers(clip60: Path, tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "out"
    assert_user_error(run("frames", "tail", clip60, *args, "-o", out), message)
    assert not out.exists()


def test_frames_tail_bad_files(clip60: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    not_video = tmp_path / "notes.mp4"
    not_video.write_text("hello\n")
    assert_user_error(run("frames", "tail", tmp_path / "missing.mp4", "-n", "3", "-o", out), "no such file")
    assert_user_error(run("frames", "tail", not_video, "-n", "3", "-o", out), "cannot read")
    assert not out.exists()
    out.write_text("a file")
    assert_user_error(run("frames", "tail", clip60, "-n", "3", "-o", out), "exists and is not a directory")
    assert out.read_text() == "a file" and sorted(p.name for p in tmp_path.iterdir()) == ["notes.mp4", "out"]


def test_timing_check() -> None:
    bad = run("timing", "check", "--frames", "250", "--fps", "25")
    assert bad.exit_code == 2 and "249 or 257" in bad.stderr and len(bad.stderr.splitlines()) == 1
    good = run("timing", "check", "--frames", "257", "--fps", "25")
    assert good.exit_code == 0 and good.stdout == "257 frames at 25 fps is valid (8n+1, n=32), 10.280 s\n"


def test_timing_check_json() -> None:
    bad = run("timing", "check", "--frames", "250", "--fps", "30000/1001", "--json")
    assert bad.exit_code == 2 and "249 or 257" in bad.stderr
    assert json.loads(bad.stdout) == {"frames": 250, "fps": "30000/1001", "valid": False,
                                      "seconds": 250 * 1001 / 30000, "nearest": [249, 257]}
    good = run("timing", "check", "--frames", "257", "--fps", "25", "--json")
    assert good.exit_code == 0
    assert json.loads(good.stdout) == {"frames": 257, "fps": "25", "valid": True, "seconds": 10.28,
                                       "nearest": [257]}


def test_timing_check_bad_fps() -> None:
    assert_user_error(run("timing", "check", "--frames", "257", "--fps", "fast"), "--fps must be")


# --- the installed console script, as a user runs it ---------------------------------------------


def ltxkit(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LTXKIT), *map(str, args)], capture_output=True, text=True, timeout=60,
                          check=False)


def test_console_script_frames_tail(clip60: Path, tmp_path: Path) -> None:
    out = tmp_path / "tail"
    done = ltxkit("frames", "tail", clip60, "-n", "3", "--fps", "25", "-o", out, "--json")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{clip60.stem}-last-03.webp", f"{clip60.stem}-last-02.webp", f"{clip60.stem}-last-01.webp",
         "frames.json"])
    assert json.loads(done.stdout) == json.loads((out / "frames.json").read_text())


def test_console_script_errors(tmp_path: Path) -> None:
    done = ltxkit("timing", "check", "--frames", "250", "--fps", "25")
    assert done.returncode == 2 and done.stderr.strip().endswith("nearest valid: 249 or 257")
    out = tmp_path / "out"
    assert_user_error(ltxkit("frames", "tail", tmp_path / "missing.mp4", "-n", "3", "-o", out), "no such file")
    assert not out.exists()
