"""What crosses the wire, in no provider's terms: a request to send, and a job as the server reported it.

Providers (:mod:`ltxkit.jobs.providers`) build :class:`RequestSpec` values and parse answers into
:class:`Job` values; the plans (:mod:`ltxkit.jobs.plan`) send the one and hand back the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

JobState = Literal["running", "done", "failed"]


@dataclass(frozen=True)
class RequestSpec:
    """One API request, before authentication: safe to log, never holds the key.

    ``path`` is relative to the API base; ``auth=False`` marks endpoints that need no key (health).
    The body is ``json``, or raw ``content`` bytes, or multipart ``files`` (``{field: (name, bytes, mime)}``),
    for APIs whose upload step takes a file. ``idempotent=False`` marks a create the server cannot
    deduplicate (no idempotency key): it is not sent again after an answer that may have been lost.
    """

    method: str
    path: str
    params: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    auth: bool = True
    content: bytes | None = field(default=None, repr=False)
    files: Mapping[str, tuple[str, bytes, str]] | None = field(default=None, repr=False)
    idempotent: bool = True

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class Job:
    """A job's state as last reported by the server."""

    id: str
    state: JobState
    raw_status: str | None
    outputs: tuple[str, ...] = ()
    error: str | None = None
    payload: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    sizes: tuple[tuple[int, ...], ...] = field(default=(), compare=False, repr=False)  # per output, as stated

    def to_json(self) -> dict[str, Any]:
        return {"jobId": self.id, "status": self.state, "rawStatus": self.raw_status,
                "outputs": list(self.outputs), "error": self.error}


def dig(payload: object, path: str) -> object:
    """``dig(d, "result.jobId")`` → ``d["result"]["jobId"]`` or None when any step is missing."""
    node = payload
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def first(payload: object, paths: tuple[str, ...]) -> object:
    for path in paths:
        value = dig(payload, path)
        if value is not None and value != "":
            return value
    return None


SIZE_FIELDS = ("bytes", "sizeBytes", "size", "fileSize", "contentLength")
NAME_FIELDS = ("url", "name", "fileName", "filename")


def reported_sizes(payload: object, urls: tuple[str, ...]) -> tuple[tuple[int, ...], ...]:
    """Every byte size the payload states for each of ``urls``: an object anywhere in it holding a whole
    ``bytes``/``size``… next to a ``url`` equal to the output's or a ``name`` equal to its file name."""
    def last(url: str) -> str:
        return unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])

    found: dict[str, set[int]] = {}
    stack, seen = [payload], 0
    while stack and seen < 100_000:  # the payload is already bounded by the reply cap; this bounds the walk
        node, seen = stack.pop(), seen + 1
        if isinstance(node, Mapping):
            stack.extend(node.values())
            sizes = {v for k in SIZE_FIELDS if isinstance(v := node.get(k), int) and not isinstance(v, bool)
                     and v >= 0}
            for k in NAME_FIELDS:
                if sizes and isinstance(name := node.get(k), str) and name:
                    found.setdefault(name, set()).update(sizes)
        elif isinstance(node, list):
            stack.extend(node)
    return tuple(tuple(sorted(found.get(url, set()) | found.get(last(url), set()))) for url in urls)
