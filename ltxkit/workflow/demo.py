"""``ltxkit demo``: the whole toolkit offline, against the built-in emulator, with no key and no network.

It makes a reference track and an opening clip A (its first seconds, with the frame number burned in),
plans the rest of the track as LTX segments, and runs a two-segment lip-sync extension with three
candidates each: overlap frames at the sampled fps, audio windows cut ``overlap/fps`` early, idempotent
jobs, downloads, seam ranking, the splice, the seam report and its HTML page. The emulator's defect
model is on (:data:`DEFECT_RATE`), as a real service misbehaves: two of each segment's candidates come
back with a visible defect, and the ranking sets them aside, saying why.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ltxkit.errors import InputError

MARKER = ".ltxkit-demo"
FPS = Fraction(25)
WIDTH, HEIGHT = 320, 192
OPENING_SECONDS = 2
TRACK_SECONDS = 6
OVERLAP = 3
MAX_FRAMES = 57  # 8·7+1: a 6 s track after a 2 s opening becomes two segments
CANDIDATES = 3
DEFECT_RATE = 0.25  # the emulator's defect model: of seeds 7, 8, 9, 7 comes back with a flash, 8 darker


def _prepare(out_dir: Path) -> None:
    """The demo owns ``out_dir``: reuse it only if an earlier demo made it, never clobber anything else."""
    if out_dir.exists():
        if not out_dir.is_dir():
            raise InputError(f"-o {out_dir}: exists and is not a directory")
        if any(out_dir.iterdir()) and not (out_dir / MARKER).exists():
            raise InputError(f"-o {out_dir}: not empty and not an earlier demo's directory; choose another -o")
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    (out_dir / MARKER).write_text("made by 'ltxkit demo'; rerunning the demo replaces this directory\n")


def _panning(frames: int) -> Iterator[np.ndarray]:
    """A slow sideways pan (1 px a frame) with the frame code burned in: a shot whose motion the
    emulator's continuation (the same pan) carries on, so the demo's seams are clean unless a defect
    is injected."""
    from ltxkit.frames.synth import draw_frame_code, render_frame

    still = render_frame(0, WIDTH, HEIGHT, label="A ")
    for i in range(frames):
        frame = np.roll(still, -i, axis=1)
        draw_frame_code(frame, i)
        yield frame


def make_source(out_dir: Path) -> tuple[Path, Path]:
    """A reference track (a tone, the stand-in for a dialogue line) and clip A covering its start."""
    from ltxkit.audio.window import write_samples
    from ltxkit.frames.synth import Tone, write_clip

    rate, tone = 48000, Tone(hz=330.0, amplitude=0.4)
    track = out_dir / "reference.wav"
    write_samples(track, tone.samples(0, TRACK_SECONDS * rate, rate, 2).T, rate, subtype="PCM_16")
    clip = write_clip(out_dir / "clip-a.mp4", frames=int(OPENING_SECONDS * FPS), fps=FPS, width=WIDTH,
                      height=HEIGHT, tone=tone, sample_rate=rate, render=_panning(int(OPENING_SECONDS * FPS)))
    return clip, track


def run_demo(out_dir: Path, *, log: Callable[[str], None] = lambda _m: None) -> dict[str, Any]:
    """``out_dir`` is the run (``ltxkit review OUT_DIR``); the source and the plan are kept in it too."""
    from ltxkit.emulator.config import EmulatorConfig
    from ltxkit.emulator.defects import DefectModel
    from ltxkit.emulator.server import run_in_thread
    from ltxkit.fsutil import write_json_atomic
    from ltxkit.workflow.extend import ExtendOptions, extend
    from ltxkit.workflow.inputs import build_spec
    from ltxkit.workflow.plan import make_plan
    from ltxkit.workflow.prompts import LipSyncShot, lipsync_prompt

    _prepare(out_dir)
    source = out_dir / "source"
    source.mkdir()
    clip, track = make_source(source)
    log(f"source: {clip.name} ({OPENING_SECONDS} s at {FPS} fps) and a {TRACK_SECONDS} s reference track")
    plan = make_plan(track, FPS, OVERLAP, clip=clip, max_frames=MAX_FRAMES)
    write_json_atomic(out_dir / "plan.json", plan)
    log(f"plan: {len(plan['segments'])} segments of {[s['frames'] for s in plan['segments']]} frames")
    prompt = lipsync_prompt(LipSyncShot(speaker="a presenter facing the camera", delivery="a short spoken line",
                                        continuation=True))
    with run_in_thread(EmulatorConfig(queued_seconds=0.05, running_seconds=0.05,
                                      defects=DefectModel(DEFECT_RATE))) as emulator:
        log(f"emulator: {emulator.base_url} (throwaway key, loopback only)")
        spec, config = build_spec(clip=None, prompt=prompt, overlap=None, frames=None,
                                  plan_path=out_dir / "plan.json", candidates=CANDIDATES, seed=7,
                                  env={"LTXKIT_API_BASE": emulator.base_url, "LTXKIT_API_KEY": emulator.api_key})
        config = config.with_options(poll_interval=0.1, poll_max_interval=0.5)
        # the emulator's stand-in prices are not the user's: they go to a throwaway price book
        with tempfile.TemporaryDirectory(prefix="ltxkit-demo-prices-") as prices:
            result = extend(spec, out_dir, config, ExtendOptions(yes=True, log=log,
                                                                 price_book=Path(prices) / "prices.sqlite"))
    return result
