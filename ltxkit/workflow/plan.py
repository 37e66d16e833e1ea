"""``ltxkit plan``: a long reference audio (a song, a dialogue scene) as a list of valid segments.

The plan opens with a clip (its end is the first cut; every segment continues from the last
``overlap`` frames before it) or with an image (segment 1 starts from it at 0 s, no overlap). Segment
frame counts are 8n+1 ≤ ``max_frames`` and the windows cover the whole track
(:func:`ltxkit.audio.plan.plan_segments`). ``ltxkit extend --plan`` runs it.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

from ltxkit.api_schema import loads_json
from ltxkit.audio.plan import DEFAULT_MAX_FRAMES, plan_segments
from ltxkit.audio.source import source_duration
from ltxkit.errors import InputError
from ltxkit.frames.probe import probe
from ltxkit.fsutil import StrPath, optional_path
from ltxkit.timing import format_fps, parse_fps, parse_seconds, round_half_up
from ltxkit.workflow.spec import SegmentSpec, check_image

PLAN_VERSION = 1


def make_plan(audio: StrPath, sampled_fps: Fraction, overlap: int, *, clip: StrPath | None = None,
              image: StrPath | None = None, max_frames: int = DEFAULT_MAX_FRAMES) -> dict[str, Any]:
    """The plan as JSON-able data (exact values as strings), ready for ``extend --plan``."""
    audio, clip, image = Path(audio), optional_path(clip), optional_path(image)
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
    """Read a plan written by ``ltxkit plan``; the segments as :class:`SegmentSpec` (exact cuts).

    Every field is checked for its type here (a hand-edited plan is input like any other), so the
    caller can use ``data["clip"]``/``["image"]``/``["audio"]``/``["sampled_fps"]``/``["overlap_frames"]``.
    """
    def bad(reason: str) -> InputError:
        return InputError(f"--plan {path}: not a plan written by 'ltxkit plan' ({reason})")

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise bad(str(exc)) from exc
    data = loads_json(text, source=f"--plan {path}")
    if not isinstance(data, dict) or not isinstance(data.get("segments"), list):
        raise bad("no list of segments")
    for name in ("clip", "image"):
        if not isinstance(data.get(name), (str, type(None))):
            raise bad(f"{name} must be a path or null")
    if not isinstance(data.get("audio"), str):
        raise bad("audio must be a path")
    if not isinstance(data.get("overlap_frames"), int) or isinstance(data["overlap_frames"], bool):
        raise bad("overlap_frames must be a whole number")
    if not isinstance(data.get("sampled_fps"), (str, int)):
        raise bad("sampled_fps must be a frame rate")
    parse_fps(data["sampled_fps"], name=f"--plan {path}: sampled_fps")
    segments = []
    for i, seg in enumerate(data["segments"]):
        if not (isinstance(seg, dict) and isinstance(seg.get("frames"), int) and not isinstance(seg["frames"], bool)
                and isinstance(seg.get("cut_seconds_exact"), str)):
            raise bad(f"segment {i + 1} needs whole 'frames' and a 'cut_seconds_exact' string")
        segments.append(SegmentSpec(frames=seg["frames"], cut_seconds=parse_seconds(
            seg["cut_seconds_exact"], name=f"--plan {path}: segment {i + 1} cut_seconds_exact")))
    return data, tuple(segments)
