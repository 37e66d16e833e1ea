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


class ProviderOption(click.Option):
    """``--provider``: ``{providers}`` in its help names the registered ones, looked up only when help is
    shown (the registry loads the HTTP stack), so a new provider module is listed without editing the CLI."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.template = self.help or ""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        from ltxkit.jobs.providers import PROVIDERS

        *others, last = PROVIDERS
        self.help = self.template.replace("{providers}", f"{', '.join(others)} or {last}")
        return super().get_help_record(ctx)


class Number(click.ParamType[float]):
    """A finite float option within bounds (:func:`ltxkit.timing.parse_number`): click's FloatRange lets
    ``nan`` through every bound and ``inf`` past an open one."""

    name = "number"

    def __init__(self, minimum: float | None = None, maximum: float | None = None) -> None:
        self.minimum, self.maximum = minimum, maximum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        from ltxkit.errors import InputError
        from ltxkit.timing import parse_number

        flag = param.opts[0] if param is not None and param.opts else "value"
        try:
            return parse_number(value, name=flag, minimum=self.minimum, maximum=self.maximum)
        except InputError as exc:
            self.fail(str(exc).removeprefix(f"{flag} "), param, ctx)
