"""Pure parts of the jobs client: retry/poll delays, Retry-After, status mapping, names, ranges, keys,
MIME sniffing, models, config and the journal."""

from __future__ import annotations

import base64
import email.utils
import io
import json
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile
from PIL import Image

from ltxkit.errors import InputError
from ltxkit.jobs import (
    MEDIA_JOBS,
    ClientConfig,
    Job,
    JobRequest,
    Journal,
    PollPolicy,
    Provider,
    RetryPolicy,
    VideoCombine,
    VideoGenerate,
    canonical_json,
    derive_key,
    parse_retry_after,
    poll_delay,
    retry_delay,
)
from ltxkit.jobs.download import (
    Window,
    body_window,
    filename_from_url,
    parse_content_range,
    same_origin,
    unique_target,
)
from ltxkit.jobs.models import load_input, sniff_audio_mime, sniff_image_mime
from ltxkit.jobs.plan import Fetch

# ---- retry and poll policy -----------------------------------------------------------------------------------


def test_retry_delay_is_full_jitter_exponential_and_capped() -> None:
    policy = RetryPolicy(max_retries=5, base_delay=0.5, max_delay=4.0)
    assert [retry_delay(n, policy, rand=1.0) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert [retry_delay(n, policy, rand=0.5) for n in range(4)] == [0.25, 0.5, 1.0, 2.0]
    assert retry_delay(3, policy, rand=0.0) == 0.0
    assert retry_delay(10_000, policy, rand=1.0) == 4.0  # no overflow


def test_retry_after_overrides_backoff_up_to_its_cap() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0, max_retry_after=60.0)
    assert retry_delay(0, policy, rand=0.0, retry_after=7.0) == 7.0
    assert retry_delay(0, policy, rand=0.0, retry_after=3600.0) == 60.0


def test_parse_retry_after_seconds_and_http_date() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after("3", now) == 3.0
    assert parse_retry_after(" 0.25 ", now) == 0.25
    assert parse_retry_after("-5", now) == 0.0
    assert parse_retry_after(email.utils.formatdate(now + 42, usegmt=True), now) == 42.0
    assert parse_retry_after(email.utils.formatdate(now - 42, usegmt=True), now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after("nan", now) is None
    assert parse_retry_after(None, now) is None


def test_poll_delay_grows_to_its_maximum() -> None:
    policy = PollPolicy(interval=2.0, max_interval=30.0, factor=1.5)
    assert [poll_delay(n, policy) for n in range(4)] == [2.0, 3.0, 4.5, 6.75]
    assert poll_delay(50, policy) == 30.0


# ---- provider description ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "state"), [
    ("completed", "done"), ("Succeeded", "done"), ("SUCCESS", "done"), ("done", "done"),
    ("failed", "failed"), ("error", "failed"), ("cancelled", "failed"), ("canceled", "failed"),
    ("blocked", "failed"), ("queued", "running"), ("warming-up", "running"), ("", "running"), (None, "running"),
])
def test_status_synonyms(raw: str | None, state: str) -> None:
    assert MEDIA_JOBS.map_status(raw) == state


@pytest.mark.parametrize(("payload", "job_id"), [
    ({"externalJobId": "e1", "jobId": "j1", "id": "i1"}, "e1"),
    ({"jobId": "j1", "result": {"jobId": "r1"}, "id": "i1"}, "j1"),
    ({"result": {"jobId": "r1"}, "id": "i1"}, "r1"),
    ({"id": 17}, "17"),
    ({"status": "queued"}, None),
])
def test_job_id_order_is_the_documented_one(payload: dict[str, Any], job_id: str | None) -> None:
    assert MEDIA_JOBS.job_id(payload) == job_id


def test_parse_job_keeps_raw_status_outputs_and_error() -> None:
    job = MEDIA_JOBS.parse_job({"jobId": "j", "status": "Blocked", "error": "nsfw", "details": {"x": 1}})
    assert (job.id, job.state, job.raw_status, job.error) == ("j", "failed", "Blocked", "nsfw")
    done = MEDIA_JOBS.parse_job({"status": "done", "downloadableOutputUrls": ["https://a/x.mp4", {"url": "https://a/y"}]},
                                "known")
    assert (done.id, done.outputs) == ("known", ("https://a/x.mp4", "https://a/y"))


def test_another_provider_is_a_description() -> None:
    other = Provider(name="other", submit_path="/v2/tasks", status_path="/v2/tasks/status", status_id_param="id",
                     job_id_fields=("task.uuid",), status_fields=("task.state",), idempotency_header="Idempotency-Key",
                     idempotency_body_field=None, done_words=frozenset({"ready"}), failed_words=frozenset({"dead"}))
    spec = other.submit_request("video.generate", {"prompt": "x"}, "k1")
    assert (spec.path, dict(spec.headers), spec.json) == ("/v2/tasks", {"Idempotency-Key": "k1"},
                                                          {"task": "video.generate", "input": {"prompt": "x"}})
    assert dict(other.status_request("u1", details=True).params) == {"id": "u1", "includeDetails": "1"}
    job = other.parse_job({"task": {"uuid": "u1", "state": "ready"}})
    assert (job.id, job.state) == ("u1", "done")


# ---- download helpers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "name"), [
    ("https://cdn.x/out/clip-b.mp4?sig=abc", "clip-b.mp4"),
    ("https://cdn.x/out/my%20clip%20%28final%29.mp4", "my_clip_final_.mp4"),
    ("https://cdn.x/a/..%2F..%2Fetc%2Fpasswd", "etc_passwd"),
    ("https://cdn.x/", "output"),
    ("https://cdn.x/.hidden", "hidden"),
    ("https://cdn.x/x.mp4.part", "x.mp4_part"),
])
def test_filename_from_url_is_sanitised(url: str, name: str) -> None:
    assert filename_from_url(url) == name


def test_unique_target_skips_existing_names_and_part_files(tmp_path: Path) -> None:
    (tmp_path / "clip.mp4").write_bytes(b"")
    (tmp_path / "clip-1.mp4.part").write_bytes(b"")
    assert unique_target(tmp_path, "clip.mp4").name == "clip-2.mp4"
    assert unique_target(tmp_path, "clip.mp4", [tmp_path / "clip-2.mp4"]).name == "clip-3.mp4"
    assert unique_target(tmp_path, "new.tar.gz").name == "new.tar.gz"


def test_same_origin_compares_scheme_host_and_port() -> None:
    base = "https://api.example.com"
    assert same_origin("https://API.example.com:443/x", base)
    assert not same_origin("http://api.example.com/x", base)
    assert not same_origin("https://api.example.com:8443/x", base)
    assert not same_origin("https://cdn.example.com/x", base)


def test_content_range_and_body_window() -> None:
    assert parse_content_range("bytes 100-199/1000") == (cr := parse_content_range("bytes 100-199/1000"))
    assert cr is not None and (cr.start, cr.end, cr.total) == (100, 199, 1000)
    assert parse_content_range("bytes */1000") is None
    at5 = Fetch("http://x/f", Path("f.part"), 5, False, "f", validator='"v"')
    assert body_window(200, {"content-length": "10"}, at5) == Window(0, 10, 10, None)
    assert body_window(200, {"content-length": "10", "content-encoding": "gzip"}, at5) == \
        "refused gzip-encoded media (asked for Accept-Encoding: identity)"
    assert body_window(206, {"content-range": "bytes 5-9/10", "etag": '"v"'}, at5) == Window(5, 10, 10, '"v"')
    assert body_window(206, {"content-range": "bytes 5-9/10", "etag": '"w"'}, at5) is None  # another file now
    assert body_window(206, {"content-range": "bytes 0-9/10", "etag": '"v"'}, at5) is None
    assert body_window(404, {}, at5) is None


# ---- keys and models ----------------------------------------------------------------------------------------


def test_canonical_json_and_derived_keys() -> None:
    assert canonical_json({"b": 1, "a": [1, {"y": "é", "x": 2}]}) == '{"a":[1,{"x":2,"y":"é"}],"b":1}'
    a = derive_key("video.generate", {"prompt": "x", "seed": 1})
    assert a == derive_key("video.generate", {"seed": 1, "prompt": "x"})
    assert a != derive_key("video.generate", {"prompt": "x", "seed": 2})
    assert a != derive_key("image.generate", {"prompt": "x", "seed": 1})
    assert a.startswith("ltxkit-") and len(a) == len("ltxkit-") + 32
    assert JobRequest.build("video.generate", {"prompt": "x", "seed": 1}).key == a
    assert JobRequest.build("video.generate", {"prompt": "x"}, key="mine").key == "mine"
    with pytest.raises(InputError, match="idempotency-key"):
        JobRequest.build("video.generate", {"prompt": "x"}, key="has space")


def _image_bytes(fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(buf, format=fmt)
    return buf.getvalue()


def test_image_mime_is_sniffed_from_content() -> None:
    assert sniff_image_mime(_image_bytes("PNG")) == "image/png"
    assert sniff_image_mime(_image_bytes("JPEG")) == "image/jpeg"
    assert sniff_image_mime(_image_bytes("WEBP")) == "image/webp"
    assert sniff_image_mime(b"GIF89a") is None


@pytest.mark.parametrize(("fmt", "subtype", "mime"), [
    ("WAV", "PCM_16", "audio/wav"), ("FLAC", "PCM_16", "audio/flac"), ("OGG", "VORBIS", "audio/ogg"),
    ("OGG", "OPUS", "audio/opus"), ("MP3", "MPEG_LAYER_III", "audio/mpeg"),
])
def test_audio_mime_is_sniffed_from_content(fmt: str, subtype: str, mime: str) -> None:
    buf = io.BytesIO()
    soundfile.write(buf, np.zeros(4800, dtype=np.float32), 48000, format=fmt, subtype=subtype)
    assert sniff_audio_mime(buf.getvalue()) == mime


def test_audio_mime_from_content_and_unknown_content_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "voice.m4a"
    path.write_bytes(b"\x00\x00\x00\x18ftypM4A ")
    model = VideoGenerate("p", start_frame="https://x/a.webp", reference_audio=path)
    assert model.to_input()["referenceAudio"]["mimeType"] == "audio/mp4"
    # issue 19: the extension alone used to decide, so a text file named .wav was sent inline and the paid
    # job failed on the server; content that is no known audio format is refused before sending
    (tmp_path / "raw.aac").write_bytes(b"\x00\x01\x02")
    with pytest.raises(InputError, match=r"raw\.aac is not a supported audio file by its content"):
        VideoGenerate("p", start_frame="https://x/a.webp", reference_audio=tmp_path / "raw.aac").to_input()


def test_video_generate_model_builds_the_documented_fields(tmp_path: Path) -> None:
    frames = tmp_path / "tail"
    frames.mkdir()
    for i, fmt in enumerate(("WEBP", "PNG")):
        (frames / f"{i}.img").write_bytes(_image_bytes(fmt))
    (frames / "frames.json").write_text(json.dumps({"frames": [{"file": "1.img"}, {"file": "0.img"}]}))
    inp = VideoGenerate("go on", overlap_images=frames, duration_frames=257, width=1280, height=1280,
                        sampled_fps=25, interpolation_fps=60, seed=424242, extra={"aspectRatio": "1:1"}).to_input()
    assert [f["mimeType"] for f in inp["overlapFrameImages"]] == ["image/png", "image/webp"]  # manifest order
    assert {k: v for k, v in inp.items() if k != "overlapFrameImages"} == {
        "prompt": "go on", "durationFrames": 257, "width": 1280, "height": 1280, "sampledFps": 25,
        "interpolationFps": 60, "seed": 424242, "aspectRatio": "1:1"}
    urls = VideoGenerate("x", overlap_images=["https://c/1.webp", "https://c/2.webp"]).to_input()
    assert urls["overlapFrameImageUrls"] == ["https://c/1.webp", "https://c/2.webp"]
    request = JobRequest.build(VideoGenerate("go on", overlap_images=frames, duration_frames=257, sampled_fps=25))
    assert request.validated.effective["durationFrames"] == 257


def test_video_combine_model() -> None:
    model = VideoCombine(["https://c/a.mp4", "https://c/b.mp4"], overlap_at_clip_fps=3, frame_rate=60)
    assert model.to_input() == {"videoUrls": ["https://c/a.mp4", "https://c/b.mp4"], "overlapFrames": 3,
                                "frameRate": 60}
    assert JobRequest.build(model).task == "video.combine"


def test_load_input(tmp_path: Path) -> None:
    (tmp_path / "i.json").write_text('{"prompt": "x"}')
    assert load_input(f"@{tmp_path / 'i.json'}") == {"prompt": "x"}
    with pytest.raises(InputError, match=r"--input .*i2.json: not valid JSON"):
        (tmp_path / "i2.json").write_text("{")
        load_input(f"@{tmp_path / 'i2.json'}")


# ---- config -------------------------------------------------------------------------------------------------


def test_config_from_env_and_masked_repr() -> None:
    env = {"LTXKIT_API_BASE": "http://127.0.0.1:9/", "LTXKIT_API_KEY": "sk-secret-1234567",
           "LTXKIT_API_AUTH": "x-api-key", "LTXKIT_MAX_RETRIES": "2", "LTXKIT_POLL_INTERVAL": "0.5"}
    config = ClientConfig.from_env(env, timeout=3.0)
    assert (config.base_url, config.auth, config.retry.max_retries, config.poll.interval, config.timeout) == \
        ("http://127.0.0.1:9", "x-api-key", 2, 0.5, 3.0)
    assert "sk-secret" not in repr(config) and "api_key='***'" in repr(config)
    assert "sk-secret" not in str(config)
    with pytest.raises(InputError, match="LTXKIT_MAX_RETRIES must be a number"):
        ClientConfig.from_env({"LTXKIT_MAX_RETRIES": "many"})


def test_config_holds_the_retry_and_poll_policies_set_by_flat_options_and_env() -> None:
    env = {"LTXKIT_RETRY_BASE_DELAY": "0.25", "LTXKIT_RETRY_MAX_DELAY": "8", "LTXKIT_POLL_MAX_INTERVAL": "9",
           "LTXKIT_WAIT_TIMEOUT": "60"}
    config = ClientConfig.from_env(env, {"poll_interval": 5.0}, max_retries=7)
    assert config.retry == RetryPolicy(max_retries=7, base_delay=0.25, max_delay=8.0)
    assert config.poll == PollPolicy(interval=5.0, max_interval=9.0, timeout=60.0)
    assert config.with_options(poll_interval=1.0).poll == PollPolicy(interval=1.0, max_interval=9.0, timeout=60.0)
    with pytest.raises(InputError, match="must not be negative"):
        ClientConfig.build(max_retries=-1)
    with pytest.raises(InputError, match="wait_timeout must be positive"):
        ClientConfig.from_env({"LTXKIT_WAIT_TIMEOUT": "0"})


def test_a_key_that_cannot_be_a_header_is_refused_without_echo() -> None:
    with pytest.raises(InputError) as info:
        ClientConfig(api_key="sk-abc\r\nX-Evil: 1")
    assert "sk-abc" not in str(info.value)
    with pytest.raises(InputError, match="no API key"):
        ClientConfig(api_key=None).require_key()


# ---- journal ------------------------------------------------------------------------------------------------


def test_journal_records_each_state_and_refuses_a_reused_key(tmp_path: Path) -> None:
    with Journal.in_dir(tmp_path) as journal:
        rec = journal.begin("k1", "video.generate", "h1")
        assert (rec.state, rec.job_id) == ("pending", None)
        assert journal.begin("k1", "video.generate", "h1").row == rec.row
        with pytest.raises(InputError, match="already used for a different"):
            journal.begin("k1", "video.generate", "h2")
        journal.record_job(rec.row, Job("j1", "running", "queued"))
        done = journal.record_job(rec.row, Job("j1", "done", "succeeded", ("https://c/x.mp4",)))
        assert (done.state, done.raw_status, done.outputs) == ("done", "succeeded", ("https://c/x.mp4",))
        assert done.submitted_at is not None and done.finished_at is not None
        claim = journal.claim_download(rec.row, 0, "https://c/x.mp4", tmp_path, lambda d, c: d / "x.mp4")
        again = journal.claim_download(rec.row, 0, "https://c/x.mp4", tmp_path, lambda d, c: d / "other.mp4")
        assert claim.path == again.path == (tmp_path / "x.mp4").resolve()
        journal.record_download(rec.row, 0, tmp_path, 10)
        assert journal.find(job_id="j1").files == ((tmp_path / "x.mp4").resolve(),)  # type: ignore[union-attr]
    db = sqlite3.connect(tmp_path / "ltxkit-jobs.sqlite")
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert (tmp_path / "ltxkit-jobs.sqlite").stat().st_mode & 0o077 == 0


def test_overlap_frames_from_a_frames_tail_directory(make_clip: Any, tmp_path: Path) -> None:
    """The output of ``ltxkit frames tail`` feeds overlapFrameImages directly, oldest frame first."""
    from ltxkit.frames.synth import read_frame_code
    from ltxkit.frames.tail import extract_tail

    manifest = extract_tail(make_clip(fps=25, frames=40), 3, tmp_path / "tail")
    inp = VideoGenerate("continue", overlap_images=tmp_path / "tail", duration_frames=49, sampled_fps=25).to_input()
    frames = inp["overlapFrameImages"]
    assert [f["mimeType"] for f in frames] == ["image/webp"] * 3
    decoded = [np.asarray(Image.open(io.BytesIO(base64.b64decode(f["dataBase64"]))).convert("RGB")) for f in frames]
    assert [read_frame_code(rgb) for rgb in decoded] == [37, 38, 39]
    assert len(manifest["frames"]) == 3
    JobRequest.build("video.generate", inp)  # valid as built


def test_a_waited_job_submitted_later_gets_its_own_row(tmp_path: Path) -> None:
    """`jobs wait job-1` before `jobs submit` (whose key the server maps to job-1) must not collide."""
    with Journal.in_dir(tmp_path) as journal:
        adopted = journal.adopt("job-1")
        assert journal.adopt("job-1").row == adopted.row
        keyed = journal.begin("k1", "video.generate", "h1")
        journal.record_job(keyed.row, Job("job-1", "running", "queued"))
        assert journal.find(job_id="job-1").row == keyed.row  # type: ignore[union-attr]
        assert len(journal.records()) == 2


def test_the_pacer_books_a_start_a_window_after_the_answers() -> None:
    from ltxkit.jobs.plan import Pacer

    pacer = Pacer(2, 10.0)
    assert (pacer.reserve(0.0), pacer.reserve(1.0)) == (0.0, 1.0)
    pacer.done(0.0, 0.5)
    pacer.done(1.0, 1.25)
    assert (pacer.reserve(2.0), pacer.reserve(3.0)) == (10.5, 11.25)  # answers at 0.5 and 1.25, plus 10 s
    assert pacer.reserve(30.0) == 30.0
