"""How good is the seam between A and B? Numbers from the decoded frames and audio at the cut.

Only a few frames and a fraction of a second of audio either side of the cut are decoded (readers
seek), so rating a seam costs the same at the end of a ten-minute clip as of a ten-second one.

* overlap fidelity — PSNR and SSIM (luma, 7×7 box windows, plain numpy) of B's overlap frames against
  the A frames they were conditioned on, paired by sampled instant (B at 60 fps from a 25 fps
  sampling is compared at the right times);
* seam jump — the luma change across the cut relative to the median frame-to-frame change around
  it, so fast motion is not mistaken for a seam;
* colour drift — mean RGB and chroma (Cb/Cr) shift of B's overlap against A's tail (same content);
* brightness flicker — the mean-luma step across the cut relative to the local luma variation;
* audio level jump — RMS level just before against just after the audio switch;
* A/V offset — the lag that best aligns B's overlap audio with A's (cross-correlation; positive
  means B's sound lags A's, i.e. lags B's own picture, which the splice aligned to A's).

Each metric gets a level (ok / check / bad) from the thresholds below; the verdict is the worst.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from ltxkit.assembly.edit import Joint, SplicePlan
from ltxkit.frames.readers import AudioReader, VideoReader
from ltxkit.timing import format_fps, frame_to_sample, overlap_pairs, seconds_to_sample

# --- thresholds (ok if better than the first value, bad if worse than the second) -----------------
PSNR_DB = (30.0, 22.0)  # overlap fidelity: B's overlap frames against the A frames they repeat
SSIM = (0.90, 0.75)
SEAM_JUMP_RATIO = (3.0, 6.0)  # cut change ÷ median neighbouring change (codec noise and uneven motion reach ~2)
SEAM_JUMP_FLOOR = 2.0  # luma levels: a change this small is never a seam, whatever the ratio
COLOUR_DRIFT_LEVELS = (4.0, 10.0)  # largest mean R/G/B shift, 8-bit levels
FLICKER_RATIO = (3.0, 6.0)  # mean-luma step ÷ local mean-luma variation
FLICKER_FLOOR = 1.5  # luma levels: steps below this are not visible flicker
AUDIO_JUMP_DB = (3.0, 8.0)
AUDIO_SILENCE_DB = -60.0  # both sides quieter than this: no level jump to speak of
AV_OFFSET_MS = (20.0, 40.0)  # lip-sync becomes noticeable from about 45 ms
AV_MIN_CORRELATION = 0.5  # a weaker peak means the overlap audio is unrelated: offset not rated

THRESHOLDS: dict[str, Any] = {
    "psnr_db": {"ok_at_least": PSNR_DB[0], "bad_below": PSNR_DB[1]},
    "ssim": {"ok_at_least": SSIM[0], "bad_below": SSIM[1]},
    "seam_jump_ratio": {"ok_at_most": SEAM_JUMP_RATIO[0], "bad_above": SEAM_JUMP_RATIO[1],
                        "ignored_below_levels": SEAM_JUMP_FLOOR},
    "colour_drift_levels": {"ok_at_most": COLOUR_DRIFT_LEVELS[0], "bad_above": COLOUR_DRIFT_LEVELS[1]},
    "flicker_ratio": {"ok_at_most": FLICKER_RATIO[0], "bad_above": FLICKER_RATIO[1],
                      "ignored_below_levels": FLICKER_FLOOR},
    "audio_jump_db": {"ok_at_most": AUDIO_JUMP_DB[0], "bad_above": AUDIO_JUMP_DB[1],
                      "silence_db": AUDIO_SILENCE_DB},
    "av_offset_ms": {"ok_at_most": AV_OFFSET_MS[0], "bad_above": AV_OFFSET_MS[1],
                     "min_correlation": AV_MIN_CORRELATION},
}

LEVELS = ("ok", "check", "bad")
ANALYSIS_MAX_WIDTH = 640  # metrics are computed on frames no wider than this (speed, codec noise)
AUDIO_WINDOW_SECONDS = Fraction(1, 10)
AV_MAX_LAG_SECONDS = Fraction(3, 50)


def higher_is_better(value: float, limits: tuple[float, float]) -> str:
    return "ok" if value >= limits[0] else "check" if value >= limits[1] else "bad"


def lower_is_better(value: float, limits: tuple[float, float]) -> str:
    return "ok" if value <= limits[0] else "check" if value <= limits[1] else "bad"


# --- image measures ----------------------------------------------------------------------------------


def luma(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma of an RGB uint8 frame as float64."""
    f = rgb.astype(np.float64)
    return 0.299 * f[..., 0] + 0.587 * f[..., 1] + 0.114 * f[..., 2]


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


def _mean_abs(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.abs(x - y)))


def _chroma(rgb_mean: np.ndarray) -> tuple[float, float]:
    r, g, b = (float(v) for v in rgb_mean)
    return (-0.168736 * r - 0.331264 * g + 0.5 * b, 0.5 * r - 0.418688 * g - 0.081312 * b)


# --- audio measures ----------------------------------------------------------------------------------


def rms_db(samples: np.ndarray) -> float:
    """RMS level in dBFS over all channels (−120 for digital silence)."""
    if samples.size == 0:
        return -120.0
    rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
    return max(-120.0, 20 * math.log10(rms)) if rms > 0 else -120.0


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
class SeamFrames:
    """Decoded frames (RGB uint8, analysis size) and audio around one joint."""

    joint: Joint
    fps: Fraction
    pairs: list[tuple[int, int]]  # (A index, B index) of the conditioned overlap frames
    a_frames: dict[int, np.ndarray]
    b_frames: dict[int, np.ndarray]
    a_window: list[int]  # A indices up to the cut (oldest first)
    b_window: list[int]  # B indices from the cut
    kept_preview: list[int]  # B's first kept frames for the contact sheet
    audio: dict[str, np.ndarray] | None  # before/after the switch, A's and B's overlap
    sample_rate: int | None


def scaled_size(width: int, height: int, max_width: int) -> tuple[int, int]:
    """``width``×``height`` shrunk to at most ``max_width`` wide, aspect kept, both even (yuv420p).

    Even in every case, also for a clip that needs no shrinking: the review clip is h264 4:2:0, which
    cannot be opened at an odd size, so an odd clip loses its last row or column instead.
    """
    if width <= max_width:
        return max(2, width - width % 2), max(2, height - height % 2)
    h = round(height * max_width / width)
    return max(2, max_width - max_width % 2), max(2, h + (h % 2))


def _decode(reader: VideoReader, indices: set[int], size: tuple[int, int]) -> dict[int, np.ndarray]:
    if not indices:
        return {}
    lo, hi = min(indices), max(indices)
    return {i: f for i, f in enumerate(reader.rgb(lo, hi - lo + 1, size), start=lo) if i in indices}


def load_seam(plan: SplicePlan, *, window: int = 6, preview: int | None = None) -> SeamFrames:
    """Decode what the metrics and the contact sheet need for the first joint of a two-clip ``plan``."""
    a_info, b_info = plan.infos[0], plan.infos[1]
    joint = plan.joints[0]
    pairs = overlap_pairs(a_info.frame_count, a_info.fps, plan.overlap, plan.sampled_fps, b_info.fps) \
        if plan.overlap > 0 else []
    pairs = [(a, b) for a, b in pairs if b < b_info.frame_count]
    a_window = list(range(max(0, joint.a_last_frame - window + 1), joint.a_last_frame + 1))
    b_window = list(range(joint.b_first_frame, min(b_info.frame_count, joint.b_first_frame + window)))
    kept_preview = b_window[: preview if preview is not None else max(1, min(len(pairs), 8))]
    size = scaled_size(a_info.width, a_info.height, ANALYSIS_MAX_WIDTH)
    with VideoReader(a_info.path, a_info) as a_reader, VideoReader(b_info.path, b_info) as b_reader:
        a_frames = _decode(a_reader, {a for a, _ in pairs} | set(a_window), size)
        b_frames = _decode(b_reader, {b for _, b in pairs} | set(b_window), size)
    audio = None
    rate = None
    tl = plan.timeline
    if tl.audio is not None:
        rate = tl.sample_rate
        audio = _load_audio(plan, joint, rate, tl.layout)
    return SeamFrames(joint=joint, fps=plan.fps, pairs=pairs, a_frames=a_frames, b_frames=b_frames,
                      a_window=a_window, b_window=b_window, kept_preview=kept_preview, audio=audio,
                      sample_rate=rate)


def _load_audio(plan: SplicePlan, joint: Joint, rate: int, layout: str) -> dict[str, np.ndarray]:
    fps = plan.fps
    win = seconds_to_sample(AUDIO_WINDOW_SECONDS, rate)
    b_origin = frame_to_sample(joint.overlap_start, fps, rate)  # output sample of B's sample 0
    switch = frame_to_sample(joint.audio_switch_frame, fps, rate)
    ov0 = b_origin
    ov1 = frame_to_sample(joint.overlap_start + plan.overlap_frames, fps, rate)
    with AudioReader(plan.infos[0].path, rate, layout, plan.infos[0]) as a_reader, \
            AudioReader(plan.infos[1].path, rate, layout, plan.infos[1]) as b_reader:
        # what is heard after the handover is B alone: from the switch (a cut) or the end of a fade
        after_at = frame_to_sample(joint.overlap_start + plan.mode.sound(plan.overlap_frames, plan.audio_from).stop,
                                   fps, rate)
        return {
            "a_overlap": a_reader.read(ov0, ov1 - ov0),
            "before": a_reader.read(switch - win, win),
            "b_overlap": b_reader.read(0, ov1 - ov0),
            "after": b_reader.read(after_at - b_origin, win),
        }


# --- the measures ------------------------------------------------------------------------------------


def measure(data: SeamFrames) -> dict[str, Any]:
    """All metrics, their levels and the verdict, as a JSON-able dict."""
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
    # seam jump and flicker from luma around the cut
    a_l = [luma(data.a_frames[i]) for i in data.a_window]
    b_l = [luma(data.b_frames[i]) for i in data.b_window]
    jump = _mean_abs(a_l[-1], b_l[0])
    neighbours = [_mean_abs(x, y) for seq in (a_l, b_l) for x, y in itertools.pairwise(seq)]
    motion = float(np.median(neighbours)) if neighbours else 0.0
    ratio = jump / max(motion, 0.5)
    metrics["seam_jump"] = {"a_frame": j.a_last_frame, "b_frame": j.b_first_frame,
                            "cut_levels": round(jump, 3), "median_neighbour_levels": round(motion, 3),
                            "ratio": round(ratio, 3)}
    levels["seam_jump"] = "ok" if jump <= SEAM_JUMP_FLOOR else lower_is_better(ratio, SEAM_JUMP_RATIO)
    a_y = [float(y.mean()) for y in a_l]
    b_y = [float(y.mean()) for y in b_l]
    step = b_y[0] - a_y[-1]
    local = [abs(y1 - y0) for seq in (a_y, b_y) for y0, y1 in itertools.pairwise(seq)]
    variation = float(np.median(local)) if local else 0.0
    f_ratio = abs(step) / max(variation, 0.25)
    metrics["brightness_flicker"] = {"luma_step": round(step, 3), "local_variation": round(variation, 3),
                                     "ratio": round(f_ratio, 3)}
    levels["brightness_flicker"] = ("ok" if abs(step) <= FLICKER_FLOOR
                                    else lower_is_better(f_ratio, FLICKER_RATIO))
    # colour drift over the overlap (same content on both sides); without an overlap, across the cut
    a_set = [data.a_frames[a] for a, _ in data.pairs] or [data.a_frames[data.a_window[-1]]]
    b_set = [data.b_frames[b] for _, b in data.pairs] or [data.b_frames[data.b_window[0]]]
    a_mean = np.mean([f.reshape(-1, 3).mean(0) for f in a_set], axis=0)
    b_mean = np.mean([f.reshape(-1, 3).mean(0) for f in b_set], axis=0)
    delta = b_mean - a_mean
    (a_cb, a_cr), (b_cb, b_cr) = _chroma(a_mean), _chroma(b_mean)
    drift = float(np.abs(delta).max())
    metrics["colour_drift"] = {"rgb_shift": [round(float(d), 3) for d in delta],
                               "chroma_shift": [round(b_cb - a_cb, 3), round(b_cr - a_cr, 3)],
                               "max_levels": round(drift, 3)}
    levels["colour_drift"] = lower_is_better(drift, COLOUR_DRIFT_LEVELS)
    if data.audio is not None and data.sample_rate:
        _audio_metrics(data.audio, data.sample_rate, metrics, levels)
    else:
        metrics["audio"] = None
    verdict = max(levels.values(), key=LEVELS.index) if levels else "ok"
    return {"verdict": verdict, "levels": levels, "metrics": metrics, "thresholds": THRESHOLDS,
            "cut": {"a": str(j.a), "b": str(j.b), "cut_frame": j.cut_frame,
                    "cut_seconds": float(Fraction(j.cut_frame) / data.fps), "fps": format_fps(data.fps),
                    "a_last_frame": j.a_last_frame, "b_first_frame": j.b_first_frame}}


def _audio_metrics(audio: dict[str, np.ndarray], rate: int, metrics: dict[str, Any],
                   levels: dict[str, str]) -> None:
    before, after = rms_db(audio["before"]), rms_db(audio["after"])
    jump = after - before
    metrics["audio_level_jump"] = {"before_db": round(before, 2), "after_db": round(after, 2),
                                   "jump_db": round(jump, 2)}
    silent = max(before, after) < AUDIO_SILENCE_DB
    levels["audio_level_jump"] = "ok" if silent else lower_is_better(abs(jump), AUDIO_JUMP_DB)
    a, b = audio["a_overlap"].mean(axis=0), audio["b_overlap"].mean(axis=0)
    if len(a) < 32:
        metrics["av_offset"] = None
        return
    max_lag = min(round(AV_MAX_LAG_SECONDS * rate), len(a) // 2)
    lag, corr = best_lag(a.astype(np.float64), b.astype(np.float64), max_lag)
    ms = 1000 * lag / rate
    reliable = corr >= AV_MIN_CORRELATION
    metrics["av_offset"] = {"offset_ms": round(ms, 2), "correlation": round(corr, 3), "reliable": reliable,
                            "search_ms": round(1000 * max_lag / rate, 1)}
    if reliable:
        levels["av_offset"] = lower_is_better(abs(ms), AV_OFFSET_MS)

