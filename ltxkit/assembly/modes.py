"""Names of the splice options, importable without PyAV (the CLI builds its choices from these)."""

from __future__ import annotations

MODES = ("trim-b", "trim-a", "crossfade")
AUDIO_FROM = ("b", "a")
AUDIO_FADES = ("linear", "equal-power")
OUTPUT_CODECS = ("h264", "prores", "ffv1")  # the keys of ltxkit.frames.codecs.CODECS
