"""Pictures onto the API's canvas and back (:class:`ltxkit.api_schema.Canvas`): the conditioning frames
sent padded as the canvas says, the outputs cropped back to the source's size at the splice."""

from __future__ import annotations

import av
import numpy as np
from PIL import Image

from ltxkit.api_schema import Canvas, api_canvas


def to_canvas(rgb: np.ndarray, canvas: Canvas) -> np.ndarray:
    """A source picture (``source`` size) on the canvas: scaled only when the canvas says, then padded black."""
    picture = (canvas.picture_width, canvas.picture_height)
    if picture == (canvas.width, canvas.height) == (rgb.shape[1], rgb.shape[0]):
        return rgb
    if (rgb.shape[1], rgb.shape[0]) != picture:
        rgb = np.asarray(Image.fromarray(rgb).resize(picture, Image.Resampling.LANCZOS))
    out = np.zeros((canvas.height, canvas.width, 3), np.uint8)
    out[canvas.top:canvas.top + canvas.picture_height, canvas.left:canvas.left + canvas.picture_width] = rgb
    return out


def conform(frame: av.VideoFrame, width: int, height: int) -> av.VideoFrame:
    """``frame`` back at ``width`` x ``height`` when it is that size's API canvas (an output made from padded
    conditioning frames): the picture cropped out, not the canvas squeezed. Other frames pass unchanged."""
    canvas = api_canvas(width, height)
    if (frame.width, frame.height) != (canvas.width, canvas.height) or (canvas.width, canvas.height) == (width,
                                                                                                          height):
        return frame
    rgb = frame.to_ndarray(format="rgb24")
    picture = rgb[canvas.top:canvas.top + canvas.picture_height, canvas.left:canvas.left + canvas.picture_width]
    out = av.VideoFrame.from_ndarray(np.ascontiguousarray(picture, dtype=np.uint8), format="rgb24")
    out.pts, out.time_base = frame.pts, frame.time_base
    return out
