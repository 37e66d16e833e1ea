"""A scriptable media-jobs API answering from memory, for the jobs client's unit tests over
``httpx.MockTransport``: no socket, no server thread. (End-to-end tests use the emulator on a real socket.)

Each test scripts what it needs: faults consumed one by one per route (``create``, ``status``, ``balance``,
``file:<name>``), the status words each new job goes through, its outputs and error, the files on either
origin (``API`` and ``CDN``), whether ``Range`` is honoured. Everything it saw is kept, with the wall
clock time it arrived, so tests assert on what the client really sent. Any other origin refuses the
connection.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from ltxkit.jobs import AsyncClient, Client

API, CDN = "http://api.test", "http://cdn.test"  # two origins
API_KEY = "sk-ltxkit-LEAKCHECK-9d41c7e2b6"  # distinctive, so tests can grep for leaks
JOBS_PATH = "/api/v1/media/jobs"
ETAG = '"v1"'


def unreachable_url() -> str:
    """A loopback URL nothing listens on (a port bound, then let go): every connection is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


class Cut(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body that stops after ``data`` (once ``release`` is set, if given) as a dropped connection does."""

    def __init__(self, data: bytes, release: threading.Event | None = None) -> None:
        self.data, self.release = data, release

    def _cut(self) -> httpx.RemoteProtocolError:
        if self.release is not None:
            self.release.wait(10)
        return httpx.RemoteProtocolError("peer closed connection without sending complete message body")

    def __iter__(self) -> Iterator[bytes]:
        yield self.data
        raise self._cut()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.data
        raise self._cut()


@dataclass
class Fault:
    """One scripted misbehaviour: ``status`` (answer ``code`` with ``body`` / ``headers``), ``drop`` (create:
    record the job, then close the connection without an answer), ``timeout`` (create: record the job,
    then the answer never comes in time), ``truncate`` (file: announce the full length, send ``size``
    bytes, close), ``stall`` (the same, once ``release`` is set)."""

    kind: str
    code: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    size: int = 0
    release: threading.Event | None = None


@dataclass
class FakeJob:
    id: str
    key: str
    task: str
    input: dict[str, Any]
    statuses: list[str]
    outputs: list[str]
    error: str | None
    polls: int = 0

    def status(self) -> str:
        return self.statuses[min(self.polls, len(self.statuses) - 1)]


@dataclass
class Seen:
    """One request and the wall clock time it arrived (to check Retry-After waits)."""

    request: httpx.Request
    at: float = field(default_factory=time.time)

    @property
    def method(self) -> str:
        return self.request.method

    @property
    def url(self) -> httpx.URL:
        return self.request.url

    @property
    def path(self) -> str:
        return self.request.url.raw_path.decode().partition("?")[0]

    @property
    def query(self) -> str:
        return self.request.url.query.decode()

    @property
    def headers(self) -> httpx.Headers:
        return self.request.headers

    @property
    def body(self) -> bytes:
        return self.request.content


class FakeApi:
    """The API at ``API`` (jobs, balance, health, ``/redirect/<name>``) and files at ``/files/<name>`` on
    both origins; call it with a request (``httpx.MockTransport(api)``), or use :meth:`client`."""

    def __init__(self, api_key: str = API_KEY) -> None:
        self.api_key = api_key
        self.lock = threading.Lock()
        self.faults: dict[str, list[Fault]] = {}
        self.jobs: dict[str, FakeJob] = {}
        self.by_key: dict[str, str] = {}
        self.creates: Counter[str] = Counter()
        self.posts: Counter[str] = Counter()
        self.requests: list[Seen] = []
        self.files: dict[str, bytes] = {}
        self.range_support = True
        self.next_statuses: list[str] = ["queued", "running", "succeeded"]
        self.next_outputs: list[str] = []
        self.next_error: str | None = None
        self.output_base = API  # where output URLs point
        self.latency = 0.0  # seconds every jobs call takes on the async face, to make concurrency observable
        self.inflight = self.max_inflight = 0
        self._ids = itertools.count(1)

    # ---- scripting and what was seen -----------------------------------------------------------------

    def fault(self, route: str, *faults: Fault) -> None:
        with self.lock:
            self.faults.setdefault(route, []).extend(faults)

    def _take_fault(self, route: str) -> Fault | None:
        with self.lock:
            queue = self.faults.get(route)
            return queue.pop(0) if queue else None

    def seen(self, method: str | None = None, path: str | None = None, url: str | None = None) -> list[Seen]:
        with self.lock:
            return [s for s in self.requests if (method is None or s.method == method)
                    and (path is None or s.path == path) and (url is None or str(s.url) == url)]

    def ranges(self, url: str) -> list[str | None]:
        return [s.headers.get("range") for s in self.seen(url=url)]

    def client(self, **options: Any) -> Client:
        return Client(http_client=httpx.Client(transport=httpx.MockTransport(self)), **options)

    def async_client(self, **options: Any) -> AsyncClient:
        transport = httpx.MockTransport(self.handle_async)
        return AsyncClient(http_client=httpx.AsyncClient(transport=transport), **options)

    def serve_every_client(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Every :class:`Client` / :class:`AsyncClient` made during the test (the CLI's too) talks to this API."""
        for cls, handler in ((Client, self), (AsyncClient, self.handle_async)):
            made = cls._httpx_options

            def options(client: Any, made: Any = made, handler: Any = handler) -> dict[str, Any]:
                return {**made(client), "transport": httpx.MockTransport(handler)}

            monkeypatch.setattr(cls, "_httpx_options", options)

    # ---- answers -------------------------------------------------------------------------------------

    async def handle_async(self, request: httpx.Request) -> httpx.Response:
        """The same answers on the async face, each jobs call taking ``latency`` seconds."""
        if not self.latency or not request.url.path.startswith(JOBS_PATH):
            return self(request)
        with self.lock:
            self.inflight += 1
            self.max_inflight = max(self.max_inflight, self.inflight)
        try:
            await asyncio.sleep(self.latency)
            return self(request)
        finally:
            with self.lock:
                self.inflight -= 1

    def __call__(self, request: httpx.Request) -> httpx.Response:
        seen = Seen(request)
        with self.lock:
            self.requests.append(seen)
        path, api = seen.path, str(request.url).startswith(API)
        if not api and not str(request.url).startswith(CDN):
            raise httpx.ConnectError("connection refused (no such host here)", request=request)
        if api and path == JOBS_PATH:
            if not self._authorised(request):
                return httpx.Response(401, json={"error": "invalid API key"})
            return self._create(seen) if request.method == "POST" else self._status(request)
        if api and path == "/api/v1/balance":
            return self._balance(request)
        if api and path == "/api/v1/health":
            return httpx.Response(200, json={"status": "ok"})
        if api and path.startswith("/redirect/"):
            return httpx.Response(302, headers={"Location": f"{self.output_base}/files/{path.rsplit('/', 1)[-1]}"})
        if path.startswith("/files/"):
            return self._file(request, path.removeprefix("/files/"))
        return httpx.Response(404, json={"error": "no such route"})

    def _authorised(self, request: httpx.Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.api_key}" or \
            request.headers.get("x-api-key") == self.api_key

    @staticmethod
    def _scripted(fault: Fault) -> httpx.Response:
        return httpx.Response(fault.code, headers=fault.headers,
                              json=fault.body if fault.body is not None else {"error": f"scripted {fault.code}"})

    def _job_json(self, job: FakeJob) -> dict[str, Any]:
        status = job.status()
        body: dict[str, Any] = {"jobId": job.id, "status": status, "task": job.task}
        if status in ("succeeded", "completed", "done", "success"):
            body["downloadableOutputUrls"] = [f"{self.output_base}/files/{name}" for name in job.outputs]
        if status in ("failed", "error", "blocked", "cancelled", "canceled") and job.error:
            body["error"] = job.error
        return body

    def _status(self, request: httpx.Request) -> httpx.Response:
        fault = self._take_fault("status")
        if fault is not None:
            return self._scripted(fault)
        query = {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}
        with self.lock:
            job = self.jobs.get(query.get("jobId", ""))
            if job is None:
                return httpx.Response(404, json={"error": "job not found"})
            body = self._job_json(job)
            job.polls += 1
        if query.get("includeDetails") == "1":
            body["details"] = {"upstream": "sanitized", "input": job.input}
        return httpx.Response(200, json=body)

    def _create(self, seen: Seen) -> httpx.Response:
        fault = self._take_fault("create")
        if fault is not None and fault.kind == "status":
            return self._scripted(fault)
        payload = json.loads(seen.body)
        key = seen.headers.get("x-idempotency-key", "")
        if not key or payload.get("idempotencyKey") != key:
            return httpx.Response(400, json={"error": "idempotency key header and body differ"})
        with self.lock:
            self.posts[key] += 1
            if key not in self.by_key:
                job = FakeJob(f"job-{next(self._ids)}", key, payload["task"], payload["input"],
                              list(self.next_statuses), list(self.next_outputs), self.next_error)
                self.jobs[job.id] = job
                self.by_key[key] = job.id
                self.creates[key] += 1
            job = self.jobs[self.by_key[key]]
        if fault is not None and fault.kind == "drop":
            raise httpx.RemoteProtocolError("server disconnected without sending a response", request=seen.request)
        if fault is not None and fault.kind == "timeout":
            raise httpx.ReadTimeout("the answer did not come in time", request=seen.request)
        return httpx.Response(200, json={"externalJobId": job.id, "status": "queued", "billing": {"usd": "0.10"}})

    def _balance(self, request: httpx.Request) -> httpx.Response:
        if not self._authorised(request):
            return httpx.Response(401, json={"error": "invalid API key"})
        fault = self._take_fault("balance")
        if fault is not None:
            return self._scripted(fault)
        return httpx.Response(200, json={"balanceUsd": "12.34", "currency": "USD"})

    def _file(self, request: httpx.Request, name: str) -> httpx.Response:
        data = self.files.get(name)
        if data is None:
            return httpx.Response(404, json={"error": "output expired"})
        fault = self._take_fault(f"file:{name}")
        if fault is not None and fault.kind == "status":
            return self._scripted(fault)
        start, wanted = 0, request.headers.get("range", "")
        if request.headers.get("if-range", ETAG) != ETAG:
            wanted = ""  # the file changed since the client's bytes: the whole new one
        if self.range_support and wanted.startswith("bytes=") and wanted.endswith("-"):
            start = int(wanted[6:-1])
            if start >= len(data):
                return httpx.Response(416, headers={"Content-Range": f"bytes */{len(data)}"})
        headers = {"Content-Length": str(len(data) - start), "Content-Type": "video/mp4", "ETag": ETAG}
        if start:
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        body, status = data[start:], 206 if start else 200
        if fault is not None:  # truncate / stall
            return httpx.Response(status, headers=headers, stream=Cut(body[:fault.size], fault.release))
        return httpx.Response(status, headers=headers, content=body)
