"""``ltxkit review``: the run in a browser, to compare the candidates at their seams and pick one."""

from __future__ import annotations

from pathlib import Path

import click

from ltxkit.cli._output import log


@click.command("review")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address to serve on.")
@click.option("--port", type=click.IntRange(0, 65535), default=0, help="Port (default: any free one).")
@click.option("--no-open", is_flag=True, help="Do not open a browser; just print the address.")
def review_cmd(run_dir: Path, host: str, port: int, no_open: bool) -> None:
    """Review RUN_DIR (from 'ltxkit extend -o' or 'ltxkit demo -o') in a browser until Ctrl-C.

    Every candidate plays at its seam, in sync with the others; 'Use this take' writes the choice into
    run.json and re-splices extended.mp4 and the report.
    """
    from ltxkit.workflow.review_server import ReviewServer, serve_forever

    server = ReviewServer(run_dir, host=host, port=port, log=log)

    def ready(url: str) -> None:
        click.echo(url)
        log(f"ltxkit review: serving {run_dir} on {url}; Ctrl-C stops")
        if not no_open:
            import webbrowser

            webbrowser.open(url)

    serve_forever(server, ready)
