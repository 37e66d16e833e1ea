"""Downloading outputs: streamed to ``name.part``, checked, resumed, and only then renamed.

Outputs live on the server for about 48 hours, so a download must survive a dropped connection or a
killed process: bytes go to ``name.part``; a retry (or a re-run) asks for the rest with ``Range`` and
appends when the server answers 206 for exactly that offset, or starts over when it answers 200. The
file appears under its final name only once its size matches what the server announced.

The API key is sent to an output URL only when it has the API base's origin (scheme, host, port):
outputs on a CDN must not see it, not even through a redirect.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO
from urllib.parse import unquote, urljoin, urlsplit

from ltxkit.errors import DownloadError
from ltxkit.jobs.plan import Attempts, Context, Fetch, FetchResult, Plan, Reply, error_for_reply
from ltxkit.progress import report

MAX_REDIRECTS = 10
PART_SUFFIX = ".part"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + PART_SUFFIX)


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) with the scheme's default port filled in, lower-cased."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme, 0)


def same_origin(url: str, base_url: str) -> bool:
    return origin(url) == origin(base_url)


def filename_from_url(url: str, fallback: str = "output") -> str:
    """The last path segment of ``url``, percent-decoded and reduced to ``[A-Za-z0-9._-]``.

    Directory parts, ``..``, hidden-file dots and control characters cannot survive, so the name can
    never point outside the download directory.
    """
    segment = unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])
    name = _UNSAFE.sub("_", segment).strip("._-")[:120]
    if name.endswith(PART_SUFFIX):
        name = name[: -len(PART_SUFFIX)] + "_part"
    return name or fallback


def unique_target(directory: Path, name: str, taken: Iterable[Path] = ()) -> Path:
    """``directory/name``, or ``stem-1.ext``, ``stem-2.ext``… if that name (or its ``.part``) is in use."""
    claimed = {p.resolve() for p in taken}
    stem, dot, ext = name.partition(".") if not name.startswith(".") else (name, "", "")
    n = 0
    while True:
        candidate = directory / (name if n == 0 else f"{stem}-{n}{dot}{ext}")
        if not (candidate.exists() or part_path(candidate).exists() or candidate.resolve() in claimed):
            return candidate
        n += 1


@dataclass(frozen=True)
class ContentRange:
    start: int
    end: int
    total: int | None


def parse_content_range(value: str | None) -> ContentRange | None:
    """``bytes 100-199/1000`` → ContentRange(100, 199, 1000); ``bytes 0-9/*`` has no total."""
    m = re.fullmatch(r"\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*", value or "")
    if m is None:
        return None
    return ContentRange(int(m.group(1)), int(m.group(2)), None if m.group(3) == "*" else int(m.group(3)))


def unsatisfied_total(value: str | None) -> int | None:
    """The size in a 416's ``Content-Range: bytes */1000``."""
    m = re.fullmatch(r"\s*bytes\s+\*/(\d+)\s*", value or "")
    return int(m.group(1)) if m else None


def body_window(status: int, headers: Mapping[str, str], offset: int) -> tuple[int, int | None] | None:
    """Where an answer's body goes in the ``.part`` file: ``(start, expected_total)``, or None.

    200 is the whole file (start over at 0); 206 is kept only if it starts exactly at ``offset``.
    The expected size is known only for identity-encoded bodies (Content-Length counts encoded bytes).
    """
    identity = headers.get("content-encoding", "identity").lower() in ("", "identity")
    if status == 200:
        length = headers.get("content-length")
        return 0, (int(length) if length and length.isdigit() and identity else None)
    if status == 206:
        cr = parse_content_range(headers.get("content-range"))
        if cr is None or cr.start != offset:
            return None
        return offset, cr.total if identity else None
    return None


def download_plan(ctx: Context, url: str, dest: Path) -> Plan[Path]:
    """Download ``url`` to ``dest`` through ``dest.part``; resume an existing ``.part``.

    Transport failures, truncations and the answers the provider calls retryable (408/429/5xx) are
    retried by the one retry step (:class:`~ltxkit.jobs.plan.Attempts`); the retry count restarts
    whenever an attempt got further than any before, so a slow but progressing
    download is never given up. Other errors remove the ``.part`` and raise :class:`DownloadError`.
    """
    part = part_path(dest)
    current = url
    best = part.stat().st_size if part.exists() else 0
    attempts = Attempts(ctx, f"download {dest.name}")
    hops = 0
    while True:
        offset = part.stat().st_size if part.exists() else 0
        res: FetchResult = yield Fetch(current, part, offset, same_origin(current, ctx.base_url), dest.name)
        location = res.headers.get("location")
        if res.status in (301, 302, 303, 307, 308) and location and res.error is None:
            hops += 1
            if hops > MAX_REDIRECTS:
                raise DownloadError(f"{dest.name}: more than {MAX_REDIRECTS} redirects")
            current = urljoin(current, location)
            continue
        if res.error is not None and not res.retryable:
            raise DownloadError(f"{dest.name}: {res.error}")
        if res.complete and (res.expected is None or res.size == res.expected):
            os.replace(part, dest)
            return dest
        if res.status == 416 and unsatisfied_total(res.headers.get("content-range")) == offset > 0:
            os.replace(part, dest)  # the previous run had everything but the rename
            return dest
        reply = Reply(res.status, res.headers, res.body)
        if res.error is None and not res.complete and res.status not in (200, 206, 416) \
                and not ctx.provider.is_retryable(res.status, reply.json()):
            part.unlink(missing_ok=True)
            raise error_for_reply(ctx, reply, attempts.label, DownloadError)
        if res.error is None and res.status in (206, 416) and not res.complete:
            part.unlink(missing_ok=True)  # a range we cannot use: start over
        problem = res.error or (f"got {res.size} of {res.expected} bytes" if res.complete else f"HTTP {res.status}")
        if res.size > best:
            best, attempts.count = res.size, 0
        if not attempts.left:
            kept = f"; {part.name} is kept and a re-run resumes it" if part.exists() else ""
            raise DownloadError(f"{dest.name}: {problem} {attempts.tries}{kept}")
        yield from attempts.wait(f"{problem} at {res.size} bytes", None if res.error else res.headers)


# ---- executor side: writing the .part file and showing progress --------------------------------------


class Progress:
    """Reports a download's bytes to the progress sink (:mod:`ltxkit.progress`; the CLI draws it);
    ``enabled=False`` keeps this client's downloads out of it."""

    def __init__(self, enabled: bool | None = None) -> None:
        self.enabled = enabled is not False

    def update(self, label: str, completed: int, total: int | None, state: str = "downloading") -> None:
        if self.enabled:
            report(label, state, completed, total, "bytes")

    def close(self) -> None:
        """Nothing to release: the sink belongs to whoever installed it."""


class PartWriter:
    """Writes one response body into the ``.part`` file at the window :func:`body_window` chose.

    Each chunk is flushed so that a killed process leaves a ``.part`` whose size is what it holds.
    """

    def __init__(self, action: Fetch, window: tuple[int, int | None], progress: Progress) -> None:
        self.action, self.progress = action, progress
        self.start, self.expected = window
        self.action.part.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[bytes] = open(action.part, "r+b" if action.part.exists() else "wb")  # noqa: SIM115
        self._file.seek(self.start)
        self._file.truncate()
        self.size = self.start

    def write(self, chunk: bytes) -> None:
        self._file.write(chunk)
        self._file.flush()
        self.size += len(chunk)
        self.progress.update(self.action.label, self.size, self.expected)

    def __enter__(self) -> PartWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._file.close()
        if exc is None and (self.expected is None or self.size >= self.expected):
            self.progress.update(self.action.label, self.size, self.expected, "downloaded")


def fetch_headers(action: Fetch, auth_headers: Mapping[str, str]) -> dict[str, str]:
    """Request headers for one download attempt: identity encoding (so byte offsets mean file bytes),
    ``Range`` when resuming, and the key only when the plan allowed it for this origin."""
    headers = {"Accept-Encoding": "identity"}
    if action.offset:
        headers["Range"] = f"bytes={action.offset}-"
    if action.auth:
        headers.update(auth_headers)
    return headers


def part_size(part: Path) -> int:
    return part.stat().st_size if part.exists() else 0
