"""SQLite persistence for the emulator: accounts (balances), jobs and idempotency keys.

A restarted ``ltxkit serve --data DIR`` must still answer for its jobs and must not charge twice for a
key it has already seen, so all three live in ``DIR/emulator.sqlite3`` (stdlib ``sqlite3``, WAL).
Accounts are keyed by a hash of the API key: the key itself is never written anywhere.
Money is stored as exact decimal text.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

DB_NAME = "emulator.sqlite3"
TERMINAL = frozenset({"completed", "failed"})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (account TEXT PRIMARY KEY, balance TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, account TEXT NOT NULL, task TEXT NOT NULL, status TEXT NOT NULL,
    effective TEXT NOT NULL, adjustments TEXT NOT NULL,
    price TEXT NOT NULL, refunded INTEGER NOT NULL DEFAULT 0, faults TEXT NOT NULL,
    outputs TEXT NOT NULL DEFAULT '[]', upstream TEXT, error TEXT, estimated_seconds REAL NOT NULL,
    idempotency_key TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, completed_at TEXT
);
CREATE TABLE IF NOT EXISTS idempotency (
    account TEXT NOT NULL, key TEXT NOT NULL, body_hash TEXT NOT NULL, job_id TEXT NOT NULL,
    PRIMARY KEY (account, key)
);
"""


def account_id(api_key: str) -> str:
    """Stable, non-reversible account id for an API key (what the database stores instead of the key)."""
    return hashlib.sha256(b"ltxkit-emulator:" + api_key.encode()).hexdigest()[:32]


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class InsufficientBalance(Exception):
    def __init__(self, balance: Decimal, required: Decimal) -> None:
        super().__init__(f"balance {balance} < {required}")
        self.balance = balance
        self.required = required


@dataclass
class StoredJob:
    """One job as the emulator's database holds it (the client's own record is ``ltxkit.jobs`` business)."""

    id: str
    account: str
    task: str
    status: str
    effective: dict[str, Any]
    adjustments: list[str]
    price: Decimal
    faults: list[str]
    estimated_seconds: float
    idempotency_key: str | None
    created_at: str
    updated_at: str
    refunded: bool = False
    outputs: list[str] = field(default_factory=list)
    upstream: dict[str, Any] | None = None
    error: str | None = None
    completed_at: str | None = None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL


class Store:
    """All reads and writes of emulator state; every method is one short transaction."""

    def __init__(self, data_dir: Path, starting_balance: Decimal) -> None:
        self.starting_balance = starting_balance
        self._lock = threading.Lock()
        self._db = sqlite3.connect(data_dir / DB_NAME, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _balance(self, account: str) -> Decimal:
        row = self._db.execute("SELECT balance FROM accounts WHERE account = ?", (account,)).fetchone()
        if row is None:
            self._db.execute("INSERT INTO accounts VALUES (?, ?)", (account, str(self.starting_balance)))
            return self.starting_balance
        return Decimal(row["balance"])

    def balance(self, account: str) -> Decimal:
        with self._lock:
            return self._balance(account)

    def find_idempotent(self, account: str, key: str) -> tuple[str, str] | None:
        """``(body_hash, job_id)`` recorded for this account's idempotency key, if any."""
        with self._lock:
            row = self._db.execute("SELECT body_hash, job_id FROM idempotency WHERE account = ? AND key = ?",
                                   (account, key)).fetchone()
        return None if row is None else (row["body_hash"], row["job_id"])

    def create_job(self, job: StoredJob, body_hash: str | None) -> Decimal:
        """Charge ``job.price``, insert the job and its idempotency key atomically; return the new balance."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                balance = self._balance(job.account)
                if balance < job.price:
                    raise InsufficientBalance(balance, job.price)
                balance -= job.price
                self._db.execute("UPDATE accounts SET balance = ? WHERE account = ?", (str(balance), job.account))
                self._db.execute(
                    "INSERT INTO jobs (id, account, task, status, effective, adjustments, price, faults, "
                    "estimated_seconds, idempotency_key, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (job.id, job.account, job.task, job.status, json.dumps(job.effective),
                     json.dumps(job.adjustments), str(job.price), json.dumps(job.faults), job.estimated_seconds,
                     job.idempotency_key, job.created_at, job.updated_at),
                )
                if job.idempotency_key is not None and body_hash is not None:
                    self._db.execute("INSERT INTO idempotency VALUES (?, ?, ?, ?)",
                                     (job.account, job.idempotency_key, body_hash, job.id))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return balance

    def get_job(self, job_id: str) -> StoredJob | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else _record(row)

    def unfinished_jobs(self) -> list[StoredJob]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM jobs WHERE status NOT IN ('completed', 'failed') "
                                    "ORDER BY created_at").fetchall()
        return [_record(r) for r in rows]

    def set_status(self, job: StoredJob, status: str) -> None:
        job.status, job.updated_at = status, utc_now()
        with self._lock:
            self._db.execute("UPDATE jobs SET status = ?, updated_at = ? WHERE id = ?",
                             (status, job.updated_at, job.id))

    def finish(self, job: StoredJob, *, outputs: list[str], upstream: dict[str, Any], error: str | None) -> None:
        """Record the terminal state; a failed job's charge goes back to its account (once)."""
        job.status = "failed" if error is not None else "completed"
        job.outputs, job.upstream, job.error = outputs, upstream, error
        job.updated_at = job.completed_at = utc_now()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                if error is not None and not job.refunded:
                    balance = self._balance(job.account) + job.price
                    self._db.execute("UPDATE accounts SET balance = ? WHERE account = ?", (str(balance), job.account))
                    job.refunded = True
                self._db.execute(
                    "UPDATE jobs SET status = ?, outputs = ?, upstream = ?, error = ?, refunded = ?, updated_at = ?, "
                    "completed_at = ? WHERE id = ?",
                    (job.status, json.dumps(outputs), json.dumps(upstream), error, int(job.refunded), job.updated_at,
                     job.completed_at, job.id),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise


def _record(row: sqlite3.Row) -> StoredJob:
    return StoredJob(
        id=row["id"], account=row["account"], task=row["task"], status=row["status"],
        effective=json.loads(row["effective"]),
        adjustments=json.loads(row["adjustments"]), price=Decimal(row["price"]), faults=json.loads(row["faults"]),
        estimated_seconds=row["estimated_seconds"], idempotency_key=row["idempotency_key"],
        created_at=row["created_at"], updated_at=row["updated_at"], refunded=bool(row["refunded"]),
        outputs=json.loads(row["outputs"]), upstream=None if row["upstream"] is None else json.loads(row["upstream"]),
        error=row["error"], completed_at=row["completed_at"],
    )
