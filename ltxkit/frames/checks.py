"""Checks inputs and outputs pass before anything is written (shared by every command that writes)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from ltxkit.errors import InputError
from ltxkit.frames.codecs import codec_profile
from ltxkit.frames.probe import ProbeResult, probe
from ltxkit.fsutil import same_file, within
from ltxkit.timing import format_fps


def check_inputs(inputs: Sequence[Path], *, audio: bool, scale: bool = False) -> list[ProbeResult]:
    """Probe every input and insist on one frame rate, one size (unless ``scale``) and audio if asked."""
    if not inputs:
        raise InputError("no input clips given")
    infos = [probe(Path(p)) for p in inputs]
    first = infos[0]
    for info in infos:
        if info.vfr:
            raise InputError(f"{info.path} has a variable frame rate; convert it to a constant rate first")
        if info.fps != first.fps:
            raise InputError(f"frame rates differ: {first.path.name} is {format_fps(first.fps)} fps, "
                             f"{info.path.name} is {format_fps(info.fps)} fps")
        if not scale and info.display_size != first.display_size:
            raise InputError(f"sizes differ: {first.path.name} is {_size(first)}, "
                             f"{info.path.name} is {_size(info)} (use --scale to scale to "
                             f"the first clip's size)")
        if audio and not info.audio:
            raise InputError(f"{info.path} has no audio stream (audio was requested)")
    return infos


def _size(info: ProbeResult) -> str:
    """``1080x1920`` as displayed (``, rotated 90°`` when that is not how the pixels are stored)."""
    width, height = info.display_size
    return f"{width}x{height}" + (f" (rotated {info.rotation}°)" if info.rotation else "")


def check_location(path: Path) -> None:
    """``path`` can be created: its nearest existing ancestor is a directory (missing ones get made)."""
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InputError(f"cannot create {path}: {ancestor} is not a directory")


def check_output(output: Path, inputs: Sequence[Path], codec: str) -> None:
    codec_profile(codec).container_for(output)
    if output.is_dir():
        raise InputError(f"cannot write {output}: it is a directory")
    check_location(output)
    refuse_overwrite([output], inputs)


def refuse_overwrite(outputs: Iterable[Path], inputs: Iterable[Path | str | None], *, flag: str = "-o") -> None:
    """No output (a file, or a tree the command replaces) may be an input or hold one: writing it would
    destroy the input. Symlinks and hard links are seen through. Every command that writes calls this
    before it reads, decodes or pays for anything."""
    sources = [Path(p) for p in inputs if p is not None]
    for output in outputs:
        for source in sources:
            if same_file(output, source) or within(source, output):
                raise InputError(f"{flag} {output} would overwrite an input ({source}); write to another path")


# FFmpeg's default layout for a channel count (what a decoder reports for the usual AAC/PCM streams).
_DEFAULT_LAYOUTS = {1: "mono", 2: "stereo", 3: "2.1", 4: "quad", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}


def default_layout(channels: int) -> str:
    return _DEFAULT_LAYOUTS.get(channels, f"{channels}c")


def audio_format_of(infos: Sequence[ProbeResult]) -> tuple[int, str, list[str]]:
    """Output sample rate and layout (the first input's) plus warnings for inputs that get converted."""
    first = infos[0].audio[0]
    rate = first.sample_rate
    layout = default_layout(first.channels)
    warnings = [f"{info.path.name}: audio converted from {a.sample_rate} Hz/{a.channels} ch to "
                f"{rate} Hz/{first.channels} ch"
                for info in infos[1:] for a in info.audio[:1]
                if (a.sample_rate, a.channels) != (rate, first.channels)]
    return rate, layout, warnings

