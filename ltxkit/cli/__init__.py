"""The ``ltxkit`` command: a lazy click group, so ``ltxkit timing check`` never imports the HTTP stack.

Every subcommand is thin: parse, call one library function, print. Errors derived from
:class:`~ltxkit.errors.LtxkitError` become one line on stderr and their exit code (2 for bad input).
"""

from __future__ import annotations

import errno
import importlib
import sys
from typing import Any

import click

from ltxkit import __version__
from ltxkit.errors import LtxkitError

_PATH_ERRORS = (FileExistsError, FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)
_PATH_ERRNOS = (errno.ENAMETOOLONG, errno.EROFS)  # an output on a read-only filesystem is the user's to move

# command name -> "module:attribute"; each module owns one area of the toolkit.
COMMANDS = {
    "probe": "ltxkit.cli.media:probe_cmd",
    "frames": "ltxkit.cli.media:frames",
    "timing": "ltxkit.cli.media:timing",
    "jobs": "ltxkit.cli.jobs:jobs",
    "balance": "ltxkit.cli.jobs:balance",
    "health": "ltxkit.cli.jobs:health",
    "audio": "ltxkit.cli.audio:audio",
    "splice": "ltxkit.cli.assembly:splice_cmd",
    "seam": "ltxkit.cli.assembly:seam_cmd",
    "serve": "ltxkit.cli.serve:serve",
    "extend": "ltxkit.cli.workflow:extend_cmd",
    "plan": "ltxkit.cli.workflow:plan_cmd",
    "demo": "ltxkit.cli.workflow:demo_cmd",
    "review": "ltxkit.cli.review:review_cmd",
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

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Run the command; a usage error or an :class:`LtxkitError` is one line on stderr, no traceback."""
        try:
            return super().main(*args, **{**kwargs, "standalone_mode": False})
        except click.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            click.echo(f"ltxkit: error: {exc.format_message()}{hint}", err=True)
            sys.exit(exc.exit_code)
        except LtxkitError as exc:
            click.echo(f"ltxkit: error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except OSError as exc:  # an output path that cannot be made: the user's to fix
            where = f": {exc.filename}" if exc.filename else ""
            click.echo(f"ltxkit: error: {exc.strerror or exc}{where}", err=True)
            sys.exit(2 if isinstance(exc, _PATH_ERRORS) or exc.errno in _PATH_ERRNOS else 1)
        except click.exceptions.Abort:
            click.echo("ltxkit: aborted", err=True)
            sys.exit(1)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ltxkit")
def main() -> None:
    """Extend video clips with LTX-style generation and join them without visible seams."""
