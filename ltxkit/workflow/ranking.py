"""Rating and ranking the candidates of a segment: a candidate with a visible defect is set aside (with the
reason, in words), then the verdict ranks, then one score from the seam metrics."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ltxkit.assembly.measures import LEVELS, higher_is_better
from ltxkit.assembly.seam import LEVEL_WORDS, PSNR_DB, psnr
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


FINDING_KEYS = ("kind", "level", "size", "unit", "words", "advice")  # what run.json keeps of a finding


def rejection(review: dict[str, Any]) -> str | None:
    """Why a candidate must not be chosen while another is clean, or ``None``.

    Every finding across the cut is a defect a viewer sees (a colour or exposure step, a flash, a freeze,
    a skipped frame, a jump, a sound level jump): it sets the candidate aside, with the findings' words.
    Without one, a bad overlap or lip sync does too.
    """
    found = review.get("findings", [])
    if found:
        return "; ".join(f["words"] for f in found)
    metrics, levels = review["metrics"], review["levels"]
    why = []
    if "bad" in (levels.get("overlap_psnr"), levels.get("overlap_ssim")):
        psnr_db = metrics["overlap_fidelity"]["psnr_db_mean"]
        why.append(f"{LEVEL_WORDS['overlap_psnr'][-1]} (PSNR {psnr_db:.1f} dB)")
    if levels.get("av_offset") == "bad":
        why.append(f"B's sound is {abs(metrics['av_offset']['offset_ms']):.0f} ms off its picture")
    return "; ".join(why) or None


def findings_record(review: dict[str, Any]) -> list[dict[str, Any]]:
    return [{k: f[k] for k in FINDING_KEYS} for f in review.get("findings", [])]


def report_takes(segments: Sequence[dict[str, Any]], picks: Sequence[int], opening_clip: bool
                 ) -> list[list[dict[str, Any]]]:
    """``takes`` for :func:`ltxkit.assembly.report.splice_with_report` from ``run.json``'s segments: per
    clip the candidates it was picked from (``picks``, 1-based per segment); none for an opening clip."""
    takes: list[list[dict[str, Any]]] = [[]] if opening_clip else []
    for seg, pick in zip(segments, picks, strict=False):
        takes.append([{"candidate": c["candidate"], "seed": c["seed"], "status": c["status"], "error": c.get("error"),
                       "verdict": c.get("verdict"), "score": c.get("score"), "chosen": c["candidate"] == pick,
                       "rejected": c.get("rejected"), "findings": [f["words"] for f in c.get("findings") or []]}
                      for c in seg["candidates"]])
    return takes


def rank(candidates: Sequence[CandidateRecord]) -> list[CandidateRecord]:
    """Rated candidates, best first: clean before set aside, then verdict, score, the lower seed (stable)."""
    rated = [c for c in candidates if c.score is not None and c.verdict is not None and c.status == "done"]
    return sorted(rated, key=lambda c: (c.rejected is not None, LEVELS.index(c.verdict or ""), -(c.score or 0.0),
                                        c.seed))


def anchor_review(video: Path, image: Path) -> dict[str, Any]:
    """Rate an image-opened clip (no seam yet): PSNR of its first frame against the start image."""
    with open_media(video) as container:
        first = next(container.decode(video=0)).to_ndarray(format="rgb24")
    with Image.open(image) as im:
        ref = np.asarray(im.convert("RGB").resize((first.shape[1], first.shape[0])))
    value = psnr(first, ref)
    verdict = higher_is_better(value, PSNR_DB)
    return {"verdict": verdict, "score": round(min(value, 50.0), 3), "anchor_psnr_db": round(value, 2),
            "rejected": f"its first frame does not match the opening image (PSNR {value:.1f} dB)"
            if verdict == "bad" else None}
