"""Submit → wait → download, journaled: the function the workflow layer and the CLI call.

Every step is recorded before the next begins, so the same call after a crash or a kill picks up
where the journal says: it never POSTs again once a job id is known, and it resumes downloads into
the file names chosen the first time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from ltxkit.errors import InputError, JobFailedError, NotFoundError
from ltxkit.fsutil import StrPath, optional_path
from ltxkit.jobs.download import download_plan, filename_from_url, unique_target
from ltxkit.jobs.journal import Journal, JournalEntry
from ltxkit.jobs.models import InputArg, JobRequest, TaskArg
from ltxkit.jobs.plan import AsyncRunner, Context, Plan, Runner, status_plan, submit_plan, wait_plan
from ltxkit.jobs.wire import Job


class SubmitGuard(Protocol):
    """Told about every create actually sent (not about a job the journal already has): the workflow's
    budget refuses one that would spend past what the user allowed, and records what each was billed."""

    def before_submit(self, request: JobRequest) -> None:
        """Raise to refuse the submit: nothing is sent."""

    def after_submit(self, request: JobRequest, job: Job) -> None:
        """The server's answer to the submit (its billing, for the price book)."""


def check_download_dir(download_dir: Path | None) -> None:
    """Refuse an unusable download directory before anything is sent (and paid for)."""
    if download_dir is not None and download_dir.exists() and not download_dir.is_dir():
        raise InputError(f"--download: {download_dir} exists and is not a directory")


def collect_plan(ctx: Context, request: JobRequest, journal: Journal, *, download_dir: Path | None = None,
                 wait: bool = True, details: bool = False, guard: SubmitGuard | None = None) -> Plan[JournalEntry]:
    check_download_dir(download_dir)
    record = journal.begin(request.key, request.task, request.input_hash, ctx.scope)
    if record.job_id is None:
        # Killed before the answer last time (or never sent): the same key makes this the same job.
        if guard is not None:
            guard.before_submit(request)
        job = yield from submit_plan(ctx, request.task, request.input, request.key)
        record = journal.record_job(record.row, job)
        if guard is not None:
            guard.after_submit(request, job)
    return (yield from finish_plan(ctx, journal, record, download_dir=download_dir, wait=wait, details=details))


def adopt_plan(ctx: Context, job_id: str, journal: Journal, *, download_dir: Path | None = None,
               details: bool = False) -> Plan[JournalEntry]:
    """Wait for (and download) a job by id, journaled too so its downloads resume."""
    check_download_dir(download_dir)
    record = journal.adopt(job_id, ctx.scope)
    return (yield from finish_plan(ctx, journal, record, download_dir=download_dir, wait=True, details=details))


def finish_plan(ctx: Context, journal: Journal, record: JournalEntry, *, download_dir: Path | None, wait: bool,
                details: bool) -> Plan[JournalEntry]:
    assert record.job_id is not None
    if record.state == "failed":
        raise JobFailedError(f"job {record.job_id} {record.raw_status or 'failed'}: {record.error or 'no error text'}"
                             " (as journaled; to try again, submit with a new --idempotency-key)",
                             error=record.error)
    row = record.row
    sizes: dict[str, tuple[int, ...]] = {}  # what the server last said each output's size is

    def on_update(job: Job) -> None:
        nonlocal record
        sizes.update(zip(job.outputs, job.sizes, strict=False))
        if (job.state, job.raw_status, job.outputs, job.error) != (record.state, record.raw_status, record.outputs,
                                                                   record.error):
            record = journal.record_job(row, job)

    # a create answered "done" without outputs (ZOOOP's idempotent replay: {taskId, status}) is asked once
    if wait and (record.state != "done" or not record.outputs):
        yield from wait_plan(ctx, record.job_id, details=details, on_update=on_update)
    elif download_dir is not None and record.state == "done" and _missing_downloads(record, download_dir):
        # Output URLs may be signed and short-lived: refresh them once before downloading again.
        # (on NotFoundError keep the recorded URLs; the download itself will say if they are gone)
        with contextlib.suppress(NotFoundError):
            on_update((yield from status_plan(ctx, record.job_id, details)))
    if download_dir is not None and record.state == "done":
        yield from downloads_plan(ctx, journal, journal.get(row), download_dir, sizes)
    return journal.get(row)


def _missing_downloads(record: JournalEntry, directory: Path) -> bool:
    done = {d.index for d in record.downloads if d.state == "done" and d.path.parent == directory.resolve()
            and d.path.exists()}
    return any(i not in done for i in range(len(record.outputs)))


def downloads_plan(ctx: Context, journal: Journal, record: JournalEntry, directory: Path,
                   sizes: Mapping[str, tuple[int, ...]]) -> Plan[list[Path]]:
    """Download every output of a finished job into ``directory``, skipping those already there; each is
    checked against the ``sizes`` the server reported for it."""
    paths: list[Path] = []
    for index, url in enumerate(record.outputs):
        def choose(d: Path, claimed: list[Path], url: str = url, index: int = index) -> Path:
            return unique_target(d, filename_from_url(url, f"output-{index}"), claimed)

        target = journal.claim_download(record.row, index, url, directory, choose)
        if not (target.state == "done" and target.path.exists()):
            yield from download_plan(ctx, url, target.path, sizes.get(url, ()))
            journal.record_download(record.row, index, directory, target.path.stat().st_size)
        paths.append(target.path)
    return paths


# ---- the two faces ---------------------------------------------------------------------------------


def submit_and_collect(client: Runner, task: TaskArg, input_: InputArg = None,
                       *, key: str | None = None, journal: Journal, download_dir: StrPath | None = None,
                       wait: bool = True, details: bool = False, guard: SubmitGuard | None = None) -> JournalEntry:
    """Validate, submit once (idempotently), optionally wait and download; journaled, resumable.

    ``task`` may be a task name with ``input_`` a dict or model, or a model alone
    (``submit_and_collect(client, VideoGenerate(...), journal=j)``).
    """
    request = JobRequest.build(task, input_, key)
    return client.run(collect_plan(client.context, request, journal, download_dir=optional_path(download_dir),
                                   wait=wait, details=details, guard=guard))


async def asubmit_and_collect(client: AsyncRunner, task: TaskArg,
                              input_: InputArg = None, *, key: str | None = None,
                              journal: Journal, download_dir: StrPath | None = None, wait: bool = True,
                              details: bool = False) -> JournalEntry:
    """The async twin of :func:`submit_and_collect`, running the same plan."""
    request = JobRequest.build(task, input_, key)
    return await client.run(collect_plan(client.context, request, journal, download_dir=optional_path(download_dir),
                                         wait=wait, details=details))
