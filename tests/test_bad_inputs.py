"""A sweep over every command's bad inputs: exit 2, exactly one line on stderr, no traceback, and nothing
written or modified in the working directory (the inputs included).

Each case runs in a fresh directory holding good and bad files (a clip, a track, text posing as media,
a 400 MP PNG, 100k-deep JSON, broken plans and run manifests, journals that are not ltxkit's) with the
API pointed at a closed loopback port: a case that reached the network would exit 1, not 2.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from media import write_blank_png
from PIL import Image

from ltxkit.cli import COMMANDS, main

OFFLINE = {"LTXKIT_API_BASE": "http://127.0.0.1:9", "LTXKIT_API_KEY": "k-test"}
EXTEND = ["extend", "clip.mp4", "--prompt", "a presenter talks", "--overlap", "3", "--frames", "25"]
WINDOW = ["audio", "window", "a.wav", "--cut", "2", "--overlap", "3", "--fps", "25"]
SPLICE = ["splice", "clip.mp4", "clip2.mp4", "--overlap", "3", "--sampled-fps", "25"]
SEAM = ["seam", "clip.mp4", "clip2.mp4", "--overlap", "3", "--sampled-fps", "25"]
PLAN = ["plan", "a.wav", "--clip", "clip.mp4", "--fps", "25", "--overlap", "3"]
SUBMIT = ["jobs", "submit", "video.generate", "--input"]
COMBINE = '{"videoUrls": ["https://a.test/1.mp4", "https://a.test/2.mp4"]}'

# (id, argv, extra environment)
CASES: list[tuple[str, list[str], dict[str, str]]] = [
    ("probe-missing", ["probe", "missing.mp4"], {}),
    ("probe-text", ["probe", "notes.txt"], {}),
    ("probe-text-as-png", ["probe", "x.png"], {}),
    ("probe-huge-png", ["probe", "big.png"], {}),
    ("probe-directory", ["probe", "run"], {}),
    ("probe-audio-only", ["probe", "a.wav"], {}),
    ("tail-zero", ["frames", "tail", "clip.mp4", "-n", "0", "-o", "t"], {}),
    ("tail-negative", ["frames", "tail", "clip.mp4", "-n", "-3", "-o", "t"], {}),
    ("tail-billion", ["frames", "tail", "clip.mp4", "-n", "1000000000", "-o", "t"], {}),
    ("tail-fps-nan", ["frames", "tail", "clip.mp4", "-n", "3", "--fps", "nan", "-o", "t"], {}),
    ("tail-fps-tiny", ["frames", "tail", "clip.mp4", "-n", "3", "--fps", "1e-30", "-o", "t"], {}),
    ("tail-format", ["frames", "tail", "clip.mp4", "-n", "3", "--format", "gif", "-o", "t"], {}),
    ("tail-under-a-file", ["frames", "tail", "clip.mp4", "-n", "3", "-o", "notes.txt/t"], {}),
    ("tail-onto-a-file", ["frames", "tail", "clip.mp4", "-n", "3", "-o", "notes.txt"], {}),
    ("tail-over-its-input", ["frames", "tail", "tail/a.webp", "-n", "1", "-o", "tail"], {}),
    ("tail-text", ["frames", "tail", "notes.txt", "-n", "3", "-o", "t"], {}),
    ("timing-invalid-count", ["timing", "check", "--frames", "10", "--fps", "25"], {}),
    ("timing-fps-nan", ["timing", "check", "--frames", "9", "--fps", "nan"], {}),
    ("timing-fps-inf", ["timing", "check", "--frames", "9", "--fps", "inf"], {}),
    ("timing-fps-zero", ["timing", "check", "--frames", "9", "--fps", "0/0"], {}),
    ("timing-fps-huge-exponent", ["timing", "check", "--frames", "9", "--fps", "1e-999999999"], {}),
    ("timing-frames-text", ["timing", "check", "--frames", "nine", "--fps", "25"], {}),
    ("window-3000s-pad", [*WINDOW, "--seconds", "3000", "--pad", "-o", "w.wav"], {}),
    ("window-1e6s-pad", [*WINDOW, "--seconds", "1e6", "--pad", "-o", "w.wav"], {}),
    ("window-seconds-nan", [*WINDOW, "--seconds", "nan", "-o", "w.wav"], {}),
    ("window-seconds-inf", [*WINDOW, "--seconds", "inf", "--pad", "-o", "w.wav"], {}),
    ("window-rate-1e12", [*WINDOW, "--frames", "25", "--rate", "1000000000000", "-o", "w.wav"], {}),
    ("window-rate-float", [*WINDOW, "--frames", "25", "--rate", "1e12", "-o", "w.wav"], {}),
    ("window-rate-zero", [*WINDOW, "--frames", "25", "--rate", "0", "-o", "w.wav"], {}),
    ("window-cut-nan", ["audio", "window", "a.wav", "--cut", "nan", "--overlap", "3", "--fps", "25", "--frames",
                        "25", "-o", "w.wav"], {}),
    ("window-cut-past-end", ["audio", "window", "a.wav", "--cut", "99", "--overlap", "3", "--fps", "25",
                             "--frames", "25", "-o", "w.wav"], {}),
    ("window-overlap-negative", ["audio", "window", "a.wav", "--cut", "2", "--overlap", "-3", "--fps", "25",
                                 "--frames", "25", "-o", "w.wav"], {}),
    ("window-frames-not-8n1", [*WINDOW, "--frames", "24", "-o", "w.wav"], {}),
    ("window-frames-huge", [*WINDOW, "--frames", "800000001", "--pad", "-o", "w.wav"], {}),
    ("window-over-source", [*WINDOW, "--frames", "25", "-o", "a.wav"], {}),
    ("window-over-symlinked-source", [*WINDOW, "--frames", "25", "-o", "link.wav"], {}),
    ("window-over-hard-linked-source", [*WINDOW, "--frames", "25", "-o", "hard.wav"], {}),
    ("window-extension", [*WINDOW, "--frames", "25", "-o", "w.mp3"], {}),
    ("window-under-a-file", [*WINDOW, "--frames", "25", "-o", "notes.txt/w.wav"], {}),
    ("window-stream", [*WINDOW, "--frames", "25", "--stream", "7", "-o", "w.wav"], {}),
    ("window-text-source", ["audio", "window", "x.wav", "--cut", "0", "--overlap", "0", "--fps", "25", "--frames",
                            "25", "-o", "w.wav"], {}),
    ("audio-plan-fps-tiny", ["audio", "plan", "a.wav", "--fps", "1e-30", "--overlap", "3"], {}),
    ("audio-plan-fps-nan", ["audio", "plan", "a.wav", "--fps", "nan", "--overlap", "3"], {}),
    ("audio-plan-overlap", ["audio", "plan", "a.wav", "--fps", "25", "--overlap", "-1"], {}),
    ("audio-plan-max-frames", ["audio", "plan", "a.wav", "--fps", "25", "--overlap", "3", "--max-frames", "10"],
     {}),
    ("audio-plan-text", ["audio", "plan", "notes.txt", "--fps", "25", "--overlap", "3"], {}),
    ("submit-json-syntax", [*SUBMIT, "{"], {}),
    ("submit-json-deep", [*SUBMIT, "@deep.json"], {}),
    ("submit-json-list", [*SUBMIT, "[]"], {}),
    ("submit-json-missing", [*SUBMIT, "@missing.json"], {}),
    ("submit-text-start-frame", [*SUBMIT, '{"prompt": "p"}', "--start-frame", "x.png"], {}),
    ("submit-missing-start-frame", [*SUBMIT, '{"prompt": "p"}', "--start-frame", "missing.png"], {}),
    ("submit-text-reference-audio", [*SUBMIT, '{"prompt": "p", "overlapFrameImageUrls": ["https://a.test/1.png"]}',
                                     "--reference-audio", "x.wav"], {}),
    ("submit-garbage-journal", ["jobs", "submit", "video.combine", "--input", COMBINE, "--state", "garbage"], {}),
    ("submit-foreign-journal", ["jobs", "submit", "video.combine", "--input", COMBINE, "--state", "foreign"], {}),
    ("submit-directory-journal", ["jobs", "submit", "video.combine", "--input", COMBINE, "--state", "dirjournal"],
     {}),
    ("submit-provider", ["jobs", "submit", "video.combine", "--input", COMBINE, "--provider", "nope"], {}),
    ("submit-no-key", ["jobs", "submit", "video.combine", "--input", COMBINE], {"LTXKIT_API_KEY": ""}),
    ("status-empty-id", ["jobs", "status", ""], {}),
    ("status-spaced-id", ["jobs", "status", "a b"], {}),
    ("status-provider", ["jobs", "status", "job-1", "--provider", "nope"], {}),
    ("wait-empty-id", ["jobs", "wait", ""], {}),
    ("wait-garbage-journal", ["jobs", "wait", "job-1", "--state", "garbage"], {}),
    ("wait-foreign-journal", ["jobs", "wait", "job-1", "--state", "foreign"], {}),
    ("balance-provider", ["balance", "--provider", "nope"], {}),
    ("balance-retry-nan", ["balance"], {"LTXKIT_RETRY_BASE_DELAY": "nan"}),
    ("balance-retry-inf", ["balance"], {"LTXKIT_RETRY_MAX_DELAY": "inf"}),
    ("balance-timeout-nan", ["balance"], {"LTXKIT_TIMEOUT": "nan"}),
    ("balance-poll-inf", ["balance"], {"LTXKIT_POLL_INTERVAL": "inf"}),
    ("health-provider", ["health", "--provider", "nope"], {}),
    ("health-base-url", ["health"], {"LTXKIT_API_BASE": "ftp://127.0.0.1"}),
    ("health-timeout-inf", ["health"], {"LTXKIT_TIMEOUT": "inf"}),
    ("serve-body-nan", ["serve", "--port", "0", "--max-body-mb", "nan"], {}),
    ("serve-body-inf", ["serve", "--port", "0", "--max-body-mb", "inf"], {}),
    ("serve-body-zero", ["serve", "--port", "0", "--max-body-mb", "0"], {}),
    ("serve-queued-nan", ["serve", "--port", "0", "--queued-seconds", "nan"], {}),
    ("serve-running-inf", ["serve", "--port", "0", "--running-seconds", "inf"], {}),
    ("serve-port", ["serve", "--port", "70000"], {}),
    ("serve-balance-nan", ["serve", "--port", "0", "--balance", "nan"], {}),
    ("serve-faults", ["serve", "--port", "0", "--faults", "explode=2"], {}),
    ("serve-money-reading", ["serve", "--port", "0", "--money-reading", "euros"], {}),
    ("serve-defects-above-1", ["serve", "--port", "0", "--defects", "1.5"], {}),
    ("serve-defects-nan", ["serve", "--port", "0", "--defects", "nan"], {}),
    ("serve-defect-kind", ["serve", "--port", "0", "--defects", "0.5", "--defect-kinds", "flash,blur"], {}),
    ("splice-over-input", [*SPLICE, "-o", "clip.mp4"], {}),
    ("splice-over-symlinked-input", [*SPLICE, "-o", "link.mp4"], {}),
    ("splice-under-a-file", [*SPLICE, "-o", "notes.txt/o.mp4"], {}),
    ("splice-fps-nan", ["splice", "clip.mp4", "clip2.mp4", "--overlap", "3", "--sampled-fps", "nan", "-o", "o.mp4"],
     {}),
    ("splice-overlap-negative", ["splice", "clip.mp4", "clip2.mp4", "--overlap", "-1", "--sampled-fps", "25", "-o",
                                 "o.mp4"], {}),
    ("splice-text-clip", ["splice", "clip.mp4", "notes.txt", "--overlap", "3", "--sampled-fps", "25", "-o",
                          "o.mp4"], {}),
    ("splice-report-is-a-file", [*SPLICE, "-o", "o.mp4", "--report", "notes.txt"], {}),
    ("splice-report-over-input", ["splice", "rep/report.html", "clip.mp4", "--overlap", "3", "--sampled-fps", "25",
                                  "-o", "o.mp4", "--report", "rep"], {}),
    ("splice-extension", [*SPLICE, "-o", "o.avi"], {}),
    ("splice-cut-unknown", [*SPLICE, "-o", "o.mp4", "--cut", "middle"], {}),
    ("splice-cut-best-crossfade", [*SPLICE, "-o", "o.mp4", "--mode", "crossfade", "--cut", "best"], {}),
    ("splice-curve-unknown", [*SPLICE, "-o", "o.mp4", "--mode", "crossfade", "--curve", "cubic"], {}),
    ("splice-curve-without-crossfade", [*SPLICE, "-o", "o.mp4", "--curve", "ease"], {}),
    ("seam-cut-best-crossfade", [*SEAM, "--mode", "crossfade", "--cut", "best"], {}),
    ("seam-curve-without-crossfade", [*SEAM, "--mode", "trim-a", "--curve", "filmic"], {}),
    ("seam-fps-inf", ["seam", "clip.mp4", "clip2.mp4", "--overlap", "3", "--sampled-fps", "inf"], {}),
    ("seam-text", ["seam", "clip.mp4", "x.png", "--overlap", "3", "--sampled-fps", "25"], {}),
    ("seam-report-is-a-file", [*SEAM, "--report", "notes.txt"], {}),
    ("seam-report-under-a-file", [*SEAM, "--report", "notes.txt/r"], {}),
    ("extend-candidates-billion", [*EXTEND, "--candidates", "1000000000", "--yes", "-o", "r"], {}),
    ("extend-candidates-zero", [*EXTEND, "--candidates", "0", "-o", "r"], {}),
    ("extend-confirm-nan", [*EXTEND, "--confirm-usd", "nan", "-o", "r"], {}),
    ("extend-confirm-inf", [*EXTEND, "--confirm-usd", "inf", "-o", "r"], {}),
    ("extend-confirm-negative", [*EXTEND, "--confirm-usd", "-1", "-o", "r"], {}),
    ("extend-max-usd-nan", [*EXTEND, "--max-usd", "nan", "-o", "r"], {}),
    ("extend-max-usd-inf", [*EXTEND, "--max-usd", "inf", "-o", "r"], {}),
    ("extend-max-usd-negative", [*EXTEND, "--max-usd", "-0.01", "-o", "r"], {}),
    ("extend-max-usd-text", [*EXTEND, "--max-usd", "twenty", "-o", "r"], {}),
    ("extend-max-usd-credits", ["extend", "clip.mp4", "--prompt", "p", "--overlap", "1", "--frames", "25",
                                "--provider", "kubeez", "--max-usd", "5", "-o", "r"], {}),
    ("extend-price-book-foreign", [*EXTEND, "--yes", "-o", "r"], {"LTXKIT_PRICE_BOOK": "foreign/ltxkit-jobs.sqlite"}),
    ("extend-price-book-garbage", [*EXTEND, "--yes", "-o", "r"], {"LTXKIT_PRICE_BOOK": "garbage/ltxkit-jobs.sqlite"}),
    ("extend-price-book-directory", [*EXTEND, "--yes", "-o", "r"], {"LTXKIT_PRICE_BOOK": "tail"}),
    ("extend-price-book-under-a-file", [*EXTEND, "--yes", "-o", "r"], {"LTXKIT_PRICE_BOOK": "notes.txt/p.sqlite"}),
    ("extend-frames", ["extend", "clip.mp4", "--prompt", "p", "--overlap", "3", "--frames", "24", "-o", "r"], {}),
    ("extend-size", [*EXTEND, "--size", "1e9x5", "-o", "r"], {}),
    ("extend-text-audio", [*EXTEND, "--audio", "notes.txt", "-o", "r"], {}),
    ("extend-text-clip", ["extend", "x.png", "--prompt", "p", "--overlap", "3", "--frames", "25", "-o", "r"], {}),
    ("extend-cut-nan", [*EXTEND, "--audio", "a.wav", "--cut", "nan", "-o", "r"], {}),
    ("extend-splice-cut-unknown", [*EXTEND, "--splice-cut", "middle", "-o", "r"], {}),
    ("extend-splice-cut-best-remote", [*EXTEND, "--splice-cut", "best", "--combine", "remote", "-o", "r"], {}),
    ("extend-sampled-fps-nan", [*EXTEND, "--sampled-fps", "nan", "-o", "r"], {}),
    ("extend-retry-nan", [*EXTEND, "-o", "r"], {"LTXKIT_RETRY_BASE_DELAY": "nan"}),
    ("extend-own-output", ["extend", "own/extended.mp4", "--prompt", "p", "--overlap", "3", "--frames", "25", "-o",
                           "own"], {}),
    ("extend-own-output-resume", ["extend", "own/extended.mp4", "--prompt", "p", "--overlap", "3", "--frames", "25",
                                  "--resume", "-o", "own"], {}),
    ("extend-plan-deep", ["extend", "--plan", "deep.json", "--prompt", "p", "-o", "r"], {}),
    ("extend-plan-list", ["extend", "--plan", "list.json", "--prompt", "p", "-o", "r"], {}),
    ("extend-plan-tiny-cut", ["extend", "--plan", "tinycut.json", "--prompt", "p", "-o", "r"], {}),
    ("extend-plan-no-clip-audio", ["extend", "--plan", "noclip.json", "--prompt", "p", "-o", "r"], {}),
    ("extend-plan-segments-5", ["extend", "--plan", "seg5.json", "--prompt", "p", "-o", "r"], {}),
    ("extend-plan-huge-image", ["extend", "--plan", "bigimage.json", "--prompt", "p", "-o", "r"], {}),
    ("extend-plan-text", ["extend", "--plan", "notes.txt", "--prompt", "p", "-o", "r"], {}),
    ("extend-resume-run-json-list", [*EXTEND, "--resume", "-o", "run"], {}),
    ("extend-journal-foreign", [*EXTEND, "--yes", "-o", "foreignrun"], {}),
    ("plan-over-audio", [*PLAN, "-o", "a.wav"], {}),
    ("plan-over-clip", [*PLAN, "-o", "clip.mp4"], {}),
    ("plan-over-symlinked-audio", [*PLAN, "-o", "link.wav"], {}),
    ("plan-over-hard-linked-audio", [*PLAN, "-o", "hard.wav"], {}),
    ("plan-under-a-file", [*PLAN, "-o", "notes.txt/p.json"], {}),
    ("plan-onto-a-directory", [*PLAN, "-o", "run"], {}),
    ("plan-huge-image", ["plan", "a.wav", "--image", "big.png", "--fps", "25", "--overlap", "3"], {}),
    ("plan-text-image", ["plan", "a.wav", "--image", "x.png", "--fps", "25", "--overlap", "3"], {}),
    ("plan-fps-nan", ["plan", "a.wav", "--clip", "clip.mp4", "--fps", "nan", "--overlap", "3"], {}),
    ("plan-fps-tiny", ["plan", "a.wav", "--clip", "clip.mp4", "--fps", "1e-30", "--overlap", "3"], {}),
    ("plan-max-frames", [*PLAN, "--max-frames", "10"], {}),
    ("plan-text-audio", ["plan", "notes.txt", "--clip", "clip.mp4", "--fps", "25", "--overlap", "3"], {}),
    ("demo-onto-a-file", ["demo", "-o", "notes.txt"], {}),
    ("demo-under-a-file", ["demo", "-o", "notes.txt/d"], {}),
    ("demo-into-a-foreign-directory", ["demo", "-o", "run"], {}),
]

COMMAND_NAMES = ["probe", "frames tail", "timing check", "audio window", "audio plan", "jobs submit", "jobs status",
                 "jobs wait", "balance", "health", "serve", "splice", "seam", "extend", "plan", "demo"]


@pytest.fixture(scope="module")
def stock(tmp_path_factory: pytest.TempPathFactory, media: dict[str, Path]) -> Path:
    """The files every case starts from (copied, so a case that wrote to one could not hide it)."""
    root = tmp_path_factory.mktemp("stock")
    shutil.copyfile(media["track"], root / "a.wav")
    shutil.copyfile(media["clip"], root / "clip.mp4")
    write_blank_png(root / "big.png", 20000, 20000)
    return root


def _populate(root: Path, stock: Path) -> None:
    for name in ("a.wav", "clip.mp4", "big.png"):
        shutil.copyfile(stock / name, root / name)
    shutil.copyfile(root / "clip.mp4", root / "clip2.mp4")
    (root / "link.wav").symlink_to("a.wav")
    (root / "link.mp4").symlink_to("clip.mp4")
    (root / "hard.wav").hardlink_to(root / "a.wav")
    (root / "notes.txt").write_text("not media\n")
    (root / "x.png").write_text("not a picture\n")
    (root / "x.wav").write_text("not a sound\n")
    (root / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (root / "list.json").write_text("[]")
    good = {"version": 1, "audio": str(root / "a.wav"), "clip": str(root / "clip.mp4"), "image": None,
            "sampled_fps": "25", "overlap_frames": 3, "segments": [{"frames": 25, "cut_seconds_exact": "2"}]}
    plans = {"tinycut": {"segments": [{"frames": 25, "cut_seconds_exact": "1e-999999999"}]},
             "noclip": {"clip": None, "audio": None}, "seg5": {"segments": 5},
             "bigimage": {"clip": None, "image": str(root / "big.png"), "overlap_frames": 0}}
    for name, change in plans.items():
        (root / f"{name}.json").write_text(json.dumps({**good, **change}))
    (root / "run").mkdir()
    (root / "run" / "run.json").write_text("[]")
    (root / "own").mkdir()
    shutil.copyfile(root / "clip.mp4", root / "own" / "extended.mp4")
    (root / "tail").mkdir()
    Image.new("RGB", (8, 8)).save(root / "tail" / "a.webp", lossless=True)
    (root / "tail" / "a-last-01.webp").symlink_to("a.webp")  # the frame it would write is the input
    (root / "rep").mkdir()
    shutil.copyfile(root / "clip.mp4", root / "rep" / "report.html")
    (root / "garbage").mkdir()
    (root / "garbage" / "ltxkit-jobs.sqlite").write_bytes(b"garbage\n" * 64)
    (root / "dirjournal" / "ltxkit-jobs.sqlite").mkdir(parents=True)
    for name in ("foreign", "foreignrun"):
        (root / name).mkdir()
        with sqlite3.connect(root / name / "ltxkit-jobs.sqlite") as db:
            db.execute("CREATE TABLE jobs (id INTEGER, name TEXT)")


def _snapshot(root: Path) -> dict[str, tuple[int, int, str]]:
    return {str(p.relative_to(root)): (p.lstat().st_mode, p.lstat().st_mtime_ns,
                                       hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "")
            for p in root.rglob("*")}


def test_the_sweep_covers_every_command() -> None:
    covered = {next(name for name in COMMAND_NAMES if args[:len(name.split())] == name.split())
               for _, args, _ in CASES}
    assert covered == set(COMMAND_NAMES)
    assert {name.split()[0] for name in COMMAND_NAMES} == set(COMMANDS) - {"review"}


@pytest.mark.parametrize(("args", "env"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input_exits_2_with_one_line_and_touches_nothing(stock: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch, args: list[str],
                                                             env: dict[str, str]) -> None:
    _populate(tmp_path, stock)
    before = _snapshot(tmp_path)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, args, env={**OFFLINE, **env})
    assert result.exit_code == 2, (result.stderr, result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ltxkit: error: "), result.stderr
    assert "Traceback" not in result.output
    assert _snapshot(tmp_path) == before
