"""The media-jobs API's input rules, as pure functions shared by the client and the emulator.

The client validates before sending anything (a rejected paid request costs a round trip, a wrongly
accepted one costs money); the emulator answers 400 with the same messages. The rules are the ones
the API document states; where it is silent the choice is documented here:

* ``width``/``height``: together, positive multiples of 32, at most 4 MP (taken as 4·1024² pixels,
  so 2048x2048 is the largest square).
* ``durationFrames``: 8n+1 at ``sampledFps`` (default 30), larger than the number of overlap frames;
  ``durationSeconds`` (default 6, as in every example) is converted to the nearest valid count and
  reported as an adjustment.
* ``interpolationFps``: 0 (off) or 30..60, default 60.
* image fields: an http(s) URL string or ``{dataBase64, mimeType}`` with JPG/PNG/WEBP;
  audio fields: URL or inline with the MIME types the document lists.
* ``referenceAudio*`` requires a start frame or overlap frames (the API never downgrades silently).
* ``video.combine``: ``videoUrls`` with at least two URLs, ``overlapFrames`` ≥ 0, ``frameRate`` > 0.
* ``aspectRatio`` (video.generate): ``"W:H"`` with positive whole numbers.
* ``audio.speak``: ``text`` 40..600 characters, ``voiceDescription`` 20..240, English only;
  ``mode=voice_clone`` needs reference audio, at most 10 s of it, and defaults ``maxNewTokens`` to 384.
* ``ace.step.create``: ``durationSeconds`` 15..240 (``qualityPreset=high_quality`` defaults it to 108 and
  ``quality`` to 192k); ``moss.sound.effect``: a prompt and ``durationSeconds`` 1..30.
* ``audio.annotation.reference`` needs ``sourceAudioUrl``/``sourceAudio``; ``trellis.generate`` needs
  ``sourceImageUrl``/``sourceImage``. ``quality`` is a bitrate like ``"128k"``.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from ltxkit.errors import InputError
from ltxkit.timing import check_ltx_frames, format_fps, ltx_frames_for_seconds, parse_fps

MAX_PIXELS = 4 * 1024 * 1024
SIZE_STEP = 32
DEFAULT_SAMPLED_FPS = Fraction(30)
DEFAULT_INTERPOLATION_FPS = 60
DEFAULT_DURATION_SECONDS = 6
INTERPOLATION_RANGE = (30, 60)

IMAGE_MIME_TYPES = frozenset({"image/jpeg", "image/jpg", "image/png", "image/webp"})
AUDIO_MIME_TYPES = frozenset({
    "audio/ogg", "audio/opus", "audio/wav", "audio/x-wav", "audio/wave", "audio/mpeg", "audio/mp3",
    "audio/flac", "audio/x-flac", "audio/aac", "audio/mp4", "audio/webm",
})

TASKS = frozenset({
    "image.generate", "image.edit", "video.generate", "video.combine", "audio.speak",
    "audio.annotation.reference", "ace.step.create", "moss.sound.effect", "trellis.generate",
})

# (URL field, inline-or-URL field) pairs; the second name wins when both are given.
START_FRAME_FIELDS = (("startFrameImageUrl", "startFrameImage"), ("sourceImageUrl", "sourceImage"))
FINAL_FRAME_FIELDS = (("finalFrameImageUrl", "finalFrameImage"),)
AUDIO_FIELDS = (("referenceAudioUrl", "referenceAudio"),)
OVERLAP_FIELDS = ("overlapFrameImageUrls", "overlapFrameImages")


@dataclass(frozen=True)
class Problem:
    field: str
    message: str

    def __str__(self) -> str:
        return f"input.{self.field}: {self.message}" if self.field else self.message


class SchemaError(InputError):
    """One or more input rules are broken; ``problems`` names each field."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


@dataclass
class ValidatedInput:
    """What the server would run: the effective input plus the adjustments made to reach it."""

    task: str
    effective: dict[str, Any]
    adjustments: list[str] = field(default_factory=list)


def loads_json(text: str, *, source: str) -> Any:
    """JSON the user gave (``--input``, a plan): any failure, deep nesting included (the parser
    recurses: 100k ``[`` raise RecursionError), is one :class:`InputError` naming ``source``."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise InputError(f"{source}: not valid JSON: {reason}") from None


def _is_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))


def _finite(value: int | float) -> bool:
    """``math.isfinite`` that accepts any int (JSON allows huge integers; converting them overflows)."""
    return isinstance(value, int) or math.isfinite(value)


def decode_inline(data: str) -> bytes:
    """Decode ``dataBase64``, accepting a bare base64 string or a ``data:...;base64,`` URI."""
    if data.startswith("data:"):
        data = data.split(",", 1)[1] if "," in data else ""
    return base64.b64decode(data, validate=True)


def _check_media(name: str, value: object, mime_types: frozenset[str], problems: list[Problem]) -> None:
    if _is_url(value):
        return
    if not isinstance(value, dict):
        problems.append(Problem(name, "must be an http(s) URL or {dataBase64, mimeType}"))
        return
    mime, data = value.get("mimeType"), value.get("dataBase64")
    if mime not in mime_types:
        problems.append(Problem(name, f"mimeType {mime!r} not supported; use one of {', '.join(sorted(mime_types))}"))
    if not isinstance(data, str) or not data:
        problems.append(Problem(name, "dataBase64 must be a non-empty base64 string"))
        return
    try:
        if not decode_inline(data):
            problems.append(Problem(name, "dataBase64 decodes to nothing"))
    except (binascii.Error, ValueError):
        problems.append(Problem(name, "dataBase64 is not valid base64"))


def pick_field(inp: dict[str, Any], pairs: tuple[tuple[str, str], ...]) -> tuple[str, Any] | None:
    """The first present media field of ``(url_name, any_name)`` pairs (the inline-or-URL name wins)."""
    for url_name, any_name in pairs:
        for name in (any_name, url_name):
            if inp.get(name) is not None:
                return name, inp[name]
    return None


def _int_field(inp: dict[str, Any], name: str, problems: list[Problem]) -> int | None:
    value = inp.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not float(value).is_integer():
        problems.append(Problem(name, f"must be a whole number, got {value!r}"))
        return None
    return int(value)


def _fps_field(inp: dict[str, Any], name: str, default: Fraction | None, problems: list[Problem]) -> Fraction | None:
    value = inp.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        problems.append(Problem(name, f"must be a positive number, got {value!r}"))
        return None
    try:
        return parse_fps(value, name=name)
    except InputError as exc:
        problems.append(Problem(name, str(exc)))
        return None


@dataclass(frozen=True)
class Canvas:
    """Where a source picture goes on the API's canvas (multiples of 32, at most 4 MP, the source's aspect).

    The picture is padded, centred, to the next multiples of 32 (1920x1080 → 1920x1088, 4 px bars top and
    bottom), so nothing is lost and conforming an output back is an exact crop; only a picture whose
    canvas would pass 4 MP is first scaled down (3840x2160 → 2720x1530 on 2720x1536).
    """

    width: int  # the canvas the API is asked for
    height: int
    picture_width: int  # the source picture on it, at (left, top)
    picture_height: int
    source_width: int
    source_height: int

    @property
    def left(self) -> int:
        return (self.width - self.picture_width) // 2

    @property
    def top(self) -> int:
        return (self.height - self.picture_height) // 2

    def describe(self) -> str:
        """One line saying what was done to fit the source on the canvas."""
        right, bottom = self.width - self.picture_width - self.left, self.height - self.picture_height - self.top
        bars = [f"{px} px {side}" for px, side in ((self.left, "left"), (right, "right"), (self.top, "top"),
                                                     (bottom, "bottom")) if px]
        steps = ([f"scaled down to {self.picture_width}x{self.picture_height} (over 4 MP)"]
                 if (self.picture_width, self.picture_height) != (self.source_width, self.source_height) else [])
        steps += [f"padded with black ({', '.join(bars)})"] if bars else []
        if not steps:
            return f"canvas {self.width}x{self.height}: the source's own size"
        return (f"canvas {self.width}x{self.height} (multiples of 32): {self.source_width}x{self.source_height} "
                f"{' and '.join(steps)}; the outputs are conformed back at the splice")


def api_canvas(width: int, height: int, step: int = SIZE_STEP, max_pixels: float = MAX_PIXELS) -> Canvas:
    """The canvas to request for a ``width`` x ``height`` source (see :class:`Canvas`); ``step`` and
    ``max_pixels`` are media-jobs' unless a provider's own size rule says otherwise."""
    def up(value: int) -> int:
        return -(-value // step) * step

    pw, ph = width, height
    while up(pw) * up(ph) > max_pixels:  # scale down in 2 px steps, keeping the aspect (even sizes)
        pw -= 2
        ph = max(2, 2 * round(pw * height / width / 2))
    return Canvas(up(pw), up(ph), pw, ph, width, height)


def _check_size(inp: dict[str, Any], problems: list[Problem]) -> None:
    width, height = _int_field(inp, "width", problems), _int_field(inp, "height", problems)
    if (inp.get("width") is None) != (inp.get("height") is None):
        problems.append(Problem("width" if inp.get("width") is None else "height",
                                "width and height must be given together"))
        return
    if width is None or height is None:
        return
    for name, value in (("width", width), ("height", height)):
        if value <= 0 or value % SIZE_STEP:
            problems.append(Problem(name, f"{value} must be a positive multiple of {SIZE_STEP}"))
    if width * height > MAX_PIXELS:
        problems.append(Problem("width", f"{width}x{height} is {width * height / 1e6:.2f} MP, over the 4 MP limit "
                                         f"({MAX_PIXELS} pixels)"))


def _validate_video_generate(inp: dict[str, Any], problems: list[Problem], adjustments: list[str]) -> None:
    if not isinstance(inp.get("prompt"), str) or not inp["prompt"].strip():
        problems.append(Problem("prompt", "a non-empty prompt is required"))
    _check_size(inp, problems)
    _check_aspect_ratio(inp, problems)

    fps = _fps_field(inp, "sampledFps", DEFAULT_SAMPLED_FPS, problems)
    interp = inp.get("interpolationFps")
    if interp is not None and (
        isinstance(interp, bool) or not isinstance(interp, (int, float))
        or not (interp == 0 or INTERPOLATION_RANGE[0] <= interp <= INTERPOLATION_RANGE[1])
    ):
        problems.append(Problem("interpolationFps", f"must be 0 (off) or {INTERPOLATION_RANGE[0]}.."
                                                    f"{INTERPOLATION_RANGE[1]}, got {interp!r}"))
    seed = inp.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        problems.append(Problem("seed", f"must be an integer, got {seed!r}"))

    overlap_count = 0
    for name in OVERLAP_FIELDS:
        frames = inp.get(name)
        if frames is None:
            continue
        if not isinstance(frames, list) or not frames:
            problems.append(Problem(name, "must be a non-empty list, oldest frame first"))
            continue
        overlap_count = len(frames)
        for i, item in enumerate(frames):
            if name == "overlapFrameImageUrls" and not _is_url(item):
                problems.append(Problem(f"{name}[{i}]", "must be an http(s) URL"))
            elif name == "overlapFrameImages":
                _check_media(f"{name}[{i}]", item, IMAGE_MIME_TYPES, problems)
    if all(inp.get(n) is not None for n in OVERLAP_FIELDS):
        problems.append(Problem(OVERLAP_FIELDS[1], f"give either {OVERLAP_FIELDS[0]} or {OVERLAP_FIELDS[1]}"))

    start = pick_field(inp, START_FRAME_FIELDS)
    for picked in (start, pick_field(inp, FINAL_FRAME_FIELDS)):
        if picked is not None:
            _check_media(picked[0], picked[1], IMAGE_MIME_TYPES, problems)
    audio = pick_field(inp, AUDIO_FIELDS)
    if audio is not None:
        _check_media(audio[0], audio[1], AUDIO_MIME_TYPES, problems)
        if start is None and overlap_count == 0:
            problems.append(Problem(audio[0], "reference audio requires a start frame or overlap frames"))

    frames_value = _int_field(inp, "durationFrames", problems)
    seconds = inp.get("durationSeconds")
    if frames_value is not None and seconds is not None:
        problems.append(Problem("durationSeconds", "give durationFrames or durationSeconds, not both"))
    if seconds is None and frames_value is None and fps is not None:
        seconds = DEFAULT_DURATION_SECONDS
        adjustments.append(f"no duration given: using durationSeconds={seconds}")
    if seconds is not None and frames_value is None:
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not _finite(seconds) \
                or seconds <= 0:
            problems.append(Problem("durationSeconds", f"must be a positive number, got {seconds!r}"))
        elif fps is not None:
            exact = Fraction(Decimal(repr(seconds))) if isinstance(seconds, float) else Fraction(seconds)
            frames_value = ltx_frames_for_seconds(exact, fps)
            adjustments.append(f"durationSeconds={seconds} -> durationFrames={frames_value} "
                               f"(8n+1 at {format_fps(fps)} fps)")
            inp["durationFrames"] = frames_value
    if frames_value is not None and fps is not None and "durationFrames" in inp:
        check = check_ltx_frames(frames_value)
        if not check.valid:
            problems.append(Problem("durationFrames", f"{frames_value} is not 8n+1 at {format_fps(fps)} fps; "
                                                      f"nearest valid: {check.suggestion()}"))
        elif frames_value <= overlap_count:
            problems.append(Problem("durationFrames", f"{frames_value} must exceed the {overlap_count} "
                                                      f"overlap frames"))


def _validate_video_combine(inp: dict[str, Any], problems: list[Problem]) -> None:
    urls = inp.get("videoUrls")
    if not isinstance(urls, list) or len(urls) < 2:
        problems.append(Problem("videoUrls", "needs at least two video URLs in playback order"))
    else:
        problems.extend(Problem(f"videoUrls[{i}]", "must be an http(s) URL")
                        for i, u in enumerate(urls) if not _is_url(u))
    overlap = _int_field(inp, "overlapFrames", problems)
    if overlap is not None and overlap < 0:
        problems.append(Problem("overlapFrames", f"must be ≥ 0, got {overlap}"))
    _fps_field(inp, "frameRate", None, problems)


def _validate_image(task: str, inp: dict[str, Any], problems: list[Problem]) -> None:
    if not isinstance(inp.get("prompt"), str) or not inp["prompt"].strip():
        problems.append(Problem("prompt", "a non-empty prompt is required"))
    if task == "image.generate":
        _check_size(inp, problems)
    else:
        source = pick_field(inp, (("sourceImageUrl", "sourceImage"),))
        if source is None:
            problems.append(Problem("sourceImage", "image.edit needs sourceImage or sourceImageUrl"))
        else:
            _check_media(source[0], source[1], IMAGE_MIME_TYPES, problems)
    fmt = inp.get("outputFormat")
    if fmt is not None and fmt not in ("webp", "png", "jpg"):
        problems.append(Problem("outputFormat", f"must be webp, png or jpg, got {fmt!r}"))
    refs = inp.get("referenceImages", [])
    if not isinstance(refs, list):
        problems.append(Problem("referenceImages", "must be a list of URLs or inline images"))
    else:
        for i, ref in enumerate(refs):
            _check_media(f"referenceImages[{i}]", ref, IMAGE_MIME_TYPES, problems)


SPEAK_TEXT_CHARS = (40, 600)
SPEAK_VOICE_CHARS = (20, 240)
SPEAK_LANGUAGES = frozenset({"english", "en", "en-us", "en-gb"})
CLONE_MAX_REFERENCE_SECONDS = 10
CLONE_DEFAULT_MAX_NEW_TOKENS = 384
ACE_SECONDS = (15, 240)
ACE_HIGH_QUALITY = {"durationSeconds": 108, "quality": "192k"}
MOSS_SECONDS = (1, 30)


def _text_field(inp: dict[str, Any], name: str, limits: tuple[int, int] | None, problems: list[Problem], *,
                required: bool) -> None:
    value = inp.get(name)
    if value is None:
        if required:
            problems.append(Problem(name, "is required" + ("" if limits is None else
                                                           f" ({limits[0]}..{limits[1]} characters)")))
        return
    if not isinstance(value, str) or not value.strip():
        problems.append(Problem(name, f"must be a non-empty string, got {value!r}"))
    elif limits is not None and not limits[0] <= len(value) <= limits[1]:
        problems.append(Problem(name, f"must be {limits[0]}..{limits[1]} characters, got {len(value)}"))


def _number_field(inp: dict[str, Any], name: str, low: float, high: float, problems: list[Problem], *,
                  low_inclusive: bool = True) -> None:
    value = inp.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not _finite(value) \
            or not (low <= value if low_inclusive else low < value) or value > high:
        bounds = f"{low}..{high}" if low_inclusive else f"more than {low} and at most {high}"
        problems.append(Problem(name, f"must be a number {bounds}, got {value!r}"))


def _positive_ints(inp: dict[str, Any], names: tuple[str, ...], problems: list[Problem]) -> None:
    for name in names:
        value = _int_field(inp, name, problems)
        if value is not None and value <= 0:
            problems.append(Problem(name, f"must be a positive whole number, got {value}"))


def _check_quality(inp: dict[str, Any], problems: list[Problem]) -> None:
    value = inp.get("quality")
    if value is not None and not (isinstance(value, str) and re.fullmatch(r"[1-9][0-9]*k", value)):
        problems.append(Problem("quality", f"must be a bitrate like \"128k\", got {value!r}"))


def _require_media(inp: dict[str, Any], pair: tuple[str, str], mime_types: frozenset[str],
                   problems: list[Problem], why: str) -> None:
    picked = pick_field(inp, (pair,))
    if picked is None:
        problems.append(Problem(pair[1], f"{why} needs {pair[1]} or {pair[0]}"))
    else:
        _check_media(picked[0], picked[1], mime_types, problems)


def _validate_audio(task: str, inp: dict[str, Any], problems: list[Problem], adjustments: list[str]) -> None:
    _check_quality(inp, problems)
    _positive_ints(inp, ("maxNewTokens", "topK"), problems)
    if task == "audio.speak":
        _text_field(inp, "text", SPEAK_TEXT_CHARS, problems, required=True)
        _text_field(inp, "voiceDescription", SPEAK_VOICE_CHARS, problems, required=False)
        language = inp.get("language")
        if language is not None and (not isinstance(language, str) or language.lower() not in SPEAK_LANGUAGES):
            problems.append(Problem("language", f"audio.speak is English-only, got {language!r}"))
        if inp.get("mode") == "voice_clone":
            _require_media(inp, AUDIO_FIELDS[0], AUDIO_MIME_TYPES, problems, "mode=voice_clone")
            _number_field(inp, "referenceAudioMaxSeconds", 0, CLONE_MAX_REFERENCE_SECONDS, problems,
                          low_inclusive=False)
            if inp.get("maxNewTokens") is None:
                inp["maxNewTokens"] = CLONE_DEFAULT_MAX_NEW_TOKENS
                adjustments.append(f"mode=voice_clone: maxNewTokens={CLONE_DEFAULT_MAX_NEW_TOKENS}")
    elif task == "audio.annotation.reference":
        _require_media(inp, ("sourceAudioUrl", "sourceAudio"), AUDIO_MIME_TYPES, problems, task)
        _text_field(inp, "transcript", None, problems, required=False)
    elif task == "ace.step.create":
        if inp.get("qualityPreset") == "high_quality":
            for name, value in ACE_HIGH_QUALITY.items():
                if inp.get(name) is None:
                    inp[name] = value
                    adjustments.append(f"qualityPreset=high_quality: {name}={value}")
        if inp.get("durationSeconds") is None:
            problems.append(Problem("durationSeconds", f"is required ({ACE_SECONDS[0]}..{ACE_SECONDS[1]} s)"))
        _number_field(inp, "durationSeconds", *ACE_SECONDS, problems)
    elif task == "moss.sound.effect":
        _text_field(inp, "prompt", None, problems, required=True)
        if inp.get("durationSeconds") is None:
            problems.append(Problem("durationSeconds", f"is required ({MOSS_SECONDS[0]}..{MOSS_SECONDS[1]} s)"))
        _number_field(inp, "durationSeconds", *MOSS_SECONDS, problems)


def _check_aspect_ratio(inp: dict[str, Any], problems: list[Problem]) -> None:
    value = inp.get("aspectRatio")
    if value is not None and not (isinstance(value, str) and re.fullmatch(r"\s*[1-9][0-9]*\s*:\s*[1-9][0-9]*\s*",
                                                                           value)):
        problems.append(Problem("aspectRatio", f"must look like \"16:9\", got {value!r}"))


def validate_task_input(task: object, input_: object) -> ValidatedInput:
    """Check a ``{task, input}`` request; raise :class:`SchemaError` naming every broken field.

    The returned effective input has defaults filled in (``sampledFps``, ``interpolationFps``) and
    ``durationSeconds`` converted to ``durationFrames``, as the server reports it back.
    """
    if not isinstance(task, str) or task not in TASKS:
        raise SchemaError([Problem("", f"unknown task {task!r}; known tasks: {', '.join(sorted(TASKS))}")])
    if not isinstance(input_, dict):
        raise SchemaError([Problem("", "input must be a JSON object")])
    inp = dict(input_)
    problems: list[Problem] = []
    adjustments: list[str] = []
    if task == "video.generate":
        _validate_video_generate(inp, problems, adjustments)
        inp.setdefault("sampledFps", int(DEFAULT_SAMPLED_FPS))
        inp.setdefault("interpolationFps", DEFAULT_INTERPOLATION_FPS)
    elif task == "video.combine":
        _validate_video_combine(inp, problems)
    elif task in ("image.generate", "image.edit"):
        _validate_image(task, inp, problems)
    elif task == "trellis.generate":
        _require_media(inp, START_FRAME_FIELDS[1], IMAGE_MIME_TYPES, problems, task)
    else:
        _validate_audio(task, inp, problems, adjustments)
    if problems:
        raise SchemaError(problems)
    return ValidatedInput(task=task, effective=inp, adjustments=adjustments)
