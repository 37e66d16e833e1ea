"""A hostile HTTP/1.1 server for tests: raw asyncio sockets on 127.0.0.1, misbehaving by path.

It trickles headers (slowloris) and bodies, sends endless bodies and gzip bombs, cuts bodies that
state no size, echoes the API key, drips a few KiB per Range answer, refuses ``Accept-Encoding:
identity``, and changes a file between Range requests. Every answer is bounded — at most
:data:`MAX_SECONDS` and :data:`MAX_BYTES` — so a client that fails to stop fails its test, not the
machine. Each connection serves one request (``Connection: close``).
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import json
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

MAX_SECONDS = 20.0
MAX_BYTES = 256 << 20
KEY = "sk-hostile-ECHO-5b2e91d07c"
FILE_A = bytes((i * 31 + 7) % 251 for i in range(67_270))
FILE_B = bytes((i * 17 + 3) % 241 for i in range(67_270))


@functools.cache
def bomb() -> bytes:
    """~256 KiB of gzip that inflates to 256 MiB (made 1 MiB at a time: the test measures memory)."""
    z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = b"\0" * (1 << 20)
    return b"".join(z.compress(zeros) for _ in range(256)) + z.flush()


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class Hostile:
    url: str = ""
    seen: list[Seen] = field(default_factory=list)
    versions: dict[str, int] = field(default_factory=dict)  # per changing file: how many answers so far
    sent: int = 0  # bytes sent in total (all answers)

    def gets(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]

    # ---- plumbing ---------------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            line, *rest = head.decode("latin-1").split("\r\n")
            method, target, _ = line.split(" ", 2)
            headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in rest if h)}
            seen = Seen(method, target, headers)
            self.seen.append(seen)
            await asyncio.wait_for(self._answer(seen, writer), MAX_SECONDS)
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()

    async def _write(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        if self.sent + len(data) > MAX_BYTES:
            raise ConnectionError("byte bound reached")
        self.sent += len(data)
        writer.write(data)
        await writer.drain()

    async def _head(self, writer: asyncio.StreamWriter, status: str, headers: dict[str, str]) -> None:
        lines = "".join(f"{k}: {v}\r\n" for k, v in {**headers, "Connection": "close"}.items())
        await self._write(writer, f"HTTP/1.1 {status}\r\n{lines}\r\n".encode())

    async def _json(self, writer: asyncio.StreamWriter, payload: object, status: str = "200 OK") -> None:
        body = json.dumps(payload).encode()
        await self._head(writer, status, {"Content-Type": "application/json", "Content-Length": str(len(body))})
        await self._write(writer, body)

    async def _trickle(self, writer: asyncio.StreamWriter, data: bytes, every: float) -> None:
        for byte in data:
            await self._write(writer, bytes([byte]))
            await asyncio.sleep(every)

    # ---- behaviours -------------------------------------------------------------------------------

    async def _answer(self, seen: Seen, writer: asyncio.StreamWriter) -> None:
        parts = urlsplit(seen.path)
        if parts.path == "/api/v1/media/jobs":
            await self._status(parse_qs(parts.query).get("jobId", [""])[0], writer)
        elif parts.path.startswith("/files/"):
            await self._file(parts.path.removeprefix("/files/"), seen.headers, writer)
        else:
            await self._json(writer, {"error": "no such route"}, "404 Not Found")

    async def _status(self, job_id: str, writer: asyncio.StreamWriter) -> None:
        if job_id == "slowloris":  # a valid status line, then one header byte every 0.25 s
            await self._write(writer, b"HTTP/1.1 200 OK\r\n")
            await self._trickle(writer, b"X-Slow: " + b"z" * 10_000, 0.25)
        elif job_id == "endless":  # a JSON string that never ends, as fast as the client reads
            await self._head(writer, "200 OK", {"Content-Type": "application/json"})
            await self._write(writer, b'{"jobId": "endless", "status": "running", "note": "')
            while True:
                await self._write(writer, b"x" * 65536)
        elif job_id == "bomb":
            data = bomb()
            await self._head(writer, "200 OK", {"Content-Type": "application/json", "Content-Encoding": "gzip",
                                                "Content-Length": str(len(data))})
            await self._write(writer, data)
        elif job_id == "echo":
            await self._json(writer, {
                "jobId": "echo", "status": "succeeded", "error": None,
                "downloadableOutputUrls": [f"{self.url}/files/a.mp4?token={KEY}"],
                "upstreamResult": {"request": {"headers": {"Authorization": f"Bearer {KEY}"}}, "key": KEY}})
        elif job_id == "failed-echo":
            await self._json(writer, {"jobId": "failed-echo", "status": "failed",
                                      "error": f"upstream rejected key {KEY}"})
        else:  # a finished job whose output ``<job_id>.mp4`` the job reports at FILE_A's size
            await self._json(writer, {
                "jobId": job_id, "status": "succeeded", "downloadableOutputUrls": [f"{self.url}/files/{job_id}.mp4"],
                "upstreamResult": {"outputs": [{"name": f"{job_id}.mp4", "bytes": len(FILE_A)}]}})

    async def _file(self, name: str, headers: dict[str, str], writer: asyncio.StreamWriter) -> None:
        stem = name.split("?")[0].removesuffix(".mp4")
        wanted = headers.get("range", "")
        start = int(wanted[6:-1]) if wanted.startswith("bytes=") and wanted.endswith("-") else 0
        if stem == "cut":  # no Content-Length, body framed by closing: closes after half
            await self._head(writer, "200 OK", {"Content-Type": "video/mp4"})
            await self._write(writer, FILE_A[: len(FILE_A) // 2])
        elif stem == "slow":  # states 1 MB, sends one byte every 0.25 s
            await self._head(writer, "200 OK", {"Content-Type": "video/mp4", "Content-Length": "1000000"})
            await self._trickle(writer, b"\1" * 1_000_000, 0.25)
        elif stem == "endless":  # chunked framing, chunks forever
            await self._head(writer, "200 OK", {"Content-Type": "video/mp4", "Transfer-Encoding": "chunked"})
            while True:
                await self._write(writer, b"10000\r\n" + b"\2" * 65536 + b"\r\n")
        elif stem == "drip":  # honours Range for a 1 GB file, but each answer ends after 64 KiB
            total = 1 << 30
            status = "206 Partial Content" if start else "200 OK"
            extra = {"Content-Range": f"bytes {start}-{total - 1}/{total}"} if start else {}
            await self._head(writer, status, {"Content-Type": "video/mp4", "Content-Length": str(total - start),
                                              "ETag": '"drip"', **extra})
            await self._write(writer, b"\3" * 65536)
        elif stem == "gzip":  # encoded media despite Accept-Encoding: identity
            data = gzip.compress(FILE_A)
            await self._head(writer, "200 OK", {"Content-Type": "video/mp4", "Content-Encoding": "gzip",
                                                "Content-Length": str(len(data))})
            await self._write(writer, data)
        elif stem in ("changed", "changed-honest"):
            await self._changed(stem, start, headers.get("if-range"), writer)
        else:  # a plain file: FILE_A, whole
            await self._head(writer, "200 OK", {"Content-Type": "video/mp4", "Content-Length": str(len(FILE_A)),
                                                "ETag": '"a"'})
            await self._write(writer, FILE_A)

    async def _changed(self, stem: str, start: int, if_range: str | None, writer: asyncio.StreamWriter) -> None:
        """File A (ETag "A") cut halfway on the first answer; file B (ETag "B") from then on. The dishonest
        one answers a Range for A with B's bytes (206, ETag "B"), the honest one with all of B (200)."""
        answer = self.versions[stem] = self.versions.get(stem, 0) + 1
        data, etag = (FILE_A, '"A"') if answer == 1 else (FILE_B, '"B"')
        if start and (stem == "changed" or if_range == etag):
            await self._head(writer, "206 Partial Content", {
                "Content-Type": "video/mp4", "Content-Length": str(len(data) - start), "ETag": etag,
                "Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"})
            await self._write(writer, data[start:])
            return
        await self._head(writer, "200 OK", {"Content-Type": "video/mp4", "Content-Length": str(len(data)),
                                            "ETag": etag})
        await self._write(writer, data[: len(data) // 2] if answer == 1 else data)


@contextmanager
def hostile() -> Iterator[Hostile]:
    """Run a :class:`Hostile` server in a thread for the duration of the block.

    Leaving the block cancels every answer still under way and waits for it before the loop closes
    (cancelling without waiting left some to be closed by a later garbage collection, on the closed loop)."""
    server = Hostile()
    ready = threading.Event()
    held: dict[str, Any] = {}

    async def main() -> None:
        held["loop"], held["done"] = asyncio.get_running_loop(), asyncio.Event()
        listening = await asyncio.start_server(server._serve, "127.0.0.1", 0)
        server.url = f"http://127.0.0.1:{listening.sockets[0].getsockname()[1]}"
        ready.set()
        await held["done"].wait()
        listening.close()
        # cancelled again until done: Python 3.11's wait_for loses a cancel that lands as its inner await
        # completes (gh-86296), and such an answer would go on trickling for MAX_SECONDS
        while answers := asyncio.all_tasks() - {asyncio.current_task()}:
            for answer in answers:
                answer.cancel()
            await asyncio.wait(answers, timeout=0.1)

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(10), "the hostile server did not start"
    try:
        yield server
    finally:
        held["loop"].call_soon_threadsafe(held["done"].set)
        thread.join(10)
        assert not thread.is_alive(), "the hostile server did not stop"


def elapsed(since: float) -> float:
    return time.monotonic() - since
