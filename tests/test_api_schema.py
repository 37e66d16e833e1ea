"""The media-jobs input rules: each rule from the API document rejects exactly what it should."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from ltxkit.api_schema import SchemaError, decode_inline, validate_task_input

PNG = {"dataBase64": base64.b64encode(b"\x89PNG fake").decode(), "mimeType": "image/png"}
URL = "https://cdn.example.com/input/frame.webp"


def gen(**fields: Any) -> dict[str, Any]:
    return {"prompt": "a slow push-in", **fields}


def problems(task: str, inp: dict[str, Any]) -> list[str]:
    with pytest.raises(SchemaError) as info:
        validate_task_input(task, inp)
    return [p.field for p in info.value.problems]


def test_seed_extension_example_is_valid() -> None:
    inp = gen(overlapFrameImageUrls=[URL, URL, URL], referenceAudioUrl="https://cdn.example.com/a.opus",
              durationFrames=257, width=1280, height=1280, sampledFps=25, interpolationFps=60, seed=424242)
    v = validate_task_input("video.generate", inp)
    assert v.effective == inp and v.adjustments == []


def test_defaults_and_duration_seconds_adjustment() -> None:
    v = validate_task_input("video.generate", gen(durationSeconds=6, width=1920, height=1088))
    assert v.effective["durationFrames"] == 177
    assert v.effective["sampledFps"] == 30 and v.effective["interpolationFps"] == 60
    assert v.adjustments == ["durationSeconds=6 -> durationFrames=177 (8n+1 at 30 fps)"]
    v = validate_task_input("video.generate", gen(durationSeconds=10.28, sampledFps=25))
    assert v.effective["durationFrames"] == 257


@pytest.mark.parametrize(
    ("inp", "field"),
    [
        (gen(durationFrames=250, sampledFps=25), "durationFrames"),
        (gen(durationFrames=3, overlapFrameImageUrls=[URL, URL, URL]), "durationFrames"),
        (gen(durationFrames=257, durationSeconds=6), "durationSeconds"),
        (gen(durationSeconds=-1), "durationSeconds"),
        (gen(width=1280), "height"),
        (gen(height=1280), "width"),
        (gen(width=1000, height=1024), "width"),
        (gen(width=4096, height=2048), "width"),
        (gen(interpolationFps=20), "interpolationFps"),
        (gen(interpolationFps=61), "interpolationFps"),
        (gen(referenceAudioUrl="https://cdn.example.com/a.opus"), "referenceAudioUrl"),
        (gen(startFrameImage={"dataBase64": "abc", "mimeType": "image/gif"}), "startFrameImage"),
        (gen(startFrameImage={"dataBase64": "!!!", "mimeType": "image/png"}), "startFrameImage"),
        (gen(startFrameImage="ftp://x/y.png"), "startFrameImage"),
        (gen(startFrameImage=PNG, referenceAudio={"dataBase64": "AAAA", "mimeType": "audio/x-foo"}),
         "referenceAudio"),
        (gen(overlapFrameImageUrls=[]), "overlapFrameImageUrls"),
        (gen(overlapFrameImageUrls=["not a url"]), "overlapFrameImageUrls[0]"),
        (gen(overlapFrameImageUrls=[URL], overlapFrameImages=[PNG]), "overlapFrameImages"),
        (gen(sampledFps="fast"), "sampledFps"),
        (gen(seed="x"), "seed"),
        ({"durationFrames": 257}, "prompt"),
    ],
)
def test_video_generate_rules(inp: dict[str, Any], field: str) -> None:
    assert field in problems("video.generate", inp)


def test_all_problems_are_reported_together() -> None:
    fields = problems("video.generate", {"prompt": "", "width": 1000, "height": 1000, "interpolationFps": 5})
    assert fields == ["prompt", "width", "height", "interpolationFps"]


def test_reference_audio_with_start_frame_or_overlap_is_valid() -> None:
    audio = {"dataBase64": base64.b64encode(b"RIFF").decode(), "mimeType": "audio/wav"}
    validate_task_input("video.generate", gen(startFrameImage=PNG, referenceAudio=audio))
    validate_task_input("video.generate", gen(overlapFrameImages=[PNG, PNG], referenceAudio=audio,
                                              durationFrames=9))
    validate_task_input("video.generate", gen(sourceImageUrl=URL, referenceAudioUrl=URL))


def test_combine_rules() -> None:
    ok = {"videoUrls": ["https://x/a.mp4", "https://x/b.mp4"], "overlapFrames": 3, "frameRate": 60}
    assert validate_task_input("video.combine", ok).effective == ok
    assert problems("video.combine", {"videoUrls": ["https://x/a.mp4"]}) == ["videoUrls"]
    assert problems("video.combine", {"videoUrls": ["https://x/a.mp4", "b.mp4"]}) == ["videoUrls[1]"]
    assert problems("video.combine", {**ok, "overlapFrames": -1}) == ["overlapFrames"]
    assert problems("video.combine", {**ok, "frameRate": 0}) == ["frameRate"]


def test_image_tasks_and_unknown_task() -> None:
    validate_task_input("image.generate", {"prompt": "cinematic fox astronaut", "width": 1024, "height": 1024})
    assert problems("image.generate", {"prompt": "x", "width": 1000, "height": 1024}) == ["width"]
    assert problems("image.edit", {"prompt": "noir"}) == ["sourceImage"]
    assert problems("image.generate", {"prompt": "x", "outputFormat": "gif"}) == ["outputFormat"]
    with pytest.raises(SchemaError, match=r"unknown task 'video\.upscale'"):
        validate_task_input("video.upscale", {})
    with pytest.raises(SchemaError, match="input must be a JSON object"):
        validate_task_input("video.generate", [1, 2])


def test_decode_inline_accepts_data_uri() -> None:
    assert decode_inline("data:image/png;base64," + base64.b64encode(b"abc").decode()) == b"abc"
    assert decode_inline(base64.b64encode(b"xyz").decode()) == b"xyz"


def test_huge_integer_duration_is_validated_not_crashing() -> None:
    """JSON integers have no size limit; ``math.isfinite(10**400)`` raised OverflowError (a traceback)."""
    result = validate_task_input("video.generate", {"prompt": "x", "durationSeconds": 10**400, "sampledFps": 25})
    assert result.effective["durationFrames"] % 8 == 1
    with pytest.raises(SchemaError, match="durationSeconds"):
        validate_task_input("moss.sound.effect", {"prompt": "x", "durationSeconds": 10**400})
