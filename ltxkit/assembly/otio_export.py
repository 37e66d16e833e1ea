"""OpenTimelineIO description of a splice, for editors that want the edit rather than the render.

``opentimelineio`` is an optional extra (``pip install 'ltxkit[otio]'``): without it the splice still
works and its result carries a note instead of a ``.otio`` path.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ltxkit.assembly.modes import Span
from ltxkit.fsutil import atomic_path

if TYPE_CHECKING:
    from ltxkit.assembly.edit import SplicePlan

MISSING_NOTE = "opentimelineio is not installed: no .otio written (pip install 'ltxkit[otio]')"


def otio_path_for(output: Path) -> Path:
    return output.with_suffix(".otio")


def clip_names(paths: list[Path]) -> list[str]:
    """One distinct name per source (editors and EDL reels tell clips apart by it): the file's name, or
    for files of the same name (``video.mp4`` from two jobs, one clip used twice) ``video-2.mp4``…"""
    names: list[str] = []
    for path in paths:
        name, n = path.name, 1
        while name in names:
            n += 1
            name = f"{path.stem}-{n}{path.suffix}"
        names.append(name)
    return names


def reel_names(names: list[str]) -> list[str]:
    """An EDL reel is 8 letters or digits, and OTIO's CMX writer keeps the first 8 of the clip name, so
    ``seg-01-cand-1`` and ``seg-01-cand-2`` would share one: keep the *last* 8 (where names differ),
    numbered when even those repeat."""
    reels: list[str] = []
    for n, name in enumerate(names, start=1):
        reel = "".join(c for c in Path(name).stem if c.isalnum())[-8:].upper() or f"R{n}"
        reels.append(reel if reel not in reels else f"{reel[:5]}{n:03d}")
    return reels


def media_url(path: Path, otio_dir: Path | None) -> str:
    """The clip's path relative to the .otio's directory (a moved or shared project still opens), as
    a URL path; ``file://`` and absolute only without a directory or across drives."""
    if otio_dir is None:
        return path.resolve().as_uri()
    try:
        relative = os.path.relpath(path.resolve(), otio_dir.resolve())
    except ValueError:  # another drive (Windows): no relative path exists
        return path.resolve().as_uri()
    return urllib.parse.quote(Path(relative).as_posix())


def build_timeline(plan: SplicePlan, name: str, otio_dir: Path | None = None) -> Any:
    """One video and (with audio) one audio track, laid out by the plan's mode
    (:meth:`~ltxkit.assembly.modes.SpliceMode.track`): each clip's source range, dissolves for fades.
    Media paths are relative to ``otio_dir`` when given.

    A dissolve is written the OTIO way: the cut sits in the middle of the fade, the transition's
    ``in_offset`` uses B's frames before its range and ``out_offset`` A's after.
    """
    import opentimelineio as otio

    rate = float(plan.fps)
    names = clip_names([info.path for info in plan.infos])
    reels = dict(zip(names, reel_names(names), strict=True))

    def rt(frames: int) -> Any:
        return otio.opentime.RationalTime(frames, rate)

    def track(kind: str, spans: Sequence[Span]) -> Any:
        t = otio.schema.Track(name=kind, kind=kind)
        for info, clip_name, item in zip(plan.infos, names, plan.mode.track(plan.counts, plan.overlaps, spans),
                                         strict=True):
            ref = otio.schema.ExternalReference(
                target_url=media_url(info.path, otio_dir),
                available_range=otio.opentime.TimeRange(rt(0), rt(info.frame_count)))
            ref.name = clip_name
            clip = otio.schema.Clip(name=clip_name, media_reference=ref,
                                    source_range=otio.opentime.TimeRange(rt(item.start), rt(item.stop - item.start)))
            clip.metadata["cmx_3600"] = {"reel": reels[clip_name]}
            t.append(clip)
            if item.transition != (0, 0):
                t.append(otio.schema.Transition(
                    name="crossfade", transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
                    in_offset=rt(item.transition[0]), out_offset=rt(item.transition[1])))
        return t

    timeline = otio.schema.Timeline(name=name)
    timeline.tracks.append(track(otio.schema.TrackKind.Video, plan.pictures))
    if plan.timeline.audio is not None:
        timeline.tracks.append(track(otio.schema.TrackKind.Audio, plan.sounds))
    timeline.metadata["ltxkit"] = {
        "mode": plan.mode.name, "audio_from": plan.audio_from, "overlap": plan.overlap,
        "sampled_fps": str(plan.sampled_fps), "overlap_frames": plan.overlap_at_clip_fps,
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
        otio.adapters.write_to_file(build_timeline(plan, output.stem, path.parent), str(tmp), adapter_name="otio_json")
    return path, None
