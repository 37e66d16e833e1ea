"""Synthetic media with a machine-readable frame number in every frame.

Used by the demo, the emulator's stand-in generator, tests and benchmarks: a top band of 16 black/white
blocks encodes the frame index in binary, large enough to survive h264, so any decoded frame can say
which source frame it is. Audio is a sine tone with an optional silent lead-in (a known onset).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ltxkit.fsutil import atomic_path

CODE_BITS = 16
# x264 options that make an encode a function of its input alone: with macroblock-tree ratecontrol on,
# x264's AVX-512 code reads uninitialised memory when the width is not a multiple of 256 px, so the same
# frames came out with other bits (and pixels) from one run to the next.
X264_REPRODUCIBLE = {"mbtree": "0"}
# Up to about VGA, x264's frame threads cost more CPU than one thread (100 frames at 320x240: 0.48 against
# 0.34 s of CPU, the same wall time; at 640x360 on idle cores one thread takes 1.03-1.33 s of wall time
# against 0.99-1.05 s); the suite and the emulator make many such clips, side by side on busy cores.
ONE_THREAD_PIXELS = 640 * 480
_CODE_BAND = 8  # the code band is 1/8 of the frame height


def draw_frame_code(rgb: np.ndarray, index: int) -> None:
    """Write ``index`` (0..65535) into the top band of an RGB frame, in place."""
    h, w, _ = rgb.shape
    band = max(2, h // _CODE_BAND)
    for bit in range(CODE_BITS):
        x0, x1 = bit * w // CODE_BITS, (bit + 1) * w // CODE_BITS
        rgb[:band, x0:x1] = 235 if (index >> (CODE_BITS - 1 - bit)) & 1 else 16


def read_frame_code(rgb: np.ndarray) -> int:
    """Read back the frame index drawn by :func:`draw_frame_code` (block centres, thresholded)."""
    h, w, _ = rgb.shape
    band = max(2, h // _CODE_BAND)
    value = 0
    for bit in range(CODE_BITS):
        x0, x1 = bit * w // CODE_BITS, (bit + 1) * w // CODE_BITS
        cx0, cx1 = x0 + (x1 - x0) // 4, x1 - (x1 - x0) // 4
        block = rgb[band // 4 : band - band // 4, cx0 : max(cx1, cx0 + 1)]
        value = (value << 1) | int(block.mean() > 125)
    return value


def render_frame(index: int, width: int, height: int, *, label: str = "", seed: int = 0) -> np.ndarray:
    """One synthetic RGB frame: a moving colour gradient, the frame code and a readable label."""
    # each channel varies along x, y or x + y only: computed once along that line and broadcast (the
    # same float32 values as on the whole grid, at a fraction of the sines)
    x, y = np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32)
    phase = index * 0.08 + seed * 0.7
    r = 128 + 90 * np.sin(x / max(width, 1) * 6.28 + phase)
    g = 128 + 90 * np.sin(y / max(height, 1) * 6.28 - phase * 0.7)
    b = 128 + 60 * np.cos(np.arange(width + height - 1, dtype=np.float32) / max(width + height, 1) * 6.28
                          + phase * 0.5 + seed)
    rgb = np.empty((height, width, 3), np.uint8)
    rgb[..., 0] = r.clip(0, 255).astype(np.uint8)[None, :]
    rgb[..., 1] = g.clip(0, 255).astype(np.uint8)[:, None]
    rgb[..., 2] = b.clip(0, 255).astype(np.uint8)[np.add.outer(np.arange(height), np.arange(width))]
    draw_frame_code(rgb, index)
    if height >= 48:
        image = Image.fromarray(rgb)
        draw = ImageDraw.Draw(image)
        draw.text((4, height // _CODE_BAND + 4), f"{label}{index}", fill=(255, 255, 255),
                  font=_font(max(10, height // 10)), stroke_width=2, stroke_fill=(0, 0, 0))
        rgb = np.asarray(image)
    return rgb


@functools.cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's default font at ``size``, loaded once (loading it cost more than drawing with it)."""
    return ImageFont.load_default(size=size)


@dataclass(frozen=True)
class Tone:
    """A sine tone; silent before ``onset`` seconds, so the onset is a known instant."""

    hz: float = 440.0
    amplitude: float = 0.5
    onset: Fraction = Fraction(0)

    def samples(self, start: int, count: int, rate: int, channels: int) -> np.ndarray:
        """Float32 planar samples ``[channels, count]`` for absolute sample indices start..start+count."""
        n = np.arange(start, start + count, dtype=np.float64)
        wave = self.amplitude * np.sin(2 * np.pi * self.hz * n / rate)
        wave[n < int(self.onset * rate)] = 0.0
        return np.repeat(wave[None, :].astype(np.float32), channels, axis=0)


def write_clip(
    path: Path,
    *,
    frames: int,
    fps: Fraction | int,
    width: int = 320,
    height: int = 240,
    codec: str = "libx264",
    bframes: int = 2,
    gop: int = 25,
    tone: Tone | None = None,
    sample_rate: int = 48000,
    channels: int = 2,
    label: str = "",
    seed: int = 0,
    render: Iterator[np.ndarray] | None = None,
) -> Path:
    """Encode a synthetic clip (frame code burned in) with optional AAC tone covering the same time.

    ``render`` replaces the built-in frames (used by the emulator to encode its own frames).
    """
    fps = Fraction(fps)
    with atomic_path(Path(path)) as tmp, av.open(str(tmp), "w") as out:
        vs = out.add_stream(codec, rate=fps)
        assert isinstance(vs, av.VideoStream)
        vs.width, vs.height = width, height
        vs.pix_fmt = "yuv420p"
        vs.codec_context.time_base = 1 / fps
        if codec == "libx264":
            vs.codec_context.gop_size = gop
            vs.options = {"crf": "16", "bf": str(bframes), "preset": "veryfast", **X264_REPRODUCIBLE,
                          **({"threads": "1"} if width * height <= ONE_THREAD_PIXELS else {})}
        aus: av.AudioStream | None = None
        if tone is not None:
            aus = out.add_stream("aac", rate=sample_rate)
            assert isinstance(aus, av.AudioStream)
            aus.layout = "stereo" if channels == 2 else "mono"
        source = render if render is not None else (
            render_frame(i, width, height, label=label, seed=seed) for i in range(frames)
        )
        for i, rgb in enumerate(source):
            if i >= frames:
                break
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            frame.time_base = vs.codec_context.time_base
            out.mux(vs.encode(frame))
        out.mux(vs.encode(None))
        if aus is not None and tone is not None:
            total = int(Fraction(frames) / fps * sample_rate)
            chunk = 1024
            for start in range(0, total, chunk):
                count = min(chunk, total - start)
                af = av.AudioFrame.from_ndarray(
                    tone.samples(start, count, sample_rate, channels), format="fltp",
                    layout="stereo" if channels == 2 else "mono",
                )
                af.sample_rate = sample_rate
                af.pts = start
                af.time_base = Fraction(1, sample_rate)
                out.mux(aus.encode(af))
            out.mux(aus.encode(None))
    return path
