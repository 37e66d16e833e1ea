"""Progress of long work (renders, job waits, downloads), told to whoever listens.

The library only *reports* (:func:`report`); the CLI decides how to show it (a rich display on a
terminal, one line per state change otherwise, nothing under ``--json``) by installing a sink with
:func:`reporting`. The sink is a context variable, not a parameter threaded through every layer, so a
render deep inside ``extend`` reports without its callers knowing, and the default is silence.
:func:`task` names the work below it: a job's wait and download report as the candidate they make.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Update:
    """One report: ``task`` is in ``state`` (``rendering``, ``queued``, ``running``, ``downloading``,
    ``done``, ``failed`` …), ``done`` of ``total`` ``unit`` so far when that is known."""

    task: str
    state: str
    done: float | None = None
    total: float | None = None
    unit: str = ""


class Progress(Protocol):
    def __call__(self, update: Update, /) -> None: ...


_SINK: contextvars.ContextVar[Progress | None] = contextvars.ContextVar("ltxkit_progress_sink", default=None)
_TASK: contextvars.ContextVar[str | None] = contextvars.ContextVar("ltxkit_progress_task", default=None)


def report(task: str, state: str, done: float | None = None, total: float | None = None, unit: str = "") -> None:
    """Tell the sink (if any) where ``task`` is; inside :func:`task` the enclosing name wins."""
    sink = _SINK.get()
    if sink is not None:
        sink(Update(_TASK.get() or task, state, done, total, unit))


@contextmanager
def reporting(sink: Progress | None) -> Iterator[None]:
    """Send the reports made inside the block to ``sink`` (``None``: silence)."""
    token = _SINK.set(sink)
    try:
        yield
    finally:
        _SINK.reset(token)


@contextmanager
def task(name: str) -> Iterator[None]:
    """Report the work inside the block as ``name`` (per asyncio task: each copies its context)."""
    token = _TASK.set(name)
    try:
        yield
    finally:
        _TASK.reset(token)
