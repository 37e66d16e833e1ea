"""One time model end to end: the tail extractor, the splice trim and the audio window agree.

Regression: the tail grid was anchored on A's last frame while the splice trims ``overlap/sampledFps``
from B's head, so at 60 fps sampled at 25 the splice skipped a frame (the two differ by 1/25 - 1/60 s).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av

from ltxkit.assembly.splice import splice
from ltxkit.frames.synth import read_frame_code, render_frame, write_clip
from ltxkit.frames.tail import read_tail
from ltxkit.timing import reference_audio_window


def codes(path: Path) -> list[int]:
    with av.open(str(path)) as c:
        return [read_frame_code(f.to_ndarray(format="rgb24")) for f in c.decode(video=0)]


def test_a_60fps_clip_extended_from_25fps_overlap_splices_without_a_skipped_frame(tmp_path: Path) -> None:
    a = write_clip(tmp_path / "a.mp4", frames=120, fps=60, width=96, height=64)
    tail = read_tail(a, 3, Fraction(25))
    first = tail.frames[0].source_index
    assert [f.source_index for f in tail.frames] == [113, 115, 118]
    # an ideal B continues the scene from the first overlap frame, interpolated to 60 fps
    b = write_clip(tmp_path / "b.mp4", frames=60, fps=60, width=96, height=64,
                   render=(render_frame(first + j, 96, 64) for j in range(60)))
    splice([a, b], tmp_path / "ab.mp4", overlap=3, sampled_fps=Fraction(25), audio=False, otio=False)
    assert codes(tmp_path / "ab.mp4") == list(range(first + 60))  # 0..172: no frame skipped or repeated


def test_b_frame_zero_and_its_audio_window_start_at_the_same_instant() -> None:
    # A lasts 2 s (120 frames at 60); B's frame 0 is the first overlap frame on the 25 fps grid: 2 - 3/25 s,
    # which is where its reference-audio window starts
    window = reference_audio_window(Fraction(2), 3, Fraction(25), Fraction(1), 48000)
    assert window.start_seconds == Fraction(2) - Fraction(3, 25) == Fraction(47, 25)
    assert Fraction("112.8") / 60 == window.start_seconds  # frame 112.8 at 60 fps: the extractor's nearest is 113
