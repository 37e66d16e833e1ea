"""The one provider class tree: :class:`Provider` describes a hosted jobs API and what it can do.

A provider is a description handed to the shared client: paths, id fields, status words, error shapes,
auth header and rate-limit signals, read by the one retry and polling policy in :mod:`ltxkit.jobs.plan`
(through :class:`~ltxkit.jobs.plan.ProviderApi`). It also knows what "extend this clip" means on its API
(plans for the steps some APIs need first: uploading a local frame, looking up a model or a source job),
and declares its :class:`~ltxkit.jobs.providers.capabilities.Capabilities` on itself. The optional
extras (upload, quote, cancel, purge, combine) are methods that refuse by default, naming the provider
and the registered providers that can. The defaults describe the media-jobs API; :class:`RestProvider`
holds what the four seed APIs share: a POST path per task, an id in the status path,
``{error, code|message}`` or ``{error: {message, code}}`` errors.

The media-jobs API documents the submit and status endpoints but not every status word, so statuses
are mapped through synonym sets and anything unknown counts as still running (the raw word is kept).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from types import MappingProxyType
from typing import Any, TypeVar
from urllib.parse import quote

from ltxkit.api_schema import MAX_PIXELS, SIZE_STEP, ValidatedInput
from ltxkit.errors import ApiError, BadRequestError, InputError
from ltxkit.jobs.models import KEY_PREFIX, JobRequest, input_hash
from ltxkit.jobs.plan import Context, Plan, json_plan
from ltxkit.jobs.pricebook import USD, Price
from ltxkit.jobs.providers.capabilities import NOUNS, Capabilities, SizeRule
from ltxkit.jobs.providers.request import ExtendRequest, MediaArg, Upload, media_upload
from ltxkit.jobs.retry import is_retryable_status, parse_retry_after
from ltxkit.jobs.wire import Job, JobState, RequestSpec, dig, first

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


PACKAGE = "ltxkit.jobs.providers"


def discover(package: str = PACKAGE) -> dict[str, Provider]:
    """The ``PROVIDER`` of each module in ``package``, by ``rank`` then name: a new provider is a new module."""
    found: dict[str, Provider] = {}
    for module in pkgutil.iter_modules(importlib.import_module(package).__path__):
        provider = getattr(importlib.import_module(f"{package}.{module.name}"), "PROVIDER", None)
        if isinstance(provider, Provider) and found.setdefault(provider.name, provider) is not provider:
            raise TypeError(f"two provider modules in {package} are called {provider.name!r}")
    return dict(sorted(found.items(), key=lambda item: (item[1].rank, item[0])))


class Registry(Mapping[str, "Provider"]):
    """The providers :func:`discover` finds, looked for on first use (provider modules import this one).

    Its order is the README table's and the order in which refusals name the providers that can;
    :meth:`refresh` forgets what was found, so a module added since (a test's) is found too.
    """

    def __init__(self, package: str = PACKAGE) -> None:
        self.package = package
        self._found: dict[str, Provider] | None = None

    def _providers(self) -> dict[str, Provider]:
        if self._found is None:
            self._found = discover(self.package)
        return self._found

    def refresh(self) -> None:
        self._found = None

    def __getitem__(self, name: str) -> Provider:
        return self._providers()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._providers())

    def __len__(self) -> int:
        return len(self._providers())


REGISTERED = Registry()


def alternatives(capability: str, exclude: str) -> str:
    """"use a or b": the registered providers that can do ``capability`` (for a refusal's last words)."""
    names = [n for n, p in REGISTERED.items() if p.capabilities.supports(capability) and n != exclude]
    return "use " + " or ".join(names) if names else "no provider here can"


@dataclass(frozen=True)
class Provider:
    """Description of a hosted jobs API. Defaults describe the media-jobs API (``MEDIA_JOBS``)."""

    name: str = "media-jobs"
    # where the README table and refusals list it: media-jobs (the primary API) first, then the seeds' order
    rank: int = 0
    submit_path: str = "/api/v1/media/jobs"
    status_path: str = "/api/v1/media/jobs"
    status_id_param: str = "jobId"
    details_params: Mapping[str, str] = field(default_factory=lambda: frozen({"includeDetails": "1"}))
    balance_path: str = "/api/v1/balance"
    health_path: str = "/api/v1/health"
    idempotency_header: str = "X-Idempotency-Key"
    idempotency_body_field: str | None = "idempotencyKey"
    # documented order: externalJobId // jobId // result.jobId // id
    job_id_fields: tuple[str, ...] = ("externalJobId", "jobId", "result.jobId", "id")
    status_fields: tuple[str, ...] = ("status", "state", "result.status", "job.status")
    outputs_fields: tuple[str, ...] = ("downloadableOutputUrls", "result.downloadableOutputUrls")
    error_fields: tuple[str, ...] = ("error", "errorMessage", "result.error", "failureReason")
    done_words: frozenset[str] = frozenset({
        "completed", "complete", "succeeded", "success", "successful", "done", "finished",
    })
    failed_words: frozenset[str] = frozenset({
        "failed", "failure", "error", "errored", "cancelled", "canceled", "blocked", "rejected", "aborted",
        "expired", "timed_out",
    })
    # The one auth header the API accepts ("bearer" or "x-api-key"); None: the configured style.
    auth_style: str | None = None
    # ClientConfig options this API wants unless LTXKIT_* or explicit options say otherwise
    # (its base URL, the polling pace it documents, its concurrent-job limit).
    config_defaults: Mapping[str, object] = field(default_factory=lambda: frozen({}))
    # native task name -> POST path, for ``ltxkit jobs submit TASK --provider NAME`` with the API's own body
    tasks: Mapping[str, str] = field(default_factory=lambda: frozen({}))
    capabilities: Capabilities = field(default_factory=Capabilities)
    # at most (count, seconds) requests of any kind per key, polls included, when the API documents one
    request_window: tuple[int, float] | None = None
    # the output sizes the API renders (media-jobs: multiples of 32 up to 4 MP)
    sizes: SizeRule = field(default_factory=lambda: SizeRule(SIZE_STEP, MAX_PIXELS))
    # money: where answers say what a job was billed and what the account holds, in which unit. The
    # media-jobs document says billing comes back from the submit but not in which field, nor the balance's
    # shape: every plausible reading is accepted (dollars, or cents where the field says so).
    money_unit: str = USD
    billing_fields: tuple[str, ...] = ("billing.chargedUsd", "billing.amountUsd", "billing.usd", "chargedUsd",
                                       "costUsd", "priceUsd", "billing.chargedCents", "chargedCents")
    funds_fields: tuple[str, ...] = ("balanceUsd", "balance.usd", "balance.balanceUsd", "usdBalance", "availableUsd",
                                     "usd", "balance", "balanceCents", "usdCents", "balance.usdCents")

    # ---- the wire: requests and answers (what the plans call, see ltxkit.jobs.plan.ProviderApi) ---------

    def submit_request(self, task: str, input_: Mapping[str, Any], key: str) -> RequestSpec:
        """The create call; the idempotency key goes in the header and (if the API has one) the body."""
        body: dict[str, Any] = {"task": task, "input": dict(input_)}
        if self.idempotency_body_field:
            body[self.idempotency_body_field] = key
        return RequestSpec("POST", self.submit_path, json=body, headers={self.idempotency_header: key})

    def status_request(self, job_id: str, details: bool = False) -> RequestSpec:
        params = {self.status_id_param: job_id, **(self.details_params if details else {})}
        return RequestSpec("GET", self.status_path, params=params)

    def balance_request(self) -> RequestSpec:
        return RequestSpec("GET", self.balance_path)

    def health_request(self) -> RequestSpec:
        return RequestSpec("GET", self.health_path, auth=False)

    def map_status(self, raw: str | None) -> JobState:
        word = (raw or "").strip().lower().replace("-", "_").replace(" ", "_")
        if word in self.done_words:
            return "done"
        if word in self.failed_words:
            return "failed"
        return "running"

    def job_id(self, payload: object) -> str | None:
        value = first(payload, self.job_id_fields)
        return None if value is None or isinstance(value, (dict, list, bool)) else str(value)

    def outputs(self, payload: object) -> tuple[str, ...]:
        value = first(payload, self.outputs_fields)
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, list):
            return ()
        urls: list[str] = []
        for item in value:
            url = item.get("url") if isinstance(item, Mapping) else item
            if isinstance(url, str) and url:
                urls.append(url)
        return tuple(urls)

    def error_text(self, payload: object) -> tuple[str | None, object]:
        """The server's ``error`` text and ``details`` (any JSON) from an error body or a failed job."""
        error = first(payload, self.error_fields)
        if isinstance(error, Mapping):  # {"error": {"message": ...}} shapes
            error = error.get("message") or error.get("error") or str(dict(error))
        details = dig(payload, "details")
        return (None if error is None else str(error)), details

    def retry_hint(self, headers: Mapping[str, str], body: bytes, now: float) -> float | None:
        """Seconds the server asked us to wait before trying again (``Retry-After``), or None.

        Subclasses add their API's other signals (a ``retry_after`` body field, ``X-RateLimit-Reset``).
        """
        return parse_retry_after(headers.get("retry-after"), now)

    def is_retryable(self, status: int, payload: object) -> bool:
        """Whether an error answer (to a request or a download) is worth retrying: 408/429/5xx, unless
        the API says a 429 is final."""
        return is_retryable_status(status)

    def error_class(self, status: int, payload: object) -> type[ApiError] | None:
        """The error type for an answer when the API gives a status another meaning (None: by status)."""
        return None

    def unsure_create(self, status: int, payload: object) -> str | None:
        """Why an error answer to a create the API cannot deduplicate may still mean the job exists (its
        document says so), so it must not be sent again blindly; None: the answer means it was not made."""
        return None

    def unsent_reason(self) -> str:
        """What to check before sending a possibly-done create again (the API's way to look the job up)."""
        return "check before retrying"

    def parse_job(self, payload: Mapping[str, Any], known_id: str | None = None) -> Job:
        """A submit or status response → :class:`Job`. ``known_id`` fills in when the body has no id."""
        job_id = self.job_id(payload) or known_id
        if job_id is None:
            raise ValueError("no job id in the response")
        raw = first(payload, self.status_fields)
        raw_status = None if raw is None else str(raw)
        state = self.map_status(raw_status)
        error = self.error_text(payload)[0] if state == "failed" else None
        return Job(job_id, state, raw_status, self.outputs(payload), error, payload)

    # ---- money ---------------------------------------------------------------------------------------

    def _amount(self, payload: object, fields: tuple[str, ...]) -> Price | None:
        for path in fields:
            price = Price.parse(dig(payload, path), self.money_unit)
            if price is not None:
                cents = path.lower().endswith("cents")
                return Price(price.amount / 100, price.unit) if cents else price
        return None

    def charged(self, payload: object) -> Price | None:
        """What a submit (or status) answer says the job was billed; None when it does not say."""
        return self._amount(payload, self.billing_fields)

    def funds(self, payload: object) -> Price | None:
        """What the balance answer says the account can still spend; None when it cannot be read."""
        return self._amount(payload, self.funds_fields)

    def funds_limit(self, payload: object) -> tuple[str, str]:
        """What limits :meth:`funds`, in a stop line's words, and what the user can do about it."""
        return "the balance", "top up"

    def documented_price(self, request: JobRequest) -> Price | None:
        """The price the API's document fixes for this request (a flat price), else None."""
        return None

    def quoted(self, payload: Mapping[str, Any]) -> Price | None:
        """The price in a quote answer (see :meth:`quote_request`)."""
        raise self.unsupported("quote")

    # ---- capabilities: honest refusals before anything is read or sent ----------------------------------

    def unsupported(self, capability: str) -> InputError:
        """The error for a capability this API lacks: names the provider, why not, and who can."""
        remark = self.capabilities.remarks.get(capability)
        return InputError(f"provider {self.name} has no {NOUNS[capability]}" + (f" ({remark})" if remark else "")
                          + f"; {alternatives(capability, self.name)}")

    def require(self, capability: str) -> None:
        if not self.capabilities.supports(capability):
            raise self.unsupported(capability)

    def check_request(self, request: ExtendRequest) -> None:
        """Refuse, before anything is read or sent, what this API cannot do."""
        name, caps = self.name, self.capabilities
        frames = len(request.conditioning)
        if request.size is not None:
            self.sizes.check(name, *request.size)
        if request.source_job_id is not None:
            if not caps.server_extend:
                raise InputError(f"provider {name} cannot extend a job by its id (no server-side extend); pass "
                                 f"the clip's last frames instead, or {alternatives('server_extend', name)}")
            if frames or request.reference_audio is not None:
                raise InputError(f"provider {name}: a server-side extend takes the source job id and a prompt "
                                 "only; drop the overlap frames / last frame / reference audio")
        if frames > 1 and not caps.overlap_frames:
            if caps.last_frame:
                raise InputError(f"provider {name} conditions on one last frame only; pass --overlap 1 or "
                                 f"{alternatives('overlap_frames', name)}")
            raise InputError(f"provider {name} cannot condition on frames "
                             f"({caps.remarks.get('overlap_frames', 'no')}); {alternatives('overlap_frames', name)}")
        if frames == 1 and not (caps.last_frame or caps.overlap_frames):
            raise InputError(f"provider {name} cannot start from a frame ({caps.remarks.get('last_frame', 'no')}); "
                             f"{alternatives('last_frame', name)}")
        if request.reference_audio is not None and not caps.reference_audio:
            raise InputError(f"provider {name} takes no reference audio; drop it or "
                             f"{alternatives('reference_audio', name)}")

    # ---- building requests ---------------------------------------------------------------------------

    def translates(self, task: str) -> bool:
        """Whether ``jobs submit TASK`` with a media-jobs input goes through the neutral request here
        (media-jobs itself takes its own tasks as they are)."""
        return False

    def task_for(self, request: ExtendRequest) -> str:
        """The task name a neutral request becomes (known before any upload, so the journal can key on it)."""
        return "video.generate"

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
        """A request in the API's own terms, passed through (validated by the media-jobs rules here)."""
        return JobRequest.build(task, input_, key)

    # ---- optional steps; each refuses unless the provider has it ------------------------------------

    def upload_request(self, upload: Upload) -> RequestSpec:
        raise self.unsupported("uploads")

    def uploaded_url(self, payload: Mapping[str, Any]) -> str | None:
        raise self.unsupported("uploads")

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
        raise self.unsupported("quote")

    def cancel_request(self, job_id: str) -> RequestSpec:
        raise self.unsupported("cancel")

    def purge_request(self, job_id: str) -> RequestSpec:
        """Delete a finished job's outputs from the provider's storage now."""
        raise self.unsupported("purge")

    def combine_request(self, video_urls: Sequence[str], overlap_at_clip_fps: int | None = None,
                        fps: Fraction | int | None = None, key: str | None = None) -> JobRequest:
        """A server-side join of clips."""
        raise self.unsupported("combine")

    def combine_price(self, clips: int) -> Price:
        """What joining ``clips`` clips on the server costs (asked before the clips exist)."""
        raise self.unsupported("combine")


@dataclass(frozen=True)
class RestProvider(Provider):
    """The shape the four seed APIs share. ``status_path`` may hold ``{id}``; ``health_path`` "" = none."""

    idempotency_header: str = ""  # "" = the API has no idempotency key: creates are never sent twice
    idempotency_body_field: str | None = None
    details_params: Mapping[str, str] = field(default_factory=lambda: frozen({}))
    health_path: str = ""
    status_fields: tuple[str, ...] = ("status",)
    error_fields: tuple[str, ...] = ("error",)
    done_words: frozenset[str] = frozenset({"completed"})
    sizes: SizeRule = field(default_factory=SizeRule)  # any size: the model's own options decide (or it is noted)
    billing_fields: tuple[str, ...] = ()
    funds_fields: tuple[str, ...] = ()

    def translates(self, task: str) -> bool:
        return task == "video.generate"

    def task_path(self, task: str) -> str:
        try:
            return self.tasks[task]
        except KeyError:
            raise InputError(f"provider {self.name} has no task {task!r}; known: {', '.join(self.tasks)}") from None

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
