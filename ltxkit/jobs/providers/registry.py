"""Provider names → adapters. ``LTXKIT_PROVIDER`` (default ``media-jobs``) picks one for the CLI."""

from __future__ import annotations

import os
from collections.abc import Mapping

from ltxkit.errors import InputError
from ltxkit.jobs.provider import Provider
from ltxkit.jobs.providers.apex import APEX
from ltxkit.jobs.providers.base import Adapter
from ltxkit.jobs.providers.kubeez import KUBEEZ
from ltxkit.jobs.providers.media_jobs import MEDIA_JOBS_ADAPTER
from ltxkit.jobs.providers.zooop import ZOOOP
from ltxkit.jobs.providers.zsky import ZSKY

ENV_PROVIDER = "LTXKIT_PROVIDER"
DEFAULT_PROVIDER = "media-jobs"
PROVIDERS: dict[str, Adapter] = {a.name: a for a in (MEDIA_JOBS_ADAPTER, ZSKY, APEX, ZOOOP, KUBEEZ)}


def get_provider(name: str | None = None, env: Mapping[str, str] | None = None) -> Adapter:
    """The adapter called ``name`` (default: ``$LTXKIT_PROVIDER``, else media-jobs), for ``Client(provider=…)``."""
    if name is None:
        name = (os.environ if env is None else env).get(ENV_PROVIDER) or DEFAULT_PROVIDER
    try:
        return PROVIDERS[name.strip().lower()]
    except KeyError:
        raise InputError(f"unknown provider {name!r}; known: {', '.join(PROVIDERS)}") from None


def adapter_for(provider: Provider | str) -> Adapter:
    """The adapter for a name, an adapter, or a plain :class:`Provider` of a registered API (``MEDIA_JOBS``)."""
    if isinstance(provider, Adapter):
        return provider
    return get_provider(provider if isinstance(provider, str) else provider.name)
