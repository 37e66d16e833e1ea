"""The emulator's stand-in for LTX ``video.generate``: a real MP4 with the right frames, fps and audio.

What a client can rely on (and what the tests check):

* **Size**: ``width``×``height`` when given; else ``aspectRatio`` (``"W:H"``) scaled to about the area
  of the default; else :data:`DEFAULT_SIZE` (768x512). Every side is a multiple of 32. Input images of
  another size are resized (Lanczos) to it.
* **Frames**: ``durationFrames`` sampled frames at ``sampledFps``. With ``interpolationFps`` > 0 the
  output is at ``interpolationFps``; frame 0 is sampled frame 0 and output frame j sits at ``j /
  interpolationFps``, blended linearly from the two sampled frames around it. How many frames that makes
  is the interpolation *convention* (:func:`ltxkit.timing.interpolated_frame_count`; the document does
  not say): by default ``2F-1``, RIFE's fill-between (the last frame is the last sample: 30 → 60 fps
  gives ``2F - 1`` frames, 25 → 60 ``floor((F-1)·2.4) + 1``); ``EmulatorConfig(interpolation=...)``,
  ``ltxkit serve --interpolation`` or the per-request fault ``interp-2F`` / ``interp-2F+1`` switch to
  duration-keeping ``2F`` or ffmpeg-style ``2F+1`` (copies of the last sample at the end).
* **Anchors**: the sampled frames start with the given images, exactly: the start frame (if any)
  then the overlap frames, oldest first. Encoding is h264 yuv420p at a low CRF, so a lossless source
  comes back near-identical (PSNR well above 40 dB).
* **Continuation**: deterministic from ``seed`` (0 when absent): the last anchor (or a seeded gradient
  for text-to-video) pans steadily sideways (1 px a frame per 320 px of width) with a colour grade
  that drifts slowly away from the anchor's (no step at the first new frame), with the prompt and
  the sampled frame number written at the bottom and the frame code (:func:`ltxkit.frames.synth.draw_frame_code`)
  burned into the top band. The code of sampled frame ``k`` is ``base + k``, where ``base`` is the
  code of the first anchor when the anchors carry a clean, consecutive code band (e.g. they were cut
  from an emulator or synthetic clip), else 0: chained extensions therefore number their frames
  continuously, and a splice that fails to trim the overlap shows up as a repeated code.
  With a final frame, the last quarter cross-fades to it and the last sampled frame *is* it.
  Interpolated frames that fall between sampled frames carry the code of the nearest sampled frame.
* **Audio**: AAC 48 kHz stereo lasting exactly the video's duration (to the sample, before AAC
  framing): the reference audio resampled, trimmed or padded with silence; else a seeded sine tone.
* **Defects** (off by default): with the emulator's defect model some seeds' clips come back with a
  white-balance shift, an exposure step, a flash, a freeze, a skipped frame or a quieter sound from
  the first new frame (:mod:`ltxkit.emulator.defects`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ltxkit.api_schema import DEFAULT_SAMPLED_FPS
from ltxkit.emulator.defects import Defect
from ltxkit.errors import MediaError
from ltxkit.frames.convert import reformat
from ltxkit.frames.defects import changes_picture, graded, source_index
from ltxkit.frames.synth import CODE_BITS, X264_REPRODUCIBLE, Tone, draw_frame_code
from ltxkit.fsutil import atomic_path
from ltxkit.timing import (
    format_fps,
    frame_to_sample,
    interpolated_frame_count,
    parse_fps,
    round_half_up,
    seconds_to_sample,
)

DEFAULT_SIZE = (768, 512)
SAMPLE_RATE = 48000
CHANNELS = 2
DEFAULT_CRF = 16
_CODE_BAND = 8  # as in ltxkit.frames.synth: the code band is the top 1/8 of the frame


@dataclass(frozen=True)
class VideoPlan:
    """Everything about the output clip that follows from the effective input alone."""

    width: int
    height: int
    sampled_fps: Fraction
    sampled_frames: int
    output_fps: Fraction
    output_frames: int
    seed: int
    prompt: str

    @property
    def duration(self) -> Fraction:
        return Fraction(self.output_frames) / self.output_fps

    @property
    def audio_samples(self) -> int:
        return seconds_to_sample(self.duration, SAMPLE_RATE)


def resolve_size(inp: dict[str, Any]) -> tuple[int, int, str | None]:
    """Output canvas for a validated input, plus an adjustment note when the emulator chose it."""
    if inp.get("width") is not None and inp.get("height") is not None:
        return int(inp["width"]), int(inp["height"]), None
    area = DEFAULT_SIZE[0] * DEFAULT_SIZE[1]
    ratio = inp.get("aspectRatio")
    if isinstance(ratio, str) and (m := re.fullmatch(r"\s*(\d+)\s*:\s*(\d+)\s*", ratio)):
        aspect = int(m.group(1)) / int(m.group(2))
        width = max(32, round(math.sqrt(area * aspect) / 32) * 32)
        height = max(32, round(math.sqrt(area / aspect) / 32) * 32)
        return width, height, f"aspectRatio={ratio}: width={width}, height={height} (emulator default area)"
    width, height = DEFAULT_SIZE
    return width, height, f"no width/height: using {width}x{height} (emulator default)"


def plan_video(inp: dict[str, Any], convention: str = "2F-1") -> VideoPlan:
    """Output geometry and timing of a validated, size-resolved ``video.generate`` input."""
    sampled = parse_fps(inp.get("sampledFps", DEFAULT_SAMPLED_FPS), name="sampledFps")
    frames = int(inp["durationFrames"])
    interp = inp.get("interpolationFps") or 0
    if interp:
        out_fps = parse_fps(interp, name="interpolationFps")
        out_frames = frames if out_fps == sampled else interpolated_frame_count(frames, sampled, out_fps, convention)
    else:
        out_fps, out_frames = sampled, frames
    seed = inp.get("seed")
    return VideoPlan(width=int(inp["width"]), height=int(inp["height"]), sampled_fps=sampled, sampled_frames=frames,
                     output_fps=out_fps, output_frames=out_frames, seed=seed if isinstance(seed, int) else 0,
                     prompt=str(inp.get("prompt", "")))


def load_image(path: Path, width: int, height: int) -> tuple[np.ndarray, str | None]:
    """Decode an image file to RGB at ``width``×``height``; the note says if it had to be resized."""
    try:
        with Image.open(path) as image:
            rgb = image.convert("RGB")
    except OSError as exc:
        raise MediaError(f"cannot decode image {path.name}: {exc}") from exc
    if rgb.size == (width, height):
        return np.asarray(rgb), None
    note = f"{path.name}: {rgb.size[0]}x{rgb.size[1]} resized to {width}x{height}"
    return np.asarray(rgb.resize((width, height), Image.Resampling.LANCZOS)), note


def load_audio(path: Path) -> np.ndarray:
    """Decode the first audio stream of a file to float32 ``[2, n]`` at 48 kHz.

    Mono is copied to both channels at its own level (FFmpeg's mono→stereo upmix would lower it by
    3 dB); anything wider is downmixed to stereo by FFmpeg.
    """
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise MediaError(f"{path.name} has no audio stream")
            stream = container.streams.audio[0]
            mono = stream.codec_context.channels == 1
            resampler = av.AudioResampler(format="fltp", layout="mono" if mono else "stereo", rate=SAMPLE_RATE)
            chunks = [out.to_ndarray() for frame in container.decode(stream) for out in resampler.resample(frame)]
            chunks += [out.to_ndarray() for out in resampler.resample(None)]
    except av.error.FFmpegError as exc:
        raise MediaError(f"cannot decode audio {path.name}: {exc}") from exc
    samples = np.concatenate(chunks, axis=1).astype(np.float32) if chunks else np.zeros((1, 0), np.float32)
    return np.repeat(samples, CHANNELS, axis=0) if samples.shape[0] == 1 else samples


def fit_audio(samples: np.ndarray, count: int) -> np.ndarray:
    """Exactly ``count`` samples: trimmed, or padded with silence at the end."""
    if samples.shape[1] >= count:
        return samples[:, :count]
    return np.pad(samples, ((0, 0), (0, count - samples.shape[1])))


def _clean_code(rgb: np.ndarray) -> int | None:
    """The frame code of ``rgb`` if its code band is clean black/white blocks, else ``None``."""
    h, w, _ = rgb.shape
    band = max(2, h // _CODE_BAND)
    value = 0
    for bit in range(CODE_BITS):
        x0, x1 = bit * w // CODE_BITS, (bit + 1) * w // CODE_BITS
        block = rgb[band // 4: band - band // 4, x0 + (x1 - x0) // 4: max(x1 - (x1 - x0) // 4, x0 + 1)]
        lo, hi = int(block.min()), int(block.max())
        if hi <= 60:
            value <<= 1
        elif lo >= 190:
            value = (value << 1) | 1
        else:
            return None
    return value


def anchor_code_base(anchors: Sequence[np.ndarray]) -> int:
    """Code of the first anchor when every anchor carries a clean, consecutive code; else 0."""
    codes = [_clean_code(a) for a in anchors]
    if not codes or codes[0] is None or any(c != codes[0] + i for i, c in enumerate(codes)):
        return 0
    return codes[0]


def _backdrop(width: int, height: int, seed: int) -> np.ndarray:
    """Seeded smooth gradient: the text-to-video starting picture."""
    rng = np.random.default_rng(seed)
    fx, fy, phase = rng.uniform(1.0, 3.0), rng.uniform(1.0, 3.0), rng.uniform(0, 2 * math.pi, 3)
    u = (np.arange(width, dtype=np.float32) / width)[None, :]
    v = (np.arange(height, dtype=np.float32) / height)[:, None]
    rgb = np.empty((height, width, 3), np.uint8)
    rgb[..., 0] = 128 + 80 * np.sin(2 * np.pi * fx * u + phase[0])
    rgb[..., 1] = 128 + 80 * np.sin(2 * np.pi * fy * v + phase[1])
    rgb[..., 2] = 128 + 70 * np.cos(2 * np.pi * (u + v) + phase[2])
    return rgb


def to_yuv(rgb: np.ndarray) -> np.ndarray:
    """RGB → planar yuv420p as one ``(h·3/2, w)`` array (PyAV's layout), by the encoder's own swscale."""
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
    return np.ascontiguousarray(reformat(frame, frame.width, frame.height, "yuv420p").to_ndarray())


def yuv_planes(frame: np.ndarray, height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Views of the Y, U and V planes of a yuv420p array (U and V are half size each way)."""
    width = frame.shape[1]
    chroma = frame[height:].reshape(2, height // 2, width // 2)
    return frame[:height], chroma[0], chroma[1]


class SampledFrames:
    """The clip at the sampled rate: anchors first, then the seeded continuation, frame by frame.

    Frames are yuv420p arrays: the continuation is rendered straight in the encoder's format (a pan
    is a roll of each plane, the colour drift an offset of the chroma planes, text and frame code are
    luma-only), which keeps a 1080p clip at a few milliseconds a frame.
    """

    def __init__(self, plan: VideoPlan, anchors: Sequence[np.ndarray], final: np.ndarray | None,
                 defect: Defect | None = None) -> None:
        self.plan = plan
        self.defect = defect
        self.code_base = anchor_code_base(anchors)
        self.anchors = [to_yuv(a) for a in anchors]
        self.final = None if final is None else to_yuv(final)
        self._base = self.anchors[-1] if self.anchors else to_yuv(_backdrop(plan.width, plan.height, plan.seed))
        rng = np.random.default_rng(plan.seed)
        # a steady horizontal pan of whole pixels a frame (the half-size chroma follows to the nearest
        # pixel): an uneven step would read as a skipped or repeated frame, a change of speed as a jump
        self._pan = max(1, round(plan.width / 320)) * (1 if rng.uniform() < 0.5 else -1)
        self._phases = rng.uniform(0, 2 * math.pi, 2)
        self._period = float(rng.uniform(3.0, 6.0) * plan.sampled_fps)  # colour cycle, in sampled frames
        self._fade_start = plan.sampled_frames - max(2, plan.sampled_frames // 4)
        self._strip = max(12, plan.height // 12)
        self._font = ImageFont.load_default(size=max(8, self._strip * 3 // 4))
        self._label = " ".join(plan.prompt.split())[:60]
        self._label_masks: tuple[np.ndarray, np.ndarray, int] | None = None

    def code(self, k: int) -> int:
        return (self.code_base + k) % (1 << CODE_BITS)

    def __getitem__(self, k: int) -> np.ndarray:
        """Sampled frame ``k``; with a picture defect, as :mod:`ltxkit.frames.defects` draws it from the
        first new frame (in RGB: these are the few frames of a defective candidate)."""
        d = self.defect
        if d is None or not d.draw:
            return self._render(k)
        start = len(self.anchors) + d.start_offset
        frame = self._render(source_index(d.draw, k, start, d.size, self.plan.sampled_frames))
        if not changes_picture(d.draw, k, start):
            return frame
        rgb = av.VideoFrame.from_ndarray(frame, format="yuv420p").to_ndarray(format="rgb24")
        return to_yuv(graded(rgb, d.draw, k, start, d.size))

    def _render(self, k: int) -> np.ndarray:
        if k < len(self.anchors):
            return self.anchors[k]
        if self.final is not None and k == self.plan.sampled_frames - 1:
            return self.final
        step = k - len(self.anchors) + 1
        dy, dx = 0, self._pan * step
        frame = np.empty_like(self._base)
        height = self.plan.height
        for src, dst, div in zip(yuv_planes(self._base, height), yuv_planes(frame, height), (1, 2, 2), strict=True):
            dst[...] = np.roll(src, (dy // div, dx // div), axis=(0, 1))
        _, u, v = yuv_planes(frame, height)
        t = 2 * math.pi * step / self._period
        for plane, phase in zip((u, v), self._phases, strict=True):
            shift = round(14 * (math.sin(t + phase) - math.sin(phase)))  # 0 at the last anchor: no step
            plane[...] = np.clip(plane.astype(np.int16) + shift, 16, 240).astype(np.uint8)
        if self.final is not None and k > self._fade_start:
            alpha = (k - self._fade_start) / (self.plan.sampled_frames - 1 - self._fade_start)
            frame = blend(frame, self.final, alpha)
        self.draw_code(frame, k)
        self._draw_label(frame, k)
        return frame

    def draw_code(self, frame: np.ndarray, k: int) -> None:
        """Burn sampled frame ``k``'s code into the luma band (neutral chroma), in place."""
        y, u, v = yuv_planes(frame, self.plan.height)
        draw_frame_code(y[..., None], self.code(k))  # 16/235 luma decodes to RGB 0/255
        band = max(2, self.plan.height // _CODE_BAND)
        u[: band // 2] = 128
        v[: band // 2] = 128

    def _draw_label(self, frame: np.ndarray, k: int) -> None:
        """Prompt (rendered once, then stamped) and sampled frame number on the bottom luma strip."""
        if self.plan.height < 48:
            return
        if self._label_masks is None:
            self._label_masks = self._render_masks(self._label + "  #")
        fill, stroke, advance = self._label_masks
        strip = frame[self.plan.height - self._strip: self.plan.height]
        strip[stroke] = 16
        strip[fill] = 235
        number = Image.fromarray(strip[:, advance:])
        ImageDraw.Draw(number).text((0, 1), str(k), fill=235, font=self._font, stroke_width=1, stroke_fill=16)
        strip[:, advance:] = np.asarray(number)

    def _render_masks(self, text: str) -> tuple[np.ndarray, np.ndarray, int]:
        """Boolean fill and stroke masks of ``text`` on the strip, and where the text ends (pixels)."""
        size = (self.plan.width, self._strip)
        fill, stroke = Image.new("L", size, 0), Image.new("L", size, 0)
        ImageDraw.Draw(stroke).text((4, 1), text, fill=255, font=self._font, stroke_width=1, stroke_fill=255)
        ImageDraw.Draw(fill).text((4, 1), text, fill=255, font=self._font)
        advance = min(self.plan.width - 1, 4 + round(self._font.getlength(text)))
        return np.asarray(fill) > 127, np.asarray(stroke) > 127, advance


def blend(a: np.ndarray, b: np.ndarray, weight: float) -> np.ndarray:
    """``(1 − weight)·a + weight·b`` in 8-bit fixed point (fast enough for 1080p)."""
    w = round(weight * 256)
    mixed = (a.astype(np.uint16) * (256 - w) + b.astype(np.uint16) * w + 128) >> 8
    return mixed.astype(np.uint8)


def output_frames(plan: VideoPlan, sampled: SampledFrames) -> Iterator[np.ndarray]:
    """yuv420p frames at the output rate: sampled frames as-is, or blended to ``interpolationFps``."""
    if plan.output_fps == plan.sampled_fps:
        for k in range(plan.sampled_frames):
            yield sampled[k]
        return
    cache: dict[int, np.ndarray] = {}
    last = plan.sampled_frames - 1
    for j in range(plan.output_frames):
        position = Fraction(j) * plan.sampled_fps / plan.output_fps
        k0 = min(math.floor(position), last)
        weight = position - k0 if k0 < last else Fraction(0)
        for k in (k0, min(k0 + 1, last)):
            if k not in cache:
                cache[k] = sampled[k]
        for k in [k for k in cache if k < k0]:
            del cache[k]
        if weight == 0:
            yield cache[k0]
            continue
        frame = blend(cache[k0], cache[k0 + 1], float(weight))
        sampled.draw_code(frame, min(round_half_up(position), last))
        yield frame


@dataclass(frozen=True)
class VideoResult:
    frames: int
    fps: Fraction
    width: int
    height: int
    audio_samples: int
    audio_source: str
    code_base: int
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "frames": self.frames, "fps": format_fps(self.fps), "width": self.width, "height": self.height,
            "durationSeconds": float(Fraction(self.frames) / self.fps), "frameCodeBase": self.code_base,
            "audio": {"source": self.audio_source, "codec": "aac", "sampleRate": SAMPLE_RATE,
                      "channels": CHANNELS, "samples": self.audio_samples},
            "video": {"codec": "h264", "pixFmt": "yuv420p"},
        }


def encode_mp4(path: Path, plan: VideoPlan, frames: Iterator[np.ndarray], audio: np.ndarray, *,
               crf: int = DEFAULT_CRF) -> None:
    """h264 + AAC MP4 from yuv420p frames, audio interleaved per frame; atomic (no partial file)."""
    fps = plan.output_fps
    with atomic_path(path) as part, av.open(str(part), "w", format="mp4", options={"movflags": "+faststart"}) as out:
        vs = out.add_stream("libx264", rate=fps)
        vs.width, vs.height, vs.pix_fmt = plan.width, plan.height, "yuv420p"
        vs.codec_context.time_base = 1 / fps
        vs.codec_context.gop_size = max(1, round_half_up(fps))
        # ultrafast: a stand-in service's pictures need no compression effort (a third less CPU for the
        # suite's extend runs); two B-frames still make every output reorder, as real services' do
        vs.options = {"crf": str(crf), "bf": "2", "preset": "ultrafast", **X264_REPRODUCIBLE}
        aus = out.add_stream("aac", rate=SAMPLE_RATE)
        aus.layout = "stereo"
        written = 0
        for j, yuv in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
            vf.pts, vf.time_base = j, vs.codec_context.time_base
            out.mux(vs.encode(vf))
            end = min(frame_to_sample(j + 1, fps, SAMPLE_RATE), audio.shape[1])
            if end > written:
                af = av.AudioFrame.from_ndarray(np.ascontiguousarray(audio[:, written:end]), format="fltp",
                                                layout="stereo")
                af.sample_rate, af.pts, af.time_base = SAMPLE_RATE, written, Fraction(1, SAMPLE_RATE)
                out.mux(aus.encode(af))
                written = end
        out.mux(vs.encode(None))
        out.mux(aus.encode(None))


def synthesize_video(path: Path, plan: VideoPlan, *, anchors: Sequence[np.ndarray], final: np.ndarray | None,
                     audio: np.ndarray | None, crf: int = DEFAULT_CRF, defect: Defect | None = None) -> VideoResult:
    """Render and encode the stand-in clip; ``anchors``/``final`` are RGB at the plan's size; ``defect``
    (:mod:`ltxkit.emulator.defects`) spoils it."""
    sampled = SampledFrames(plan, anchors, final, defect)
    count = plan.audio_samples
    if audio is None:
        tone = Tone(hz=220.0 + 55.0 * (plan.seed % 8), amplitude=0.3)
        track, source = tone.samples(0, count, SAMPLE_RATE, CHANNELS), "tone"
    else:
        track, source = fit_audio(audio, count), "referenceAudio"
    if defect is not None and defect.kind == "audio":
        track = (track * 10 ** (defect.size / 20)).astype(np.float32)
    encode_mp4(path, plan, output_frames(plan, sampled), track, crf=crf)
    return VideoResult(frames=plan.output_frames, fps=plan.output_fps, width=plan.width, height=plan.height,
                       audio_samples=count, audio_source=source, code_base=sampled.code_base)
