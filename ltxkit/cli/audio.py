"""``ltxkit audio window`` and ``ltxkit audio plan``: clip B's reference audio, and a long track's clips."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ltxkit.cli._output import emit, json_option, log

source_path = click.Path(path_type=Path, dir_okay=False)


@click.group()
def audio() -> None:
    """Reference-audio windows for lip-sync extension, sample-exact."""


@audio.command("window")
@click.argument("src", type=source_path)
@click.option("--cut", required=True, help="End of clip A in seconds, exact decimal or ratio (e.g. 4.04).")
@click.option("--overlap", type=int, required=True, help="Frames clip B shares with clip A.")
@click.option("--fps", required=True, help="Sampled fps, e.g. 25 or 30000/1001.")
@click.option("--frames", type=int, help="Clip B's frame count at the sampled fps (must be 8n+1).")
@click.option("--seconds", help="Clip B's duration in seconds instead (any length).")
@click.option("-o", "--output", "out", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="Output file: .wav, .flac, or .opus/.ogg (Ogg Opus, 48 kHz).")
@click.option("--pad", is_flag=True, help="Fill a window reaching outside the source with silence.")
@click.option("--stream", type=int, help="Audio stream index among the file's audio streams (default 0).")
@click.option("--rate", type=int, help="Resample the output to this rate (Hz).")
@click.option("--mono", is_flag=True, help="Mix the output down to one channel (mean of all channels).")
@json_option
def audio_window_cmd(src: Path, cut: str, overlap: int, fps: str, frames: int | None, seconds: str | None,
                     out: Path, pad: bool, stream: int | None, rate: int | None, mono: bool,
                     as_json: bool) -> None:
    """Cut clip B's reference audio: OVERLAP frames before CUT, B's whole duration, into OUT."""
    from ltxkit.audio.window import extract_window

    result = extract_window(src, out, cut, overlap, fps, frames=frames, seconds=seconds, stream=stream,
                            pad=pad, rate=rate, mono=mono)
    for warning in result["warnings"]:
        log(f"ltxkit: warning: {warning}")

    def human(d: dict[str, Any]) -> str:
        o = d["output"]
        padded = f", padded {d['pad_before']}+{d['pad_after']} samples" if d["padded_samples"] else ""
        return (f"{o['path']}: {float(d['start_seconds']):.6f}..{float(d['end_seconds']):.6f} s "
                f"(samples {d['start_sample']}..{d['end_sample']} at {d['sample_rate']} Hz){padded}; "
                f"{o['num_samples']} samples, {o['channels']} ch, {o['sample_rate']} Hz {o['subtype']}")

    emit(result, as_json, human)


@audio.command("plan")
@click.argument("src", type=source_path)
@click.option("--fps", required=True, help="Sampled fps, e.g. 25 or 30000/1001.")
@click.option("--overlap", type=int, required=True, help="Frames each clip shares with the previous one.")
@click.option("--max-frames", type=int, default=257, show_default=True, help="Longest clip (8n+1).")
@click.option("--stream", type=int, help="Audio stream index among the file's audio streams (default 0).")
@json_option
def audio_plan_cmd(src: Path, fps: str, overlap: int, max_frames: int, stream: int | None,
                   as_json: bool) -> None:
    """Split SRC's audio track into consecutive LTX clips (8n+1 frames) that cover all of it."""
    from ltxkit.audio.plan import plan_source

    result = plan_source(src, fps, overlap, max_frames, stream=stream)

    def human(d: dict[str, Any]) -> str:
        lines = [f"{'#':>3} {'frames':>6} {'new':>5} {'cut s':>11} {'audio start s':>14} {'audio end s':>12} "
                 f"{'samples':>19}"]
        for s in d["segments"]:
            lines.append(f"{s['index']:>3} {s['frames']:>6} {s['new_frames']:>5} {float(s['cut_seconds']):>11.6f} "
                         f"{float(s['audio_start_seconds']):>14.6f} {float(s['audio_end_seconds']):>12.6f} "
                         f"{s['start_sample']:>9}..{s['end_sample']}")
        over = d["overshoot_frames"]
        lines.append(f"{len(d['segments'])} clips, {d['timeline_frames']} timeline frames at {d['fps']} fps for "
                     f"{float(d['total_seconds']):.6f} s; the last clip runs {over} frame{'s' * (over != 1)} "
                     f"({float(d['overshoot_seconds']):.6f} s) past the end of the track")
        return "\n".join(lines)

    emit(result, as_json, human)
