"""A reference-audio window must cost the same from a one-hour track as from a 10-second one.

Generates (once, cached in ``benchmarks/.cache/``) mono 16-bit 48 kHz WAVs of 10 s and 1 h, and
audio-only MP4s with AAC of 10 s and 10 min, then prints the median time of ``audio_window`` for a
121-frame window (4.84 s at 25 fps, 8 overlap frames) ending 1 s before the end of each, with the long/short
ratios side by side (target: WAV ≤ 20 ms and flat; MP4 flat thanks to seeking), plus the MP4 figure
with seeking disabled to show what the seek saves.

Run: ``.venv/bin/python benchmarks/audio_window.py [--runs 7]``
"""

from __future__ import annotations

import argparse
import statistics
import timeit
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import soundfile as sf

from ltxkit.audio import AudioClip, audio_window
from ltxkit.audio import source as audio_source
from ltxkit.frames.synth import Tone
from ltxkit.fsutil import atomic_path

CACHE = Path(__file__).resolve().parent / ".cache"
RATE, FPS, OVERLAP, FRAMES = 48000, 25, 8, 121
CHUNK = 10 * RATE


def wav_path(seconds: int) -> Path:
    """Mono PCM_16 sawtooth, written in 10 s chunks so an hour never sits in memory."""
    path = CACHE / f"audio-{seconds}s-{RATE}-mono16.wav"
    if not path.exists():
        print(f"generating {path.name} (once) ...", flush=True)
        with atomic_path(path) as tmp, sf.SoundFile(tmp, "w", RATE, 1, "PCM_16", format="WAV") as out:
            for start in range(0, seconds * RATE, CHUNK):
                n = np.arange(start, min(start + CHUNK, seconds * RATE))
                out.write(((n % 480) * 64 - 15360).astype(np.int16))
    return path


def mp4_path(seconds: int) -> Path:
    """Stereo AAC in an audio-only MP4 (FFmpeg's encoder, edit list for its 1024-sample priming)."""
    path = CACHE / f"audio-{seconds}s-{RATE}-aac.mp4"
    if not path.exists():
        print(f"generating {path.name} (once) ...", flush=True)
        tone = Tone()
        with atomic_path(path) as tmp, av.open(str(tmp), "w", format="mp4") as out:
            stream = out.add_stream("aac", rate=RATE)
            stream.layout = "stereo"
            for start in range(0, seconds * RATE, 4096):
                count = min(4096, seconds * RATE - start)
                frame = av.AudioFrame.from_ndarray(tone.samples(start, count, RATE, 2), format="fltp",
                                                   layout="stereo")
                frame.sample_rate, frame.pts, frame.time_base = RATE, start, Fraction(1, RATE)
                out.mux(stream.encode(frame))
            out.mux(stream.encode(None))
    return path


def median_ms(action: Callable[[], object], runs: int) -> float:
    return statistics.median(timeit.repeat(action, number=1, repeat=runs)) * 1000


def window_near_end(path: Path, seconds: int) -> Callable[[], AudioClip]:
    """The window of a 121-frame clip whose audio ends 1 s before the end of the track."""
    cut = Fraction(seconds - 1) - Fraction(FRAMES - OVERLAP, FPS)
    return lambda: audio_window(path, cut, OVERLAP, FPS, frames=FRAMES)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per figure (median reported)")
    args = parser.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    cases = {"WAV": (wav_path, 10, 3600), "AAC/MP4": (mp4_path, 10, 600)}
    print(f"{FRAMES}-frame window at {FPS} fps ({FRAMES / FPS:.2f} s of {RATE} Hz audio), median of {args.runs}")
    print(f"{'source':<9} {'short':>7} {'ms':>8} {'long':>7} {'ms':>8} {'long/short':>11}")
    for label, (make, short, long) in cases.items():
        short_ms = median_ms(window_near_end(make(short), short), args.runs)
        long_ms = median_ms(window_near_end(make(long), long), args.runs)
        print(f"{label:<9} {short:>6}s {short_ms:>8.2f} {long:>6}s {long_ms:>8.2f} {long_ms / short_ms:>10.2f}x")
    clip = window_near_end(mp4_path(600), 600)()
    seek_ms = median_ms(window_near_end(mp4_path(600), 600), args.runs)
    audio_source.SEEK_MIN_SECONDS = Fraction(10**9)  # what decoding from the start would cost
    full_ms = median_ms(window_near_end(mp4_path(600), 600), max(1, args.runs // 3))
    print(f"AAC/MP4 600 s: seek {seek_ms:.2f} ms vs decode from the start {full_ms:.2f} ms "
          f"({full_ms / seek_ms:.1f}x); decoding began at sample {clip.decoded_from} "
          f"for a window starting at {clip.window.start_sample}")


if __name__ == "__main__":
    main()
