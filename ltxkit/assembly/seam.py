"""How good is the seam between A and B? Numbers from the decoded frames and audio at the cut.

Only a few frames and a fraction of a second of audio either side of the cut are decoded (readers
seek), so rating a seam costs the same at the end of a ten-minute clip as of a ten-second one.

* overlap fidelity — PSNR and SSIM (luma, 7×7 box windows, plain numpy) of B's overlap frames against
  the A frames they were conditioned on, paired by sampled instant (B at 60 fps from a 25 fps
  sampling is compared at the right times);
* findings — every visible defect across the cut (colour, exposure, contrast, saturation, flash,
  freeze, skipped or repeated frame, geometric jump; the audio level net of the soundtrack's own
  change), in words with their size and advice (:mod:`ltxkit.assembly.findings`);
* A/V offset — the lag that best aligns B's overlap audio with A's (cross-correlation; positive
  means B's sound lags A's, i.e. lags B's own picture, which the splice aligned to A's).

Each metric and finding has a level (ok / check / bad); the verdict is the worst.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from ltxkit.assembly import findings
from ltxkit.assembly.edit import Joint, SplicePlan
from ltxkit.assembly.findings import CutFrames, Finding, audio_finding, find_defects
from ltxkit.assembly.measures import LEVELS, higher_is_better, lower_is_better, luma
from ltxkit.frames.convert import reformat
from ltxkit.frames.readers import AudioReader, VideoReader
from ltxkit.timing import format_fps, frame_to_sample, overlap_pairs, seconds_to_sample

# --- thresholds (ok if better than the first value, bad if worse than the second) -----------------
PSNR_DB = (30.0, 22.0)  # overlap fidelity: B's overlap frames against the A frames they repeat
SSIM = (0.90, 0.75)
AV_OFFSET_MS = (20.0, 40.0)  # lip-sync becomes noticeable from about 45 ms
AV_MIN_CORRELATION = 0.5  # a weaker peak means the overlap audio is unrelated: offset not rated

THRESHOLDS: dict[str, Any] = {
    "psnr_db": {"ok_at_least": PSNR_DB[0], "bad_below": PSNR_DB[1]},
    "ssim": {"ok_at_least": SSIM[0], "bad_below": SSIM[1]},
    "findings": {"colour_de76": findings.COLOUR_DE, "exposure_l": findings.EXPOSURE_L,
                 "contrast_pct": findings.CONTRAST_PCT, "saturation_pct": findings.SATURATION_PCT,
                 "flash_l": findings.FLASH_L, "audio_db": findings.AUDIO_DB, "geometry_shift": findings.GEOMETRY_SHIFT,
                 "geometry_scale": findings.GEOMETRY_SCALE, "skip_excess_frames": findings.SKIP_EXCESS,
                 "pace_excess_frames": findings.PACE_EXCESS},
    "av_offset_ms": {"ok_at_most": AV_OFFSET_MS[0], "bad_above": AV_OFFSET_MS[1],
                     "min_correlation": AV_MIN_CORRELATION},
}

# What each level that is not a finding means to someone watching the cut, ok / check / bad: the report
# and the review page say these words (a finding says its own, with its size: :mod:`findings`).
LEVEL_WORDS = {
    "overlap_psnr": ("B's overlap repeats the frames it continues",
                     "B's overlap drifts a little from the frames it continues",
                     "B's overlap does not match the frames it continues"),
    "overlap_ssim": ("detail holds through the overlap", "detail softens in the overlap",
                     "detail breaks up in the overlap"),
    "av_offset": ("lip sync holds", "lip sync may be slightly off", "lip sync is off"),
}
CLEAN_WORDS = ("Nothing visible at the cut: no colour, exposure, flash, freeze, skipped frame, jump or audio "
               "level defect found.")

ANALYSIS_MAX_WIDTH = 640  # metrics are computed on frames no wider than this (speed, codec noise)
FINDINGS_MAX_WIDTH = 320  # the findings read more frames; their measures average over blocks anyway
FINDINGS_BEFORE = 13  # A frames before the overlap the findings read (their windows need a few)
FINDINGS_AFTER = 32  # B frames after the overlap (a freeze counts when it starts within 8)
AUDIO_WINDOW_SECONDS = Fraction(1, 10)
AV_MAX_LAG_SECONDS = Fraction(3, 50)


# --- image measures ----------------------------------------------------------------------------------


def psnr(x: np.ndarray, y: np.ndarray) -> float:
    """PSNR in dB of two uint8 images (capped at 100 dB for identical images)."""
    mse = float(np.mean((x.astype(np.float64) - y.astype(np.float64)) ** 2))
    return 100.0 if mse <= 1e-10 else min(100.0, 10 * math.log10(255.0**2 / mse))


def _box(img: np.ndarray, k: int) -> np.ndarray:
    """Mean over every k×k window (valid region) via an integral image."""
    c: np.ndarray = np.pad(img, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    out: np.ndarray = (c[k:, k:] - c[:-k, k:] - c[k:, :-k] + c[:-k, :-k]) / (k * k)
    return out


def ssim(x: np.ndarray, y: np.ndarray, *, window: int = 7) -> float:
    """Mean SSIM of two luma images (float, 0..255) with uniform ``window``×``window`` statistics."""
    k = min(window, x.shape[0], x.shape[1])
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mx, my = _box(x, k), _box(y, k)
    sxx = _box(x * x, k) - mx * mx
    syy = _box(y * y, k) - my * my
    sxy = _box(x * y, k) - mx * my
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return float(s.mean())


# --- audio measures ----------------------------------------------------------------------------------


def best_lag(reference: np.ndarray, signal: np.ndarray, max_lag: int) -> tuple[int, float]:
    """Lag (samples, positive = ``signal`` late) maximising the correlation, and that correlation.

    Normalised by the full energies, so a shorter overlap at larger lags counts less: ties between the
    periods of a steady tone go to the smallest lag.
    """
    a = reference - reference.mean()
    b = signal - signal.mean()
    norm = math.sqrt(float(np.dot(a, a)) * float(np.dot(b, b)))
    if norm <= 0:
        return 0, 0.0
    n = len(a)
    best = (0, -2.0)
    for lag in range(-max_lag, max_lag + 1):
        c = float(np.dot(a[: n - lag], b[lag:])) if lag >= 0 else float(np.dot(a[-lag:], b[: n + lag]))
        c /= norm
        if c > best[1] + 1e-9 or (abs(c - best[1]) <= 1e-9 and abs(lag) < abs(best[0])):
            best = (lag, c)
    return best


# --- loading what is measured ------------------------------------------------------------------------


@dataclass(frozen=True)
class SeamSound:
    """The audio around one joint, in samples: what the A/V offset and the audio finding read."""

    a_overlap: np.ndarray  # A and B over the overlap (same instants)
    b_overlap: np.ndarray
    a: np.ndarray  # A from output sample ``origin`` to its end
    b: np.ndarray  # B from its start (output sample ``b_start``)
    origin: int
    b_start: int
    switch: int  # output sample where B's audio takes over
    rate: int


@dataclass(frozen=True)
class SeamFrames:
    """Decoded frames (RGB uint8, analysis size) and audio around one joint."""

    joint: Joint
    fps: Fraction
    pairs: list[tuple[int, int]]  # (A index, B index) of the conditioned overlap frames
    a_frames: dict[int, np.ndarray]
    b_frames: dict[int, np.ndarray]
    kept_preview: list[int]  # B's first kept frames for the contact sheet
    cut: CutFrames  # A's tail and B's head as the findings read them (smaller frames)
    cut_origin: int  # output frame of ``cut``'s local frame 0
    sound: SeamSound | None
    scaled: dict[tuple[Path, int], av.VideoFrame] = field(default_factory=dict)  # for the review clip

def scaled_size(width: int, height: int, max_width: int) -> tuple[int, int]:
    """``width``×``height`` shrunk to at most ``max_width`` wide, aspect kept, both even (yuv420p).

    Even in every case, also for a clip that needs no shrinking: the review clip is h264 4:2:0, which
    cannot be opened at an odd size, so an odd clip loses its last row or column instead.
    """
    if width <= max_width:
        return max(2, width - width % 2), max(2, height - height % 2)
    h = round(height * max_width / width)
    return max(2, max_width - max_width % 2), max(2, h + (h % 2))


Convert = Callable[[av.VideoFrame], Any]
SHRINK_INTERPOLATION = "AREA"  # swscale filter of :func:`shrunk`: averages, so no aliasing, and cheaper than bilinear


def shrunk(frame: av.VideoFrame, size: tuple[int, int]) -> av.VideoFrame:
    """``frame`` at the analysis ``size`` when it is wider (yuv420p, area-averaged), else as it is.

    The one scaling every use of a large frame starts from: its RGB at the analysis and the findings
    size, and the review clip's picture (the same size). From 1080p, RGB straight at 640 px cost 3.3 ms
    a frame and at 320 px 1.4 ms; shrinking once costs 0.7 ms, and each conversion after it 0.25-0.4 ms.
    """
    if frame.width <= size[0]:
        return frame
    return reformat(frame, size[0], size[1], "yuv420p", SHRINK_INTERPOLATION, threads=1)


def rgb_at(size: tuple[int, int]) -> Convert:
    return lambda frame: reformat(frame, size[0], size[1], "rgb24", threads=1).to_ndarray()


def findings_rgb(reader: VideoReader, start: int, count: int, display: tuple[int, int]) -> list[np.ndarray]:
    """Frames as the findings of a seam whose A is ``display`` large read them (:attr:`SeamFrames.cut`):
    for choosing a cut or estimating a colour match on the same pixels the review then rates."""
    size, small = scaled_size(*display, ANALYSIS_MAX_WIDTH), scaled_size(*display, FINDINGS_MAX_WIDTH)
    to_rgb = rgb_at(small)
    return [to_rgb(shrunk(f, size)) for f in reader.frames(start, count)]


def _decode(reader: VideoReader, wants: Sequence[tuple[set[int], Convert]],
            size: tuple[int, int]) -> list[dict[int, Any]]:
    """Each ``(indices, convert)`` of ``wants`` from one forward pass over the file, every frame
    :func:`shrunk` to ``size`` first: the overlap pairs, the preview, the findings' and the review clip's
    frames overlap, and a second pass would seek back and decode the same GOP again."""
    out: list[dict[int, Any]] = [{} for _ in wants]
    every = set().union(*(indices for indices, _ in wants))
    if not every:
        return out
    lo, hi = min(every), max(every)
    for i, frame in enumerate(reader.frames(lo, hi - lo + 1), start=lo):
        small = shrunk(frame, size)
        for got, (indices, convert) in zip(out, wants, strict=True):
            if i in indices:
                got[i] = convert(small)
    return out


def load_seam(plan: SplicePlan, *, preview: int | None = None, scale: Convert | None = None,
              also: Mapping[Path, set[int]] | None = None) -> SeamFrames:
    """Decode what the metrics and the contact sheet need for the first joint of a two-clip ``plan``,
    through each clip's colour correction (what the viewer sees); and, in the same pass, the frames
    ``also`` names passed through ``scale`` (:attr:`SeamFrames.scaled`: the review clip's), which gets
    them :func:`shrunk` like every other use."""
    a_info, b_info = plan.infos[0], plan.infos[1]
    joint = plan.joints[0]
    r = plan.overlap_at_clip_fps
    pairs = overlap_pairs(plan.grids[0], plan.overlap, b_info.fps) if plan.overlap > 0 else []
    pairs = [(a, b) for a, b in pairs if b < b_info.frame_count]
    shown = preview if preview is not None else max(1, min(len(pairs), 8))
    kept_preview = list(range(joint.b_first_frame, min(b_info.frame_count, joint.b_first_frame + shown)))
    size = scaled_size(*a_info.display_size, ANALYSIS_MAX_WIDTH)
    small = scaled_size(*a_info.display_size, FINDINGS_MAX_WIDTH)
    b_at = joint.overlap_start - plan.placements[0]  # A's frame shown with B's frame 0
    a_from = max(0, b_at - FINDINGS_BEFORE)
    b_to = min(b_info.frame_count, r + FINDINGS_AFTER)
    with VideoReader(a_info.path, a_info) as a_reader, VideoReader(b_info.path, b_info) as b_reader:
        extra = also or {}
        a_frames, a_cut, a_scaled = _decode(a_reader, [({a for a, _ in pairs}, rgb_at(size)),
                                                       (set(range(a_from, a_info.frame_count)), rgb_at(small)),
                                                       (extra.get(a_info.path, set()), scale or rgb_at(size))],
                                            size)
        b_frames, b_cut, b_scaled = _decode(b_reader, [({b for _, b in pairs} | set(kept_preview), rgb_at(size)),
                                                       (set(range(b_to)), rgb_at(small)),
                                                       (extra.get(b_info.path, set()), scale or rgb_at(size))],
                                            size)
    scaled = {(a_info.path, i): f for i, f in a_scaled.items()} | {(b_info.path, i): f for i, f in b_scaled.items()}
    a_tail, b_head = [a_cut[i] for i in sorted(a_cut)], [b_cut[i] for i in sorted(b_cut)]
    # rated as delivered: a colour-matched clip's pictures as the splice shows them
    a_frames = {k: plan.delivered(0, k, [f])[0] for k, f in a_frames.items()}
    b_frames = {k: plan.delivered(1, k, [f])[0] for k, f in b_frames.items()}
    a_tail, b_head = plan.delivered(0, a_from, a_tail), plan.delivered(1, 0, b_head)
    b_start = b_at - a_from
    cut = CutFrames(a=a_tail, b=b_head, b_start=b_start, cut=joint.cut_frame - joint.overlap_start + b_start)
    tl = plan.timeline
    sound = _load_audio(plan, joint, tl.sample_rate, tl.layout) if tl.audio is not None else None
    return SeamFrames(joint=joint, fps=plan.fps, pairs=pairs, a_frames=a_frames, b_frames=b_frames,
                      kept_preview=kept_preview, cut=cut,
                      cut_origin=joint.overlap_start - cut.b_start, sound=sound, scaled=scaled)


def _load_audio(plan: SplicePlan, joint: Joint, rate: int, layout: str) -> SeamSound:
    fps = plan.fps
    win = seconds_to_sample(AUDIO_WINDOW_SECONDS, rate)
    b_origin = seconds_to_sample(plan.layout.origins[1], rate)  # output sample of B's sample 0 (exact)
    switch = seconds_to_sample(joint.audio_switch_seconds, rate)
    a_end = frame_to_sample(plan.infos[0].frame_count, fps, rate)
    ov1 = frame_to_sample(joint.overlap_start + plan.overlap_at_clip_fps, fps, rate)
    origin = max(0, min(b_origin, switch) - 2 * win)
    with AudioReader(plan.infos[0].path, rate, layout, plan.infos[0]) as a_reader, \
            AudioReader(plan.infos[1].path, rate, layout, plan.infos[1]) as b_reader:
        return SeamSound(a_overlap=a_reader.read(b_origin, ov1 - b_origin), b_overlap=b_reader.read(0, ov1 - b_origin),
                         a=a_reader.read(origin, a_end - origin), b=b_reader.read(0, switch - b_origin + 2 * win),
                         origin=origin, b_start=b_origin, switch=switch, rate=rate)


# --- the measures ------------------------------------------------------------------------------------


def seam_words(levels: dict[str, str], found: Sequence[dict[str, Any]] = ()) -> list[dict[str, str]]:
    """A seam in words, worst first: each finding's own (``metric`` is its kind), then every other level's
    from :data:`LEVEL_WORDS`; what the report lists and the review page shows for a candidate."""
    words = [{"metric": f["kind"], "level": f["level"], "text": f["words"]} for f in found]
    words += [{"metric": k, "level": v, "text": LEVEL_WORDS[k][LEVELS.index(v)]}
              for k, v in levels.items() if k in LEVEL_WORDS and v in LEVELS]
    return sorted(words, key=lambda w: -LEVELS.index(w["level"]))


def finding_json(f: Finding, origin: int, fps: Fraction) -> dict[str, Any]:
    """A finding with its frame on the output timeline (``origin`` = output frame of its local 0)."""
    return {**asdict(f), "frame": origin + f.frame, "seconds": round(float((origin + f.frame) / fps), 3)}


def measure(data: SeamFrames) -> dict[str, Any]:
    """All metrics, the findings, their levels and the verdict, as a JSON-able dict."""
    metrics: dict[str, Any] = {}
    levels: dict[str, str] = {}
    j = data.joint
    # overlap fidelity
    if data.pairs:
        ps = [psnr(data.a_frames[a], data.b_frames[b]) for a, b in data.pairs]
        ss = [ssim(luma(data.a_frames[a]), luma(data.b_frames[b])) for a, b in data.pairs]
        metrics["overlap_fidelity"] = {
            "pairs": [[a, b] for a, b in data.pairs],
            "psnr_db": [round(p, 2) for p in ps], "ssim": [round(s, 4) for s in ss],
            "psnr_db_mean": round(float(np.mean(ps)), 2), "psnr_db_min": round(min(ps), 2),
            "ssim_mean": round(float(np.mean(ss)), 4), "ssim_min": round(min(ss), 4),
        }
        levels["overlap_psnr"] = higher_is_better(float(np.mean(ps)), PSNR_DB)
        levels["overlap_ssim"] = higher_is_better(float(np.mean(ss)), SSIM)
    found = find_defects(data.cut)
    origin = data.cut_origin
    if data.sound is not None:
        s = data.sound
        heard = audio_finding(s.a, s.b, b_start=s.b_start - s.origin, switch=s.switch - s.origin, rate=s.rate)
        if heard is not None:  # its frame: the output frame holding the switch sample
            found.append(replace(heard, frame=j.audio_switch_frame - origin))
        metrics["av_offset"] = _av_offset(s, levels)
    else:
        metrics["av_offset"] = None
    for f in found:
        levels[f.kind] = max(levels.get(f.kind, "ok"), f.level, key=LEVELS.index)
    verdict = max(levels.values(), key=LEVELS.index) if levels else "ok"
    return {"verdict": verdict, "levels": levels, "metrics": metrics, "thresholds": THRESHOLDS,
            "findings": [finding_json(f, origin, data.fps) for f in found],
            "cut": {"a": str(j.a), "b": str(j.b), "cut_frame": j.cut_frame,
                    "cut_seconds": float(Fraction(j.cut_frame) / data.fps), "fps": format_fps(data.fps),
                    "a_last_frame": j.a_last_frame, "b_first_frame": j.b_first_frame}}


def _av_offset(sound: SeamSound, levels: dict[str, str]) -> dict[str, Any] | None:
    a, b = sound.a_overlap.mean(axis=0), sound.b_overlap.mean(axis=0)
    if len(a) < 32:
        return None
    rate = sound.rate
    max_lag = min(round(AV_MAX_LAG_SECONDS * rate), len(a) // 2)
    lag, corr = best_lag(a.astype(np.float64), b.astype(np.float64), max_lag)
    ms = 1000 * lag / rate
    reliable = corr >= AV_MIN_CORRELATION
    if reliable:
        levels["av_offset"] = lower_is_better(abs(ms), AV_OFFSET_MS)
    return {"offset_ms": round(ms, 2), "correlation": round(corr, 3), "reliable": reliable,
            "search_ms": round(1000 * max_lag / rate, 1)}
