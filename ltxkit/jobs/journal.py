"""The jobs journal: a small SQLite file that makes ``submit --wait --download`` safe to kill and re-run.

For every idempotency key it records the task, a hash of the canonical input, the job id once the
server has answered, the last status (raw word and mapped state), the output URLs and which outputs
were downloaded where. A re-run of the same command derives the same key, finds the row and:

* has a job id → never POSTs again, only polls and downloads what is missing;
* has no job id (killed between POST and answer) → POSTs again with the *same* key, which the server
  deduplicates, so there is still only one paid job.

Each state change is one transaction (WAL mode). ``synchronous=NORMAL`` keeps every committed change
across a killed process; only a power cut can lose the last commits, and losing a job id is covered by
the idempotency key. Neither the API key nor any header is ever written here.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ltxkit.errors import InputError
from ltxkit.jobs.localdb import open_local
from ltxkit.jobs.wire import Job

FILENAME = "ltxkit-jobs.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    row INTEGER PRIMARY KEY,
    idempotency_key TEXT,
    provider TEXT NOT NULL,  -- the provider's name @ a fingerprint of its base URL and account
    task TEXT,
    input_hash TEXT,
    job_id TEXT,
    state TEXT NOT NULL,
    raw_status TEXT,
    error TEXT,
    outputs TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL,
    submitted_at TEXT,
    updated_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX IF NOT EXISTS jobs_by_id ON jobs (provider, job_id);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_by_key ON jobs (provider, idempotency_key);
CREATE TABLE IF NOT EXISTS downloads (
    row INTEGER NOT NULL REFERENCES jobs(row),
    idx INTEGER NOT NULL,
    directory TEXT NOT NULL,
    url TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER,
    state TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (row, idx, directory)
);
"""
_TABLES = {"jobs": frozenset({"idempotency_key", "job_id", "provider"}), "downloads": frozenset()}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class DownloadRecord:
    index: int
    url: str
    path: Path
    size: int | None
    state: str  # "pending" (target chosen, maybe a .part on disk) or "done"


@dataclass(frozen=True)
class JournalEntry:
    """One journal row. ``state``: ``pending`` (no job id yet), ``running``, ``done`` or ``failed``."""

    row: int
    idempotency_key: str | None
    provider: str
    task: str | None
    input_hash: str | None
    job_id: str | None
    state: str
    raw_status: str | None
    error: str | None
    outputs: tuple[str, ...]
    downloads: tuple[DownloadRecord, ...]
    created_at: str
    submitted_at: str | None
    updated_at: str
    finished_at: str | None

    @property
    def files(self) -> tuple[Path, ...]:
        return tuple(d.path for d in self.downloads if d.state == "done")

    def to_json(self) -> dict[str, Any]:
        return {
            "jobId": self.job_id, "status": self.state, "rawStatus": self.raw_status, "error": self.error,
            "task": self.task, "idempotencyKey": self.idempotency_key, "inputHash": self.input_hash,
            "outputs": list(self.outputs), "files": [str(p) for p in self.files],
            "createdAt": self.created_at, "submittedAt": self.submitted_at, "updatedAt": self.updated_at,
            "finishedAt": self.finished_at,
        }


class Journal:
    """The journal file; one connection, used from one thread (the async face runs it on its loop)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._db = open_local(self.path, name="jobs journal", hint="choose another --state directory",
                              tables=_TABLES, schema=_SCHEMA, private=True)  # output URLs may be signed

    @classmethod
    def in_dir(cls, directory: Path | str | None = None) -> Journal:
        """``DIR/ltxkit-jobs.sqlite`` (``--state DIR``), by default in the working directory."""
        return cls(Path(directory or ".") / FILENAME)

    @classmethod
    def check_dir(cls, directory: Path) -> None:
        """Refuse a journal in ``directory`` that is not ltxkit's before a workflow writes anything there."""
        if (directory / FILENAME).exists():
            cls.in_dir(directory).close()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # ---- reading ------------------------------------------------------------------------------------

    def _record(self, row: sqlite3.Row | None) -> JournalEntry | None:
        if row is None:
            return None
        downloads = tuple(
            DownloadRecord(d["idx"], d["url"], Path(d["path"]), d["size"], d["state"])
            for d in self._db.execute("SELECT * FROM downloads WHERE row = ? ORDER BY idx, directory", (row["row"],))
        )
        return JournalEntry(row["row"], row["idempotency_key"], row["provider"], row["task"], row["input_hash"],
                         row["job_id"], row["state"], row["raw_status"], row["error"],
                         tuple(json.loads(row["outputs"])), downloads, row["created_at"], row["submitted_at"],
                         row["updated_at"], row["finished_at"])

    def get(self, row: int) -> JournalEntry:
        record = self._record(self._db.execute("SELECT * FROM jobs WHERE row = ?", (row,)).fetchone())
        if record is None:
            raise KeyError(row)
        return record

    def find(self, *, key: str | None = None, job_id: str | None = None,
             provider: str = "media-jobs") -> JournalEntry | None:
        if key is not None:
            cur = self._db.execute("SELECT * FROM jobs WHERE provider = ? AND idempotency_key = ?", (provider, key))
        else:  # a job may have a row from `submit` and one from an earlier `wait ID`: prefer the first
            cur = self._db.execute("SELECT * FROM jobs WHERE provider = ? AND job_id = ? "
                                   "ORDER BY idempotency_key IS NULL, row LIMIT 1", (provider, job_id))
        return self._record(cur.fetchone())

    def records(self) -> list[JournalEntry]:
        rows = self._db.execute("SELECT * FROM jobs ORDER BY row").fetchall()
        return [r for r in map(self._record, rows) if r is not None]

    # ---- state changes (one transaction each) -------------------------------------------------------

    def begin(self, key: str, task: str, input_hash: str, provider: str = "media-jobs") -> JournalEntry:
        """The row for ``key``, created if new. A key already used for another input is refused:
        sending it would make the server return (and bill) the other job."""
        with self._tx() as db:
            select = "SELECT * FROM jobs WHERE provider = ? AND idempotency_key = ?"
            row = db.execute(select, (provider, key)).fetchone()
            if row is None:
                now = _now()
                db.execute("INSERT INTO jobs (idempotency_key, provider, task, input_hash, state, created_at, "
                           "updated_at) VALUES (?, ?, ?, ?, 'pending', ?, ?)",
                           (key, provider, task, input_hash, now, now))
                row = db.execute(select, (provider, key)).fetchone()
            elif (row["task"], row["input_hash"]) != (task, input_hash):
                raise InputError(f"idempotency key {key!r} was already used for a different {row['task']} input "
                                 f"(job {row['job_id'] or 'not yet acknowledged'}); choose another "
                                 f"--idempotency-key")
        record = self._record(row)
        assert record is not None
        return record

    def adopt(self, job_id: str, provider: str = "media-jobs") -> JournalEntry:
        """The row for a job submitted elsewhere (``ltxkit jobs wait ID``), created if unknown."""
        now = _now()
        with self._tx() as db:
            known = db.execute("SELECT 1 FROM jobs WHERE provider = ? AND job_id = ?", (provider, job_id)).fetchone()
            if known is None:
                db.execute("INSERT INTO jobs (provider, job_id, state, created_at, updated_at) "
                           "VALUES (?, ?, 'running', ?, ?)", (provider, job_id, now, now))
        record = self.find(job_id=job_id, provider=provider)
        assert record is not None
        return record

    def record_job(self, row: int, job: Job) -> JournalEntry:
        """Store what the server last said about the row's job (id, status, outputs, error)."""
        now = _now()
        with self._tx() as db:
            db.execute(
                "UPDATE jobs SET job_id = ?, state = ?, raw_status = ?, error = ?, "
                "outputs = CASE WHEN ? = '[]' THEN outputs ELSE ? END, updated_at = ?, "
                "submitted_at = COALESCE(submitted_at, ?), "
                "finished_at = CASE WHEN ? IN ('done', 'failed') THEN COALESCE(finished_at, ?) END "
                "WHERE row = ?",
                (job.id, job.state, job.raw_status, job.error, json.dumps(list(job.outputs)),
                 json.dumps(list(job.outputs)), now, now, job.state, now, row))
        return self.get(row)

    def claim_download(self, row: int, index: int, url: str, directory: Path,
                       choose: Callable[[Path, list[Path]], Path]) -> DownloadRecord:
        """The target file for output ``index`` in ``directory``: the one chosen before (so a re-run
        resumes its ``.part``), or a new one from ``choose(directory, paths_already_claimed_there)``."""
        key = str(directory.resolve())
        with self._tx() as db:
            found = db.execute("SELECT * FROM downloads WHERE row = ? AND idx = ? AND directory = ?",
                               (row, index, key)).fetchone()
            if found is None:
                claimed = [Path(r["path"]) for r in
                           db.execute("SELECT path FROM downloads WHERE directory = ?", (key,))]
                path = choose(directory, claimed).resolve()
                db.execute("INSERT INTO downloads (row, idx, directory, url, path, state, updated_at) "
                           "VALUES (?, ?, ?, ?, ?, 'pending', ?)", (row, index, key, url, str(path), _now()))
                return DownloadRecord(index, url, path, None, "pending")
        return DownloadRecord(found["idx"], found["url"], Path(found["path"]), found["size"], found["state"])

    def record_download(self, row: int, index: int, directory: Path, size: int) -> None:
        with self._tx() as db:
            db.execute("UPDATE downloads SET state = 'done', size = ?, updated_at = ? "
                       "WHERE row = ? AND idx = ? AND directory = ?",
                       (size, _now(), row, index, str(directory.resolve())))
