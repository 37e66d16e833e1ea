"""mp4 boxes: the sample tables read in bulk are the demuxer's, and a byte-range head joins a file exactly."""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import pytest

from ltxkit.errors import MediaError
from ltxkit.frames import mp4, smart
from ltxkit.frames.concat import plan_concat
from ltxkit.frames.probe import probe
from ltxkit.frames.smart import smart_render

ClipFactory = Callable[..., Path]


def _demuxed(path: Path, kind: str) -> tuple[int, list[tuple[int, int, int, int, bool]]]:
    """Track id and, per sample, (offset, size, dts, pts, keyframe) as PyAV's demuxer gives them."""
    with av.open(str(path)) as c:
        stream = getattr(c.streams, kind)[0]
        entries = [(e.pos, e.size) for e in stream.index_entries]
        packets = [(p.dts, p.pts, p.is_keyframe) for p in c.demux(stream) if p.size]
        return stream.id, [(*e, *p) for e, p in zip(entries, packets, strict=True)]


@pytest.mark.parametrize("layout", ["mp4", "faststart", "mov", "negative-cts", "ntsc"])
def test_sample_tables_are_what_the_demuxer_reads(layout: str, make_clip: ClipFactory, remux: Callable[..., Path],
                                                  real_clip_ntsc: Path, tmp_path: Path) -> None:
    """Offsets and sizes from stsc/stco/stsz, decode and presentation times from stts/ctts less the edit's
    media time, sync samples from stss: sample for sample the demuxer's, B-frames, priming and all."""
    clip = make_clip(frames=60, audio=True)
    path = {"mp4": clip, "faststart": remux(clip, tmp_path / "f.mp4", faststart=True),
            "mov": remux(clip, tmp_path / "m.mov"), "ntsc": real_clip_ntsc,
            "negative-cts": remux(clip, tmp_path / "n.mp4", movflags="negative_cts_offsets")}[layout]
    if layout == "negative-cts":  # ctts version 1: signed offsets, the first frame's 0 (no edit needed)
        assert b"ctts\x01" in mp4.Movie.read(path).moov
    tracks = mp4.Movie.read(path).tracks()
    for kind in ("video", "audio") if layout != "ntsc" else ("video",):
        track_id, seen = _demuxed(path, kind)
        track = tracks[track_id]
        s, times = track.samples, track.times()
        assert times is not None
        ours = list(zip(s.offsets.tolist(), s.sizes.tolist(), times[0].tolist(), times[1].tolist(),
                        s.sync.tolist(), strict=True))
        assert ours == seen
        assert Fraction(int(s.durations.sum()), track.timescale) > 0


def test_a_head_past_4_gib_gets_64_bit_offsets_and_a_wide_mdat(make_clip: ClipFactory, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Past 32 bits of offsets the join writes co64 and a 64-bit mdat header (here with the limit lowered to
    100 bytes): the file plays as the one with 32-bit offsets does, packet for packet (the same tail joined
    both ways: two seam encodes of one input can differ, see the closing note of stop 30)."""
    a, b = make_clip(frames=60, audio=True), make_clip(frames=70, audio=True)
    tl = plan_concat([probe(a), probe(b)], [Fraction(0), Fraction(5, 25)], audio=True).timeline
    joins: list[tuple[Path, Path, Path, dict[int, mp4.Head]]] = []
    prepend = mp4.prepend
    monkeypatch.setattr(mp4, "prepend", lambda *args: joins.append(args) or prepend(*args))
    monkeypatch.setattr(smart, "scratch_path", lambda _: contextlib.nullcontext(tmp_path / "tail.mp4"))  # kept
    narrow = smart_render(tl, tmp_path / "narrow.mp4").render.output
    (tail, _, source, heads), = joins
    wide = tmp_path / "wide.mp4"
    monkeypatch.setattr(mp4, "_NARROW", 100)
    mp4.prepend(tail, wide, source, heads)
    data = wide.read_bytes()
    kinds = [kind for kind, *_ in mp4._boxes(data)]
    assert kinds == [b"ftyp", b"moov", b"mdat"]
    mdat = next(box for kind, box, *_ in mp4._boxes(data) if kind == b"mdat")
    assert struct.unpack_from(">I", data, mdat)[0] == 1  # the size is in the 64 bits after the type
    moov = mp4.Movie.read(wide).moov
    assert moov.count(b"co64") == 2 and b"stco" not in moov
    for kind in ("video", "audio"):
        with av.open(str(narrow)) as n, av.open(str(wide)) as w:
            ours = [(bytes(p), p.pts, p.dts) for p in w.demux(getattr(w.streams, kind)[0]) if p.size]
            assert ours == [(bytes(p), p.pts, p.dts) for p in n.demux(getattr(n.streams, kind)[0]) if p.size]


def test_tables_are_read_only_from_mp4_and_mov(make_clip: ClipFactory, remux: Callable[..., Path],
                                               tmp_path: Path) -> None:
    """Matroska (or any other demuxer's file) has no sample tables: None, and the caller demuxes."""
    clip = make_clip(frames=30)
    mkv = remux(clip, tmp_path / "c.mkv")
    with av.open(str(clip)) as c, av.open(str(mkv)) as m:
        assert mp4.read_track(clip, c.format.name, c.streams.video[0].id) is not None
        assert mp4.read_track(mkv, m.format.name, m.streams.video[0].id) is None
        assert mp4.read_track(clip, c.format.name, 99) is None
        assert mp4.read_track(mkv, mp4.FORMAT, 1) is None  # named mp4, read as Matroska: no moov


@pytest.mark.parametrize("box", [b"stsz", b"stts", b"stss", b"fixed"])
def test_a_table_whose_count_runs_past_its_box_is_not_read(box: bytes, make_clip: ClipFactory,
                                                            tmp_path: Path) -> None:
    """A corrupt (or hostile) count, 2^32 - 1 entries in a box of a few, or 4 million samples of one fixed
    size in a file of a few KB: no table is expanded to it (the sizes are checked first), and the caller is
    told to demux instead."""
    clip = make_clip(frames=30)
    data = bytearray(clip.read_bytes())
    if box == b"fixed":  # sample size 1, count 2^22 - 1: within MAX_SAMPLES, not within the file
        at = data.index(b"stsz") + 8
        data[at:at + 8] = struct.pack(">II", 1, mp4.MAX_SAMPLES - 1)
    else:
        at = data.index(box) + 4 + 4 + (4 if box == b"stsz" else 0)  # type, version and flags, [sample size]
        data[at:at + 4] = b"\xff\xff\xff\xff"
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(bytes(data))
    with av.open(str(clip)) as c:
        assert mp4.read_track(broken, c.format.name, c.streams.video[0].id) is None
    if box == b"fixed":  # refused by its count, before any table is built
        with pytest.raises(MediaError, match=r"over MAX_SAMPLES .* or the file"):
            mp4.Movie.read(broken).tracks()


def _replaced(data: bytes, path: tuple[bytes, ...], new: bytes, start: int = 0, end: int | None = None) -> bytes:
    """``data`` with the first box along ``path`` replaced by ``new``, its parents' sizes mended."""
    out = bytearray()
    end = len(data) if end is None else end
    done = False
    for kind, box, body, stop in mp4._boxes(data, start, end):
        if kind == path[0] and not done:
            done = True
            out += new if len(path) == 1 else mp4._box(kind, _replaced(data, path[1:], new, body, stop))
        else:
            out += data[box:stop]
    return bytes(out)


@pytest.mark.parametrize("damage", ["two-descriptions", "zero-timescale", "second-moov"])
def test_tables_ffmpeg_would_read_otherwise_are_not_used(damage: str, make_clip: ClipFactory,
                                                         remux: Callable[..., Path], tmp_path: Path) -> None:
    """Two sample descriptions (parameter sets that change mid-file), a movie timescale of 0: None, the
    caller demuxes. A second moov after the first is ignored, as FFmpeg ignores it."""
    clip = make_clip(frames=30)  # its moov comes after the samples: mending it moves none of them
    data, moov = clip.read_bytes(), mp4.Movie.read(clip).moov
    at = data.index(moov)
    stbl = (b"moov", b"trak", b"mdia", b"minf", b"stbl")
    if damage == "two-descriptions":
        stsd = mp4._find(moov, 8, len(moov), *stbl[1:], b"stsd")
        assert stsd is not None
        entry = moov[stsd[0] + 8:stsd[1]]
        changed = _replaced(moov, (*stbl, b"stsd"), mp4._full(b"stsd", 0, struct.pack(">I", 2) + entry + entry))
    elif damage == "zero-timescale":
        mvhd = moov.index(b"mvhd") + 4  # the payload: version and flags, two times, then the timescale
        changed = moov[:mvhd + 12] + b"\0\0\0\0" + moov[mvhd + 16:]
    else:
        changed = moov + mp4.Movie.read(make_clip(frames=45)).moov
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(data[:at] + changed + data[at + len(moov):])
    with av.open(str(clip)) as c:
        found = mp4.read_track(broken, c.format.name, c.streams.video[0].id)
    assert (found is None) if damage != "second-moov" else (found is not None and len(found.samples) == 30)


@pytest.mark.parametrize(("kind", "middle"), [(b"mvhd", 4), (b"tkhd", 8), (b"mdhd", 4)])
def test_a_duration_past_32_bits_makes_the_box_version_1(kind: bytes, middle: int) -> None:
    """The muxer wrote the tail's headers as version 0; a long head's duration needs 64 bits: the box is
    rewritten as version 1, its other fields where version 1 puts them."""
    fields = b"".join(struct.pack(">I", v) for v in (11, 22, *((33, 0) if middle == 8 else (33,)), 44)) + b"rest"
    box = mp4._full(kind, 0, fields)
    for value, version in ((1 << 32) - 1, 0), (1 << 33, 1):
        out = mp4._set_duration(box, 8, middle, value)
        (found, _, body, end), = mp4._boxes(out)
        assert (found, end, out[body]) == (kind, len(out), version)
        if version == 0:
            assert out[body + 4:body + 12 + middle] == box[12:20 + middle] and out.endswith(b"rest")
            assert struct.unpack_from(">I", out, body + 12 + middle)[0] == value
        else:
            assert struct.unpack_from(">QQ", out, body + 4) == (11, 22)
            assert out[body + 20:body + 20 + middle] == fields[8:8 + middle]
            assert struct.unpack_from(">Q", out, body + 20 + middle)[0] == value and out.endswith(b"rest")
