"""What the emulator charges at submit time: the seed's documented prices, stand-ins where it has none.

The API document publishes formulas for the audio tasks and ``video.combine`` and only *how*
``video.generate`` pricing scales (sampled frame count, output resolution, reference audio, +50% for
``extremeQuality``), not the rates. The emulator needs *some* price so that balances, 402s and
"charged once" can be exercised; the invented rates are marked STAND-IN below and must never be
quoted as the real service's prices.
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
MICRO = Decimal("0.000001")

# STAND-IN rates (not published by the service).
VIDEO_USD_PER_FRAME_MEGAPIXEL = Decimal("0.0012")
VIDEO_REFERENCE_AUDIO_FACTOR = Decimal("1.2")
IMAGE_USD = Decimal("0.03")
TRELLIS_USD = Decimal("0.10")
SPEECH_CHARS_PER_SECOND = 15

# Documented by the service.
EXTREME_QUALITY_FACTOR = Decimal("1.5")
HIGH_DETAIL_FACTOR = Decimal("1.5")
COMBINE_USD_PER_CLIP = Decimal("0.005")
COMBINE_MIN_CLIPS = 2
SPEAK_TIERS = ((3, Decimal("0.01")), (7, Decimal("0.02")), (10, Decimal("0.03")))
ANNOTATION_TIERS = ((60, Decimal("0.03")), (120, Decimal("0.05")), (180, Decimal("0.07")))
ANNOTATION_DEFAULT_SECONDS = 120


def quality_kbps(value: object, default: int = 128) -> int:
    """``"192k"`` → 192; anything unreadable → ``default``."""
    match = re.fullmatch(r"\s*(\d+)\s*k?\s*", str(value)) if value is not None else None
    return int(match.group(1)) if match else default


def speech_seconds(text: str) -> Decimal:
    """Estimated speech duration of ``text`` (STAND-IN: 15 characters a second)."""
    return Decimal(len(text)) / SPEECH_CHARS_PER_SECOND


def _tiered(seconds: Decimal, tiers: tuple[tuple[int, Decimal], ...], step: int, step_usd: Decimal) -> Decimal:
    """The documented tier table; beyond its last band (STAND-IN) ``step_usd`` per started ``step`` s."""
    for limit, usd in tiers:
        if seconds <= limit:
            return usd
    last_limit, last_usd = tiers[-1]
    return last_usd + step_usd * math.ceil((seconds - last_limit) / step)


def _video_usd(inp: dict[str, Any]) -> Decimal:
    megapixels = Decimal(int(inp["width"]) * int(inp["height"])) / 1_000_000
    usd = VIDEO_USD_PER_FRAME_MEGAPIXEL * int(inp["durationFrames"]) * megapixels
    if inp.get("referenceAudio") is not None or inp.get("referenceAudioUrl") is not None:
        usd *= VIDEO_REFERENCE_AUDIO_FACTOR
    if inp.get("extremeQuality") is True:
        usd *= EXTREME_QUALITY_FACTOR
    return max(CENT, usd.quantize(CENT, rounding=ROUND_CEILING))


def price_usd(task: str, effective_input: dict[str, Any]) -> Decimal:
    """The submit-time charge for a validated job (``effective_input`` as the emulator resolved it).

    This is a STAND-IN price model for the emulator, not the service's price list:

    * ``video.generate`` (STAND-IN rates, documented scaling): $0.0012 × sampled frames
      (``durationFrames``) × output megapixels (``width × height / 10⁶``), × 1.2 with reference audio,
      × 1.5 with ``extremeQuality``; rounded up to the cent, at least $0.01. Interpolation is free.
      Example: 257 frames at 1280x1280 with reference audio = $0.61.
    * ``video.combine`` (documented): $0.005 per input clip, two-clip minimum.
    * ``image.generate`` / ``image.edit`` (STAND-IN): $0.03 per image, × 1.5 with ``highDetail``.
    * ``audio.speak`` (documented tiers): estimated duration (15 chars/s) ≤3 s $0.01, ≤7 s $0.02,
      ≤10 s $0.03, then (STAND-IN) +$0.01 per started 3 s.
    * ``audio.annotation.reference`` (documented tiers): transcript-estimated duration (default band
      120 s without one) ≤60 s $0.03, ≤120 s $0.05, ≤180 s $0.07, then (STAND-IN) +$0.02 per started 60 s.
    * ``ace.step.create`` (documented): max($0.05, durationSeconds × qualityKbps × $0.000008).
    * ``moss.sound.effect`` (documented): max($0.01, durationSeconds × $0.004 + maxNewTokens × $0.000008),
      ``maxNewTokens`` 1024 when absent (STAND-IN default).
    * ``trellis.generate`` (STAND-IN): $0.10.

    Amounts are exact decimals rounded half-up to the micro-dollar.
    """
    inp = effective_input
    if task == "video.generate":
        usd = _video_usd(inp)
    elif task == "video.combine":
        usd = COMBINE_USD_PER_CLIP * max(COMBINE_MIN_CLIPS, len(inp["videoUrls"]))
    elif task in ("image.generate", "image.edit"):
        usd = IMAGE_USD * (HIGH_DETAIL_FACTOR if inp.get("highDetail") is True else 1)
    elif task == "audio.speak":
        usd = _tiered(speech_seconds(str(inp.get("text", ""))), SPEAK_TIERS, 3, CENT)
    elif task == "audio.annotation.reference":
        transcript = inp.get("transcript")
        seconds = speech_seconds(transcript) if isinstance(transcript, str) and transcript.strip() \
            else Decimal(ANNOTATION_DEFAULT_SECONDS)
        usd = _tiered(seconds, ANNOTATION_TIERS, 60, Decimal("0.02"))
    elif task == "ace.step.create":
        seconds = Decimal(str(inp["durationSeconds"]))
        usd = max(Decimal("0.05"), seconds * quality_kbps(inp.get("quality")) * Decimal("0.000008"))
    elif task == "moss.sound.effect":
        seconds = Decimal(str(inp["durationSeconds"]))
        tokens = int(inp.get("maxNewTokens", 1024))
        usd = max(Decimal("0.01"), seconds * Decimal("0.004") + tokens * Decimal("0.000008"))
    elif task == "trellis.generate":
        usd = TRELLIS_USD
    else:
        raise ValueError(f"no price for task {task!r}")
    return usd.quantize(MICRO, rounding=ROUND_HALF_UP)
