"""The SQLite files ltxkit keeps for the user (the jobs journal, the price book), opened one way.

Both must survive a crash (WAL, one transaction per change) and both must never touch a file ltxkit did
not make: an existing file is checked for ltxkit's tables *before* the first write.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Mapping
from pathlib import Path

from ltxkit.errors import InputError


def open_local(path: Path, *, name: str, hint: str, tables: Mapping[str, frozenset[str]], schema: str,
               private: bool = False, any_thread: bool = False) -> sqlite3.Connection:
    """A connection to ltxkit's ``name`` at ``path``, made with ``schema``; :class:`InputError` ending in
    ``hint`` when it cannot be opened or used, or is another program's file. ``tables`` names the columns
    each of ours must have (an empty file, a crash before the first table, is taken over). ``private``: a
    new file is the user's only (it may hold signed URLs). ``any_thread``: used from one thread at a time,
    but not always the one that opened it (extend hands its work to a worker thread inside a running loop)."""
    if path.exists() and not path.is_file():
        raise InputError(f"{name} {path} is not a file; {hint}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not path.exists()
        db = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=not any_thread)
    except (OSError, sqlite3.Error) as exc:
        raise InputError(f"{name} {path}: cannot be opened ({exc}); {hint}") from exc
    db.row_factory = sqlite3.Row
    try:
        found = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if found and not all(t in found and {r["name"] for r in db.execute(f"PRAGMA table_info({t})")} >= columns
                             for t, columns in tables.items()):
            raise InputError(f"{path} is not an ltxkit {name} (tables: {', '.join(sorted(found))}); {hint}")
        if fresh and private:
            os.chmod(path, 0o600)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        db.executescript(schema)
    except (sqlite3.Error, InputError) as exc:
        db.close()
        if isinstance(exc, InputError):
            raise
        raise InputError(f"{name} {path}: cannot be used ({exc}); {hint}") from exc
    return db
