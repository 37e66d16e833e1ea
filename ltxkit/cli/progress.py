"""How the CLI shows :mod:`ltxkit.progress`: live rich bars on a terminal, one line per state change when
stderr is a file or a pipe (a log stays readable), nothing under ``--json``. Always on stderr."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from ltxkit.progress import Progress, Update, reporting


def _amount(update: Update) -> str:
    if update.done is None or update.total is None:
        return ""
    if update.unit == "bytes":
        return f"{update.done / 1e6:.1f}/{update.total / 1e6:.1f} MB"
    if update.unit == "%":
        return f"{update.done:.0f}%"
    return f"{update.done:.0f}/{update.total:.0f} {update.unit}"


class LineProgress:
    """One line per task and state (``ltxkit: render extended.mp4: rendering``), never per frame."""

    def __init__(self) -> None:
        self._states: dict[str, str] = {}

    def __call__(self, update: Update) -> None:
        if self._states.get(update.task) != update.state:
            self._states[update.task] = update.state
            click.echo(f"ltxkit: {update.task}: {update.state}", err=True)

    def close(self) -> None:
        """Lines are written as they come: nothing is pending."""


class TerminalProgress:
    """A rich row per task: its state, a bar when the total is known, the amount and the time elapsed."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as RichProgress

        self._bar = RichProgress(SpinnerColumn(), TextColumn("{task.description}"),
                                 TextColumn("[bold]{task.fields[state]}"), BarColumn(),
                                 TextColumn("{task.fields[amount]}"), TimeElapsedColumn(),
                                 console=Console(stderr=True), transient=False)
        self._rows: dict[str, Any] = {}

    def __call__(self, update: Update) -> None:
        state, amount = update.state, _amount(update)
        row = self._rows.get(update.task)
        if row is None:
            if not self._rows:
                self._bar.start()
            row = self._rows[update.task] = self._bar.add_task(update.task, total=None, state=state, amount=amount)
        self._bar.update(row, completed=update.done or 0, total=update.total, state=state, amount=amount)
        if update.state in ("done", "downloaded", "failed"):
            self._bar.stop_task(row)  # its elapsed time stops here

    def close(self) -> None:
        if self._rows:
            self._bar.stop()


@contextmanager
def show_progress(as_json: bool) -> Iterator[None]:
    """Show the progress of the work in the block on stderr the way the user can read it."""
    sink: LineProgress | TerminalProgress | None = None
    if not as_json:
        sink = TerminalProgress() if sys.stderr.isatty() else LineProgress()
    chosen: Progress | None = sink
    try:
        with reporting(chosen):
            yield
    finally:
        if sink is not None:
            sink.close()
