"""Pure time math: exact rational frame rates, the LTX 8n+1 rule, overlap and sample arithmetic.

Everything here is a pure function over :class:`fractions.Fraction` so that ``30000/1001`` stays
exact and no float ever decides which frame or sample is meant. No I/O lives in this module.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from ltxkit.errors import InputError

Number = int | float | str | Fraction | Decimal

LTX_FRAME_STEP = 8
MAX_FPS = 10_000  # anything above is a typo, not a frame rate

# Decimal spellings that everyone means as the NTSC rational (23.976 is 24000/1001, not 2997/125).
_NTSC = {Fraction(Decimal(k)): Fraction(v * 1000, 1001) for k, v in
         {"23.976": 24, "23.98": 24, "29.97": 30, "47.952": 48, "59.94": 60, "119.88": 120}.items()}

_RATIO = re.compile(r"^\s*([0-9]+)\s*[/:]\s*([0-9]+)\s*$")


def _decimal(text: str) -> Decimal:
    """A decimal with a sane exponent: ``Fraction(Decimal("1e-999999999"))`` would build a number with a
    billion digits (a hang), and no frame rate or time needs more than a few dozen."""
    value = Decimal(text)
    if value.is_finite() and value and not -40 <= value.adjusted() <= 40:
        raise ValueError(f"{text!r} is out of range")
    return value


def parse_fps(value: Number, *, name: str = "fps") -> Fraction:
    """Parse a frame rate exactly: ``25``, ``"30000/1001"``, ``"23.976"`` (NTSC spellings map to x/1001).

    Floats are converted through their shortest decimal repr, so ``29.97`` means 30000/1001.
    """
    if isinstance(value, bool):
        raise InputError(f"{name} must be a positive number, got {value!r}")
    try:
        if isinstance(value, Fraction):
            fps = value
        elif isinstance(value, int):
            fps = Fraction(value)
        elif isinstance(value, (float, Decimal)):
            fps = Fraction(Decimal(repr(value)) if isinstance(value, float) else value)
        else:
            text = str(value).strip()
            m = _RATIO.match(text)
            if m:
                num, den = int(m.group(1)), int(m.group(2))
                if den == 0:
                    raise InputError(f"{name} must be a positive number, got {value!r}")
                fps = Fraction(num, den)
            else:
                fps = Fraction(_decimal(text))
    except (InvalidOperation, ValueError, ZeroDivisionError, OverflowError) as exc:
        raise InputError(f"{name} must be a positive number like 25 or 30000/1001, got {value!r}") from exc
    if not 0 < fps <= MAX_FPS:
        raise InputError(f"{name} must be a positive number up to {MAX_FPS}, got {value!r}")
    return _NTSC.get(fps, fps)


def format_fps(fps: Fraction) -> str:
    """``25`` or ``30000/1001``: the exact spelling used in manifests and JSON output."""
    return str(fps.numerator) if fps.denominator == 1 else f"{fps.numerator}/{fps.denominator}"


def frames_to_seconds(frames: int | Fraction, fps: Fraction) -> Fraction:
    return Fraction(frames) / fps


def seconds_to_frames(seconds: Fraction | int, fps: Fraction) -> Fraction:
    """Exact (possibly fractional) number of frames spanning ``seconds`` at ``fps``."""
    return Fraction(seconds) * fps


def round_half_up(x: Fraction) -> int:
    """Nearest integer, ties toward +infinity: one documented rule for frames and samples alike.

    (Python's ``round`` rounds ties to even, which would make neighbouring windows disagree.)
    """
    return math.floor(x + Fraction(1, 2))


# --- the LTX 8n+1 rule -------------------------------------------------------------------------


def is_valid_ltx_frames(frames: int) -> bool:
    """LTX clips have ``8n + 1`` frames at the sampled fps (n ≥ 0): 249 and 257 are valid, 250 is not."""
    return frames >= 1 and (frames - 1) % LTX_FRAME_STEP == 0


@dataclass(frozen=True)
class FrameCountCheck:
    frames: int
    valid: bool
    lower: int | None  # largest valid count ≤ frames (None below 1)
    upper: int  # smallest valid count ≥ frames

    def suggestion(self) -> str:
        options = [str(c) for c in (self.lower, self.upper) if c is not None]
        return " or ".join(dict.fromkeys(options))


def check_ltx_frames(frames: int) -> FrameCountCheck:
    """Validity of a frame count plus the nearest valid counts on both sides."""
    if frames >= 1:
        lower: int | None = frames - (frames - 1) % LTX_FRAME_STEP
    else:
        lower = None
    upper = 1 if frames < 1 else frames + (-(frames - 1)) % LTX_FRAME_STEP
    return FrameCountCheck(frames=frames, valid=is_valid_ltx_frames(frames), lower=lower, upper=upper)


def require_ltx_frames(frames: int, fps: Fraction, *, name: str = "frames") -> None:
    """Raise :class:`InputError` naming the nearest valid counts when ``frames`` is not 8n+1."""
    check = check_ltx_frames(frames)
    if not check.valid:
        raise InputError(
            f"{name}={frames} is not a valid LTX frame count at {format_fps(fps)} fps (must be 8n+1); "
            f"nearest valid: {check.suggestion()}"
        )


def ltx_frames_at_least(frames: int | Fraction) -> int:
    """Smallest valid 8n+1 count that is ≥ ``frames`` (used to cover a duration)."""
    return check_ltx_frames(math.ceil(frames)).upper


def ltx_frames_for_seconds(seconds: Fraction | int, fps: Fraction) -> int:
    """Valid frame count for a ``durationSeconds`` request: the nearest 8n+1, ties to the longer."""
    exact = seconds_to_frames(seconds, fps)
    check = check_ltx_frames(math.floor(exact))
    candidates = [c for c in (check.lower, check.upper) if c is not None]
    return min(candidates, key=lambda c: (abs(c - exact), -c))


# --- overlap math ----------------------------------------------------------------------------------


def overlap_seconds(overlap_frames: int, sampled_fps: Fraction) -> Fraction:
    """Duration of ``overlap_frames`` sampled frames: N / sampledFps seconds."""
    if overlap_frames < 0:
        raise InputError(f"overlap must be ≥ 0, got {overlap_frames}")
    return Fraction(overlap_frames) / sampled_fps


@dataclass(frozen=True)
class FrameMapping:
    """``frames`` at ``from_fps`` expressed at ``to_fps``; ``rounded`` is the nearest frame boundary."""

    exact: Fraction
    rounded: int
    error_seconds: Fraction  # (rounded - exact) / to_fps; positive means the rounded span is longer

    @property
    def whole(self) -> bool:
        return self.exact.denominator == 1

    @property
    def error_ms(self) -> float:
        return float(self.error_seconds * 1000)


def map_frames(frames: int, from_fps: Fraction, to_fps: Fraction) -> FrameMapping:
    """Map a span of frames between rates in time: 3 frames @ 25 fps = 7.2 frames @ 60 fps (not whole)."""
    exact = Fraction(frames) * to_fps / from_fps
    rounded = round_half_up(exact)
    return FrameMapping(exact=exact, rounded=rounded, error_seconds=(rounded - exact) / to_fps)


def tail_source_indices(frame_count: int, fps: Fraction, n: int, sampled_fps: Fraction) -> list[int]:
    """Source frame indices for the last ``n`` frames on the sampled grid, oldest first.

    The clip re-timed to the sampled fps keeps its duration ``D = frame_count / fps``, so its last ``n``
    sampled frames start at ``D - k / sampledFps`` (k = n … 1); each takes the source frame starting
    nearest that instant (ties to the later one). This is the same time model as the splice (B's frame 0
    lies ``n / sampledFps`` before A's end) and the audio window (``overlap / sampledFps`` before the cut).
    When ``fps == sampled_fps`` it is exactly the last ``n`` frames.
    """
    if n <= 0:
        raise InputError(f"-n must be ≥ 1, got {n}")
    indices = [min(frame_count - 1, round_half_up(frame_count - Fraction(k) * fps / sampled_fps))
               for k in range(n, 0, -1)]
    if indices[0] < 0:
        raise InputError(
            f"the clip has {frame_count} frames at {format_fps(fps)} fps, too few for {n} frames "
            f"at {format_fps(sampled_fps)} fps"
        )
    return indices


# --- audio samples ---------------------------------------------------------------------------------


def seconds_to_sample(seconds: Fraction, sample_rate: int) -> int:
    """Sample index of an instant: round-half-up of ``rate × seconds`` (exact, then rounded once)."""
    return round_half_up(seconds * sample_rate)


@dataclass(frozen=True)
class AudioWindow:
    """Where clip B's reference audio lies in the source, in exact seconds and in samples."""

    start_seconds: Fraction
    duration_seconds: Fraction
    start_sample: int
    num_samples: int
    sample_rate: int

    @property
    def end_seconds(self) -> Fraction:
        return self.start_seconds + self.duration_seconds

    @property
    def end_sample(self) -> int:
        return self.start_sample + self.num_samples


def reference_audio_window(
    cut_seconds: Fraction,
    overlap_frames: int,
    sampled_fps: Fraction,
    duration: Fraction,
    sample_rate: int,
) -> AudioWindow:
    """Clip B's window: starts ``overlap/sampledFps`` before the cut, lasts ``duration`` seconds.

    start sample = round(rate × (cut − overlap/fps)); length = round(rate × duration), each rounded
    once from the exact value (round half up) so consecutive windows never drift.
    """
    start = Fraction(cut_seconds) - overlap_seconds(overlap_frames, sampled_fps)
    return AudioWindow(
        start_seconds=start,
        duration_seconds=Fraction(duration),
        start_sample=seconds_to_sample(start, sample_rate),
        num_samples=seconds_to_sample(Fraction(duration), sample_rate),
        sample_rate=sample_rate,
    )


# --- decoded audio frames: where each one starts --------------------------------------------------


def timestamp_slack(time_base: Fraction, sample_rate: int) -> int:
    """Samples a frame's timestamp may stray from the running sample count and still mean "no gap".

    One tick of the container's clock (Matroska/WebM: 1 ms, 48 samples at 48 kHz) plus one sample: 1024
    AAC samples last 21.33 ms, stored as 21 or 22 ms, so every timestamp is off by up to half a tick.
    """
    return math.ceil(time_base * sample_rate) + 1


def frame_position(expected: int | None, stamped: int | None, slack: int) -> int:
    """The sample where a decoded audio frame starts, in a stream read forward.

    The first frame (``expected`` None) is placed by its timestamp ``stamped`` (in samples); every later
    one follows the previous frame back to back, since decoded sample counts are exact and timestamps may
    be rounded (see :func:`timestamp_slack`). Only a timestamp later than ``expected`` by more than
    ``slack`` is a real gap in the stream, which the caller fills with silence. The one rule of
    :class:`ltxkit.frames.readers.AudioDecoder`, so every audio read in ltxkit places frames alike.
    """
    if expected is None:
        return 0 if stamped is None else stamped
    if stamped is not None and stamped - expected > slack:
        return stamped
    return expected


# --- assembly: trims, sample spans, overlap pairs ---------------------------------------------------


def seconds_to_frame_boundary(seconds: Fraction | int, fps: Fraction) -> FrameMapping:
    """A trim of ``seconds`` at ``fps`` snapped to the nearest frame boundary (ties to the longer trim).

    3/25 s at 60 fps is 7.2 frames → 7 frames, error −1/300 s (−3.33 ms): the caller reports it.
    """
    exact = Fraction(seconds) * fps
    rounded = round_half_up(exact)
    return FrameMapping(exact=exact, rounded=rounded, error_seconds=(rounded - exact) / fps)


def frame_to_sample(frame: int, fps: Fraction, sample_rate: int) -> int:
    """Sample index where frame ``frame`` starts: every span boundary is rounded once from exact time.

    Spans between boundaries therefore tile the audio with no gap or double however they are summed
    (30000/1001 fps at 48 kHz is 1601.6 samples a frame: spans alternate 1601/1602).
    """
    return seconds_to_sample(Fraction(frame) / fps, sample_rate)


def overlap_pairs(frame_count_a: int, fps_a: Fraction, overlap: int, sampled_fps: Fraction,
                  fps_b: Fraction) -> list[tuple[int, int]]:
    """``(a_index, b_index)`` for each of the ``overlap`` sampled frames B was conditioned on, oldest first.

    A's side is the tail the extractor sends (:func:`tail_source_indices`); B's side is B's frame at the
    same sampled instant ``k / sampled_fps`` of B's own timeline (nearest, ties later), so a B rendered
    at 60 fps from a 25 fps sampling is compared with the right frames, not the first ``overlap`` ones.
    """
    a_indices = tail_source_indices(frame_count_a, fps_a, overlap, sampled_fps)
    return [(a, round_half_up(Fraction(k) * fps_b / sampled_fps)) for k, a in enumerate(a_indices)]


# --- reference-audio windows: exact seconds from the command line ------------------------------------


def parse_seconds(value: Number, *, name: str = "seconds") -> Fraction:
    """Parse a non-negative time exactly: ``"4.04"`` is 101/25 s, ``"1001/250"`` stays rational.

    Decimal text goes through :class:`~decimal.Decimal` (never a binary float), so ``--cut 4.04`` names
    the same sample on every machine; floats are taken at their shortest repr. Every time ltxkit accepts
    is ≥ 0; callers that need a strictly positive duration check that themselves.
    """
    if isinstance(value, bool):
        raise InputError(f"{name} must be a number of seconds, got {value!r}")
    text = repr(value) if isinstance(value, float) else str(value).strip()
    try:
        if isinstance(value, (Fraction, int)):
            seconds = Fraction(value)
        elif (m := _RATIO.match(text)) is not None:
            seconds = Fraction(int(m.group(1)), int(m.group(2)))
        else:
            seconds = Fraction(_decimal(text))
    except (InvalidOperation, ValueError, ZeroDivisionError, OverflowError) as exc:
        raise InputError(f"{name} must be a number of seconds like 4.04 or 1001/250, got {value!r}") from exc
    if seconds < 0:
        raise InputError(f"{name} must be ≥ 0 seconds, got {value!r}")
    return seconds
