"""Provider names → providers, and the capability table generated from what each declares.

``LTXKIT_PROVIDER`` (default ``media-jobs``) picks one for the CLI. The order here is the README
table's and the order in which refusals name the providers that can.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from ltxkit.errors import InputError
from ltxkit.jobs.providers import capabilities as _capabilities
from ltxkit.jobs.providers.apex import APEX
from ltxkit.jobs.providers.base import Provider, register
from ltxkit.jobs.providers.capabilities import Capabilities
from ltxkit.jobs.providers.kubeez import KUBEEZ
from ltxkit.jobs.providers.media_jobs import MEDIA_JOBS
from ltxkit.jobs.providers.request import ExtendRequest
from ltxkit.jobs.providers.zooop import ZOOOP
from ltxkit.jobs.providers.zsky import ZSKY

ENV_PROVIDER = "LTXKIT_PROVIDER"
DEFAULT_PROVIDER = "media-jobs"
PROVIDERS: Mapping[str, Provider] = register(MEDIA_JOBS, ZSKY, APEX, ZOOOP, KUBEEZ)
TABLE: Mapping[str, Capabilities] = {name: p.capabilities for name, p in PROVIDERS.items()}


def get_provider(name: str | None = None, env: Mapping[str, str] | None = None) -> Provider:
    """The provider called ``name`` (default: ``$LTXKIT_PROVIDER``, else media-jobs), for ``Client(provider=…)``."""
    if name is None:
        name = (os.environ if env is None else env).get(ENV_PROVIDER) or DEFAULT_PROVIDER
    try:
        return PROVIDERS[name.strip().lower()]
    except KeyError:
        raise InputError(f"unknown provider {name!r}; known: {', '.join(PROVIDERS)}") from None


def resolve(provider: Provider | str) -> Provider:
    """A provider, or the registered one of that name."""
    return get_provider(provider) if isinstance(provider, str) else provider


def capabilities(name: str) -> Capabilities:
    """The capability row of a provider; :class:`InputError` naming the known ones otherwise."""
    return get_provider(name).capabilities


def check_request(provider: Provider | str, request: ExtendRequest) -> None:
    """Refuse, before anything is read or sent, what the provider cannot do (``Provider.check_request``)."""
    resolve(provider).check_request(request)


def require(provider: Provider | str, capability: str) -> None:
    """An :class:`InputError` saying the provider has no ``capability`` (combine, upload, quote…)."""
    resolve(provider).require(capability)


def markdown_table() -> str:
    """The README's capability table, generated from what each registered provider declares."""
    return _capabilities.markdown_table(TABLE)
