"""``Client`` and ``AsyncClient``: two thin executors over one core.

All decisions live in the plans of :mod:`ltxkit.jobs.plan` (and :mod:`~ltxkit.jobs.download`,
:mod:`~ltxkit.jobs.collect`); the classes here only perform their actions with httpx. Shared between
the faces (in :class:`_BaseClient`): configuration, authentication headers, URL building, and turning
httpx exceptions into outcomes. httpx exceptions never escape: their text is scrubbed of the key and
re-raised as :class:`~ltxkit.errors.ApiError` subclasses, because an exception object carries the
request and so its headers.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import quote

import httpx

from ltxkit.errors import LtxkitError
from ltxkit.fsutil import StrPath
from ltxkit.jobs.collect import adopt_plan, collect_plan
from ltxkit.jobs.config import ClientConfig
from ltxkit.jobs.download import (
    ERROR_HEAD,
    PartWriter,
    Progress,
    Window,
    body_window,
    download_plan,
    fetch_headers,
    filename_from_url,
    stopped,
    unique_target,
    unwritten,
)
from ltxkit.jobs.journal import Journal, JournalEntry
from ltxkit.jobs.models import InputArg, JobRequest, TaskArg
from ltxkit.jobs.plan import (
    Context,
    Failure,
    Fetch,
    FetchResult,
    Pacer,
    Plan,
    Reply,
    Send,
    Sleep,
    json_plan,
    status_plan,
    submit_plan,
    wait_plan,
)
from ltxkit.jobs.providers.base import Provider
from ltxkit.jobs.providers.media_jobs import MEDIA_JOBS
from ltxkit.jobs.transport import Abort, ReplyBody, async_timeout, deadline, install_deadlines
from ltxkit.jobs.wire import Job

T = TypeVar("T")
Item = TypeVar("Item")
# what httpx raises for a request that got no complete answer: each becomes a Failure for the plan, which
# retries the transient ones (timeouts, network errors, dropped connections)
_TRANSPORT = (httpx.HTTPError, httpx.InvalidURL)
_TRANSIENT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
_UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)  # no connection: nothing was sent
DEADLINE = Abort("no complete answer by the deadline", retryable=True)


def outputs_plan(ctx: Context, job: Job, directory: Path) -> Plan[list[Path]]:
    """Download a job's outputs into ``directory`` under unique names (no journal)."""
    paths: list[Path] = []
    for index, url in enumerate(job.outputs):
        target = unique_target(directory, filename_from_url(url, f"output-{index}"), paths)
        sizes = job.sizes[index] if index < len(job.sizes) else ()
        paths.append((yield from download_plan(ctx, url, target, sizes)))
    return paths


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """httpx's default verifying context, built once: loading the CA bundle costs ~50 ms per client."""
    return httpx.create_ssl_context()


class _BaseClient:
    def __init__(self, config: ClientConfig | None, provider: Provider, progress: bool | None,
                 options: Mapping[str, Any]) -> None:
        if config is None:
            config = ClientConfig.from_env(defaults=provider.config_defaults, **options)
        elif options:
            config = config.with_options(**options)
        self.config = config
        self.provider = provider
        self._progress = Progress(progress)
        account = hashlib.sha256(f"{config.base_url}\n{config.api_key or ''}".encode()).hexdigest()[:12]
        window = provider.request_window
        self.context = Context(provider, config.retry, config.poll, config.base_url, self._scrub,
                               scope=f"{provider.name}@{account}", limits=config.limits,
                               pacer=None if window is None else Pacer(*window))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.config.base_url!r}, provider={self.provider.name!r})"

    def _scrub(self, text: str) -> str:
        key = self.config.api_key
        if not key:
            return text
        for form in (key, json.dumps(key)[1:-1], quote(key, safe=""), quote(key)):  # as a JSON string, in a URL
            text = text.replace(form, "***")
        return text

    def _auth_headers(self) -> dict[str, str]:
        key = self.config.require_key()
        style = self.provider.auth_style or self.config.auth
        return {"x-api-key": key} if style == "x-api-key" else {"Authorization": f"Bearer {key}"}

    def _request_args(self, send: Send) -> dict[str, Any]:
        spec = send.spec
        headers = {"Accept": "application/json", **spec.headers, **(self._auth_headers() if spec.auth else {})}
        return {"method": spec.method, "url": self.config.base_url + spec.path, "params": dict(spec.params) or None,
                "json": spec.json, "content": spec.content, "files": dict(spec.files) if spec.files else None,
                "headers": headers}

    def _fetch_headers(self, fetch: Fetch) -> dict[str, str]:
        return fetch_headers(fetch, self._auth_headers() if fetch.auth else {})

    def _httpx_options(self) -> dict[str, Any]:
        pool = max(10, self.config.concurrency * 2)
        return {"verify": _ssl_context(), "follow_redirects": False,  # redirects: download_plan, per origin
                "timeout": httpx.Timeout(self.config.timeout, connect=self.config.connect_timeout),
                "limits": httpx.Limits(max_connections=pool, max_keepalive_connections=pool)}

    def _failure(self, exc: Exception) -> Failure:
        text = self._scrub(str(exc)) or "no details"
        return Failure(f"{type(exc).__name__}: {text}", isinstance(exc, _TRANSIENT),
                       sent=not isinstance(exc, _UNSENT))

    def _fetch_failed(self, fetch: Fetch, exc: Exception, status: int) -> FetchResult:
        failure = self._failure(exc)
        return stopped(fetch, status, {}, Abort(failure.message, retryable=failure.retryable))

    @staticmethod
    def _stopped(stop: Abort) -> Failure:
        return Failure(stop.message, retryable=stop.retryable and not stop.refused)

    @staticmethod
    def _request(task: TaskArg, input_: InputArg, key: str | None) -> JobRequest:
        return JobRequest.build(task, input_, key)


class Client(_BaseClient):
    """Synchronous media-jobs client.

    ``Client()`` reads ``LTXKIT_API_BASE``/``LTXKIT_API_KEY`` (and the other ``LTXKIT_*`` settings);
    keyword ``options`` override single fields (``Client(api_key=..., max_retries=2)``).
    """

    def __init__(self, config: ClientConfig | None = None, *, provider: Provider = MEDIA_JOBS,
                 http_client: httpx.Client | None = None, progress: bool | None = None, **options: Any) -> None:
        super().__init__(config, provider, progress, options)
        self._own_http = http_client is None
        self._http = http_client or install_deadlines(httpx.Client(**self._httpx_options()))

    def close(self) -> None:
        self._progress.close()
        if self._own_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # ---- executing plans ------------------------------------------------------------------------------

    def run(self, plan: Plan[T]) -> T:
        """Drive a plan to its result, performing each action it yields."""
        outcome: Any = None
        try:
            while True:
                action = plan.send(outcome)
                if isinstance(action, Send):
                    outcome = self._send(action)
                elif isinstance(action, Sleep):
                    time.sleep(action.seconds)
                    outcome = None
                else:
                    outcome = self._fetch(action)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        finally:
            plan.close()

    def _send(self, send: Send) -> Reply | Failure:
        try:
            with deadline(send.deadline), self._http.stream(**self._request_args(send)) as r:
                body = ReplyBody(send.max_bytes, r.headers, send.deadline)
                if r.is_stream_consumed:  # an answer built in memory (a MockTransport's)
                    body.add(r.content)
                else:
                    for raw in r.iter_raw():
                        body.feed(raw)
        except Abort as stop:
            return self._stopped(stop)
        except _TRANSPORT as exc:
            return self._failure(exc)
        return Reply(r.status_code, r.headers, body.bytes())

    def _fetch(self, fetch: Fetch) -> FetchResult:
        status, headers = 0, httpx.Headers()
        try:
            with deadline(fetch.deadline), \
                    self._http.stream("GET", fetch.url, headers=self._fetch_headers(fetch)) as r:
                status, headers = r.status_code, r.headers
                window = body_window(status, r.headers, fetch)
                if not isinstance(window, Window):
                    head = next(r.iter_bytes(ERROR_HEAD), b"") if status >= 300 else b""
                    return unwritten(fetch, status, r.headers, window, head)
                with PartWriter(fetch, window, self._progress) as out:
                    for chunk in r.iter_bytes():  # identity only (body_window refuses encoded media): raw bytes
                        out.write(chunk)
                return out.result(status, r.headers)
        except Abort as stop:
            return stopped(fetch, status, headers, stop)
        except _TRANSPORT as exc:
            return self._fetch_failed(fetch, exc, status)

    # ---- API ------------------------------------------------------------------------------------------

    def submit(self, task: TaskArg, input_: InputArg = None, *,
               key: str | None = None) -> Job:
        """Validate locally, then create the job (idempotent: same key on every retry)."""
        request = self._request(task, input_, key)
        return self.run(submit_plan(self.context, request.task, request.input, request.key))

    def status(self, job_id: str, *, details: bool = False) -> Job:
        return self.run(status_plan(self.context, job_id, details))

    def wait(self, job_id: str, *, details: bool = False, on_update: Callable[[Job], None] | None = None) -> Job:
        """Poll until done; raises JobFailedError / JobTimeoutError."""
        return self.run(wait_plan(self.context, job_id, details=details, on_update=on_update))

    def download(self, url: str, dest: StrPath) -> Path:
        """Download one URL to ``dest`` via ``dest.part`` (resumes an existing ``.part``)."""
        return self.run(download_plan(self.context, url, Path(dest)))

    def download_outputs(self, job: Job, directory: Path) -> list[Path]:
        return self.run(outputs_plan(self.context, job, directory))

    def balance(self) -> dict[str, Any]:
        return self.run(json_plan(self.context, self.provider.balance_request()))

    def health(self) -> dict[str, Any]:
        return self.run(json_plan(self.context, self.provider.health_request()))

    def collect(self, job_id: str, *, journal: Journal, download_dir: Path | None = None,
                details: bool = False) -> JournalEntry:
        """Wait for a job submitted elsewhere and download its outputs, journaled."""
        return self.run(adopt_plan(self.context, job_id, journal, download_dir=download_dir, details=details))


class AsyncClient(_BaseClient):
    """Asynchronous twin of :class:`Client` (same plans), plus bounded-concurrency batch helpers."""

    def __init__(self, config: ClientConfig | None = None, *, provider: Provider = MEDIA_JOBS,
                 http_client: httpx.AsyncClient | None = None, progress: bool | None = None,
                 **options: Any) -> None:
        super().__init__(config, provider, progress, options)
        self._own_http = http_client is None
        self._http = http_client or httpx.AsyncClient(**self._httpx_options())

    async def aclose(self) -> None:
        self._progress.close()
        if self._own_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    async def run(self, plan: Plan[T]) -> T:
        outcome: Any = None
        try:
            while True:
                action = plan.send(outcome)
                if isinstance(action, Send):
                    outcome = await self._send(action)
                elif isinstance(action, Sleep):
                    await asyncio.sleep(action.seconds)
                    outcome = None
                else:
                    outcome = await self._fetch(action)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        finally:
            plan.close()

    async def _send(self, send: Send) -> Reply | Failure:
        try:
            async with async_timeout(send.deadline), self._http.stream(**self._request_args(send)) as r:
                body = ReplyBody(send.max_bytes, r.headers, send.deadline)
                if r.is_stream_consumed:
                    body.add(r.content)
                else:
                    async for raw in r.aiter_raw():
                        body.feed(raw)
        except Abort as stop:
            return self._stopped(stop)
        except TimeoutError:
            return self._stopped(DEADLINE)
        except _TRANSPORT as exc:
            return self._failure(exc)
        return Reply(r.status_code, r.headers, body.bytes())

    async def _fetch(self, fetch: Fetch) -> FetchResult:
        status, headers = 0, httpx.Headers()
        try:
            async with async_timeout(fetch.deadline), \
                    self._http.stream("GET", fetch.url, headers=self._fetch_headers(fetch)) as r:
                status, headers = r.status_code, r.headers
                window = body_window(status, r.headers, fetch)
                if not isinstance(window, Window):
                    head = await anext(r.aiter_bytes(ERROR_HEAD), b"") if status >= 300 else b""
                    return unwritten(fetch, status, r.headers, window, head)
                with PartWriter(fetch, window, self._progress) as out:
                    async for chunk in r.aiter_bytes():
                        out.write(chunk)
                return out.result(status, r.headers)
        except Abort as stop:
            return stopped(fetch, status, headers, stop)
        except TimeoutError:
            return stopped(fetch, status, headers, DEADLINE)
        except _TRANSPORT as exc:
            return self._fetch_failed(fetch, exc, status)

    # ---- API (same as Client) ---------------------------------------------------------------------------

    async def submit(self, task: TaskArg, input_: InputArg = None, *,
                     key: str | None = None) -> Job:
        request = self._request(task, input_, key)
        return await self.run(submit_plan(self.context, request.task, request.input, request.key))

    async def status(self, job_id: str, *, details: bool = False) -> Job:
        return await self.run(status_plan(self.context, job_id, details))

    async def wait(self, job_id: str, *, details: bool = False,
                   on_update: Callable[[Job], None] | None = None) -> Job:
        return await self.run(wait_plan(self.context, job_id, details=details, on_update=on_update))

    async def download(self, url: str, dest: StrPath) -> Path:
        return await self.run(download_plan(self.context, url, Path(dest)))

    async def download_outputs(self, job: Job, directory: Path) -> list[Path]:
        return await self.run(outputs_plan(self.context, job, directory))

    async def balance(self) -> dict[str, Any]:
        return await self.run(json_plan(self.context, self.provider.balance_request()))

    async def health(self) -> dict[str, Any]:
        return await self.run(json_plan(self.context, self.provider.health_request()))

    async def collect(self, job_id: str, *, journal: Journal, download_dir: Path | None = None,
                      details: bool = False) -> JournalEntry:
        return await self.run(adopt_plan(self.context, job_id, journal, download_dir=download_dir, details=details))

    # ---- many jobs, bounded --------------------------------------------------------------------------

    async def _bounded(self, items: Iterable[Item], key: Callable[[Item], str], make: Callable[[Item], Awaitable[T]],
                       concurrency: int | None) -> list[T | LtxkitError]:
        """``make(item)`` at most ``concurrency`` at a time; results in input order. Items with the same
        ``key`` run once and share the result (two downloads of one job must not share a ``.part``
        file). One job's ltxkit error is returned in its place, so it cannot cancel the (paid) others."""
        limit = asyncio.Semaphore(concurrency or self.config.concurrency)
        items = list(items)
        unique = {key(item): item for item in reversed(items)}  # the first of each key wins

        async def one(item: Item) -> T | LtxkitError:
            async with limit:
                try:
                    return await make(item)
                except LtxkitError as exc:
                    return exc

        keys = list(dict.fromkeys(key(item) for item in items))
        done = dict(zip(keys, await asyncio.gather(*(one(unique[k]) for k in keys)), strict=True))
        return [done[key(item)] for item in items]

    async def run_many(self, requests: Iterable[JobRequest], *, journal: Journal, download_dir: Path | None = None,
                       wait: bool = True, details: bool = False,
                       concurrency: int | None = None) -> list[JournalEntry | LtxkitError]:
        """Submit (and wait for, and download) many requests, ``concurrency`` at a time (default 4)."""
        return await self._bounded(
            requests, lambda r: r.key,
            lambda r: self.run(collect_plan(self.context, r, journal, download_dir=download_dir, wait=wait,
                                            details=details)),
            concurrency)

    async def wait_many(self, job_ids: Iterable[str], *, details: bool = False,
                        concurrency: int | None = None) -> list[Job | LtxkitError]:
        """Wait for many job ids, ``concurrency`` polls in flight at a time."""
        return await self._bounded(job_ids, str, lambda j: self.wait(j, details=details), concurrency)

    async def collect_many(self, job_ids: Iterable[str], *, journal: Journal, download_dir: Path | None = None,
                           details: bool = False, concurrency: int | None = None) -> list[JournalEntry | LtxkitError]:
        """:meth:`collect` for many ids (``ltxkit jobs wait ID...``)."""
        return await self._bounded(
            job_ids, str, lambda j: self.collect(j, journal=journal, download_dir=download_dir, details=details),
            concurrency)

