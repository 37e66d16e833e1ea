"""Smart render: copied GOPs are the sources' packets and pictures, the seam is re-encoded, frames exact."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import cast

import av
import numpy as np
import pytest

from ltxkit.frames import aac, mp4, smart
from ltxkit.frames import render as render_module
from ltxkit.frames.aac import window
from ltxkit.frames.concat import plan_concat
from ltxkit.frames.probe import probe
from ltxkit.frames.render import AudioCursor, Readers, render
from ltxkit.frames.smart import AvcConfig, SmartRenderResult, smart_render
from ltxkit.frames.synth import Tone, read_frame_code, render_frame, write_clip
from ltxkit.frames.timeline import Piece, Timeline

ClipFactory = Callable[..., Path]


def _packets(path: Path, kind: str = "video") -> list[bytes]:
    with av.open(str(path)) as c:
        return [bytes(p) for p in c.demux(getattr(c.streams, kind)[0]) if p.size]


def _yuv(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray() for f in c.decode(video=0)]


def _codes(path: Path) -> list[int]:
    with av.open(str(path)) as c:
        return [read_frame_code(f.to_ndarray(format="rgb24")) for f in c.decode(video=0)]


def _trim_b(a: Path, b: Path, frames: int, *, audio: bool, b_tail: int = 0) -> Timeline:
    fps = probe(a).fps
    return plan_concat([probe(a), probe(b)], [Fraction(0), Fraction(frames) / fps], audio=audio,
                       trim_tail_frames=[0, b_tail]).timeline


def _pcm(path: Path) -> np.ndarray:
    with av.open(str(path)) as c:
        return np.concatenate([f.to_ndarray() for f in c.decode(audio=0)], axis=1)


def _same_as_full(result: SmartRenderResult, tl: Timeline, tmp_path: Path) -> None:
    """Same frame count, duration and samples as the full render, as PyAV reads and decodes them. Sound
    re-encoded whole is the full render's, packet for packet; copied sound is the first clip's packets
    up to where the re-encode takes over, whose first block (the joint) is as close to the timeline's
    samples as the full render's re-encode is (no click)."""
    full = render(tl, tmp_path / "full.mp4", video_options={"preset": "ultrafast"})  # its pictures are not compared
    info = probe(result.render.output)
    assert (info.frame_count, info.duration_seconds) == (full.frame_count, full.duration_seconds)
    assert len(_yuv(result.render.output)) == full.frame_count == tl.frame_count
    assert result.render.audio_samples == full.audio_samples
    if tl.audio is None:
        return
    sound = result.sound
    assert sound is not None
    ours = _packets(result.render.output, "audio")
    if not sound["copied_packets"]:
        assert ours == _packets(full.output, "audio")
        return
    n, source = sound["copied_packets"], tl.audio[0].source
    assert ours[:n] == _packets(source, "audio")[:n]
    resume = round(sound["reencoded_from_seconds"] * tl.sample_rate)
    assert resume == (n - 1) * 1024  # packets from the priming one (pts -1024) on, 1024 samples each
    pcm, a_pcm, full_pcm = _pcm(result.render.output), _pcm(source), _pcm(full.output)
    assert pcm.shape == full_pcm.shape
    assert np.array_equal(pcm[:, :resume], a_pcm[:, :resume])  # A's own decode, bit for bit
    planned = AudioCursor(tl, Readers(sample_rate=tl.sample_rate, layout=tl.layout)).read(tl.sample_count)
    joint = slice(resume - 1024, resume + 2048)
    error, full_error = (np.abs(x[:, joint] - planned[:, joint]).max() for x in (pcm, full_pcm))
    assert error <= max(2 * full_error, 0.02)
    for k, packet in ((n - 1, ours[n - 1]), (n, ours[n])):  # the joint's two halves are long windows
        seen = window(packet)
        assert seen is not None and seen[0] in ((0, 3) if k < n else (0, 1)), (k, seen)


def test_trim_b_copies_every_whole_gop_and_reencodes_only_bs_first(make_clip: ClipFactory,
                                                                   tmp_path: Path) -> None:
    a, b = make_clip(frames=60, audio=True), make_clip(frames=70, audio=True)  # keyframes every 25 frames
    tl = _trim_b(a, b, 5, audio=True)
    out = tmp_path / "smart.mp4"
    result = smart_render(tl, out)
    assert (result.mode, result.copied_frames, result.encoded_frames) == ("smart", 60 + 45, 20)
    assert result.reason == "copied a.mp4 0-59; re-encoded b.mp4 5-24; copied b.mp4 25-69".replace(
        "a.mp4", a.name).replace("b.mp4", b.name)
    assert _codes(out) == [*range(60), *range(5, 70)]  # the seam is where the trim puts it
    decoded, a_yuv, b_yuv = _yuv(out), _yuv(a), _yuv(b)
    assert all(np.array_equal(x, y) for x, y in zip(decoded[:60], a_yuv, strict=True))
    assert all(np.array_equal(x, y) for x, y in zip(decoded[80:], b_yuv[25:], strict=True))
    packets = _packets(out)
    assert packets[:60] == _packets(a)  # A's and B's parameter sets are the same: no in-band prefix
    assert packets[80:] == _packets(b)[25:]
    assert all(p not in _packets(b) for p in packets[60:80])
    _same_as_full(result, tl, tmp_path)


def _sync_samples(path: Path) -> list[int]:
    with av.open(str(path)) as c:
        return [j for j, e in enumerate(c.streams.video[0].index_entries) if e.is_keyframe]


def test_a_copied_runs_idrs_stay_sync_samples_so_players_seek_into_it(make_clip: ClipFactory,
                                                                      tmp_path: Path) -> None:
    """The output's sync-sample table lists every copied IDR (A's 0, 25, 50; B's 25 and 50 at 80 and 105),
    not only each run's first: a seek into a long copied A starts at the nearest keyframe, not at frame 0.
    Seeking to B's frame 50 decodes it as B's own decode does."""
    a, b = make_clip(frames=60, audio=True), make_clip(frames=70, audio=True)
    out = tmp_path / "smart.mp4"
    smart_render(_trim_b(a, b, 5, audio=True), out)
    assert _sync_samples(out) == [0, 25, 50, 60, 80, 105]
    with av.open(str(out)) as c:
        stream = c.streams.video[0]
        c.seek(round(Fraction(105, 25) / cast(Fraction, stream.time_base)), stream=stream, backward=True)
        first = next(c.decode(stream))
    assert read_frame_code(first.to_ndarray(format="rgb24")) == 50
    assert np.array_equal(first.to_ndarray(), _yuv(b)[50])


def test_the_sound_is_copied_up_to_the_seam_and_says_so(make_clip: ClipFactory, tmp_path: Path) -> None:
    """A's 2.4 s of AAC: every packet whose next block is still A's is copied (112: the priming packet and
    blocks up to 113664 + 1024 <= 115200 samples), the rest re-encoded; the note says how much."""
    a, b = make_clip(frames=60, audio=True), make_clip(frames=70, audio=True)
    result = smart_render(_trim_b(a, b, 5, audio=True), tmp_path / "smart.mp4")
    assert result.sound == {"clip": a.name, "copied_packets": 112, "reencoded_from_seconds": 113664 / 48000,
                            "reason": None}
    assert result.notes[-1] == f"sound: {a.name}'s first 112 AAC packets copied bit-for-bit, re-encoded from 2.368 s on"
    assert result.to_json()["audio"] == result.sound


def test_the_sound_is_muxed_in_batches_yet_interleaved_in_time(make_clip: ClipFactory, tmp_path: Path) -> None:
    """The sound is handed to the muxer every ``_INTERLEAVE`` video packets, not every packet (the calls
    cost more than the copy): the file still holds every sample in decode-time order across both tracks."""
    a, b = make_clip(frames=60, audio=True), make_clip(frames=70, audio=True)
    out = tmp_path / "smart.mp4"
    assert smart_render(_trim_b(a, b, 5, audio=True), out).sound is not None
    with av.open(str(out)) as c:
        samples = sorted((e.pos, Fraction(e.timestamp) * cast(Fraction, s.time_base), s.type)
                         for s in (c.streams.video[0], c.streams.audio[0]) for e in s.index_entries)
    assert Counter(kind for _, _, kind in samples) == {"video": 125, "audio": 236}
    times = [t for _, t, _ in samples]
    assert times == sorted(times)  # as a player reads: no stream ahead of the other


def test_a_window_from_the_middle_of_a_copies_its_sound_from_there(make_clip: ClipFactory, tmp_path: Path) -> None:
    """A review clip's window starts 20 frames (38400 samples) into A: the copy seeks to the packet before the
    block holding that sample (pts 37888: packet 38, so from packet 37), its part skipped as priming. Its
    packets are A's; decoded from there (as any seek decodes) they settle on A's own decode within -100 dB."""
    a, b = make_clip(frames=60, audio=True), make_clip(frames=70, audio=True)
    tl = _trim_b(a, b, 5, audio=True).window(20, 70)
    result = smart_render(tl, tmp_path / "w.mp4")
    assert result.sound is not None
    n = result.sound["copied_packets"]
    assert n > 60 and _packets(result.render.output, "audio")[:n] == _packets(a, "audio")[37:37 + n]
    resume = round(result.sound["reencoded_from_seconds"] * 48000)
    assert resume == 37888 + (n - 1) * 1024 - 38400
    planned = AudioCursor(tl, Readers(sample_rate=tl.sample_rate, layout=tl.layout)).read(tl.sample_count)
    pcm, a_pcm = _pcm(result.render.output), _pcm(a)
    assert pcm.shape[1] >= tl.sample_count
    assert np.abs(pcm[:, :resume] - a_pcm[:, 38400:38400 + resume]).max() < 1e-4
    assert np.abs(pcm[:, resume:tl.sample_count] - planned[:, resume:]).max() < 0.05
    with av.open(str(result.render.output)) as c:
        assert c.streams.audio[0].duration == tl.sample_count


def test_mono_sound_is_copied_too(tmp_path: Path) -> None:
    """A mono AAC packet starts with a single channel element (its window read at another offset)."""
    a, b = (write_clip(tmp_path / f"{n}.mp4", frames=60 + 10 * k, fps=25, width=160, height=120, tone=Tone(),
                       channels=1) for k, n in enumerate("ab"))
    tl = _trim_b(a, b, 5, audio=True)
    assert tl.layout == "mono"
    result = smart_render(tl, tmp_path / "smart.mp4")
    assert result.sound is not None and result.sound["copied_packets"] == 112
    _same_as_full(result, tl, tmp_path)


def test_a_transient_at_the_seam_moves_the_sound_copy_back(make_clip: ClipFactory, tmp_path: Path) -> None:
    """A tone starting 2.36 s into A: the encoder switches to short windows there, which cannot overlap
    with a long one, so the copy stops earlier, where both sides of the joint are long windows."""
    a = make_clip(frames=60, audio=True, tone=Tone(onset=Fraction(236, 100)))
    b = make_clip(frames=70, audio=True)
    tl = _trim_b(a, b, 5, audio=True)
    result = smart_render(tl, tmp_path / "smart.mp4")
    assert result.sound is not None and 100 < result.sound["copied_packets"] < 112
    _same_as_full(result, tl, tmp_path)


class _Counting:
    """An open container whose demux counts the packets it yields, per (file, stream type)."""

    def __init__(self, container: av.container.InputContainer, counts: Counter[tuple[str, str]]) -> None:
        self._container, self._counts = container, counts

    def __getattr__(self, name: str) -> object:
        return getattr(self._container, name)

    def __enter__(self) -> _Counting:
        return self

    def __exit__(self, *exc: object) -> None:
        self._container.close()

    def demux(self, *streams: av.stream.Stream) -> Iterator[av.Packet]:
        for packet in self._container.demux(*streams):
            if packet.size:
                self._counts[Path(self._container.name).name, packet.stream.type] += 1
            yield packet


def test_the_copy_is_planned_from_the_index_and_reads_a_once(make_clip: ClipFactory, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """mp4 sample tables + the keyframes' bytes plan the cut points; the only packets demuxed are B's 45
    copied ones: A's leading run and its sound are copied by byte range from its sample tables
    (:mod:`ltxkit.frames.mp4`), demuxed not at all, so a long A is read once, not scanned first."""
    counts: Counter[tuple[str, str]] = Counter()
    opened = smart.open_media
    monkeypatch.setattr(smart, "open_media", lambda path, **kw: _Counting(opened(path, **kw), counts))
    monkeypatch.setattr(aac, "open_media", lambda path, **kw: _Counting(opened(path, **kw), counts))
    a, b = make_clip(frames=60, audio=True), make_clip(frames=70, audio=True)
    result = smart_render(_trim_b(a, b, 5, audio=True), tmp_path / "smart.mp4")
    assert result.copied_frames == 105 and result.sound is not None
    assert result.sound["copied_packets"] == 112
    assert counts == {(b.name, "video"): 45}


def test_a_copied_run_behind_an_empty_edit_is_copied_by_byte_range(make_clip: ClipFactory,
                                                                   tmp_path: Path) -> None:
    """A's picture starts 2 frames after its sound (an empty edit first in its edit list, as FFmpeg writes
    a late stream): its samples' times are the tables' moved by the empty edit, so A's run is still a
    byte-range head, its pictures and packets A's own."""
    a, b = make_clip(frames=60, audio=True), make_clip(frames=70, audio=True)
    late = tmp_path / "late.mp4"
    with av.open(str(a)) as src, av.open(str(late), "w") as out:
        streams = {s.type: out.add_stream_from_template(s) for s in (src.streams.video[0], src.streams.audio[0])}
        step = round(Fraction(2, 25) / cast(Fraction, src.streams.video[0].time_base))
        for packet in src.demux():
            if packet.size:
                if packet.stream.type == "video":
                    packet.pts, packet.dts = cast(int, packet.pts) + step, cast(int, packet.dts) + step
                packet.stream = streams[packet.stream.type]
                out.mux(packet)
    track = mp4.Movie.read(late).tracks()[1]
    assert [media for _, media, _ in track.edits] == [-1, 1024]
    times = track.times()
    assert times is not None and times[1].min() == 1024  # 2 frames of 512 ticks
    result = smart_render(_trim_b(late, b, 5, audio=True), tmp_path / "smart.mp4")
    assert (result.mode, result.copied_frames) == ("smart", 105)
    assert _packets(result.render.output)[:60] == _packets(a)
    assert all(np.array_equal(x, y) for x, y in zip(_yuv(result.render.output)[:60], _yuv(a), strict=True))


def test_a_with_negative_composition_offsets_is_copied_by_byte_range(make_clip: ClipFactory,
                                                                     remux: Callable[..., Path],
                                                                     tmp_path: Path) -> None:
    """A muxed with signed composition offsets (ctts version 1, no edit list): the decode times its tables
    give are moved back as FFmpeg moves them, so A's run is a byte-range head whose frames show in order."""
    a, b = make_clip(frames=60, audio=True), make_clip(frames=70, audio=True)
    signed = remux(a, tmp_path / "signed.mp4", movflags="negative_cts_offsets")
    result = smart_render(_trim_b(signed, b, 5, audio=True), tmp_path / "smart.mp4")
    assert (result.mode, result.copied_frames) == ("smart", 105)
    assert _codes(result.render.output) == [*range(60), *range(5, 70)]
    assert _packets(result.render.output)[:60] == _packets(a)
    assert all(np.array_equal(x, y) for x, y in zip(_yuv(result.render.output)[:60], _yuv(a), strict=True))


@pytest.mark.parametrize(("source", "output"), [(".mov", ".mp4"), (".mp4", ".mov"), (".mov", ".mov")])
def test_quicktime_sources_and_outputs_join_by_byte_range(source: str, output: str, make_clip: ClipFactory,
                                                          remux: Callable[..., Path], tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A .mov A is read by the same sample tables, a .mov output gets the same join: A's packets, pictures
    and sound as they are, and the frame count and duration PyAV and ffprobe (where present) read."""
    a, b = make_clip(frames=60, audio=True), make_clip(frames=70, audio=True)
    src = a if source == ".mp4" else remux(a, tmp_path / "a.mov")
    tl = _trim_b(src, b, 5, audio=True)
    joins: list[object] = []
    prepend = mp4.prepend
    out = tmp_path / f"smart{output}"
    monkeypatch.setattr(mp4, "prepend", lambda *args: joins.append(args) or prepend(*args))
    result = smart_render(tl, out)
    assert (result.mode, result.copied_frames, len(joins)) == ("smart", 105, 1)
    assert _codes(out) == [*range(60), *range(5, 70)]
    assert _packets(out)[:60] == _packets(a)
    assert result.sound is not None and _packets(out, "audio")[:100] == _packets(a, "audio")[:100]
    assert probe(out).frame_count == 125 and probe(out).duration_seconds == Fraction(5)
    assert _ffprobe_frames(out) in (None, (125, Fraction(5)))


def test_a_copied_run_from_matroska_goes_through_the_muxer(make_clip: ClipFactory, remux: Callable[..., Path],
                                                          tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No mp4 sample tables to copy byte ranges by: A's run from a Matroska file is muxed packet by packet."""
    a, b = make_clip(frames=60, audio=True), make_clip(frames=70, audio=True)
    mkv = remux(a, tmp_path / "a.mkv")
    joins: list[object] = []
    monkeypatch.setattr(mp4, "prepend", lambda *args: joins.append(args))
    result = smart_render(_trim_b(mkv, b, 5, audio=False), tmp_path / "smart.mp4")
    assert (result.mode, result.copied_frames, joins) == ("smart", 105, [])
    assert _packets(result.render.output)[:60] == _packets(a)
    assert all(np.array_equal(x, y) for x, y in zip(_yuv(result.render.output)[:60], _yuv(a), strict=True))


def test_a_matroska_source_is_planned_by_demuxing(make_clip: ClipFactory, remux: Callable[..., Path],
                                                  tmp_path: Path) -> None:
    """No sample index in Matroska: the cut points come from a demux, with the same copy as the mp4's."""
    a, b = make_clip(frames=60), make_clip(frames=70)
    mkv = remux(b, tmp_path / "b.mkv")
    result = smart_render(_trim_b(a, mkv, 5, audio=False), tmp_path / "smart.mp4")
    assert (result.mode, result.copied_frames, result.encoded_frames) == ("smart", 105, 20)
    assert _codes(result.render.output) == [*range(60), *range(5, 70)]
    assert _packets(result.render.output)[80:] == _packets(b)[25:]


def test_x264_runs_frame_threaded_in_both_renders(make_clip: ClipFactory, tmp_path: Path) -> None:
    """x264 states its settings in its first packet's SEI: frame threads, not FFmpeg's default slices."""
    a, b = make_clip(frames=60), make_clip(frames=70)
    tl = _trim_b(a, b, 5, audio=False)
    full = _packets(render(tl, tmp_path / "full.mp4").output)[0]
    seam = _packets(smart_render(tl, tmp_path / "smart.mp4").render.output)[60]  # B's re-encoded IDR
    for packet in (full, seam):
        assert b"sliced_threads=0" in packet and b"slices=" not in packet


def test_a_seam_run_looks_ahead_20_frames_and_a_review_clip_none(make_clip: ClipFactory, tmp_path: Path) -> None:
    """The seam's encoder holds 20 lookahead frames, not preset fast's 30 (the full render's): a seam run
    is a GOP or two, and each lookahead frame is held whole (memory). A review clip's options (ultrafast,
    no lookahead) are used as they are, not raised to 20."""
    a, b = make_clip(frames=60), make_clip(frames=70)
    tl = _trim_b(a, b, 5, audio=False)
    full = _packets(render(tl, tmp_path / "full.mp4").output)[0]
    seam = _packets(smart_render(tl, tmp_path / "smart.mp4").render.output)[60]  # B's re-encoded IDR
    review = _packets(smart_render(tl, tmp_path / "review.mp4", video_options={"preset": "ultrafast"})
                      .render.output)[60]
    assert b"rc_lookahead=30" in full and b"rc_lookahead=20" in seam
    assert b"mbtree=0" in review and b"rc_lookahead" not in review  # x264 names no lookahead it does not use


_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts"}


def _boxes(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    pos = 0
    while pos + 8 <= len(data):
        size, kind = int.from_bytes(data[pos:pos + 4]), data[pos + 4:pos + 8]
        yield kind, data[pos + 8:pos + size]
        pos += size


def _tracks(path: Path) -> dict[bytes, dict[str, int | list[tuple[int, int]]]]:
    """Per track handler (b'vide', b'soun'): what a player reads from the mp4 boxes themselves —
    movie timescale, mdhd timescale, stts (count, delta) runs and the edit list's duration and media time."""
    moov = dict(_boxes(path.read_bytes()))[b"moov"]
    movie = dict(_boxes(moov))[b"mvhd"]
    movie_scale = int.from_bytes(movie[12:16])  # version 0
    out: dict[bytes, dict[str, int | list[tuple[int, int]]]] = {}
    for kind, trak in _boxes(moov):
        if kind != b"trak":
            continue
        boxes = dict(_boxes(trak))
        mdia = dict(_boxes(boxes[b"mdia"]))
        handler = mdia[b"hdlr"][8:12]
        stbl = dict(_boxes(dict(_boxes(mdia[b"minf"]))[b"stbl"]))
        stts = stbl[b"stts"]
        runs = [(int.from_bytes(stts[8 + 8 * i:12 + 8 * i]), int.from_bytes(stts[12 + 8 * i:16 + 8 * i]))
                for i in range(int.from_bytes(stts[4:8]))]
        elst = dict(_boxes(boxes[b"edts"]))[b"elst"]
        assert elst[0] == 0 and int.from_bytes(elst[4:8]) == 1, "one version-0 edit"
        out[handler] = {"movie_scale": movie_scale, "scale": int.from_bytes(mdia[b"mdhd"][12:16]), "stts": runs,
                        "edit_duration": int.from_bytes(elst[8:12]),
                        "media_time": int.from_bytes(elst[12:16], signed=True)}
    return out


def _ffprobe_frames(path: Path) -> tuple[int, Fraction] | None:
    """Frames ffprobe decodes and the duration it reads, when it is installed."""
    if not shutil.which("ffprobe"):
        return None
    shown = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames", "-show_entries",
                            "stream=nb_read_frames,duration", "-of", "json", str(path)],
                           check=True, capture_output=True, text=True).stdout
    stream = json.loads(shown)["streams"][0]
    return int(stream["nb_read_frames"]), Fraction(stream["duration"])


def test_players_read_the_frame_count_and_duration_pyav_reads(make_clip: ClipFactory, tmp_path: Path) -> None:
    """The smart output's stts has a sample a frame, one frame long, and its edit lists show exactly the
    planned frames and samples (the sound's edit skips A's 1024-sample priming): what PyAV reads, and
    ffprobe when it is installed."""
    a, b = make_clip(frames=60, audio=True), make_clip(frames=70, audio=True)
    tl = _trim_b(a, b, 5, audio=True)
    out = smart_render(tl, tmp_path / "smart.mp4").render.output
    info, tracks = probe(out), _tracks(out)
    video, sound = tracks[b"vide"], tracks[b"soun"]
    frames = sum(count for count, _ in cast(list[tuple[int, int]], video["stts"]))
    assert frames == info.frame_count == tl.frame_count == 125
    assert {delta for _, delta in cast(list[tuple[int, int]], video["stts"])} == {cast(int, video["scale"]) // 25}
    assert Fraction(cast(int, video["edit_duration"]), cast(int, video["movie_scale"])) == info.duration_seconds \
        == Fraction(125, 25)
    assert Fraction(cast(int, sound["edit_duration"]), cast(int, sound["movie_scale"])) == Fraction(tl.sample_count,
                                                                                                     48000)
    assert sound["media_time"] == 1024 and sound["scale"] == 48000
    with av.open(str(out)) as c:
        assert c.streams.audio[0].duration == tl.sample_count
        assert Fraction(c.streams.video[0].duration or 0) * c.streams.video[0].time_base == Fraction(5)
    assert _ffprobe_frames(out) in (None, (125, Fraction(5)))


def test_trim_a_reencodes_as_last_gop_and_copies_all_of_b(make_clip: ClipFactory, tmp_path: Path) -> None:
    a, b = make_clip(frames=60), make_clip(frames=70)
    info = probe(a)
    tl = Timeline(info.fps, info.width, info.height, (Piece(a, 0, 55), Piece(b, 0, 70)))
    result = smart_render(tl, tmp_path / "smart.mp4")
    assert (result.mode, result.copied_frames, result.encoded_frames) == ("smart", 50 + 70, 5)
    assert _codes(result.render.output) == [*range(55), *range(70)]
    assert _packets(result.render.output)[55:] == _packets(b)
    _same_as_full(result, tl, tmp_path)


def test_a_head_ending_before_the_seam_leaves_the_rest_of_the_copied_sound_to_the_muxer(
        make_clip: ClipFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Trim-a with sound: A's run by byte range ends at its IDR at frame 50 (2 s), A's sound is copied to
    near the cut at 55; the packets from about 2 s on go through the muxer, so the file stays interleaved in
    time (no track runs ahead of the other at the joint), and the copy is A's packets all the same."""
    a, b = make_clip(frames=60, audio=True), make_clip(frames=70, audio=True)
    tl = plan_concat([probe(a), probe(b)], [Fraction(0), Fraction(0)], audio=True, trim_tail_frames=[5, 0]).timeline
    assert [(p.source, p.start, p.count) for p in tl.video] == [(a, 0, 55), (b, 0, 70)]
    joins: list[tuple[Path, Path, Path, dict[int, mp4.Head]]] = []
    prepend = mp4.prepend
    out = tmp_path / "smart.mp4"
    monkeypatch.setattr(mp4, "prepend", lambda *args: joins.append(args) or prepend(*args))
    result = smart_render(tl, out)
    assert (result.copied_frames, result.encoded_frames) == (50 + 70, 5)
    (_, _, _, heads), = joins
    video, sound = (heads[k].samples for k in sorted(heads))
    assert len(video) == 50 and 0 < len(sound) < cast(dict[str, int], result.sound)["copied_packets"]
    # the packets that start before the video's next decode time, frame 48 (B-frames put dts 2 frames
    # ahead) = sample 92160: the priming packet at -1024 and 90 more
    assert len(sound) == (48 * 1920 + 1024) // 1024 == 91
    with av.open(str(out)) as c:
        samples = sorted((e.pos, Fraction(e.timestamp) * cast(Fraction, s.time_base))
                         for s in (c.streams.video[0], c.streams.audio[0]) for e in s.index_entries)
    times = [t for _, t in samples]
    assert times == sorted(times)
    _same_as_full(result, tl, tmp_path)


def test_a_short_b_is_reencoded_to_its_end(make_clip: ClipFactory, tmp_path: Path) -> None:
    a, b = make_clip(frames=60, audio=True), make_clip(frames=20, audio=True)
    tl = _trim_b(a, b, 5, audio=True)
    result = smart_render(tl, tmp_path / "smart.mp4")
    assert (result.mode, result.copied_frames, result.encoded_frames) == ("smart", 60, 15)
    assert _codes(result.render.output) == [*range(60), *range(5, 20)]
    _same_as_full(result, tl, tmp_path)


def test_open_gop_keyframes_are_not_cut_points(make_clip: ClipFactory, tmp_path: Path) -> None:
    """x264 open-gop=1: keyframes after the first are recovery points whose B-frames reach back."""
    b = tmp_path / "open.mp4"
    with av.open(str(b), "w") as out:
        vs = out.add_stream("libx264", rate=25)
        assert isinstance(vs, av.VideoStream)
        vs.width, vs.height, vs.pix_fmt = 160, 120, "yuv420p"
        vs.codec_context.gop_size = 25
        vs.options = {"bf": "2", "preset": "veryfast", "x264-params": "open-gop=1"}
        for i in range(70):
            frame = av.VideoFrame.from_ndarray(render_frame(i, 160, 120), format="rgb24")
            frame.pts = i
            out.mux(vs.encode(frame))
        out.mux(vs.encode(None))
    a = make_clip(frames=60)
    result = smart_render(_trim_b(a, b, 5, audio=False), tmp_path / "smart.mp4")
    assert (result.mode, result.copied_frames, result.encoded_frames) == ("smart", 60, 65)
    assert f"{b.name} has open GOPs" in result.reason
    assert _codes(result.render.output) == [*range(60), *range(5, 70)]


def test_real_footage_copies_a_bit_identical(real_clip: Path, tmp_path: Path) -> None:
    """bigbuckbunny (one keyframe, Main profile, 6-channel AAC) spliced with its own frames 5-31 (B's
    tail trimmed: every frame of B is re-encoded at 720p, so a shorter B keeps the test quick)."""
    tl = _trim_b(real_clip, real_clip, 5, audio=True, b_tail=100)
    result = smart_render(tl, tmp_path / "smart.mp4")
    assert (result.mode, result.copied_frames, result.encoded_frames) == ("smart", 132, 27)
    out = result.render.output
    packets, source = _packets(out), _packets(real_clip)
    assert packets[:132] == source
    decoded, a_yuv = _yuv(out), _yuv(real_clip)
    assert all(np.array_equal(x, y) for x, y in zip(decoded[:132], a_yuv, strict=True))
    # the first re-encoded frame is B's frame 5 (nearest of B's frames 2..8)
    errors = [np.abs(decoded[132].astype(int) - a_yuv[k]).mean() for k in range(2, 9)]
    assert int(np.argmin(errors)) + 2 == 5
    with av.open(str(out)) as c:
        config = AvcConfig.parse(bytes(c.streams.video[0].codec_context.extradata or b""))
        assert c.streams.video[0].codec_context.profile == "Main"
    with av.open(str(real_clip)) as c:
        original = AvcConfig.parse(bytes(c.streams.video[0].codec_context.extradata or b""))
    assert config.sps[0] == original.sps[0] and len(config.sps) == 2  # plus the re-encode's (own id)
    assert result.sound == {"copied_packets": 0,
                            "reason": f"{real_clip.name}'s sound is not mono or stereo AAC at 48000 Hz"}
    _same_as_full(result, tl, tmp_path)


def test_avcc_round_trips(real_clip: Path, real_clip_ntsc: Path) -> None:
    for clip in (real_clip, real_clip_ntsc):
        with av.open(str(clip)) as c:
            data = bytes(c.streams.video[0].codec_context.extradata or b"")
        assert AvcConfig.parse(data).to_bytes() == data


@pytest.mark.parametrize("case", ["size", "codec", "no-gop"])
def test_falls_back_to_full_with_the_reason(case: str, make_clip: ClipFactory, tmp_path: Path) -> None:
    a = make_clip(frames=60)
    if case == "size":
        b, reason = make_clip(frames=70, width=192, height=144), "is 192x144, the output 160x120"
    elif case == "codec":
        b = write_clip(tmp_path / "b.mp4", frames=70, fps=25, width=160, height=120, codec="mpeg4")
        reason = "is mpeg4, not h264"
    else:
        a, b = make_clip(frames=60, gop=250), make_clip(frames=70, gop=250)
        reason = "no GOP lies wholly inside a kept range"
    tl = Timeline(Fraction(25), 160, 120, (Piece(a, 0, 30), Piece(b, 5, 65)))
    result = smart_render(tl, tmp_path / "out.mp4")
    assert (result.mode, result.copied_frames, result.encoded_frames) == ("full", 0, 95)
    assert reason in result.reason
    assert _codes(result.render.output) == [*range(30), *range(5, 70)]


def test_a_fallback_does_not_probe_the_sources_again(make_clip: ClipFactory, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = make_clip(frames=60), make_clip(frames=70, width=192, height=144)
    seen: list[str] = []
    probed = render_module.probe
    monkeypatch.setattr(render_module, "probe", lambda path: seen.append(Path(path).name) or probed(path))
    result = smart_render(Timeline(Fraction(25), 160, 120, (Piece(a, 0, 30), Piece(b, 5, 65))), tmp_path / "o.mp4")
    assert result.mode == "full"
    assert (seen.count(a.name), seen.count(b.name), len(seen)) == (1, 1, 3)  # and the written file, verified


def test_concat_and_splice_probe_each_input_once(make_clip: ClipFactory, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The smart render takes the inputs as the plan probed them: only the written file is probed after."""
    from ltxkit.assembly.splice import splice
    from ltxkit.frames import checks
    from ltxkit.frames.concat import concat_clips

    a, b = make_clip(frames=60, audio=True), make_clip(frames=70, audio=True)
    seen: list[str] = []
    for module in (render_module, checks):
        monkeypatch.setattr(module, "probe", lambda path, real=module.probe: seen.append(Path(path).name) or real(path))
    concat = concat_clips([a, b], tmp_path / "c.mp4", trim_head_seconds=[Fraction(0), Fraction(5, 25)])
    assert concat.render is not None and concat.render["mode"] == "smart"
    assert (seen.count(a.name), seen.count(b.name), len(seen)) == (1, 1, 3)
    seen.clear()
    result = splice([a, b], tmp_path / "s.mp4", overlap=5, sampled_fps=Fraction(25))
    assert result.render is not None and result.render["mode"] == "smart"
    assert (seen.count(a.name), seen.count(b.name)) == (1, 1)


def test_a_b_with_other_parameter_sets_gets_them_in_band(make_clip: ClipFactory, tmp_path: Path) -> None:
    """B without B-frames: other SPS (reorder depth, refs) under the same id, sent before its first copy."""
    a, b = make_clip(frames=60), make_clip(frames=70, bframes=0)
    with av.open(str(b)) as c:
        b_config = AvcConfig.parse(bytes(c.streams.video[0].codec_context.extradata or b""))
    with av.open(str(a)) as c:
        assert AvcConfig.parse(bytes(c.streams.video[0].codec_context.extradata or b"")).sps != b_config.sps
    result = smart_render(_trim_b(a, b, 5, audio=False), tmp_path / "smart.mp4")
    assert (result.mode, result.copied_frames, result.encoded_frames) == ("smart", 105, 20)
    packets, b_packets = _packets(result.render.output), _packets(b)
    assert packets[80] == b_config.in_band() + b_packets[25]
    assert packets[81:] == b_packets[26:]
    assert _sync_samples(result.render.output) == [0, 25, 50, 60, 80]  # B's 50 needs B's sets: in band at 80 only
    assert _codes(result.render.output) == [*range(60), *range(5, 70)]
    decoded, b_yuv = _yuv(result.render.output), _yuv(b)
    assert all(np.array_equal(x, y) for x, y in zip(decoded[80:], b_yuv[25:], strict=True))


def test_a_colour_matched_b_is_re_encoded_and_a_still_copied(make_clip: ClipFactory, tmp_path: Path) -> None:
    """Every picture of a graded clip changes, so B is re-encoded whole; A's GOPs stay bit-identical."""
    a, b = make_clip(frames=60), make_clip(frames=70)
    tl = _trim_b(a, b, 5, audio=False)
    shift = np.array([12, 0, -12], np.int16)
    warm = replace(tl.video[1], grade=lambda rgb: np.clip(rgb.astype(np.int16) + shift, 0, 255).astype(np.uint8))
    tl = replace(tl, video=(tl.video[0], warm))
    result = smart_render(tl, tmp_path / "smart.mp4")
    assert (result.mode, result.copied_frames, result.encoded_frames) == ("smart", 60, 65)
    assert result.reason == f"copied {a.name} 0-59; re-encoded {b.name} 5-69"
    assert _packets(result.render.output)[:60] == _packets(a)
    assert _codes(result.render.output) == [*range(60), *range(5, 70)]
    with av.open(str(result.render.output)) as c, av.open(str(b)) as src:
        ours = [f.to_ndarray(format="rgb24").astype(int) for f in c.decode(video=0)][60:]
        theirs = [f.to_ndarray(format="rgb24").astype(int) for f in src.decode(video=0)][5:]
    seen = np.mean([(o - t).reshape(-1, 3).mean(axis=0) for o, t in zip(ours, theirs, strict=True)], axis=0)
    assert seen[0] > 8 and seen[2] < -8  # B came out graded
