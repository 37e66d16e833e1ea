"""A small, programmable media-jobs server for the jobs-client tests (not the emulator).

Starlette served by uvicorn on a free loopback port in a background thread. Each test scripts what
it needs: faults consumed one by one per route (an error status, a dropped connection after the job
was recorded, a slow answer), the status words a job goes through, output files, whether ``Range``
is honoured, truncated or stalled file bodies. Everything the server saw is recorded so tests can
assert on it (requests and their headers, creates per idempotency key).
"""

from __future__ import annotations

import asyncio
import atexit
import hashlib
import itertools
import json
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

JOBS_PATH = "/api/v1/media/jobs"
API_KEY = "sk-ltxkit-LEAKCHECK-9d41c7e2b6"  # distinctive, so tests can grep for leaks


@dataclass
class Fault:
    """One scripted misbehaviour. kind: ``status`` (answer ``code`` with ``body``/``headers``),
    ``drop`` (record the job, then close the connection mid-answer), ``slow`` (record, then sleep
    ``seconds`` before answering), ``truncate`` (file: announce the full length, send ``size`` bytes,
    close), ``stall`` (file: send ``size`` bytes, then hang until ``release`` is set)."""

    kind: str
    code: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
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
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.time)  # wall clock, to check Retry-After waits


class _Dropped(Response):
    """Starts the answer with a length it never sends, then returns: uvicorn closes the connection."""

    def __init__(self, prefix: bytes, length: int, release: threading.Event | None = None,
                 headers: dict[str, str] | None = None, status: int = 200) -> None:
        super().__init__(status_code=status)
        self.prefix, self.length, self.release, self.extra = prefix, length, release, headers or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-length", str(self.length).encode())]
        headers += [(k.lower().encode(), v.encode()) for k, v in self.extra.items()]
        await send({"type": "http.response.start", "status": self.status_code, "headers": headers})
        if self.prefix:
            await send({"type": "http.response.body", "body": self.prefix, "more_body": True})
        if self.release is not None:
            deadline = time.monotonic() + 30
            while not self.release.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(0.01)


class JobsServer:
    def __init__(self, api_key: str = "", *, range_support: bool = True) -> None:
        self.api_key = api_key or API_KEY
        self.range_support = range_support
        self.lock = threading.Lock()
        self.reset(range_support=range_support)
        self.app = Starlette(routes=[
            Route(JOBS_PATH, self.jobs_endpoint, methods=["GET", "POST"]),
            Route("/api/v1/balance", self.balance, methods=["GET"]),
            Route("/api/v1/health", self.health, methods=["GET"]),
            Route("/files/{name}", self.file, methods=["GET"]),
            Route("/redirect/{name}", self.redirect, methods=["GET"]),
            Route("/__stats", self.stats, methods=["GET"]),
        ])
        self.url = ""
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def reset(self, *, range_support: bool = True) -> None:
        """Forget everything: a fresh server for the next test (starting one costs ~0.2 s)."""
        self.range_support = range_support
        self.faults: dict[str, list[Fault]] = {}
        self.jobs: dict[str, FakeJob] = {}
        self.by_key: dict[str, str] = {}
        self.creates: Counter[str] = Counter()
        self.posts: Counter[str] = Counter()
        self.requests: list[Seen] = []
        self.files: dict[str, bytes] = {}
        self.next_statuses: list[str] = ["queued", "running", "succeeded"]
        self.next_outputs: list[str] = []
        self.next_error: str | None = None
        self.output_base: str | None = None  # where output URLs point (default: this server)
        self.latency = 0.0  # seconds every jobs call takes, to make concurrency observable
        self.inflight = self.max_inflight = 0
        self.drop_rate = 0.0  # share of create answers dropped after recording (benchmark)
        self.rng = random.Random(6)
        self._ids = itertools.count(1)

    # ---- scripting ------------------------------------------------------------------------------------

    def fault(self, route: str, *faults: Fault) -> None:
        with self.lock:
            self.faults.setdefault(route, []).extend(faults)

    def _take_fault(self, route: str) -> Fault | None:
        with self.lock:
            queue = self.faults.get(route)
            return queue.pop(0) if queue else None

    def seen(self, method: str | None = None, path: str | None = None) -> list[Seen]:
        with self.lock:
            return [s for s in self.requests if (method is None or s.method == method)
                    and (path is None or s.path == path)]

    @property
    def duplicates(self) -> int:
        return sum(n - 1 for n in self.creates.values() if n > 1)

    # ---- endpoints ------------------------------------------------------------------------------------

    async def _record(self, request: Request) -> Seen:
        seen = Seen(request.method, request.url.path, request.url.query,
                    {k.lower(): v for k, v in request.headers.items()}, await request.body())
        with self.lock:
            self.requests.append(seen)
        return seen

    def _authorised(self, seen: Seen) -> bool:
        return seen.headers.get("authorization") == f"Bearer {self.api_key}" or \
            seen.headers.get("x-api-key") == self.api_key

    def _job_json(self, job: FakeJob) -> dict[str, Any]:
        status = job.status()
        body: dict[str, Any] = {"jobId": job.id, "status": status, "task": job.task}
        if status in ("succeeded", "completed", "done", "success"):
            base = self.output_base or self.url
            body["downloadableOutputUrls"] = [f"{base}/files/{name}" for name in job.outputs]
        if status in ("failed", "error", "blocked", "cancelled", "canceled") and job.error:
            body["error"] = job.error
        return body

    @staticmethod
    def _fault_response(fault: Fault) -> Response:
        return JSONResponse(fault.body if fault.body is not None else {"error": f"scripted {fault.code}"},
                            status_code=fault.code, headers=fault.headers)

    async def jobs_endpoint(self, request: Request) -> Response:
        with self.lock:
            self.inflight += 1
            self.max_inflight = max(self.max_inflight, self.inflight)
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            return await self._jobs(request)
        finally:
            with self.lock:
                self.inflight -= 1

    async def _jobs(self, request: Request) -> Response:
        seen = await self._record(request)
        if not self._authorised(seen):
            return JSONResponse({"error": "invalid API key"}, status_code=401)
        route = "create" if request.method == "POST" else "status"
        fault = self._take_fault(route)
        if fault is not None and fault.kind == "status":
            return self._fault_response(fault)
        if route == "status":
            with self.lock:
                job = self.jobs.get(request.query_params.get("jobId", ""))
                if job is None:
                    return JSONResponse({"error": "job not found"}, status_code=404)
                body = self._job_json(job)
                job.polls += 1
            if request.query_params.get("includeDetails") == "1":
                body["details"] = {"upstream": "sanitized", "input": job.input}
            return JSONResponse(body)
        payload = json.loads(seen.body)
        key = seen.headers.get("x-idempotency-key", "")
        if not key or payload.get("idempotencyKey") != key:
            return JSONResponse({"error": "idempotency key header and body differ"}, status_code=400)
        with self.lock:
            self.posts[key] += 1
            if key not in self.by_key:
                job = FakeJob(f"job-{next(self._ids)}", key, payload["task"], payload["input"],
                              list(self.next_statuses), list(self.next_outputs), self.next_error)
                self.jobs[job.id] = job
                self.by_key[key] = job.id
                self.creates[key] += 1
            job = self.jobs[self.by_key[key]]
            answer = {"externalJobId": job.id, "status": "queued", "billing": {"usd": "0.10"}}
        if (fault is not None and fault.kind == "drop") or (self.drop_rate and self.rng.random() < self.drop_rate):
            return _Dropped(b'{"externalJobId": "', 500)
        if fault is not None and fault.kind == "slow":
            await asyncio.sleep(fault.seconds)
        return JSONResponse(answer)

    async def file(self, request: Request) -> Response:
        seen = await self._record(request)
        name = request.path_params["name"]
        data = self.files.get(name)
        if data is None:
            return JSONResponse({"error": "output expired"}, status_code=404)
        fault = self._take_fault(f"file:{name}")
        if fault is not None and fault.kind == "status":
            return self._fault_response(fault)
        start = 0
        etag = f'"{hashlib.sha256(data).hexdigest()[:16]}"'
        rng = seen.headers.get("range", "") if seen.headers.get("if-range", etag) == etag else ""
        if self.range_support and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[6:-1])
            if start >= len(data):
                return Response(status_code=416, headers={"Content-Range": f"bytes */{len(data)}"})
        status = 206 if start else 200
        headers = {"Accept-Ranges": "bytes" if self.range_support else "none", "Content-Type": "video/mp4",
                   "ETag": etag}
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        body = data[start:]
        if fault is not None and fault.kind in ("truncate", "stall"):
            return _Dropped(body[:fault.size], len(body), fault.release, headers, status)
        return Response(body, status_code=status, headers=headers)

    async def redirect(self, request: Request) -> Response:
        await self._record(request)
        base = self.output_base or self.url
        return Response(status_code=302, headers={"Location": f"{base}/files/{request.path_params['name']}"})

    async def balance(self, request: Request) -> Response:
        seen = await self._record(request)
        if not self._authorised(seen):
            return JSONResponse({"error": "invalid API key"}, status_code=401)
        fault = self._take_fault("balance")
        if fault is not None:
            return self._fault_response(fault)
        return JSONResponse({"balanceUsd": "12.34", "currency": "USD"})

    async def health(self, request: Request) -> Response:
        await self._record(request)
        return JSONResponse({"status": "ok"})

    async def stats(self, request: Request) -> Response:
        with self.lock:
            return JSONResponse({"creates": sum(self.creates.values()), "posts": sum(self.posts.values()),
                                 "keys": len(self.creates), "duplicates": self.duplicates})

    # ---- lifecycle ------------------------------------------------------------------------------------

    def start(self) -> JobsServer:
        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on such sockets (else 40 ms stalls)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        host, port = sock.getsockname()
        self.url = f"http://{host}:{port}"
        config = uvicorn.Config(self.app, lifespan="off", log_level="critical", access_log=False,
                                timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("test server did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)


_shared: JobsServer | None = None


def fresh_server() -> JobsServer:
    """The process-wide test server (started on first use, stopped at exit), reset for this test."""
    global _shared
    if _shared is None:
        _shared = JobsServer().start()
        atexit.register(_shared.stop)
    _shared.reset()
    return _shared


@contextmanager
def running(api_key: str = "", *, range_support: bool = True) -> Iterator[JobsServer]:
    server = JobsServer(api_key, range_support=range_support).start()
    try:
        yield server
    finally:
        server.stop()


def client_options(server: JobsServer, **overrides: Any) -> dict[str, Any]:
    """Client keyword options for a test: this server, its key, and tiny retry/poll delays."""
    options: dict[str, Any] = {
        "base_url": server.url, "api_key": server.api_key, "timeout": 5.0, "max_retries": 4,
        "retry_base_delay": 0.001, "retry_max_delay": 0.01, "poll_interval": 0.001, "poll_max_interval": 0.005,
        "wait_timeout": 20.0, "progress": False,
    }
    options.update(overrides)
    return options


def client_env(server: JobsServer, **overrides: str) -> dict[str, str]:
    """The same settings as LTXKIT_* environment variables, for CLI runs."""
    env = {
        "LTXKIT_API_BASE": server.url, "LTXKIT_API_KEY": server.api_key, "LTXKIT_TIMEOUT": "5",
        "LTXKIT_MAX_RETRIES": "4", "LTXKIT_RETRY_BASE_DELAY": "0.001", "LTXKIT_RETRY_MAX_DELAY": "0.01",
        "LTXKIT_POLL_INTERVAL": "0.001", "LTXKIT_POLL_MAX_INTERVAL": "0.005", "LTXKIT_WAIT_TIMEOUT": "20",
    }
    env.update(overrides)
    return env
