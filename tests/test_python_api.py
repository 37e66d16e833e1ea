"""The README's Python API takes a path as ``str`` as well as ``pathlib.Path`` (issue 18 item 3)."""

from __future__ import annotations

import json
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import httpx
import soundfile

import ltxkit
from ltxkit.frames.synth import Tone

ClipFactory = Callable[..., Path]


def test_media_functions_take_str_paths(make_clip: ClipFactory, tmp_path: Path) -> None:
    clip = str(make_clip(frames=40, audio=True))
    assert ltxkit.probe(clip).frame_count == 40
    assert len(ltxkit.read_tail(clip, 3).frames) == 3
    assert len(ltxkit.extract_tail(clip, 3, str(tmp_path / "tail"))["frames"]) == 3
    window = ltxkit.extract_window(clip, str(tmp_path / "b.flac"), Fraction(1), 3, 25, frames=9)
    assert soundfile.info(str(tmp_path / "b.flac")).frames == window["end_sample"] - window["start_sample"]
    assert ltxkit.audio_window(clip, Fraction(1), 3, 25, frames=9).window.start_sample == window["start_sample"]
    spliced = ltxkit.splice_with_report([clip, clip], str(tmp_path / "s.mp4"), overlap=3, sampled_fps=Fraction(25),
                                        report_dir=str(tmp_path / "report"), otio=False)
    assert spliced["splice"]["frame_count"] == 77 and (tmp_path / "report" / "report.html").exists()
    seam = ltxkit.review_seam(clip, clip, overlap=3, sampled_fps=Fraction(25), report_dir=str(tmp_path / "seam"))
    assert seam["report"] == str(tmp_path / "seam" / "report.html")


def test_plan_and_spec_take_str_paths(make_clip: ClipFactory, tmp_path: Path) -> None:
    clip = make_clip(frames=50, audio=True)
    track = tmp_path / "track.wav"
    soundfile.write(track, Tone().samples(0, 4 * 48000, 48000, 2).T, 48000)
    plan = ltxkit.make_plan(str(track), Fraction(25), 3, clip=str(clip), max_frames=57)
    (tmp_path / "plan.json").write_text(json.dumps(plan, default=str))
    spec, _ = ltxkit.build_spec(clip=None, prompt="a line", overlap=None, frames=None,
                                plan_path=str(tmp_path / "plan.json"),
                                env={"LTXKIT_API_BASE": "http://127.0.0.1:9", "LTXKIT_API_KEY": "k"})
    assert (spec.clip, spec.audio) == (clip.resolve(), track.resolve())
    spec, _ = ltxkit.build_spec(clip=str(clip), prompt="a line", overlap=3, frames=25, audio=str(track),
                                env={"LTXKIT_API_BASE": "http://127.0.0.1:9", "LTXKIT_API_KEY": "k"})
    assert (spec.clip, spec.audio) == (clip, track)


def test_downloads_take_str_paths(tmp_path: Path) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=b"0123456789"))
    with ltxkit.Client(api_key="k", base_url="http://127.0.0.1:9", progress=False,
                       http_client=httpx.Client(transport=transport)) as client:
        assert client.download("http://127.0.0.1:9/f.mp4", str(tmp_path / "f.mp4")).read_bytes() == b"0123456789"
