"""media-jobs (the primary API): extend = overlap frames, oldest first, plus optional reference audio.

Everything the neutral request can say maps onto ``video.generate``; local media go inline as base64,
and the input is checked by the same :mod:`ltxkit.api_schema` rules as ``ltxkit jobs submit``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from ltxkit.api_schema import validate_task_input
from ltxkit.jobs.models import JobRequest, VideoCombine, audio_value, image_value
from ltxkit.jobs.pricebook import Price
from ltxkit.jobs.providers.base import Built, Provider
from ltxkit.jobs.providers.capabilities import Capabilities
from ltxkit.jobs.providers.request import ExtendRequest, MediaArg, is_url
from ltxkit.timing import fps_number

# video.combine "is billed as a utility operation at $0.005 per input clip with a two-clip minimum"
COMBINE_USD_PER_CLIP = Decimal("0.005")


def _media(value: MediaArg, field_name: str, audio: bool = False) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    return (audio_value if audio else image_value)(value, field_name)


@dataclass(frozen=True)
class MediaJobsProvider(Provider):
    """``MEDIA_JOBS``: every wire field is the :class:`Provider` default; adds the neutral-request builder."""

    capabilities: Capabilities = field(default_factory=lambda: Capabilities(
        overlap_frames="`overlapFrameImages`, oldest first", last_frame="one overlap frame",
        reference_audio="`referenceAudio`", combine="`video.combine`",
        remarks={"uploads": "media goes inline as base64", "quote": "stand-in price charged at submit; `balance`",
                 "server_extend": "extends are built from overlap frames"}))

    def build(self, request: ExtendRequest) -> Built:
        inp: dict[str, Any] = {"prompt": request.prompt}
        frames = request.conditioning
        if frames and all(is_url(f) for f in frames):
            inp["overlapFrameImageUrls"] = list(frames)
        elif frames:
            inp["overlapFrameImages"] = [_media(f, f"overlapFrameImages[{i}]") for i, f in enumerate(frames)]
        if request.reference_audio is not None:
            inp["referenceAudio"] = _media(request.reference_audio, "referenceAudio", audio=True)
        scalars = {"durationFrames": request.frames, "seed": request.seed,
                   "sampledFps": None if request.fps is None else fps_number(Fraction(request.fps)),
                   "width": request.size[0] if request.size else None,
                   "height": request.size[1] if request.size else None}
        inp.update({k: v for k, v in scalars.items() if v is not None})
        inp.update(request.extra)
        validated = validate_task_input("video.generate", dict(inp))  # SchemaError names the field
        return Built("video.generate", inp, tuple(validated.adjustments))

    def combine_request(self, video_urls: Sequence[str], overlap_at_clip_fps: int | None = None,
                        fps: Fraction | int | None = None, key: str | None = None) -> JobRequest:
        return JobRequest.build(VideoCombine(video_urls, overlap_at_clip_fps, fps), key=key)

    def combine_price(self, clips: int) -> Price:
        return Price(COMBINE_USD_PER_CLIP * max(2, clips))

    def documented_price(self, request: JobRequest) -> Price | None:
        """``video.combine`` only: the document gives no rates for ``video.generate`` (its price "scales from
        sampled frame count, final output resolution, and whether reference audio is included")."""
        if request.task != "video.combine":
            return None
        urls = request.input.get("videoUrls")
        return self.combine_price(len(urls) if isinstance(urls, list) else 0)


MEDIA_JOBS = PROVIDER = MediaJobsProvider()
