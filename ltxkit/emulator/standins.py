"""Small plausible outputs for the tasks the toolkit does not study (images, audio, annotation, 3D).

They exist so every example in the API document ends in a ``completed`` job with a real, downloadable
file of the right kind: an image of the requested size and ``outputFormat``, an MP3 of the requested
duration and bitrate, a lyric/timing JSON with the document's sections, a low-poly OBJ. Their inputs
(reference images, source audio) are *not* fetched: a stand-in does not need them, and the examples'
``cdn.example.com`` URLs do not exist.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ltxkit.frames.synth import Tone
from ltxkit.fsutil import atomic_path

IMAGE_FORMATS = {"webp": ("WEBP", "image/webp"), "png": ("PNG", "image/png"), "jpg": ("JPEG", "image/jpeg")}
AUDIO_RATE = 48000


def text_seed(text: str) -> int:
    """A stable seed from text (``hash`` is salted per process)."""
    return zlib.crc32(text.encode())


def write_image(path: Path, *, width: int, height: int, fmt: str, prompt: str) -> dict[str, Any]:
    """A seeded gradient with the prompt written on it, saved as ``fmt`` (webp, png or jpg)."""
    rng = np.random.default_rng(text_seed(prompt))
    a, b = rng.integers(40, 215, 3), rng.integers(40, 215, 3)
    ramp = (np.arange(width, dtype=np.float32) / max(width - 1, 1))[None, :, None]
    rgb = (a * (1 - ramp) + b * ramp).repeat(height, axis=0).astype(np.uint8)
    image = Image.fromarray(rgb)
    font = ImageFont.load_default(size=max(10, min(width, height) // 20))
    ImageDraw.Draw(image).multiline_text((8, 8), "\n".join(_wrap(prompt, 40)[:6]), fill=(255, 255, 255), font=font,
                                         stroke_width=2, stroke_fill=(0, 0, 0))
    pil_format, mime = IMAGE_FORMATS[fmt]
    with atomic_path(path) as part:
        image.save(part, format=pil_format)
    return {"name": path.name, "contentType": mime, "width": width, "height": height, "bytes": path.stat().st_size}


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def write_audio(path: Path, *, seconds: float, kbps: int, seed: int) -> dict[str, Any]:
    """An MP3 of exactly ``seconds`` (to the sample, before MP3 framing): a seeded three-note phrase."""
    total = round(seconds * AUDIO_RATE)
    notes = [Tone(hz=220.0 * 2 ** (((seed >> (4 * i)) % 12) / 12), amplitude=0.3) for i in range(3)]
    span = max(1, math.ceil(total / len(notes)))
    with atomic_path(path) as part, av.open(str(part), "w", format="mp3") as out:
        stream = out.add_stream("libmp3lame", rate=AUDIO_RATE, options={"compression_level": "9"})  # fastest
        stream.layout = "stereo"
        stream.bit_rate = kbps * 1000
        for start in range(0, total, 4608):
            count = min(4608, total - start)
            samples = notes[min(start // span, len(notes) - 1)].samples(start, count, AUDIO_RATE, 2)
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="stereo")
            frame.sample_rate, frame.pts, frame.time_base = AUDIO_RATE, start, Fraction(1, AUDIO_RATE)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return {"name": path.name, "contentType": "audio/mpeg", "durationSeconds": total / AUDIO_RATE,
            "sampleRate": AUDIO_RATE, "bitrateKbps": kbps, "bytes": path.stat().st_size}


def write_annotation(path: Path, *, transcript: str | None, seconds: float, language: str) -> dict[str, Any]:
    """Lyrics, evenly spread word timings, ``[Section]`` spans and a 120 BPM beat grid as JSON."""
    lines = [line.strip() for line in (transcript or "").splitlines() if line.strip()]
    lyric_lines = [line for line in lines if not re.fullmatch(r"\[.*\]", line)]
    words = [w for line in lyric_lines for w in line.split()]
    step = seconds / max(len(words), 1)
    sections: list[dict[str, Any]] = []
    position = 0
    for line in lines:
        if re.fullmatch(r"\[.*\]", line):
            if sections:
                sections[-1]["end"] = round(position * step, 3)
            sections.append({"label": line[1:-1], "start": round(position * step, 3), "end": None})
        else:
            position += len(line.split())
    if sections:
        sections[-1]["end"] = round(seconds, 3)
    document = {
        "emulated": True,
        "language": language,
        "durationSeconds": seconds,
        "lyrics": lyric_lines,
        "words": [{"word": w, "start": round(i * step, 3), "end": round((i + 1) * step, 3)}
                  for i, w in enumerate(words)],
        "sections": sections,
        "beats": [round(i * 0.5, 3) for i in range(int(seconds / 0.5) + 1)],
        "qa": {"transcriptProvided": bool(lines), "anchoredWords": len(words), "note": "emulator stand-in"},
    }
    with atomic_path(path) as part:
        part.write_text(json.dumps(document, indent=2))
    return {"name": path.name, "contentType": "application/json", "bytes": path.stat().st_size}


def write_mesh(path: Path) -> dict[str, Any]:
    """A low-poly octahedron as Wavefront OBJ text."""
    vertices = [(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)]
    faces = [(1, 3, 5), (3, 2, 5), (2, 4, 5), (4, 1, 5), (3, 1, 6), (2, 3, 6), (4, 2, 6), (1, 4, 6)]
    text = "# ltxkit emulator stand-in mesh\no standin\n"
    text += "".join(f"v {x} {y} {z}\n" for x, y, z in vertices)
    text += "".join(f"f {a} {b} {c}\n" for a, b, c in faces)
    with atomic_path(path) as part:
        part.write_text(text)
    return {"name": path.name, "contentType": "model/obj", "faces": len(faces), "bytes": path.stat().st_size}
