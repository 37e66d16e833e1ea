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
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO
from urllib.parse import unquote, urljoin, urlsplit

from ltxkit.errors import DownloadError
from ltxkit.jobs.config import limit_text
from ltxkit.jobs.plan import Attempts, Context, Fetch, FetchResult, Plan, Reply, error_for_reply
from ltxkit.jobs.transport import Abort, check_deadline
from ltxkit.progress import report

MAX_REDIRECTS = 10
PART_SUFFIX = ".part"
VALIDATOR_SUFFIX = ".validator"
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


def validator_path(part: Path) -> Path:
    """Where the ``If-Range`` validator of a ``.part`` file's bytes is kept (so a re-run may resume)."""
    return part.with_name(part.name + VALIDATOR_SUFFIX)


def validator_of(headers: Mapping[str, str]) -> str | None:
    """What ``If-Range`` may carry for an answer's bytes: a strong ETag, else Last-Modified."""
    etag = headers.get("etag", "").strip()
    if etag and not etag.startswith("W/"):
        return etag
    return headers.get("last-modified", "").strip() or None


@dataclass(frozen=True)
class Window:
    """Where an answer's body goes in the ``.part`` file: from ``start``; the whole file is ``expected``
    bytes when the server stated it; nothing past ``cap`` is written."""

    start: int
    expected: int | None
    cap: int
    validator: str | None


def body_window(status: int, headers: Mapping[str, str], fetch: Fetch) -> Window | str | None:
    """Where an answer's body goes (a :class:`Window`), why it is refused (a text), or None when it is
    not the file (an error, a redirect, or a range we cannot use: the plan starts over).

    200 is the whole file from 0; 206 is kept only at exactly ``fetch.offset`` and with the validator the
    ``.part`` was written under (else its bytes may belong to another file). Every size the server states
    — Content-Length, the Content-Range total, the job's report — must agree, and one must be stated
    unless chunked framing tells a cut body from a whole one. Encoded media is refused: its bytes are
    not the file's, and decoding would be unbounded.
    """
    if status not in (200, 206):
        return None
    encoding = headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        return f"refused {encoding}-encoded media (asked for Accept-Encoding: identity)"
    stated = set(fetch.sizes)
    length = headers.get("content-length", "")
    if status == 206:
        cr = parse_content_range(headers.get("content-range"))
        if cr is None or cr.start != fetch.offset or fetch.validator is None \
                or validator_of(headers) != fetch.validator:
            return None
        stated |= set() if cr.total is None else {cr.total}
        start = fetch.offset
    else:
        if length.isdigit():
            stated.add(int(length))
        elif "chunked" not in headers.get("transfer-encoding", "").lower() and not stated:
            return "the server states no size and ends the body by closing: a cut file would look whole"
        start = 0
    if len(stated) > 1:
        return f"the server states different sizes for the file: {' vs '.join(map(str, sorted(stated)))} bytes"
    expected = next(iter(stated), None)
    if expected is not None and expected > fetch.limits.max_download_bytes:
        return f"the file is {expected} bytes, over {limit_text('max_download_bytes', fetch.limits)}"
    cap = fetch.limits.max_download_bytes if expected is None else expected
    return Window(start, expected, cap, validator_of(headers))


def discard(part: Path) -> None:
    part.unlink(missing_ok=True)
    validator_path(part).unlink(missing_ok=True)


def download_plan(ctx: Context, url: str, dest: Path, sizes: tuple[int, ...] = (), *,
                  keyless: bool = False) -> Plan[Path]:
    """Download ``url`` to ``dest`` through ``dest.part``; resume an existing ``.part``.

    ``sizes``: what the job reported for this file. ``keyless``: never send the key, whatever the origin
    (a foreign file the client fetches to upload it). Transport failures, truncations and the answers the
    provider calls retryable (408/429/5xx) are retried by the one retry step
    (:class:`~ltxkit.jobs.plan.Attempts`); the retry count restarts whenever an attempt got further than
    any before, but the download as a whole has at most ``limits.download_attempts`` tries and
    ``limits.download_deadline`` seconds. A ``.part`` is resumed only under the validator its bytes came
    with. Other errors remove the ``.part`` and raise :class:`DownloadError`.
    """
    part, limits = part_path(dest), ctx.limits
    marker = validator_path(part)
    current = url
    best = part_size(part)
    attempts = Attempts(ctx, f"download {dest.name}", deadline=ctx.clock() + limits.download_deadline,
                        limit="download_deadline", error=DownloadError)
    hops = tries = 0
    while True:
        validator = marker.read_text() if part.exists() and marker.exists() else None
        if validator is None:
            discard(part)  # bytes nobody can vouch for: never append to them
        offset = part_size(part)
        key_ok = not keyless and same_origin(current, ctx.base_url)
        res: FetchResult = yield Fetch(current, part, offset, key_ok, dest.name, validator, sizes, attempts.deadline,
                                       limits)
        location = res.headers.get("location")
        if res.status in (301, 302, 303, 307, 308) and location and res.error is None:
            hops += 1
            if hops > MAX_REDIRECTS:
                raise DownloadError(f"{dest.name}: more than {MAX_REDIRECTS} redirects")
            current = urljoin(current, location)
            continue
        tries += 1
        if res.refused:
            discard(part)
            raise DownloadError(f"{dest.name}: {res.error}")
        if res.error is not None and not res.retryable:
            raise DownloadError(f"{dest.name}: {res.error}")
        if res.complete and (res.expected is None or res.size == res.expected):
            marker.unlink(missing_ok=True)
            os.replace(part, dest)
            return dest
        total = unsatisfied_total(res.headers.get("content-range"))
        if res.status == 416 and total == offset > 0 and set(sizes) <= {total}:
            marker.unlink(missing_ok=True)
            os.replace(part, dest)  # the previous run had everything but the rename
            return dest
        reply = Reply(res.status, res.headers, res.body)
        if res.error is None and not res.complete and res.status not in (200, 206, 416) \
                and not ctx.provider.is_retryable(res.status, reply.json()):
            discard(part)
            raise error_for_reply(ctx, reply, attempts.label, DownloadError)
        if res.error is None and res.status in (206, 416) and not res.complete:
            discard(part)  # a range we cannot use (or a changed file): start over
        problem = res.error or (f"got {res.size} of {res.expected} bytes" if res.complete else f"HTTP {res.status}")
        if res.size > best:
            best, attempts.count = res.size, 0
        if not marker.exists():
            discard(part)  # no validator: a re-run could not resume it, so keep nothing
        kept = f"; {part.name} is kept and a re-run resumes it" if part.exists() else ""
        if not attempts.left:
            raise DownloadError(f"{dest.name}: {problem} {attempts.tries}{kept}")
        if tries >= limits.download_attempts:
            raise DownloadError(f"{dest.name}: {problem} after {tries} tries in all "
                                f"({limit_text('download_attempts', limits)}){kept}")
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
    """Writes one response body into the ``.part`` file at the window :func:`body_window` chose, and
    stops it (:class:`~ltxkit.jobs.transport.Abort`) past the window's cap, below the minimum rate or at
    the deadline: the bounds of every download, for both client faces.

    Each chunk is flushed so that a killed process leaves a ``.part`` whose size is what it holds; a body
    written from 0 records its validator next to the ``.part`` (or that it has none, so it is never
    resumed).
    """

    def __init__(self, action: Fetch, window: Window, progress: Progress) -> None:
        self.action, self.window, self.progress = action, window, progress
        self.action.part.parent.mkdir(parents=True, exist_ok=True)
        marker = validator_path(action.part)
        if window.start == 0:
            marker.unlink(missing_ok=True)
        self._file: IO[bytes] = open(action.part, "r+b" if action.part.exists() else "wb")  # noqa: SIM115
        self._file.seek(window.start)
        self._file.truncate()
        if window.start == 0 and window.validator is not None:
            marker.write_text(window.validator)
        self.size = window.start
        self.began = time.monotonic()

    def write(self, chunk: bytes) -> None:
        limits, window = self.action.limits, self.window
        if self.size + len(chunk) > window.cap:
            stated = f"the {window.expected} bytes the server stated" if window.expected is not None \
                else limit_text("max_download_bytes", limits)
            raise Abort(f"the server sent more than {stated}", refused=True)
        self._file.write(chunk)
        self._file.flush()
        self.size += len(chunk)
        self.progress.update(self.action.label, self.size, window.expected)
        elapsed = time.monotonic() - self.began
        if elapsed >= limits.rate_window and (self.size - window.start) / elapsed < limits.min_download_rate:
            raise Abort(f"{self.size - window.start} bytes in {elapsed:.1f} s, slower than "
                        f"{limit_text('min_download_rate', limits)} bytes/s", retryable=True)
        check_deadline(self.action.deadline)

    def result(self, status: int, headers: Mapping[str, str]) -> FetchResult:
        """The attempt's outcome once the body ended normally."""
        return FetchResult(status, headers, self.size, True, self.window.expected)

    def __enter__(self) -> PartWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._file.close()
        expected = self.window.expected
        if exc is None and (expected is None or self.size >= expected):
            self.progress.update(self.action.label, self.size, expected, "downloaded")


def unwritten(fetch: Fetch, status: int, headers: Mapping[str, str], window: str | None,
              head: bytes = b"") -> FetchResult:
    """The outcome of an answer that is not the file: ``window`` is why it is refused (or None), ``head``
    the start of an error body."""
    return FetchResult(status, headers, part_size(fetch.part), error=window, retryable=window is None,
                       refused=window is not None, body=head)


def stopped(fetch: Fetch, status: int, headers: Mapping[str, str], stop: Abort) -> FetchResult:
    return FetchResult(status, headers, part_size(fetch.part), error=stop.message, retryable=stop.retryable,
                       refused=stop.refused)


ERROR_HEAD = 4096  # how much of an error answer to a download is read (for its message)


def fetch_headers(action: Fetch, auth_headers: Mapping[str, str]) -> dict[str, str]:
    """Request headers for one download attempt: identity encoding (so byte offsets mean file bytes),
    ``Range`` with ``If-Range`` when resuming (a changed file then comes whole, as a 200), and the key
    only when the plan allowed it for this origin."""
    headers = {"Accept-Encoding": "identity"}
    if action.offset and action.validator is not None:
        headers["Range"] = f"bytes={action.offset}-"
        headers["If-Range"] = action.validator
    if action.auth:
        headers.update(auth_headers)
    return headers


def part_size(part: Path) -> int:
    return part.stat().st_size if part.exists() else 0
