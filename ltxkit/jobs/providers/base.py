"""The adapter seam: a :class:`~ltxkit.jobs.provider.Provider` that can also build "extend this clip".

An :class:`Adapter` is still only a description handed to the shared client: paths, id fields, status
words, error shapes, auth header and rate-limit signals, read by the one retry and polling policy in
:mod:`ltxkit.jobs._core`. What it adds are plans (generators run by either client face) for the steps
some APIs need before a submit: uploading a local frame, looking up a model or a source job, and the
optional extras (quote, cancel). :class:`RestAdapter` holds what the four seed APIs share: a POST path
per task, an id in the status path, ``{error, code|message}`` or ``{error: {message, code}}`` errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar
from urllib.parse import quote

from ltxkit.api_schema import ValidatedInput
from ltxkit.errors import ApiError, BadRequestError, InputError
from ltxkit.jobs._core import Context, Plan, json_plan
from ltxkit.jobs.models import KEY_PREFIX, JobRequest, input_hash
from ltxkit.jobs.provider import Provider, RequestSpec, dig
from ltxkit.jobs.providers.capabilities import Capabilities, capabilities, require
from ltxkit.jobs.providers.request import ExtendRequest, MediaArg, Upload, media_upload

T = TypeVar("T")


def frozen(d: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(d))


def pure(value: T) -> Plan[T]:
    """A plan that needs no request: ``yield from pure(x)`` is ``x``."""
    return value
    yield  # unreachable: makes this a generator


@dataclass(frozen=True)
class Built:
    """A provider request ready to submit: its task name, body, and the adjustments made to reach it."""

    task: str
    body: dict[str, Any]
    notes: tuple[str, ...] = ()

    def job_request(self, key: str, digest: str) -> JobRequest:
        return JobRequest(self.task, self.body, key, digest, ValidatedInput(self.task, self.body, list(self.notes)))


def check_key(key: str | None) -> None:
    if key is not None and (not key.strip() or len(key) > 255 or any(not 0x21 <= ord(c) <= 0x7E for c in key)):
        raise InputError("--idempotency-key must be 1..255 printable ASCII characters without spaces")


@dataclass(frozen=True)
class Adapter(Provider):
    """A provider description that also knows what "extend this clip" means on its API."""

    # native task name -> POST path, for ``ltxkit jobs submit TASK --provider NAME`` with the API's own body
    tasks: Mapping[str, str] = field(default_factory=lambda: frozen({}))

    @property
    def caps(self) -> Capabilities:
        return capabilities(self.name)

    def task_for(self, request: ExtendRequest) -> str:
        """The task name a neutral request becomes (known before any upload, so the journal can key on it)."""
        raise NotImplementedError

    def build(self, request: ExtendRequest) -> Built | None:
        """The provider's request when building it needs no request of its own (else None: see build_plan)."""
        return None

    def build_plan(self, ctx: Context, request: ExtendRequest) -> Plan[Built]:
        """The provider's request for a checked neutral request; may upload media or look things up."""
        built = self.build(request)
        if built is None:
            raise NotImplementedError(f"{type(self).__name__} must define build or build_plan")
        return (yield from pure(built))

    def native_request(self, task: str, input_: Mapping[str, Any], key: str | None) -> JobRequest:
        """A request in the API's own terms, passed through (the server validates it)."""
        if task not in self.tasks:
            raise InputError(f"provider {self.name} has no task {task!r}; known: video.generate (translated), "
                             f"{', '.join(self.tasks)}")
        check_key(key)
        body = dict(input_)
        try:
            digest = input_hash(task, body)
        except (TypeError, ValueError) as exc:
            raise InputError(f"input is not plain JSON: {exc}") from None
        return Built(task, body).job_request(key or KEY_PREFIX + digest[:32], digest)

    # ---- optional steps; each refuses by the capability table when the API has none ------------------

    def upload_request(self, upload: Upload) -> RequestSpec:
        require(self.name, "uploads")
        raise NotImplementedError

    def uploaded_url(self, payload: Mapping[str, Any]) -> str | None:
        raise NotImplementedError

    def upload_plan(self, ctx: Context, value: MediaArg, field_name: str, kind: str) -> Plan[str]:
        """The URL the API should read ``value`` from: a URL as is, a local/inline file uploaded first."""
        got = media_upload(value, field_name, kind)
        if isinstance(got, str):
            return got
        spec = self.upload_request(got)
        payload = yield from json_plan(ctx, spec)
        url = self.uploaded_url(payload)
        if not url:
            raise ApiError(f"{spec.label}: the answer has no URL for {got.filename}")
        return url

    def quote_request(self, body: Mapping[str, Any]) -> RequestSpec:
        require(self.name, "quote")
        raise NotImplementedError

    def cancel_request(self, job_id: str) -> RequestSpec:
        require(self.name, "cancel")
        raise NotImplementedError


@dataclass(frozen=True)
class RestAdapter(Adapter):
    """The shape the four seed APIs share. ``status_path`` may hold ``{id}``; ``health_path`` "" = none."""

    idempotency_header: str = ""  # "" = the API has no idempotency key: creates are never sent twice
    idempotency_body_field: str | None = None
    details_params: Mapping[str, str] = field(default_factory=lambda: frozen({}))
    health_path: str = ""

    def task_path(self, task: str) -> str:
        try:
            return self.tasks[task]
        except KeyError:
            raise InputError(f"provider {self.name} has no task {task!r}; known: {', '.join(self.tasks)}") from None

    def submit_request(self, task: str, input_: Mapping[str, Any], key: str) -> RequestSpec:
        headers = {self.idempotency_header: key} if self.idempotency_header else {}
        return RequestSpec("POST", self.task_path(task), json=dict(input_), headers=headers,
                           idempotent=bool(self.idempotency_header))

    def id_path(self, template: str, job_id: str) -> str:
        return template.format(id=quote(job_id, safe=""))

    def status_request(self, job_id: str, details: bool = False) -> RequestSpec:
        if "{id}" in self.status_path:
            return RequestSpec("GET", self.id_path(self.status_path, job_id))
        return super().status_request(job_id, details)

    def health_request(self) -> RequestSpec:
        if not self.health_path:
            raise InputError(f"provider {self.name} documents no health endpoint")
        return super().health_request()

    def error_text(self, payload: object) -> tuple[str | None, object]:
        """``{error: {message, code, type…}}`` (OpenAI style), ``{error: text, code}``, or ``{error: code,
        message: text}``: the text, and the machine-readable code (plus extras) as details."""
        node = dig(payload, "error")
        if node is None:
            node = dig(payload, "data.error")
        extra: dict[str, Any] = {}
        if isinstance(node, Mapping):
            text, code = node.get("message"), node.get("code")
            extra = {k: node[k] for k in ("type", "param", "params", "labels") if node.get(k) is not None}
        elif dig(payload, "code") is None and isinstance(dig(payload, "message"), str) and isinstance(node, str):
            text, code = dig(payload, "message"), node
        else:
            text, code = node, dig(payload, "code")
        details = {"code": code, **extra} if code is not None else (extra or None)
        return (None if text is None else str(text)), details

    def error_code(self, payload: object) -> str | None:
        details = self.error_text(payload)[1]
        code = details.get("code") if isinstance(details, Mapping) else None
        return None if code is None else str(code)

    def error_class(self, status: int, payload: object) -> type[ApiError] | None:
        # 413 (too large) and 451 (content refused) are about the request: not retried, exit 2
        return BadRequestError if status in (413, 451) else None
