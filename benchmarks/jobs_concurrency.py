"""How fast does ``AsyncClient.run_many`` push many jobs through, and does it ever duplicate one?

N jobs (default 1000) are submitted and waited for against the local test server (tests/jobs_server.py,
run in its own process; jobs complete at once), journaled as in real use, at several concurrency limits.
A share of create answers (``--drop-rate``, default 2 %) is dropped *after* the server recorded the
job, so the idempotent retry path is exercised; duplicates (jobs created more than once for one key)
must stay 0. Each configuration runs its client in a fresh process so peak RSS is its own.

    .venv/bin/python benchmarks/jobs_concurrency.py [--n 1000] [--concurrency 1,4,16] [--drop-rate 0.02]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import multiprocessing
import resource
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent.parent / "tests"


def serve(urls: Any, stop: Event, drop_rate: float) -> None:
    sys.path.insert(0, str(TESTS))
    server = importlib.import_module("jobs_server").JobsServer()
    server.next_statuses = ["completed"]
    server.drop_rate = drop_rate
    server.start()
    urls.put((server.url, server.api_key))
    stop.wait()
    server.stop()


def run_client(url: str, key: str, n: int, concurrency: int) -> dict[str, Any]:
    from ltxkit.errors import LtxkitError
    from ltxkit.jobs import AsyncClient, JobRequest, Journal

    requests = [JobRequest.build("video.generate", {"prompt": f"benchmark shot {i}", "seed": i, "durationFrames": 9})
                for i in range(n)]

    async def go() -> list[Any]:
        async with AsyncClient(base_url=url, api_key=key, concurrency=concurrency, max_retries=8,
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="jobs per configuration")
    parser.add_argument("--concurrency", default="1,4,16", help="comma-separated limits to compare")
    parser.add_argument("--drop-rate", type=float, default=0.02, help="share of create answers dropped")
    args = parser.parse_args()
    limits = [int(c) for c in args.concurrency.split(",")]

    ctx = multiprocessing.get_context("spawn")
    print(f"{args.n} jobs per run, instant completion, {args.drop_rate:.0%} of create answers dropped after "
          f"recording; journaled (SQLite WAL)")
    print(f"{'concurrency':>11} {'wall s':>8} {'jobs/s':>8} {'vs c=' + str(limits[0]):>8} {'client CPU ms/job':>18} "
          f"{'peak RSS MiB':>13} {'done':>6} {'POSTs':>6} {'created':>8} {'duplicates':>10}")
    baseline = None
    for limit in limits:
        urls = ctx.Queue()
        stop = ctx.Event()
        server = ctx.Process(target=serve, args=(urls, stop, args.drop_rate), daemon=True)
        server.start()
        try:
            url, key = urls.get(timeout=30)
            with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
                result = pool.submit(run_client, url, key, args.n, limit).result()
            with urllib.request.urlopen(f"{url}/__stats", timeout=10) as answer:
                stats = json.load(answer)
        finally:
            stop.set()
            server.join(15)
        rate = args.n / result["wall"]
        baseline = baseline or rate
        print(f"{limit:>11} {result['wall']:>8.2f} {rate:>8.0f} {rate / baseline:>7.2f}x "
              f"{result['cpu_ms_per_job']:>18.2f} {result['rss_mib']:>13.1f} "
              f"{result['done']:>6} {stats['posts']:>6} {stats['creates']:>8} {stats['duplicates']:>10}")
        if result["failed"]:
            print(f"  {result['failed']} failed, e.g. {result['first_error']}")
        if stats["duplicates"]:
            raise SystemExit("duplicate jobs were created")


if __name__ == "__main__":
    main()
