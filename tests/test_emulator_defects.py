"""The emulator's defect model: off by default, deterministic per seed, each defect from the first new frame."""

from __future__ import annotations

import math
from pathlib import Path

import av
import numpy as np
import pytest

from ltxkit.emulator import generate
from ltxkit.emulator.config import EmulatorConfig
from ltxkit.emulator.defects import KINDS, Defect, DefectModel, parse_kinds
from ltxkit.errors import InputError
from ltxkit.frames.synth import read_frame_code, render_frame

W, H, FRAMES, ANCHORS = 160, 96, 17, 3


def plan(seed: int = 5) -> generate.VideoPlan:
    return generate.plan_video({"prompt": "a pan", "durationFrames": FRAMES, "width": W, "height": H,
                                "sampledFps": 25, "interpolationFps": 0, "seed": seed})


def rgb(yuv: np.ndarray) -> np.ndarray:
    return av.VideoFrame.from_ndarray(yuv, format="yuv420p").to_ndarray(format="rgb24").astype(np.float64)


def sampled(defect: Defect | None) -> list[np.ndarray]:
    frames = generate.SampledFrames(plan(), [render_frame(k, W, H) for k in (40, 41, 42)], None, defect)
    return [frames[k] for k in range(FRAMES)]


def test_the_model_is_off_by_default_and_chooses_by_seed_alone() -> None:
    assert EmulatorConfig().defects == DefectModel() and DefectModel().rate == 0
    assert all(DefectModel().for_seed(s) is None for s in range(200))
    assert all(DefectModel(1.0).for_seed(s) is not None for s in range(200))
    model = DefectModel(0.25)
    chosen = {s: model.for_seed(s) for s in range(400)}
    assert chosen == {s: DefectModel(0.25).for_seed(s) for s in range(400)}  # the same every time
    assert 70 < sum(d is not None for d in chosen.values()) < 130  # about a quarter
    assert {d.kind for d in chosen.values() if d is not None} == set(KINDS)
    only = DefectModel(0.25, ("flash",))  # fewer kinds: the same seeds are defective
    assert {s for s, d in chosen.items() if d} == {s for s in range(400) if only.for_seed(s)}
    assert {only.for_seed(s) for s in chosen if chosen[s]} == {Defect("flash")}
    assert [model.for_seed(s) for s in (7, 8, 9)] == [Defect("flash"), Defect("exposure"), None]  # the demo's


@pytest.mark.parametrize("model", [DefectModel(-0.1), DefectModel(math.nan), DefectModel(1.5),
                                   DefectModel(0.5, ("blur",)), DefectModel(0.5, ())])
def test_impossible_models_are_refused(model: DefectModel) -> None:
    with pytest.raises(InputError, match="defect"):
        EmulatorConfig(defects=model).validate()


def test_kinds_parse_from_the_command_line() -> None:
    assert parse_kinds(" flash, frozen ,") == ("flash", "frozen")


def test_each_picture_defect_starts_at_the_first_new_frame() -> None:
    clean = sampled(None)
    first = ANCHORS
    for kind in ("white_balance", "exposure", "flash", "frozen", "skipped"):
        bad = sampled(Defect(kind))
        assert all(np.array_equal(bad[k], clean[k]) for k in range(first)), kind  # the anchors are untouched
        diff = [float((rgb(b) - rgb(c)).mean(axis=(0, 1))[0]) for b, c in zip(bad, clean, strict=True)]
        if kind == "white_balance":  # R up, B down by about 12 levels, luma kept
            shift = (rgb(bad[first]) - rgb(clean[first])).mean(axis=(0, 1))
            assert 9 < shift[0] < 13 and -13 < shift[2] < -9 and abs(shift[1]) < 3
        elif kind == "exposure":
            ratio = rgb(bad[first]).mean() / rgb(clean[first]).mean()
            assert 0.80 < ratio < 0.84 and np.array_equal(bad[first - 1], clean[first - 1])
        elif kind == "flash":  # two frames 40 levels brighter (less where white clips), then as before
            assert [d > 25 for d in diff] == [False] * first + [True, True] + [False] * (FRAMES - first - 2)
            assert all(np.array_equal(bad[k], clean[k]) for k in range(first + 2, FRAMES))
        elif kind == "frozen":  # the first new frame moves, then the picture stops
            assert not np.array_equal(bad[first], bad[first - 1])
            assert all(np.array_equal(bad[k], clean[first]) for k in range(first + 1, FRAMES))
        else:  # one frame skipped: the frame after is shown from the first new frame on
            assert all(np.array_equal(bad[k], clean[k + 1]) for k in range(first, FRAMES - 1))
            assert [read_frame_code(rgb(f).astype(np.uint8)) for f in bad[first - 1:first + 2]] == [42, 44, 45]


def test_the_audio_defect_is_the_whole_sound_10_db_down(tmp_path: Path) -> None:
    levels = []
    for defect in (None, Defect("audio")):
        out = tmp_path / f"{defect}.mp4"
        generate.synthesize_video(out, plan(), anchors=[render_frame(k, W, H) for k in (40, 41, 42)], final=None,
                                  audio=None, defect=defect)
        with av.open(str(out)) as c:
            sound = np.concatenate([f.to_ndarray() for f in c.decode(audio=0)], axis=1)[:, 4096:-4096]
        levels.append(20 * math.log10(float(np.sqrt(np.mean(sound.astype(np.float64) ** 2)))))
    assert levels[1] - levels[0] == pytest.approx(-10.0, abs=0.2)
