"""Pure time math: exact rational frame rates, the LTX 8n+1 rule, overlap and sample arithmetic.

Everything here is a pure function over :class:`fractions.Fraction` so that ``30000/1001`` stays
exact and no float ever decides which frame or sample is meant. No I/O lives in this module.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from ltxkit.errors import InputError

Number = int | float | str | Fraction | Decimal

LTX_FRAME_STEP = 8
MAX_FPS = 10_000  # anything above is a typo, not a frame rate
MIN_FPS = 1  # below it a clip of 257 frames lasts minutes per frame: a typo too (1e-30 fps means 1e30 s)

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
    if not MIN_FPS <= fps <= MAX_FPS:
        raise InputError(f"{name} must be a positive number from {MIN_FPS} up to {MAX_FPS}, got {value!r}")
    return _NTSC.get(fps, fps)


# The rates cameras, editors and encoders use; a measured rate within the container's clock precision of
# one of them is that rate (see :func:`snap_fps`).
STANDARD_FPS = tuple(Fraction(r) for r in (
    "12", "15", "24000/1001", "24", "25", "30000/1001", "30", "48000/1001", "48", "50", "60000/1001", "60",
    "72", "90", "96", "100", "120000/1001", "120", "144", "240000/1001", "240"))


def snap_fps(fps: Fraction, span: Fraction, intervals: int, tick: Fraction) -> Fraction:
    """The standard rate a measured ``fps`` stands for when the container's clock cannot tell them apart.

    Matroska stores milliseconds, so 59.94 fps measures as 19001/317. With each timestamp rounded to a
    ``tick``, the first-to-last ``span`` of ``intervals`` frame intervals is within one tick of the true
    one; a standard rate whose span (``intervals / rate``) is that close is the rate (the nearest to
    ``fps`` when several are). Otherwise, or when ``fps`` is already standard, ``fps`` is returned.
    """
    if fps in STANDARD_FPS or intervals <= 0:
        return fps
    close = [r for r in STANDARD_FPS if abs(Fraction(intervals) / r - span) <= tick]
    return min(close, key=lambda r: abs(r - fps)) if close else fps


def format_fps(fps: Fraction) -> str:
    """``25`` or ``30000/1001``: the exact spelling used in manifests and JSON output."""
    return str(fps.numerator) if fps.denominator == 1 else f"{fps.numerator}/{fps.denominator}"


# the decimal spelling the API's JSON numbers use for each NTSC rate (parse_fps maps it back exactly)
_NTSC_NUMBERS = {Fraction(v * 1000, 1001): float(k) for k, v in
                 {"23.976": 24, "29.97": 30, "47.952": 48, "59.94": 60, "119.88": 120}.items()}


def fps_number(fps: Fraction) -> int | float:
    """A rate as the JSON number the API documents (``25``, ``29.97``), never the string ``"30000/1001"``.

    NTSC rates go out in their usual decimal spelling, which :func:`parse_fps` (and so the emulator)
    reads back as the exact x/1001 rate; other rates as the nearest float.
    """
    if fps.denominator == 1:
        return fps.numerator
    return _NTSC_NUMBERS.get(fps, float(fps))


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


# --- interpolated clips: where the real samples sit --------------------------------------------------

# How a service turns F samples at sampledFps s into frames at f = interpolationFps (ratio r = f/s). The
# API document does not say, so every reading is handled; the names are those of the 2x case.
CONVENTIONS = ("2F-1", "2F", "2F+1")


def interpolated_frame_count(samples: int, sampled_fps: Fraction, fps: Fraction, convention: str) -> int:
    """Output frames of ``samples`` samples under ``convention``; sample k sits at k/s from frame 0 in all.

    * ``2F-1``: fill between samples only (RIFE 2x): ``floor((F-1)·r) + 1``, the last frame is the last
      sample (an 8n+1 clip at 2x becomes 16n+1);
    * ``2F``: keep the duration F/s: ``round(F·r)``, ending with copies of the last sample;
    * ``2F+1``: ffmpeg's ``framerate`` filter: ``round(F·r) + 1`` (two trailing repeats at 2x).
    """
    r = Fraction(fps) / sampled_fps
    if convention == "2F-1":
        return math.floor((samples - 1) * r) + 1
    if convention == "2F":
        return round_half_up(samples * r)
    if convention == "2F+1":
        return round_half_up(samples * r) + 1
    raise ValueError(f"unknown interpolation convention {convention!r}")


@dataclass(frozen=True)
class SampleGrid:
    """A clip of ``frame_count`` frames at ``fps`` made from ``samples`` samples at ``sampled_fps``.

    Frame 0 is always sample 0: the grid is anchored there, where it is exact whatever the convention,
    never at the clip's end (which differs by a frame or two between conventions). ``convention`` is
    ``same-rate`` (fps == sampled fps: frame j is sample j), one of :data:`CONVENTIONS`, or ``unknown``
    (footage that matches none: its samples are the sampled instants inside the clip).
    """

    frame_count: int
    fps: Fraction
    sampled_fps: Fraction
    samples: int
    convention: str

    @property
    def ratio(self) -> Fraction:
        return self.fps / self.sampled_fps

    def frame_of(self, k: int) -> int:
        """The output frame nearest sample ``k`` (exact for integer ratios; 25 → 60 rounds, ties later)."""
        return min(round_half_up(k * self.ratio), self.frame_count - 1)

    @property
    def last_sample_frame(self) -> int:
        """The last frame at or before the last sample: what follows it only repeats it."""
        return min(math.floor((self.samples - 1) * self.ratio), self.frame_count - 1)

    def tail(self, n: int) -> list[int]:
        """Frames of the last ``n`` samples, oldest first (what clip B is conditioned on)."""
        if n <= 0:
            raise InputError(f"-n must be ≥ 1, got {n}")
        if n > self.samples:
            raise InputError(
                f"the clip has {self.frame_count} frames at {format_fps(self.fps)} fps, too few for {n} "
                f"frames at {format_fps(self.sampled_fps)} fps"
            )
        return [self.frame_of(k) for k in range(self.samples - n, self.samples)]

    def to_json(self) -> dict[str, int | str]:
        return {"samples": self.samples, "convention": self.convention}


def sample_grid(frame_count: int, fps: Fraction, sampled_fps: Fraction, samples: int | None = None) -> SampleGrid:
    """The sample grid of a clip, inferring the number of samples F when the run does not know it.

    Known ``samples`` (from the request or the job) win. Otherwise, at one rate F is the frame count; when
    interpolated, a frame count that exactly one convention gives for an 8n+1 F means that F (this tells
    2F-1, 16n+1 frames, from 2F+1, 16n+3 frames); anything else is footage whose samples are the sampled
    instants inside it, ``k·r ≤ frame_count - 1``.
    """
    if frame_count < 1:
        raise InputError("the clip has no frames")
    r = Fraction(fps) / sampled_fps
    if samples is not None:
        if samples < 1 or math.floor((samples - 1) * r) > frame_count:
            raise InputError(f"{frame_count} frames at {format_fps(fps)} fps cannot hold {samples} samples at "
                             f"{format_fps(sampled_fps)} fps")
        if r == 1:
            return SampleGrid(frame_count, fps, sampled_fps, samples, "same-rate")
        matches = [c for c in CONVENTIONS if interpolated_frame_count(samples, sampled_fps, fps, c) == frame_count]
        return SampleGrid(frame_count, fps, sampled_fps, samples, matches[0] if matches else "unknown")
    if r == 1:
        return SampleGrid(frame_count, fps, sampled_fps, frame_count, "same-rate")
    inside = math.floor((frame_count - 1) / r) + 1  # samples at k/s ≤ the last frame's time
    if r > 1:
        found = {(c, f) for f in range(max(1, inside - 3), inside + 4) if is_valid_ltx_frames(f)
                 for c in CONVENTIONS if interpolated_frame_count(f, sampled_fps, fps, c) == frame_count}
        if len(found) == 1:
            convention, f = found.pop()
            return SampleGrid(frame_count, fps, sampled_fps, f, convention)
    return SampleGrid(frame_count, fps, sampled_fps, inside, "unknown")


def tail_source_indices(frame_count: int, fps: Fraction, n: int, sampled_fps: Fraction,
                        samples: int | None = None) -> list[int]:
    """Source frame indices of the clip's last ``n`` samples at ``sampled_fps``, oldest first.

    Sample k sits at ``k / sampledFps`` from frame 0 (:class:`SampleGrid`), so the picks are real
    samples of an interpolated clip in every convention (2F-1 at 60 from 30: 2k, never the blends
    between them). At one rate it is exactly the last ``n`` frames.
    """
    return sample_grid(frame_count, fps, sampled_fps, samples).tail(n)


# --- the splice of consecutive clips: kept frames and the audio switch --------------------------------


@dataclass(frozen=True)
class SpliceLayout:
    """Where every clip of a splice lands, on one time line, when B continues A's last ``overlap`` samples.

    B's frame 0 is A's sample ``F_A - N``: B starts ``(F_A - N) / s`` after A (``origins``, exact: audio is
    placed there to the sample) and its frames at ``round(origin · fps)`` (``placements``). A can show
    frames up to its last sample (``shown_counts``; trailing copies after it are dropped), B from its
    first frame after that; the ``overlaps[i]`` frames between are joint ``i``'s overlap, which the splice
    mode hands over in. So nothing repeats or skips, and the splice has as many frames as one clip of
    ``F_A + F_B - N`` samples in the same convention (two 2F-1 clips at 2x: ``2(F_A + F_B - N) - 1``).
    """

    fps: Fraction
    origins: tuple[Fraction, ...]  # seconds from the splice's start to each clip's frame 0 (exact)
    placements: tuple[int, ...]  # output frame of each clip's frame 0
    shown_counts: tuple[int, ...]  # frames each clip can show: up to its last sample, all of the last clip
    overlaps: tuple[int, ...]  # per joint: frames from B's frame 0 to A's last sample (B's frames to trim)

    @property
    def frame_count(self) -> int:
        return self.placements[-1] + self.shown_counts[-1]


def splice_layout(grids: Sequence[SampleGrid], overlap: int, names: Sequence[str] | None = None) -> SpliceLayout:
    """The time line of clips each continuing the previous one's last ``overlap`` samples (pure).

    Every clip must be at the first one's fps. Placements are rounded from exact origins, so a long
    chain at a non-integer ratio (25 → 60) never drifts more than half a frame. ``names`` label the clips
    in errors (default ``clip 1``, ``clip 2``, ...).
    """
    if len(grids) < 2:
        raise InputError("a splice needs at least two clips")
    label = list(names) if names is not None else [f"clip {i + 1}" for i in range(len(grids))]
    fps = grids[0].fps
    what = f"the overlap ({overlap} frames at {format_fps(grids[0].sampled_fps)} fps"
    origins = [Fraction(0)]
    placements = [0]
    shown: list[int] = []
    overlaps: list[int] = []
    for i, (a, b) in enumerate(itertools.pairwise(grids)):
        if b.fps != fps:
            raise InputError(f"{label[i + 1]} is {format_fps(b.fps)} fps, {label[0]} {format_fps(fps)} fps: "
                             "a splice needs one rate")
        if overlap >= a.samples:
            raise InputError(f"{what}) is larger than {label[i]} ({a.frame_count} frames, {a.samples} samples; "
                             f"it needs at least {overlap + 1})")
        origins.append(origins[-1] + Fraction(a.samples - overlap) / a.sampled_fps)
        end = placements[i] + a.last_sample_frame + 1  # output frame after A's last sample
        # without an overlap nobody made the frames between A's last sample and B's first: B follows A
        placements.append(min(round_half_up(origins[-1] * fps), end))
        shown.append(a.last_sample_frame + 1)
        overlaps.append(end - placements[-1])
        if overlaps[-1] >= b.frame_count:
            raise InputError(f"{what} = {overlaps[-1]} frames at {format_fps(fps)} fps) is larger than "
                             f"{label[i + 1]} ({b.frame_count} frames; it needs at least {overlaps[-1] + 1})")
    shown.append(grids[-1].frame_count)
    for i in range(1, len(grids) - 1):
        if overlaps[i - 1] >= placements[i + 1] - placements[i]:
            raise InputError(f"{what}) is larger than {label[i]} ({grids[i].frame_count} frames; it shares "
                             f"{overlaps[i - 1]} with the clip before and "
                             f"{shown[i] - placements[i + 1] + placements[i]} with the next)")
    return SpliceLayout(fps, tuple(origins), tuple(placements), tuple(shown), tuple(overlaps))


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


def timestamp_slack(time_base: Fraction, sample_rate: int, frame_samples: int = 0) -> int:
    """Samples a frame's timestamp may stray from the running sample count and still mean "no gap".

    One tick of the container's clock (Matroska/WebM: 1 ms, 48 samples at 48 kHz) plus one sample: 1024
    AAC samples last 21.33 ms, stored as 21 or 22 ms, so every timestamp is off by up to half a tick.
    And less than half the previous frame (``frame_samples``) is jitter whatever the clock: a stream loses
    whole packets, while an mp4 remuxed from a 1 ms source steps 1040 ticks where 1024 samples passed.
    """
    return max(math.ceil(time_base * sample_rate) + 1, frame_samples // 2)


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
    (30000/1001 fps at 48 kHz is 1601.6 samples a frame: spans alternate 1601/1602). Integer arithmetic,
    the same as ``seconds_to_sample(frame / fps, sample_rate)``: a render asks once a frame.
    """
    num, den = fps.numerator, fps.denominator
    return (2 * frame * sample_rate * den + num) // (2 * num)


def overlap_pairs(grid_a: SampleGrid, overlap: int, fps_b: Fraction) -> list[tuple[int, int]]:
    """``(a_index, b_index)`` for each of the ``overlap`` samples B was conditioned on, oldest first.

    A's side is the tail the extractor sends (:meth:`SampleGrid.tail`); B's side is B's frame at the
    same sampled instant ``k / sampled_fps`` of B's own timeline (nearest, ties later), so a B rendered
    at 60 fps from a 25 fps sampling is compared with the right frames, not the first ``overlap`` ones.
    """
    return [(a, round_half_up(Fraction(k) * fps_b / grid_a.sampled_fps)) for k, a in enumerate(grid_a.tail(overlap))]


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


def parse_number(value: Number, *, name: str, minimum: float | None = None, maximum: float | None = None) -> float:
    """A finite number within ``[minimum, maximum]``, from text or a number.

    Every numeric option and setting goes through here: NaN compares false with every bound, so an
    unchecked ``nan`` silently disables a limit (``--confirm-usd nan`` never asks), and ``inf`` never ends
    a wait or overflows the ``int`` it becomes. The error names the accepted range.
    """
    bounds = (f"from {minimum:g}" if minimum is not None else "") + (
        f"{' ' if minimum is not None else ''}up to {maximum:g}" if maximum is not None else "")
    what = f"{name} must be a finite number{' ' + bounds if bounds else ''}"
    try:
        number = float(Decimal(str(value).strip()))
    except (InvalidOperation, ValueError, OverflowError):
        raise InputError(f"{what}, got {value!r}") from None
    if not math.isfinite(number) or (minimum is not None and number < minimum) or (
            maximum is not None and number > maximum):
        raise InputError(f"{what}, got {value!r}")
    return number
