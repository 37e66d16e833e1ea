"""The two entry points the CLI (and any workflow) call: splice with review, and review without splice.

Both validate everything before writing anything; report files are built in a temporary directory
beside the report directory and moved in only when all of them exist. Each seam carries one line of
``advice`` when its verdict is not ok (:func:`advice`), and, from a workflow that chose between takes,
the ``candidates`` its clip was chosen from.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from ltxkit import progress
from ltxkit.assembly.cut import check_choice, choose_cuts
from ltxkit.assembly.edit import SplicePlan, pair_plan
from ltxkit.assembly.grade import Correction, colour_match
from ltxkit.assembly.measures import LEVELS
from ltxkit.assembly.modes import SpliceMode
from ltxkit.assembly.review import (
    colour_strip,
    contact_sheet,
    file_timeline,
    html_report,
    review_clip,
    review_frames,
    review_scale,
    review_window,
)
from ltxkit.assembly.seam import load_seam, measure
from ltxkit.assembly.splice import fit_codec, prepare_splice, render_splice, write_splice_otio
from ltxkit.errors import InputError
from ltxkit.frames.checks import check_location, check_output, refuse_overwrite
from ltxkit.frames.probe import probe
from ltxkit.frames.timeline import Timeline
from ltxkit.fsutil import StrPath, atomic_path, optional_path, temp_dir_beside
from ltxkit.timing import format_fps


def _check_report_dir(report_dir: Path, inputs: Sequence[Path], seams: int) -> None:
    if report_dir.exists() and not report_dir.is_dir():
        raise InputError(f"--report must be a directory, {report_dir} is a file")
    check_location(report_dir)
    names = ["report.html", "report.json", *(f"seam-{n}-{k}" for n in range(1, seams + 1)
                                             for k in ("sheet.png", "review.mp4", "colour.png"))]
    refuse_overwrite([report_dir / name for name in names], inputs, flag="--report")


def _render_words(render: dict[str, Any] | None) -> str:
    """The render in words for the report: smart or full and why, and what passed through undecoded."""
    if render is None:
        return "not rendered"
    return "; ".join([render["summary"], *render["notes"]])


def _worst(seams: Sequence[dict[str, Any]]) -> str:
    return max((s["verdict"] for s in seams), key=LEVELS.index, default="ok")


COLOUR_KINDS = ("colour", "exposure", "contrast", "saturation")  # what --color-match corrects
CORRECTED_DE = 1.5  # mean-colour ΔE76 after the match under which a colour finding counts as corrected


def advice(seam: dict[str, Any]) -> str | None:
    """One line to act on when the seam is not ok (``None`` when it is): the worst finding's advice, or
    what a colour match already did about it, or what to do about the overlap or the lip sync."""
    if seam["verdict"] == "ok":
        return None
    found = sorted(seam["findings"], key=lambda f: -LEVELS.index(f["level"]))
    fix = seam.get("colour_correction")
    done = ""
    if fix is not None and fix["delta_e_after"] <= CORRECTED_DE and any(f["kind"] in COLOUR_KINDS for f in found):
        done = (f"--color-match {fix['method']} corrected the colour (ΔE {fix['delta_e_before']:.1f} → "
                f"{fix['delta_e_after']:.1f})")
    left = [f for f in found if not (done and f["kind"] in COLOUR_KINDS)]
    if left:
        line = left[0]["advice"]
        return f"{line[0].upper()}{line[1:]}" + (f"; {done}" if done else "") + "."
    if done:
        return f"Nothing to do: {done}."
    levels, metrics = seam["levels"], seam["metrics"]
    if levels.get("av_offset", "ok") != "ok":
        ms = metrics["av_offset"]["offset_ms"]
        return (f"B's sound is {abs(ms):.0f} ms {'late' if ms > 0 else 'early'} on its picture: take the audio "
                "from A (--audio-from a), or regenerate this segment.")
    return ("B drifts from the frames it continues: regenerate this segment (another seed), or check --overlap "
            "and --sampled-fps.")


def _review(plan: SplicePlan, report_dir: Path | None, review_source: Timeline, title: str,
            summary: dict[str, Any], corrections: Sequence[Correction] = (),
            cut_choices: Sequence[dict[str, Any]] = (), takes: Sequence[Sequence[dict[str, Any]]] = (),
            render: str = "smart"
            ) -> tuple[list[dict[str, Any]], Path | None]:
    """Measure every joint; with ``report_dir`` also write sheets, review clips, colour strips and the HTML page."""
    count = len(plan.joints)
    pair_data = []
    for i in range(count):
        progress.report("seam review", "measuring seams", i, count, "seams")
        pair = pair_plan(plan, i)
        window = review_window(review_source, plan.joints[i].cut_frame)
        also = review_frames(window, pair.infos) if report_dir is not None else {}
        pair_data.append(load_seam(pair, scale=review_scale(window), also=also))
    seams = [measure(d) for d in pair_data]
    for seam, correction in zip(seams, corrections, strict=False):
        seam["colour_correction"] = correction.record
    for seam, choice in zip(seams, cut_choices, strict=False):
        seam["cut"]["choice"] = {"cut": "best", **choice}
    for seam, clip_takes in zip(seams, takes[1:], strict=False):
        if clip_takes:
            seam["candidates"] = list(clip_takes)
    for seam in seams:
        seam["advice"] = advice(seam)
    for seam, joint in zip(seams, plan.joints, strict=True):  # pair coordinates → output coordinates
        shift = joint.cut_frame - seam["cut"]["cut_frame"]
        seam["cut"].update(cut_frame=joint.cut_frame, cut_seconds=float(Fraction(joint.cut_frame) / plan.fps))
        for f in seam["findings"]:
            f.update(frame=f["frame"] + shift, seconds=round(float(Fraction(f["frame"] + shift) / plan.fps), 3))
    if report_dir is None:
        progress.report("seam review", "done", count, count, "seams")
        return seams, None
    progress.report("seam review", "writing the report", count, count, "seams")
    report_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_dir_beside(report_dir)
    try:
        for n, (data, seam, joint) in enumerate(zip(pair_data, seams, plan.joints, strict=True), start=1):
            sheet = contact_sheet(data, tmp / f"seam-{n}-sheet.png")
            clip = review_clip(review_source, joint.cut_frame, tmp / f"seam-{n}-review.mp4", render=render,
                               infos={i.path: i for i in plan.infos}, scaled=data.scaled)
            seam["files"] = {"contact_sheet": str(sheet), "review_clip": str(clip.render.output)}
            seam["review_clip"] = {"frames": clip.render.frame_count,
                                   "seconds": float(clip.render.duration_seconds),
                                   "seeks": clip.render.seeks, "render": clip.to_json()}
            if n <= len(corrections):
                seam["files"]["colour_strip"] = str(colour_strip(corrections[n - 1], seam["colour_correction"],
                                                                 tmp / f"seam-{n}-colour.png"))
        html_report(title, seams, _worst(seams), tmp / "report.html", summary,
                    opening=takes[0] if takes else ())
        for seam in seams:
            seam["files"] = {k: str(report_dir / Path(v).name) for k, v in seam["files"].items()}
        report = {"verdict": _worst(seams), **summary, "seams": seams,
                  **({"opening_candidates": list(takes[0])} if takes and takes[0] else {})}
        (tmp / "report.json").write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
        report_dir.mkdir(exist_ok=True)
        for entry in sorted(tmp.iterdir()):
            os.replace(entry, report_dir / entry.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    progress.report("seam review", "done", count, count, "seams")
    return seams, report_dir / "report.html"


def splice_with_report(clips: Sequence[StrPath], output: StrPath, *, overlap: int, sampled_fps: Fraction,
                       mode: str | SpliceMode = "trim-b", audio_from: str = "b", codec: str = "h264",
                       scale: bool = False, audio: bool = True, audio_fade: str = "linear",
                       report_dir: StrPath | None = None, otio: bool = True, color_match: str = "none",
                       color_ref: str = "previous", cut: str = "mode", curve: str = "linear",
                       takes: Sequence[Sequence[dict[str, Any]]] = (),
                       render: str = "smart") -> dict[str, Any]:
    """Splice, rate every seam, and (with ``report_dir``) write the review; the ``ltxkit splice`` result.

    ``render`` 'smart' (default) stream-copies the GOPs the splice leaves untouched and re-encodes only
    around each seam, 'full' re-encodes everything; the result and the report say which and why.

    With ``color_match`` every clip after the first is colour-matched (:mod:`ltxkit.assembly.grade`);
    the seams are rated on the clips as delivered (corrected), and each says what was corrected and by
    how much. ``cut='best'`` then moves each hard cut to its least visible frame of the overlap
    (:mod:`ltxkit.assembly.cut`); ``curve`` shapes a crossfade's picture and sound.
    ``takes[i]``, when given, are the candidates clip ``i`` was chosen from (``candidate``, ``seed``,
    ``status``, ``verdict``, ``score``, ``chosen``, ``rejected``, ``findings`` in words): the report
    compares them at the seam into that clip (clip 0's before the seams).
    """
    output, report_dir = Path(output), optional_path(report_dir)
    plan = prepare_splice([Path(c) for c in clips], overlap=overlap, sampled_fps=sampled_fps, mode=mode,
                          audio_from=audio_from, scale=scale, audio=audio, audio_fade=audio_fade, curve=curve)
    check_choice(plan, cut)
    check_output(output, [info.path for info in plan.infos], codec)
    plan = fit_codec(plan, codec, scale=scale)
    if report_dir is not None:
        _check_report_dir(report_dir, [*(Path(c) for c in clips), output], len(plan.joints))
    plan, corrections = colour_match(plan, color_match, color_ref)
    plan, cut_choices = choose_cuts(plan, cut)
    # The splice is rendered under a temporary name and appears only once its review is done: a review
    # or report step that fails must not leave an unreviewed output behind.
    with atomic_path(output) as staged:
        result = render_splice(plan, staged, codec=codec, otio=False, render=render)
        written = file_timeline(probe(staged), audio=audio)
        summary = {"output": str(output), "mode": plan.mode.name, "frames": result.frame_count,
                   "fps": format_fps(result.fps), "color_match": color_match, "color_ref": color_ref, "cut": cut,
                   "curve": curve, "render": _render_words(result.render)}
        seams, page = _review(plan, report_dir, written, f"Splice review: {output.name}", summary, corrections,
                              cut_choices, takes, render)
        otio_path, notes = write_splice_otio(plan, output) if otio else (None, [])
    result = replace(result, output=output, otio=otio_path, notes=[*result.notes, *notes])
    return {"verdict": _worst(seams), "splice": result.to_json(), "seams": seams,
            "report": None if page is None else str(page)}


def review_seam(a: StrPath, b: StrPath, *, overlap: int, sampled_fps: Fraction, mode: str | SpliceMode = "trim-b",
                audio_from: str = "b", scale: bool = False, audio: bool | None = None,
                audio_fade: str = "linear", report_dir: StrPath | None = None, cut: str = "mode",
                curve: str = "linear", render: str = "smart") -> dict[str, Any]:
    """Rate the seam A→B without writing the splice (``ltxkit seam``); the review clip is cut from A and B
    (``render`` as in :func:`splice_with_report`).

    ``audio=None`` measures audio when both clips have it. ``cut='best'`` rates the seam at the least
    visible cut of the overlap (the one ``splice --cut best`` would make); ``curve`` shapes the review
    clip's crossfade.
    """
    a, b, report_dir = Path(a), Path(b), optional_path(report_dir)
    plan = prepare_splice([a, b], overlap=overlap, sampled_fps=sampled_fps, mode=mode, audio_from=audio_from,
                          scale=scale, audio=audio, audio_fade=audio_fade, curve=curve)
    check_choice(plan, cut)
    if report_dir is not None:
        _check_report_dir(report_dir, [a, b], 1)
    plan, cut_choices = choose_cuts(plan, cut)
    summary = {"a": str(a), "b": str(b), "mode": plan.mode.name, "overlap": overlap,
               "sampled_fps": format_fps(sampled_fps), "overlap_frames_at_clip_fps": plan.overlap_at_clip_fps,
               "cut": cut, "curve": curve}
    seams, page = _review(plan, report_dir, plan.timeline, f"Seam review: {Path(a).name} → {Path(b).name}",
                          summary, cut_choices=cut_choices, render=render)
    return {"verdict": seams[0]["verdict"], **summary, "warnings": plan.warnings, "seam": seams[0],
            "report": None if page is None else str(page)}
