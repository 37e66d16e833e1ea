"""OpenTimelineIO description of a splice, for editors that want the edit rather than the render.

``opentimelineio`` is an optional extra (``pip install 'ltxkit[otio]'``): without it the splice still
works and its result carries a note instead of a ``.otio`` path.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ltxkit.assembly.modes import Span
from ltxkit.fsutil import atomic_path

if TYPE_CHECKING:
    from ltxkit.assembly.edit import SplicePlan

MISSING_NOTE = "opentimelineio is not installed: no .otio written (pip install 'ltxkit[otio]')"


def otio_path_for(output: Path) -> Path:
    return output.with_suffix(".otio")


def build_timeline(plan: SplicePlan, name: str) -> Any:
    """One video and (with audio) one audio track, laid out by the plan's mode
    (:meth:`~ltxkit.assembly.modes.SpliceMode.track`): each clip's source range, dissolves for fades.

    A dissolve is written the OTIO way: the cut sits in the middle of the fade, the transition's
    ``in_offset`` uses B's frames before its range and ``out_offset`` A's after.
    """
    import opentimelineio as otio

    rate = float(plan.fps)

    def rt(frames: int) -> Any:
        return otio.opentime.RationalTime(frames, rate)

    def track(kind: str, span_of: Callable[[int], Span]) -> Any:
        t = otio.schema.Track(name=kind, kind=kind)
        for info, item in zip(plan.infos, plan.mode.track(plan.counts, plan.overlaps, span_of), strict=True):
            ref = otio.schema.ExternalReference(
                target_url=info.path.resolve().as_uri(),
                available_range=otio.opentime.TimeRange(rt(0), rt(info.frame_count)))
            t.append(otio.schema.Clip(name=info.path.name, media_reference=ref,
                                      source_range=otio.opentime.TimeRange(rt(item.start),
                                                                           rt(item.stop - item.start))))
            if item.transition != (0, 0):
                t.append(otio.schema.Transition(
                    name="crossfade", transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
                    in_offset=rt(item.transition[0]), out_offset=rt(item.transition[1])))
        return t

    timeline = otio.schema.Timeline(name=name)
    timeline.tracks.append(track(otio.schema.TrackKind.Video, plan.mode.picture))
    if plan.timeline.audio is not None:
        timeline.tracks.append(track(otio.schema.TrackKind.Audio, lambda r: plan.mode.sound(r, plan.audio_from)))
    timeline.metadata["ltxkit"] = {
        "mode": plan.mode.name, "audio_from": plan.audio_from, "overlap": plan.overlap,
        "sampled_fps": str(plan.sampled_fps), "overlap_frames": plan.overlap_frames,
        "cuts": [j.cut_frame for j in plan.joints],
    }
    return timeline


def write_otio(plan: SplicePlan, output: Path) -> tuple[Path | None, str | None]:
    """Write ``<output>.otio`` (temp file, then rename); ``(None, note)`` when the extra is missing."""
    try:
        import opentimelineio as otio
    except ImportError:
        return None, MISSING_NOTE
    path = otio_path_for(output)
    with atomic_path(path) as tmp:
        otio.adapters.write_to_file(build_timeline(plan, output.stem), str(tmp), adapter_name="otio_json")
    return path, None
