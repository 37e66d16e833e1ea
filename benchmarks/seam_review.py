"""Review-clip cost for a 10 s and a 10 min 1080p splice: the ±2 s cut must not grow with the file.

The two splice results are generated once into ``benchmarks/.cache/`` (git-ignored). Only the review
clip is measured, so the long file is made cheaply: a static 1080p picture with the frame code burned
into the luma plane, x264 ultrafast with a 10 s GOP, and a quiet AAC tone. Each file's seam sits 5 s
before its end (the worst place for a reader that decodes from the start).

    .venv/bin/python benchmarks/seam_review.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ltxkit.assembly.review import file_timeline, review_clip
from ltxkit.frames.probe import probe
from ltxkit.frames.synth import CODE_BITS, Tone, render_frame
from ltxkit.fsutil import atomic_path

CACHE = Path(__file__).resolve().parent / ".cache"
FPS = 25
WIDTH, HEIGHT = 1920, 1080
GOP = 250
RATE = 48000
REPEATS = 5


def _luma_code(y: np.ndarray, index: int) -> None:
    """The frame code of :func:`ltxkit.frames.synth.draw_frame_code`, written straight into luma."""
    band = max(2, HEIGHT // 8)
    for bit in range(CODE_BITS):
        x0, x1 = bit * WIDTH // CODE_BITS, (bit + 1) * WIDTH // CODE_BITS
        y[:band, x0:x1] = 235 if (index >> (CODE_BITS - 1 - bit)) & 1 else 16


def generate(seconds: int) -> Path:
    """A ``seconds``-long 1080p25 h264+AAC file, cached by its parameters."""
    path = CACHE / f"splice_{WIDTH}x{HEIGHT}_{FPS}fps_{seconds}s_gop{GOP}.mp4"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    frames = seconds * FPS
    base = av.VideoFrame.from_ndarray(render_frame(0, WIDTH, HEIGHT), format="rgb24").reformat(format="yuv420p")
    planes = base.to_ndarray()  # (H*3/2, W): Y then U, V
    tone = Tone(amplitude=0.1)
    started = time.perf_counter()
    with atomic_path(path) as tmp, av.open(str(tmp), "w", format="mp4") as out:
        vs = out.add_stream("libx264", rate=FPS)
        vs.width, vs.height, vs.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        vs.codec_context.gop_size = GOP
        vs.options = {"preset": "ultrafast", "crf": "28", "g": str(GOP), "keyint_min": str(GOP),
                      "sc_threshold": "0"}
        aus = out.add_stream("aac", rate=RATE)
        aus.layout = "stereo"
        for i in range(frames):
            _luma_code(planes[:HEIGHT], i)
            frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
            frame.pts, frame.time_base = i, Fraction(1, FPS)
            out.mux(vs.encode(frame))
            start, stop = i * RATE // FPS, (i + 1) * RATE // FPS  # 1920 samples a frame
            af = av.AudioFrame.from_ndarray(tone.samples(start, stop - start, RATE, 2), format="fltp",
                                            layout="stereo")
            af.sample_rate, af.pts, af.time_base = RATE, start, Fraction(1, RATE)
            out.mux(aus.encode(af))
        out.mux(vs.encode(None))
        out.mux(aus.encode(None))
    print(f"generated {path.name} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return path


def time_review(path: Path) -> tuple[float, float, int, int]:
    """Median and best wall time of cutting the ±2 s review clip around the seam 5 s before the end."""
    info = probe(path)
    cut = info.frame_count - 5 * FPS
    times = []
    frames = seeks = 0
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(REPEATS):
            started = time.perf_counter()
            result = review_clip(file_timeline(probe(path), audio=True), cut, Path(tmp) / "review.mp4")
            times.append(time.perf_counter() - started)
            frames, seeks = result.frame_count, result.seeks
    return statistics.median(times), min(times), frames, seeks


def main() -> None:
    short, long = generate(10), generate(600)
    t_short, b_short, f_short, s_short = time_review(short)
    t_long, b_long, f_long, s_long = time_review(long)
    print(f"review clip: ±2 s = {f_short} frames, 1080p in, 640 px h264+AAC out; {REPEATS} runs each")
    print(f"  10 s splice  : median {t_short:6.3f} s  best {b_short:6.3f} s  ({s_short} seeks)")
    print(f"  10 min splice: median {t_long:6.3f} s  best {b_long:6.3f} s  ({s_long} seeks, {f_long} frames)")
    print(f"  ratio 10 min / 10 s: median {t_long / t_short:.2f}, best {b_long / b_short:.2f}"
          "   (target: ≤ 1 s each and flat)")


if __name__ == "__main__":
    main()
