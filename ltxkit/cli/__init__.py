"""The ``ltxkit`` command: a lazy click group, so ``ltxkit timing check`` never imports the HTTP stack.

Every subcommand is thin: parse, call one library function, print. Errors derived from
:class:`~ltxkit.errors.LtxkitError` become one line on stderr and their exit code (2 for bad input).
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from ltxkit import __version__
from ltxkit.errors import LtxkitError

# command name -> "module:attribute"; each module owns one area of the toolkit.
COMMANDS = {
    "probe": "ltxkit.cli.media:probe_cmd",
    "frames": "ltxkit.cli.media:frames",
    "timing": "ltxkit.cli.media:timing",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attr = target.split(":")
        command = getattr(importlib.import_module(module), attr)
        assert isinstance(command, click.Command)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LtxkitError as exc:
            click.echo(f"ltxkit: error: {exc}", err=True)
            sys.exit(exc.exit_code)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ltxkit")
def main() -> None:
    """Extend video clips with LTX-style generation and join them without visible seams."""
