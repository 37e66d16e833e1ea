"""From what the user typed (or the Python caller passed) to an :class:`ExtendSpec` plus client config.

Defaults follow the opening clip so that the common case needs no flags: its canvas on the provider
(``Provider.sizes.canvas``; media-jobs: 1920x1080 on 1920x1088, others the clip's own size) is the
candidates' size, and the
reference audio's cut is the clip's end (audio aligned with the clip's start). The sampled fps is never
the interpolated rate: a clip made by an earlier run is sampled as that run did (its ``run.json``); any
other clip above 30 fps as the API's default pipeline (sampled at 30, interpolated to the clip's rate),
said in one line; a clip at 30 fps or less at its own rate.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from ltxkit.api_schema import DEFAULT_SAMPLED_FPS
from ltxkit.errors import InputError
from ltxkit.frames.probe import ProbeResult, probe
from ltxkit.fsutil import StrPath, optional_path
from ltxkit.timing import format_fps, parse_fps, parse_seconds, sample_grid
from ltxkit.workflow.manifest import MANIFEST
from ltxkit.workflow.plan import load_plan
from ltxkit.workflow.spec import ExtendSpec, SegmentSpec

if TYPE_CHECKING:
    from ltxkit.jobs import ClientConfig


def build_spec(*, clip: StrPath | None, prompt: str, overlap: int | None, frames: int | None,
               sampled_fps: str | Fraction | None = None, interpolation_fps: int | None = None,
               size: tuple[int, int] | None = None, audio: StrPath | None = None, cut: str | Fraction | None = None,
               plan_path: StrPath | None = None, candidates: int = 3, seed: int = 1, extreme_quality: bool = False,
               combine: str = "local", provider: str | None = None,
               env: dict[str, str] | None = None) -> tuple[ExtendSpec, ClientConfig]:
    """Resolve defaults and the plan; the client config comes from ``LTXKIT_API_BASE``/``LTXKIT_API_KEY``
    over the provider's defaults (``provider`` or ``LTXKIT_PROVIDER``, default media-jobs)."""
    from ltxkit.jobs import ClientConfig
    from ltxkit.jobs.providers import get_provider

    clip, audio, plan_path = optional_path(clip), optional_path(audio), optional_path(plan_path)

    adapter = get_provider(provider, env)
    config = ClientConfig.from_env(env, defaults=adapter.config_defaults)
    config.require_key()  # before any file is read: no key, no run
    image: Path | None = None
    if plan_path is not None:
        if frames is not None or cut is not None or audio is not None:
            raise InputError("--plan fixes the frames, cuts and audio; drop --frames/--cut/--audio")
        data, segments = load_plan(plan_path)
        if clip is not None and data["clip"] and Path(data["clip"]) != clip.resolve():
            raise InputError(f"--plan opens with {data['clip']}, not {clip}")
        clip = Path(data["clip"]) if data["clip"] else None
        image = Path(data["image"]) if data["image"] else None
        audio = Path(data["audio"])
        plan_fps = parse_fps(data["sampled_fps"])
        if sampled_fps is not None and parse_fps(sampled_fps, name="--sampled-fps") != plan_fps:
            raise InputError(f"--sampled-fps differs from the plan's {data['sampled_fps']}")
        sampled_fps = plan_fps
        if overlap is not None and overlap != data["overlap_frames"]:
            raise InputError(f"--overlap differs from the plan's {data['overlap_frames']}")
        overlap = int(data["overlap_frames"])
    elif clip is None:
        raise InputError("give the clip to extend (CLIP) or a plan (--plan)")
    if overlap is None:
        raise InputError("--overlap is required (frames of the clip that condition the next one)")
    info = probe(clip) if clip is not None else None
    note = None
    if sampled_fps is not None:
        fps = parse_fps(sampled_fps, name="--sampled-fps")
    elif info is None:
        raise InputError("--sampled-fps is required when opening from an image")
    else:
        fps, note = default_sampled_fps(info)
    if interpolation_fps is None:
        interpolation_fps = 0 if info is None or info.fps == fps else int(info.fps) if info.fps.denominator == 1 \
            else 0
    if size is not None:
        width, height = size
    elif info is not None:
        canvas = adapter.sizes.canvas(*info.display_size)
        width, height = canvas.width, canvas.height
    else:
        raise InputError("--size is required when opening from an image")
    if plan_path is None:
        if frames is None:
            raise InputError("--frames is required (8n+1 at the sampled fps, e.g. 121 or 257)")
        assert info is not None
        if cut is not None and audio is None:
            raise InputError("--cut needs --audio")
        cut_at = parse_seconds(cut, name="--cut") if cut is not None else _clip_end(info, fps)
        segments = (SegmentSpec(frames=frames, cut_seconds=cut_at),)
    spec = ExtendSpec(prompt=prompt, overlap=overlap, sampled_fps=fps, interpolation_fps=interpolation_fps,
                      width=width, height=height, segments=segments, candidates=candidates, seed=seed,
                      clip=clip, image=image, audio=audio, extreme_quality=extreme_quality, combine=combine,
                      provider=adapter.name, sampled_fps_note=note)
    return spec, config


def default_sampled_fps(info: ProbeResult) -> tuple[Fraction, str | None]:
    """The sampled fps for a clip given without ``--sampled-fps``, and the line that says why (or None).

    Overlap frames at the interpolated rate are what the API's playbook forbids, so a 60 fps clip is
    not sampled at 60: a clip an earlier run made is sampled as that run did; any other clip above 30
    fps (with a whole rate) as the API's default pipeline, at 30 and interpolated to the clip's rate.
    """
    earlier = made_by_run(info.path)
    if earlier is not None:
        fps, run_dir = earlier
        return fps, (f"{info.path.name} was made by the run in {run_dir}: sampled at {format_fps(fps)} fps as "
                     "that run was (give --sampled-fps to override)")
    if info.fps > DEFAULT_SAMPLED_FPS and info.fps.denominator == 1:
        return DEFAULT_SAMPLED_FPS, (
            f"{info.path.name} is {format_fps(info.fps)} fps: sampling at {format_fps(DEFAULT_SAMPLED_FPS)} fps "
            f"and interpolating to {format_fps(info.fps)}, the API's default pipeline (give --sampled-fps to "
            "override)")
    return info.fps, None


def made_by_run(clip: Path) -> tuple[Fraction, Path] | None:
    """The sampled fps of the ltxkit run that made ``clip`` (a candidate or the result in a ``run.json`` of
    its directory or the two above it), and that run's directory."""
    target = clip.resolve()
    for folder in target.parents[:3]:
        try:
            data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
            files = [(data.get("result") or {}).get("output")] + [
                c.get("file") for s in data.get("segments", []) for c in s.get("candidates", [])]
            fps = parse_fps(data["spec"]["sampled_fps"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError, InputError):
            continue
        if any(isinstance(f, str) and Path(f).name == target.name
               and (Path(f).resolve() == target or (folder / f).resolve() == target or Path(f).parent.name
                    == target.parent.name) for f in files):
            return fps, folder
    return None


def _clip_end(info: ProbeResult, sampled_fps: Fraction) -> Fraction:
    """Where a clip ends in sampled time: the instant of the sample after its last one (F / sampledFps).

    An interpolated clip's duration is not that instant (a 2F-1 clip at 60 made from F samples at 30 lasts
    (2F-1)/60 s, half a sample short), and B's reference-audio window starts ``overlap`` samples before it.
    """
    if info.fps == sampled_fps:
        return info.duration_seconds
    return Fraction(sample_grid(info.frame_count, info.fps, sampled_fps).samples) / sampled_fps
