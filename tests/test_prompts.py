"""Lip-sync prompt helpers: the guide's required elements are present, its anti-patterns are flagged."""

from __future__ import annotations

import pytest

from ltxkit.errors import InputError
from ltxkit.workflow.prompts import LipSyncShot, lipsync_prompt, prompt_warnings


def test_lipsync_prompt_has_the_guides_elements() -> None:
    text = lipsync_prompt(LipSyncShot(speaker="a singer in a yellow coat", delivery="a soft sung chorus",
                                      setting="on a rooftop at dusk", camera="push", continuation=True))
    assert text.startswith("Image-to-video continuation anchored to the supplied start frame: a singer in a "
                           "yellow coat on a rooftop at dusk, performing a soft sung chorus.")
    for phrase in ("synced to the provided reference audio from start to finish", "frame-zero composition",
                   "prefer a very gentle push-in", "mouth articulation, jaw travel, breath timing",
                   "Start moving immediately"):
        assert phrase in text
    assert "\n" not in text and prompt_warnings(text) == []


def test_lipsync_prompt_rejects_bad_input() -> None:
    with pytest.raises(InputError, match="speaker"):
        lipsync_prompt(LipSyncShot(speaker="  "))
    with pytest.raises(InputError, match="camera must be one of locked, push, drift"):
        lipsync_prompt(LipSyncShot(speaker="a man", camera="orbit"))


def test_prompt_warnings() -> None:
    assert len(prompt_warnings("A seductive glamour portrait of a woman")) == 1
    assert prompt_warnings("[00:00] she sings; [00:05] she smiles") == [
        "timestamp or segment syntax in the prompt; use one coherent paragraph"]
    assert prompt_warnings("a portrait shot, lips synced to the audio") == []
