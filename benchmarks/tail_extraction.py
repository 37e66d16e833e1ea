"""Tail extraction must cost the same on a 10-minute clip as on a 10-second one.

Generates (once, cached in ``benchmarks/.cache/``) a 10 s and a 10 min clip at 160x120, 25 fps, GOP 50,
then prints median times on each clip, with the ratios side by side: long/short (target ≤ 1.5) and a
plain full decode of the long clip over the tail extraction (target ≥ 50). Rows:

* ``probe``: what every extraction starts with (walks the container's sample index);
* ``read_tail N``: probe + seek + decode to the end + RGB: the frames in memory; ``(probe reused)``
  is N=3 with the clip's probe passed in, i.e. the seek and decode alone;
* ``extract_tail N``: the same plus writing N lossless WebP files and frames.json (the CLI's work).

Then ``extract_tail 25`` of a 1080p clip (:mod:`splice`'s cached one) with the WebP files encoded on
one thread and on ``ENCODE_THREADS`` (the files' bytes compared equal).

Last, when ``ffmpeg`` is on PATH, the command a user runs, ``ltxkit frames tail -n 25`` of that 1080p clip,
against ffmpeg's same-effort command (seek from the end, 25 frames, lossless libwebp at method 0 and
quality 25, the settings of ``tail.FORMATS``), both as processes, wall time side by side (target ≤ 1.0).

Run: ``.venv/bin/python benchmarks/tail_extraction.py [--runs 5]``
"""

from __future__ import annotations

import argparse
import functools
import itertools
import shutil
import statistics
import subprocess
import sys
import tempfile
import timeit
from collections.abc import Callable
from pathlib import Path

import av
from splice import clip as join_clip  # its cached 1080p clip

from ltxkit.frames import tail
from ltxkit.frames.probe import probe
from ltxkit.frames.synth import write_clip
from ltxkit.frames.tail import extract_tail, read_tail
from ltxkit.fsutil import atomic_path

CACHE = Path(__file__).resolve().parent / ".cache"
FPS, WIDTH, HEIGHT, GOP = 25, 160, 120, 50
CLIPS = {"10 s": 10, "10 min": 600}  # label -> seconds
COUNTS = (3, 25)


def clip_path(seconds: int) -> Path:
    """The cached clip, generated on first use (atomically, so an interrupted run leaves no bad cache)."""
    path = CACHE / f"tail-{seconds}s-{WIDTH}x{HEIGHT}-{FPS}fps-gop{GOP}.mp4"
    if not path.exists():
        print(f"generating {path.name} (once) ...", flush=True)
        with atomic_path(path) as tmp:
            write_clip(tmp, frames=seconds * FPS, fps=FPS, width=WIDTH, height=HEIGHT, bframes=2, gop=GOP)
    return path


def median_seconds(action: Callable[[], object], runs: int) -> float:
    return statistics.median(timeit.repeat(action, number=1, repeat=runs))


def full_decode(path: Path) -> int:
    """What a naive extractor does: decode every frame from the start to reach the end."""
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def extract_into(root: Path, count: int, path: Path) -> object:
    return extract_tail(path, count, root / path.stem)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per figure (median reported)")
    args = parser.parse_args()
    short, long = (clip_path(seconds) for seconds in CLIPS.values())

    probed = {path: probe(path) for path in (short, long)}

    def reused(path: Path) -> object:
        return read_tail(path, COUNTS[0], info=probed[path])

    with tempfile.TemporaryDirectory() as tmp:
        rows: dict[str, Callable[[Path], object]] = {"probe": probe}
        rows.update({f"read_tail N={n}": functools.partial(read_tail, count=n) for n in COUNTS})
        rows["  (probe reused)"] = reused
        rows.update({f"extract_tail N={n}": functools.partial(extract_into, Path(tmp), n) for n in COUNTS})
        figures = {}
        for name, action in rows.items():
            action(short), action(long)  # warm-up: page cache, imports, lazy codec set-up
            figures[name] = [median_seconds(functools.partial(action, path), args.runs) for path in (short, long)]
    full = median_seconds(lambda: full_decode(long), max(1, args.runs // 2))
    seek = read_tail(long, COUNTS[0]).seek

    print(f"\n{WIDTH}x{HEIGHT} {FPS} fps GOP {GOP}, median of {args.runs} runs; seek mode on the long clip: {seek}")
    print(f"{'':<18} {'10 s clip':>10} {'10 min clip':>12} {'long/short':>11} {'full/this':>10}")
    for name, (t_short, t_long) in figures.items():
        print(f"{name:<18} {t_short * 1000:>7.1f} ms {t_long * 1000:>9.1f} ms {t_long / t_short:>10.2f}x "
              f"{full / t_long:>9.0f}x")
    print(f"{'full decode':<18} {'':>10} {full * 1000:>9.0f} ms")
    print("targets: long/short <= 1.5, full/tail >= 50")
    hd_threads(args.runs)


def hd_threads(runs: int) -> None:
    """``extract_tail 25`` of a 1080p clip, its WebP files encoded on one thread and on ENCODE_THREADS."""
    hd, threads = join_clip(10, 1920, 1080, "A"), tail.ENCODE_THREADS
    timed = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in (1, threads):
            tail.ENCODE_THREADS = n
            dirs = (Path(tmp) / f"{n}-{k}" for k in itertools.count())
            timed[n] = median_seconds(lambda dirs=dirs: extract_tail(hd, 25, next(dirs)), runs)
        tail.ENCODE_THREADS = threads
        read = median_seconds(lambda: read_tail(hd, 25), runs)
        one, many = Path(tmp) / "1-0", Path(tmp) / f"{threads}-0"
        same = all((one / f.name).read_bytes() == f.read_bytes() for f in many.iterdir())
    print(f"1920x1080 extract_tail N=25: {timed[1] * 1000:.0f} ms on 1 thread, {timed[threads] * 1000:.0f} ms on "
          f"{threads} ({timed[1] / timed[threads]:.2f}x); files identical: {same}\n"
          f"  of which read_tail (seek, decode, RGB) {read * 1000:.0f} ms; writing the files "
          f"{(timed[1] - read) * 1000:.0f}"
          f" ms on 1 thread, {(timed[threads] - read) * 1000:.0f} ms on {threads} "
          f"({(timed[1] - read) / (timed[threads] - read):.2f}x)")
    if shutil.which("ffmpeg"):
        against_ffmpeg(hd, runs)


def against_ffmpeg(hd: Path, runs: int) -> None:
    """The CLI and ffmpeg's same-effort command as processes: both start, seek from the end and write 25 files."""
    ltxkit = Path(sys.executable).with_name("ltxkit")
    with tempfile.TemporaryDirectory() as tmp:
        dirs = (Path(tmp) / str(k) for k in itertools.count())

        def ours() -> None:
            subprocess.run([str(ltxkit), "frames", "tail", str(hd), "-n", "25", "-o", str(next(dirs))],
                           check=True, stdout=subprocess.DEVNULL)

        def theirs() -> None:
            out = next(dirs)
            out.mkdir()
            subprocess.run(["ffmpeg", "-v", "error", "-sseof", "-1", "-i", str(hd), "-frames:v", "25", "-an",
                            "-c:v", "libwebp", "-lossless", "1", "-compression_level", "0", "-quality", "25",
                            str(out / "%02d.webp")], check=True)
            if len(list(out.iterdir())) != 25:
                raise SystemExit(f"ffmpeg wrote {len(list(out.iterdir()))} files, not 25")

        ours(), theirs()  # warm-up
        t_ours, t_theirs = median_seconds(ours, runs), median_seconds(theirs, runs)
    print(f"1920x1080 last 25 frames to lossless WebP, as commands: ltxkit frames tail {t_ours * 1000:.0f} ms, "
          f"ffmpeg {t_theirs * 1000:.0f} ms ({t_ours / t_theirs:.2f}x; target <= 1.0)")

if __name__ == "__main__":
    main()
