"""From what the user typed (or the Python caller passed) to an :class:`ExtendSpec` plus client config.

Defaults follow the opening clip so that the common case needs no flags: its fps is the sampled fps,
its size is the candidates' size, no interpolation when it is already at the sampled fps (else its
own rate), and the reference audio's cut is the clip's end (audio aligned with the clip's start).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from ltxkit.errors import InputError
from ltxkit.frames.probe import probe
from ltxkit.timing import parse_fps, parse_seconds
from ltxkit.workflow.plan import load_plan
from ltxkit.workflow.spec import ExtendSpec, SegmentSpec

if TYPE_CHECKING:
    from ltxkit.jobs import ClientConfig


def build_spec(*, clip: Path | None, prompt: str, overlap: int | None, frames: int | None,
               sampled_fps: str | Fraction | None = None, interpolation_fps: int | None = None,
               size: tuple[int, int] | None = None, audio: Path | None = None, cut: str | Fraction | None = None,
               plan_path: Path | None = None, candidates: int = 3, seed: int = 1, extreme_quality: bool = False,
               combine: str = "local", provider: str | None = None,
               env: dict[str, str] | None = None) -> tuple[ExtendSpec, ClientConfig]:
    """Resolve defaults and the plan; the client config comes from ``LTXKIT_API_BASE``/``LTXKIT_API_KEY``
    over the provider's defaults (``provider`` or ``LTXKIT_PROVIDER``, default media-jobs)."""
    from ltxkit.jobs import ClientConfig
    from ltxkit.jobs.providers import get_provider

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
    fps = parse_fps(sampled_fps, name="--sampled-fps") if sampled_fps is not None else (
        info.fps if info is not None else None)
    if fps is None:
        raise InputError("--sampled-fps is required when opening from an image")
    if interpolation_fps is None:
        interpolation_fps = 0 if info is None or info.fps == fps else int(info.fps) if info.fps.denominator == 1 \
            else 0
    if size is not None:
        width, height = size
    elif info is not None:
        width, height = info.width, info.height
    else:
        raise InputError("--size is required when opening from an image")
    if plan_path is None:
        if frames is None:
            raise InputError("--frames is required (8n+1 at the sampled fps, e.g. 121 or 257)")
        assert info is not None
        if cut is not None and audio is None:
            raise InputError("--cut needs --audio")
        cut_at = parse_seconds(cut, name="--cut") if cut is not None else info.duration_seconds
        segments = (SegmentSpec(frames=frames, cut_seconds=cut_at),)
    spec = ExtendSpec(prompt=prompt, overlap=overlap, sampled_fps=fps, interpolation_fps=interpolation_fps,
                      width=width, height=height, segments=segments, candidates=candidates, seed=seed,
                      clip=clip, image=image, audio=audio, extreme_quality=extreme_quality, combine=combine,
                      provider=adapter.name)
    return spec, config
