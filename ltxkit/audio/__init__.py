"""Reference-audio windows, sample-exact, from audio files and video audio tracks; long-track plans.

:func:`audio_window` / :func:`write_audio` cut and write clip B's window; :func:`plan_segments` splits a
long track into consecutive 8n+1 clips. soundfile and PyAV load on first use, inside the readers.
"""

from __future__ import annotations

from ltxkit.audio.plan import DEFAULT_MAX_FRAMES, PlannedSegment, SegmentPlan, plan_segments, plan_source
from ltxkit.audio.source import AudioSource, SampleRange, SourceInfo, open_audio, source_duration
from ltxkit.audio.window import (
    AudioClip,
    WrittenAudio,
    audio_window,
    extract_window,
    output_format,
    resample,
    write_audio,
)

__all__ = [
    "DEFAULT_MAX_FRAMES",
    "AudioClip",
    "AudioSource",
    "PlannedSegment",
    "SampleRange",
    "SegmentPlan",
    "SourceInfo",
    "WrittenAudio",
    "audio_window",
    "extract_window",
    "open_audio",
    "output_format",
    "plan_segments",
    "plan_source",
    "resample",
    "source_duration",
    "write_audio",
]
