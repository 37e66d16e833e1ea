"""How fast does ``AsyncClient.run_many`` push many jobs through, and does it ever duplicate one?

N jobs (default 1000) are submitted and waited for against the emulator (``ltxkit serve`` in its own
process, no queue or render wait; small ``image.generate`` jobs so the server's work stays small), journaled
as in real use, at several concurrency limits. ``--drops`` create answers (default 2 % of N) are dropped
*after* the emulator made the job, so the idempotent retry path is exercised; the emulator must end with
exactly one job per request (no duplicates). Each configuration runs its client in a fresh process
against a fresh emulator, so peak RSS is its own.

    .venv/bin/python benchmarks/jobs_concurrency.py [--n 1000] [--concurrency 1,4,16] [--drops 20]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

KEY = "k-benchmark-0123456789"
LTXKIT = str(Path(sys.executable).with_name("ltxkit"))


def run_client(url: str, n: int, concurrency: int) -> dict[str, Any]:
    from ltxkit.errors import LtxkitError
    from ltxkit.jobs import AsyncClient, JobRequest, Journal

    requests = [JobRequest.build("image.generate", {"prompt": f"benchmark shot {i}", "seed": i, "width": 64,
                                                    "height": 64}) for i in range(n)]

    async def go() -> list[Any]:
        async with AsyncClient(base_url=url, api_key=KEY, concurrency=concurrency, max_retries=8,
                               retry_base_delay=0.001, retry_max_delay=0.01, poll_interval=0.001,
                               poll_max_interval=0.01, progress=False) as client:
            with tempfile.TemporaryDirectory() as state, Journal.in_dir(state) as journal:
                return await client.run_many(requests, journal=journal)

    started = time.perf_counter()
    results = asyncio.run(go())
    wall = time.perf_counter() - started
    failed = [r for r in results if isinstance(r, LtxkitError)]
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"wall": wall, "done": sum(1 for r in results if not isinstance(r, LtxkitError) and r.state == "done"),
            "failed": len(failed), "first_error": str(failed[0]) if failed else "",
            "rss_mib": usage.ru_maxrss / 1024, "cpu_ms_per_job": (usage.ru_utime + usage.ru_stime) * 1000 / n}


@contextlib.contextmanager
def emulator(data: Path, drops: int) -> Any:
    """``ltxkit serve`` on a free loopback port; yields its base URL, stops it with SIGTERM."""
    args = [LTXKIT, "serve", "--port", "0", "--key", KEY, "--data", str(data), "--queued-seconds", "0",
            "--running-seconds", "0", "--balance", "1000000", "--log-level", "warning", "--json"]
    if drops:
        args += ["--faults", f"drop-create={drops}"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        yield json.loads(proc.stdout.readline())["baseUrl"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def made(data: Path) -> tuple[int, int]:
    """Jobs the emulator made, and the distinct idempotency keys among them."""
    with contextlib.closing(sqlite3.connect(data / "emulator.sqlite3")) as db:
        row = db.execute("SELECT COUNT(*), COUNT(DISTINCT idempotency_key) FROM jobs").fetchone()
    return int(row[0]), int(row[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="jobs per configuration")
    parser.add_argument("--concurrency", default="1,4,16", help="comma-separated limits to compare")
    parser.add_argument("--drops", type=int, help="create answers dropped after the job was made (default 2 %% of N)")
    args = parser.parse_args()
    limits = [int(c) for c in args.concurrency.split(",")]
    drops = round(args.n * 0.02) if args.drops is None else args.drops

    print(f"{args.n} jobs per run against the emulator (no queue or render wait), {drops} create answers dropped "
          f"after the job was made; journaled (SQLite WAL)")
    print(f"{'concurrency':>11} {'wall s':>8} {'jobs/s':>8} {'vs c=' + str(limits[0]):>8} {'client CPU ms/job':>18} "
          f"{'peak RSS MiB':>13} {'done':>6} {'created':>8} {'duplicates':>10}")
    baseline = None
    for limit in limits:
        with tempfile.TemporaryDirectory() as tmp:
            with emulator(Path(tmp), drops) as url, \
                    ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
                result = pool.submit(run_client, url, args.n, limit).result()
            created, keys = made(Path(tmp))
        rate = args.n / result["wall"]
        baseline = baseline or rate
        print(f"{limit:>11} {result['wall']:>8.2f} {rate:>8.0f} {rate / baseline:>7.2f}x "
              f"{result['cpu_ms_per_job']:>18.2f} {result['rss_mib']:>13.1f} "
              f"{result['done']:>6} {created:>8} {created - keys:>10}")
        if result["failed"]:
            print(f"  {result['failed']} failed, e.g. {result['first_error']}")
        if created != args.n or keys != args.n:
            raise SystemExit(f"{created} jobs for {keys} keys: expected exactly one job per request")


if __name__ == "__main__":
    main()
