"""``ltxkit serve``: the local emulator of the media-jobs API."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click

from ltxkit.cli._output import Number, json_option, log
from ltxkit.emulator.config import (
    COMBINE_READINGS,
    DEFAULT_BALANCE,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_PHASE_SECONDS,
    DEFAULT_PORT,
    KEY_ENV,
    MONEY_READINGS,
)
from ltxkit.emulator.defects import KINDS as DEFECT_KINDS
from ltxkit.emulator.defects import DefectModel, parse_kinds
from ltxkit.errors import InputError
from ltxkit.timing import CONVENTIONS

MB = 1024 * 1024
MAX_BODY_MB = 64 * 1024  # a body limit the emulator could actually buffer
MAX_PHASE_SECONDS = 24 * 3600

FAULTS_HELP = """\b
Fault SPEC (also the per-request header X-Emulator-Faults):
  NAME[=COUNT],...   COUNT: a positive number or * (a bare NAME is 1)
  reset        reset the TCP connection before answering
  429 / 503    answer 429 / 503 with Retry-After
  drop-create  create the job, then close without answering
  hold-create  create the job, answer nothing until the client hangs up
  truncate     send Content-Length, close after half the bytes
  stall        send Content-Length and half the bytes, then nothing until the client hangs up
  fail-job     the next job ends "failed" (refunded)
  odd-status   the next job reports "rendering", "finalizing"
  interp-2F / interp-2F+1 / interp-2F-1  the next video.generate interpolates that way
  retry-after=S  Retry-After seconds (default 1); tag=X  ignored
\b
Example: --faults 'drop-create=1,429=2,503=3,reset=1,truncate=1,fail-job=1,odd-status'
"""


def _balance(value: str) -> Decimal:
    try:
        amount = Decimal(value)
    except InvalidOperation as exc:
        raise InputError(f"--balance must be an amount in USD like 25.00, got {value!r}") from exc
    if not amount.is_finite() or amount < 0:
        raise InputError(f"--balance must be ≥ 0, got {value!r}")
    return amount


@click.command("serve", epilog=FAULTS_HELP)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback by default).")
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True,
              help="0 picks a free port.")
@click.option("--key", "keys", multiple=True, envvar=KEY_ENV, show_envvar=True,
              help="Accepted API key (repeatable). Without one a key is generated and printed once.")
@click.option("--data", "data_dir", type=click.Path(path_type=Path, file_okay=False),
              help="Directory for jobs, balances and outputs (kept across restarts). Default: a temporary "
                   "directory removed on exit.")
@click.option("--faults", default="", help="Faults to inject, see below.")
@click.option("--interpolation", type=click.Choice(CONVENTIONS), default="2F-1", show_default=True,
              help="Frames of an interpolated clip of F samples: 2F-1 fills between samples (RIFE), 2F keeps "
                   "the duration, 2F+1 repeats the last sample twice (ffmpeg framerate).")
@click.option("--combine-reading", type=click.Choice(COMBINE_READINGS), default="frames", show_default=True,
              help="What video.combine's overlapFrames counts: frames at frameRate (the interpolated rate, "
                   "as in the API document's example) or the clips' sampled frames.")
@click.option("--money-reading", type=click.Choice(MONEY_READINGS), default="cents", show_default=True,
              help="How the balance and the submits' billing say amounts (the API document names no fields): "
                   "cents (balance.usdCents, billing.chargedCents) or dollars (balanceUsd, billing.chargedUsd).")
@click.option("--defects", type=Number(0, 1), default=0, show_default=True,
              help="Share of video.generate outputs that come back with a visible defect (white balance, "
                   "exposure, flash, freeze, skipped frame, sound level); which ones follows from the seed.")
@click.option("--defect-kinds", default=",".join(DEFECT_KINDS), show_default=True,
              help="The defects --defects draws from (comma-separated).")
@click.option("--balance", "balance", default=str(DEFAULT_BALANCE), show_default=True,
              help="Starting balance per key, USD.")
@click.option("--queued-seconds", type=Number(0, MAX_PHASE_SECONDS), default=DEFAULT_PHASE_SECONDS,
              show_default=True)
@click.option("--running-seconds", type=Number(0, MAX_PHASE_SECONDS), default=DEFAULT_PHASE_SECONDS,
              show_default=True, help="Minimum time in 'running' (longer if rendering takes longer).")
@click.option("--max-body-mb", type=Number(1 / 1024, MAX_BODY_MB), default=DEFAULT_MAX_BODY_BYTES // MB,
              show_default=True, help="Request body limit (larger bodies get 413).")
@click.option("--log-level", type=click.Choice(["critical", "error", "warning", "info", "debug"]), default="info",
              show_default=True)
@json_option
def serve(host: str, port: int, keys: tuple[str, ...], data_dir: Path | None, faults: str, interpolation: str,
          combine_reading: str, money_reading: str, defects: float, defect_kinds: str, balance: str,
          queued_seconds: float, running_seconds: float, max_body_mb: float, log_level: str, as_json: bool) -> None:
    """Serve a local emulator of the media-jobs API until Ctrl-C.

    Prints the base URL on stdout (and the generated API key, once, if no key was given); logs go to
    stderr. The curl examples of the media-jobs API guide work against it once API_BASE is the printed
    URL and API_KEY the printed key. The other
    providers' APIs are served on the same port, each under its name (/zsky for ZSky).
    """
    from ltxkit.emulator.server import EmulatorConfig
    from ltxkit.emulator.server import serve as run_server  # uvicorn: loaded only when serving

    config = EmulatorConfig(api_keys=keys, data_dir=data_dir, host=host, port=port, faults=faults,
                            interpolation=interpolation, combine_reading=combine_reading, money_reading=money_reading,
                            defects=DefectModel(defects, parse_kinds(defect_kinds)),
                            starting_balance=_balance(balance), queued_seconds=queued_seconds,
                            running_seconds=running_seconds, max_body_bytes=int(max_body_mb * MB),
                            log_level=log_level)

    def ready(base_url: str, generated_key: str | None) -> None:
        if as_json:
            click.echo(json.dumps({"baseUrl": base_url, **({"apiKey": generated_key} if generated_key else {})}))
        else:
            click.echo(base_url)
            if generated_key:
                click.echo(f"API key (generated, shown once): {generated_key}")
        log(f"ltxkit emulator: serving {base_url} (data: {data_dir or 'temporary'}); Ctrl-C stops")

    run_server(config, ready)
