"""``--color-match`` / ``--color-ref``: one colour correction per clip of a splice, carried by its pieces.

At every joint the transfer is estimated from the overlap pairs when B's overlap already differs from
the A frames it repeats (all of B is shifted; same content, so the estimate is exact) and then corrects
every frame of B; else from A's last frames and B's first new frames (the shift starts at the cut) and
then corrects B from its first new frame on, while B's copies of A's frames, which came out right, are
shown as A is delivered (:meth:`ltxkit.assembly.edit.SplicePlan.grade_at`): a cut moved into the
overlap or a dissolve across it shows them unshifted, and the seam rates the overlap as generated. One
transfer per clip (:class:`ltxkit.frames.timeline.Piece` ``grade``), so the correction does not flicker.

* ``previous`` — B is matched to A *as delivered* (A's own correction applied first);
* ``first`` — B's correction is the composition of the joint transfers along the chain, each estimated
  on raw frames of neighbouring clips, so every clip lands on clip 1's look without ever comparing
  clip 1's statistics with different content.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ltxkit.assembly.colour import delta_e76, estimate_transfer, mean_lab
from ltxkit.assembly.edit import SplicePlan, replan
from ltxkit.assembly.findings import OVERLAP_DE
from ltxkit.assembly.modes import COLOR_REFS, METHODS
from ltxkit.assembly.seam import findings_rgb
from ltxkit.errors import InputError
from ltxkit.frames.readers import VideoReader
from ltxkit.frames.timeline import Grade

NEW_FRAMES = 3  # B's first new frames (and A's last ones) a shift from the cut is estimated on


@dataclass(frozen=True)
class Correction:
    """What was corrected at one joint (``record``: the report's words and numbers) and the frames that
    show it before and after: A's, and B's as generated and as corrected (the same instant when all of B
    differs, else A's last frame and B's first new one)."""

    record: dict[str, Any]
    a: np.ndarray
    b: np.ndarray
    b_corrected: np.ndarray


def _identity(frame: np.ndarray) -> np.ndarray:
    return frame


def _then(first: Grade, second: Grade) -> Grade:
    return lambda frame: second(first(frame))


def _frames(plan: SplicePlan, i: int, start: int, count: int) -> list[np.ndarray]:
    info = plan.infos[i]
    with VideoReader(info.path, info) as reader:
        return findings_rgb(reader, start, count, info.display_size)  # frames come upright: a phone clip's too


def colour_match(plan: SplicePlan, method: str, ref: str = "previous") -> tuple[SplicePlan, list[Correction]]:
    """``plan`` with every clip after the first colour-matched, and what was corrected by how much."""
    if method not in METHODS:
        raise InputError(f"--color-match must be one of {', '.join(METHODS)}, got {method!r}")
    if ref not in COLOR_REFS:
        raise InputError(f"--color-ref must be one of {', '.join(COLOR_REFS)}, got {ref!r}")
    if method == "none":
        return plan, []
    r = plan.overlap_at_clip_fps
    grades: list[Grade] = [_identity]
    starts = [0]
    corrections: list[Correction] = []
    for i in range(1, len(plan.infos)):
        n_a = plan.infos[i - 1].frame_count
        a_tail = _frames(plan, i - 1, n_a - r, r)
        b_head = _frames(plan, i, 0, min(plan.infos[i].frame_count, r + NEW_FRAMES))
        overlap_de = float(delta_e76(mean_lab(a_tail), mean_lab(b_head[:r]))) if r else 0.0
        whole = r > 0 and overlap_de > OVERLAP_DE
        reference, source = (a_tail, b_head[:r]) if whole else (a_tail[-NEW_FRAMES:], b_head[r:])
        delivered = [grades[-1](f) for f in reference]  # A as the viewer sees it
        if ref == "previous":
            grade: Grade = estimate_transfer(delivered, source, method).apply
        else:
            grade = _then(estimate_transfer(reference, source, method).apply, grades[-1])
        grades.append(grade)
        starts.append(0 if whole else r)  # B's copies of A's frames were generated right: they look as A does
        target = mean_lab(delivered)
        corrected = [grade(f) for f in source]
        shown = -1 if whole else 0
        corrections.append(Correction({
            "clip": str(plan.infos[i].path), "method": method, "ref": ref,
            "estimated_from": "the overlap (all of B differs)" if whole else "B's first new frames",
            "delta_e_before": round(float(delta_e76(mean_lab(source), target)), 2),
            "delta_e_after": round(float(delta_e76(mean_lab(corrected), target)), 2)},
            delivered[-1], source[shown], corrected[shown]))
    return replan(plan, grades=[None if g is _identity else g for g in grades], grade_from=starts), corrections

