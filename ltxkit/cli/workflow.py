"""``ltxkit extend``, ``ltxkit plan`` and ``ltxkit demo``."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import click

from ltxkit.assembly.modes import CUT_CHOICES
from ltxkit.cli._output import Number, ProviderOption, emit, json_option, log
from ltxkit.cli.assembly import color_match_option, color_ref_option, render_option
from ltxkit.cli.progress import show_progress
from ltxkit.errors import InputError
from ltxkit.timing import parse_fps

file_arg = click.Path(path_type=Path, dir_okay=False)


def parse_size(text: str) -> tuple[int, int]:
    """``1280x704`` → (1280, 704)."""
    try:
        w, h = text.lower().split("x")
        return int(w), int(h)
    except ValueError as exc:
        raise InputError(f"--size must look like 1280x704, got {text!r}") from exc


def _summary(result: dict[str, Any]) -> str:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"ltxkit extend: {result['run_dir']}")
    for column in ("segment", "candidate", "seed", "job", "seam score", "verdict", "choice"):
        table.add_column(column)
    for seg in result["segments"]:
        for cand in seg["candidates"]:
            score = cand.get("score")
            chosen = cand["candidate"] == seg["chosen"]
            why = cand.get("rejected")
            table.add_row(str(seg["index"]), str(cand["candidate"]), str(cand["seed"]), cand.get("job_id") or "-",
                          "-" if score is None else f"{score:.1f}", cand.get("verdict") or cand["status"],
                          ("chosen" if chosen else "") + (f"{', ' if chosen else ''}set aside: {why}" if why else ""))
    console = Console(record=True, width=110)
    with console.capture() as capture:
        console.print(table)
    tail = f"extended: {result['output']}  (seams: {result['verdict']})"
    if result.get("report"):
        tail += f"\nreport:   {result['report']}"
    return capture.get() + tail


@click.command("extend")
@click.argument("clip", type=file_arg, required=False)
@click.option("--prompt", required=True,
              help="One coherent paragraph for every segment; for lip-sync shots see 'Writing the prompt' in the "
                   "README (ltxkit.workflow.prompts.lipsync_prompt writes one).")
@click.option("--overlap", type=int, default=None, help="Frames of the clip so far that condition each segment.")
@click.option("--frames", type=int, help="Frames per generated clip at the sampled fps (8n+1).")
@click.option("--sampled-fps", help="Sampled fps (default: the clip's own, or the plan's).")
@click.option("--interpolation-fps", type=int, help="0 (off) or 30..60 (default: match the opening clip).")
@click.option("--size", help="WxH of the candidates (default: the opening clip's size).")
@click.option("--audio", type=file_arg, help="Reference audio (lip-sync): an audio file or a video's track.")
@click.option("--cut", help="Where clip B starts on the reference audio, in seconds (default: the clip's end).")
@click.option("--plan", "plan_path", type=file_arg, help="Run every segment of a plan from 'ltxkit plan'.")
@click.option("--candidates", type=click.IntRange(min=1), default=3, show_default=True,
              help="Takes generated per segment (each one paid); the one with the best seam is kept.")
@click.option("--seed", type=int, default=1, show_default=True, help="Candidate k uses seed + k - 1.")
@click.option("--extreme-quality", is_flag=True, help="The higher-fidelity path (+50% on the price).")
@click.option("--combine", type=click.Choice(["local", "remote"]), default="local", show_default=True)
@click.option("--provider", cls=ProviderOption, envvar="LTXKIT_PROVIDER",
              help="The API: {providers} (default media-jobs).")
@click.option("--pick", "picks", type=int, multiple=True, help="Candidate to keep (per segment, in order).")
@click.option("--yes", is_flag=True,
              help="Do not ask before spending (an unknown price is still learned from one candidate first).")
@click.option("--confirm-usd", type=Number(0), default=5.0, show_default=True,
              help="Ask before spending more than this on the rest of the run.")
@click.option("--max-usd", type=Number(0), default=None,
              help="Never let the run (this -o directory, resumes included) be billed more than this.")
@click.option("--resume", is_flag=True, help="Continue the run in -o (no job is submitted twice).")
@click.option("-o", "--output", "run_dir", type=click.Path(path_type=Path), required=True, help="Run directory.")
@color_match_option
@color_ref_option
@click.option("--splice-cut", type=click.Choice(CUT_CHOICES), default="mode", show_default=True,
              help="Where the final splice cuts each seam: at the end of the overlap, or 'best' (the least "
                   "visible frame of it; same length and sound). --cut is the reference audio's.")
@render_option
@json_option
def extend_cmd(clip: Path | None, prompt: str, overlap: int | None, frames: int | None, sampled_fps: str | None,
               interpolation_fps: int | None, size: str | None, audio: Path | None, cut: str | None,
               plan_path: Path | None, candidates: int, seed: int, extreme_quality: bool, combine: str,
               provider: str | None, picks: tuple[int, ...], yes: bool, confirm_usd: float, max_usd: float | None,
               resume: bool, run_dir: Path, color_match: str, color_ref: str, splice_cut: str, render: str,
               as_json: bool) -> None:
    """Extend CLIP with K candidates per segment, keep the best seams, splice into RUN_DIR/extended.mp4."""
    from ltxkit.workflow.extend import ExtendOptions, extend
    from ltxkit.workflow.inputs import build_spec

    if splice_cut == "best" and combine == "remote":
        raise InputError("--splice-cut best moves the cuts of the local splice; --combine remote lets the server "
                         "cut")
    spec, config = build_spec(clip=clip, prompt=prompt, overlap=overlap, frames=frames, sampled_fps=sampled_fps,
                              interpolation_fps=interpolation_fps, size=None if size is None else parse_size(size),
                              audio=audio, cut=cut, plan_path=plan_path, candidates=candidates, seed=seed,
                              extreme_quality=extreme_quality, combine=combine, provider=provider)
    options = ExtendOptions(resume=resume, yes=yes, confirm_usd=confirm_usd, max_usd=max_usd, picks=picks, log=log,
                            color_match=color_match, color_ref=color_ref, cut=splice_cut, render=render,
                            confirm=lambda q: click.confirm(q, err=True, default=False))
    with show_progress(as_json):
        result = extend(spec, run_dir, config, options)
    emit(result, as_json, _summary)


@click.command("plan")
@click.argument("audio", type=file_arg)
@click.option("--clip", type=file_arg, help="The opening clip (the plan continues after it).")
@click.option("--image", type=file_arg, help="The opening image (segment 1 starts from it).")
@click.option("--fps", "sampled_fps", required=True, help="Sampled fps of the generated clips.")
@click.option("--overlap", type=int, required=True, help="Frames shared by consecutive clips.")
@click.option("--max-frames", type=int, default=257, show_default=True, help="Longest clip (8n+1).")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="Write plan.json here.")
@json_option
def plan_cmd(audio: Path, clip: Path | None, image: Path | None, sampled_fps: str, overlap: int, max_frames: int,
             output: Path | None, as_json: bool) -> None:
    """Plan AUDIO (a song, a dialogue scene) as 8n+1 segments for 'ltxkit extend --plan'."""
    from ltxkit.frames.checks import refuse_overwrite
    from ltxkit.fsutil import write_json_atomic
    from ltxkit.workflow.plan import make_plan

    if output is not None and output.is_dir():
        raise click.BadParameter(f"{output} is a directory", param_hint="-o")
    refuse_overwrite([] if output is None else [output], [audio, clip, image])
    data = make_plan(audio, parse_fps(sampled_fps, name="--fps"), overlap, clip=clip, image=image,
                     max_frames=max_frames)
    if output is not None:
        write_json_atomic(output, data)

    def human(d: dict[str, Any]) -> str:
        rows = [f"{'seg':>3} {'frames':>6} {'new':>5} {'cut s':>9} {'audio from':>10} {'to':>9}"]
        rows += [f"{s['index'] + 1:>3} {s['frames']:>6} {s['new_frames']:>5} {float(s['cut_seconds']):>9.3f} "
                 f"{float(s['audio_start_seconds']):>10.3f} {float(s['audio_end_seconds']):>9.3f}"
                 for s in d["segments"]]
        total = float(Fraction(d["total_seconds"]))  # exact text such as "21/5" (float() would not take it)
        rows.append(f"{len(d['segments'])} segments at {d['sampled_fps']} fps cover {total:.3f} s"
                    + (f"; plan written to {output}" if output else ""))
        return "\n".join(rows + d["notes"])

    emit(data, as_json, human)


@click.command("demo")
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path), default=Path("demo-out"),
              show_default=True, help="Where the demo writes its clips, run and report.")
@json_option
def demo_cmd(out_dir: Path, as_json: bool) -> None:
    """Offline end to end: built-in emulator, a generated source clip, a two-segment lip-sync extension."""
    from ltxkit.workflow.demo import run_demo

    with show_progress(as_json):
        result = run_demo(out_dir, log=log)
    emit(result, as_json, lambda d: f"{_summary(d)}\nrun manifest: {d['manifest']}")

