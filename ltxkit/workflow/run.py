"""The run directory: a JSON manifest rewritten atomically after every step, so any run resumes.

The manifest is the user-facing record (inputs, parameters, every candidate's job id, idempotency key,
status, files, seam metrics, the choice). What must never happen twice — a paid submit — is guarded
twice over: by the jobs journal (SQLite, in the same directory) and by the idempotency keys, which are
derived from the request itself, so a re-run sends the same key even if the manifest write was lost.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ltxkit.errors import InputError
from ltxkit.fsutil import write_json_atomic

MANIFEST = "run.json"
VERSION = 1


@dataclass
class RunDir:
    path: Path
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def manifest(self) -> Path:
        return self.path / MANIFEST

    def save(self) -> None:
        write_json_atomic(self.manifest, self.data, private=True)  # output URLs may be signed, as in the journal

    def segment_dir(self, index: int) -> Path:
        return self.path / f"segment-{index + 1:02d}"


def open_run(path: Path, spec: dict[str, Any], *, resume: bool) -> RunDir:
    """Start a run in ``path`` or, with ``resume``, continue the one there (same parameters only).

    Refuses before anything is written: an existing run without ``--resume`` (it would be silently
    mixed with the new one), a manifest made for other parameters, or a path that is a file.
    """
    if path.exists() and not path.is_dir():
        raise InputError(f"-o {path}: exists and is not a directory")
    run = RunDir(path)
    if run.manifest.exists():
        if not resume:
            raise InputError(f"{path} already holds a run; pass --resume to continue it, or choose a new -o")
        try:
            data = json.loads(run.manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"{run.manifest}: unreadable manifest ({exc})") from exc
        if data.get("spec") != spec:
            changed = sorted(k for k in {*spec, *data.get("spec", {})} if spec.get(k) != data.get("spec", {}).get(k))
            raise InputError(f"{path} holds a run with other parameters ({', '.join(changed)}); "
                             "resume with the same ones, or choose a new -o")
        run.data = data
        return run
    path.mkdir(parents=True, exist_ok=True)
    run.data = {"version": VERSION, "spec": spec, "segments": [], "result": None}
    run.save()
    return run
