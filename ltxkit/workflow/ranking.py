"""Rating and ranking the candidates of a segment: the verdict first, then one score from the seam metrics."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ltxkit.assembly.measures import LEVELS, higher_is_better
from ltxkit.assembly.seam import PSNR_DB, psnr
from ltxkit.frames.probe import open_media
from ltxkit.workflow.manifest import CandidateRecord

FINDING_PENALTY = {"check": 5.0, "bad": 15.0}


def seam_score(review: dict[str, Any]) -> float:
    """One number to rank candidates (higher is better), from the seam metrics:

    ``min(overlap PSNR, 50) − 5 per finding to check − 15 per bad one``: fidelity to the frames B was
    conditioned on, minus every defect found across the cut. The verdict (ok/check/bad) ranks first;
    this breaks ties within a verdict.
    """
    metrics = review["metrics"]
    fidelity = metrics.get("overlap_fidelity") or {}
    psnr_db = min(float(fidelity.get("psnr_db_mean", 50.0)), 50.0)
    defects = sum(FINDING_PENALTY[f["level"]] for f in review.get("findings", []))
    return round(psnr_db - defects, 3)


def rank(candidates: Sequence[CandidateRecord]) -> list[CandidateRecord]:
    """Rated candidates, best first: verdict, then score, then the lower seed (stable)."""
    rated = [c for c in candidates if c.score is not None and c.verdict is not None and c.status == "done"]
    return sorted(rated, key=lambda c: (LEVELS.index(c.verdict or ""), -(c.score or 0.0), c.seed))


def anchor_review(video: Path, image: Path) -> dict[str, Any]:
    """Rate an image-opened clip (no seam yet): PSNR of its first frame against the start image."""
    with open_media(video) as container:
        first = next(container.decode(video=0)).to_ndarray(format="rgb24")
    with Image.open(image) as im:
        ref = np.asarray(im.convert("RGB").resize((first.shape[1], first.shape[0])))
    value = psnr(first, ref)
    return {"verdict": higher_is_better(value, PSNR_DB), "score": round(min(value, 50.0), 3),
            "anchor_psnr_db": round(value, 2)}
