"""``--cut best``: at every joint, the hard cut moves to the least visible position in the overlap.

Every position in the overlap shows the same number of frames at the same instants (B's copies of
A's last frames are the same moments), so the output's length and its sound do not move; only which
copy of the duplicated frames the viewer sees changes. The positions are rated on the pictures as
delivered (after ``--color-match``: B's copies of A's frames as A is delivered when the correction
starts at B's first new frame, corrected with the rest of B when all of B was shifted). A's frames
after its last sample only repeat it and B has none before its frame 0, so the overlap is all the
frames both clips share.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ltxkit.assembly.edit import SplicePlan, replan
from ltxkit.assembly.findings import CutFrames, best_cut, cut_costs
from ltxkit.assembly.modes import CUT_CHOICES
from ltxkit.assembly.seam import findings_rgb
from ltxkit.errors import InputError
from ltxkit.frames.readers import VideoReader


def _delivered(plan: SplicePlan, clip: int, start: int, count: int) -> list[np.ndarray]:
    """Frames of ``clip`` as the splice shows them (graded), at the findings' analysis size."""
    info = plan.infos[clip]
    with VideoReader(info.path, info) as reader:
        return plan.delivered(clip, start, findings_rgb(reader, start, count, plan.infos[0].display_size))


def _words(at: int, mode_at: int, cost: float, mode_cost: float | None) -> str:
    if at == mode_at:
        return f"cut kept at frame {mode_at}: no other frame of the overlap hides the switch better"
    moved = at - mode_at
    saved = "" if not mode_cost else f", {100 * (1 - cost / mode_cost):.0f} % less change on screen"
    return (f"cut moved {abs(moved)} frame{'s' if abs(moved) != 1 else ''} {'earlier' if moved < 0 else 'later'}, "
            f"to frame {at} (--cut best{saved}); length and sound unchanged")


def check_choice(plan: SplicePlan, choice: str) -> None:
    """Refuse a ``--cut`` that ``plan`` cannot take, before anything is read or written."""
    if choice not in CUT_CHOICES:
        raise InputError(f"--cut must be one of {', '.join(CUT_CHOICES)}, got {choice!r}")
    if choice == "best" and any(plan.mode.picture(r).fade for r in plan.overlaps):
        raise InputError(f"--cut best places a hard cut; --mode {plan.mode.name} dissolves over the overlap")


def choose_cuts(plan: SplicePlan, choice: str = "best") -> tuple[SplicePlan, list[dict[str, Any]]]:
    """``plan`` with each joint's hard cut where it is least visible, and per joint the costs of every
    position (output frame → summed ΔE76 of the steps shown through the overlap) and the move."""
    check_choice(plan, choice)
    if choice == "mode":
        return plan, []
    cuts: list[int | None] = []
    choices: list[dict[str, Any]] = []
    for i, (joint, r) in enumerate(zip(plan.joints, plan.overlaps, strict=True)):
        b_at = joint.overlap_start - plan.placements[i]  # A's frame shown with B's frame 0
        a_from = max(0, b_at - 1)
        a = _delivered(plan, i, a_from, plan.counts[i] - a_from)
        b = _delivered(plan, i + 1, 0, min(plan.infos[i + 1].frame_count, r + 1))
        default = plan.mode.picture(r).stop
        data = CutFrames(a=a, b=b, b_start=b_at - a_from, cut=b_at - a_from + default)
        costs = {p - data.b_start: c for p, c in cut_costs(data).items()}  # offset into the overlap → cost
        offset = best_cut(costs, default)
        cuts.append(offset)
        at, mode_at = joint.overlap_start + offset, joint.overlap_start + default
        choices.append({"cut_frame": at, "mode_cut_frame": mode_at, "moved_frames": at - mode_at,
                        "costs": {str(joint.overlap_start + o): round(c, 2) for o, c in sorted(costs.items())},
                        "words": _words(at, mode_at, costs[offset], costs.get(default))})
    return replan(plan, cuts=cuts), choices
