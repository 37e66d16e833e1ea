"""Running the emulator: in a background thread (tests, demo, notebooks) or in the foreground (CLI).

Both bind the listening socket themselves before uvicorn starts, so the port (``0`` = any free one)
and the base URL are known at once and a client connecting early just waits in the backlog::

    from ltxkit.emulator.server import EmulatorConfig, run_in_thread

    with run_in_thread(EmulatorConfig(faults="503=1")) as emu:
        httpx.get(f"{emu.base_url}/api/v1/balance", headers={"x-api-key": emu.api_key})
"""

from __future__ import annotations

import contextlib
import copy
import ipaddress
import shutil
import signal
import socket
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

import uvicorn
import uvicorn.config

from ltxkit.emulator.app import Emulator, RequestLog, RequestRecord
from ltxkit.emulator.config import EmulatorConfig
from ltxkit.errors import InputError, LtxkitError

__all__ = ["EmulatorConfig", "EmulatorHandle", "RequestLog", "RequestRecord", "run_in_thread", "serve"]

STARTUP_TIMEOUT_SECONDS = 15.0


def _bind(host: str, port: int) -> socket.socket:
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:
        family = socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on such sockets (else 40 ms stalls on keep-alive).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1" if host == "0.0.0.0" else "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class _Prepared:
    """Data directory, app, socket and uvicorn server of one run; ``cleanup`` undoes them."""

    def __init__(self, config: EmulatorConfig, log_config: dict[str, Any] | None = None) -> None:
        config.validate()
        self.sock = _bind(config.host, config.port)  # before anything is written: a busy port leaves nothing
        self.temp_dir = None if config.data_dir is not None else Path(tempfile.mkdtemp(prefix="ltxkit-emulator-"))
        data_dir = config.data_dir or self.temp_dir
        assert data_dir is not None
        self.data_dir: Path = data_dir
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self.emulator = Emulator(config, self.data_dir)
        except (OSError, sqlite3.Error) as exc:
            self._abandon()
            raise InputError(f"cannot use data directory {self.data_dir}: {exc}") from exc
        except BaseException:
            self._abandon()
            raise
        self.base_url = _base_url(self.sock)
        self.api_key = config.resolve_keys()[0]
        uv_config = uvicorn.Config(self.emulator.app, http="h11", ws="none", lifespan="on", log_config=log_config,
                                   log_level=config.log_level, access_log=config.log_level in ("debug", "trace"),
                                   timeout_graceful_shutdown=3)
        self.server = uvicorn.Server(uv_config)
        self.emulator.connections.server_state = self.server.server_state

    def _abandon(self) -> None:
        self.sock.close()
        if self.temp_dir is not None:
            shutil.rmtree(self.temp_dir, ignore_errors=True)

    def cleanup(self) -> None:
        self.emulator.store.close()
        self._abandon()


class EmulatorHandle:
    """A running in-process emulator: ``base_url``, ``api_key``, ``data_dir``; ``stop()`` or ``with``."""

    def __init__(self, prepared: _Prepared, thread: threading.Thread) -> None:
        self._prepared = prepared
        self._thread = thread
        self.base_url = prepared.base_url
        self.api_key = prepared.api_key
        self.data_dir: Path = prepared.data_dir
        self.emulator = prepared.emulator
        self._stopped = False

    def requests(self) -> RequestLog:
        """The requests served so far, oldest first (the last ``EmulatorConfig.request_log``; ``dropped``
        counts the others): method, path, status, query and headers (without credentials)."""
        return self.emulator.requests()

    def stop(self) -> None:
        """Stop serving, wait for the server thread (unfinished jobs stay resumable), release everything."""
        if self._stopped:
            return
        self._stopped = True
        self._prepared.server.should_exit = True
        self._thread.join()
        self._prepared.cleanup()

    def __enter__(self) -> EmulatorHandle:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def run_in_thread(config: EmulatorConfig | None = None) -> EmulatorHandle:
    """Start an emulator in a daemon thread on loopback and return once it serves requests."""
    prepared = _Prepared(config or EmulatorConfig())
    failure: list[BaseException] = []

    def target() -> None:
        try:
            prepared.server.run(sockets=[prepared.sock])
        except BaseException as exc:  # SystemExit from a failed lifespan included
            failure.append(exc)

    thread = threading.Thread(target=target, name="ltxkit-emulator", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while not prepared.server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            prepared.server.should_exit = True
            thread.join(timeout=5)
            prepared.cleanup()
            raise LtxkitError(f"the emulator did not start: {failure[0] if failure else 'timed out'}")
        time.sleep(0.005)
    return EmulatorHandle(prepared, thread)


def _stderr_logging(level: str) -> dict[str, Any]:
    """uvicorn's logging setup with every handler on stderr (its access log defaults to stdout)."""
    log_config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    log_config["handlers"]["access"]["stream"] = "ext://sys.stderr"
    log_config["loggers"]["ltxkit.emulator"] = {"handlers": ["default"], "level": level.upper(), "propagate": False}
    return log_config


def serve(config: EmulatorConfig, on_ready: Callable[[str, str | None], None]) -> None:
    """Serve in the foreground until SIGINT/SIGTERM; ``on_ready(base_url, generated_key)`` once bound.

    Unlike :func:`run_in_thread` (which leaves the host's logging alone) this configures logging:
    uvicorn's and the emulator's messages go to stderr, so stdout carries only what ``on_ready`` prints.
    """
    prepared = _Prepared(config, _stderr_logging(config.log_level))

    def terminate(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt  # uvicorn re-raises SIGTERM after its graceful shutdown: end like Ctrl-C

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        on_ready(prepared.base_url, config.generated_key)
        with contextlib.suppress(KeyboardInterrupt):
            prepared.server.run(sockets=[prepared.sock])
    finally:
        signal.signal(signal.SIGTERM, previous)
        prepared.cleanup()
