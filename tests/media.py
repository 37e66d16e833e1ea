"""Test media several test files share: the lip-sync tone, clip A and its reference track, VFR clips."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import soundfile

from ltxkit.frames.synth import Tone, render_frame, write_clip

TONE = Tone(hz=330.0, amplitude=0.4)
RATE = 48000


def write_track(path: Path, samples: int, tone: Tone = TONE) -> Path:
    """A reference track: ``samples`` of ``tone`` at 48 kHz, stereo 16-bit PCM."""
    soundfile.write(path, tone.samples(0, samples, RATE, 2).T, RATE, subtype="PCM_16")
    return path


def write_clip_and_track(root: Path) -> dict[str, Path]:
    """Clip A (2 s at 25 fps, 160x96, frame codes, the tone) and a 5 s reference track of the same tone."""
    return {"clip": write_clip(root / "clip-a.mp4", frames=50, fps=25, width=160, height=96, tone=TONE),
            "track": write_track(root / "track.wav", 5 * RATE)}


def write_stamped(path: Path, times_ms: Sequence[int], width: int, height: int, **options: str) -> Path:
    """An h264 clip whose frame ``i`` (code ``i`` burned in) is stamped ``times_ms[i]`` ms: VFR as written,
    whatever rate the container claims (25). ``options`` are the encoder's (``bf``, ``g``, ``crf``…)."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        stream.options = {"preset": "veryfast", **options}
        for i, ms in enumerate(times_ms):
            frame = av.VideoFrame.from_ndarray(render_frame(i, width, height), format="rgb24")
            frame.pts, frame.time_base = ms, Fraction(1, 1000)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path
