"""Smart vs full render of a trim-b join after a 10 s and after a 10 min A: smart must not grow with A.

Clips are synthetic (frame code burned in, x264 veryfast, 2 s GOP, AAC tone), generated once into
``benchmarks/.cache/`` (git-ignored). B is 10 s; its first 5 frames are the overlap. For each A the
join is rendered smart (video GOPs and A's AAC packets copied), smart without audio, full (every frame
re-encoded) and, when ``ffmpeg`` is on PATH, by ffmpeg's own re-encode of the same join; the copied
part of A is checked bit-identical to a decode of A (the first and last copied GOP, and every copied
AAC packet byte for byte). Wall and CPU time are printed side by side (CPU is what a shared machine
distorts least), and the smart render's peak memory, which must not grow with A either.

    .venv/bin/python benchmarks/splice.py [LONG_SECONDS [WIDTHxHEIGHT]]   # 600, 320x180; + 1080p 10 s
    .venv/bin/python benchmarks/splice.py 600 1920x1080   # the long A tiled from the 10 s one (see tiled)
"""

from __future__ import annotations

import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ltxkit.frames.concat import plan_concat
from ltxkit.frames.probe import probe
from ltxkit.frames.readers import VideoReader
from ltxkit.frames.render import render
from ltxkit.frames.smart import SmartRenderResult, smart_render
from ltxkit.frames.synth import Tone, write_clip
from ltxkit.frames.timeline import Timeline

CACHE = Path(__file__).resolve().parent / ".cache"
FPS = 25
GOP = 50
OVERLAP = 5
REPEAT = 3  # smart renders timed (median); the full render once


def clip(seconds: int, width: int, height: int, label: str) -> Path:
    path = CACHE / f"join_{label}_{width}x{height}_{seconds}s_gop{GOP}.mp4"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        write_clip(path.with_suffix(".part.mp4"), frames=seconds * FPS, fps=FPS, width=width, height=height,
                   gop=GOP, tone=Tone(amplitude=0.1), label=label)
        path.with_suffix(".part.mp4").rename(path)
        print(f"generated {path.name} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return path


def tiled(seconds: int, width: int, height: int) -> Path:
    """A long A of the 10 s A's own encoding without hours of encoding: its video packets repeated (each
    10 s starts on an IDR), with the sound of the small long A (the same tone and AAC encoder)."""
    path = CACHE / f"join_A_{width}x{height}_{seconds}s_gop{GOP}_tiled.mp4"
    if path.exists():
        return path
    unit, sound = clip(10, width, height, "A"), clip(seconds, 320, 180, "A")
    with av.open(str(unit)) as v, av.open(str(sound)) as s, av.open(str(path.with_suffix(".part.mp4")), "w") as out:
        vs, aus = out.add_stream_from_template(v.streams.video[0]), out.add_stream_from_template(s.streams.audio[0])
        video = [p for p in v.demux(video=0) if p.size]
        audio = (p for p in s.demux(audio=0) if p.size)
        step = round(10 / v.streams.video[0].time_base)
        held = next(audio, None)
        for k in range(seconds // 10):
            for p in video:
                copy = av.Packet(bytes(p))
                copy.pts, copy.dts, copy.is_keyframe = p.pts + k * step, p.dts + k * step, p.is_keyframe
                copy.time_base, copy.duration, copy.stream = p.time_base, p.duration, vs
                out.mux(copy)
            while held is not None and held.pts * held.time_base < 10 * (k + 1):
                held.stream = aus
                out.mux(held)
                held = next(audio, None)
    path.with_suffix(".part.mp4").rename(path)
    return path


def _cpu() -> float:
    """CPU seconds of this process (every thread: x264's too) and of the children it waited for (ffmpeg)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(run: Callable[[], object], repeat: int = 1) -> tuple[float, float]:
    """Median wall and CPU time of ``repeat`` runs (the machine is shared: one run is noise, and CPU time
    is what a busy machine distorts least)."""
    walls, cpus = [], []
    for _ in range(repeat):
        started, cpu = time.perf_counter(), _cpu()
        run()
        walls.append(time.perf_counter() - started)
        cpus.append(_cpu() - cpu)
    return statistics.median(walls), statistics.median(cpus)


_PEAK = """
import sys
from fractions import Fraction
from pathlib import Path
from ltxkit.frames.concat import plan_concat
from ltxkit.frames.probe import probe
from ltxkit.frames.smart import smart_render
a, b, out, overlap = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), Fraction(sys.argv[4])
smart_render(plan_concat([probe(a), probe(b)], [Fraction(0), overlap], audio=True).timeline, out)
print(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")))
"""


def peak_mib(a: Path, b: Path, out: Path) -> float:
    """Peak resident memory of one smart render in a fresh interpreter, as it reports it (VmHWM): a
    child's ``ru_maxrss`` starts at what its parent held when it forked, and this process holds more
    (the decoded frames of the checks): it put 432 MiB down as 551, and 82-86 MiB as 99-127."""
    run = subprocess.run([sys.executable, "-c", _PEAK, str(a), str(b), str(out), f"{OVERLAP}/{FPS}"],
                         check=True, capture_output=True, text=True)
    return int(run.stdout.split()[-1]) / 1024  # kB


def ffmpeg_join(a: Path, b: Path, out: Path) -> None:
    graph = (f"[1:v]trim=start_frame={OVERLAP},setpts=PTS-STARTPTS[bv];"
             f"[1:a]atrim=start={OVERLAP / FPS},asetpts=PTS-STARTPTS[ba];[0:v][0:a][bv][ba]concat=n=2:v=1:a=1")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(a), "-i", str(b), "-filter_complex", graph,
                    "-c:v", "libx264", "-crf", "18", "-preset", "fast", "-c:a", "aac", str(out)], check=True)


def frames_at(path: Path, indices: set[int]) -> dict[int, np.ndarray]:
    """The decoded yuv planes of frames ``indices``, each read by seeking (a 10-min 1080p A is not decoded)."""
    with VideoReader(path) as reader:
        return {i: next(iter(reader.frames(i, 1))).to_ndarray() for i in sorted(indices)}


def audio_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as c:
        return [bytes(p) for p in c.demux(audio=0) if p.size]


def measure(a: Path, b: Path, tmp: Path, full: bool = True) -> tuple[dict[str, tuple[float, float]], float]:
    """Wall and CPU time of each way to make the join, and the smart render's peak memory (MiB)."""
    tl = plan_concat([probe(a), probe(b)], [Fraction(0), Fraction(OVERLAP, FPS)], audio=True).timeline
    silent = Timeline(tl.fps, tl.width, tl.height, tl.video)
    results: list[SmartRenderResult] = []
    times = {"smart": timed(lambda: results.append(smart_render(tl, tmp / "smart.mp4")), REPEAT),
             "smart, no audio": timed(lambda: smart_render(silent, tmp / "silent.mp4"), REPEAT)}
    if full:  # a 10-min 1080p A re-encoded takes ~500 s either way: only smart is timed there
        times["full"] = timed(lambda: render(tl, tmp / "full.mp4"))
    if full and shutil.which("ffmpeg"):
        times["ffmpeg re-encode"] = timed(lambda: ffmpeg_join(a, b, tmp / "ffmpeg.mp4"))
    n = probe(a).frame_count
    check = {0, GOP - 1, n - GOP, n - 1}
    ours, theirs = frames_at(tmp / "smart.mp4", check), frames_at(a, check)
    if not all(np.array_equal(ours[i], theirs[i]) for i in check):
        raise SystemExit(f"{a.name}: the copied frames are not bit-identical")
    sound = results[0].sound or {}
    copied = sound.get("copied_packets", 0)
    if not copied or audio_packets(tmp / "smart.mp4")[:copied] != audio_packets(a)[:copied]:
        raise SystemExit(f"{a.name}: its sound was not copied bit-identical ({sound})")
    print(f"{a.name}: {results[0].copied_frames} frames and {copied} AAC packets copied, bit-identical",
          file=sys.stderr)
    return times, peak_mib(a, b, tmp / "peak.mp4")


def main() -> None:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 600
    width, height = (int(n) for n in (sys.argv[2] if len(sys.argv) > 2 else "320x180").split("x"))
    small = width * height <= 320 * 180  # larger long As are tiled from the 10 s A (encoding one takes hours)
    b = clip(10, width, height, "B")
    label = f"A {seconds // 60} min" if seconds % 60 == 0 else f"A {seconds} s"
    with tempfile.TemporaryDirectory() as tmp:
        short, short_mib = measure(clip(10, width, height, "A"), b, Path(tmp))
        long_a = clip(seconds, width, height, "A") if small else tiled(seconds, width, height)
        long, long_mib = measure(long_a, b, Path(tmp), full=small and seconds <= 600)
        print(f"trim-b join, B 10 s, {width}x{height} @ {FPS} fps, GOP {GOP}{'' if small else ', long A tiled'}; "
              "copied A frames and sound bit-identical")
        for kind, t in (("wall", 0), ("CPU", 1)):
            print(f"  {kind:18}{'A 10 s':>10}{label:>10}{'long/10s':>11}")
            for key in short:  # a long 1080p A is timed smart only
                row = f"{long[key][t]:9.2f}s{long[key][t] / short[key][t]:10.2f}×" if key in long else ""
                print(f"  {key:18}{short[key][t]:9.2f}s{row}")
            for key in short:
                if key != "smart":
                    longer = f", {long['smart'][t] / long[key][t]:.3f}× ({label})" if key in long else ""
                    print(f"  smart / {key}: {short['smart'][t] / short[key][t]:.2f}× (10 s){longer}")
        print(f"  smart peak memory: {short_mib:.0f} MiB (A 10 s), {long_mib:.0f} MiB ({label})")
        if small:
            hd, hd_mib = measure(clip(10, 1920, 1080, "A"), clip(10, 1920, 1080, "B"), Path(tmp))
            print("1080p, A 10 s, B 10 s: " + ", ".join(f"{k} {v[0]:.2f} s ({v[1]:.2f} s CPU)" for k, v in hd.items())
                  + f"; smart peak memory {hd_mib:.0f} MiB")


if __name__ == "__main__":
    main()
