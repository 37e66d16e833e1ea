"""The four other hosted APIs of the seed documents, emulated on the same server as media-jobs.

Each is mounted under its own prefix (``/zsky``, ``/apex``, ``/zooop``, ``/kubeez``), so one
``ltxkit serve`` answers them all: a client of ZSky uses ``LTXKIT_API_BASE=http://127.0.0.1:8787/zsky``.
They share the emulator's keys, store, runner, files and request steps (see
:mod:`~ltxkit.emulator.providers.common` and :mod:`~ltxkit.emulator.web`), and each follows its seed:
paths, auth header, body and error shapes, status words, rate-limit windows and headers, money model.

Every module of this package that sets ``API`` (a :class:`ProviderApi` subclass) is a provider: adding
one is adding its module. Limits are attributes of the provider objects, which live on the emulator
(``emulator.providers.apex.limits``), so tests can shrink them.
"""

from __future__ import annotations

import importlib
import pkgutil

from ltxkit.emulator.providers.common import UNSAFE_OUTPUT, UNSAFE_PROMPT, Backend, ProviderApi

__all__ = ["UNSAFE_OUTPUT", "UNSAFE_PROMPT", "EmulatedProviders", "provider_classes"]


def provider_classes() -> list[type[ProviderApi]]:
    """The ``API`` class of every provider module here, by name."""
    found = []
    for module in pkgutil.iter_modules(__path__):
        api = getattr(importlib.import_module(f"{__name__}.{module.name}"), "API", None)
        if isinstance(api, type) and issubclass(api, ProviderApi):
            found.append(api)
    return sorted(found, key=lambda api: api.name)


class EmulatedProviders(dict[str, ProviderApi]):
    """One emulator's provider APIs by name; ``providers.zsky`` reads ``providers["zsky"]``."""

    def __init__(self, backend: Backend) -> None:
        super().__init__((api.name, api(backend)) for api in provider_classes())

    def __getattr__(self, name: str) -> ProviderApi:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None
