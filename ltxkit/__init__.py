"""ltxkit: extend video clips with LTX-style generation and join them without visible seams.

Everything the CLI does is one import away; names load lazily, so ``import ltxkit`` stays cheap::

    from ltxkit import probe, extract_tail, extract_window, Client, splice_with_report, extend, build_spec
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ltxkit._version import __version__

_EXPORTS = {
    "probe": "ltxkit.frames.probe",
    "read_tail": "ltxkit.frames.tail",
    "extract_tail": "ltxkit.frames.tail",
    "audio_window": "ltxkit.audio.window",
    "extract_window": "ltxkit.audio.window",
    "write_audio": "ltxkit.audio.window",
    "plan_segments": "ltxkit.audio.plan",
    "Client": "ltxkit.jobs",
    "AsyncClient": "ltxkit.jobs",
    "ClientConfig": "ltxkit.jobs",
    "Journal": "ltxkit.jobs",
    "VideoGenerate": "ltxkit.jobs",
    "VideoCombine": "ltxkit.jobs",
    "submit_and_collect": "ltxkit.jobs",
    "splice": "ltxkit.assembly.splice",
    "splice_with_report": "ltxkit.assembly.report",
    "review_seam": "ltxkit.assembly.report",
    "concat_clips": "ltxkit.frames.concat",
    "run_in_thread": "ltxkit.emulator.server",
    "EmulatorConfig": "ltxkit.emulator.config",
    "extend": "ltxkit.workflow.extend",
    "ExtendOptions": "ltxkit.workflow.extend",
    "build_spec": "ltxkit.workflow.inputs",
    "make_plan": "ltxkit.workflow.plan",
    "run_demo": "ltxkit.workflow.demo",
    "lipsync_prompt": "ltxkit.workflow.prompts",
    "LipSyncShot": "ltxkit.workflow.prompts",
}

__all__ = [
    "AsyncClient",
    "Client",
    "ClientConfig",
    "EmulatorConfig",
    "ExtendOptions",
    "Journal",
    "LipSyncShot",
    "VideoCombine",
    "VideoGenerate",
    "__version__",
    "audio_window",
    "build_spec",
    "concat_clips",
    "extend",
    "extract_tail",
    "extract_window",
    "lipsync_prompt",
    "make_plan",
    "plan_segments",
    "probe",
    "read_tail",
    "review_seam",
    "run_demo",
    "run_in_thread",
    "splice",
    "splice_with_report",
    "submit_and_collect",
    "write_audio",
]

if TYPE_CHECKING:
    from ltxkit.assembly.report import review_seam, splice_with_report
    from ltxkit.assembly.splice import splice
    from ltxkit.audio.plan import plan_segments
    from ltxkit.audio.window import audio_window, extract_window, write_audio
    from ltxkit.emulator.config import EmulatorConfig
    from ltxkit.emulator.server import run_in_thread
    from ltxkit.frames.concat import concat_clips
    from ltxkit.frames.probe import probe
    from ltxkit.frames.tail import extract_tail, read_tail
    from ltxkit.jobs import AsyncClient, Client, ClientConfig, Journal, VideoCombine, VideoGenerate, submit_and_collect
    from ltxkit.workflow.demo import run_demo
    from ltxkit.workflow.extend import ExtendOptions, extend
    from ltxkit.workflow.inputs import build_spec
    from ltxkit.workflow.plan import make_plan
    from ltxkit.workflow.prompts import LipSyncShot, lipsync_prompt


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'ltxkit' has no attribute {name!r}")
