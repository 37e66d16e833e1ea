"""Issue 19, the input side: outputs that are inputs, unbounded counts, non-finite numbers, tracebacks,
unwritable outputs, unchecked media and a killed run's leftovers. Real ``ltxkit`` processes where a
process matters (file-size limits, SIGKILL, deep recursion); read-only and locked directories, which
root cannot make for real, are simulated in-process by failing the filesystem calls with EROFS/EACCES."""

from __future__ import annotations

import errno
import io
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from media import write_blank_png
from PIL import Image

from ltxkit.cli import main
from ltxkit.emulator.config import EmulatorConfig
from ltxkit.emulator.server import EmulatorHandle, run_in_thread
from ltxkit.errors import InputError
from ltxkit.frames.checks import refuse_overwrite
from ltxkit.fsutil import atomic_path, remove_stale_temporaries, same_file, temp_dir_beside
from ltxkit.jobs.journal import Journal
from ltxkit.timing import parse_number

LTXKIT = str(Path(sys.executable).with_name("ltxkit"))
CAPPED = ("import os, resource, sys; resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]),) * 2); "
          "os.execv(sys.argv[2], sys.argv[2:])")  # argv: the limit, then the command it caps
OFFLINE = {"LTXKIT_API_BASE": "http://127.0.0.1:9", "LTXKIT_API_KEY": "k-test"}  # nothing listens there


@pytest.fixture(scope="module")
def media(media: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The shared clip A and track (conftest), and an image too large to open."""
    big = tmp_path_factory.mktemp("hostile") / "big.png"
    write_blank_png(big, 20000, 20000)  # 400 MP of zeros: a few hundred KB on disk
    return {**media, "big": big}


def ltxkit(*args: object, cwd: Path, env: dict[str, str] | None = None, limit: int | None = None,
           timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """A real ``ltxkit`` process; ``limit`` caps the size of any file it writes (RLIMIT_FSIZE).

    The cap is set by a fresh interpreter that then becomes ltxkit (:data:`CAPPED`), never by a
    ``preexec_fn``: Python code run between fork and exec in a process with threads (the emulator's,
    the decoders') can deadlock the child before it execs, which hung two tests of a soak for 300 s."""
    command = [LTXKIT, *map(str, args)]
    if limit is not None:
        command = [sys.executable, "-c", CAPPED, str(limit), *command]
    return subprocess.run(command, cwd=cwd, env={**os.environ, **OFFLINE, **(env or {})}, capture_output=True,
                          text=True, timeout=timeout)


def one_error(result: subprocess.CompletedProcess[str], code: int, message: str) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("ltxkit: error: ") and message in result.stderr, result.stderr


def tree(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")}


# --- 1, 2: an output that is one of the inputs ---------------------------------------------------------


def test_refuse_overwrite_sees_through_symlinks_and_hard_links(tmp_path: Path) -> None:
    src = tmp_path / "a.wav"
    src.write_bytes(b"audio")
    (tmp_path / "link.wav").symlink_to(src)
    os.link(src, tmp_path / "hard.wav")
    for out in ("a.wav", "link.wav", "hard.wav", "./sub/../a.wav"):
        assert same_file(tmp_path / out, src) or out.startswith("./")
        with pytest.raises(InputError, match="would overwrite an input"):
            refuse_overwrite([tmp_path / out], [src])
    with pytest.raises(InputError, match="would overwrite an input"):  # a tree that holds an input
        refuse_overwrite([tmp_path], [src])
    refuse_overwrite([tmp_path / "other.wav", tmp_path / "a"], [src, None])


def test_plan_refuses_to_write_over_its_audio_or_clip(media: dict[str, Path], tmp_path: Path) -> None:
    audio = tmp_path / "s.wav"
    shutil.copyfile(media["track"], audio)
    (tmp_path / "link.json").symlink_to(audio)
    os.link(audio, tmp_path / "hard.json")
    clip = tmp_path / "a.mp4"
    shutil.copyfile(media["clip"], clip)
    before = tree(tmp_path)
    for out in ("s.wav", "link.json", "hard.json", "a.mp4"):
        one_error(ltxkit("plan", "s.wav", "--clip", "a.mp4", "--fps", 25, "--overlap", 3, "-o", out, cwd=tmp_path),
                  2, "would overwrite an input")
    assert tree(tmp_path) == before
    assert audio.read_bytes() == media["track"].read_bytes()


def _emulator() -> EmulatorHandle:
    return run_in_thread(EmulatorConfig(queued_seconds=0.05, running_seconds=0.05))


def _env(handle: EmulatorHandle) -> dict[str, str]:
    return {"LTXKIT_API_BASE": handle.base_url, "LTXKIT_API_KEY": handle.api_key, "LTXKIT_POLL_INTERVAL": "0.05",
            "LTXKIT_POLL_MAX_INTERVAL": "0.2"}


def _extend(handle: EmulatorHandle, clip: Path | str, cwd: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return ltxkit("extend", clip, "--prompt", "a presenter keeps talking to the camera", "--overlap", 3,
                  "--frames", 17, "--candidates", 1, "--yes", "-o", "run", *extra, cwd=cwd, env=_env(handle),
                  timeout=120)


def test_extend_refuses_its_own_run_output_as_input_before_paying(media: dict[str, Path], tmp_path: Path) -> None:
    with _emulator() as handle:
        assert _extend(handle, media["clip"], tmp_path).returncode == 0
        extended = tmp_path / "run" / "extended.mp4"
        made = extended.read_bytes()
        posts = [r for r in handle.requests() if r.method == "POST"]
        for extra in ((), ("--resume",)):
            one_error(_extend(handle, "run/extended.mp4", tmp_path, *extra), 2, "would overwrite an input")
        assert [r for r in handle.requests() if r.method == "POST"] == posts  # nothing was paid for
    assert extended.read_bytes() == made


# --- 13: a killed run's temporaries are removed on --resume ----------------------------------------------


KILLED_WRITER = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from ltxkit.fsutil import atomic_path, temp_dir_beside
    run = Path(sys.argv[1])
    (temp_dir_beside(run / "report") / "seam-1-sheet.png").write_bytes(b"half a sheet")
    with atomic_path(run / "extended.mp4") as tmp:
        tmp.write_bytes(b"half a splice")
        os.kill(os.getpid(), signal.SIGKILL)
""")


def test_resume_removes_what_a_killed_extend_was_writing(media: dict[str, Path], tmp_path: Path) -> None:
    with _emulator() as handle:
        assert _extend(handle, media["clip"], tmp_path).returncode == 0
        run = tmp_path / "run"
        killed = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(run)], capture_output=True)
        assert killed.returncode == -signal.SIGKILL
        stale = sorted(p.name for p in run.iterdir() if p.name.startswith((".extended.", ".report.")))
        assert len(stale) == 2 and stale[0].endswith(".part.mp4") and stale[1].endswith(".part"), stale
        kept = [run / "segment-01" / "candidates" / "1" / "clip.mp4.part", run / ".notes"]  # a resumable
        for path in kept:                                                               # download, the user's
            path.write_bytes(b"keep")
        assert _extend(handle, media["clip"], tmp_path, "--resume").returncode == 0
    assert not [p for p in run.iterdir() if p.name.startswith((".extended.", ".report."))]
    assert all(p.read_bytes() == b"keep" for p in kept)


def test_remove_stale_temporaries_matches_only_atomic_names(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "x.wav") as tmp:
        raise RuntimeError
    leftovers = [tmp_path / ".x.0123456789ab.part.wav", tmp_path / "d" / ".f.0123456789ab.part"]
    leftovers[1].parent.mkdir()
    leftovers[0].write_bytes(b"")
    (temp_dir_beside(leftovers[1]) / "inner").write_bytes(b"")
    leftovers[1].mkdir()  # an earlier temp_dir_beside of the same shape
    user = [tmp_path / "take.part", tmp_path / ".x.part.wav", tmp_path / ".x.0123456789ab.wav"]
    for path in user:
        path.write_bytes(b"mine")
    removed = remove_stale_temporaries(tmp_path)
    assert len(removed) == 3 and not tmp.exists()
    assert sorted(p.name for p in tmp_path.rglob("*")) == sorted(["d", *(p.name for p in user)])


# --- 7, 8: bounded counts and sizes, finite numbers --------------------------------------------------------


@pytest.mark.parametrize(("args", "message"), [
    (["extend", "CLIP", "--prompt", "p", "--overlap", 3, "--frames", 25, "--candidates", 1_000_000_000, "--yes",
      "-o", "run"], "--candidates must be from 1 to 16"),
    (["extend", "CLIP", "--prompt", "p", "--overlap", 3, "--frames", 25, "--confirm-usd", "nan", "-o", "run"],
     "'--confirm-usd': must be a finite number"),
    (["audio", "window", "TRACK", "--cut", 1, "--overlap", 3, "--fps", 25, "--seconds", 3000, "--pad", "-o", "w.wav"],
     "at most 600"),
    (["audio", "window", "TRACK", "--cut", 1, "--overlap", 3, "--fps", 25, "--seconds", "1e6", "--pad", "-o",
      "w.wav"], "at most 600"),
    (["audio", "window", "TRACK", "--cut", 1, "--overlap", 3, "--fps", 25, "--frames", 25, "--rate",
      1_000_000_000_000, "-o", "w.wav"], "up to 384000"),
    (["audio", "plan", "TRACK", "--fps", "1e-30", "--overlap", 3], "from 1 up to 10000"),
    (["serve", "--max-body-mb", "nan"], "must be a finite number"),
    (["serve", "--max-body-mb", "inf"], "must be a finite number"),
    (["serve", "--queued-seconds", "nan"], "must be a finite number"),
    (["balance"], "LTXKIT_RETRY_BASE_DELAY must be a finite number"),
    (["balance"], "LTXKIT_RETRY_MAX_DELAY must be a finite number"),
], ids=["candidates", "confirm-nan", "window-3000", "window-1e6", "rate-1e12", "fps-1e-30", "body-nan", "body-inf",
        "queued-nan", "retry-base-nan", "retry-max-inf"])
def test_unbounded_and_non_finite_numbers_are_refused(media: dict[str, Path], tmp_path: Path, args: list[Any],
                                                       message: str) -> None:
    env = {} if args != ["balance"] else (
        {"LTXKIT_RETRY_BASE_DELAY": "nan"} if "BASE" in message else {"LTXKIT_RETRY_MAX_DELAY": "inf"})
    args = [{"CLIP": media["clip"], "TRACK": media["track"]}.get(a, a) for a in args]
    one_error(ltxkit(*args, cwd=tmp_path, env=env, timeout=30), 2, message)
    assert list(tmp_path.iterdir()) == []


def test_parse_number_refuses_non_finite_and_names_the_range() -> None:
    assert parse_number(" 2.5 ", name="--x", minimum=0, maximum=10) == 2.5
    for bad in ("nan", "inf", "-inf", "1e999", "x", "-1", "11"):
        with pytest.raises(InputError, match=r"--x must be a finite number from 0 up to 10"):
            parse_number(bad, name="--x", minimum=0, maximum=10)


# --- 9: clear errors, not tracebacks --------------------------------------------------------------------


def _plan(tmp_path: Path, media: dict[str, Path], **changes: Any) -> Path:
    plan = {"version": 1, "audio": str(media["track"]), "clip": str(media["clip"]), "image": None,
            "sampled_fps": "25", "overlap_frames": 3, "segments": [{"frames": 25, "cut_seconds_exact": "2"}]}
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({k: v for k, v in {**plan, **changes}.items() if v != "DROP"}))
    return path


@pytest.mark.parametrize(("changes", "message"), [
    ({"segments": [{"frames": 25, "cut_seconds_exact": "1e-999999999"}]}, "cut_seconds_exact must be a number"),
    ({"clip": "DROP", "audio": "DROP"}, "audio must be a path"),
    ({"clip": 3}, "clip must be a path or null"),
    ({"segments": 5}, "no list of segments"),
    ({"segments": [{"frames": "25", "cut_seconds_exact": "2"}]}, "segment 1 needs whole 'frames'"),
    ({"overlap_frames": "3"}, "overlap_frames must be a whole number"),
    ({"sampled_fps": "nan"}, "sampled_fps must be a positive number"),
], ids=["cut-1e-999999999", "no-clip-audio", "clip-int", "segments-int", "frames-str", "overlap-str", "fps-nan"])
def test_bad_plans_are_one_line(media: dict[str, Path], tmp_path: Path, changes: dict[str, Any],
                                message: str) -> None:
    plan = _plan(tmp_path, media, **changes)
    one_error(ltxkit("extend", "--plan", plan, "--prompt", "p", "-o", "run", cwd=tmp_path, timeout=30), 2, message)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.json"]


@pytest.mark.parametrize("manifest", [[], {"spec": []}], ids=["list", "spec-list"])
def test_resume_of_a_bad_run_json_is_one_line_and_leaves_it(media: dict[str, Path], tmp_path: Path,
                                                           manifest: object) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text(json.dumps(manifest))
    before = tree(tmp_path)
    result = ltxkit("extend", media["clip"], "--prompt", "p", "--overlap", 3, "--frames", 25, "--resume", "-o", run,
                    cwd=tmp_path)
    one_error(result, 2, "run.json: ")
    assert tree(tmp_path) == before


def test_resume_with_segments_5_in_a_matching_run_is_one_line(media: dict[str, Path], tmp_path: Path) -> None:
    # the spec matches (made by a real run's own check), so the bad segments are what is read
    from ltxkit.workflow.inputs import build_spec

    spec, _ = build_spec(clip=media["clip"], prompt="p", overlap=3, frames=25, env=OFFLINE)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "run.json").write_text(json.dumps({"version": 1, "spec": spec.to_json(), "segments": 5}))
    result = ltxkit("extend", media["clip"], "--prompt", "p", "--overlap", 3, "--frames", 25, "--resume",
                    "-o", "run", cwd=tmp_path)
    one_error(result, 2, "unreadable manifest")


def test_the_huge_png_is_a_whole_valid_picture(media: dict[str, Path], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The refusal below must be for its size, not for a broken file: the fast writer's PNG decodes (CRCs,
    deflate stream and Adler-32 checked by Pillow) to exactly its zeros, over several bands and a rest."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    with Image.open(media["big"]) as big:
        assert (big.size, big.mode) == ((20000, 20000), "L")
    with Image.open(write_blank_png(tmp_path / "banded.png", 3001, 2803)) as small:
        pixels = np.asarray(small)
    assert pixels.shape == (2803, 3001) and not pixels.any()


def test_huge_png_is_refused_from_its_header(media: dict[str, Path], tmp_path: Path) -> None:
    one_error(ltxkit("probe", media["big"], cwd=tmp_path), 2, "big.png")
    one_error(ltxkit("plan", media["track"], "--image", media["big"], "--fps", 25, "--overlap", 3, cwd=tmp_path),
              2, "is not a readable image")


def _journal(kind: str, path: Path) -> None:
    if kind == "garbage":
        path.write_bytes(b"not a database at all\n" * 100)
    elif kind == "directory":
        path.mkdir()
    else:
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE jobs (id INTEGER, name TEXT)")  # a foreign app's "jobs"


@pytest.mark.parametrize("kind", ["garbage", "directory", "foreign"])
def test_a_journal_that_is_not_ours_is_refused_and_left_unchanged(tmp_path: Path, kind: str) -> None:
    journal = tmp_path / "ltxkit-jobs.sqlite"
    _journal(kind, journal)
    before = tree(tmp_path)
    for args in (["jobs", "wait", "job-1"], ["jobs", "submit", "video.combine", "--input",
                                             '{"videoUrls": ["https://a.test/1.mp4", "https://a.test/2.mp4"]}']):
        one_error(ltxkit(*args, "--state", tmp_path, cwd=tmp_path), 2, "ltxkit-jobs.sqlite")
    assert tree(tmp_path) == before


def test_unwritable_journal_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> sqlite3.Connection:
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(sqlite3, "connect", refuse)
    with pytest.raises(InputError, match=r"cannot be opened .*readonly"):
        Journal.in_dir(tmp_path)


@pytest.mark.parametrize("limit", [10_000, 100_000])
def test_audio_window_past_the_file_size_limit_is_one_line_and_no_file(media: dict[str, Path], tmp_path: Path,
                                                                        limit: int) -> None:
    result = ltxkit("audio", "window", media["track"], "--cut", 2, "--overlap", 3, "--fps", 25, "--seconds", 3,
                    "-o", "w.wav", cwd=tmp_path, limit=limit)
    one_error(result, 1, f"files are limited to {limit} bytes")
    assert list(tmp_path.iterdir()) == []


def test_demo_past_the_file_size_limit_leaves_no_partial_reference(tmp_path: Path) -> None:
    result = ltxkit("demo", "-o", "d", cwd=tmp_path, limit=100_000)
    one_error(result, 1, "cannot write d/source/reference.wav")
    assert sorted(p.name for p in (tmp_path / "d").rglob("*")) == [".ltxkit-demo", "source"]


def test_input_nested_100k_deep_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    one_error(ltxkit("jobs", "submit", "video.generate", "--input", "@deep.json", cwd=tmp_path), 2,
              "nested too deeply")
    one_error(ltxkit("extend", "--plan", "deep.json", "--prompt", "p", "-o", "run", cwd=tmp_path), 2,
              "nested too deeply")


# --- 10: unwritable outputs exit 2 ------------------------------------------------------------------------


@pytest.fixture(params=[errno.EROFS, errno.EACCES], ids=["read-only-fs", "0555-dir"])
def locked(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``tmp_path/locked``: creating anything in it fails as on a read-only filesystem or in a 0555
    directory (root ignores modes, and a test cannot mount, so the file calls fail as the kernel would)."""
    locked = tmp_path / "locked"
    locked.mkdir()
    code = request.param
    real_open, real_mkdir = io.open, os.mkdir

    def guard(real: Callable[..., Any]) -> Callable[..., Any]:
        def call(path: Any, *args: Any, **kwargs: Any) -> Any:
            mode = args[0] if args else kwargs.get("mode", "r")
            writing = real is real_mkdir or (isinstance(mode, str) and any(c in mode for c in "wxa+"))
            if writing and isinstance(path, (str, os.PathLike)) and Path(path).parent == locked:
                raise OSError(code, os.strerror(code), str(path))
            return real(path, *args, **kwargs)
        return call

    monkeypatch.setattr(io, "open", guard(real_open))
    monkeypatch.setattr(os, "mkdir", guard(real_mkdir))
    yield locked


@pytest.mark.parametrize("command", ["frames tail", "audio window", "splice", "--report", "plan"])
def test_unwritable_outputs_exit_2(media: dict[str, Path], locked: Path, command: str) -> None:
    clip, track = str(media["clip"]), str(media["track"])
    out = str(locked / "out")
    args = {
        "frames tail": ["frames", "tail", clip, "-n", "3", "-o", out],
        "audio window": ["audio", "window", track, "--cut", "2", "--overlap", "3", "--fps", "25", "--frames", "25",
                         "-o", out + ".wav"],
        "splice": ["splice", clip, clip, "--overlap", "3", "--sampled-fps", "25", "-o", out + ".mp4"],
        "--report": ["seam", clip, clip, "--overlap", "3", "--sampled-fps", "25", "--report", out],
        "plan": ["plan", track, "--clip", clip, "--fps", "25", "--overlap", "3", "-o", out + ".json"],
    }[command]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, (result.output, result.exception)
    # (a splice's progress lines, one per state change off a terminal, may come before the refusal)
    errors = [line for line in result.stderr.splitlines() if line.startswith("ltxkit: error:")]
    assert result.stderr.splitlines()[-1:] == errors and str(locked) in errors[0], result.stderr
    assert "Traceback" not in result.stderr
    assert list(locked.iterdir()) == []


# --- 11: local media checked before sending -----------------------------------------------------------------


@pytest.mark.parametrize(("option", "name", "message"), [
    ("--start-frame", "x.png", "startFrameImage: x.png is not a supported image"),
    ("--reference-audio", "x.wav", "referenceAudio: x.wav is not a supported audio file"),
])
def test_text_files_as_media_are_refused_locally(tmp_path: Path, option: str, name: str, message: str) -> None:
    (tmp_path / name).write_text("just some text\n")
    inp = '{"prompt": "p", "overlapFrameImageUrls": ["https://a.test/1.png"]}'
    one_error(ltxkit("jobs", "submit", "video.generate", "--input", inp, option, name, cwd=tmp_path), 2, message)


@pytest.mark.parametrize("job_id", ["", " ", "a b", "x\ty"])
def test_jobs_status_refuses_an_impossible_id(tmp_path: Path, job_id: str) -> None:
    one_error(ltxkit("jobs", "status", job_id, cwd=tmp_path), 2, "not a job id")


def test_no_process_is_started_through_a_preexec_fn() -> None:
    """Regression (soak): a ``preexec_fn`` runs Python between fork and exec, which can deadlock the child
    of a process with threads before it execs; the tests' file-size cap goes through :data:`CAPPED`."""
    root = Path(__file__).resolve().parent.parent
    marker = "preexec_fn" + "="
    users = [str(p.relative_to(root)) for top in ("ltxkit", "tests", "benchmarks") for p in (root / top).rglob("*.py")
             if marker in p.read_text(encoding="utf-8")]
    assert users == []
