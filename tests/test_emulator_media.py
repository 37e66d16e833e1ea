"""What the emulator's jobs produce: real clips with exact frames, fps, anchors and audio; real joins;
and a completed, downloadable stand-in for every other task example in the API document.

Fidelity bound used throughout: an anchor image (lossless PNG in) must come back with PSNR > 40 dB
after yuv420p h264 (the RGB→4:2:0 round trip alone costs ~45 dB on these synthetic frames).
"""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import pytest
import soundfile
from PIL import Image

from ltxkit.emulator.server import EmulatorConfig, EmulatorHandle, run_in_thread
from ltxkit.errors import InputError
from ltxkit.frames.probe import probe
from ltxkit.frames.synth import read_frame_code
from ltxkit.timing import round_half_up

JOBS = "/api/v1/media/jobs"
AAC_FRAME_SECONDS = 1024 / 48000
W, H = 192, 128


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorHandle]:
    with run_in_thread(EmulatorConfig(queued_seconds=0.01, running_seconds=0.01)) as handle:
        yield handle


@pytest.fixture(scope="module")
def c(emu: EmulatorHandle) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.base_url, headers={"x-api-key": emu.api_key}, timeout=60, verify=False) as cl:
        yield cl


def run_job(c: httpx.Client, body: dict[str, Any], dest: Path | None = None) -> tuple[dict[str, Any], Path | None]:
    """Submit, wait for completion, download the first output to ``dest``; return the detailed status."""
    submitted = c.post(JOBS, json=body)
    assert submitted.status_code == 200, submitted.text
    job_id = submitted.json()["jobId"]
    deadline = time.monotonic() + 60
    while (status := c.get(JOBS, params={"jobId": job_id, "includeDetails": 1}).json())["status"] not in (
            "completed", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert status["status"] == "completed", status
    assert len(status["downloadableOutputUrls"]) == 1
    if dest is not None:
        dest.write_bytes(c.get(status["downloadableOutputUrls"][0]).content)
    return status, dest


def inline(data: bytes, mime: str) -> dict[str, str]:
    return {"dataBase64": base64.b64encode(data).decode(), "mimeType": mime}


def png(rgb: np.ndarray) -> dict[str, str]:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return inline(buf.getvalue(), "image/png")


def frames_of(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def audio_of(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.concatenate([f.to_ndarray() for f in container.decode(audio=0)], axis=1)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * np.log10(255**2 / mse) if mse else float("inf")


def generate(**fields: Any) -> dict[str, Any]:
    return {"task": "video.generate", "input": {"prompt": "a slow drift over the synthetic test card", "width": W,
                                                "height": H, "sampledFps": 25, "interpolationFps": 0, **fields}}


def test_overlap_frames_lead_the_clip_exactly_and_codes_continue(
        c: httpx.Client, make_clip: Callable[..., Path], tmp_path: Path) -> None:
    anchors = frames_of(make_clip(fps=25, frames=30, width=W, height=H))[-3:]  # codes 27, 28, 29
    body = generate(overlapFrameImages=[png(a) for a in anchors], durationFrames=25, seed=7)
    status, out = run_job(c, body, tmp_path / "b.mp4")
    assert out is not None
    info = probe(out)
    assert (info.fps, info.frame_count, info.width, info.height, info.codec) == (Fraction(25), 25, W, H, "h264")
    assert [(a.codec, a.sample_rate, a.channels) for a in info.audio] == [("aac", 48000, 2)]
    decoded = frames_of(out)
    assert [round(psnr(decoded[k], anchors[k])) > 40 for k in range(3)] == [True] * 3
    assert [read_frame_code(f) for f in decoded] == list(range(27, 52))
    assert status["upstreamResult"]["outputs"][0]["frameCodeBase"] == 27
    assert psnr(decoded[3], decoded[2]) < 40  # the continuation moves

    _, again = run_job(c, body, tmp_path / "again.mp4")  # same seed, same clip
    assert again is not None and all(np.array_equal(a, b) for a, b in zip(frames_of(again), decoded, strict=True))
    _, other = run_job(c, {**body, "input": {**body["input"], "seed": 8}}, tmp_path / "other.mp4")
    assert other is not None and not np.array_equal(frames_of(other)[-1], decoded[-1])


def test_a_job_and_a_fixture_clip_encode_to_the_same_bytes_whatever_the_heap_held(tmp_path: Path) -> None:
    # regression (the flake above): x264's AVX-512 macroblock-tree code read uninitialised memory at this
    # width, so a repeated job gave other pixels; MALLOC_PERTURB_ makes glibc fill fresh heap blocks with a byte
    script = ("import sys; from pathlib import Path; from ltxkit.emulator import generate as g; "
              "from ltxkit.frames.synth import render_frame, write_clip; out = Path(sys.argv[1]); out.mkdir(); "
              f"plan = g.plan_video({generate(durationFrames=25, seed=7)['input']!r}); "
              f"anchors = [render_frame(k, {W}, {H}) for k in (27, 28, 29)]; "
              "g.synthesize_video(out / 'job.mp4', plan, anchors=anchors, final=None, audio=None); "
              "write_clip(out / 'clip.mp4', frames=30, fps=25, width=160, height=120)")
    for byte in (1, 77):
        subprocess.run([sys.executable, "-c", script, str(tmp_path / str(byte))], check=True,
                       env={**os.environ, "MALLOC_PERTURB_": str(byte)})
    for name in ("job.mp4", "clip.mp4"):
        assert (tmp_path / "1" / name).read_bytes() == (tmp_path / "77" / name).read_bytes(), name


@pytest.mark.parametrize(("fault", "frames"), [(None, 58), ("interp-2F", 60), ("interp-2F+1", 61)])
def test_interpolation_anchors_frame_0_and_defaults_to_fill_between(
        c: httpx.Client, tmp_path: Path, fault: str | None, frames: int) -> None:
    # 25 samples at 25 → 60 fps: fill-between (the default) ends on the last sample, floor(24 x 2.4) + 1 = 58
    # frames; the per-request fault switches to duration-keeping (60) or ffmpeg's trailing repeats (61)
    headers = {"X-Emulator-Faults": f"{fault}=*"} if fault else {}
    submitted = c.post(JOBS, json=generate(durationFrames=25, interpolationFps=60), headers=headers)
    job_id = submitted.json()["jobId"]
    while (status := c.get(JOBS, params={"jobId": job_id, "includeDetails": 1}).json())["status"] != "completed":
        assert status["status"] != "failed", status
        time.sleep(0.01)
    out = tmp_path / "i.mp4"
    out.write_bytes(c.get(status["downloadableOutputUrls"][0]).content)
    info = probe(out)
    assert (info.fps, info.frame_count, info.duration_seconds) == (Fraction(60), frames, Fraction(frames, 60))
    # output frame j sits at j/60 s from sampled frame 0 and carries the code of its nearest sampled frame;
    # frames past the last sample (24 at 57.6) repeat it
    nearest = [min(round_half_up(Fraction(j * 25, 60)), 24) for j in range(frames)]
    assert [read_frame_code(f) for f in frames_of(out)] == nearest
    assert abs(audio_of(out).shape[1] / 48000 - frames / 60) <= AAC_FRAME_SECONDS
    assert status["upstreamResult"]["outputs"][0]["audio"]["source"] == "tone"


@pytest.mark.parametrize(("convention", "frames"), [("2F-1", 17), ("2F", 18), ("2F+1", 19)])
def test_the_server_convention_at_2x_puts_every_sample_on_an_even_frame(
        make_clip: Callable[..., Path], tmp_path: Path, convention: str, frames: int) -> None:
    """9 samples at 30 → 60 fps, led by 3 anchors: frames 0, 2, 4 are the anchors, 1 and 3 blends of them."""
    anchors = frames_of(make_clip(fps=25, frames=30, width=W, height=H))[-3:]
    with run_in_thread(EmulatorConfig(queued_seconds=0.01, running_seconds=0.01, interpolation=convention)) as emu, \
            httpx.Client(base_url=emu.base_url, headers={"x-api-key": emu.api_key}, timeout=60) as client:
        _, out = run_job(client, generate(overlapFrameImages=[png(a) for a in anchors], durationFrames=9,
                                          sampledFps=30, interpolationFps=60), tmp_path / "c.mp4")
    assert out is not None
    decoded = frames_of(out)
    assert len(decoded) == probe(out).frame_count == frames
    assert [read_frame_code(f) for f in decoded] == [min(round_half_up(Fraction(j, 2)), 8) + 27 for j in range(frames)]
    below = slice(H // 8, None)  # under the code band
    assert [psnr(decoded[2 * k][below], anchors[k][below]) > 40 for k in range(3)] == [True] * 3
    assert all(psnr(decoded[j][below], anchors[k][below]) < psnr(decoded[2 * k][below], anchors[k][below])
               for j, k in ((1, 0), (1, 1), (3, 1), (3, 2)))


def test_an_unknown_interpolation_convention_is_refused() -> None:
    with pytest.raises(InputError, match="interpolation must be one of 2F-1, 2F, 2F\\+1"):
        EmulatorConfig(interpolation="3F").validate()


def _tone_wav(seconds: float, hz: float, rate: int = 44100) -> bytes:
    t = np.arange(round(seconds * rate)) / rate
    buf = io.BytesIO()
    soundfile.write(buf, (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32), rate, format="WAV")
    return buf.getvalue()


def test_reference_audio_start_and_final_frames(c: httpx.Client, tmp_path: Path) -> None:
    y, x = np.mgrid[0:120, 0:160]
    start = np.stack([x * 1.5, y * 2.0, 255 - x - y * 0.5], axis=-1).clip(0, 255).astype(np.uint8)  # resized
    final = np.zeros((H, W, 3), np.uint8)
    final[:, :, 2] = np.linspace(40, 220, W, dtype=np.uint8)[None, :]
    body = generate(startFrameImage=png(start), finalFrameImage=png(final), durationFrames=25,
                    referenceAudio=inline(_tone_wav(0.5, 1000), "audio/wav"))
    status, out = run_job(c, body, tmp_path / "ref.mp4")
    assert out is not None
    decoded = frames_of(out)
    expected_start = np.asarray(Image.fromarray(start).resize((W, H), Image.Resampling.LANCZOS))
    assert psnr(decoded[0], expected_start) > 40 and psnr(decoded[-1], final) > 40
    audio = audio_of(out)
    assert abs(audio.shape[1] / 48000 - 1) <= AAC_FRAME_SECONDS  # the video lasts 25/25 s
    head, tail = audio[0, 2400:21600], audio[0, 28800:45600]  # 0.05..0.45 s, 0.6..0.95 s
    spectrum = np.abs(np.fft.rfft(head))
    assert abs(np.argmax(spectrum) * 48000 / len(head) - 1000) < 5  # the reference tone, resampled
    assert np.sqrt(np.mean(head**2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.02)  # mono → both channels, same level
    assert np.sqrt(np.mean(tail**2)) < 0.01  # padded with silence
    upstream = status["upstreamResult"]
    assert upstream["outputs"][0]["audio"]["source"] == "referenceAudio"
    assert upstream["notes"] == ["input-startFrameImage.png: 160x120 resized to 192x128",
                                 "reference audio is 24000 samples at 48 kHz, padded with silence to 48000"]

    _, short = run_job(c, {**body, "input": {**body["input"], "durationFrames": 9}}, tmp_path / "short.mp4")
    assert short is not None
    assert abs(audio_of(short).shape[1] / 48000 - 9 / 25) <= AAC_FRAME_SECONDS  # trimmed to 0.36 s


def test_combine_two_generated_clips_drops_the_overlap_once(c: httpx.Client, tmp_path: Path) -> None:
    a_status, a_path = run_job(c, generate(durationFrames=25, seed=1), tmp_path / "a.mp4")
    assert a_path is not None
    tail = frames_of(a_path)[-3:]
    b_status, _ = run_job(c, generate(overlapFrameImages=[png(f) for f in tail], durationFrames=25, seed=2))
    urls = [a_status["downloadableOutputUrls"][0], b_status["downloadableOutputUrls"][0]]
    for extra in ({"frameRate": 25}, {}):
        status, out = run_job(c, {"task": "video.combine", "input": {"videoUrls": urls, "overlapFrames": 3, **extra}},
                              tmp_path / f"ab{len(extra)}.mp4")
        assert out is not None
        info = probe(out)
        assert (info.frame_count, info.fps, info.duration_seconds) == (47, Fraction(25), Fraction(47, 25))
        assert [read_frame_code(f) for f in frames_of(out)] == list(range(47))  # A 0..24, B 25..46
        assert abs(audio_of(out).shape[1] / 48000 - 47 / 25) <= AAC_FRAME_SECONDS
        assert status["upstreamResult"]["outputs"][0]["trimmedHeadFrames"] == [0, 3]


@pytest.mark.parametrize(("reading", "combine", "frames"), [
    ("frames", {"overlapFrames": 5, "frameRate": 60}, 61),  # B's frames that repeat A, at the interpolated rate
    ("samples", {"overlapFrames": 3, "frameRate": 60}, 61),  # the overlap's samples: laid out as the splice does
    ("frames", {"overlapFrames": 3, "frameRate": 30}, 60),  # 3 frames at 30 fps: 0.1 s in time, 6 frames at 60
])
def test_combine_of_2f_minus_1_clips_sampled_at_30_is_one_take_of_2_f_a_plus_f_b_minus_n_minus_1_frames(
        c: httpx.Client, emu: EmulatorHandle, tmp_path: Path, reading: str, combine: dict[str, int],
        frames: int) -> None:
    a_status, a_path = run_job(c, generate(durationFrames=17, sampledFps=30, interpolationFps=60), tmp_path / "a.mp4")
    assert a_path is not None and probe(a_path).frame_count == 33
    tail = [frames_of(a_path)[j] for j in (28, 30, 32)]  # A's samples 14, 15, 16
    b_status, _ = run_job(c, generate(overlapFrameImages=[png(f) for f in tail], durationFrames=17, sampledFps=30,
                                      interpolationFps=60, seed=2))
    urls = [a_status["downloadableOutputUrls"][0], b_status["downloadableOutputUrls"][0]]
    assert emu.emulator.runner is not None
    emu.emulator.runner.combine_reading = reading
    try:
        status, out = run_job(c, {"task": "video.combine", "input": {"videoUrls": urls, **combine}},
                              tmp_path / "ab.mp4")
    finally:
        emu.emulator.runner.combine_reading = "frames"
    assert out is not None and probe(out).frame_count == frames
    assert status["upstreamResult"]["outputs"][0]["trimmedHeadFrames"] == [0, 33 + 33 - frames]
    if frames == 2 * (17 + 17 - 3) - 1:
        # B's codes continue A's (14 ..): sample k at frame 2k, blends carry the nearest (ties later)
        assert [read_frame_code(f) for f in frames_of(out)] == [round_half_up(Fraction(j, 2)) for j in range(61)]


def test_combine_of_mismatched_clips_fails_with_the_reason(c: httpx.Client, emu: EmulatorHandle) -> None:
    a, _ = run_job(c, generate(durationFrames=9))
    b, _ = run_job(c, generate(durationFrames=9, sampledFps=30))
    urls = [a["downloadableOutputUrls"][0], b["downloadableOutputUrls"][0]]
    job_id = c.post(JOBS, json={"task": "video.combine", "input": {"videoUrls": urls}}).json()["jobId"]
    while (status := c.get(JOBS, params={"jobId": job_id}).json())["status"] != "failed":
        assert status["status"] != "completed"
        time.sleep(0.01)
    assert status["error"] == "frame rates differ: video.mp4 is 25 fps, video.mp4 is 30 fps"
    assert status["billing"]["refunded"] is True and str(emu.data_dir) not in json.dumps(status)


EXAMPLE_PNG = png(np.full((48, 64, 3), 120, np.uint8))
_webp = io.BytesIO()
Image.new("RGB", (32, 32), (10, 200, 30)).save(_webp, format="WEBP")
EXAMPLE_WEBP = inline(_webp.getvalue(), "image/webp")
CDN = "https://cdn.example.com/input"

# The document's examples for the stand-in tasks; only the inline placeholders carry real data.
STAND_INS: list[tuple[dict[str, Any], str, str]] = [
    ({"task": "image.generate", "input": {"prompt": "cinematic fox astronaut", "width": 1536, "height": 1024,
                                          "referenceImages": [f"{CDN}/style-ref.webp", EXAMPLE_PNG]}},
     "image.webp", "1536x1024 WEBP"),
    ({"task": "image.edit", "input": {"prompt": "turn this scene into a dramatic noir poster",
                                      "sourceImage": f"{CDN}/source.jpg",
                                      "referenceImages": [f"{CDN}/style-ref.webp", EXAMPLE_WEBP]}},
     "image.webp", "1024x1024 WEBP"),
    ({"task": "audio.speak", "input": {
        "text": "We launch at dawn, hold formation, and bring everyone home safely.",
        "voiceDescription": "Warm confident narrator with balanced pacing, stable projection, and natural emphasis.",
        "language": "English", "quality": "128k", "seed": 123456}}, "speech.mp3", "4.4 s 128k"),  # 66 chars / 15
    ({"task": "audio.speak", "input": {
        "mode": "voice_clone",
        "text": "Keep the same character voice, but deliver this line with calm authority and clean pacing.",
        "referenceAudioUrl": f"{CDN}/rin-voice-sample.opus",
        "referenceTranscript": "Rin keeps her voice low. She measures every word before it lands.",
        "referenceAudioMaxSeconds": 6, "maxNewTokens": 384, "language": "English", "quality": "128k",
        "seed": 424242}}, "speech.mp3", "6.0 s 128k"),  # 89 chars / 15 = 5.93 s, plus MP3 framing
    ({"task": "audio.annotation.reference", "input": {
        "sourceAudioUrl": f"{CDN}/country-heart-edit.mp3",
        "transcript": "[Intro]\nBoots on the porch and a laptop glow,\nI mint an A P I key before the roosters crow.",
        "language": "en", "transcriptionModel": "distil-large-v3", "device": "auto"}},
     "annotation.json", "Intro: 19 words"),
    ({"task": "ace.step.create", "input": {
        "tags": "anthemic ace step electro-pop, wide stereo synths, tight sidechained bass",
        "lyrics": "[Intro]\nNeon rain on the avenue\n\n[Chorus]\nWe run through the midnight light",
        "qualityPreset": "high_quality", "durationSeconds": 108, "quality": "192k", "language": "en"}},
     "music.mp3", "108.0 s 192k"),
    ({"task": "moss.sound.effect", "input": {
        "prompt": "A sharp pistol shot in a dry canyon with a quick mechanical click and short tail echo.",
        "durationSeconds": 2, "quality": "128k", "topK": 50, "maxNewTokens": 1024}}, "effect.mp3", "2.0 s 128k"),
    ({"task": "trellis.generate", "input": {
        "sourceImageUrl": f"{CDN}/boat_ref.png", "qualityPreset": "balanced", "targetFaceCount": 20000,
        "textureSize": 1024, "textureResolution": 512, "maxViews": 4, "sparseStructureSteps": 10, "shapeSteps": 10,
        "textureSteps": 10, "meshResolution": 1024, "remeshFillHoles": True, "remeshFillHolesMaxPerimeter": 0.05,
        "meshClusterConeHalfAngleRad": 55}}, "model.obj", "8 faces"),
]


def _describe(path: Path) -> str:
    if path.suffix == ".webp":
        with Image.open(path) as img:
            return f"{img.size[0]}x{img.size[1]} {img.format}"
    if path.suffix == ".mp3":
        with av.open(str(path)) as container:  # duration from the Xing header, not a full decode
            assert container.duration is not None
            return f"{container.duration / 1e6:.1f} s {round(container.streams.audio[0].bit_rate / 1000)}k"
    if path.suffix == ".json":
        doc = json.loads(path.read_text())
        return f"{doc['sections'][0]['label']}: {len(doc['words'])} words"
    return f"{path.read_text().count(chr(10) + 'f ')} faces"


@pytest.mark.parametrize(("body", "name", "summary"), STAND_INS, ids=[f"{b['task']}-{n}" for b, n, _ in STAND_INS])
def test_every_stand_in_example_completes_with_a_real_file(c: httpx.Client, tmp_path: Path, body: dict[str, Any],
                                                          name: str, summary: str) -> None:
    status, out = run_job(c, body, tmp_path / name)
    assert out is not None and status["downloadableOutputUrls"][0].endswith(f"/{name}")
    assert _describe(out) == summary


def test_image_edit_follows_a_source_it_holds(c: httpx.Client, emu: EmulatorHandle, tmp_path: Path) -> None:
    first, _ = run_job(c, {"task": "image.generate", "input": {"prompt": "source", "width": 96, "height": 64,
                                                               "outputFormat": "png"}})
    _, out = run_job(c, {"task": "image.edit", "input": {
        "prompt": "noir", "sourceImageUrl": first["downloadableOutputUrls"][0], "outputFormat": "jpg"}},
        tmp_path / "image.jpg")
    assert out is not None
    with Image.open(out) as img:
        assert (img.size, img.format) == ((96, 64), "JPEG")
