"""Real-world media quirks (issue 15): coarse container clocks, jittered timestamps, damage, rotation.

Every clip is generated here with PyAV, and every quirk is made at the packet or box level (timestamps
rewritten, bytes flipped inside one packet found by its index position, a display matrix set), never by
relying on how one FFmpeg build decodes damage; where a test needs a decoder property it checks it first.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import pytest

from ltxkit.assembly.splice import splice
from ltxkit.frames.probe import probe
from ltxkit.frames.readers import VideoReader
from ltxkit.frames.synth import read_frame_code, render_frame, write_clip
from ltxkit.timing import STANDARD_FPS, snap_fps

NTSC_60 = Fraction(60000, 1001)


def codes(path: Path) -> list[int]:
    with VideoReader(path) as reader:
        return [read_frame_code(f) for f in reader.rgb()]


def rendered(path: Path, fps: Fraction, indices: range) -> Path:
    return write_clip(path, frames=len(indices), fps=fps, width=160, height=96, bframes=0,
                      render=(render_frame(i, 160, 96) for i in indices))


# --- item 6: standard rates through a millisecond clock ----------------------------------------------


@pytest.mark.parametrize("fps", [r for r in STANDARD_FPS if r.denominator == 1001] + [Fraction(50)], ids=str)
def test_matroska_stores_a_standard_rate_in_milliseconds_and_probes_as_that_rate(tmp_path: Path,
                                                                                 fps: Fraction) -> None:
    mkv = rendered(tmp_path / "c.mkv", fps, range(40))
    with av.open(str(mkv)) as container:
        vs = container.streams.video[0]
        raw, tick = Fraction(vs.average_rate), Fraction(vs.time_base)
    assert tick == Fraction(1, 1000)  # precondition: Matroska's clock
    info = probe(mkv)
    assert (info.fps, info.frame_count, info.duration_seconds, info.vfr) == (fps, 40, 40 / fps, False)
    if fps == NTSC_60:  # what FFmpeg measures from the rounded stamps: the rate issue 15 found
        assert raw == Fraction(19001, 317)


def test_snap_fps_only_within_the_clock_precision() -> None:
    ms = Fraction(1, 1000)
    # 40 frames at 59.94 in ms: span 0.651 s (39 intervals of 16.683 ms, the last stamp rounded)
    assert snap_fps(Fraction(19001, 317), Fraction(651, 1000), 39, ms) == NTSC_60
    # the same span measured with a 1/90000 clock cannot be 59.94 (0.65065 s) or 60 (0.65 s): kept
    assert snap_fps(Fraction(39000, 651), Fraction(651, 1000), 39, Fraction(1, 90000)) == Fraction(39000, 651)
    # a long clip shows 60 and 59.94 apart even in ms: 6000 intervals are 100 s or 100.1 s
    assert snap_fps(Fraction(60), Fraction(100), 6000, ms) == 60
    between = Fraction(6000) / Fraction(10005, 100)  # 100.05 s: neither within 1 ms
    assert snap_fps(between, Fraction(10005, 100), 6000, ms) == between
    assert snap_fps(Fraction(5994, 100), Fraction(1001, 10), 6000, ms) == NTSC_60
    assert snap_fps(Fraction(19001, 317), Fraction(0), 0, ms) == Fraction(19001, 317)  # one frame: no span


def test_an_mp4_and_an_mkv_at_59_94_splice_as_one_rate(tmp_path: Path) -> None:
    a = rendered(tmp_path / "a.mp4", NTSC_60, range(0, 30))
    b = rendered(tmp_path / "b.mkv", NTSC_60, range(27, 50))
    out = tmp_path / "s.mp4"
    result = splice([a, b], out, overlap=3, sampled_fps=NTSC_60, audio=False, otio=False)
    assert (result.fps, result.frame_count) == (NTSC_60, 50)
    assert codes(out) == list(range(50))
