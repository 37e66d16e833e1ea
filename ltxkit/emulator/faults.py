"""Fault injection: the failures a media-jobs client must survive, on demand and counted.

Syntax (``ltxkit serve --faults SPEC``, ``EmulatorConfig(faults=SPEC)`` or the per-request header
``X-Emulator-Faults: SPEC``)::

    SPEC  := ITEM ("," ITEM)*
    ITEM  := NAME | NAME "=" COUNT | "retry-after=" SECONDS | "tag=" TEXT
    COUNT := a positive whole number, or "*" for every occurrence (a bare NAME means 1)

Fault names (each occurrence consumes one count):

``reset``        reset the TCP connection (RST) before answering; nothing happens server-side.
``429``          answer 429 with ``Retry-After``; nothing happens server-side.
``503``          answer 503 with ``Retry-After``; nothing happens server-side.
``404``          answer a status poll (any ``GET`` but a file download or health) 404 "job not found":
                 the job exists, the API's read side has not caught up yet (eventual consistency).
``drop-create``  on a successful ``POST /api/v1/media/jobs`` (a new job or an idempotent replay), close
                 the connection without answering: the job exists and was charged.
``hold-create``  on a successful create (new job or replay), hold the answer back until the client
                 hangs up (at most :data:`HOLD_SECONDS`): the job exists, the client never hears so.
``truncate``     on a file download, send the full ``Content-Length`` but close after half the bytes.
``stall``        on a file download, send the full ``Content-Length`` and half the bytes, then nothing
                 until the client hangs up (at most :data:`HOLD_SECONDS`, then close).
``fail-job``     the next created job ends ``failed`` (and is refunded) instead of ``completed``.
``odd-status``   the next created job reports the undocumented words ``rendering`` then ``finalizing``
                 instead of ``running``.

``reset``/``429``/``503`` apply to every request but ``GET /api/v1/health`` (including file downloads),
checked in that order, then ``404``. ``retry-after`` sets the ``Retry-After`` seconds (default 1); ``tag`` is ignored
and only makes a header value unique.

Server-wide faults (``--faults``) are consumed by requests without the header. A request carrying the
header draws from a budget of its own, created the first time that exact header value is seen and
consumed only by requests carrying the same value: a client retrying with the same headers sees exactly
the counted faults (``429=2`` → two 429s, then success), and concurrent tests do not disturb each other.
Add ``tag=...`` to start a fresh budget with otherwise identical faults. Only requests with a known key
get a header budget (a stranger's header is ignored), and only the :data:`MAX_HEADER_BUDGETS` most
recently used values are remembered, so distinct values cannot grow the emulator's memory.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from ltxkit.errors import InputError

# interp-*: the job interpolates in that convention instead of the server's (ltxkit.timing.CONVENTIONS)
INTERPOLATION_FAULTS = {"interp-2F-1": "2F-1", "interp-2F": "2F", "interp-2F+1": "2F+1"}
FAULTS = ("reset", "429", "503", "404", "drop-create", "hold-create", "truncate", "stall", "fail-job", "odd-status",
          *INTERPOLATION_FAULTS)
HEADER = "x-emulator-faults"
DEFAULT_RETRY_AFTER = 1
MAX_HEADER_BUDGETS = 1024
HOLD_SECONDS = 60.0  # how long hold-create / stall keep a client waiting at most


@dataclass(frozen=True)
class FaultPlan:
    """A parsed SPEC: remaining counts per fault (``None`` = unlimited) and the Retry-After value."""

    counts: dict[str, int | None] = field(default_factory=dict)
    retry_after: int = DEFAULT_RETRY_AFTER


def parse_faults(spec: str | None) -> FaultPlan:
    """Parse a fault SPEC; raise :class:`InputError` naming the bad item."""
    counts: dict[str, int | None] = {}
    retry_after = DEFAULT_RETRY_AFTER
    for raw in (spec or "").split(","):
        item = raw.strip()
        if not item:
            continue
        name, _, value = (part.strip() for part in item.partition("="))
        if name == "tag":
            continue
        if name == "retry-after":
            if not value.isdigit():
                raise InputError(f"faults: retry-after needs whole seconds, got {item!r}")
            retry_after = int(value)
            continue
        if name not in FAULTS:
            raise InputError(f"faults: unknown fault {name!r}; known: {', '.join(FAULTS)}, retry-after, tag")
        if value == "*":
            counts[name] = None
        elif not value or (value.isdigit() and int(value) > 0):
            counts[name] = int(value) if value else 1
        else:
            raise InputError(f"faults: {name} count must be a positive whole number or '*', got {value!r}")
    return FaultPlan(counts=counts, retry_after=retry_after)


class FaultBudget:
    """Counts left for one plan. Only touched from the server's event loop, so no lock."""

    def __init__(self, plan: FaultPlan) -> None:
        self._counts = dict(plan.counts)
        self.retry_after = plan.retry_after

    def take(self, name: str) -> bool:
        """Consume one occurrence of ``name`` if any is left."""
        if name not in self._counts:
            return False
        left = self._counts[name]
        if left is not None:
            if left <= 1:
                del self._counts[name]
            else:
                self._counts[name] = left - 1
        return True

    def remaining(self) -> dict[str, int | None]:
        return dict(self._counts)


class FaultBook:
    """The server-wide budget plus one budget per distinct ``X-Emulator-Faults`` header value."""

    def __init__(self, spec: str | None, max_budgets: int = MAX_HEADER_BUDGETS) -> None:
        self.server = FaultBudget(parse_faults(spec))
        self.max_budgets = max_budgets
        self._by_header: OrderedDict[str, FaultBudget] = OrderedDict()

    def __len__(self) -> int:
        return len(self._by_header)

    def budget_for(self, header_value: str | None) -> FaultBudget:
        """The budget a request draws from; raises :class:`InputError` for a malformed header. The least
        recently used header budget is forgotten once there are ``max_budgets``."""
        if header_value is None:
            return self.server
        budget = self._by_header.get(header_value)
        if budget is None:
            budget = self._by_header[header_value] = FaultBudget(parse_faults(header_value))
            while len(self._by_header) > self.max_budgets:
                self._by_header.popitem(last=False)
        else:
            self._by_header.move_to_end(header_value)
        return budget
