"""The API document's own curl + jq examples against a live ``ltxkit serve`` on loopback.

Each snippet below is copied from the document; the only edits are the values of API_BASE and API_KEY
(done by :func:`setup`) and, for the two job-status examples, the placeholder job id ``abc123``
replaced by a real one (the literal ``abc123`` is also run and must answer 404). Plus the CLI contract
of ``ltxkit serve``: base URL on stdout, a generated key printed once, clean exit on SIGTERM.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from ltxkit.frames.probe import probe

SEED_SETUP = '''API_BASE="https://api.killatamata.com"
API_KEY="YOUR_API_KEY"
'''

HELLO_WORLD = '''# Set these first
API_BASE="https://api.killatamata.com"
API_KEY="YOUR_API_KEY"

# 1) Submit a job
SUBMIT_RES=$(curl -sS -X POST "$API_BASE/api/v1/media/jobs" \\
  -H "Authorization: Bearer $API_KEY" \\
  -H "Content-Type: application/json" \\
  -d '{
    "task": "image.generate",
    "input": {
      "prompt": "cinematic fox astronaut",
      "width": 1024,
      "height": 1024
    }
  }')

echo "$SUBMIT_RES"

# 2) Poll status
JOB_ID=$(echo "$SUBMIT_RES" | jq -r '.externalJobId // .jobId // .result.jobId // .id // empty')
curl -sS -X GET "$API_BASE/api/v1/media/jobs?jobId=$JOB_ID" \\
  -H "Authorization: Bearer $API_KEY"
'''

TEXT_TO_VIDEO = '''curl -X POST "$API_BASE/api/v1/media/jobs" \\
  -H "Authorization: Bearer $API_KEY" \\
  -H "Content-Type: application/json" \\
  -d '{
    "task": "video.generate",
    "input": {
      "prompt": "single continuous cinematic flythrough over a neon city at dawn",
      "durationSeconds": 6,
      "width": 1920,
      "height": 1088,
      "interpolationFps": 0
    }
  }'
'''

STATUS_SUMMARY = '''curl -X GET "$API_BASE/api/v1/media/jobs?jobId=abc123" \\
  -H "Authorization: Bearer $API_KEY"
'''

STATUS_DETAILS = '''curl -X GET "$API_BASE/api/v1/media/jobs?jobId=abc123&includeDetails=1" \\
  -H "Authorization: Bearer $API_KEY"
'''

BALANCE = '''curl -X GET "$API_BASE/api/v1/balance" \\
  -H "Authorization: Bearer $API_KEY"
'''

RETRY_SAFE_WRITE = '''curl -X POST "$API_BASE/api/v1/media/jobs" \\
  -H "Authorization: Bearer $API_KEY" \\
  -H "Content-Type: application/json" \\
  -H "X-Idempotency-Key: job-001" \\
  -d '{
    "task": "image.generate",
    "input": {
      "prompt": "cinematic fox astronaut",
      "width": 1024,
      "height": 1024
    },
    "idempotencyKey": "job-001"
  }'
'''

# The document lists GET /api/v1/health (no auth) without a curl example; this is the obvious one.
HEALTH = '''curl -sS -X GET "$API_BASE/api/v1/health"
'''

SERVE = [sys.executable, "-c", "from ltxkit.cli import main; main()", "serve"]


class Live:
    def __init__(self, base: str, key: str) -> None:
        self.base, self.key = base, key

    def setup(self, script: str) -> str:
        """Point a snippet at the emulator: only the values of API_BASE and API_KEY change."""
        if "API_BASE=" not in script:
            script = SEED_SETUP + script
        return script.replace('API_BASE="https://api.killatamata.com"', f'API_BASE="{self.base}"').replace(
            'API_KEY="YOUR_API_KEY"', f'API_KEY="{self.key}"')

    def run(self, script: str) -> list[Any]:
        """Run a snippet with bash; return every JSON document it printed, in order."""
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", self.setup(script)], capture_output=True, text=True,
                              timeout=60, check=True)
        decoder, text, docs = json.JSONDecoder(), done.stdout.strip(), []
        while text:
            doc, end = decoder.raw_decode(text)
            docs.append(doc)
            text = text[end:].strip()
        return docs

    def wait(self, job_id: str, *, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            status: dict[str, Any] = self.run(STATUS_SUMMARY.replace("abc123", job_id))[0]
            if status["status"] in ("completed", "failed"):
                return status
            assert time.monotonic() < deadline, status
            time.sleep(0.05)


def _start(args: list[str], env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], list[str]]:
    """Start ``ltxkit serve``; return the process and its stdout lines up to the base URL."""
    proc = subprocess.Popen(SERVE + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert first, proc.communicate(timeout=10)
    return proc, [first.strip()]


def _stop(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    return proc.returncode, out, err


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    key = "ltxk_test_" + secrets.token_hex(8)
    data = tmp_path_factory.mktemp("serve-data")
    proc, lines = _start(["--port", "0", "--key", key, "--data", str(data), "--queued-seconds", "0.05",
                          "--running-seconds", "0.05", "--log-level", "warning"])
    assert lines[0].startswith("http://127.0.0.1:")
    yield Live(lines[0], key)
    code, out, err = _stop(proc)
    assert code == 0 and out == "" and key not in err


def test_seed_examples_with_curl_and_jq(live: Live, tmp_path: Path) -> None:
    health = live.run(HEALTH)[0]
    assert (health["status"], health["service"]) == ("ok", "ltxkit-emulator")
    start_balance = live.run(BALANCE)[0]
    assert start_balance == {"balance": {"usdCents": 2500}, "currency": "USD"}  # the default money reading

    t2v = live.run(TEXT_TO_VIDEO)[0]  # submitted first: it renders while the rest runs
    assert t2v["status"] == "queued" and t2v["effectiveInput"]["durationFrames"] == 177
    assert t2v["inputAdjustments"] == ["durationSeconds=6 -> durationFrames=177 (8n+1 at 30 fps)"]

    submitted, polled = live.run(HELLO_WORLD)
    assert polled["jobId"] == submitted["externalJobId"] == submitted["jobId"]
    assert polled["status"] in ("queued", "running", "completed")
    done = live.wait(submitted["jobId"])
    assert done["status"] == "completed"
    image = tmp_path / "fox.webp"
    subprocess.run(["curl", "-sS", "-o", str(image), done["downloadableOutputUrls"][0]], check=True)
    assert image.read_bytes()[8:12] == b"WEBP"

    unknown = live.run(STATUS_SUMMARY)[0]  # the literal placeholder id
    assert unknown == {"error": "job not found", "details": {"jobId": "abc123"}}
    details = live.run(STATUS_DETAILS.replace("abc123", submitted["jobId"]))[0]
    assert details["effectiveInput"] == {"prompt": "cinematic fox astronaut", "width": 1024, "height": 1024}
    assert details["inputAdjustments"] == [] and details["upstreamResult"]["status"] == "completed"

    first, second = live.run(RETRY_SAFE_WRITE), live.run(RETRY_SAFE_WRITE)
    assert first[0]["jobId"] == second[0]["jobId"] and second[0]["idempotentReplay"] is True
    charged = 3 + t2v["billing"]["chargedCents"] + 3  # hello world, the video, one retry-safe image (cents)
    assert live.run(BALANCE)[0]["balance"]["usdCents"] == pytest.approx(2500 - charged)

    video = live.wait(t2v["jobId"])
    assert video["status"] == "completed"
    clip = tmp_path / "city.mp4"
    subprocess.run(["curl", "-sS", "-o", str(clip), video["downloadableOutputUrls"][0]], check=True)
    info = probe(clip)
    assert (info.width, info.height, info.fps, info.frame_count) == (1920, 1088, Fraction(30), 177)
    assert [a.codec for a in info.audio] == ["aac"]


def test_serve_prints_a_generated_key_once_and_cleans_up_on_sigterm(tmp_path: Path) -> None:
    env = {"TMPDIR": str(tmp_path), "LTXKIT_EMULATOR_KEY": ""}
    proc, lines = _start(["--port", "0", "--json", "--log-level", "warning"], env)
    ready = json.loads(lines[0])
    key = ready["apiKey"]
    assert ready["baseUrl"].startswith("http://127.0.0.1:") and key.startswith("ltxk_emu_")
    assert [p.name.startswith("ltxkit-emulator-") for p in tmp_path.iterdir()] == [True]
    live = Live(ready["baseUrl"], key)
    assert live.run(BALANCE) == [{"balance": {"usdCents": 2500}, "currency": "USD"}]
    code, out, err = _stop(proc)
    assert code == 0 and out == "" and key not in err
    assert list(tmp_path.iterdir()) == []  # the temporary data directory is gone

    proc, lines = _start(["--port", "0", "--balance", "3.50", "--money-reading", "usd", "--log-level", "warning"],
                         {"LTXKIT_EMULATOR_KEY": "from-env"})
    assert Live(lines[0], "from-env").run(BALANCE) == [{"balanceUsd": 3.5, "currency": "USD"}]  # dollars, asked
    code, out, _ = _stop(proc)
    assert code == 0 and out == ""  # a configured key is never printed


def test_serve_rejects_bad_options_and_a_busy_port_without_writing(tmp_path: Path) -> None:
    done = subprocess.run([*SERVE, "--faults", "explode=1"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("ltxkit: error: faults: unknown fault 'explode'")
    done = subprocess.run([*SERVE, "--balance", "lots"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "--balance must be an amount" in done.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run([*SERVE, "--port", str(port), "--data", str(tmp_path / "data")], capture_output=True,
                              text=True, timeout=30)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == f"ltxkit: error: cannot listen on 127.0.0.1:{port}: Address already in use\n"
    assert not (tmp_path / "data").exists()
