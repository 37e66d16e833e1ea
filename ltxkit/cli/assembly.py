"""``ltxkit splice`` and ``ltxkit seam``: thin wrappers over :mod:`ltxkit.assembly.report`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ltxkit.assembly.modes import (
    AUDIO_FADES,
    AUDIO_FROM,
    COLOR_REFS,
    CURVES,
    CUT_CHOICES,
    METHODS,
    MODES,
    OUTPUT_CODECS,
)
from ltxkit.cli._output import emit, json_option, log
from ltxkit.cli.progress import show_progress
from ltxkit.frames.codecs import RENDER_MODES
from ltxkit.timing import parse_fps

video_path = click.Path(path_type=Path, dir_okay=False)
report_option = click.option("--report", "report_dir", type=click.Path(path_type=Path, file_okay=False),
                             help="Directory for report.html, contact sheets, review clips, report.json.")
overlap_option = click.option("--overlap", type=click.IntRange(min=0), required=True,
                              help="Frames of A's tail that B repeats, at the sampled fps.")
sampled_fps_option = click.option("--sampled-fps", required=True, help="The fps the overlap was sampled at.")
mode_option = click.option("--mode", type=click.Choice(MODES), default="trim-b", show_default=True,
                           help="Which picture fills the overlap: trim B's head, trim A's tail, or dissolve.")
audio_from_option = click.option("--audio-from", type=click.Choice(AUDIO_FROM), default="b", show_default=True,
                                 help="Whose audio plays through the overlap (trim modes).")
audio_fade_option = click.option("--audio-fade", type=click.Choice(AUDIO_FADES), default="linear",
                                 show_default=True, help="Audio gains of a crossfade (along --curve).")
cut_option = click.option("--cut", type=click.Choice(CUT_CHOICES), default="mode", show_default=True,
                          help="Where a hard cut falls: where --mode puts it, or 'best': the least visible frame "
                               "of the overlap (same length, same sound; only the picture's switch moves).")
curve_option = click.option("--curve", type=click.Choice(CURVES), default="linear", show_default=True,
                            help="Shape of a crossfade, picture and sound: linear, ease (smooth start and end), "
                                 "filmic (mixed in linear light, like an optical dissolve), perceptual (in Lab).")
color_match_option = click.option("--color-match", type=click.Choice(METHODS), default="none", show_default=True,
                                  help="Correct B's colour to A's: reinhard (Lab mean/std), hm (histograms), "
                                       "mkl (full colour transfer, undoes a white-balance cast).")
color_ref_option = click.option("--color-ref", type=click.Choice(COLOR_REFS), default="previous", show_default=True,
                                help="Match each clip to the previous one as delivered, or compose the matches "
                                     "so every clip lands on the first clip's look.")
render_option = click.option("--render", type=click.Choice(RENDER_MODES), default="smart", show_default=True,
                              help="smart: copy the GOPs the splice leaves untouched (bit-identical), re-encode "
                                   "only around each seam; full: re-encode every frame. Smart falls back to "
                                   "full, saying why, when the clips cannot share one stream.")
scale_option = click.option("--scale", is_flag=True,
                            help="Scale clips to the first clip's size (rounded down to even for h264).")


def _seam_line(n: int, seam: dict[str, Any]) -> str:
    m = seam["metrics"]
    fid = m.get("overlap_fidelity")
    parts = [f"seam {n} at {seam['cut']['cut_seconds']:.3f} s: {seam['verdict'].upper()}"]
    if fid:
        parts.append(f"PSNR {fid['psnr_db_mean']:.1f} dB, SSIM {fid['ssim_mean']:.3f}")
    flagged = [k for k, v in seam["levels"].items() if v != "ok"]
    if flagged:
        parts.append("flagged: " + ", ".join(flagged))
    choice = seam["cut"].get("choice")
    if choice:
        parts.append(choice["words"])
    return "\n".join(["; ".join(parts), *(f"  {f['level']}: {f['words']} ({f['advice']})" for f in seam["findings"]),
                      *([f"  what to do: {seam['advice']}"] if seam.get("advice") else [])])


@click.command("splice")
@click.argument("clips", nargs=-1, required=True, type=video_path)
@overlap_option
@sampled_fps_option
@click.option("-o", "--output", type=video_path, required=True, help="The spliced clip (.mp4, .mov, .mkv).")
@mode_option
@cut_option
@curve_option
@audio_from_option
@audio_fade_option
@click.option("--codec", type=click.Choice(OUTPUT_CODECS), default="h264", show_default=True,
              help="h264+AAC (.mp4), or prores (.mov) / ffv1 (.mkv) with PCM audio for editing.")
@scale_option
@click.option("--no-audio", is_flag=True, help="Write video only (default: audio required in every clip).")
@click.option("--no-otio", is_flag=True, help="Do not write OUTPUT.otio next to the output.")
@color_match_option
@color_ref_option
@render_option
@report_option
@json_option
def splice_cmd(clips: tuple[Path, ...], overlap: int, sampled_fps: str, output: Path, mode: str, cut: str,
               curve: str, audio_from: str, audio_fade: str, codec: str, scale: bool, no_audio: bool, no_otio: bool,
               color_match: str, color_ref: str, render: str, report_dir: Path | None, as_json: bool) -> None:
    """Join CLIPS (A B [C …]) where each clip's first OVERLAP sampled frames repeat the previous tail."""
    from ltxkit.assembly import splice_with_report

    with show_progress(as_json):
        result = splice_with_report(list(clips), output, overlap=overlap,
                                    sampled_fps=parse_fps(sampled_fps, name="--sampled-fps"), mode=mode,
                                    audio_from=audio_from, codec=codec, scale=scale, audio=not no_audio,
                                    audio_fade=audio_fade, report_dir=report_dir, otio=not no_otio,
                                    color_match=color_match, color_ref=color_ref, cut=cut, curve=curve,
                                    render=render)
    render_notes = [] if as_json else result["splice"]["render"]["notes"]  # --json has them in "render"
    for line in result["splice"]["warnings"] + result["splice"]["notes"] + render_notes:
        log(f"ltxkit: note: {line}")

    def human(d: dict[str, Any]) -> str:
        s = d["splice"]
        lines = [f"{s['output']}: {s['frame_count']} frames at {s['fps']} fps ({s['duration_seconds']:.3f} s), "
                 f"mode {s['mode']}, overlap {s['overlap']['frames_at_clip_fps']} frames; "
                 f"verdict {d['verdict'].upper()}", f"render: {s['render']['summary']}"]
        lines += [_seam_line(n, seam) for n, seam in enumerate(d["seams"], start=1)]
        lines += [f"colour of {Path(c['clip']).name} matched ({c['method']}, from {c['estimated_from']}): "
                  f"ΔE {c['delta_e_before']:.1f} -> {c['delta_e_after']:.1f}"
                  for c in (s.get("colour_correction") for s in d["seams"]) if c]
        if d["report"]:
            lines.append(f"report: {d['report']}")
        return "\n".join(lines)

    emit(result, as_json, human)


@click.command("seam")
@click.argument("a", type=video_path)
@click.argument("b", type=video_path)
@overlap_option
@sampled_fps_option
@mode_option
@cut_option
@curve_option
@audio_from_option
@audio_fade_option
@scale_option
@render_option
@report_option
@json_option
def seam_cmd(a: Path, b: Path, overlap: int, sampled_fps: str, mode: str, cut: str, curve: str, audio_from: str,
             audio_fade: str, scale: bool, render: str, report_dir: Path | None, as_json: bool) -> None:
    """Rate the seam between A and B (and review it) without writing the splice."""
    from ltxkit.assembly import review_seam

    with show_progress(as_json):
        result = review_seam(a, b, overlap=overlap, sampled_fps=parse_fps(sampled_fps, name="--sampled-fps"),
                             mode=mode, audio_from=audio_from, scale=scale, audio_fade=audio_fade,
                             report_dir=report_dir, cut=cut, curve=curve, render=render)
    for line in result["warnings"]:
        log(f"ltxkit: note: {line}")

    def human(d: dict[str, Any]) -> str:
        lines = [f"{Path(d['a']).name} -> {Path(d['b']).name}: verdict {d['verdict'].upper()}",
                 _seam_line(1, d["seam"])]
        if d["report"]:
            lines.append(f"report: {d['report']}")
        return "\n".join(lines)

    emit(result, as_json, human)
