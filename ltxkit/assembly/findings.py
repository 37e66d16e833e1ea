"""What a viewer sees at the cut, found from the frames either side of it and stated in words.

The overlap check in :mod:`ltxkit.assembly.seam` compares B's overlap with the A frames it repeats;
a defect that starts with B's first *new* frame (a white-balance shift, a freeze) passes it. Here
the *shown* sequence — A up to the cut, B from it — is read as a viewer reads it: each measure's
step at the cut is compared with the same measure's own variation a few frames either side, so fast
motion or a lighting change in the shot is not mistaken for a seam.

Frames are RGB uint8 on the output timeline at one rate. ``a[i]`` is A at local frame ``i``;
``b[k]`` is B at local frame ``b_start + k``; frames ``b_start .. len(a)`` are the overlap; the viewer
sees ``a[:cut]`` then ``b[cut - b_start:]``.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ltxkit.assembly.colour import delta_e76, rgb_to_lab
from ltxkit.assembly.measures import LEVELS, lower_is_better, luma, rms_db

WINDOW = 3  # frames averaged each side of a step (averages out motion, not the step)
MAX_WIDTH = 160  # measures use frames strided down to at most this width (speed; noise averages)
COLOUR_DE = (3.0, 6.0)  # chroma (a*, b*) shift of the mean colour at the cut, ΔE: check / bad
EXPOSURE_L = (3.0, 6.0)  # L* step
CONTRAST_PCT = (10.0, 20.0)  # relative change of L* spread (gain-invariant)
SATURATION_PCT = (12.0, 25.0)  # relative change of the a*b* spread around the mean colour
STEP_RATIO = 3.0  # a step must also be this many times the measure's own step elsewhere in the window
OVERLAP_DE = 2.5  # mean-colour ΔE between B's overlap and A's same frames above which all of B is shifted
FLASH_L = (4.0, 8.0)  # L* of a 1–2 frame excursion that comes back
FREEZE_FRAMES = 4  # B is frozen when this many frames after one stay as close to it …
FREEZE_FRACTION = 0.35  # … as two encodes of one picture are, and closer than this share of A's drift over as many
FREEZE_LEVELS = 0.5  # the encodes' difference when there is no overlap to measure it (block luma levels)
FREEZE_BLOCK = 4  # the freeze is judged on luma averaged over blocks this wide (of the frames at MAX_WIDTH)
# (a repeated picture re-encoded "breathes" by up to ~0.6 levels a frame, ~0.45 on blocks: bbb and carphone)
FREEZE_WINDOW = 8  # frames after the cut in which a freeze starts to count as the seam's (A's motion: as many)
MOTION_FLOOR = 0.15  # luma levels a frame: below this A is a still shot and a still B is fine
COARSE_WIDTH = 40  # motion is compared on luma averaged down to about this many columns
SAFE_MARGIN = 0.15  # the motion measure leaves out this share of the height at top and bottom
SKIP_EXCESS = (0.45, 0.8)  # change at the cut beyond a clean cut's, in frames of the shot's motion
PACE_EXCESS = (0.35, 0.7)  # B's own pace at the cut beyond its pace elsewhere (clean bbb/carphone: −0.4..0.22)
OFFSET_RATIO = 0.75  # B's overlap is a frame off when A's next (previous) frames match it this much better
PACE_TRIM = 0.2
PACE_REGIONS = 3  # the pace is read in 3×3 regions: what moves most sets it, not a local event (a caption)
PACE_SPAN = 10  # B's own pace at the cut is compared with its pace this many frames either side
REPEAT_EXCESS = 0.5  # … this much less than a clean cut: a frame shown twice
GEOMETRY_SHIFT = (0.015, 0.03)  # global shift jump, share of the frame width
GEOMETRY_SCALE = (0.025, 0.05)  # global zoom jump
SCALES = tuple(round(0.90 + 0.01 * i, 2) for i in range(21))
AUDIO_DB = (3.0, 6.0)  # level mismatch after the source's own change is taken out
AUDIO_SILENCE_DB = -60.0


@dataclass(frozen=True)
class CutFrames:
    """A's tail and B's head on one output timeline (see the module docstring for the indices)."""

    a: Sequence[np.ndarray]
    b: Sequence[np.ndarray]
    b_start: int
    cut: int

    def __post_init__(self) -> None:
        if not 0 <= self.b_start <= self.cut <= len(self.a) or self.cut - self.b_start >= len(self.b):
            raise ValueError(f"cut {self.cut} not within A (0..{len(self.a)}) and B "
                             f"({self.b_start}..{self.b_start + len(self.b)})")

    @property
    def shown(self) -> list[np.ndarray]:
        return [*self.a[: self.cut], *self.b[self.cut - self.b_start:]]

    @property
    def first_new(self) -> int:
        """Local index of B's first frame that A does not have."""
        return len(self.a)

    @property
    def pairs(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(self.a[i], self.b[i - self.b_start]) for i in range(self.b_start, len(self.a))]


@dataclass(frozen=True)
class Finding:
    """One defect: what kind, how big (in ``unit``), where, in words, and what to do."""

    kind: str  # colour, exposure, contrast, saturation, flash, frozen, skipped, repeated, geometry, audio
    level: str  # check or bad
    size: float
    unit: str
    frame: int  # local output frame where the viewer first sees it
    words: str
    advice: str


def verdict(findings: Sequence[Finding]) -> str:
    return max((f.level for f in findings), key=LEVELS.index, default="ok")


# --- per-frame measures ------------------------------------------------------------------------------


def _small(frame: np.ndarray) -> np.ndarray:
    step = max(1, math.ceil(frame.shape[1] / MAX_WIDTH))
    return frame[::step, ::step]


def _safe(frame: np.ndarray) -> np.ndarray:
    """The frame without its top and bottom ``SAFE_MARGIN``: a burnt-in timecode or caption there
    ticks over every frame, whatever the shot does."""
    margin = round(frame.shape[0] * SAFE_MARGIN)
    return frame[margin:frame.shape[0] - margin]


def frame_stats(frame: np.ndarray) -> np.ndarray:
    """(L*, cast a*, cast b*, contrast, colourfulness, chroma spread) of one frame, each blind to the others' defect.

    A grade step is read as one change of one kind. An exposure step scales L*+16 and every a*, b*
    alike (CIELAB's cube root of a scaled light): contrast (the spread of L*) is divided by L*+16. A
    contrast or saturation change scales the colours' spread about their mean *and* the mean colour
    itself: the cast is the mean a*, b* divided by that spread (only a translation — a white-balance
    shift — moves it), and colourfulness is the a*b* spread divided by the L* spread (a contrast change
    scales both). The spread comes last, to turn a cast step back into ΔE. Read in the action-safe
    middle, as the motion is (:func:`_safe`): a caption's black and white is not the picture's grade.
    """
    lab = rgb_to_lab(_small(_safe(frame))).reshape(-1, 3)
    m = lab.mean(0)
    spread = max(math.sqrt(float(lab[:, 1].var() + lab[:, 2].var())), 1e-3)
    tone = max(float(lab[:, 0].std()), 1e-3)
    return np.array([m[0], m[1] / spread, m[2] / spread, tone / (m[0] + 16.0), spread / tone, spread])


def _window_step(s: np.ndarray, p: int, skip: set[int]) -> float | None:
    """Mean of the ``WINDOW`` usable values from ``p`` on minus the mean of those before ``p``."""
    after = [i for i in range(p, len(s)) if i not in skip][:WINDOW]
    before = [i for i in range(p - 1, -1, -1) if i not in skip][:WINDOW]
    if len(after) < WINDOW or len(before) < WINDOW:
        return None
    return float(s[after].mean() - s[before].mean())


def _own_steps(s: np.ndarray, around: int, skip: set[int]) -> float:
    """Median |step| of the measure at positions at least a window away from ``around``."""
    steps = [abs(v) for p in range(len(s)) if abs(p - around) >= WINDOW
             if (v := _window_step(s, p, skip)) is not None]
    return float(np.median(steps)) if steps else 0.0


def _colour_words(da: float, db: float) -> str:
    if abs(db) >= abs(da):
        return "warmer" if db > 0 else "cooler"
    return "more magenta" if da > 0 else "greener"


def _where(frame: int, data: CutFrames) -> str:
    if frame >= data.first_new:
        return "from its first new frame" + ("" if frame == data.first_new else f" + {frame - data.first_new}")
    return "from the cut"


def _colour_findings(data: CutFrames, stats: np.ndarray, skip: set[int]) -> list[Finding]:
    out: list[Finding] = []
    a_lab = np.mean([rgb_to_lab(_small(a)).reshape(-1, 3).mean(0) for a, _ in data.pairs], axis=0) \
        if data.pairs else None
    b_lab = np.mean([rgb_to_lab(_small(b)).reshape(-1, 3).mean(0) for _, b in data.pairs], axis=0) \
        if data.pairs else None
    whole_b = a_lab is not None and b_lab is not None and float(delta_e76(a_lab, b_lab)) > OVERLAP_DE
    positions = sorted({data.cut, data.first_new} & set(range(1, len(stats))))
    for p in positions:
        steps = [_window_step(stats[:, c], p, skip) for c in range(5)]
        if any(v is None for v in steps):
            continue
        dl, da, db, dc, ds = (float(v or 0.0) for v in steps)
        own = [_own_steps(stats[:, c], p, skip) for c in range(5)]
        spread = float(np.mean(stats[max(0, p - WINDOW):p, 5]))  # the cast's steps in ΔE at A's colour spread
        da, db = da * spread, db * spread
        chroma = math.hypot(da, db)
        own_chroma = spread * math.hypot(own[1], own[2])
        where = "over all of B (already in the overlap)" if whole_b else _where(p, data)
        advice_src = "estimated from the overlap" if whole_b else "from B's first new frames"
        if chroma > COLOUR_DE[0] and chroma > STEP_RATIO * own_chroma:
            de = round(chroma, 1)  # the cast alone: an exposure step is its own finding
            out.append(Finding("colour", lower_is_better(chroma, COLOUR_DE), de, "ΔE76", p,
                               f"B is {_colour_words(da, db)} than A by ΔE {de:.1f} {where}",
                               f"use --color-match mkl ({advice_src})"))
        if abs(dl) > EXPOSURE_L[0] and abs(dl) > STEP_RATIO * own[0]:
            out.append(Finding("exposure", lower_is_better(abs(dl), EXPOSURE_L), round(dl, 2), "L*", p,
                               f"B is {abs(dl):.1f} L* {'brighter' if dl > 0 else 'darker'} than A {where}",
                               "use --color-match hm (or reinhard)"))
        for kind, value, base, limits, own_v, noun in (
                ("contrast", dc, stats[p - 1, 3], CONTRAST_PCT, own[3], "contrast"),
                ("saturation", ds, stats[p - 1, 4], SATURATION_PCT, own[4], "saturation")):
            pct = 100 * value / max(float(base), 1e-6)
            if abs(pct) > limits[0] and abs(value) > STEP_RATIO * own_v:
                out.append(Finding(kind, lower_is_better(abs(pct), limits), round(pct, 1), "%", p,
                                   f"B has {abs(pct):.0f} % {'more' if pct > 0 else 'less'} {noun} than A {where}",
                                   "use --color-match reinhard" if kind == "contrast" else "use --color-match mkl"))
        if out:
            break  # the same step seen again at the other position is not a second defect
    return out


def _flash(data: CutFrames, lum: np.ndarray) -> tuple[Finding | None, set[int]]:
    """A run of 1–2 frames near the cut whose L* leaves the level both sides agree on, and comes back."""
    best: tuple[float, int, int] | None = None
    for p in range(max(WINDOW, data.cut - 2), min(len(lum) - WINDOW - 1, data.first_new + 4) + 1):
        for f in (1, 2):
            before, after = lum[p - WINDOW:p], lum[p + f:p + f + WINDOW]
            if len(after) < WINDOW:
                continue
            base = float(np.concatenate([before, after]).mean())
            run = lum[p:p + f] - base
            dev = float(run.mean())
            sides = abs(float(after.mean() - before.mean()))
            if abs(dev) > FLASH_L[0] and np.all(np.sign(run) == np.sign(dev)) \
                    and np.all(np.abs(run) > 0.5 * abs(dev)) and abs(dev) > 3 * sides \
                    and (best is None or abs(dev) > abs(best[0])):
                best = (dev, p, f)
    if best is None:
        return None, set()
    dev, p, f = best
    return Finding("flash", lower_is_better(abs(dev), FLASH_L), round(dev, 2), "L*", p,
                   f"a {f}-frame {'bright' if dev > 0 else 'dark'} flash ({dev:+.1f} L*) "
                   f"{_where(p, data).replace('from', 'at')}",
                   "regenerate this segment (another seed); a flash cannot be graded away"), set(range(p, p + f))


def _motion(frames: Sequence[np.ndarray]) -> np.ndarray:
    ys = [luma(_small(f)) for f in frames]
    return np.array([float(np.mean(np.abs(y1 - y0))) for y0, y1 in itertools.pairwise(ys)])


def _blocks(frame: np.ndarray) -> np.ndarray:
    """Luma averaged over ``FREEZE_BLOCK``-wide blocks: the fine grain that two encodes of one picture
    differ by averages out, a moving picture's change does not."""
    y = luma(_small(frame))
    k = FREEZE_BLOCK
    h, w = y.shape[0] // k * k, y.shape[1] // k * k
    out: np.ndarray = y[:h, :w].reshape(h // k, k, w // k, k).mean(axis=(1, 3))
    return out


def _frozen(data: CutFrames, shown: Sequence[np.ndarray]) -> Finding | None:
    """B stops moving after the overlap while A was moving: the model's frozen output.

    Frozen frames are one picture encoded again and again, which "breathes" a little from frame to frame
    as the encoder refines it, so they are compared with the first of them rather than with each other:
    B is frozen from a frame when the next ``FREEZE_FRAMES`` all stay as close to it as two encodes of one
    picture are (B's overlap against the A frames it repeats), and much closer than A drifts in as many.
    """
    m = _motion(shown)  # m[i]: change from shown frame i to i+1
    a_motion = float(np.median(m[max(0, data.cut - 1 - FREEZE_WINDOW):data.cut - 1])) if data.cut > 1 else 0.0
    if a_motion < MOTION_FLOOR or data.cut <= FREEZE_FRAMES:
        return None
    ys = [_blocks(f) for f in shown]

    def change(x: np.ndarray, y: np.ndarray) -> float:
        return float(np.mean(np.abs(x - y)))

    def matched(x: np.ndarray, y: np.ndarray) -> float:  # y at x's mean and spread: a grade is no motion
        return change(x, (y - y.mean()) * (x.std() / max(float(y.std()), 1e-6)) + x.mean())

    noise = float(np.median([matched(_blocks(a), _blocks(b)) for a, b in data.pairs])) if data.pairs \
        else FREEZE_LEVELS
    a_drift = float(np.median([change(ys[i], ys[i + FREEZE_FRAMES])
                               for i in range(max(0, data.cut - FREEZE_WINDOW - FREEZE_FRAMES),
                                              data.cut - FREEZE_FRAMES)]))
    limit = min(noise, FREEZE_FRACTION * a_drift)
    first = max(data.cut, data.first_new - 1)
    for start in range(first, min(len(ys) - FREEZE_FRAMES, first + FREEZE_WINDOW)):  # a stop much later is
        run = next((j for j in range(1, len(ys) - start)                                 # the shot's own
                    if change(ys[start], ys[start + j]) >= limit), len(ys) - start) - 1
        if run >= FREEZE_FRAMES:
            k = start + 1 - data.b_start  # the first frame that repeats its predecessor, as B's index
            return Finding("frozen", "bad", float(run), "frames", start + 1,
                           f"B freezes from its frame {k}: {run} frames without motion while A moves "
                           f"{a_motion:.1f} levels a frame",
                           "regenerate this segment (another seed or prompt); frozen output is a model failure")
    return None


# --- geometry ----------------------------------------------------------------------------------------


def _hann(shape: tuple[int, ...]) -> np.ndarray:
    return np.outer(np.hanning(shape[0]), np.hanning(shape[1]))


def _spectrum(img: np.ndarray, win: np.ndarray) -> np.ndarray:
    """Half spectrum (the input is real: half the transform's work) of ``img`` less its mean, windowed."""
    out: np.ndarray = np.fft.rfft2((img - img.mean()) * win)
    return out


def _peak(fx: np.ndarray, fy: np.ndarray, shape: tuple[int, ...]) -> tuple[int, int]:
    """The (dx, dy) at the phase correlation's peak of two half spectra (:func:`_spectrum`) of ``shape``."""
    r = fy * np.conj(fx)
    corr = np.fft.irfft2(r / np.maximum(np.abs(r), 1e-9), s=shape)
    dy, dx = np.unravel_index(int(np.argmax(corr)), corr.shape)
    h, w = corr.shape
    return (int(dx) - w if dx > w // 2 else int(dx)), (int(dy) - h if dy > h // 2 else int(dy))


def phase_shift(x: np.ndarray, y: np.ndarray) -> tuple[int, int]:
    """Integer (dx, dy) that moves ``x``'s content onto ``y``'s (phase correlation, Hann-windowed)."""
    win = _hann(x.shape)
    return _peak(_spectrum(x, win), _spectrum(y, win), x.shape)


@functools.lru_cache(maxsize=256)
def _magnifier(n: int, s: float) -> np.ndarray:
    """n×n matrix of the linear interpolation that magnifies n samples by ``s`` about their centre (the
    edges repeat): one matrix product per axis instead of four gathers, and the same at every call."""
    at = np.clip((np.arange(n) - (n - 1) / 2) / s + (n - 1) / 2, 0, n - 1)
    lo = np.floor(at).astype(int)
    hi = np.minimum(lo + 1, n - 1)
    out = np.zeros((n, n))
    np.add.at(out, (np.arange(n), lo), 1 - (at - lo))
    np.add.at(out, (np.arange(n), hi), at - lo)
    return out


def _zoom(img: np.ndarray, s: float) -> np.ndarray:
    """``img`` magnified by ``s`` about its centre (bilinear; edges repeat)."""
    h, w = img.shape
    out: np.ndarray = _magnifier(h, s) @ img @ _magnifier(w, s).T
    return out


def _aligned_error(x: np.ndarray, y: np.ndarray, s: float, dx: int, dy: int,
                   zoomed: np.ndarray | None = None) -> float:
    """Mean difference of ``x`` zoomed by ``s`` (``zoomed``, when the caller has it) and moved by (dx, dy)
    against ``y``, away from the wrapped edges; infinite when the move leaves nothing to compare (phase
    correlation's peak at half the frame on unrelated pictures), so an unmeasurable move never wins nor
    compares as NaN."""
    h, w = x.shape
    m = max(abs(dx), abs(dy)) + max(2, round(0.1 * min(h, w)))
    if 2 * m >= min(h, w):
        return math.inf
    moved = np.roll(_zoom(x, s) if zoomed is None else zoomed, (dy, dx), axis=(0, 1))
    return float(np.mean(np.abs(moved[m:h - m, m:w - m] - y[m:h - m, m:w - m])))


def global_motion(x: np.ndarray, y: np.ndarray) -> tuple[float, int, int, float]:
    """(zoom, dx, dy, residual) best taking luma ``x`` to ``y``: the camera's move between two frames.

    ``y``'s spectrum and the window are the same at every scale: computed once."""
    best: tuple[float, int, int, float] | None = None
    win = _hann(x.shape)
    fy = _spectrum(y, win)
    for s in SCALES:
        zx = _zoom(x, s)
        dx, dy = _peak(_spectrum(zx, win), fy, x.shape)
        e = _aligned_error(x, y, s, dx, dy, zx)
        if best is None or e < best[3] - 1e-9:
            best = (s, dx, dy, e)
    assert best is not None
    return best


def _geometry(data: CutFrames, shown: Sequence[np.ndarray]) -> Finding | None:
    p = data.cut
    if p < 2 or p + 1 >= len(shown):
        return None
    ys = [luma(_small(shown[i])) for i in (p - 2, p - 1, p, p + 1)]
    before, cut, after = (global_motion(x, y) for x, y in itertools.pairwise(ys))
    if math.inf in (before[3], cut[3], after[3]):
        return None  # a move that cannot be measured is no evidence of a jump; the picture checks judge the cut
    s = cut[0] / math.sqrt(before[0] * after[0])
    w = ys[0].shape[1]
    shift = math.hypot(cut[1] - (before[1] + after[1]) / 2, cut[2] - (before[2] + after[2]) / 2) / w
    local = (math.sqrt(before[0] * after[0]), round((before[1] + after[1]) / 2), round((before[2] + after[2]) / 2))
    if _aligned_error(ys[1], ys[2], *local) < 1.5 * cut[3]:
        return None  # the usual move between frames explains the cut about as well: no jump
    zoom = abs(math.log(s))
    if zoom <= GEOMETRY_SCALE[0] and shift <= GEOMETRY_SHIFT[0]:
        return None
    level = max(lower_is_better(zoom, GEOMETRY_SCALE), lower_is_better(shift, GEOMETRY_SHIFT), key=LEVELS.index)
    if zoom > GEOMETRY_SCALE[0]:
        words, size, unit = f"the picture zooms {'in' if s > 1 else 'out'} {100 * zoom:.0f} % at the cut", \
            round(100 * zoom, 1), "%"
    else:
        words, size, unit = f"the picture jumps {100 * shift:.1f} % of its width at the cut", \
            round(100 * shift, 2), "% width"
    return Finding("geometry", level, size, unit, p, words,
                   "try --cut best or --mode crossfade; regenerate if B's framing differs")


def _coarse(frame: np.ndarray) -> np.ndarray:
    """Luma block-averaged to about ``COARSE_WIDTH`` columns and normalised (mean 0, std 1).

    Codec noise is fine-grained and two clips encoded apart differ by it everywhere, while motion
    survives the averaging; normalising keeps exposure or contrast steps out of the motion measure.
    Only the action-safe middle is read (:func:`_safe`).
    """
    y = luma(_safe(frame))
    k = max(1, y.shape[1] // COARSE_WIDTH)
    h, w = y.shape[0] // k * k, y.shape[1] // k * k
    c = y[:h, :w].reshape(h // k, k, w // k, k).mean(axis=(1, 3))
    out: np.ndarray = (c - c.mean()) / max(float(c.std()), 1e-6)
    return out


def _regions(x: np.ndarray) -> list[np.ndarray]:
    return [c for row in np.array_split(x, PACE_REGIONS, axis=0) for c in np.array_split(row, PACE_REGIONS, axis=1)]


def _pace(frames: Sequence[np.ndarray], p: int) -> tuple[np.ndarray, np.ndarray]:
    """Per region of the picture, the change into frame ``p`` against the two-frame changes either side
    of it (about ½ where the motion runs on evenly, up to ~0.8 where a change saturates, twice that
    where a frame is missing), and those two-frame changes (how much the region moves)."""
    def change(i: int, j: int) -> np.ndarray:
        return np.array([float(np.mean(np.abs(r))) for r in _regions(frames[i] - frames[j])])

    span = (change(p - 3, p - 1) + change(p, p + 2)) / 2
    return change(p - 1, p) / np.maximum(span, 1e-9), span


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    total = np.cumsum(weights[order])
    return float(values[order][int(np.searchsorted(total, total[-1] / 2))]) if total[-1] > 0 else 0.0


def _offset(coarse: dict[int, np.ndarray], b_coarse: dict[int, np.ndarray]) -> int:
    """+1 when B's overlap (``b_coarse``, by output frame) shows A's *next* frames (B runs a frame ahead), −1
    when A's previous ones, else 0."""
    def cost(o: int) -> float | None:
        steps = [float(np.mean(np.abs(coarse[i + o] - b_coarse[i]))) for i in b_coarse if i + o in coarse]
        return float(np.median(steps)) if len(steps) >= 2 else None

    aligned = cost(0)
    if aligned is None:
        return 0
    off = {o: c for o in (-1, 1) if (c := cost(o)) is not None and c < OFFSET_RATIO * aligned}
    return min(off, key=off.__getitem__) if off else 0


def _temporal(data: CutFrames, shown: Sequence[np.ndarray], skip: set[int]) -> Finding | None:
    """A skipped or repeated frame at the cut, against the shot's own motion: three readings, in turn.

    * B off by a frame: its overlap matches A's frames one later (or earlier) much better than the
      frames it is shown with (an ``--overlap`` or fps mistake); the cut then skips (repeats) a frame.
    * B's own frames, where it has three before the cut (its overlap copies, then its new frames: one
      encode): the change into the cut against the two-frame changes either side (:func:`_pace`),
      relative to the same ratio elsewhere in B. A frame B skips after its conditioning frames doubles it.
    * Else the shown sequence: the change from A's frame to B's at the cut, net of what a clean cut
      changes. A's and B's copies of a frame were encoded apart, so even a perfect cut changes more than
      two frames of one file do; switching from A's frame i−1 to B's frame i inside the overlap measures
      that. What is left over is compared with one frame of the shot's own motion.
    """
    def change(x: np.ndarray, y: np.ndarray) -> float:
        return float(np.mean(np.abs(_coarse(x) - _coarse(y))))

    p = data.cut
    if p < 1 or p >= len(shown) or p in skip or p - 1 in skip:
        return None
    within = [change(shown[i - 1], shown[i]) for i in range(max(1, p - 4), min(len(shown), p + 5))
              if i != p and i not in skip and i - 1 not in skip]
    if len(within) < 4:
        return None
    motion = float(np.median(within))
    if motion * 50 < MOTION_FLOOR:  # ~50 levels a unit of normalised luma: a still shot shows neither
        return None
    own = [_coarse(f) for f in (*data.a[:data.b_start], *data.b)]  # B's frames, A's before B starts
    overlap = range(data.b_start, min(data.first_new, data.b_start + len(data.b)))
    offset = _offset({i: _coarse(data.a[i]) for i in range(max(0, data.b_start - 1), len(data.a))},
                     {i: own[i] for i in overlap})
    if offset:
        return Finding("skipped" if offset > 0 else "repeated", "bad", float(offset), "frames", p,
                       f"B runs one frame {'ahead of' if offset > 0 else 'behind'} A: a frame is "
                       f"{'skipped' if offset > 0 else 'shown twice'} at the cut",
                       "check --overlap and --sampled-fps: B's overlap is off by one frame")
    if p - 3 >= data.b_start and p + 2 < len(own) and not skip & set(range(p - 3, p + 3)):
        span = range(max(data.b_start + 3, p - PACE_SPAN), min(len(own) - 2, p + PACE_SPAN + 1))
        others = [_pace(own, i)[0] for i in span if i != p and not skip & set(range(i - 3, i + 3))]
        if len(others) < 4:
            return None
        at, moves = _pace(own, p)
        excess = _weighted_median(at / np.maximum(np.median(others, axis=0), 1e-9) - 1, moves)
        limits = PACE_EXCESS
    else:
        clean = [change(data.a[i - 1], data.b[i - data.b_start]) for i in range(max(1, data.b_start), data.first_new)
                 if i != p and i - data.b_start < len(data.b)]
        excess = (change(shown[p - 1], shown[p]) - (float(np.median(clean)) if clean else motion)) / motion
        limits = SKIP_EXCESS
    if excess < -REPEAT_EXCESS:
        return Finding("repeated", "check", round(excess, 2), "frames of motion", p,
                       "a frame is shown twice at the cut (the picture stops for one frame)",
                       "check --overlap: the cut is off by one frame")
    if excess > limits[0]:
        return Finding("skipped", lower_is_better(excess, limits), round(excess, 2), "frames of motion", p,
                       f"a frame seems skipped at the cut: the picture moves {excess:.1f} frames' worth "
                       f"more than a clean cut", "check --overlap and the fps of B; or regenerate")
    return None


def find_defects(data: CutFrames) -> list[Finding]:
    """Every visible defect at the cut, worst first."""
    shown = data.shown
    stats = np.array([frame_stats(f) for f in shown])
    flash, flash_frames = _flash(data, stats[:, 0])
    found: list[Finding] = [flash] if flash else []
    found += _colour_findings(data, stats, flash_frames)
    if frozen := _frozen(data, shown):
        found.append(frozen)
    if geometry := _geometry(data, shown):
        found.append(geometry)
    elif not found and (temporal := _temporal(data, shown, flash_frames)):
        found.append(temporal)  # a grade step, a freeze or a flash changes the picture too: not judged then
    return sorted(found, key=lambda f: -LEVELS.index(f.level))


# --- audio -------------------------------------------------------------------------------------------


def audio_finding(a: np.ndarray, b: np.ndarray, *, b_start: int, switch: int, rate: int,
                  window: int | None = None) -> Finding | None:
    """The level jump at the audio switch, net of what the source itself does there.

    ``a`` (channels × samples) starts at sample 0, ``b`` at ``b_start``; the viewer hears A before
    ``switch`` and B from it. What A plays *after* the switch (the overlap) — or, when A has ended,
    B's own level just before it — is what the soundtrack does by itself: a crescendo is in both and
    cancels, a gain error of B is not.
    """
    w = window or rate // 10
    heard_before = rms_db(a[:, switch - w:switch])
    heard_after = rms_db(b[:, switch - b_start:switch - b_start + w])
    if max(heard_before, heard_after) < AUDIO_SILENCE_DB:
        return None
    jump = heard_after - heard_before
    if switch + w <= a.shape[1]:
        own = rms_db(a[:, switch:switch + w]) - heard_before
    elif switch - w >= b_start:
        own = heard_after - rms_db(b[:, switch - w - b_start:switch - b_start])
    else:
        own = 0.0
    net = jump - own
    level = lower_is_better(abs(net), AUDIO_DB)
    if level == "ok":
        return None
    return Finding("audio", level, round(net, 2), "dB", switch,
                   f"B's sound is {abs(net):.1f} dB {'louder' if net > 0 else 'quieter'} than A's at the switch "
                   f"(heard jump {jump:+.1f} dB, of which the soundtrack's own change {own:+.1f} dB)",
                   f"apply {-net:+.1f} dB to B's audio, or take the audio from A (--audio-from a)")


# --- choosing the cut --------------------------------------------------------------------------------


def _lab_blocks(frame: np.ndarray) -> np.ndarray:
    """CIELAB of the action-safe picture averaged over blocks about ``COARSE_WIDTH`` across: a cut's
    colour, exposure and framing mismatch survive the averaging, codec noise does not."""
    lab = rgb_to_lab(_small(_safe(frame)))
    k = max(1, lab.shape[1] // COARSE_WIDTH)
    h, w = lab.shape[0] // k * k, lab.shape[1] // k * k
    out: np.ndarray = lab[:h, :w].reshape(h // k, k, w // k, k, 3).mean(axis=(1, 3))
    return out


def _step(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(delta_e76(x, y)))


def cut_costs(data: CutFrames, positions: Sequence[int] | None = None) -> dict[int, float]:
    """How visible the picture is through the overlap when B takes over at each position ``p``.

    Cutting at ``p`` shows A up to ``p - 1`` and B from ``p``: the viewer sees A's own steps before
    it, the jump from A's last kept frame to B's first kept one across it, and B's own steps after.
    Each position is charged the change (mean ΔE76 of block colours) of every shown step through the
    overlap, so every position pays for the same number of steps at the same instants: the jump
    where it is made, and a copy of B that is off wherever it is shown. B's copies that a cut hides
    cost nothing.
    """
    lo = max(1, data.b_start)  # the first step: into output frame lo
    hi = min(data.first_new, data.b_start + len(data.b) - 1)  # the last: into B's first new frame
    pos = [p for p in (positions if positions is not None else range(lo, hi + 1)) if lo <= p <= hi]
    if not pos:
        return {}
    a = {i: _lab_blocks(data.a[i]) for i in range(lo - 1, min(hi, data.first_new))}
    b = {i: _lab_blocks(data.b[i - data.b_start]) for i in range(data.b_start, hi + 1)}
    out: dict[int, float] = {}
    for p in pos:
        shown = [a[i] if i < p else b[i] for i in range(lo - 1, hi + 1)]
        out[p] = sum(_step(x, y) for x, y in itertools.pairwise(shown))
    return out


CUT_MARGIN = 1.0  # ΔE76 summed over the overlap's steps a cut must save to move off the mode's position


def best_cut(costs: dict[int, float], default: int) -> int:
    """The cheapest position; positions within ``CUT_MARGIN`` (or 1 %) of it are ties, and ties go to the
    one nearest ``default``: the cut moves only for a visible gain, and the choice is stable."""
    if not costs:
        return default
    low = min(costs.values())
    near = low + max(CUT_MARGIN, 0.01 * low) + 1e-12
    return min((p for p, c in costs.items() if c <= near), key=lambda p: (abs(p - default), p))
