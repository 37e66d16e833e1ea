"""Prompt helpers for lip-sync shots, following the API guide's "Lip-Sync Prompting" advice.

A reference-audio shot must read as an anchored performance (frame zero, identity, sync from start to
finish), with the mouth and breath carrying the motion and a restrained camera; prompts that describe
a portrait or a camera move animate the framing instead of the mouth. Kept deliberately simple: one
coherent paragraph, no timestamp or segment syntax.
"""

from __future__ import annotations

from dataclasses import dataclass

from ltxkit.errors import InputError

CAMERA = {
    "locked": "prefer locked framing",
    "push": "prefer a very gentle push-in",
    "drift": "prefer a tiny lateral drift",
}

PORTRAIT_WORDS = ("portrait", "glamour", "seductive")


@dataclass(frozen=True)
class LipSyncShot:
    """What a filmmaker knows about the shot; the rest of the paragraph is the guide's fixed advice."""

    speaker: str  # who performs, e.g. "a woman in a red raincoat"
    delivery: str = "a direct-to-camera dialogue line"  # e.g. "a soft sung chorus"
    setting: str = ""  # e.g. "on a rainy rooftop at night"
    camera: str = "locked"
    continuation: bool = False  # True when conditioned on overlap frames rather than a start frame


def lipsync_prompt(shot: LipSyncShot) -> str:
    """One paragraph that anchors the performance to frame zero and the supplied reference audio."""
    if not shot.speaker.strip():
        raise InputError("a lip-sync prompt needs the speaker (who performs the line)")
    if shot.camera not in CAMERA:
        raise InputError(f"camera must be one of {', '.join(CAMERA)}, got {shot.camera!r}")
    kind = "continuation" if shot.continuation else "shot"
    where = f" {shot.setting.strip()}" if shot.setting.strip() else ""
    return " ".join([
        f"Image-to-video {kind} anchored to the supplied start frame: {shot.speaker.strip()}{where}, "
        f"performing {shot.delivery.strip()}.",
        "Keep the performance synced to the provided reference audio from start to finish.",
        "Honor the frame-zero composition and keep the same subject count, identity, wardrobe, and "
        "environment family.",
        f"Favor restrained camera behavior; {CAMERA[shot.camera]}, with subject motion carrying the shot "
        "more than the camera.",
        "Keep the subject readable whenever the face is foregrounded.",
        "Let mouth articulation, jaw travel, breath timing, shoulder rhythm, and phrase-timed gestures carry "
        "the sync.",
        "Start moving immediately and keep lip sync faithful to the supplied reference audio, with mouth "
        "shapes and breath timing driven by that phrase.",
        "Keep one continuous shot with stable anatomy, coherent motion, and preserved white balance, skin "
        "tone, exposure, contrast, saturation, and background palette.",
    ])


def prompt_warnings(prompt: str) -> list[str]:
    """Cheap checks for the prompt habits the guide warns against, so the CLI can say why before paying."""
    warnings = []
    lowered = prompt.lower()
    if any(word in lowered for word in PORTRAIT_WORDS) and "sync" not in lowered:
        warnings.append("the prompt describes a portrait rather than a performance; lip-sync shots animate the "
                        "framing instead of the mouth with such prompts")
    if any(token in lowered for token in ("[0", "0:0", "00:", "segment 1", "shot 1:")):
        warnings.append("timestamp or segment syntax in the prompt; use one coherent paragraph")
    return warnings
