"""Output codecs of a render: which encoder, pixel format, audio format and containers each flavour uses."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ltxkit.errors import InputError


@dataclass(frozen=True)
class CodecProfile:
    """An output flavour: h264+AAC for delivery, ProRes or FFV1 with PCM for editing."""

    name: str
    video_codec: str
    pix_fmt: str
    options: dict[str, str]
    audio_codec: str
    audio_format: str
    containers: dict[str, str]  # accepted output suffix -> muxer
    even_size: bool = False  # libx264 refuses odd sizes in 4:2:0 (its encoder fails to open)
    # x264 under FFmpeg's default slice threading runs sliced_threads=1 slices=2: 1.4x slower than frame
    # threads (thread_type FRAME), which the other encoders here do not have (they would run on one thread)
    frame_threads: bool = False

    def container_for(self, output: Path) -> str:
        fmt = self.containers.get(output.suffix.lower())
        if fmt is None:
            raise InputError(f"--codec {self.name} writes {' or '.join(self.containers)} files, "
                             f"not {output.name!r}")
        return fmt

    def check_size(self, width: int, height: int) -> None:
        """Refuse a frame size the encoder cannot open with, before any output exists."""
        if self.even_size and (width % 2 or height % 2):
            raise InputError(f"{self.name} needs even width and height, the output is {width}x{height}; "
                             "use --codec ffv1 or prores, or --scale")


CODECS: dict[str, CodecProfile] = {
    # (no .mkv for h264+AAC: Matroska keeps the encoder's trailing padding, so the sample count is off)
    "h264": CodecProfile("h264", "libx264", "yuv420p", {"crf": "18", "preset": "fast"}, "aac", "fltp",
                         {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov"}, even_size=True, frame_threads=True),
    "prores": CodecProfile("prores", "prores_ks", "yuv422p10le", {"profile": "3"}, "pcm_s16le", "s16",
                           {".mov": "mov"}),
    "ffv1": CodecProfile("ffv1", "ffv1", "yuv420p", {"level": "3"}, "pcm_s16le", "s16",
                         {".mkv": "matroska"}),
}


RENDER_MODES = ("smart", "full")  # --render: copy untouched GOPs (ltxkit.frames.smart), or re-encode all


def codec_profile(codec: str) -> CodecProfile:
    try:
        return CODECS[codec]
    except KeyError:
        raise InputError(f"unknown codec {codec!r}; choose one of {', '.join(CODECS)}") from None

