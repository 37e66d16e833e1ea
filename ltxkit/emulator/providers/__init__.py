"""The four other hosted APIs of the seed documents, emulated on the same server as media-jobs.

Each is mounted under its own prefix (``/zsky``, ``/apex``, ``/zooop``, ``/kubeez``), so one
``ltxkit serve`` answers them all: a client of ZSky uses ``LTXKIT_API_BASE=http://127.0.0.1:8787/zsky``.
They share the emulator's keys, store, runner, files and fault injection (see
:mod:`~ltxkit.emulator.providers.common`), and each follows its seed: paths, auth header, body and error
shapes, status words, rate-limit windows and headers, money model. Limits are attributes of the
provider objects (``providers_of(emulator).apex.limits``) so tests can shrink them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from starlette.routing import BaseRoute, Mount

from ltxkit.emulator.providers.apex import ApexApi
from ltxkit.emulator.providers.common import UNSAFE_OUTPUT, UNSAFE_PROMPT, Backend
from ltxkit.emulator.providers.kubeez import KubeezApi
from ltxkit.emulator.providers.zooop import ZooopApi
from ltxkit.emulator.providers.zsky import ZSkyApi

if TYPE_CHECKING:
    from ltxkit.emulator.app import Emulator

__all__ = ["UNSAFE_OUTPUT", "UNSAFE_PROMPT", "EmulatedProviders", "provider_routes", "providers_of"]


@dataclass
class EmulatedProviders:
    zsky: ZSkyApi
    apex: ApexApi
    zooop: ZooopApi
    kubeez: KubeezApi

    def mounts(self) -> list[BaseRoute]:
        return [Mount(f"/{name}", routes=api.routes()) for name, api in vars(self).items()]


_STATE: WeakKeyDictionary[Emulator, EmulatedProviders] = WeakKeyDictionary()


def provider_routes(emulator: Emulator) -> list[BaseRoute]:
    """The provider mounts for ``emulator``'s Starlette routes (what ``Emulator.__init__`` adds)."""
    backend = Backend(emulator)
    providers = EmulatedProviders(ZSkyApi(backend), ApexApi(backend), ZooopApi(backend), KubeezApi(backend))
    _STATE[emulator] = providers
    return providers.mounts()


def providers_of(emulator: Emulator) -> EmulatedProviders:
    """The state behind ``emulator``'s provider routes: limits, counters, webhook deliveries."""
    return _STATE[emulator]
