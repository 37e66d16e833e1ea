"""``ltxkit probe``, ``ltxkit frames tail`` and ``ltxkit timing check``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ltxkit.cli._output import emit, json_option
from ltxkit.timing import check_ltx_frames, format_fps, frames_to_seconds, parse_fps

video_path = click.Path(path_type=Path, dir_okay=False)


@click.command("probe")
@click.argument("video", type=video_path)
@json_option
def probe_cmd(video: Path, as_json: bool) -> None:
    """Show a clip's exact fps, frame count, duration, geometry, VFR flag and audio streams."""
    from ltxkit.frames.probe import probe

    info = probe(video)

    def human(d: dict[str, Any]) -> str:
        audio = ", ".join(f"#{a['index']} {a['codec']} {a['sample_rate']} Hz {a['channels']} ch"
                          for a in d["audio"]) or "none"
        return (f"{d['path']}: {d['width']}x{d['height']} {d['codec']} {d['pix_fmt']}, "
                f"{d['fps']} fps{' (VFR)' if d['vfr'] else ''}, {d['frame_count']} frames, "
                f"{d['duration_seconds']:.3f} s, rotation {d['rotation']}, audio: {audio}")

    emit(info.to_json(), as_json, human)


@click.group()
def frames() -> None:
    """Extract overlap frames from clips."""


@frames.command("tail")
@click.argument("video", type=video_path)
@click.option("-n", "count", type=int, required=True, help="How many frames to take from the end.")
@click.option("--fps", "sampled_fps", help="Sampled fps to take them at (default: the clip's own fps).")
@click.option("--format", "fmt", type=click.Choice(["webp", "png"]), default="webp", show_default=True)
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path), required=True,
              help="Directory for the frames and frames.json.")
@json_option
def frames_tail(video: Path, count: int, sampled_fps: str | None, fmt: str, out_dir: Path,
                as_json: bool) -> None:
    """Write the last N frames of VIDEO at the sampled fps, oldest first, plus frames.json."""
    from ltxkit.frames.tail import extract_tail

    manifest = extract_tail(video, count, out_dir,
                            sampled_fps=None if sampled_fps is None else parse_fps(sampled_fps, name="--fps"),
                            fmt=fmt)
    emit(manifest, as_json, lambda d: "\n".join(str(out_dir / f["file"]) for f in d["frames"]))


@click.group()
def timing() -> None:
    """Frame-count and overlap arithmetic."""


@timing.command("check")
@click.option("--frames", "count", type=int, required=True, help="Frame count at the sampled fps.")
@click.option("--fps", required=True, help="Sampled fps, e.g. 25 or 30000/1001.")
@json_option
def timing_check(count: int, fps: str, as_json: bool) -> None:
    """Is FRAMES a valid LTX count (8n+1)? Exit 0 if so, else exit 2 naming the nearest valid counts."""
    rate = parse_fps(fps, name="--fps")
    check = check_ltx_frames(count)
    seconds = frames_to_seconds(count, rate)
    result = {
        "frames": count,
        "fps": format_fps(rate),
        "valid": check.valid,
        "seconds": seconds,
        "nearest": [c for c in dict.fromkeys((check.lower, check.upper)) if c is not None],
    }
    if as_json:
        emit(result, True, str)
    if check.valid:
        if not as_json:
            click.echo(f"{count} frames at {format_fps(rate)} fps is valid (8n+1, n={(count - 1) // 8}), "
                       f"{float(seconds):.3f} s")
        return
    click.echo(f"ltxkit: error: {count} frames is not a valid LTX count (8n+1) at {format_fps(rate)} fps; "
               f"nearest valid: {check.suggestion()}", err=True)
    sys.exit(2)
