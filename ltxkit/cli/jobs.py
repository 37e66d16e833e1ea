"""``ltxkit jobs submit|status|wait``, ``ltxkit balance`` and ``ltxkit health``.

Configuration comes from ``LTXKIT_API_BASE`` / ``LTXKIT_API_KEY`` (and ``LTXKIT_API_AUTH=x-api-key``,
``LTXKIT_POLL_INTERVAL``… see :class:`ltxkit.jobs.ClientConfig`). ``submit`` is journaled in
``ltxkit-jobs.sqlite`` (working directory or ``--state DIR``): re-running the same command after a
crash resumes the same job and its downloads instead of paying for a second one.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ltxkit.cli._output import ProviderOption, emit, json_option, log
from ltxkit.cli.progress import show_progress

state_option = click.option("--state", "state_dir", type=click.Path(path_type=Path, file_okay=False),
                            help="Directory of the jobs journal (default: the working directory).")
download_option = click.option("--download", "download_dir", type=click.Path(path_type=Path, file_okay=False),
                               help="Download the outputs into this directory (implies --wait).")
provider_option = click.option("--provider", "provider_name", cls=ProviderOption, envvar="LTXKIT_PROVIDER",
                               default="media-jobs", show_default=True, show_envvar=True,
                               help="The API: {providers} (ltxkit.jobs.providers).")


def _job_ids(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Job ids are refused locally when no server could have made them (empty, spaces, control characters)."""
    for job_id in (value,) if isinstance(value, str) else value:
        if not job_id or not job_id.isprintable() or any(c.isspace() for c in job_id):
            raise click.BadParameter(f"not a job id: {job_id!r}", ctx=ctx, param=param)
    return value


def _record_text(d: dict[str, Any]) -> str:
    raw = f" ({d['rawStatus']})" if d.get("rawStatus") and d["rawStatus"] != d["status"] else ""
    lines = [f"job {d['jobId']}: {d['status']}{raw}"]
    if d.get("error"):
        lines.append(f"  error: {d['error']}")
    lines += [f"  {f}" for f in d.get("files", [])] or [f"  output: {u}" for u in d.get("outputs", [])]
    return "\n".join(lines)


@click.group()
def jobs() -> None:
    """Submit media jobs, follow them and download their outputs (idempotent, resumable)."""


@jobs.command("submit")
@click.argument("task")
@click.option("--input", "input_text", required=True, help="The task input: a JSON object, or @file.json.")
@click.option("--start-frame", help="Start frame: an image file (webp/png/jpg) or URL.")
@click.option("--final-frame", help="Final frame: an image file or URL.")
@click.option("--overlap-frames", "overlap_images", multiple=True,
              help="Overlap frames oldest first: repeat per file/URL, or one `ltxkit frames tail` directory.")
@click.option("--reference-audio", help="Reference audio: a wav/flac/ogg/opus/mp3/aac/m4a/webm file or URL.")
@click.option("--wait", is_flag=True, help="Wait until the job has finished.")
@download_option
@click.option("--idempotency-key", "key", help="Key for this submission (default: derived from task + input).")
@click.option("--details", is_flag=True, help="Poll with includeDetails=1.")
@state_option
@provider_option
@json_option
def submit(task: str, input_text: str, start_frame: str | None, final_frame: str | None,
           overlap_images: tuple[str, ...], reference_audio: str | None, wait: bool, download_dir: Path | None,
           key: str | None, details: bool, state_dir: Path | None, provider_name: str, as_json: bool) -> None:
    """Submit TASK once (a re-run with the same input resumes the same job), optionally wait and download.

    With another --provider, TASK is that API's own task with its own --input body, or video.generate
    with a media-jobs input, translated (or refused by name when that API cannot do it)."""
    from ltxkit.jobs import Client, Journal
    from ltxkit.jobs.models import add_media, load_input
    from ltxkit.jobs.pricebook import BillingRecorder, PriceBook
    from ltxkit.jobs.providers import get_provider, prepare_submission, run_submission

    provider = get_provider(provider_name)
    raw = load_input(input_text)
    if start_frame or final_frame or overlap_images or reference_audio:
        raw = add_media(raw, start_frame=start_frame, final_frame=final_frame,
                        overlap_images=(overlap_images[0] if len(overlap_images) == 1 else list(overlap_images))
                        if overlap_images else None, reference_audio=reference_audio)
    submission = prepare_submission(provider, task, raw, key)  # validates before any file or request is made
    with Client(provider=provider) as client:
        client.config.require_key()
        with Journal.in_dir(state_dir) as journal, PriceBook() as book, show_progress(as_json):
            recorder = BillingRecorder(book, provider.name, client.config.base_url, provider.charged)
            record = run_submission(client, submission, journal=journal, download_dir=download_dir,
                                    wait=wait or download_dir is not None, details=details, guard=recorder)
    emit(record.to_json(), as_json, _record_text)


@jobs.command("status")
@click.argument("job_id", callback=_job_ids)
@click.option("--details", is_flag=True, help="Ask for the sanitized upstream payload (includeDetails=1).")
@provider_option
@json_option
def status(job_id: str, details: bool, provider_name: str, as_json: bool) -> None:
    """Show a job's status and output URLs."""
    from ltxkit.jobs import Client
    from ltxkit.jobs.providers import get_provider

    with Client(provider=get_provider(provider_name)) as client:
        job = client.status(job_id, details=details)
    result = job.to_json()
    if details:
        result["response"] = dict(job.payload)
    emit(result, as_json, _record_text)


@jobs.command("wait")
@click.argument("job_ids", nargs=-1, required=True, callback=_job_ids)
@download_option
@click.option("--details", is_flag=True, help="Poll with includeDetails=1.")
@state_option
@provider_option
@json_option
def wait(job_ids: tuple[str, ...], download_dir: Path | None, details: bool, state_dir: Path | None,
         provider_name: str, as_json: bool) -> None:
    """Wait for one or more jobs (a few at a time) and optionally download their outputs."""
    import asyncio

    from ltxkit.errors import LtxkitError
    from ltxkit.jobs import AsyncClient, Journal
    from ltxkit.jobs.providers import get_provider

    provider = get_provider(provider_name)

    async def run() -> list[Any]:
        async with AsyncClient(provider=provider) as client:
            client.config.require_key()
            with Journal.in_dir(state_dir) as journal:
                return await client.collect_many(job_ids, journal=journal, download_dir=download_dir,
                                                 details=details)

    with show_progress(as_json):
        results = asyncio.run(run())
    errors = [r for r in results if isinstance(r, LtxkitError)]
    shown = [{"jobId": j, "status": "error", "error": str(r)} if isinstance(r, LtxkitError) else r.to_json()
             for j, r in zip(job_ids, results, strict=True)]
    if as_json:
        emit({"jobs": shown}, True, str)
    else:
        click.echo("\n".join(_record_text(d) for d in shown if d["status"] != "error"))
    for error in errors:
        log(f"ltxkit: error: {error}")
    if errors:
        sys.exit(max(e.exit_code for e in errors))


def _scalars(d: dict[str, Any]) -> str:
    return "\n".join(f"{k}: {v}" for k, v in d.items() if not isinstance(v, (dict, list))) or str(d)


@click.command("balance")
@provider_option
@json_option
def balance(provider_name: str, as_json: bool) -> None:
    """Show the account's prepaid balance (or the provider's usage / credits)."""
    from ltxkit.jobs import Client
    from ltxkit.jobs.providers import get_provider

    with Client(provider=get_provider(provider_name)) as client:
        emit(client.balance(), as_json, _scalars)


@click.command("health")
@provider_option
@json_option
def health(provider_name: str, as_json: bool) -> None:
    """Check that the API answers (no key needed)."""
    from ltxkit.jobs import Client
    from ltxkit.jobs.providers import get_provider

    with Client(provider=get_provider(provider_name)) as client:
        emit(client.health(), as_json, _scalars)
