"""Request models: build ``video.generate`` / ``video.combine`` inputs from local files or URLs and
validate them with :mod:`ltxkit.api_schema` before anything is sent.

Local images and audio go inline as ``{dataBase64, mimeType}``; the MIME type is sniffed from the
file's first bytes (falling back to the extension), because the server is strict about it and a
``.webp`` that is really a PNG should still be described correctly.

The idempotency key is derived from the task and the canonical JSON of the input (sorted keys, no
whitespace), so running the same command twice reuses the key and the server returns the same job.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

from ltxkit.api_schema import ValidatedInput, loads_json, validate_task_input
from ltxkit.errors import InputError
from ltxkit.timing import fps_number

KEY_PREFIX = "ltxkit-"

_IMAGE_EXT = {".png": "image/png", ".webp": "image/webp", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
_AUDIO_EXT = {
    ".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg", ".oga": "audio/ogg", ".opus": "audio/opus",
    ".mp3": "audio/mpeg", ".aac": "audio/aac", ".m4a": "audio/mp4", ".mp4": "audio/mp4", ".webm": "audio/webm",
}


def canonical_json(value: object) -> str:
    """Sorted keys, no whitespace, UTF-8 kept: the same input always gives the same text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def input_hash(task: str, input_: Mapping[str, Any]) -> str:
    """sha256 of ``task`` and the canonical input: what the journal compares across runs."""
    return hashlib.sha256(f"{task}\n{canonical_json(input_)}".encode()).hexdigest()


def derive_key(task: str, input_: Mapping[str, Any]) -> str:
    """``ltxkit-<32 hex>``: deterministic, so a re-run of the same request reuses its key."""
    return KEY_PREFIX + input_hash(task, input_)[:32]


def sniff_image_mime(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def sniff_audio_mime(data: bytes) -> str | None:
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    if data.startswith(b"fLaC"):
        return "audio/flac"
    if data.startswith(b"OggS"):
        return "audio/opus" if b"OpusHead" in data[:512] else "audio/ogg"
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        return "audio/webm"
    if data[4:8] == b"ftyp":
        return "audio/mp4"
    if data.startswith(b"ID3") or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE6 == 0xE2):
        return "audio/mpeg"  # ID3 tag, or an MPEG-1/2 layer III frame sync
    if len(data) > 1 and data[0] == 0xFF and data[1] & 0xF6 == 0xF0:
        return "audio/aac"  # ADTS frame sync (layer bits 00)
    return None


def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def _inline(path: Path, field_name: str, kind: str, extensions: Mapping[str, str], sniff: Any) -> dict[str, str]:
    if not path.is_file():
        raise InputError(f"{field_name}: {path} is not a file")
    data = path.read_bytes()
    if not data:
        raise InputError(f"{field_name}: {path} is empty")
    mime = sniff(data)  # by content, not name: a mislabelled file would fail only after it was paid for
    if mime is None:
        raise InputError(f"{field_name}: {path} is not a supported {kind} by its content "
                         f"({', '.join(sorted({e.lstrip('.') for e in extensions}))})")
    return {"dataBase64": base64.b64encode(data).decode("ascii"), "mimeType": mime}


def image_value(source: str | Path, field_name: str) -> str | dict[str, str]:
    """An http(s) URL as is, or a local WEBP/PNG/JPG file inline as ``{dataBase64, mimeType}``."""
    if isinstance(source, str) and _is_url(source):
        return source
    return _inline(Path(source), field_name, "image", _IMAGE_EXT, sniff_image_mime)


def audio_value(source: str | Path, field_name: str) -> str | dict[str, str]:
    """An http(s) URL as is, or a local wav/flac/ogg/opus/mp3/aac/m4a/webm file inline."""
    if isinstance(source, str) and _is_url(source):
        return source
    return _inline(Path(source), field_name, "audio file", _AUDIO_EXT, sniff_audio_mime)


def overlap_frame_files(source: str | Path | Sequence[str | Path]) -> list[str | Path]:
    """Overlap frames oldest first: a list as given, or a directory written by ``ltxkit frames tail``
    (its ``frames.json`` lists the frames in chronological order)."""
    if isinstance(source, str) and _is_url(source):
        return [source]
    if isinstance(source, (str, Path)):
        directory = Path(source)
        if directory.is_dir():
            manifest = directory / "frames.json"
            if not manifest.is_file():
                raise InputError(f"overlapFrameImages: {directory} has no frames.json "
                                 "(write it with `ltxkit frames tail`, or list the frame files)")
            try:
                entries = json.loads(manifest.read_text())["frames"]
                return [directory / str(e["file"] if isinstance(e, Mapping) else e) for e in entries]
            except (ValueError, KeyError, TypeError) as exc:
                raise InputError(f"overlapFrameImages: {manifest} is not a frames manifest: {exc}") from None
        return [source]
    return list(source)


class InputModel(Protocol):
    task: str

    def to_input(self) -> dict[str, Any]: ...


@dataclass
class VideoGenerate:
    """``video.generate`` (LTX): text-to-video, image-to-video, or an extension from overlap frames.

    Image sources (``start_frame``, ``final_frame``, each overlap frame) and ``reference_audio`` are
    URLs or local paths. ``extra`` passes any further documented field through unchanged.
    """

    prompt: str
    start_frame: str | Path | None = None
    final_frame: str | Path | None = None
    overlap_images: str | Path | Sequence[str | Path] | None = None
    reference_audio: str | Path | None = None
    duration_frames: int | None = None
    duration_seconds: float | None = None
    width: int | None = None
    height: int | None = None
    sampled_fps: int | Fraction | None = None
    interpolation_fps: int | None = None
    seed: int | None = None
    extreme_quality: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    task: str = field(default="video.generate", init=False)

    def to_input(self) -> dict[str, Any]:
        inp = add_media({"prompt": self.prompt}, start_frame=self.start_frame, final_frame=self.final_frame,
                        overlap_images=self.overlap_images, reference_audio=self.reference_audio)
        fps = self.sampled_fps
        scalars = {
            "durationFrames": self.duration_frames, "durationSeconds": self.duration_seconds,
            "width": self.width, "height": self.height,
            "sampledFps": None if fps is None else (fps if isinstance(fps, int) else fps_number(Fraction(fps))),
            "interpolationFps": self.interpolation_fps, "seed": self.seed, "extremeQuality": self.extreme_quality,
        }
        inp.update({k: v for k, v in scalars.items() if v is not None})
        inp.update(self.extra)
        return inp


@dataclass
class VideoCombine:
    """``video.combine``: stitch clip URLs in playback order, trimming ``overlap_at_clip_fps`` from the head
    of every clip after the first.

    The API document does not state the units; ltxkit reads them as its example does (``frameRate`` 60,
    the rate its generate example interpolates to): ``frame_rate`` is the clips' rate as delivered (the
    interpolated rate when interpolation is on, else the sampled rate) and ``overlap_at_clip_fps`` counts
    frames at that rate. ``ltxkit extend --combine remote`` works the count out from the clips and checks
    the answer (:mod:`ltxkit.workflow.combine`)."""

    video_urls: Sequence[str]
    overlap_at_clip_fps: int | None = None
    frame_rate: int | Fraction | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    task: str = field(default="video.combine", init=False)

    def to_input(self) -> dict[str, Any]:
        inp: dict[str, Any] = {"videoUrls": list(self.video_urls)}
        if self.overlap_at_clip_fps is not None:
            inp["overlapFrames"] = self.overlap_at_clip_fps
        if self.frame_rate is not None:
            rate = self.frame_rate
            inp["frameRate"] = rate if isinstance(rate, int) else fps_number(Fraction(rate))
        inp.update(self.extra)
        return inp


@dataclass(frozen=True)
class JobRequest:
    """A validated ``{task, input}`` with its idempotency key: what gets submitted, and what the journal
    remembers (by ``key`` and ``input_hash``)."""

    task: str
    input: Mapping[str, Any]
    key: str
    input_hash: str
    validated: ValidatedInput = field(compare=False, repr=False)

    @classmethod
    def build(cls, task: TaskArg, input_: InputArg = None, key: str | None = None) -> JobRequest:
        """Validate locally (raises :class:`~ltxkit.api_schema.SchemaError` naming the field) and fix
        the key: ``key`` if given, else :func:`derive_key`. A built request passes through."""
        if isinstance(task, JobRequest):
            return task
        if not isinstance(task, str):
            input_, task = task, task.task
        if input_ is not None and not isinstance(input_, Mapping):
            input_ = input_.to_input()
        validated = validate_task_input(task, input_)
        body = dict(input_)  # type: ignore[arg-type]  # validate_task_input checked it is a dict
        try:
            digest = input_hash(task, body)
        except (TypeError, ValueError) as exc:
            raise InputError(f"input is not plain JSON: {exc}") from None
        if key is not None and (not key.strip() or len(key) > 255 or any(not 0x21 <= ord(c) <= 0x7E for c in key)):
            raise InputError("--idempotency-key must be 1..255 printable ASCII characters without spaces")
        return cls(task, body, key or KEY_PREFIX + digest[:32], digest, validated)


def load_input(text: str, option: str = "--input") -> dict[str, Any]:
    """``--input``: a JSON object, or ``@file.json``."""
    source = option
    if text.startswith("@"):
        path = Path(text[1:])
        try:
            text = path.read_text()
        except OSError as exc:
            raise InputError(f"{option}: cannot read {path}: {exc.strerror}") from None
        source = f"{option} {path}"
    value = loads_json(text, source=source)
    if not isinstance(value, dict):
        raise InputError(f"{source}: must be a JSON object, got {type(value).__name__}")
    return value


def add_media(input_: Mapping[str, Any], *, start_frame: str | Path | None = None,
              final_frame: str | Path | None = None,
              overlap_images: str | Path | Sequence[str | Path] | None = None,
              reference_audio: str | Path | None = None) -> dict[str, Any]:
    """Merge media given as local files or URLs into a raw ``video.generate`` input.

    Overlap frames that are all URLs go as ``overlapFrameImageUrls``; otherwise every frame goes in
    ``overlapFrameImages`` (local files inline, URLs as is), oldest first.
    """
    inp = dict(input_)
    if start_frame is not None:
        inp["startFrameImage"] = image_value(start_frame, "startFrameImage")
    if final_frame is not None:
        inp["finalFrameImage"] = image_value(final_frame, "finalFrameImage")
    if overlap_images is not None:
        frames = overlap_frame_files(overlap_images)
        if frames and all(isinstance(f, str) and _is_url(f) for f in frames):
            inp["overlapFrameImageUrls"] = list(frames)
        else:
            inp["overlapFrameImages"] = [image_value(f, f"overlapFrameImages[{i}]") for i, f in enumerate(frames)]
    if reference_audio is not None:
        inp["referenceAudio"] = audio_value(reference_audio, "referenceAudio")
    return inp


TaskArg = str | InputModel | JobRequest
"""A task name (with a separate input), a model (``VideoGenerate(...)``), or a built request."""
InputArg = Mapping[str, Any] | InputModel | None
