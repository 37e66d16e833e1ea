"""Test media several test files share: the lip-sync tone, clip A and its reference track, VFR clips."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import soundfile

from ltxkit.frames.synth import Tone, render_frame, write_clip

TONE = Tone(hz=330.0, amplitude=0.4)
RATE = 48000


def write_blank_png(path: Path, width: int, height: int) -> Path:
    """A complete, valid greyscale PNG of zeros, built in a blink at any size (Pillow deflates every byte of
    a 20000x20000 image: 3.6 s). Deflated in bands after a full flush, which resets the compressor, so
    every band after the first compresses to the same bytes: one band is deflated and repeated."""
    row = bytes(width + 1)  # filter byte 0, then the pixels
    rows = max(1, min(height, (1 << 22) // len(row)))
    deflate = zlib.compressobj(9)
    first = deflate.compress(row * rows) + deflate.flush(zlib.Z_FULL_FLUSH)
    again = deflate.compress(row * rows) + deflate.flush(zlib.Z_FULL_FLUSH)
    bands, rest = divmod(height, rows)
    tail = deflate.compress(row * rest) + deflate.flush()
    checksum = 1
    for _ in range(bands):
        checksum = zlib.adler32(row * rows, checksum)
    checksum = zlib.adler32(row * rest, checksum)
    stream = first + again * (bands - 1) + tail[:-4] + struct.pack(">I", checksum)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", stream) + chunk(b"IEND", b""))
    return path


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
