"""Media-jobs API client: submit, poll, download — idempotent, retrying, resumable, journaled.

Sync and async faces (:class:`Client`, :class:`AsyncClient`) run the same plans, so retry policy,
status mapping, download checks and error texts are identical. Provider-specific knowledge (paths,
id fields, status words, capabilities) lives in :class:`Provider` (:mod:`ltxkit.jobs.providers`);
``MEDIA_JOBS`` is the media-jobs API.
"""

from ltxkit.jobs.client import AsyncClient, Client
from ltxkit.jobs.collect import asubmit_and_collect, submit_and_collect
from ltxkit.jobs.config import ClientConfig
from ltxkit.jobs.journal import DownloadRecord, Journal, JournalEntry
from ltxkit.jobs.models import (
    JobRequest,
    VideoCombine,
    VideoGenerate,
    audio_value,
    canonical_json,
    derive_key,
    image_value,
    overlap_frame_files,
)
from ltxkit.jobs.providers import MEDIA_JOBS, Provider
from ltxkit.jobs.retry import PollPolicy, RetryPolicy, parse_retry_after, poll_delay, retry_delay
from ltxkit.jobs.wire import Job, RequestSpec

__all__ = [
    "MEDIA_JOBS", "AsyncClient", "Client", "ClientConfig", "DownloadRecord", "Job", "JobRequest",
    "Journal", "JournalEntry", "PollPolicy", "Provider", "RequestSpec", "RetryPolicy", "VideoCombine", "VideoGenerate",
    "asubmit_and_collect", "audio_value", "canonical_json", "derive_key", "image_value", "overlap_frame_files",
    "parse_retry_after", "poll_delay", "retry_delay", "submit_and_collect",
]
