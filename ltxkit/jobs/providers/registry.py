"""Provider names → providers, and the capability table generated from what each declares.

Every module of this package that sets ``PROVIDER`` is found (:class:`~ltxkit.jobs.providers.base.Registry`),
listed by its ``rank``: the README table's order and the order in which refusals name the providers that
can. ``LTXKIT_PROVIDER`` (default ``media-jobs``) picks one for the CLI.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping

from ltxkit.errors import InputError
from ltxkit.jobs.providers import capabilities as _capabilities
from ltxkit.jobs.providers.base import REGISTERED, Provider
from ltxkit.jobs.providers.capabilities import Capabilities
from ltxkit.jobs.providers.request import ExtendRequest

ENV_PROVIDER = "LTXKIT_PROVIDER"
DEFAULT_PROVIDER = "media-jobs"
PROVIDERS: Mapping[str, Provider] = REGISTERED


class _Table(Mapping[str, Capabilities]):
    """Each provider's capability row, in the registry's order (read through, so it never goes stale)."""

    def __getitem__(self, name: str) -> Capabilities:
        return PROVIDERS[name].capabilities

    def __iter__(self) -> Iterator[str]:
        return iter(PROVIDERS)

    def __len__(self) -> int:
        return len(PROVIDERS)


TABLE: Mapping[str, Capabilities] = _Table()


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
