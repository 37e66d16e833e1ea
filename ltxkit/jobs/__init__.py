"""Media-jobs API client: submit, poll, download — idempotent, retrying, resumable, journaled.

Sync and async faces (:class:`Client`, :class:`AsyncClient`) run the same plans, so retry policy,
status mapping, download checks and error texts are identical. Provider-specific knowledge (paths,
id fields, status words) lives in :class:`Provider`; ``MEDIA_JOBS`` describes the media-jobs API.
"""

from ltxkit.jobs.client import AsyncClient, Client
from ltxkit.jobs.collect import asubmit_and_collect, submit_and_collect
from ltxkit.jobs.config import ClientConfig
from ltxkit.jobs.journal import DownloadRecord, JobRecord, Journal
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
from ltxkit.jobs.provider import MEDIA_JOBS, Job, Provider, RequestSpec
from ltxkit.jobs.retry import PollPolicy, RetryPolicy, parse_retry_after, poll_delay, retry_delay

__all__ = [
    "MEDIA_JOBS", "AsyncClient", "Client", "ClientConfig", "DownloadRecord", "Job", "JobRecord", "JobRequest",
    "Journal", "PollPolicy", "Provider", "RequestSpec", "RetryPolicy", "VideoCombine", "VideoGenerate",
    "asubmit_and_collect", "audio_value", "canonical_json", "derive_key", "image_value", "overlap_frame_files",
    "parse_retry_after", "poll_delay", "retry_delay", "submit_and_collect",
]
