"""Rules added to api_schema for the emulator: the audio/3D tasks' stated limits and ``aspectRatio``.

Every task example in the API document must validate unchanged (bar inline placeholders); each stated
limit rejects exactly the field it names.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from ltxkit.api_schema import SchemaError, validate_task_input

WAV = {"dataBase64": base64.b64encode(b"RIFF....WAVE").decode(), "mimeType": "audio/wav"}
URL = "https://cdn.example.com/input/rin-voice-sample.opus"

# The document's examples, verbatim.
SPEAK = {"text": "We launch at dawn, hold formation, and bring everyone home safely.",
         "voiceDescription": "Warm confident narrator with balanced pacing, stable projection, and natural emphasis.",
         "language": "English", "quality": "128k", "seed": 123456}
CLONE = {"mode": "voice_clone",
         "text": "Keep the same character voice, but deliver this line with calm authority and clean pacing.",
         "referenceAudioUrl": URL,
         "referenceTranscript": "Rin keeps her voice low. She measures every word before it lands.",
         "referenceAudioMaxSeconds": 6, "maxNewTokens": 384, "language": "English", "quality": "128k",
         "seed": 424242}
ANNOTATION = {"sourceAudioUrl": "https://cdn.example.com/input/country-heart-edit.mp3",
              "transcript": "[Intro]\nBoots on the porch and a laptop glow,\nI mint an A P I key before the roosters "
                            "crow.", "language": "en", "transcriptionModel": "distil-large-v3", "device": "auto"}
ACE = {"tags": "anthemic ace step electro-pop", "lyrics": "[Intro]\nNeon rain on the avenue",
       "qualityPreset": "high_quality", "durationSeconds": 108, "quality": "192k", "language": "en"}
MOSS = {"prompt": "A sharp pistol shot in a dry canyon with a quick mechanical click and short tail echo.",
        "durationSeconds": 2, "quality": "128k", "topK": 50, "maxNewTokens": 1024}
TRELLIS = {"sourceImageUrl": "https://cdn.example.com/input/boat_ref.png", "qualityPreset": "balanced",
           "targetFaceCount": 20000, "textureSize": 1024, "remeshFillHoles": True}


def fields(task: str, inp: dict[str, Any]) -> list[str]:
    with pytest.raises(SchemaError) as info:
        validate_task_input(task, inp)
    return [p.field for p in info.value.problems]


@pytest.mark.parametrize(("task", "inp"), [
    ("audio.speak", SPEAK), ("audio.speak", CLONE), ("audio.annotation.reference", ANNOTATION),
    ("ace.step.create", ACE), ("moss.sound.effect", MOSS), ("trellis.generate", TRELLIS),
])
def test_document_examples_are_valid_and_unchanged(task: str, inp: dict[str, Any]) -> None:
    v = validate_task_input(task, inp)
    assert v.effective == inp and v.adjustments == []


@pytest.mark.parametrize(("task", "inp", "field"), [
    ("audio.speak", {**SPEAK, "text": "x" * 39}, "text"),
    ("audio.speak", {**SPEAK, "text": "x" * 601}, "text"),
    ("audio.speak", {k: v for k, v in SPEAK.items() if k != "text"}, "text"),
    ("audio.speak", {**SPEAK, "voiceDescription": "too short"}, "voiceDescription"),
    ("audio.speak", {**SPEAK, "voiceDescription": "v" * 241}, "voiceDescription"),
    ("audio.speak", {**SPEAK, "language": "German"}, "language"),
    ("audio.speak", {**SPEAK, "quality": "high"}, "quality"),
    ("audio.speak", {**SPEAK, "maxNewTokens": 0}, "maxNewTokens"),
    ("audio.speak", {k: v for k, v in CLONE.items() if k != "referenceAudioUrl"}, "referenceAudio"),
    ("audio.speak", {**CLONE, "referenceAudioMaxSeconds": 11}, "referenceAudioMaxSeconds"),
    ("audio.speak", {**CLONE, "referenceAudioMaxSeconds": 0}, "referenceAudioMaxSeconds"),
    ("audio.speak", {**CLONE, "referenceAudioUrl": None, "referenceAudio": {"dataBase64": "AAAA",
                                                                             "mimeType": "audio/x-foo"}},
     "referenceAudio"),
    ("audio.annotation.reference", {"transcript": "la la"}, "sourceAudio"),
    ("audio.annotation.reference", {**ANNOTATION, "transcript": 5}, "transcript"),
    ("ace.step.create", {**ACE, "durationSeconds": 14}, "durationSeconds"),
    ("ace.step.create", {**ACE, "durationSeconds": 241}, "durationSeconds"),
    ("ace.step.create", {"tags": "pop"}, "durationSeconds"),
    ("moss.sound.effect", {**MOSS, "durationSeconds": 0.5}, "durationSeconds"),
    ("moss.sound.effect", {**MOSS, "durationSeconds": 31}, "durationSeconds"),
    ("moss.sound.effect", {**MOSS, "prompt": " "}, "prompt"),
    ("moss.sound.effect", {**MOSS, "topK": -1}, "topK"),
    ("trellis.generate", {"qualityPreset": "balanced"}, "sourceImage"),
    ("video.generate", {"prompt": "x", "aspectRatio": "wide"}, "aspectRatio"),
    ("video.generate", {"prompt": "x", "aspectRatio": "16:0"}, "aspectRatio"),
])
def test_stated_limits_name_their_field(task: str, inp: dict[str, Any], field: str) -> None:
    assert fields(task, inp) == [field]


def test_defaults_are_reported_as_adjustments() -> None:
    v = validate_task_input("ace.step.create", {"tags": "pop", "qualityPreset": "high_quality"})
    assert (v.effective["durationSeconds"], v.effective["quality"]) == (108, "192k")
    assert v.adjustments == ["qualityPreset=high_quality: durationSeconds=108",
                             "qualityPreset=high_quality: quality=192k"]
    clone = {k: v for k, v in CLONE.items() if k != "maxNewTokens"}
    v = validate_task_input("audio.speak", {**clone, "referenceAudioUrl": None, "referenceAudio": WAV})
    assert v.effective["maxNewTokens"] == 384 and v.adjustments == ["mode=voice_clone: maxNewTokens=384"]
    assert validate_task_input("video.generate", {"prompt": "x", "aspectRatio": "16:9"}).effective["aspectRatio"] \
        == "16:9"
