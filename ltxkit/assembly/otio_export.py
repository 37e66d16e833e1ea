"""OpenTimelineIO description of a splice, for editors that want the edit rather than the render.

``opentimelineio`` is an optional extra (``pip install 'ltxkit[otio]'``): without it the splice still
works and its result carries a note instead of a ``.otio`` path.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ltxkit.fsutil import atomic_path

if TYPE_CHECKING:
    from ltxkit.assembly.splice import SplicePlan

MISSING_NOTE = "opentimelineio is not installed: no .otio written (pip install 'ltxkit[otio]')"


def otio_path_for(output: Path) -> Path:
    return output.with_suffix(".otio")


def build_timeline(plan: SplicePlan, name: str) -> Any:
    """One video and (with audio) one audio track: each clip's source range, dissolves for crossfades.

    A crossfade of ``r`` frames is written the OTIO way: the cut sits in the middle of the overlap,
    the transition's ``in_offset`` uses B's frames before its range and ``out_offset`` A's after.
    """
    import opentimelineio as otio

    rate = float(plan.fps)
    r = plan.overlap_frames

    def rt(frames: int) -> Any:
        return otio.opentime.RationalTime(frames, rate)

    def clip(i: int, start: int, stop: int) -> Any:
        info = plan.infos[i]
        ref = otio.schema.ExternalReference(
            target_url=info.path.resolve().as_uri(),
            available_range=otio.opentime.TimeRange(rt(0), rt(info.frame_count)))
        return otio.schema.Clip(name=info.path.name, media_reference=ref,
                                source_range=otio.opentime.TimeRange(rt(start), rt(stop - start)))

    def track(kind: str, audio_shift: int) -> Any:
        """``audio_shift``: frames by which each B's audio starts before its first kept picture."""
        t = otio.schema.Track(name=kind, kind=kind)
        last = len(plan.infos) - 1
        half = r // 2
        for i, info in enumerate(plan.infos):
            if plan.mode == "crossfade":
                start = 0 if i == 0 else half  # B's range starts mid-overlap
                stop = info.frame_count - (r - half if i < last else 0)
                t.append(clip(i, start, stop))
                if i < last and r > 0:
                    t.append(otio.schema.Transition(
                        name="crossfade", transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
                        in_offset=rt(half), out_offset=rt(r - half)))
            else:
                start, stop = plan.kept[i]
                if i > 0:
                    start -= audio_shift
                if i < last:
                    stop -= audio_shift
                t.append(clip(i, start, stop))
        return t

    timeline = otio.schema.Timeline(name=name)
    timeline.tracks.append(track(otio.schema.TrackKind.Video, 0))
    if plan.timeline.audio is not None:
        shift = 0
        if plan.mode == "trim-b" and plan.audio_from == "b":
            shift = r  # B's audio from its frame 0, A's audio cut at the overlap start
        elif plan.mode == "trim-a" and plan.audio_from == "a":
            shift = -r  # A's audio to its end, B's audio from the end of the overlap
        timeline.tracks.append(track(otio.schema.TrackKind.Audio, shift))
    timeline.metadata["ltxkit"] = {
        "mode": plan.mode, "audio_from": plan.audio_from, "overlap": plan.overlap,
        "sampled_fps": str(plan.sampled_fps), "overlap_frames": r,
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
