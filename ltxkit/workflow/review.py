"""``ltxkit review``: what the review page shows of an extend run, and a pick made from it.

The page reads ``run.json`` (never a second copy of it), so a run that is still going shows new
candidates as ``extend`` saves them. A pick writes the choice into ``run.json`` as ``picked`` (which
``extend --resume`` keeps, like ``--pick``), re-splices ``extended.mp4`` and the report the way
``extend`` does, and never mixes clips: a later segment generated from another choice is *stale*, its
directory is moved to ``stale/`` and its record emptied, so ``extend --resume`` takes a fresh tail from
the new choice and generates that segment (and the ones after it) again.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import threading
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from ltxkit.assembly.seam import CLEAN_WORDS, seam_words
from ltxkit.errors import InputError, LtxkitError
from ltxkit.fsutil import atomic_path, write_json_atomic
from ltxkit.timing import parse_fps, round_half_up
from ltxkit.workflow.manifest import MANIFEST, SPLICE_DEFAULTS
from ltxkit.workflow.ranking import report_takes

LEAD_IN_SECONDS = Fraction(1)  # how much of A the seam preview plays before B takes over



@dataclass
class RunDir:
    """One reading of the run: ``run.json`` as plain JSON (its on-disk format is the contract).

    Each request works on a reading of its own (:func:`reload`), never on one shared with other
    requests: the page polls while a pick splices, and a reading swapped in under the pick would be
    what the pick saves. ``version`` is the mtime of the file that was read, not of whatever is there later.
    """

    path: Path
    data: dict[str, Any]
    version: int = 0

    @property
    def manifest(self) -> Path:
        return self.path / MANIFEST

    def save(self) -> None:
        write_json_atomic(self.manifest, self.data, private=True)  # owner-only, as extend writes it

    def segment_dir(self, index: int) -> Path:
        return self.path / f"segment-{index + 1:02d}"


def open_review(path: Path) -> RunDir:
    """The run in ``path``; anything else is one clear line (exit 2)."""
    manifest = path / MANIFEST
    if not path.is_dir() or not manifest.is_file():
        raise InputError(f"{path} is not an extend run directory (no {MANIFEST}); "
                         "give the -o directory of 'ltxkit extend' or 'ltxkit demo -o'")
    return reload(RunDir(path.resolve(), {}))


def reload(run: RunDir) -> RunDir:
    """A new reading of ``run.json``: ``extend`` or a pick may have saved since (a run that is still going)."""
    try:
        with run.manifest.open("rb") as fh:  # saves replace the file: its fstat is of the bytes read here
            version = os.fstat(fh.fileno()).st_mtime_ns
            data = json.loads(fh.read().decode("utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{run.manifest}: unreadable manifest ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("spec"), dict) or "segments" not in data:
        raise InputError(f"{run.manifest} is not an extend run manifest")
    return RunDir(run.path, data, version)


def generated_from(run: RunDir, index: int) -> Path | None:
    """The clip whose tail segment ``index`` (0-based) was generated from, as its overlap manifest says."""
    frames = run.segment_dir(index) / "overlap" / "frames.json"
    try:
        return Path(json.loads(frames.read_text(encoding="utf-8"))["source"]).resolve()
    except (OSError, ValueError, KeyError):
        return None


def _chosen_file(record: dict[str, Any]) -> Path | None:
    chosen = record.get("chosen")
    if not chosen:
        return None
    file = record["candidates"][chosen - 1].get("file")
    return None if file is None else Path(file).resolve()


def finished(data: dict[str, Any]) -> bool:
    """``extend`` (or a pick) spliced exactly the current choices: nothing is being written."""
    result = data.get("result") or {}
    segments = data["segments"]
    return (bool(result) and len(segments) == len(data["spec"]["segments"])
            and result.get("picks") == [s.get("chosen") for s in segments])


def idle_after_pick(data: dict[str, Any]) -> bool:
    """A pick set later segments aside and no ``extend --resume`` has started on them yet."""
    result = data.get("result") or {}
    stale_from = result.get("stale_from")
    return (stale_from is not None and all(not s["candidates"] for s in data["segments"][stale_from - 1:])
            and result.get("picks") == [s.get("chosen") for s in data["segments"][:stale_from - 1]])


def describe(run: RunDir) -> dict[str, Any]:
    """``GET /api/run``: the manifest plus what the page derives from it (states, words, media URLs)."""
    data = run.data
    spec = data["spec"]
    can_pick = finished(data) or idle_after_pick(data)
    segments = []
    for i, record in enumerate(data["segments"]):
        source = generated_from(run, i)
        previous = Path(spec["clip"]).resolve() if i == 0 and spec.get("clip") else (
            _chosen_file(data["segments"][i - 1]) if i else None)
        later = data["segments"][i + 1] if i + 1 < len(data["segments"]) else None
        cands = record["candidates"]
        state = ("waiting" if not cands else "stale" if source is not None and previous is not None
                 and source != previous else "chosen" if record.get("chosen") else "generating")
        estimate = record.get("estimate") or {}
        segments.append({
            "segment": i + 1, "frames": record.get("frames"), "cut_seconds": _seconds(record.get("cut_seconds")),
            "state": state, "chosen": record.get("chosen"), "picked": record.get("picked"),
            "ranking": record.get("ranking", []),
            "locked": later is not None and bool(later["candidates"]),
            "generated_from": None if source is None else source.name,
            "lead_seconds": 0.0 if source is None or not source.is_file() else _lead_seconds(source),
            "per_candidate_usd": estimate.get("per_candidate_usd"),
            "candidates": [{
                "candidate": c["candidate"], "seed": c["seed"], "status": c["status"], "error": c.get("error"),
                "verdict": c.get("verdict"), "score": c.get("score"), "rejected": c.get("rejected"),
                "findings": seam_words(c.get("levels") or {}, c.get("findings") or []),
                "chosen": c["candidate"] == record.get("chosen"),
                "preview": _preview_url(i + 1, c, source),
            } for c in cands],
        })
    result = data.get("result") or {}
    output = run.path / "extended.mp4"
    return {
        "run_dir": str(run.path), "manifest": data, "segments": segments, "can_pick": can_pick,
        "clean_words": CLEAN_WORDS,
        "finished": finished(data),
        "why_not": None if can_pick else "the run is still going (or stopped): picks open when "
                                          "'ltxkit extend --resume' has finished it",
        "opening": Path(spec["clip"]).name if spec.get("clip") else Path(spec["image"]).name,
        "prompt": spec.get("prompt"), "overlap": spec.get("overlap"), "sampled_fps": spec.get("sampled_fps"),
        "planned_segments": len(spec["segments"]), "candidates_per_segment": spec.get("candidates"),
        "result": None if not result else {
            "verdict": result.get("verdict"), "picks": result.get("picks"), "frames": result.get("frames"),
            "stale_from": result.get("stale_from"),
            "extended": "/media/extended.mp4" if output.exists() else None,
            "report": "/report" if result.get("report") else None,
        },
        "version": run.version,
    }


def _preview_url(segment: int, cand: dict[str, Any], source: Path | None) -> str | None:
    """The seam preview's address, changed whenever A or B is (a browser keeps what it fetched)."""
    file = cand.get("file")
    if file is None or not Path(file).is_file():
        return None
    stamp = "-".join(str(p.stat().st_mtime_ns) for p in (Path(file), source) if p is not None and p.is_file())
    return f"/media/seam/{segment}/{cand['candidate']}.mp4?v={stamp}"


def _lead_seconds(a: Path) -> float:
    """Where the cut falls in a seam preview: A's last second, or all of a shorter A."""
    from ltxkit.frames.probe import probe

    info = probe(a)
    return float(min(info.frame_count, round_half_up(LEAD_IN_SECONDS * info.fps)) / info.fps)


def _seconds(value: Any) -> float | None:
    return None if value is None else float(Fraction(str(value)))


# --- media ------------------------------------------------------------------------------------------


def candidate_file(run: RunDir, segment: int, candidate: int) -> Path:
    """The downloaded file of a candidate (1-based numbers), or InputError (→ 404) if there is none."""
    record = _record(run.data, segment)
    if not 1 <= candidate <= len(record["candidates"]):
        raise InputError(f"segment {segment} has no candidate {candidate}")
    file = record["candidates"][candidate - 1].get("file")
    if file is None or not Path(file).is_file():
        raise InputError(f"candidate {candidate} of segment {segment} has no file")
    return Path(file)


def _record(data: dict[str, Any], segment: int) -> dict[str, Any]:
    if not 1 <= segment <= len(data["segments"]):
        raise InputError(f"the run has no segment {segment} (it has {len(data['segments'])})")
    record: dict[str, Any] = data["segments"][segment - 1]
    return record


_render_lock = threading.Lock()


def seam_preview(run: RunDir, segment: int, candidate: int) -> Path:
    """A's last second running into all of candidate B, as the splice joins them (cached in ``review/``).

    A is the clip the segment was generated from, so every candidate of a segment starts on the same
    picture and their previews have the same length: the page plays them in sync. A segment opened from
    an image has no seam: the candidate itself is the preview.
    """
    from ltxkit.assembly import prepare_splice
    from ltxkit.assembly.review import review_clip
    from ltxkit.frames.probe import probe

    b = candidate_file(run, segment, candidate)
    a = generated_from(run, segment - 1)
    if a is None or not a.is_file():
        return b
    key = hashlib.sha256("\n".join(f"{p}:{p.stat().st_mtime_ns}" for p in (a, b)).encode()).hexdigest()[:12]
    target = run.path / "review" / f"seam-{segment:02d}-{candidate}-{key}.mp4"
    with _render_lock:
        if not target.exists():
            spec = run.data["spec"]
            plan = prepare_splice([a, b], overlap=spec["overlap"], sampled_fps=parse_fps(spec["sampled_fps"]),
                                  scale=True, audio=all(probe(p).audio for p in (a, b)))
            cut = plan.joints[0].cut_frame
            lead = min(cut, round_half_up(LEAD_IN_SECONDS * plan.timeline.fps))
            window = plan.timeline.window(cut - lead, plan.timeline.frame_count - (cut - lead))
            with atomic_path(target) as tmp:
                review_clip(window, lead, tmp, seconds=window.duration_seconds)
    return target


# --- picking ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PickResult:
    segment: int
    candidate: int
    stale: list[int]  # segments set aside for 'extend --resume' to generate again
    output: str
    verdict: str | None

    def to_json(self) -> dict[str, Any]:
        return {"segment": self.segment, "candidate": self.candidate, "stale": self.stale, "output": self.output,
                "verdict": self.verdict}


_pick_lock = threading.Lock()


def pick(run: RunDir, segment: int, candidate: int, *, log: Any = lambda _m: None) -> PickResult:
    """Choose ``candidate`` for ``segment`` (1-based), re-splice, and set aside what no longer follows."""
    with _pick_lock:
        run = reload(run)
        data = run.data
        if not (finished(data) or idle_after_pick(data)):
            raise LtxkitError("the run is still going (or stopped before its splice): pick when "
                              "'ltxkit extend --resume' has finished it")
        if data["spec"].get("combine") == "remote":
            raise InputError("this run combines on the server: pick with 'ltxkit extend --resume --pick'")
        record = _record(data, segment)
        if not record["candidates"]:
            raise InputError(f"segment {segment} has no candidates yet ('ltxkit extend --resume' makes them)")
        chosen = candidate_file(run, segment, candidate).resolve()
        segments = data["segments"]
        ready = len(list(itertools.takewhile(lambda s: s.get("chosen"), segments)))
        made_from = generated_from(run, segment)  # what segment + 1 continues
        stale = (list(range(segment + 1, len(segments) + 1))
                 if segment < ready and made_from not in (None, chosen) else [])
        keep = segment if stale else ready
        picks = [candidate if n == segment else s["chosen"] for n, s in enumerate(segments[:keep], start=1)]
        chain = [Path(s["candidates"][c - 1]["file"]) for s, c in zip(segments, picks, strict=False)]
        previous = data.get("result")
        data["result"] = None  # a crash mid-splice leaves a run that extend --resume re-splices
        run.save()
        try:
            result = _splice(run, chain, picks, (previous or {}).get("settings"), log)
        except BaseException:
            data["result"] = previous
            run.save()
            raise
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for n in (n for n in stale if segments[n - 1]["candidates"]):
            moved = run.path / "stale" / f"{stamp}-segment-{n:02d}"
            source = generated_from(run, n - 1)
            if run.segment_dir(n - 1).exists():
                moved.parent.mkdir(exist_ok=True)
                os.replace(run.segment_dir(n - 1), moved)
            data.setdefault("stale", []).append({
                "segment": n, "generated_from": None if source is None else str(source), "moved_to": str(moved),
                "candidates": segments[n - 1]["candidates"], "chosen": segments[n - 1]["chosen"]})
            segments[n - 1] = {"index": n, "candidates": [], "chosen": None,
                               "frames": segments[n - 1]["frames"], "cut_seconds": segments[n - 1]["cut_seconds"]}
        record["chosen"] = record["picked"] = candidate
        data["result"] = {**result, "stale_from": keep + 1 if keep < len(segments) else None}
        run.save()
        log(f"segment {segment}: picked candidate {candidate}; {run.path / 'extended.mp4'} re-spliced"
            + (f"; segment(s) {', '.join(map(str, stale))} set aside for 'ltxkit extend --resume'" if stale else ""))
        return PickResult(segment, candidate, stale, result["output"], result.get("verdict"))


def _splice(run: RunDir, chosen: list[Path], picks: list[int], settings: dict[str, str] | None,
            log: Any) -> dict[str, Any]:
    """``extended.mp4`` and the report from the opening clip and ``chosen``, as ``extend`` spliced them: with
    the run's ``settings`` (``--color-match``, ``--color-ref``, ``--splice-cut``), kept in the new result."""
    from ltxkit.assembly import splice_with_report
    from ltxkit.frames.probe import probe

    spec = run.data["spec"]
    output = run.path / "extended.mp4"
    clips = ([Path(spec["clip"])] if spec.get("clip") else []) + chosen
    if len(clips) == 1:
        with atomic_path(output) as tmp:
            shutil.copyfile(clips[0], tmp)
        return {"output": str(output), "picks": picks, "verdict": None, "report": None}
    use = {**SPLICE_DEFAULTS, **(settings or {})}
    silent = [c.name for c in clips if not probe(c).audio]
    if silent:
        log(f"warning: {', '.join(silent)} has no audio: the extended clip is written without sound")
    report_dir = run.path / "report"
    report = splice_with_report(clips, output, overlap=spec["overlap"], sampled_fps=parse_fps(spec["sampled_fps"]),
                                scale=True, audio=not silent, report_dir=report_dir,
                                color_match=use["color_match"], color_ref=use["color_ref"], cut=use["cut"],
                                render=use["render"],
                                takes=report_takes(run.data["segments"], picks, bool(spec.get("clip"))))
    current = {"report.html", "report.json", *(Path(f).name for s in report["seams"] for f in s["files"].values())}
    for leftover in report_dir.iterdir():  # a shorter splice leaves the sheets of seams it no longer has
        if leftover.name not in current:
            leftover.unlink()
    return {"output": str(output), "picks": picks, "verdict": report["verdict"], "report": report["report"],
            "frames": report["splice"].get("frame_count")} | ({"settings": settings} if settings else {})
