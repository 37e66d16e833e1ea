"""Output conventions shared by every command: results on stdout (JSON with ``--json``), logs on stderr."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from ltxkit.fsutil import json_default

json_option = click.option("--json", "as_json", is_flag=True, help="Print a machine-readable result on stdout.")


def emit(result: dict[str, Any], as_json: bool, human: Callable[[dict[str, Any]], str]) -> None:
    """Print ``result`` as JSON, or as the human text ``human(result)`` returns."""
    if as_json:
        click.echo(json.dumps(result, indent=2, default=json_default))
    else:
        click.echo(human(result))


def log(message: str) -> None:
    """Progress and notes go to stderr so stdout stays clean for ``--json``."""
    click.echo(message, err=True)
