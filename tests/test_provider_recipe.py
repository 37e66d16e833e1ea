"""The provider recipe of docs/CONTRIBUTING.md: a new API is its jobs module, its emulator module and its
tests, nothing else. A throwaway API ("tiny") written as two modules in a temporary directory and put on
the two packages' paths (what dropping the files into ``ltxkit/`` does) is registered — the README table,
the refusals and ``--provider``'s help name it — and the emulator serves it: an extension runs through it
end to end on a real socket."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import pytest
from click.testing import CliRunner
from PIL import Image

import ltxkit.emulator.providers as emulated
import ltxkit.jobs.providers as providers
from ltxkit.cli import main
from ltxkit.emulator.server import EmulatorConfig, run_in_thread
from ltxkit.errors import InputError
from ltxkit.frames.probe import probe
from ltxkit.frames.synth import read_frame_code, render_frame
from ltxkit.jobs import Client, Journal
from ltxkit.jobs.providers import PROVIDERS, TABLE, ExtendRequest, get_provider, markdown_table, submit_extend
from ltxkit.jobs.providers.base import REGISTERED

KEY = "k-recipe-0123456789"
JOBS_MODULE = '''
from collections.abc import Mapping
from dataclasses import dataclass, field

from ltxkit.jobs.models import image_value
from ltxkit.jobs.providers.base import Built, RestProvider, frozen
from ltxkit.jobs.providers.capabilities import Capabilities
from ltxkit.jobs.providers.request import ExtendRequest


@dataclass(frozen=True)
class TinyProvider(RestProvider):
    name: str = "tiny"
    rank: int = 9
    tasks: Mapping[str, str] = field(default_factory=lambda: frozen({"clips": "/v1/clips"}))
    status_path: str = "/v1/clips/{id}"
    job_id_fields: tuple[str, ...] = ("id",)
    outputs_fields: tuple[str, ...] = ("video",)
    capabilities: Capabilities = field(default_factory=lambda: Capabilities(
        last_frame="`image`, inline", remarks={"quote": "one price"}))

    def task_for(self, request: ExtendRequest) -> str:
        return "clips"

    def build(self, request: ExtendRequest) -> Built:
        image = image_value(request.conditioning[0], "image")
        return Built("clips", {"prompt": request.prompt, "frames": request.frames, "image": image})


PROVIDER = TinyProvider()
'''
EMULATOR_MODULE = '''
import base64

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ltxkit.emulator.providers.common import ProviderApi, phase, video_input
from ltxkit.emulator.web import Window


class TinyLimits:
    clips = Window(1000, 60.0)


class TinyApi(ProviderApi):
    name = "tiny"

    def __init__(self, backend):
        super().__init__(backend)
        self.limits = TinyLimits()

    def routes(self) -> list[BaseRoute]:
        return [Route("/v1/clips", self.create, methods=["POST"]),
                Route("/v1/clips/{job_id}", self.get, methods=["GET"])]

    async def create(self, request: Request) -> Response:
        account = self.account(request, "clips")
        body = await self.json(request)
        start = self.backend.save(request, base64.b64decode(body["image"]["dataBase64"]), "start.png")
        effective = video_input(body["prompt"], frames=body["frames"], size=(480, 480), first_frame=start)
        job = self.backend.create(request, account=account, provider=self.name, task="video.generate",
                                  effective=effective, options={})
        return JSONResponse({"id": job.id, "status": "queued"})

    async def get(self, request: Request) -> Response:
        job = self.backend.get(self.account(request, "clips"), self.name, request.path_params["job_id"])
        if job is None:
            raise self.problem(404, "no such clip")
        return JSONResponse({"id": job.id, "status": phase(job), "video": self.backend.output_urls(request, job)})


API = TinyApi
'''


@contextlib.contextmanager
def installed(tmp_path: Path) -> Iterator[None]:
    """The two modules of "tiny" on the two packages' paths, until the block ends."""
    paths = {package: package.__path__ for package in (providers, emulated)}
    try:
        for package, source in ((providers, JOBS_MODULE), (emulated, EMULATOR_MODULE)):
            folder = tmp_path / package.__name__
            folder.mkdir()
            (folder / "tiny.py").write_text(source)
            package.__path__ = [*paths[package], str(folder)]
        REGISTERED.refresh()
        yield
    finally:
        for package, path in paths.items():
            package.__path__ = path
            sys.modules.pop(f"{package.__name__}.tiny", None)
        REGISTERED.refresh()


def test_a_new_provider_module_is_registered_tabled_and_named_in_refusals_and_help(tmp_path: Path) -> None:
    with installed(tmp_path):
        assert list(PROVIDERS) == list(TABLE) == ["media-jobs", "zsky", "apex", "zooop", "kubeez", "tiny"]
        assert get_provider("tiny") is sys.modules["ltxkit.jobs.providers.tiny"].PROVIDER
        assert markdown_table().splitlines()[-1] == (
            "| tiny | no | yes: `image`, inline | no | no | no | no | no | no (one price) |")
        with pytest.raises(InputError) as refused:
            get_provider("zsky").check_request(ExtendRequest("x", last_frame="a.png"))
        assert str(refused.value).endswith("; use media-jobs or zooop or kubeez or tiny")
        help_text = " ".join(CliRunner().invoke(main, ["jobs", "submit", "--help"]).output.split())
        assert "The API: media-jobs, zsky, apex, zooop, kubeez or tiny" in help_text
    assert list(PROVIDERS) == ["media-jobs", "zsky", "apex", "zooop", "kubeez"]  # gone with its module


def test_a_new_provider_runs_end_to_end_against_its_emulator_module(tmp_path: Path) -> None:
    frame = tmp_path / "frame-60.png"
    Image.fromarray(render_frame(60, 480, 480)).save(frame)
    config = EmulatorConfig(api_keys=[KEY], queued_seconds=0.02, running_seconds=0.02)
    with installed(tmp_path), run_in_thread(config) as emu:
        assert list(emu.emulator.providers) == ["apex", "kubeez", "tiny", "zooop", "zsky"]
        options = {"base_url": f"{emu.base_url}/tiny", "api_key": KEY, "poll_interval": 0.005,
                   "poll_max_interval": 0.02, "wait_timeout": 60.0, "progress": False}
        with Client(provider=get_provider("tiny"), **options) as client, Journal.in_dir(tmp_path) as journal:
            record = submit_extend(client, ExtendRequest("the beam sweeps on", last_frame=frame, frames=9),
                                   journal=journal, download_dir=tmp_path / "out")
    assert record.state == "done"
    (video,) = record.files
    assert (probe(video).frame_count, probe(video).fps) == (9, Fraction(24))
    with av.open(str(video)) as container:
        assert read_frame_code(next(container.decode(video=0)).to_ndarray(format="rgb24")) == 60
