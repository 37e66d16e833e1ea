"""AAC packet copy for the smart render: the first clip's sound passes through, re-encoded only near a seam.

An AAC-LC packet decodes to 1024 samples by overlap-adding the second half of the previous packet's
window with the first half of its own, so a copied run of packets needs its predecessor in the stream
and the packet after it must carry the other half of the same block. The copy therefore starts one
packet before the block holding the output's first sample (the skipped part is the output's priming,
in the mp4 edit list like any encoder's) and stops at packet ``J`` whose *next* block still lies inside
the clip's kept sound; the re-encode takes over at that block, warmed up on the copied clip's own
samples for :data:`PREROLL_PACKETS` packets and dropping those, so its first kept packet encodes the
same samples as ``J``'s second half. That only cancels the aliasing when both halves are long windows
of one shape: ``J`` must end long (``ONLY_LONG``/``LONG_STOP``), the first kept packet must start long
(``ONLY_LONG``/``LONG_START``) with the shape ``J`` hands on (the decoder takes the left half's shape
from the previous packet); otherwise ``J`` moves back a packet. Only the output's first sound is copied:
a later clip's packet grid lands on the output's at an arbitrary offset (a splice cuts at frames, not at
1024-sample blocks), and AAC cannot make a partial block in the middle of a stream.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from ltxkit.frames import mp4
from ltxkit.frames.probe import open_media
from ltxkit.frames.render import AudioEncode, Readers
from ltxkit.frames.timeline import Timeline

FRAME = 1024  # samples per AAC-LC packet
PREROLL_PACKETS = 3  # the re-encode's warm-up before its first kept packet (its first is priming)
RETRIES = 8  # packets the copy may move back to find a boundary whose windows fit
_ONLY_LONG, _LONG_START, _EIGHT_SHORT, _LONG_STOP = 0, 1, 2, 3
_SCE, _CPE = 0, 1


def window(packet: bytes) -> tuple[int, int] | None:
    """``(window_sequence, window_shape)`` of a mono or stereo AAC-LC packet, from its first element's
    ``ics_info`` (ISO 14496-3 4.4.2); None when it cannot be told (another element first, a stereo pair
    without a common window, whose second channel may have other windows)."""
    if len(packet) < 3:
        return None
    bits = int.from_bytes(packet[:3])

    def at(offset: int, n: int) -> int:
        return (bits >> (24 - offset - n)) & ((1 << n) - 1)

    element = at(0, 3)
    if element == _SCE:  # id, tag, global_gain, then ics_info: reserved bit, sequence, shape
        return at(16, 2), at(18, 1)
    if element == _CPE and at(7, 1):  # id, tag, common_window, ics_info
        return at(9, 2), at(11, 1)
    return None


@dataclass(frozen=True)
class AacCopy:
    """Packets ``first .. first+count-1`` of ``source``'s sound copied, then the re-encode from ``resume``."""

    source: Path
    first_pts: int  # of the first copied packet; the others follow it FRAME by FRAME
    shift: int  # output sample = packet pts - shift
    spans: npt.NDArray[np.int64]  # (offset, size) in the file of each copied packet, one row each
    resume: int  # output sample where the re-encoded packets take over
    sound: AudioEncode  # the re-encode, warmed up: its first kept packet starts at ``resume``

    @property
    def count(self) -> int:
        return len(self.spans)

    def packets(self, start: int = 0) -> Iterator[av.Packet[Any]]:
        """The copied packets from the ``start``-th on, stamped in output samples: read by the sample index's
        offsets (the demuxer would read and drop the video's packets, and make an object of every one)."""
        tb = Fraction(1, self.sound.tl.sample_rate)
        with self.source.open("rb") as f:
            for k, (offset, size) in enumerate(self.spans[start:].tolist(), start):
                f.seek(offset)
                packet = av.Packet(f.read(size))
                packet.pts = packet.dts = self.first_pts + k * FRAME - self.shift
                packet.duration, packet.is_keyframe, packet.time_base = FRAME, True, tb
                yield packet


def _read(path: Path, span: tuple[int, int]) -> bytes:
    """A packet's bytes by its place in the file (the sample index's offset and size)."""
    with path.open("rb") as f:
        f.seek(span[0])
        return f.read(span[1])


def _fits(sound: AudioEncode, resume: int, shape: int) -> bool:
    """Does the re-encode's first kept packet (and the shape of the one before) meet the copy's last?"""
    sound.keep_from = None
    while sound.fed < sound.tl.sample_count and not any((p.pts or 0) >= resume for p in sound.pending):
        sound.feed(min(sound.fed + FRAME, sound.tl.sample_count))
    packets = {int(p.pts or 0): bytes(p) for p in sound.pending}
    before, first = window(packets.get(resume - FRAME, b"")), window(packets.get(resume, b""))
    sound.pending = [p for p in sound.pending if (p.pts or 0) >= resume]
    sound.keep_from = resume
    return (before is not None and first is not None and first[0] in (_ONLY_LONG, _LONG_START)
            and before[1] == shape)


def plan_copy(tl: Timeline, readers: Readers) -> AacCopy | str:
    """The copy of the output's first sound, warmed-up re-encode included; or why its audio is re-encoded."""
    assert tl.audio is not None
    piece = next(p for p in tl.audio if p.count > 0)
    info = readers.info(piece.source)
    name = info.path.name
    if piece.blend is not None:
        return "the sound starts with a cross-fade"
    channels = av.AudioLayout(tl.layout).nb_channels
    if not info.audio or (info.audio[0].codec, info.audio[0].sample_rate, info.audio[0].channels) != \
            ("aac", tl.sample_rate, channels) or channels > 2:
        return f"{name}'s sound is not mono or stereo AAC at {tl.sample_rate} Hz"
    with open_media(info.path) as container:  # the full probe: it reads the AAC profile from a packet
        stream = container.streams.audio[0]
        ctx = stream.codec_context
        origin = info.start_seconds * tl.sample_rate  # the picture's first instant, in samples
        track = mp4.read_track(info.path, container.format.name, stream.id)
        times = track.times() if track is not None else None
        if ctx.profile != "LC" or Fraction(stream.time_base or 0) != Fraction(1, tl.sample_rate) \
                or origin.denominator != 1 or track is None or times is None:
            return f"{name}'s sound is not AAC-LC with mp4 sample tables in 1/{tl.sample_rate} s"
        stamps = times[0].tolist()
        spans = np.stack((track.samples.offsets, track.samples.sizes), axis=1)
        extradata = bytes(ctx.extradata or b"")
        shift = int(origin) + piece.start  # output sample of a packet = its pts - shift
        lead = next((q for q, t in enumerate(stamps) if t - shift + FRAME > 0), len(stamps))  # holds sample 0
        end = piece.count - 2 * FRAME  # a copied packet's next block must lie in the piece too
        last = lead - 1
        while last + 1 < len(stamps) and stamps[last + 1] - shift <= end and \
                stamps[last + 1] - stamps[last] == FRAME:
            last += 1
        candidates = range(last, max(lead, last - RETRIES) - 1, -1)
    if lead == 0 or last < lead:
        return f"{name}: no whole AAC packet of its sound is kept"
    for j in candidates:
        ends = window(_read(info.path, (int(spans[j, 0]), int(spans[j, 1]))))
        if ends is None or ends[0] not in (_ONLY_LONG, _LONG_STOP):
            continue
        resume = stamps[j] + FRAME - shift
        encoder = av.CodecContext.create("aac", "w")
        encoder.sample_rate, encoder.layout, encoder.format = tl.sample_rate, tl.layout, "fltp"
        encoder.time_base = Fraction(1, tl.sample_rate)
        sound = AudioEncode(tl, readers, encoder, max(0, resume - PREROLL_PACKETS * FRAME))
        if _fits(sound, resume, ends[1]):
            if bytes(encoder.extradata or b"") != extradata:
                return f"{name}: its AAC configuration is not the one this encoder writes"
            return AacCopy(info.path, stamps[lead - 1], shift, spans[lead - 1:j + 1], resume, sound)
    return f"{name}: no AAC packet near the seam whose window the re-encode can meet"
