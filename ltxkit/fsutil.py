"""Atomic file output: a reader never sees a half-written file under its final name."""

from __future__ import annotations

import contextlib
import json
import os
import re
import uuid
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

PART = ".part"
_STAGED = re.compile(r"\.(.+)\.[0-9a-f]{12}" + re.escape(PART) + r"(\.[^.]*)?")


def final_name(path: Path) -> str:
    """The name ``path`` will have once :func:`atomic_path` renames it (its own name otherwise): what a
    user is told about, never the temporary."""
    match = _STAGED.fullmatch(path.name)
    return match[1] + (match[2] or "") if match else path.name


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it over ``target`` only if the block succeeds.

    The temporary ends with ``.part`` plus the target's extension (encoders pick the container from
    it); on any error it is removed, so failed runs leave nothing behind.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    # a fresh unique name, not mkstemp: the writer creates the file, so it gets the usual umask mode
    tmp = target.with_name(f".{target.stem}.{uuid.uuid4().hex[:12]}{PART}{target.suffix}")
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def json_default(value: object) -> object:
    """JSON for the toolkit's exact types: a Fraction as a float (exact values travel as strings too)."""
    if isinstance(value, Fraction):
        return float(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_json_atomic(target: Path, data: Any, *, private: bool = False) -> None:
    """Write JSON (sorted, indented) via :func:`atomic_path` and fsync, for manifests that resume runs.

    ``private`` makes the file owner-only (0600), for manifests holding possibly signed output URLs.
    """
    with atomic_path(target) as tmp, tmp.open("w", encoding="utf-8") as fh:
        if private:
            os.chmod(tmp, 0o600)
        json.dump(data, fh, indent=2, sort_keys=True, default=json_default)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
