"""The review web app (Starlette on loopback): the page, ``GET /api/run``, ``POST /api/pick``, the media.

Media are served with HTTP Range (Starlette's ``FileResponse``), so ``<video>`` can seek. Only files the
run names are served, only to requests addressed to a loopback name (a page elsewhere cannot reach
the run through DNS rebinding), and a pick must be a same-origin JSON request.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ltxkit.errors import InputError, LtxkitError
from ltxkit.workflow import review
from ltxkit.workflow.review_page import PAGE

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]", "::1")
STARTUP_TIMEOUT_SECONDS = 15.0


def check_host(host: str) -> None:
    """Loopback only, like the emulator: the run's files and picks are the user's alone."""
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise InputError(f"--host {host}: review serves on a loopback address only (127.0.0.1, ::1 or localhost)")


class LoopbackHostOnly:
    """Answer only requests whose Host header is a loopback name (defeats DNS rebinding)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
            name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            if name not in LOOPBACK_NAMES:
                await JSONResponse({"error": "not a loopback host"}, status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _error(exc: Exception) -> JSONResponse:
    status = 400 if isinstance(exc, InputError) else 409 if isinstance(exc, LtxkitError) else 500
    return JSONResponse({"error": str(exc)}, status_code=status)


def create_app(run_dir: Path, log: Callable[[str], None] = lambda _m: None) -> Starlette:
    run = review.open_review(run_dir)

    def page(request: Request) -> Response:
        return HTMLResponse(PAGE)

    def api_run(request: Request) -> Response:
        try:
            return JSONResponse(review.describe(review.reload(run)))
        except LtxkitError as exc:
            return _error(exc)

    async def api_pick(request: Request) -> Response:
        origin = request.headers.get("origin")
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json" or (
                origin is not None and origin != f"http://{request.headers.get('host')}"):
            return JSONResponse({"error": "a pick is a same-origin JSON request"}, status_code=403)
        try:
            body = await request.json()
            segment, candidate = body["segment"], body["candidate"]
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in (segment, candidate)):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": 'send {"segment": S, "candidate": C} (numbers from 1)'}, status_code=400)
        from starlette.concurrency import run_in_threadpool

        try:
            result = await run_in_threadpool(review.pick, run, segment, candidate, log=log)
        except LtxkitError as exc:
            return _error(exc)
        return JSONResponse(result.to_json())

    def media(find: Callable[[Request], Path]) -> Callable[[Request], Response]:
        def endpoint(request: Request) -> Response:
            try:
                path = find(request)
            except InputError as exc:
                return JSONResponse({"error": str(exc)}, status_code=404)
            except LtxkitError as exc:
                return _error(exc)
            return FileResponse(path, media_type="video/mp4" if path.suffix == ".mp4" else None)
        return endpoint

    def seam(request: Request) -> Path:
        p = request.path_params
        return review.seam_preview(review.reload(run), p["segment"], p["candidate"])

    def candidate(request: Request) -> Path:
        p = request.path_params
        return review.candidate_file(review.reload(run), p["segment"], p["candidate"])

    def named(name: str) -> Callable[[Request], Path]:
        def find(request: Request) -> Path:
            path = run.path / name
            if not path.is_file():
                raise InputError(f"{name} is not there (yet)")
            return path
        return find

    routes = [
        Route("/", page),
        Route("/api/run", api_run),
        Route("/api/pick", api_pick, methods=["POST"]),
        Route("/media/seam/{segment:int}/{candidate:int}.mp4", media(seam)),
        Route("/media/candidate/{segment:int}/{candidate:int}.mp4", media(candidate)),
        Route("/media/extended.mp4", media(named("extended.mp4"))),
        Route("/report", media(named("report/report.html"))),
    ]
    app = Starlette(routes=routes)
    app.add_middleware(LoopbackHostOnly)
    return app


class ReviewServer:
    """uvicorn serving the app in a thread; ``url`` once it listens, ``stop()`` (or ``with``) to end."""

    def __init__(self, run_dir: Path, host: str = "127.0.0.1", port: int = 0,
                 log: Callable[[str], None] = lambda _m: None) -> None:
        import uvicorn

        check_host(host)
        app = create_app(run_dir, log)
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, http="h11", ws="none",
                                                    lifespan="off", log_level="warning"))
        self.failure: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, name="ltxkit-review", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise InputError(f"cannot serve on {host}:{port}"
                                 + (f": {self.failure[0]}" if self.failure else ""))
            time.sleep(0.005)
        sock_host, sock_port = self.server.servers[0].sockets[0].getsockname()[:2]
        self.url = f"http://[{sock_host}]:{sock_port}/" if ":" in sock_host else f"http://{sock_host}:{sock_port}/"

    def _run(self) -> None:
        try:
            self.server.run()
        except BaseException as exc:  # SystemExit when the port is taken
            self.failure.append(exc)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def __enter__(self) -> ReviewServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def serve_forever(server: ReviewServer, on_ready: Callable[[str], None]) -> None:
    """Block until Ctrl-C (the CLI)."""
    on_ready(server.url)
    try:
        while server.thread.is_alive():
            server.thread.join(timeout=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
