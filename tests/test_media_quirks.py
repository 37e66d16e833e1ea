"""Real-world media quirks (issue 15): coarse container clocks, jittered timestamps, damage, rotation.

Every clip is generated here with PyAV, and every quirk is made at the packet or box level (timestamps
rewritten, bytes flipped inside one packet found by its index position, a display matrix set), never by
relying on how one FFmpeg build decodes damage; where a test needs a decoder property it checks it first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from media import write_stamped
from PIL import Image

from ltxkit.api_schema import api_canvas
from ltxkit.assembly import grade
from ltxkit.assembly.seam import best_lag
from ltxkit.assembly.splice import prepare_splice, splice
from ltxkit.audio import audio_window, open_audio
from ltxkit.errors import InputError
from ltxkit.frames.probe import probe
from ltxkit.frames.readers import VideoReader
from ltxkit.frames.synth import Tone, read_frame_code, render_frame, write_clip
from ltxkit.frames.tail import extract_tail
from ltxkit.timing import STANDARD_FPS, frame_position, snap_fps, timestamp_slack

NTSC_60 = Fraction(60000, 1001)


@dataclass(frozen=True)
class ShiftedTone(Tone):
    """The tone from absolute sample ``offset`` on: clip B's audio continues A's in time."""

    offset: int = 0

    def samples(self, start: int, count: int, rate: int, channels: int) -> np.ndarray:
        return super().samples(start + self.offset, count, rate, channels)


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


# --- item 4: AAC timestamp jitter is jitter, a lost packet is a gap -----------------------------------


def restamp_audio(src: Path, dst: Path, stamp: Callable[[int, int], int]) -> Path:
    """``src`` with its AAC packets re-stamped: packet k (pts p, in the stream's 1/48000 clock) gets
    ``stamp(k, p)``; the video and every byte of every packet are unchanged."""
    with av.open(str(src)) as source, av.open(str(dst), "w") as out:
        streams = {s.index: out.add_stream_from_template(s) for s in source.streams}
        k = 0
        for packet in source.demux():
            if packet.dts is None or packet.pts is None:
                continue  # the flush packets
            if packet.stream.type == "audio":
                assert packet.time_base == Fraction(1, 48000)
                packet.pts = packet.dts = stamp(k, packet.pts)
                k += 1
            packet.stream = streams[packet.stream_index]
            out.mux(packet)
    return dst


def stamps(path: Path) -> list[int]:
    with av.open(str(path)) as container:
        return [p.pts for p in container.demux(audio=0) if p.pts is not None and p.size]


def decoded(path: Path) -> np.ndarray:
    """Every decoded sample of the first audio stream as (n, channels); the mp4 edit list drops the encoder's
    priming, so sample 0 is the picture's first instant, as for a reader."""
    with av.open(str(path)) as container:
        return np.concatenate([f.to_ndarray() for f in container.decode(audio=0)], axis=1).T


@pytest.fixture(scope="module")
def toned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 s at 25 fps with a 440 Hz AAC tone (48 kHz stereo): the clean source the jittered ones come from."""
    return write_clip(tmp_path_factory.mktemp("tone") / "tone.mp4", frames=50, fps=25, width=64, height=48,
                      bframes=0, tone=Tone())


JITTERS: dict[str, Callable[[int, int], int]] = {
    # issue 15: one step of 1040 ticks where 1024 samples passed; every later stamp 16 late
    "one-1040-step": lambda k, pts: pts + 16 * (k >= 40),
    # remuxed from a 1 ms clock: every stamp rounded to whole ms (steps of 1008 and 1056, ±24 samples)
    "ms-rounded": lambda k, pts: round(Fraction(pts, 48)) * 48,
}


@pytest.mark.parametrize("jitter", JITTERS)
def test_aac_timestamp_jitter_follows_the_decoded_sample_count(toned: Path, tmp_path: Path, jitter: str) -> None:
    jittered = restamp_audio(toned, tmp_path / "j.mp4", JITTERS[jitter])
    steps = set(np.diff(stamps(jittered)).tolist())
    assert steps == ({1024, 1040} if jitter == "one-1040-step" else {1008, 1056})  # the corpus is what it says
    plain = decoded(toned).astype(np.float64)
    assert np.array_equal(decoded(jittered), decoded(toned))  # same packets, same samples
    # a window across the jitter (packet 40 starts at 40 * 1024 samples = 0.853 s): the source's samples
    clip = audio_window(jittered, "1.2", 8, 25, frames=17, reader="pyav")
    start = clip.window.start_sample
    assert (start, len(clip.samples)) == (round(Fraction(48000) * Fraction(88, 100)), 17 * 1920)
    assert np.array_equal(clip.samples, plain[start:start + 17 * 1920])
    with open_audio(jittered, reader="pyav") as source:
        got = source.read(0, 90000, until=90000)
    assert np.array_equal(got.samples, plain[:90000])


def test_a_splice_across_aac_jitter_has_no_hole_and_no_shift(toned: Path, tmp_path: Path) -> None:
    a = restamp_audio(toned, tmp_path / "a.mp4", JITTERS["one-1040-step"])
    b = write_clip(tmp_path / "b.mp4", frames=30, fps=25, width=64, height=48, bframes=0,
                   tone=ShiftedTone(offset=47 * 1920), render=(render_frame(i, 64, 48) for i in range(47, 77)))
    out = tmp_path / "s.mkv"
    result = splice([a, b], out, overlap=3, sampled_fps=Fraction(25), codec="ffv1", otio=False)
    assert result.audio_samples == 77 * 1920
    with av.open(str(out)) as container:  # PCM: the samples as the splice wrote them
        pcm = np.concatenate([f.to_ndarray().reshape(-1, 2) for f in container.decode(audio=0)])
    audio = pcm[:, 0].astype(np.float64) / 32768
    # the tone at half scale never rests two samples on zero: 16 inserted zeros would
    assert max(len(run) for run in np.split(audio, np.flatnonzero(audio != 0)) if not run.any()) <= 1
    reference = Tone().samples(0, 77 * 1920, 48000, 1)[0]
    for start in (40 * 1024 - 2400, 40 * 1024, 47 * 1920 - 2400, 50 * 1920 - 2400):
        window = slice(start, start + 2400)
        lag, corr = best_lag(reference[window].astype(np.float64), audio[window], 40)
        assert (lag, corr > 0.99) == (0, True), start


def test_less_than_half_a_frame_off_is_jitter_a_lost_packet_is_a_gap() -> None:
    tick = Fraction(1, 48000)
    assert [timestamp_slack(tick, 48000), timestamp_slack(tick, 48000, 1024),
            timestamp_slack(Fraction(1, 1000), 48000, 64)] == [2, 512, 49]
    slack = timestamp_slack(tick, 48000, 1024)
    # 1040 ticks after a 1024-sample frame, and 511 late: back to back; a lost packet (1024 late): a gap
    assert [frame_position(1024, 1040, slack), frame_position(1024, 1535, slack),
            frame_position(1024, 2048, slack)] == [1024, 1024, 2048]


# --- item 5: damaged files are refused, naming the frame -----------------------------------------------


def packet_spans(path: Path) -> list[tuple[int, int]]:
    """(byte position, size) of each video packet in decoding order, from the demuxer."""
    with av.open(str(path)) as container:
        return [(p.pos, p.size) for p in container.demux(video=0) if p.size]


def tail_cli(path: Path, out: Path) -> tuple[int, str, list[str]]:
    from click.testing import CliRunner

    from ltxkit.cli import main

    result = CliRunner().invoke(main, ["frames", "tail", str(path), "-n", "3", "--fps", "25", "-o", str(out)])
    return result.exit_code, result.stdout, result.stderr.splitlines()


@pytest.mark.parametrize("inside", [False, True], ids=["at-a-packet", "inside-a-packet"])
def test_a_truncated_matroska_file_is_refused(tmp_path: Path, inside: bool) -> None:
    mkv = write_clip(tmp_path / "c.mkv", frames=133, fps=25, width=160, height=96, bframes=0, gop=25)
    spans = packet_spans(mkv)
    assert probe(mkv).frame_count == len(spans) == 133
    pos, size = spans[125]  # the last 5 %: frames 125-132 are cut off (and half of 125's packet, inside)
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(mkv.read_bytes()[:pos + (size // 2 if inside else 0)])
    kept = len(packet_spans(cut))
    assert kept == 125  # the demuxer drops a packet cut in half
    message = (f"ltxkit: error: {cut}: truncated: frames stop after frame 124 (5.000 s) but the header says "
               "5.320 s")
    assert tail_cli(cut, tmp_path / "out") == (2, "", [message])
    assert not (tmp_path / "out").exists()
    with pytest.raises(InputError, match="truncated: frames stop after frame 124"):
        probe(cut)


def flip(path: Path, dst: Path, packet: int) -> Path:
    """``path`` with the middle third of video packet ``packet``'s bytes inverted (located by the index)."""
    pos, size = packet_spans(path)[packet]
    data = bytearray(path.read_bytes())
    for i in range(pos + size // 3, pos + 2 * size // 3):
        data[i] ^= 0xFF
    dst.write_bytes(bytes(data))
    return dst


def video_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(video=0) if p.size]


def flagged(path: Path) -> list[int]:
    """Frames this FFmpeg flags as corrupt in a plain decode (the decoder property the refusal rests on)."""
    with av.open(str(path)) as container:
        return [i for i, f in enumerate(container.decode(video=0)) if f.is_corrupt]


def test_a_long_gop_mp4_with_flipped_bytes_is_refused_naming_the_frame(tmp_path: Path) -> None:
    clean = write_clip(tmp_path / "long.mp4", frames=60, fps=25, width=160, height=96, bframes=0, gop=60)
    damaged = flip(clean, tmp_path / "damaged.mp4", 40)  # no B-frames: packet 40 is frame 40
    assert flagged(damaged) == [40], "precondition: this FFmpeg flags the frame whose bytes were flipped"
    assert probe(damaged).frame_count == 60
    message = (f"ltxkit: error: {damaged}: frame 57 is damaged (it is predicted from frame 40, which the decoder "
               "flagged as corrupt); the file is corrupt")
    assert tail_cli(damaged, tmp_path / "out") == (2, "", [message])
    assert not (tmp_path / "out").exists()
    b = rendered(tmp_path / "b.mp4", Fraction(25), range(57, 70))
    with pytest.raises(InputError) as caught:  # --render full decodes every frame of A
        splice([damaged, b], tmp_path / "s.mp4", overlap=3, sampled_fps=Fraction(25), audio=False, otio=False,
               render="full")
    assert str(caught.value) == (f"{damaged}: frame 40 is damaged (the decoder flagged it as corrupt); "
                                 "the file is corrupt")
    assert not (tmp_path / "s.mp4").exists()


def test_smart_render_passes_a_damaged_copied_gop_through_and_says_so(tmp_path: Path) -> None:
    """A stream copy does not decode: A's damaged GOP reaches the output bit-for-bit (no worse than A), and
    the result says which GOPs were copied without decoding."""
    clean = write_clip(tmp_path / "long.mp4", frames=60, fps=25, width=160, height=96, bframes=0, gop=60)
    damaged = flip(clean, tmp_path / "damaged.mp4", 40)
    b = write_clip(tmp_path / "b.mp4", frames=40, fps=25, width=160, height=96, bframes=0, gop=20,
                   render=(render_frame(i, 160, 96) for i in range(57, 97)))
    result = splice([damaged, b], tmp_path / "s.mp4", overlap=3, sampled_fps=Fraction(25), audio=False, otio=False)
    assert result.render is not None and result.render["mode"] == "smart"
    assert result.render["copied"] == [{"clip": "damaged.mp4", "first_frame": 0, "last_frame": 59, "gops": 1},
                                       {"clip": "b.mp4", "first_frame": 20, "last_frame": 39, "gops": 1}]
    assert result.render["notes"][0] == ("damaged.mp4: 1 GOP (frames 0-59) copied without decoding: passed "
                                         "through bit-for-bit, as good (or as damaged) as the source")
    assert video_packets(tmp_path / "s.mp4")[:60] == video_packets(damaged)
    assert flagged(tmp_path / "s.mp4") == [40]


def test_damage_in_the_reencoded_part_is_refused_naming_the_frame(tmp_path: Path) -> None:
    """Smart render decodes what it re-encodes (B's head up to its next keyframe): damage there is refused."""
    a = write_clip(tmp_path / "a.mp4", frames=60, fps=25, width=160, height=96, bframes=0, gop=20)
    clean = write_clip(tmp_path / "b.mp4", frames=40, fps=25, width=160, height=96, bframes=0, gop=20,
                       render=(render_frame(i, 160, 96) for i in range(57, 97)))
    damaged = flip(clean, tmp_path / "damaged.mp4", 12)
    assert flagged(damaged) == [12], "precondition: this FFmpeg flags the frame whose bytes were flipped"
    with pytest.raises(InputError) as caught:
        splice([a, damaged], tmp_path / "s.mp4", overlap=3, sampled_fps=Fraction(25), audio=False, otio=False)
    assert str(caught.value) == (f"{damaged}: frame 12 is damaged (the decoder flagged it as corrupt); "
                                 "the file is corrupt")
    assert not (tmp_path / "s.mp4").exists()


def test_damage_before_the_tails_keyframe_leaves_a_clean_tail(tmp_path: Path) -> None:
    clean = write_clip(tmp_path / "gops.mp4", frames=60, fps=25, width=160, height=96, bframes=0, gop=20)
    damaged = flip(clean, tmp_path / "damaged.mp4", 30)
    assert flagged(damaged) == [30], "precondition: this FFmpeg flags the frame whose bytes were flipped"
    manifest = extract_tail(damaged, 3, tmp_path / "out")
    assert [f["source_index"] for f in manifest["frames"]] == [57, 58, 59]
    assert (manifest["seek"], manifest["decoded_from"], manifest["damaged_frames"]) == ("keyframe", 40, [])
    with av.open(str(clean)) as container:
        reference = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    for f in manifest["frames"]:
        assert np.array_equal(np.asarray(Image.open(tmp_path / "out" / f["file"])), reference[f["source_index"]])


# --- item 3: a jittered VFR tail neither repeats nor loses a frame --------------------------------------


def test_jittered_vfr_tail_has_no_repeat_and_no_lost_frame(tmp_path: Path) -> None:
    # 132 frames at 25 fps on average, stamped 56 and 24 ms apart in turn (frame 2j at 80j ms)
    times_ms = [80 * (i // 2) + 56 * (i % 2) for i in range(132)]
    path = write_stamped(tmp_path / "jitter.mp4", times_ms, 160, 96, crf="16", bf="0", g="25")
    info = probe(path)
    assert (info.vfr, info.frame_count) == (True, 132)
    manifest = extract_tail(path, 3, tmp_path / "out", sampled_fps=Fraction(25))
    # samples k/25 s from frame 0: the last inside the clip (5.256 s) are 5.16, 5.20, 5.24 s -> frames
    # 129 (5.176), 130 (5.200), 131 (5.256); the grid ended one jittered interval late gave 130, 131, 131
    assert [f["source_index"] for f in manifest["frames"]] == [129, 130, 131]
    assert [read_frame_code(np.asarray(Image.open(tmp_path / "out" / f["file"]))) for f in manifest["frames"]] == \
        [129, 130, 131]


# --- item 7: rotation: what is handed on is what a viewer sees ------------------------------------------


def sideways(path: Path, indices: range, remux: Callable[..., Path], rotation: int) -> Path:
    """A phone clip: frames stored turned against ``rotation`` (the display matrix), so each *displays*
    upright at 160x96 with its code readable."""
    stored = path.with_name(f"stored-{path.name}")
    turns = -rotation // 90
    write_clip(stored, frames=len(indices), fps=25, width=96 if turns % 2 else 160, height=160 if turns % 2 else 96,
               bframes=0, render=(np.ascontiguousarray(np.rot90(render_frame(i, 160, 96), turns)) for i in indices))
    return remux(stored, path, rotation=rotation)


@pytest.mark.parametrize("rotation", [90, -90, 180])
def test_the_tail_of_a_rotated_clip_is_upright_as_displayed(tmp_path: Path, remux: Callable[..., Path],
                                                           rotation: int) -> None:
    phone = sideways(tmp_path / "phone.mp4", range(30), remux, rotation)
    info = probe(phone)
    assert (info.rotation % 360, info.display_size) == (rotation % 360, (160, 96))  # 180 probes as -180
    manifest = extract_tail(phone, 3, tmp_path / "out")
    assert (manifest["rotation"], manifest["width"], manifest["height"]) == (info.rotation, 160, 96)
    pictures = [np.asarray(Image.open(tmp_path / "out" / f["file"])) for f in manifest["frames"]]
    assert [p.shape for p in pictures] == [(96, 160, 3)] * 3
    assert [read_frame_code(p) for p in pictures] == [27, 28, 29]


def test_a_rotated_a_spliced_with_an_upright_b_comes_out_upright(tmp_path: Path, remux: Callable[..., Path]) -> None:
    a = sideways(tmp_path / "a.mp4", range(0, 30), remux, 90)
    b = rendered(tmp_path / "b.mp4", Fraction(25), range(27, 50))
    out = tmp_path / "s.mp4"
    result = splice([a, b], out, overlap=3, sampled_fps=Fraction(25), audio=False, otio=False)
    info = probe(out)
    assert (info.rotation, info.width, info.height, result.frame_count) == (0, 160, 96, 50)
    assert codes(out) == list(range(50))


def test_a_colour_match_estimates_from_a_rotated_clip_as_displayed(tmp_path: Path,
                                                                  remux: Callable[..., Path]) -> None:
    """--color-match reads a phone clip's frames upright at its displayed size (they were squeezed into the
    stored size, 96x160, before), as the seam review that rates the match reads them."""
    a = rendered(tmp_path / "a.mp4", Fraction(25), range(0, 30))
    b = sideways(tmp_path / "b.mp4", range(27, 50), remux, 90)
    plan = prepare_splice([a, b], overlap=3, sampled_fps=Fraction(25), audio=False)
    frames = grade._frames(plan, 1, 0, 3)
    assert [f.shape for f in frames] == [(96, 160, 3)] * 3
    assert [read_frame_code(f) for f in frames] == [27, 28, 29]


# --- item 8: camera footage: the API canvas chosen, conditioning padded, outputs conformed back -----------


@pytest.mark.parametrize(("size", "canvas", "picture"), [
    ((1920, 1080), (1920, 1088), (1920, 1080)), ((1080, 1920), (1088, 1920), (1080, 1920)),
    ((1280, 720), (1280, 736), (1280, 720)), ((160, 96), (160, 96), (160, 96)),
    ((3840, 2160), (2720, 1536), (2720, 1530)), ((2048, 2048), (2048, 2048), (2048, 2048)),
])
def test_the_api_canvas_is_the_source_padded_to_32_and_scaled_only_past_4_mp(
        size: tuple[int, int], canvas: tuple[int, int], picture: tuple[int, int]) -> None:
    c = api_canvas(*size)
    assert ((c.width, c.height), (c.picture_width, c.picture_height)) == (canvas, picture)
    assert c.width % 32 == c.height % 32 == 0 and c.width * c.height <= 4 * 1024 * 1024
    assert abs(Fraction(c.picture_width, c.picture_height) - Fraction(*size)) < Fraction(1, 100)
    assert api_canvas(1920, 1080).describe() == (
        "canvas 1920x1088 (multiples of 32): 1920x1080 padded with black (4 px top, 4 px bottom); the outputs "
        "are conformed back at the splice")


def test_a_1920x1080_23_976_clip_extends_through_the_emulator_delivered_at_its_size_and_rate(
        tmp_path: Path) -> None:
    from ltxkit.emulator.config import EmulatorConfig
    from ltxkit.emulator.server import run_in_thread
    from ltxkit.workflow.extend import ExtendOptions, extend
    from ltxkit.workflow.inputs import build_spec

    film = Fraction(24000, 1001)
    clip = write_clip(tmp_path / "camera.mp4", frames=12, fps=film, width=1920, height=1080, bframes=0)
    with run_in_thread(EmulatorConfig(queued_seconds=0.05, running_seconds=0.05)) as handle:
        env = {"LTXKIT_API_BASE": handle.base_url, "LTXKIT_API_KEY": handle.api_key,
               "LTXKIT_POLL_INTERVAL": "0.05", "LTXKIT_POLL_MAX_INTERVAL": "0.2"}
        spec, config = build_spec(clip=clip, prompt="the shot goes on", overlap=2, frames=9, candidates=1,
                                  env=env)
        assert (spec.width, spec.height, spec.sampled_fps, spec.interpolation_fps) == (1920, 1088, film, 0)
        logs: list[str] = []
        result = extend(spec, tmp_path / "run", config, ExtendOptions(yes=True, log=logs.append))
    assert api_canvas(1920, 1080).describe() in logs  # one line says what was done
    sent = tmp_path / "run"
    overlap = sorted(sent.rglob("overlap/*.webp"))
    assert [Image.open(p).size for p in overlap] == [(1920, 1088)] * 2
    padded = np.asarray(Image.open(next(p for p in overlap if p.name == "camera-last-01.webp")))
    assert not padded[:4].any() and not padded[-4:].any()  # the bars
    with VideoReader(clip) as reader:
        last = next(reader.rgb(11, 1))
    assert np.array_equal(padded[4:-4], last)  # the picture itself, lossless
    out = Path(result["output"])
    info = probe(out)
    assert (info.width, info.height, info.fps, info.frame_count) == (1920, 1080, film, 12 + 9 - 2)
    assert codes(out) == list(range(19))  # A's 0..11, then B's new frames 12..18: no repeat, no skip
    # B's frames are its candidate's picture cropped out of the canvas, not the canvas squeezed to 1080
    candidate = next(sent.rglob("candidates/*/video.mp4"))
    with VideoReader(candidate) as reader:
        made = next(reader.rgb(5, 1)).astype(np.float64)
    with VideoReader(out) as reader:
        delivered = next(reader.rgb(15, 1)).astype(np.float64)
    squeezed = np.asarray(Image.fromarray(made.astype(np.uint8)).resize((1920, 1080), Image.Resampling.BICUBIC))
    assert np.mean((delivered - made[4:-4]) ** 2) < np.mean((delivered - squeezed) ** 2) / 4
