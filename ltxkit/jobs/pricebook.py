"""The price book: what each kind of job was billed, remembered locally, so the next estimate comes
*before* any submit.

Every billing answer (the media-jobs submit's ``billing.chargedUsd``, ZOOOP's ``creditsCharged``…) is
recorded under a :class:`PriceKey`: task, sampled frames, output pixels, reference audio or not,
``extremeQuality``, provider and server (its base URL without credentials). An estimate is the latest
price of the same key; failing that, the price of the nearest record of the same task, provider,
server, audio and quality, scaled by sampled frames × output megapixels (the document says the price
scales with both); with no such record the price is unknown, and the caller says so.

The book is one SQLite file (``$LTXKIT_PRICE_BOOK``, else ``$XDG_DATA_HOME/ltxkit/prices.sqlite``,
``~/.local/share`` by default): each record is one transaction in WAL mode, so a killed process loses
nothing it recorded, and a file that is not a price book is refused, never written.
"""

from __future__ import annotations

import math
import os
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from ltxkit.fsutil import StrPath
from ltxkit.jobs.localdb import open_local

if TYPE_CHECKING:
    from ltxkit.jobs.models import JobRequest
    from ltxkit.jobs.wire import Job

ENV = "LTXKIT_PRICE_BOOK"
USD = "USD"
CENT = Decimal("0.01")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS prices (
    provider TEXT NOT NULL,
    server TEXT NOT NULL,
    task TEXT NOT NULL,
    frames INTEGER,
    pixels INTEGER,
    audio INTEGER NOT NULL,
    extreme INTEGER NOT NULL,
    amount TEXT NOT NULL,
    unit TEXT NOT NULL,
    job_id TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (provider, server, job_id)
);
"""
_COLUMNS = frozenset({"provider", "server", "task", "frames", "pixels", "audio", "extreme", "amount", "unit",
                      "job_id"})


@dataclass(frozen=True)
class Price:
    """An amount in one provider's money: ``USD``, or its own unit (``credits``, ``allowance videos``)."""

    amount: Decimal
    unit: str = USD

    @classmethod
    def parse(cls, value: object, unit: str = USD) -> Price | None:
        """A JSON number or numeric string as a price (None for anything else, negative or not finite)."""
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            return None
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation:
            return None
        return cls(amount, unit) if amount.is_finite() and amount >= 0 else None

    def __str__(self) -> str:
        if self.unit == USD:
            return f"${self.amount.quantize(CENT, rounding=ROUND_CEILING)}"
        return f"{self.amount.normalize():f} {self.unit}"

    def times(self, count: int | Decimal) -> Price:
        return Price(self.amount * count, self.unit)


def server_of(base_url: str) -> str:
    """The server part of a base URL, as the book keys it: no user, password, query or fragment."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


@dataclass(frozen=True)
class PriceKey:
    """What a video job's price depends on (the media-jobs document: sampled frames, output resolution,
    reference audio, ``extremeQuality``), and where it was billed."""

    task: str
    frames: int | None
    pixels: int | None  # output width × height
    audio: bool
    extreme: bool
    provider: str
    server: str

    @classmethod
    def for_input(cls, provider: str, base_url: str, task: str, input_: Mapping[str, Any]) -> PriceKey:
        """The key of a media-jobs style input (``durationFrames``, ``width``/``height``, ``referenceAudio*``)."""
        frames, width, height = (input_.get(k) for k in ("durationFrames", "width", "height"))
        audio = any(input_.get(k) is not None for k in ("referenceAudio", "referenceAudioUrl"))
        return cls(task, frames if isinstance(frames, int) else None,
                   width * height if isinstance(width, int) and isinstance(height, int) else None,
                   audio, input_.get("extremeQuality") is True, provider, server_of(base_url))

    def describe(self) -> str:
        parts = [self.task]
        if self.frames is not None:
            parts.append(f"{self.frames} frames")
        if self.pixels is not None:
            parts.append(f"{self.pixels / 1e6:.2f} MP")
        parts += [w for w, on in (("reference audio", self.audio), ("extremeQuality", self.extreme)) if on]
        return ", ".join(parts)


@dataclass(frozen=True)
class PriceEstimate:
    """A price before submitting, and how it was found (said to the user with it)."""

    price: Price | None
    basis: str  # "billed for the same job on …", "zooop's quote", "documented", or why it is unknown
    fixed: bool = False  # a quote or a documented price: what the submit is billed, said or not

    @property
    def known(self) -> bool:
        return self.price is not None


def default_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get(ENV):
        return Path(env[ENV])
    data = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "ltxkit" / "prices.sqlite"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class PriceBook:
    """The price book file (see the module docstring); ``PriceBook()`` opens the default one."""

    def __init__(self, path: StrPath | None = None) -> None:
        self.path = default_path() if path is None else Path(path)
        self._db = open_local(self.path, name="price book", hint=f"set {ENV} to another path",
                              tables={"prices": _COLUMNS}, schema=_SCHEMA, any_thread=True)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> PriceBook:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def record(self, key: PriceKey, price: Price, job_id: str) -> None:
        """Remember one billing answer (a job billed twice over, e.g. a replayed submit, is one record)."""
        self._db.execute(
            "INSERT OR REPLACE INTO prices VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (key.provider, key.server, key.task, key.frames, key.pixels, int(key.audio), int(key.extreme),
             str(price.amount), price.unit, job_id, _now()))

    def records(self) -> list[tuple[PriceKey, Price, str]]:
        rows = self._db.execute("SELECT * FROM prices ORDER BY recorded_at, rowid").fetchall()
        return [(self._key(r), Price(Decimal(r["amount"]), r["unit"]), r["job_id"]) for r in rows]

    @staticmethod
    def _key(row: sqlite3.Row) -> PriceKey:
        return PriceKey(row["task"], row["frames"], row["pixels"], bool(row["audio"]), bool(row["extreme"]),
                        row["provider"], row["server"])

    def estimate(self, key: PriceKey) -> PriceEstimate:
        """The latest price of ``key``, else the nearest record's scaled per frame × megapixel."""
        rows = self._db.execute(
            "SELECT * FROM prices WHERE provider = ? AND server = ? AND task = ? AND audio = ? AND extreme = ? "
            "ORDER BY recorded_at DESC, rowid DESC",
            (key.provider, key.server, key.task, int(key.audio), int(key.extreme))).fetchall()
        for row in rows:
            if (row["frames"], row["pixels"]) == (key.frames, key.pixels):
                return PriceEstimate(Price(Decimal(row["amount"]), row["unit"]),
                                f"billed for the same job on {row['recorded_at'][:10]}")
        target = _volume(key.frames, key.pixels)
        sized = [(r, v) for r in rows if (v := _volume(r["frames"], r["pixels"]))]
        if target is None or not sized:
            where = f"{key.provider} at {key.server}"
            return PriceEstimate(None, f"unknown: no {key.describe()} job has been billed by {where} yet")
        row, volume = min(sized, key=lambda rv: abs(math.log(rv[1] / target)))
        billed = Price(Decimal(row["amount"]), row["unit"])
        scaled = billed.amount * target / volume
        step = CENT if billed.unit == USD else Decimal(1)
        return PriceEstimate(Price(scaled.quantize(step, rounding=ROUND_CEILING), billed.unit),
                             f"scaled per frame × megapixel from a {row['frames']}-frame "
                             f"{row['pixels'] / 1e6:.2f} MP job billed {billed}")


def _volume(frames: int | None, pixels: int | None) -> int | None:
    """Sampled frames × output pixels: what a video's price scales with."""
    return frames * pixels if frames and pixels else None


@dataclass(frozen=True)
class BillingRecorder:
    """A :class:`~ltxkit.jobs.collect.SubmitGuard` that only remembers what each submit was billed, so a
    job sent with ``ltxkit jobs submit`` prices the next ``extend`` as one of its own candidates would."""

    book: PriceBook
    provider: str
    base_url: str
    charged: Callable[[object], Price | None]  # the provider's reading of a submit answer

    def before_submit(self, request: JobRequest) -> None:
        """Nothing to refuse: the user asked for this one job."""

    def after_submit(self, request: JobRequest, job: Job) -> None:
        price = self.charged(job.payload)
        if price is not None:
            self.book.record(PriceKey.for_input(self.provider, self.base_url, request.task, request.input), price,
                             job.id)
