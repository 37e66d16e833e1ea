"""The request steps every emulated API shares (:mod:`ltxkit.emulator.web`), checked on every route.

Regression: the "absurdly nested JSON is a 400" fix once reached only media-jobs; a nested body to
``/zsky/v1/videos/generate`` answered 500 with a logged traceback. Every route that takes a body is
listed from the app itself, so a new provider's routes are covered without editing this file, and every
answer must be in the answering API's own error shape (media-jobs, ZSky, Apex, ZOOOP, Kubeez differ).
"""

from __future__ import annotations

import base64
import itertools
import json
import logging
import struct
import tempfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.routing import BaseRoute, Mount, Route
from web import WEB

from ltxkit.emulator.app import Emulator
from ltxkit.emulator.faults import MAX_HEADER_BUDGETS, FaultBook
from ltxkit.emulator.server import EmulatorConfig, EmulatorHandle, run_in_thread
from ltxkit.emulator.web import (
    BEARER,
    MAX_IMAGE_PIXELS,
    MAX_JSON_DEPTH,
    X_API_KEY,
    api_key,
    image_problem,
    json_depth_exceeds,
)
from ltxkit.errors import InputError

KEYS = [f"key-http-{i:03d}" for i in range(200)]  # one per request: no rate window fills up
BODY_METHODS = {"POST", "PUT", "PATCH"}
RAW_BODY = {"/zooop/v1/uploads", "/kubeez/v1/upload/media"}  # file uploads: the body is not JSON


def body_routes() -> list[tuple[str, str]]:
    """``(method, path)`` of every route that takes a body, read from a freshly built emulator."""
    def walk(routes: list[BaseRoute], prefix: str) -> Iterator[tuple[str, str]]:
        for route in routes:
            if isinstance(route, Mount):
                yield from walk(list(route.routes), prefix + route.path)
            elif isinstance(route, Route):
                for method in sorted((route.methods or set()) & BODY_METHODS):
                    yield method, prefix + route.path

    with tempfile.TemporaryDirectory() as tmp:
        emulator = Emulator(EmulatorConfig(api_keys=KEYS[:1]), Path(tmp))
        try:
            return list(walk(list(emulator.app.app.routes), ""))  # app: the FaultMiddleware around Starlette
        finally:
            emulator.store.close()


ROUTES = body_routes()


def _media_jobs(body: Any) -> bool:
    return set(body) == {"error", "details"} and isinstance(body["error"], str)


def _zsky(body: Any) -> bool:
    return set(body) == {"error"} and isinstance(body["error"], str)


def _apex(body: Any) -> bool:
    return set(body) == {"error", "code"} and isinstance(body["code"], str) and body["code"].isupper()


def _zooop(body: Any) -> bool:
    return set(body) == {"error"} and isinstance(body["error"], dict) and {"message", "type", "code"} <= set(
        body["error"])


def _kubeez(body: Any) -> bool:
    return {"error", "message"} <= set(body) - {"details"} and isinstance(body["error"], str) \
        and body["error"].islower() and "details" not in body


SHAPES: dict[str, Callable[[Any], bool]] = {"": _media_jobs, "zsky": _zsky, "apex": _apex, "zooop": _zooop,
                                            "kubeez": _kubeez}


def api_of(path: str) -> str:
    first = path.split("/")[1]
    return first if first in SHAPES else ""


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorHandle]:
    with run_in_thread(EmulatorConfig(api_keys=KEYS, queued_seconds=0.02, running_seconds=0.02,
                                      max_body_bytes=64 * 1024)) as handle:
        yield handle


_fresh_keys = itertools.count()


def post(emu: EmulatorHandle, method: str, path: str, content: bytes, **headers: str) -> httpx.Response:
    key = KEYS[next(_fresh_keys) % len(KEYS)]
    sent = {"Authorization": f"Bearer {key}", "X-API-Key": key, "Content-Type": "application/json", **headers}
    return WEB.request(method, emu.base_url + path, content=content, headers=sent, timeout=30)


def nested(depth: int) -> bytes:
    return b'{"prompt": "x", "deep": ' + b"[" * depth + b"]" * depth + b"}"


def test_the_listing_holds_every_api_and_its_body_routes() -> None:
    paths = {path for _, path in ROUTES}
    assert {"/api/v1/media/jobs", "/zsky/v1/videos/generate", "/zsky/v1/images/generate", "/apex/api/generate/video",
            "/apex/api/generate/image", "/apex/api/settings", "/zooop/v1/quote", "/zooop/v1/tasks", "/zooop/v1/uploads",
            "/kubeez/v1/generate/media", "/kubeez/v1/generate/media/extend", "/kubeez/v1/upload/media"} <= paths
    assert ("PATCH", "/apex/api/settings") in ROUTES
    assert {api_of(p) for p in paths} == set(SHAPES)


@pytest.mark.parametrize("depth", [20_000, MAX_JSON_DEPTH + 1])  # past the decoder's recursion; just past the limit
@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_a_deeply_nested_body_is_a_400_in_the_api_s_own_shape(emu: EmulatorHandle, caplog: pytest.LogCaptureFixture,
                                                              method: str, path: str, depth: int) -> None:
    with caplog.at_level(logging.ERROR):
        r = post(emu, method, path, nested(depth))
    assert r.status_code == 400, (r.status_code, r.text)
    assert SHAPES[api_of(path)](r.json()), r.text
    if path not in RAW_BODY:
        assert f"the body nests deeper than {MAX_JSON_DEPTH} levels" in r.text
    assert not [rec for rec in caplog.records if rec.levelno >= logging.ERROR], "a traceback was logged"
    assert emu.requests()[-1].status == 400


def test_the_request_log_keeps_its_configured_length_and_counts_what_it_dropped() -> None:
    """Tests count requests in the log: past its limit it must say it is short, never just hold fewer."""
    with run_in_thread(EmulatorConfig(api_keys=[KEYS[0]], request_log=3)) as small:
        first = small.requests().total
        for n in range(5):
            WEB.get(f"{small.base_url}/api/v1/health", params={"n": str(n)})
        log = small.requests()
        assert (first, log.dropped, len(log), log.total, log.limit) == (0, 2, 3, 5, 3)
        assert [r.query for r in log] == ["n=2", "n=3", "n=4"]
        assert [r.query for r in log.since(3)] == ["n=3", "n=4"] and log.since(5) == []
        with pytest.raises(LookupError, match=r"^1 of the requests since then were dropped: the emulator keeps the "
                                              r"last 3 \(EmulatorConfig.request_log\)$"):
            log.since(1)
    with pytest.raises(InputError, match="request_log must be ≥ 1, got 0"):
        EmulatorConfig(request_log=0).validate()
    assert EmulatorConfig().request_log == 10_000


def test_the_depth_limit_is_exact() -> None:
    def deep(n: int) -> Any:
        value: Any = {}
        for _ in range(n - 1):
            value = [value]
        return value

    assert not json_depth_exceeds(deep(MAX_JSON_DEPTH), MAX_JSON_DEPTH)
    assert json_depth_exceeds(deep(MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH)
    assert not json_depth_exceeds({"a": 1, "b": "x" * 10}, 1) and json_depth_exceeds({"a": []}, 1)


def test_a_body_at_the_depth_limit_reaches_validation(emu: EmulatorHandle) -> None:
    depth = MAX_JSON_DEPTH - 2  # the outer object and "input" are two levels
    body = b'{"task": "image.generate", "input": ' + b"[" * depth + b"]" * depth + b"}"
    r = post(emu, "POST", "/api/v1/media/jobs", body)
    assert r.status_code == 400 and r.json()["error"] == "invalid input"


SITUATIONS: dict[str, Callable[[EmulatorHandle, str], httpx.Response]] = {
    "not JSON": lambda emu, path: post(emu, "POST", path, b'{"prompt": '),
    "not an object": lambda emu, path: post(emu, "POST", path, b"[1, 2]"),
    "too large": lambda emu, path: post(emu, "POST", path, b'{"prompt": "' + b"x" * 70_000 + b'"}'),
    "no key": lambda emu, path: WEB.post(emu.base_url + path, json={"prompt": "x"}),
    "unknown key": lambda emu, path: WEB.post(emu.base_url + path, json={"prompt": "x"},
                                                headers={"Authorization": "Bearer nope", "X-API-Key": "nope"}),
    "fault 429": lambda emu, path: post(emu, "POST", path, b"{}", **{"X-Emulator-Faults": f"429,tag={path}"}),
    "fault 503": lambda emu, path: post(emu, "POST", path, b"{}", **{"X-Emulator-Faults": f"503,tag={path}"}),
    "bad fault header": lambda emu, path: post(emu, "POST", path, b"{}", **{"X-Emulator-Faults": "explode"}),
    "unknown route": lambda emu, path: post(emu, "GET", path.rsplit("/", 1)[0] + "/no-such-route", b""),
    "wrong method": lambda emu, path: post(emu, "PUT", path, b"{}"),
}
STATUS = {"not JSON": 400, "not an object": 400, "too large": 400, "no key": 401, "unknown key": 401,
          "fault 429": 429, "fault 503": 503, "bad fault header": 400, "unknown route": 404, "wrong method": 405}
JSON_ROUTE = {"": "/api/v1/media/jobs", "zsky": "/zsky/v1/videos/generate", "apex": "/apex/api/generate/video",
              "zooop": "/zooop/v1/tasks", "kubeez": "/kubeez/v1/generate/media"}


@pytest.mark.parametrize("situation", SITUATIONS)
@pytest.mark.parametrize("api", SHAPES)
def test_each_api_answers_the_shared_steps_in_its_own_shape(emu: EmulatorHandle, api: str, situation: str) -> None:
    path = JSON_ROUTE[api]
    r = SITUATIONS[situation](emu, path)
    expected = 413 if (api, situation) == ("", "too large") else STATUS[situation]  # the others' seeds say 400
    assert r.status_code == expected, r.text
    assert SHAPES[api](r.json()), r.text
    if situation.startswith("fault"):
        assert r.headers["Retry-After"] == "1"
    for other, shape in SHAPES.items():  # the shapes are distinct: no API answers in another's words
        if other != api:
            assert not shape(r.json()), (other, r.text)


def test_keys_are_read_only_from_each_api_s_own_headers() -> None:
    request = Request({"type": "http", "headers": [(b"authorization", b"Basic abc"), (b"x-api-key", b" k ")]})
    assert api_key(request.headers, (BEARER, X_API_KEY)) == "k"
    assert api_key(request.headers, (BEARER,)) is None
    bearer = Request({"type": "http", "headers": [(b"authorization", b"bearer  t1 "), (b"x-api-key", b"k")]})
    assert api_key(bearer.headers, (BEARER, X_API_KEY)) == "t1" and api_key(bearer.headers, (X_API_KEY, BEARER)) == "k"


# --- hostile clients (issue 19 item 14) -------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_body_route_checks_the_key_before_reading_the_body(emu: EmulatorHandle, method: str, path: str) -> None:
    """Regression: ``/zsky/v1/videos/generate`` parsed the body first and told a stranger 400 about its JSON."""
    r = WEB.request(method, emu.base_url + path, content=b"{not json", timeout=30,
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 401, (r.status_code, r.text)
    assert SHAPES[api_of(path)](r.json()), r.text


def test_a_stranger_s_fault_headers_cost_the_emulator_no_budget(emu: EmulatorHandle) -> None:
    """Regression: every distinct ``X-Emulator-Faults`` value was remembered forever, even without a key."""
    book = emu.emulator.faults
    before = len(book)
    for i in range(40):
        r = WEB.get(emu.base_url + "/api/v1/balance", headers={"X-Emulator-Faults": f"429,tag=stranger-{i}",
                                                                 "Authorization": "Bearer nope"}, timeout=30)
        assert r.status_code == 401, r.text  # the fault is not applied either
    assert len(book) == before
    assert post(emu, "GET", "/api/v1/balance", b"", **{"X-Emulator-Faults": "429,tag=known"}).status_code == 429
    assert len(book) == before + 1


def test_the_fault_budget_table_keeps_only_the_most_recently_used_values() -> None:
    book = FaultBook(None, max_budgets=3)
    assert MAX_HEADER_BUDGETS == 1024 and FaultBook(None).max_budgets == MAX_HEADER_BUDGETS
    first = book.budget_for("429=5,tag=a")
    for tag in "bc":
        book.budget_for(f"429,tag={tag}")
    assert book.budget_for("429=5,tag=a") is first  # used again: now the most recent
    for tag in "defgh":
        book.budget_for(f"429,tag={tag}")
    assert len(book) == 3
    assert book.budget_for("429=5,tag=a") is not first  # forgotten: a fresh budget


def huge_png(side: int = 12000) -> bytes:
    """A valid 1-bit PNG declaring ``side``×``side`` in ~18 KB (decoded as RGB it would be 432 MB)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = (b"\0" * (1 + (side + 7) // 8)) * side
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def test_an_image_declaring_12000x12000_is_refused_from_its_header(emu: EmulatorHandle) -> None:
    """Regression: a 420 KB 12000×12000 PNG start frame drove the emulator to 1.2 GB."""
    data = huge_png()
    assert len(data) < 20_000 and struct.unpack(">II", data[16:24]) == (12000, 12000)
    inline = {"dataBase64": base64.b64encode(data).decode(), "mimeType": "image/png"}
    body = json.dumps({"task": "video.generate", "input": {"prompt": "x", "startFrameImage": inline}}).encode()
    r = post(emu, "POST", "/api/v1/media/jobs", body)
    assert r.status_code == 400, r.text
    refusal = f"the image is 12000x12000, over the limit of {MAX_IMAGE_PIXELS} pixels"
    assert r.json()["details"] == [{"field": "input.startFrameImage", "message": refusal}]
    r = post(emu, "POST", "/zooop/v1/uploads", data, **{"Content-Type": "image/png"})
    assert r.status_code == 400 and "12000x12000" in r.text, r.text
    r = WEB.post(emu.base_url + "/kubeez/v1/upload/media", files={"file": ("big.png", data, "image/png")},
                   headers={"X-API-Key": KEYS[-1]}, timeout=30)
    assert r.status_code == 400 and "12000x12000" in r.text, r.text
    assert image_problem(huge_png(6000)) is None  # 36 Mpx: under the limit
