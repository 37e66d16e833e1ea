"""Submitting a neutral (or native) request through any provider: checked first, built, sent once.

:func:`prepare_extend` / :func:`prepare_submission` do everything that needs no request (capability
check, validation, the idempotency key) so a mistake costs nothing; :func:`run_submission` then, in one
plan run by either client face, consults the journal (a request already submitted is never built or
sent again: no second upload, no second POST), builds the provider's request (uploads, model and
source look-ups) and hands it to the shared :func:`~ltxkit.jobs.collect.collect_plan`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ltxkit.errors import InputError
from ltxkit.jobs.collect import SubmitGuard, check_download_dir, collect_plan, finish_plan
from ltxkit.jobs.journal import Journal, JournalEntry
from ltxkit.jobs.models import JobRequest
from ltxkit.jobs.plan import Context, Plan, json_plan, request_plan
from ltxkit.jobs.providers.base import Provider, check_key
from ltxkit.jobs.providers.registry import resolve
from ltxkit.jobs.providers.request import ExtendRequest, MediaArg, from_media_input, neutral_digest, neutral_key

if TYPE_CHECKING:
    from ltxkit.jobs.client import AsyncClient, Client


@dataclass(frozen=True)
class Submission:
    """A checked request for one provider. ``ready``: nothing left to build; else ``neutral`` is built by
    the provider's plan when (and only when) the journal has no job for ``key`` yet."""

    provider: Provider
    key: str
    input_hash: str
    task: str
    ready: JobRequest | None = None
    neutral: ExtendRequest | None = None


def prepare_extend(provider: Provider | str, request: ExtendRequest, key: str | None = None) -> Submission:
    """Check ``request`` against the provider's capabilities and fix its key; builds it now if that needs
    no request (so a size the API cannot render is refused here, not after an upload)."""
    provider = resolve(provider)
    provider.check_request(request)
    check_key(key)
    digest = neutral_digest(provider.name, request)
    key = key or neutral_key(digest)
    built = provider.build(request)
    ready = None if built is None else built.job_request(key, digest)
    return Submission(provider, key, digest, provider.task_for(request), ready, request)


def prepare_submission(provider: Provider | str, task: str, input_: Mapping[str, Any],
                       key: str | None = None) -> Submission:
    """``ltxkit jobs submit TASK --input …``: the API's own task and body, or — on another provider —
    ``video.generate`` with a media-jobs input, translated through the neutral request."""
    provider = resolve(provider)
    if provider.translates(task):
        return prepare_extend(provider, from_media_input(provider.name, input_, provider.sizes), key)
    request = provider.native_request(task, input_, key)
    return Submission(provider, request.key, request.input_hash, request.task, ready=request)


def build_plan(ctx: Context, submission: Submission) -> Plan[JobRequest]:
    if submission.ready is not None:
        return submission.ready
    assert submission.neutral is not None
    built = yield from submission.provider.build_plan(ctx, submission.neutral)
    return built.job_request(submission.key, submission.input_hash)


def submission_plan(ctx: Context, submission: Submission, journal: Journal, *, download_dir: Path | None,
                    wait: bool, details: bool, guard: SubmitGuard | None = None) -> Plan[JournalEntry]:
    check_download_dir(download_dir)
    if ctx.provider.name != submission.provider.name:
        raise InputError(f"this client talks to {ctx.provider.name}; the request was prepared for "
                         f"{submission.provider.name}")
    record = journal.begin(submission.key, submission.task, submission.input_hash, ctx.scope)
    if record.job_id is not None:  # submitted before: only wait and download
        return (yield from finish_plan(ctx, journal, record, download_dir=download_dir, wait=wait, details=details))
    request = yield from build_plan(ctx, submission)
    return (yield from collect_plan(ctx, request, journal, download_dir=download_dir, wait=wait, details=details,
                                    guard=guard))


# ---- the faces --------------------------------------------------------------------------------------


def run_submission(client: Client, submission: Submission, *, journal: Journal, download_dir: Path | None = None,
                   wait: bool = True, details: bool = False, guard: SubmitGuard | None = None) -> JournalEntry:
    """Submit once (journaled, resumable), optionally wait and download: the provider-aware
    :func:`~ltxkit.jobs.submit_and_collect`."""
    return client.run(submission_plan(client.context, submission, journal, download_dir=download_dir, wait=wait,
                                      details=details, guard=guard))


async def arun_submission(client: AsyncClient, submission: Submission, *, journal: Journal,
                          download_dir: Path | None = None, wait: bool = True, details: bool = False,
                          guard: SubmitGuard | None = None) -> JournalEntry:
    return await client.run(submission_plan(client.context, submission, journal, download_dir=download_dir,
                                            wait=wait, details=details, guard=guard))


def submit_extend(client: Client, request: ExtendRequest, *, journal: Journal, key: str | None = None,
                  download_dir: Path | None = None, wait: bool = True) -> JournalEntry:
    """Extend (or generate) through ``client.provider``: check, build, submit once, wait, download."""
    return run_submission(client, prepare_extend(client.provider, request, key), journal=journal,
                          download_dir=download_dir, wait=wait)


async def asubmit_extend(client: AsyncClient, request: ExtendRequest, *, journal: Journal, key: str | None = None,
                         download_dir: Path | None = None, wait: bool = True) -> JournalEntry:
    return await arun_submission(client, prepare_extend(client.provider, request, key), journal=journal,
                                 download_dir=download_dir, wait=wait)


def build_request(client: Client, request: ExtendRequest, key: str | None = None) -> JobRequest:
    """The provider's request for ``request`` (uploading what it needs), for ``client.submit`` without a
    journal."""
    return client.run(build_plan(client.context, prepare_extend(client.provider, request, key)))


def quote_plan(ctx: Context, submission: Submission) -> Plan[tuple[Submission, dict[str, Any]]]:
    """The quote answer for a submission, and the submission built (so submitting it uploads nothing again)."""
    submission.provider.require("quote")  # before building: a refusal must cost no upload
    request = yield from build_plan(ctx, submission)
    answer = yield from json_plan(ctx, submission.provider.quote_request(request.input))
    return replace(submission, ready=request), answer


def quote(client: Client, request: ExtendRequest) -> dict[str, Any]:
    """The provider's price for ``request`` without submitting it (ZOOOP ``POST /v1/quote``)."""
    return client.run(quote_plan(client.context, prepare_extend(client.provider, request)))[1]


def upload(client: Client, source: MediaArg, kind: str = "image") -> str:
    """Upload a local file through the provider's upload endpoint; the URL its tasks accept."""
    client.provider.require("uploads")  # also for a URL, which needs no upload where there is one
    return client.run(client.provider.upload_plan(client.context, source, "upload", kind))


def cancel(client: Client, job_id: str) -> None:
    """Cancel a job where the API can (none of the registered ones documents it: each refuses)."""
    client.run(request_plan(client.context, client.provider.cancel_request(job_id)))


def purge(client: Client, job_id: str) -> None:
    """ZSky ``DELETE /v1/jobs/{id}``: delete a finished job's output from the provider's storage now."""
    client.run(request_plan(client.context, client.provider.purge_request(job_id)))


def combine_request(provider: Provider | str, video_urls: Sequence[str], overlap_at_clip_fps: int | None = None,
                    fps: Fraction | int | None = None, key: str | None = None) -> JobRequest:
    """A server-side join of clips (media-jobs ``video.combine``); refused where the API has none."""
    return resolve(provider).combine_request(video_urls, overlap_at_clip_fps, fps, key)
