"""The request steps every emulated API shares: errors in the API's own shape, API keys, bodies (size
and nesting limits), rate windows, fault injection (``drop-create`` included) and hanging up.

media-jobs and each provider under :mod:`ltxkit.emulator.providers` differ only in *words*: a
:class:`Dialect` says how an API phrases the errors these steps answer, so a fix here (say, "absurdly
nested JSON is a 400") reaches every route at once.
"""

from __future__ import annotations

import asyncio
import hmac
import io
import json
import math
import socket
import struct
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from PIL import Image, UnidentifiedImageError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from ltxkit.emulator.faults import HOLD_SECONDS, FaultBudget
from ltxkit.emulator.store import account_id

MAX_IMAGE_PIXELS = 40_000_000  # above 8K UHD (33 Mpx); a decoded RGB frame of this size is 120 MB
MAX_JSON_DEPTH = 64  # no API body nests beyond a handful; far below where json.loads/dumps recurse out
BEARER, X_API_KEY = "authorization", "x-api-key"
FAULTS_SCOPE = "ltxkit.faults"
EXTENSIONS = {  # the file extension a stored upload or inline input gets, by its MIME type
    "image/png": "png", "image/jpeg": "jpg", "image/jpg": "jpg", "image/webp": "webp", "image/gif": "gif",
    "audio/ogg": "ogg", "audio/opus": "opus", "audio/wav": "wav", "audio/x-wav": "wav", "audio/wave": "wav",
    "audio/mpeg": "mp3", "audio/mp3": "mp3", "audio/flac": "flac", "audio/x-flac": "flac", "audio/aac": "aac",
    "audio/mp4": "m4a", "audio/webm": "webm", "video/mp4": "mp4", "video/webm": "webm", "video/quicktime": "mov",
}


class Problem(Exception):
    """An error answer: HTTP ``status``, a JSON ``body`` in the answering API's shape, extra ``headers``."""

    def __init__(self, status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"HTTP {status}")
        self.status, self.body, self.headers = status, dict(body), dict(headers or {})

    def response(self) -> JSONResponse:
        return JSONResponse(self.body, status_code=self.status, headers=self.headers or None)


def status_code_name(status: int) -> str:
    """``429`` → ``too_many_requests``: a machine code for the answers no seed words itself."""
    return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")


def seconds_text(seconds: float) -> str:
    """A ``Retry-After`` value: whole seconds (rounded up), or milliseconds for sub-second test windows."""
    return str(max(1, math.ceil(seconds))) if seconds >= 1 else f"{max(seconds, 0.001):.3f}"


@dataclass(frozen=True)
class Window:
    """At most ``count`` requests per ``seconds`` (a sliding window)."""

    count: int
    seconds: float


@dataclass(frozen=True)
class Allowance:
    allowed: bool
    limit: int
    remaining: int
    reset_in: float  # seconds until the oldest counted request leaves the window

    @property
    def retry_after(self) -> str:
        return seconds_text(self.reset_in)


class RateLimiter:
    """Sliding windows per (account, bucket). Only touched from the server's event loop."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._hits: dict[tuple[str, str], deque[float]] = {}

    def take(self, account: str, bucket: str, window: Window) -> Allowance:
        now = self.clock()
        hits = self._hits.setdefault((account, bucket), deque())
        while hits and hits[0] <= now - window.seconds:
            hits.popleft()
        if len(hits) >= window.count:
            return Allowance(False, window.count, 0, hits[0] + window.seconds - now)
        hits.append(now)
        return Allowance(True, window.count, window.count - len(hits), hits[0] + window.seconds - now)


class Dialect:
    """How one API words the errors of the shared steps; as is, media-jobs' words. Other APIs override
    :meth:`problem` (their shape) and any answer their seed words differently; ``key_headers`` are where
    keys are read, in order."""

    key_headers: tuple[str, ...] = (BEARER, X_API_KEY)

    def problem(self, status: int, text: str, details: object = None,
                headers: Mapping[str, str] | None = None) -> Problem:
        """Any error in this API's shape (the default is media-jobs' ``{"error": text, "details": …}``)."""
        return Problem(status, {"error": text, "details": details}, headers)

    def malformed(self, detail: str) -> Problem:
        return self.problem(400, "malformed JSON body", detail)

    def too_large(self, limit: int) -> Problem:
        return self.problem(413, "request body too large", f"the limit is {limit} bytes")

    def unauthorized(self, request: Request, given: bool) -> Problem:
        """401 for a request without a key (``given`` false) or with a key the emulator does not know."""
        if given:
            return self.problem(401, "invalid API key", "this key is not configured on the emulator")
        return self.problem(401, "missing API key", "send 'Authorization: Bearer <key>' or 'x-api-key: <key>'")

    def rate_limited(self, bucket: str, allowance: Allowance) -> Problem:
        return self.problem(429, "rate limited", f"too many {bucket} requests",
                            {"Retry-After": allowance.retry_after})

    def handles_fault(self, name: str, method: str, path: str) -> bool:
        """Whether this API's own route applies fault ``name`` to the request (its document gives it a
        meaning there), instead of the shared step answering it with nothing done."""
        return False

    def fault(self, status: int, retry_after: int) -> Problem:
        """The ``429`` / ``503`` / ``404`` faults: what the service answers when it is busy, down, or its
        read side lags behind a create."""
        if status == 404:
            return self.problem(404, "job not found", "emulated fault 404: the job is not visible yet")
        error = {429: "rate limited", 503: "service unavailable"}[status]
        return self.problem(status, error, f"emulated fault {status}; retry after {retry_after} s",
                            {"Retry-After": str(retry_after)})


def api_key(headers: Mapping[str, str], names: Iterable[str]) -> str | None:
    """The first key found in the request ``headers`` named ``names`` (``authorization`` means a ``Bearer``
    token)."""
    for name in names:
        if name == BEARER:
            scheme, _, token = headers.get(BEARER, "").partition(" ")
            key = token.strip() if scheme.lower() == "bearer" else ""
        else:
            key = headers.get(name, "").strip()
        if key:
            return key
    return None


def json_depth_exceeds(value: object, limit: int) -> bool:
    """Whether containers nest deeper than ``limit`` (iterative: a deep value cannot overflow the stack)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def image_problem(data: bytes) -> str | None:
    """Why an uploaded image must be refused, read from its header only (a 400 KB PNG can declare
    12000×12000 and take 1.2 GB to decode); None for an acceptable image or bytes that are no image."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:  # lazy: reads the header, decodes nothing
                width, height = image.size
    except Image.DecompressionBombError as exc:
        return str(exc)
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    if width * height > MAX_IMAGE_PIXELS:
        return f"the image is {width}x{height}, over the limit of {MAX_IMAGE_PIXELS} pixels"
    return None


def fault_budget(scope: Scope) -> FaultBudget:
    budget = scope.get(FAULTS_SCOPE)
    assert isinstance(budget, FaultBudget), "FaultMiddleware sets every request's budget"
    return budget


def take_fault(request: Request, name: str) -> bool:
    """Consume one ``name`` fault from the request's budget (the header's, else the server's)."""
    return fault_budget(request.scope).take(name)


class Connections:
    """Closing a client's connection from inside a request (the drop/reset/truncate faults).

    ASGI has no "hang up" message, so this finds uvicorn's protocol object for the request's client
    address in the server state and closes its transport: ``close`` (FIN, after flushing what was
    written) or ``reset`` (SO_LINGER 0, so the kernel sends RST).
    """

    def __init__(self) -> None:
        self.server_state: Any = None  # uvicorn.server.ServerState, set by the server once created

    def _protocol(self, scope: Scope) -> Any:
        client = tuple(scope.get("client") or ())
        connections: Iterable[Any] = getattr(self.server_state, "connections", ())
        return next((p for p in list(connections) if tuple(getattr(p, "client", None) or ()) == client), None)

    async def hang_up(self, scope: Scope, *, reset: bool) -> bool:
        protocol = self._protocol(scope)
        if protocol is None:
            return False
        transport = protocol.transport
        if reset:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        else:
            transport.close()
        # Let uvicorn see connection_lost before the endpoint returns, so it does not answer 500.
        for _ in range(200):
            if protocol not in getattr(self.server_state, "connections", ()):
                break
            await asyncio.sleep(0.001)
        return True


async def hung_up(receive: Receive, seconds: float = HOLD_SECONDS) -> bool:
    """Wait (the request's body read) until the client closes its connection: True, or False after ``seconds``."""
    try:
        async with asyncio.timeout(seconds):
            while (await receive())["type"] != "http.disconnect":
                pass
    except TimeoutError:
        return False
    return True


class NoResponse(Response):
    """What an endpoint returns after hanging up: nothing is sent."""

    def __init__(self) -> None:
        super().__init__()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        return None


class Http:
    """The shared steps, bound to one emulator's keys, body limit and connections."""

    def __init__(self, keys: Iterable[str], max_body_bytes: int, connections: Connections) -> None:
        self.keys = {account_id(k): k for k in keys}
        self.max_body_bytes = max_body_bytes
        self.connections = connections

    def account(self, request: Request, dialect: Dialect) -> str:
        """The account of the request's key (accounts are key hashes), else the dialect's 401."""
        key = api_key(request.headers, dialect.key_headers)
        if key is None:
            raise dialect.unauthorized(request, False)
        if not self.knows(key):
            raise dialect.unauthorized(request, True)
        return account_id(key)

    def knows(self, key: str | None) -> bool:
        known = None if key is None else self.keys.get(account_id(key))
        return known is not None and key is not None and hmac.compare_digest(known.encode(), key.encode())

    async def body(self, request: Request, dialect: Dialect,
                   too_large: Callable[[int], Problem] | None = None) -> bytes:
        """The raw body, refused (``too_large``, else the dialect's) past the configured limit."""
        limit, refuse = self.max_body_bytes, too_large or dialect.too_large
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise refuse(limit)
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise refuse(limit)
            chunks.append(chunk)
        return b"".join(chunks)

    async def json(self, request: Request, dialect: Dialect) -> dict[str, Any]:
        """The body as a JSON object nested at most :data:`MAX_JSON_DEPTH` deep, else the dialect's 400."""
        too_deep = dialect.malformed(f"the body nests deeper than {MAX_JSON_DEPTH} levels")
        try:
            body = json.loads(await self.body(request, dialect))
        except RecursionError as exc:  # nested beyond what the decoder recurses into
            raise too_deep from exc
        except (ValueError, UnicodeDecodeError) as exc:
            raise dialect.malformed(str(exc)) from exc
        if not isinstance(body, dict):
            raise dialect.malformed("the body must be a JSON object")
        if json_depth_exceeds(body, MAX_JSON_DEPTH):
            raise too_deep
        return body

    async def dropped(self, request: Request) -> Response | None:
        """The create faults, once the job exists: ``drop-create`` (the answer never comes) and
        ``hold-create`` (none until the client hangs up); an empty response to return, else None."""
        if take_fault(request, "drop-create") and await self.connections.hang_up(request.scope, reset=False):
            return NoResponse()
        if take_fault(request, "hold-create") and await hung_up(request.receive):
            return NoResponse()
        return None
