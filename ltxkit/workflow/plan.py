"""``ltxkit plan``: a long reference audio (a song, a dialogue scene) as a list of valid segments.

The plan opens with a clip (its end is the first cut; every segment continues from the last
``overlap`` frames before it) or with an image (segment 1 starts from it at 0 s, no overlap). Segment
frame counts are 8n+1 ≤ ``max_frames`` and the windows cover the whole track
(:func:`ltxkit.audio.plan.plan_segments`). ``ltxkit extend --plan`` runs it.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

from ltxkit.audio.plan import DEFAULT_MAX_FRAMES, plan_segments
from ltxkit.audio.source import source_duration
from ltxkit.errors import InputError
from ltxkit.frames.probe import probe
from ltxkit.timing import format_fps, parse_fps, round_half_up
from ltxkit.workflow.spec import SegmentSpec, check_image

PLAN_VERSION = 1


def make_plan(audio: Path, sampled_fps: Fraction, overlap: int, *, clip: Path | None = None,
              image: Path | None = None, max_frames: int = DEFAULT_MAX_FRAMES) -> dict[str, Any]:
    """The plan as JSON-able data (exact values as strings), ready for ``extend --plan``."""
    if (clip is None) == (image is None):
        raise InputError("give the opening --clip or the opening --image (one of them)")
    if image is not None:
        check_image(image)
    samples, rate = source_duration(audio)
    total = Fraction(samples, rate)
    opening = 0
    notes: list[str] = []
    if clip is not None:
        info = probe(clip)
        exact = info.duration_seconds * sampled_fps
        opening = round_half_up(exact)
        if exact != opening:
            notes.append(f"{clip.name} lasts {float(exact):.3f} frames at {format_fps(sampled_fps)} fps; "
                         f"the first cut is at frame {opening}")
        if opening < 1:
            raise InputError(f"{clip.name} is shorter than one frame at {format_fps(sampled_fps)} fps")
    plan = plan_segments(total, sampled_fps, overlap, max_frames, opening_frames=opening)
    if not len(plan):
        raise InputError(f"{clip.name if clip else audio.name} already covers the whole track: nothing to plan")
    data = plan.to_json(rate)
    data.update(
        version=PLAN_VERSION,
        audio=str(audio.resolve()),
        clip=None if clip is None else str(clip.resolve()),
        image=None if image is None else str(image.resolve()),
        sampled_fps=format_fps(sampled_fps),
        total_seconds=str(total),
        notes=notes,
    )
    for seg, segment in zip(data["segments"], plan, strict=True):
        seg["cut_seconds_exact"] = str(segment.cut_seconds)
    return data


def load_plan(path: Path) -> tuple[dict[str, Any], tuple[SegmentSpec, ...]]:
    """Read a plan written by ``ltxkit plan``; the segments as :class:`SegmentSpec` (exact cuts)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        segments = tuple(SegmentSpec(frames=int(s["frames"]), cut_seconds=Fraction(s["cut_seconds_exact"]))
                         for s in data["segments"])
        parse_fps(data["sampled_fps"])
        int(data["overlap_frames"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"--plan {path}: not a plan written by 'ltxkit plan' ({exc})") from exc
    return data, segments
