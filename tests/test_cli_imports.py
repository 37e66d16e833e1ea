"""What a command loads in a fresh process: start-up is most of a short command's time (issue 20), so
``ltxkit seam`` must not import the HTTP/server stack and ``ltxkit --help`` not even PyAV or numpy."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

ClipFactory = Callable[..., Path]

# What only the jobs client, the emulator and the workflows use. rich is here because the command's
# stderr is a pipe: on a terminal the progress bars (cli.progress.TerminalProgress) load it.
HTTP_STACK = {"httpx", "httpcore", "h11", "anyio", "starlette", "uvicorn", "rich", "sqlite3", "ssl", "asyncio",
              "soundfile", "opentimelineio"}
SERVER_STACK = HTTP_STACK | {"ltxkit.jobs", "ltxkit.emulator", "ltxkit.workflow", "ltxkit.audio"}
MEDIA_STACK = {"numpy", "av", "PIL"}

_RUN = """
import json, sys
from ltxkit.cli import main
sys.argv = ["ltxkit", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit as exc:
    assert not exc.code, exc.code
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def loaded(*args: str) -> set[str]:
    """The forbidden-candidate packages (``SERVER_STACK | MEDIA_STACK``) ``ltxkit ARGS…`` has imported at exit."""
    done = subprocess.run([sys.executable, "-c", _RUN, json.dumps(args)], capture_output=True, text=True, check=True)
    modules = set(json.loads(done.stderr.splitlines()[-1]))
    return {name for name in SERVER_STACK | MEDIA_STACK
            if name in modules or any(m.startswith(f"{name}.") for m in modules)}


def test_seam_with_a_report_loads_no_server_stack(make_clip: ClipFactory, tmp_path: Path) -> None:
    a, b = make_clip(frames=60, audio=True), make_clip(frames=40, audio=True)
    used = loaded("seam", str(a), str(b), "--overlap", "3", "--sampled-fps", "25", "--report", str(tmp_path / "r"))
    assert (tmp_path / "r" / "report.html").is_file()
    assert used == MEDIA_STACK  # numpy, PyAV and Pillow do the work; nothing of SERVER_STACK came along


def test_help_loads_neither_the_media_nor_the_http_stack() -> None:
    assert loaded("--help") & (MEDIA_STACK | HTTP_STACK) == set()  # (serve's options read the emulator's config)
    assert loaded("seam", "--help") == set()
