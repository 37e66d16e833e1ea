"""Atomic file output: a reader never sees a half-written file under its final name."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

StrPath = str | os.PathLike[str]  # what the public functions take for a path (``Path(p)`` inside)


def optional_path(path: StrPath | None) -> Path | None:
    return None if path is None else Path(path)


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
    tmp = _temporary(target)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def scratch_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target`` (named as :func:`atomic_path`'s), removed when the block
    ends however it ends: an intermediate file that a crash leaves recognisable as stale."""
    tmp = _temporary(target)
    try:
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


def _temporary(target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    # a fresh unique name, not mkstemp, so it gets the usual umask mode; made empty here so that a
    # read-only or locked directory fails now with its errno (EROFS, EACCES), not deep inside an encoder
    # that reports only "System error"; writers truncate it
    tmp = target.with_name(f".{target.stem}.{uuid.uuid4().hex[:12]}{PART}{target.suffix}")
    tmp.open("xb").close()
    return tmp


def temp_dir_beside(target: Path) -> Path:
    """A fresh directory beside ``target`` to build a tree in before moving it in (named like atomic_path's
    temporaries, so :func:`remove_stale_temporaries` recognises it after a crash)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}{PART}")
    tmp.mkdir()
    return tmp


def remove_stale_temporaries(root: Path) -> list[Path]:
    """Remove the temporaries a killed writer left under ``root`` (a finished write leaves none); returns them.

    Only names made by :func:`atomic_path` / :func:`temp_dir_beside` match, so resumable downloads
    (``name.part``) and the user's own files are kept. Call it only on a tree this process owns alone.
    """
    stale = sorted((p for p in root.rglob(".*.part*") if _STAGED.fullmatch(p.name)), reverse=True)
    for path in stale:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return stale


def same_file(a: Path, b: Path) -> bool:
    """Is ``a`` the file ``b``, through symlinks and hard links? Writing to one would destroy the other."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): the same only if both name the same place
        return a.resolve() == b.resolve()


def within(path: Path, tree: Path) -> bool:
    """``path`` is ``tree`` or lies under it, symlinks resolved (replacing ``tree`` would take ``path``)."""
    p, t = path.resolve(), tree.resolve()
    return p == t or t in p.parents


def write_failure_hint(path: Path) -> str:
    """Why a write under ``path`` probably failed, for libraries that lose the errno (libsndfile's "System
    error"): the disk is full, or a file-size limit (``ulimit -f``) stopped it; empty if neither."""
    import resource

    try:
        if shutil.disk_usage(path.parent).free < 1 << 20:
            return f"; the disk holding {path.parent} is full"
    except OSError:
        return ""
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    return "" if limit == resource.RLIM_INFINITY else f"; files are limited to {limit} bytes (ulimit -f)"


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
