"""The run directory: a JSON manifest rewritten atomically after every step, so any run resumes.

The manifest is the user-facing record (inputs, parameters, every candidate's job id, idempotency key,
status, files, seam metrics, the choice). What must never happen twice — a paid submit — is guarded
twice over: by the jobs journal (SQLite, in the same directory) and by the idempotency keys, which are
derived from the request itself, so a re-run sends the same key even if the manifest write was lost.

The records below read and write ``run.json`` exactly as earlier versions did (the same keys, present
under the same conditions), so a run started by an older ltxkit resumes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from ltxkit.errors import InputError
from ltxkit.fsutil import remove_stale_temporaries, write_json_atomic

MANIFEST = "run.json"
OUTPUT = "extended.mp4"
REPORT = "report"
VERSION = 1
# what a run writes or replaces in its directory, besides its segment directories (no input may be one)
RUN_ENTRIES = (MANIFEST, OUTPUT, REPORT, "combined",
               *(f"ltxkit-jobs.sqlite{end}" for end in ("", "-wal", "-shm")))


def _optional(**values: Any) -> dict[str, Any]:
    """The keys whose value is set: the manifest omits a field until its step has run."""
    return {k: v for k, v in values.items() if v is not None}


@dataclass
class CandidateRecord:
    """One submitted candidate: its job, its downloaded file and its rating."""

    candidate: int  # 1-based
    seed: int
    idempotency_key: str
    job_id: str | None = None
    status: str = "pending"  # the job's state once it ended ("done", "failed", ...)
    file: Path | None = None
    url: str | None = None
    verdict: str | None = None
    score: float | None = None
    error: str | None = None  # written (possibly null) once the job has ended
    levels: dict[str, str] | None = None  # the seam metrics' levels (a candidate that continues a clip)
    anchor_psnr_db: float | None = None  # the first frame against the opening image (an image-opened one)
    findings: list[dict[str, Any]] | None = None  # what its seam review found, in words (kind, level, size, ...)
    rejected: str | None = None  # why the ranking set it aside (a visible defect), in words
    charged: float | None = None  # what its submit was billed (in the provider's unit), once known

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "candidate": self.candidate, "seed": self.seed, "idempotency_key": self.idempotency_key,
            "job_id": self.job_id, "status": self.status, "file": None if self.file is None else str(self.file),
            "url": self.url, "verdict": self.verdict, "score": self.score,
        }
        if self.status != "pending":
            data["error"] = self.error
        return data | _optional(levels=self.levels, anchor_psnr_db=self.anchor_psnr_db, findings=self.findings,
                                rejected=self.rejected, charged=self.charged)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CandidateRecord:
        return cls(candidate=int(data["candidate"]), seed=int(data["seed"]), idempotency_key=data["idempotency_key"],
                   job_id=data.get("job_id"), status=data.get("status", "pending"),
                   file=None if data.get("file") is None else Path(data["file"]), url=data.get("url"),
                   verdict=data.get("verdict"), score=data.get("score"), error=data.get("error"),
                   levels=data.get("levels"), anchor_psnr_db=data.get("anchor_psnr_db"),
                   findings=data.get("findings"), rejected=data.get("rejected"), charged=data.get("charged"))


@dataclass
class Estimate:
    """What a segment will cost, from the server's own answer (None: the provider reports no price)."""

    per_candidate_usd: float | None
    segment_usd: float | None
    remaining_usd: float | None

    def to_json(self) -> dict[str, Any]:
        return {"per_candidate_usd": self.per_candidate_usd, "segment_usd": self.segment_usd,
                "remaining_usd": self.remaining_usd}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Estimate:
        return cls(data.get("per_candidate_usd"), data.get("segment_usd"), data.get("remaining_usd"))


@dataclass
class SegmentRecord:
    """One segment of the run: its candidates, the estimate, the ranking and the choice."""

    index: int  # 1-based
    frames: int
    cut_seconds: Fraction
    candidates: list[CandidateRecord] = field(default_factory=list)
    chosen: int | None = None  # 1-based candidate
    audio_window: dict[str, Any] | None = None  # the reference-audio window, as ltxkit.audio reports it
    estimate: Estimate | None = None
    ranking: list[int] | None = None
    picked: int | None = None  # the user's choice (--pick or 'ltxkit review'): --resume keeps it

    def candidate(self, number: int) -> CandidateRecord:
        return self.candidates[number - 1]

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "candidates": [c.to_json() for c in self.candidates], "chosen": self.chosen,
                "frames": self.frames, "cut_seconds": str(self.cut_seconds)} | _optional(
            audio_window=self.audio_window, estimate=None if self.estimate is None else self.estimate.to_json(),
            ranking=self.ranking, picked=self.picked)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SegmentRecord:
        estimate = data.get("estimate")
        return cls(index=int(data["index"]), frames=int(data["frames"]), cut_seconds=Fraction(data["cut_seconds"]),
                   candidates=[CandidateRecord.from_json(c) for c in data.get("candidates", [])],
                   chosen=data.get("chosen"), audio_window=data.get("audio_window"),
                   estimate=None if estimate is None else Estimate.from_json(estimate), ranking=data.get("ranking"),
                   picked=data.get("picked"))


# RunResult.settings when a run records none (an earlier version made it): the defaults
SPLICE_DEFAULTS = {"color_match": "none", "color_ref": "previous", "cut": "mode", "render": "smart"}


@dataclass
class RunResult:
    """The assembled output: which candidates it joins, the worst seam verdict, the report."""

    output: Path
    picks: list[int]
    verdict: str | None  # the worst seam's (every chosen candidate is rated, so set in practice)
    report: str | None
    frames: int | None = None  # a local splice's frame count
    combine_job: str | None = None  # a server-side combine's job id ...
    seams: list[dict[str, Any]] | None = None  # ... and the seams it was rated on
    render: dict[str, Any] | None = None  # a local splice's render: smart or full and why
    warnings: list[str] | None = None  # what assembling found (a server-side combine's answer checked)
    # a local splice's settings (--color-match, --color-ref, --splice-cut, --render), which a review pick
    # keeps; None in a run an earlier version made (it spliced with the defaults)
    settings: dict[str, str] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"output": str(self.output), "picks": list(self.picks), "verdict": self.verdict,
                "report": self.report} | _optional(frames=self.frames, combine_job=self.combine_job, seams=self.seams,
                                                   render=self.render, warnings=self.warnings,
                                                   settings=self.settings)

    @property
    def splice_settings(self) -> dict[str, str]:
        return {**SPLICE_DEFAULTS, **(self.settings or {})}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunResult:
        return cls(output=Path(data["output"]), picks=[int(p) for p in data["picks"]], verdict=data["verdict"],
                   report=data.get("report"), frames=data.get("frames"), combine_job=data.get("combine_job"),
                   seams=data.get("seams"), render=data.get("render"), warnings=data.get("warnings"),
                   settings=data.get("settings"))


@dataclass
class RunManifest:
    """``run.json``: the spec it was made with, every segment so far, the result once assembled."""

    spec: dict[str, Any]
    segments: list[SegmentRecord] = field(default_factory=list)
    result: RunResult | None = None
    warnings: list[str] | None = None
    # what each video.combine submitted on the server was billed, by idempotency key (like a candidate's
    # ``charged``, for --max-usd on --resume); kept even when the run stopped before its result
    combine_charged: dict[str, float] | None = None
    version: int = VERSION

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "spec": self.spec, "segments": [s.to_json() for s in self.segments],
                "result": None if self.result is None else self.result.to_json()} | _optional(
            warnings=self.warnings, combine_charged=self.combine_charged)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunManifest:
        result = data.get("result")
        return cls(spec=data["spec"], segments=[SegmentRecord.from_json(s) for s in data.get("segments", [])],
                   result=None if result is None else RunResult.from_json(result), warnings=data.get("warnings"),
                   combine_charged=data.get("combine_charged"), version=int(data.get("version", VERSION)))

    @property
    def charged(self) -> list[float]:
        """What every job of the run was billed, as far as the answers said: candidates and combines."""
        return [c.charged for s in self.segments for c in s.candidates if c.charged is not None] + \
            list((self.combine_charged or {}).values())


@dataclass
class RunDir:
    path: Path
    manifest: RunManifest

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST

    def save(self) -> None:
        # owner-only: output URLs may be signed, as in the jobs journal
        write_json_atomic(self.manifest_path, self.manifest.to_json(), private=True)

    def segment_dir(self, index: int) -> Path:
        return segment_dir(self.path, index)


def segment_dir(run_dir: Path, index: int) -> Path:
    return run_dir / f"segment-{index + 1:02d}"


def run_outputs(run_dir: Path, segments: int) -> list[Path]:
    """Every path a run of ``segments`` segments writes or replaces under ``run_dir``."""
    return [run_dir / name for name in RUN_ENTRIES] + [segment_dir(run_dir, i) for i in range(segments)]


def open_run(path: Path, spec: dict[str, Any], *, resume: bool) -> RunDir:
    """Start a run in ``path`` or, with ``resume``, continue the one there (same parameters only).

    Refuses before anything is written: an existing run without ``--resume`` (it would be silently
    mixed with the new one), a manifest made for other parameters, or a path that is a file.
    """
    if path.exists() and not path.is_dir():
        raise InputError(f"-o {path}: exists and is not a directory")
    manifest_path = path / MANIFEST
    if manifest_path.exists():
        if not resume:
            raise InputError(f"{path} already holds a run; pass --resume to continue it, or choose a new -o")
        try:
            data = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"{manifest_path}: unreadable manifest ({exc})") from exc
        if not isinstance(data, dict) or not isinstance(data.get("spec"), dict):
            raise InputError(f"{manifest_path}: unreadable manifest (not a run written by 'ltxkit extend')")
        if data.get("spec") != spec:
            changed = sorted(k for k in {*spec, *data.get("spec", {})} if spec.get(k) != data.get("spec", {}).get(k))
            raise InputError(f"{path} holds a run with other parameters ({', '.join(changed)}); "
                             "resume with the same ones, or choose a new -o")
        try:
            run = RunDir(path, RunManifest.from_json(data))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(f"{manifest_path}: unreadable manifest ({exc!r})") from exc
        remove_stale_temporaries(path)  # what a killed run was writing; it is made again from the manifest
        return run
    path.mkdir(parents=True, exist_ok=True)
    run = RunDir(path, RunManifest(spec=spec))
    run.save()
    return run
