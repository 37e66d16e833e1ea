"""The executors' bounds on what a server can make them do: a deadline on every read, a cap on every body.

httpx's timeouts are per read: a server that sends one byte a second never trips them, so a request
could last forever. Here the deadline a plan gave its action holds for the whole exchange. The sync
face gets it from the network streams (:func:`install_deadlines` wraps httpcore's backend so each read
waits at most until the deadline, headers included); the async face cancels the exchange at the
deadline; both also check it between body chunks (which covers a caller's own ``http_client``).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
import zlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

import httpcore
import httpx

# the deadline (time.monotonic) of the exchange this thread/task is performing, read by the streams
_DEADLINE: ContextVar[float] = ContextVar("ltxkit_deadline", default=math.inf)


class Abort(Exception):
    """An exchange stopped by a bound. ``retryable``: another try may fare better (too slow, deadline);
    ``refused``: the server's answer is unacceptable (too big, encoded, inconsistent)."""

    def __init__(self, message: str, *, retryable: bool = False, refused: bool = False) -> None:
        super().__init__(message)
        self.message, self.retryable, self.refused = message, retryable, refused


@contextlib.contextmanager
def deadline(at: float) -> Iterator[None]:
    token = _DEADLINE.set(at)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def check_deadline(at: float) -> None:
    if time.monotonic() >= at:
        raise Abort("no complete answer by the deadline", retryable=True)


def _bounded(timeout: float | None) -> float | None:
    left = _DEADLINE.get() - time.monotonic()
    if left == math.inf:
        return timeout
    if left <= 0:
        raise httpcore.ReadTimeout("the deadline passed")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _bounded(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _bounded(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _Stream(self._stream.start_tls(ssl_context, server_hostname, _bounded(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Any = None) -> httpcore.NetworkStream:
        return _Stream(self._backend.connect_tcp(host, port, _bounded(timeout), local_address, socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Any = None) -> httpcore.NetworkStream:
        return _Stream(self._backend.connect_unix_socket(path, _bounded(timeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def install_deadlines(client: httpx.Client) -> httpx.Client:
    """``client`` with every connection pool's streams bounded by the current deadline (the default
    transport and the proxy mounts httpx made from the environment). Reaches into httpx's transports:
    tests/test_jobs_hostile.py fails loudly if a new httpx moves them."""
    for transport in [client._transport, *client._mounts.values()]:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is not None and not isinstance(backend, _Backend):
            pool._network_backend = _Backend(backend)  # type: ignore[union-attr]
    return client


def async_timeout(at: float) -> contextlib.AbstractAsyncContextManager[Any]:
    """The async face's deadline: cancel the exchange at ``at`` (``TimeoutError``)."""
    return asyncio.timeout(None if at == math.inf else max(0.0, at - time.monotonic()))


class ReplyBody:
    """An API answer's decoded bytes, refused past ``limit``.

    The body is decoded here, from the raw stream, at most :data:`PIECE` bytes at a time: httpx would
    inflate a whole network read at once, and 64 KiB of a gzip bomb is 64 MiB.
    """

    def __init__(self, limit: int, headers: httpx.Headers, at: float) -> None:
        self.limit, self.at = limit, at
        self.chunks: list[bytes] = []
        self.size = 0
        encoding = headers.get("content-encoding", "identity").strip().lower()
        if encoding not in _DECODERS:
            raise Abort(f"the answer is {encoding}-encoded, which ltxkit does not read", refused=True)
        self._decoder = _DECODERS[encoding]()
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit and encoding in ("", "identity"):
            self._refuse()

    def _refuse(self) -> None:
        raise Abort(f"the answer is larger than the max_reply_bytes limit of {self.limit} bytes "
                    "(LTXKIT_MAX_REPLY_BYTES)", refused=True)

    def add(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            self._refuse()
        self.chunks.append(chunk)
        check_deadline(self.at)

    def feed(self, raw: bytes) -> None:
        """Decode and add one raw (still encoded) piece of the body."""
        for piece in self._decoder.decode(raw):
            self.add(piece)

    def bytes(self) -> bytes:
        return b"".join(self.chunks)


PIECE = 64 * 1024


class _Identity:
    def decode(self, raw: bytes) -> Iterator[bytes]:
        yield raw


class _Inflate:
    """gzip or zlib/raw deflate (what httpx accepts for ``deflate``), inflated ``PIECE`` bytes at a time."""

    def __init__(self, wbits: int) -> None:
        self.wbits, self.started = wbits, False
        self._z = zlib.decompressobj(wbits)

    def decode(self, raw: bytes) -> Iterator[bytes]:
        data = raw
        while data:
            try:
                piece = self._z.decompress(data, PIECE)
            except zlib.error as exc:
                if self.started or self.wbits != zlib.MAX_WBITS:
                    raise Abort(f"the answer's compressed body is damaged: {exc}", retryable=True) from None
                self.wbits, self._z = -zlib.MAX_WBITS, zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate
                continue
            self.started = True
            data = self._z.unconsumed_tail
            yield piece


_DECODERS: dict[str, Any] = {
    "": _Identity, "identity": _Identity, "deflate": lambda: _Inflate(zlib.MAX_WBITS),
    "gzip": lambda: _Inflate(16 + zlib.MAX_WBITS), "x-gzip": lambda: _Inflate(16 + zlib.MAX_WBITS),
}
