"""`ltxkit seam --report` on two 10 s 1080p25 clips (issue 20): wall time, files opened, frames decoded.

Two wall times: the library call in a warm process, and the command as a user runs it (a fresh
``ltxkit`` process: start-up and imports included), against the issue's target of 1.5 s; beside
them ``python -c pass`` and ``ltxkit --help``, whose times show how loaded the machine is. A venv
whose packages have no bytecode (``uv sync`` without ``--compile-bytecode`` where PYTHONDONTWRITEBYTECODE
is set) compiles numpy & co. in every process: 0.8 s of imports instead of 0.35 s, which no user
installing with pip pays; the benchmark says so when numpy has no ``.pyc``.
The clips are :mod:`splice`'s (generated once into ``benchmarks/.cache/``). Run it on a checkout
before a change and after it to compare (the figures are side by side in the commit message):

    .venv/bin/python benchmarks/seam_report.py [REPEATS]
    PYTHONPATH=/path/to/other/checkout .venv/bin/python benchmarks/seam_report.py
"""

from __future__ import annotations

import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy
from splice import clip  # the same cached 1080p clips as the join benchmark

import ltxkit
from ltxkit.assembly.report import review_seam
from ltxkit.frames.readers import VideoReader

TARGET_SECONDS = 1.5  # issue 20: `ltxkit seam --report` at 1080p, end to end
CLI = [sys.executable, "-c", "import sys; from ltxkit.cli import main; sys.argv[0] = 'ltxkit'; sys.exit(main())"]


def _wall(command: list[str]) -> float:
    """Wall time of ``command`` as a fresh process (its output discarded)."""
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    a, b = clip(10, 1920, 1080, "A"), clip(10, 1920, 1080, "B")
    opened: Counter[str] = Counter()
    decoded: Counter[str] = Counter()
    real_open, real_pull = av.open, VideoReader._pull

    def counting_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        opened[Path(str(file)).name] += 1
        return real_open(file, *args, **kwargs)

    spans: dict[Path, list[int]] = {}  # first and last frame each clip's reader decoded

    def counting_pull(self: VideoReader) -> av.VideoFrame | None:
        frame = real_pull(self)
        decoded[self.path.name] += frame is not None
        if frame is not None:
            i = self._index(frame)
            seen = spans.setdefault(self.path, [i, i])
            seen[:] = [min(seen[0], i), max(seen[1], i)]
        return frame

    times, cpu = [], []
    with tempfile.TemporaryDirectory() as tmp:
        av.open, VideoReader._pull = counting_open, counting_pull  # type: ignore[assignment, method-assign]
        review_seam(a, b, overlap=5, sampled_fps=Fraction(25), report_dir=Path(tmp) / "counted")  # also warms up
        av.open, VideoReader._pull = real_open, real_pull  # type: ignore[method-assign]
        for n in range(repeats):
            started, started_cpu = time.perf_counter(), time.process_time()
            review_seam(a, b, overlap=5, sampled_fps=Fraction(25), report_dir=Path(tmp) / f"report-{n}")
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        floor, floor_cpu = [], []  # the same frames decoded and nothing else: what no review can go under
        for _ in range(repeats):
            started, started_cpu = time.perf_counter(), time.process_time()
            for path, (first, last) in spans.items():
                with VideoReader(path) as reader:
                    for _frame in reader.frames(first, last - first + 1):
                        pass
            floor.append(time.perf_counter() - started)
            floor_cpu.append(time.process_time() - started_cpu)
        seam = [*CLI, "seam", str(a), str(b), "--overlap", "5", "--sampled-fps", "25", "--report"]
        cli = [_wall([*seam, str(Path(tmp) / f"cli-{n}")]) for n in range(repeats)]
    bare = [_wall([sys.executable, "-c", "pass"]) for _ in range(repeats)]
    help_ = [_wall([*CLI, "--help"]) for _ in range(repeats)]
    print(f"seam --report, A and B 10 s 1920x1080 @ 25 fps, overlap 5 ({Path(ltxkit.__file__).parent.parent})")
    print(f"  library wall: median {statistics.median(times):.2f} s, best {min(times):.2f} s over {repeats} runs; "
          f"CPU (all threads) median {statistics.median(cpu):.2f} s (a shared machine's wall time is noisy)")
    print(f"  CLI `ltxkit seam A B --overlap 5 --sampled-fps 25 --report DIR`: median {statistics.median(cli):.2f} s, "
          f"best {min(cli):.2f} s (target {TARGET_SECONDS} s)")
    if not Path(importlib.util.cache_from_source(numpy.__file__)).exists():
        print("  NOTE: numpy has no bytecode here, so every CLI run compiles it: start-up is inflated (see the doc)")
    print(f"  load check: `ltxkit --help` median {statistics.median(help_):.2f} s, "
          f"`python -c pass` median {statistics.median(bare):.3f} s")
    print(f"  files opened: {sum(opened.values())} ({', '.join(f'{k} {v}' for k, v in sorted(opened.items()))})")
    print(f"  frames decoded: {sum(decoded.values())} "
          f"({', '.join(f'{k} {v}' for k, v in sorted(decoded.items()))}); decoding them alone: median "
          f"{statistics.median(floor):.2f} s wall, {statistics.median(floor_cpu):.2f} s CPU (the library call's floor)")


if __name__ == "__main__":
    main()
