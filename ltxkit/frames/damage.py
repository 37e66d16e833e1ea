"""Corrupt pixels are never handed on silently: the one rule for telling a damaged decoded frame.

FFmpeg flags the frame it could not decode cleanly (``frame.is_corrupt``: bytes flipped in its packet, a
truncated last packet) and conceals the damage, but not the frames predicted from it, which are just as
wrong (measured: flipping bytes in one P-frame of a one-GOP clip flags that frame only, and every later
frame decodes differently). So, in decoding order, a flagged frame taints every frame after it until the
next keyframe, which predicts from nothing before it.
"""

from __future__ import annotations

from pathlib import Path

import av

from ltxkit.errors import InputError


class DamageWatch:
    """Feed it every decoded frame in decoding order; it refuses a damaged frame that is to be used."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.flagged: list[int] = []  # frames the decoder flagged corrupt, by index
        self._since: int | None = None  # the flagged frame the current run of frames may predict from

    def see(self, frame: av.VideoFrame, index: int, *, used: bool) -> None:
        if frame.key_frame:
            self._since = None
        if frame.is_corrupt:
            self.flagged.append(index)
            if self._since is None:
                self._since = index
        if used and self._since is not None:
            cause = ("the decoder flagged it as corrupt" if self._since == index
                     else f"it is predicted from frame {self._since}, which the decoder flagged as corrupt")
            raise InputError(f"{self.path}: frame {index} is damaged ({cause}); the file is corrupt")
