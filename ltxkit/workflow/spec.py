"""What an extension run makes: the request spec, and the local checks it must pass before anything is paid.

``--resume`` compares :meth:`ExtendSpec.to_json` with the manifest's ``spec``: a run directory is only
continued with the values it was made with.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from ltxkit.api_schema import Canvas
from ltxkit.audio.source import source_duration
from ltxkit.errors import InputError
from ltxkit.frames.probe import check_pixels, probe
from ltxkit.jobs.providers import get_provider
from ltxkit.timing import check_ltx_frames, format_fps, frames_to_seconds, overlap_seconds

MAX_CANDIDATES = 16  # each one is a paid job; more is a typo, not a choice
MAX_SEGMENTS = 1000  # over an hour of video at 257 frames, 24 fps


@dataclass(frozen=True)
class SegmentSpec:
    """One clip to generate: its 8n+1 frame count and where its new content starts on the audio."""

    frames: int
    cut_seconds: Fraction  # on the reference audio's timeline: the end of the clip it continues

    def to_json(self) -> dict[str, Any]:
        return {"frames": self.frames, "cut_seconds": str(self.cut_seconds)}


@dataclass(frozen=True)
class ExtendSpec:
    """Everything that defines a run; ``--resume`` refuses a run dir made with other values."""

    prompt: str
    overlap: int
    sampled_fps: Fraction
    interpolation_fps: int
    width: int
    height: int
    segments: tuple[SegmentSpec, ...]
    candidates: int = 3
    seed: int = 1
    clip: Path | None = None  # the opening clip A ...
    image: Path | None = None  # ... or an opening image (then segment 1 starts from it, no overlap)
    audio: Path | None = None
    extreme_quality: bool = False
    combine: str = "local"
    provider: str = "media-jobs"  # ltxkit.jobs.providers: what "extend" means there, or an honest refusal
    sampled_fps_note: str | None = None  # how the sampled fps was chosen when not given (printed, kept in run.json)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        if self.sampled_fps_note is None:  # (absent, as in runs made before the note existed)
            del data["sampled_fps_note"]
        data.update(
            sampled_fps=format_fps(self.sampled_fps),
            clip=None if self.clip is None else str(self.clip.resolve()),
            image=None if self.image is None else str(self.image.resolve()),
            audio=None if self.audio is None else str(self.audio.resolve()),
            segments=[s.to_json() for s in self.segments],
        )
        return data

    @property
    def output_fps(self) -> Fraction:
        return Fraction(self.interpolation_fps) if self.interpolation_fps else self.sampled_fps

    def shared_frames(self, index: int) -> int:
        """Frames segment ``index`` shares with what it continues (none when it opens from the image)."""
        return 0 if (index == 0 and self.image is not None) else self.overlap


def check_parameters(spec: ExtendSpec) -> None:
    """The spec's own rules, checked before any file is read: one opening (clip or image); 8n+1 frame
    counts longer than the overlap; a size the provider renders; a readable opening image."""
    if (spec.clip is None) == (spec.image is None):
        raise InputError("give an opening clip or an opening image (--image), not both or neither")
    if not 1 <= spec.candidates <= MAX_CANDIDATES:
        raise InputError(f"--candidates must be from 1 to {MAX_CANDIDATES}, got {spec.candidates}")
    if len(spec.segments) > MAX_SEGMENTS:
        raise InputError(f"the plan has {len(spec.segments)} segments, over the {MAX_SEGMENTS} one run takes")
    if spec.combine not in ("local", "remote"):
        raise InputError(f"--combine must be local or remote, got {spec.combine!r}")
    if not spec.segments:
        raise InputError("nothing to extend: the plan has no segments")
    overlap_seconds(spec.overlap, spec.sampled_fps)
    if spec.clip is not None and spec.overlap < 1:
        raise InputError("--overlap must be ≥ 1 to continue a clip")
    for i, seg in enumerate(spec.segments):
        check = check_ltx_frames(seg.frames)
        if not check.valid:
            raise InputError(f"segment {i + 1}: --frames {seg.frames} is not 8n+1 at "
                             f"{format_fps(spec.sampled_fps)} fps; nearest valid: {check.suggestion()}")
        if seg.frames <= spec.overlap:
            raise InputError(f"segment {i + 1}: --frames {seg.frames} must exceed --overlap {spec.overlap}")
    problem = get_provider(spec.provider).sizes.problem(spec.width, spec.height)
    if problem is not None:
        raise InputError(f"--size: provider {spec.provider} {problem}")
    if spec.image is not None:
        check_image(spec.image)


def check_media(spec: ExtendSpec) -> list[str]:
    """The spec against its media; returns warnings. A local splice needs the candidates at the opening
    clip's fps; each segment's audio window must lie inside the reference audio (a plan's last segment
    may run past its end: padded)."""
    warnings: list[str] = []
    if spec.clip is not None:
        info = probe(spec.clip)
        if spec.combine == "remote":
            raise InputError("--combine remote needs every clip on the server; the opening clip is local "
                             "(use --combine local, or open from an image)")
        if info.fps != spec.output_fps:
            raise InputError(f"{spec.clip.name} is {format_fps(info.fps)} fps but the candidates will be "
                             f"{format_fps(spec.output_fps)} fps (interpolationFps {spec.interpolation_fps}); "
                             "a local splice needs one rate: set --interpolation-fps to match")
        if clip_canvas(spec, spec.clip) is None:
            warnings.append(f"{spec.clip.name} is {'x'.join(map(str, info.display_size))}, candidates "
                            f"{spec.width}x{spec.height}: the splice scales them to the opening clip's size")
    if spec.audio is not None:
        samples, rate = source_duration(spec.audio)
        total = Fraction(samples, rate)
        for i, seg in enumerate(spec.segments):
            start = seg.cut_seconds - overlap_seconds(spec.shared_frames(i), spec.sampled_fps)
            end = start + frames_to_seconds(seg.frames, spec.sampled_fps)
            if start < 0:
                raise InputError(f"segment {i + 1}: its audio window starts at {float(start):.3f} s, before the "
                                 f"start of {spec.audio.name}; move --cut later")
            if start >= total:
                raise InputError(f"segment {i + 1}: --cut {float(seg.cut_seconds):.3f} s is past the end of "
                                 f"{spec.audio.name} ({float(total):.3f} s)")
            if end > total:
                warnings.append(f"segment {i + 1}: audio runs {float(end - total):.3f} s past the end of "
                                f"{spec.audio.name}; padded with silence")
    return warnings


def clip_canvas(spec: ExtendSpec, clip: Path) -> Canvas | None:
    """How ``clip``'s frames go on the candidates' canvas when that is its API canvas (the default size),
    else None (an explicit ``--size``: frames sent as they are, outputs scaled at the splice)."""
    canvas = get_provider(spec.provider).sizes.canvas(*probe(clip).display_size)
    return canvas if (canvas.width, canvas.height) == (spec.width, spec.height) else None


def check_image(path: Path) -> None:
    """An opening image must be a real picture: caught here, not as K failed paid jobs."""
    if not path.is_file():
        raise InputError(f"no such image: {path}")
    try:
        with Image.open(path) as im:  # reads the header only: the size is checked before any decoding
            check_pixels(path, *im.size)
            im.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise InputError(f"{path} is not a readable image ({exc})") from exc
