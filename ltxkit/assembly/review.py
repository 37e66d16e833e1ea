"""What a person looks at before paying for the next clip: contact sheet, review clip, HTML report.

The review clip is cut out of a file by seeking (keyframe seek, then decode forward), so two seconds
either side of a seam cost the same in a ten-minute result as in a ten-second one. It is h264 at no
more than :data:`REVIEW_MAX_WIDTH` pixels wide so the report can embed it and any browser can play it.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ltxkit.assembly.grade import Correction
from ltxkit.assembly.seam import (
    ANALYSIS_MAX_WIDTH,
    CLEAN_WORDS,
    SHRINK_INTERPOLATION,
    SeamFrames,
    scaled_size,
    seam_words,
)
from ltxkit.frames.checks import default_layout
from ltxkit.frames.codecs import codec_profile
from ltxkit.frames.probe import ProbeResult
from ltxkit.frames.render import scale_frame
from ltxkit.frames.smart import SmartRenderResult, smart_render
from ltxkit.frames.timeline import Piece, Timeline
from ltxkit.fsutil import atomic_path
from ltxkit.timing import round_half_up

REVIEW_SECONDS = Fraction(2)
REVIEW_MAX_WIDTH = ANALYSIS_MAX_WIDTH  # the review clip is made of the frames the seam review shrank to rate them
REVIEW_INTERPOLATION = SHRINK_INTERPOLATION  # the review clip scales as the seam review shrinks (its frames)
# x264 ultrafast: a quarter of veryfast's CPU (100 frames at 640x360: 0.13 s against 0.53 s) for about three
# times the bytes (330 kB for 4 s), and the review clip is only watched in the report; same frames either way
REVIEW_OPTIONS = {"preset": "ultrafast", "crf": "23"}
SHEET_THUMB_WIDTH = 200
SHEET_PAD = 6  # pixels between thumbnails and around them
SHEET_MAX_COLUMNS = 8
DIFF_GAIN = 4  # difference images are amplified so small drifts are visible
PNG_COMPRESS_LEVEL = 1  # see _save_png


def write_atomic(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


# --- contact sheet -----------------------------------------------------------------------------------


Cells = list[tuple[str, np.ndarray]]  # (caption, RGB frame) per thumbnail


def _paste_row(sheet: Image.Image, cells: Cells, x: int, y: int, size: tuple[int, int], *, caption_gap: int,
               fill: tuple[int, int, int]) -> None:
    """``cells`` as thumbnails of ``size`` side by side from (x, y), each captioned below."""
    draw, font = ImageDraw.Draw(sheet), ImageFont.load_default(size=13)
    tw, th = size
    for c, (text, img) in enumerate(cells):
        left = x + c * (tw + SHEET_PAD)
        sheet.paste(Image.fromarray(img).resize(size, Image.Resampling.BILINEAR), (left, y))
        draw.text((left, y + th + caption_gap), text, fill=fill, font=font)


def _save_png(image: Image.Image, path: Path) -> Path:
    """Lossless as ever; zlib level 1 instead of 6 deflates a contact sheet in a quarter of the CPU for
    a fifth more bytes (1206x542 px: 40 ms and 452 kB against 156 ms and 373 kB)."""
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    write_atomic(path, buf.getvalue())
    return path


def contact_sheet(data: SeamFrames, path: Path) -> Path:
    """PNG with rows: A's conditioning frames, B's overlap frames, B's first kept frames, |A−B|×4."""
    pairs = data.pairs[-SHEET_MAX_COLUMNS:]
    kept = data.kept_preview[:SHEET_MAX_COLUMNS]
    diff = [np.clip(np.abs(data.a_frames[a].astype(np.int16) - data.b_frames[b].astype(np.int16)) * DIFF_GAIN,
                    0, 255).astype(np.uint8) for a, b in pairs]
    rows: list[tuple[str, Cells]] = [
        ("A tail (conditioning)", [(f"A {a}", data.a_frames[a]) for a, _ in pairs]),
        ("B overlap", [(f"B {b}", data.b_frames[b]) for _, b in pairs]),
        ("B first kept", [(f"B {b}", data.b_frames[b]) for b in kept]),
        (f"|A-B| x{DIFF_GAIN}", [(f"{a}/{b}", d) for (a, b), d in zip(pairs, diff, strict=True)]),
    ]
    sample = next((img for _, cells in rows for _, img in cells), None)
    aspect = sample.shape[0] / sample.shape[1] if sample is not None else 9 / 16
    tw, th = SHEET_THUMB_WIDTH, max(1, round(SHEET_THUMB_WIDTH * aspect))
    label_w, pad, caption = 170, SHEET_PAD, 16
    columns = max(1, *(len(cells) for _, cells in rows))
    sheet = Image.new("RGB", (label_w + columns * (tw + pad) + pad, len(rows) * (th + caption + pad) + pad),
                      (32, 32, 32))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=13)
    for r, (label, cells) in enumerate(rows):
        y = pad + r * (th + caption + pad)
        draw.text((pad, y + th // 2), label, fill=(230, 230, 230), font=font)
        if not cells:
            draw.text((label_w, y + th // 2), "(no overlap frames)", fill=(160, 160, 160), font=font)
        _paste_row(sheet, cells, label_w, y, (tw, th), caption_gap=1, fill=(200, 200, 200))
    return _save_png(sheet, path)


def colour_strip(correction: Correction, record: dict[str, Any], path: Path) -> Path:
    """PNG of the colour match at one joint: A's frame, B's as generated, B's as corrected, each captioned."""
    cells: Cells = [("A (the clip before)", correction.a),
             (f"B as generated: dE {record['delta_e_before']:.1f}", correction.b),
             (f"B corrected ({record['method']}): dE {record['delta_e_after']:.1f}", correction.b_corrected)]
    tw = max(SHEET_THUMB_WIDTH, min(320, correction.a.shape[1]))
    th = max(1, round(tw * correction.a.shape[0] / correction.a.shape[1]))
    pad, caption = SHEET_PAD, 18
    strip = Image.new("RGB", (pad + len(cells) * (tw + pad), th + caption + 2 * pad), (32, 32, 32))
    _paste_row(strip, cells, pad, pad, (tw, th), caption_gap=2, fill=(230, 230, 230))
    return _save_png(strip, path)


# --- review clip -------------------------------------------------------------------------------------


def file_timeline(info: ProbeResult, *, audio: bool) -> Timeline:
    """A whole file as a timeline (to cut a window out of it)."""
    rate = info.audio[0].sample_rate if audio and info.audio else 48000
    layout = default_layout(info.audio[0].channels) if info.audio else "stereo"
    tl = Timeline(info.fps, *info.display_size, (Piece(info.path, 0, info.frame_count),),
                  sample_rate=rate, layout=layout)
    if audio and info.audio:
        tl = replace(tl, audio=(Piece(info.path, 0, tl.sample_count),))
    return tl


def review_window(timeline: Timeline, cut_frame: int, seconds: Fraction = REVIEW_SECONDS) -> Timeline:
    """±``seconds`` around ``cut_frame`` of ``timeline``, at the review clip's size."""
    half = round_half_up(seconds * timeline.fps)
    start = max(0, cut_frame - half)
    stop = min(timeline.frame_count, cut_frame + half)
    width, height = scaled_size(timeline.width, timeline.height, REVIEW_MAX_WIDTH)
    return replace(timeline.window(start, stop - start), width=width, height=height)


def review_frames(window: Timeline, sources: Sequence[ProbeResult]) -> dict[Path, set[int]]:
    """The frames of ``sources`` the review clip of ``window`` scales (so re-encodes) as they are: a seam
    review decodes them with its own and hands them over scaled (:func:`review_scale`)."""
    sizes = {i.path: i.display_size for i in sources}
    wanted: dict[Path, set[int]] = {}
    for p in window.video:
        if p.source in sizes and sizes[p.source] != (window.width, window.height) and p.grade is None \
                and p.blend is None:
            wanted.setdefault(p.source, set()).update(range(p.start, p.start + p.count))
    return wanted


def review_scale(window: Timeline) -> Callable[[av.VideoFrame], av.VideoFrame]:
    """A decoded frame as the review clip's render scales it."""
    return lambda frame: scale_frame(frame, window, codec_profile("h264").pix_fmt, REVIEW_INTERPOLATION)


def review_clip(timeline: Timeline, cut_frame: int, output: Path, *, seconds: Fraction = REVIEW_SECONDS,
                render: str = "smart", infos: Mapping[Path, ProbeResult] | None = None,
                scaled: dict[tuple[Path, int], av.VideoFrame] | None = None) -> SmartRenderResult:
    """±``seconds`` around ``cut_frame`` of ``timeline``, small h264 for the browser, cut by seeking.

    Smart render copies the GOPs of a source no wider than :data:`REVIEW_MAX_WIDTH` that the window
    holds whole; a wider source is scaled, so re-encoded (the result says so). ``infos``: the sources
    as already probed (the seam review's), not probed again; ``scaled``: its frames already decoded and
    scaled (:func:`review_frames`)."""
    return smart_render(review_window(timeline, cut_frame, seconds), output, codec="h264", render=render,
                        video_options=REVIEW_OPTIONS, interpolation=REVIEW_INTERPOLATION, infos=infos, scaled=scaled)


# --- HTML --------------------------------------------------------------------------------------------


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    if isinstance(value, list):
        return ", ".join(_fmt(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k} {_fmt(v)}" for k, v in value.items() if k not in ("pairs",))
    return str(value)


_LEVEL_FOR = {"overlap_fidelity": ["overlap_psnr", "overlap_ssim"], "av_offset": ["av_offset"]}

_CSS = """body{font:14px/1.4 system-ui,sans-serif;margin:24px;background:#fafafa;color:#222}
p.advice,div.todo{font-size:16px;padding:6px 10px;border-left:5px solid #c33;background:#fff}
.fixed{background:#d6e6fa;font-weight:normal;font-size:70%}
tr.aside td{color:#777}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
.ok{background:#d9f2d9}.check{background:#fff1c2}.bad{background:#f8d0d0}
.verdict{padding:2px 10px;border-radius:4px;font-weight:bold}img,video{max-width:100%;display:block;margin:8px 0}
section{border-top:1px solid #ddd;margin-top:16px}"""


def _data_uri(path: Path, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _takes(title: str, takes: Sequence[dict[str, Any]]) -> str:
    """The candidates a clip was chosen from, side by side: what the review found in each, which was used."""
    rows = []
    for t in takes:
        score = "-" if t.get("score") is None else f"{t['score']:.1f}"
        found = "; ".join(t.get("findings") or []) or t.get("rejected") or (
            "clean cut" if t.get("status") == "done" else t.get("error") or t.get("status", ""))
        choice = "chosen" if t.get("chosen") else "set aside" if t.get("rejected") else ""
        if t.get("chosen") and t.get("rejected"):
            choice = "chosen, though defective (every candidate was)"
        level = t.get("verdict") or ""
        rows.append(f"<tr class='{'aside' if t.get('rejected') else level}'><td>candidate {t['candidate']}</td>"
                    f"<td>{t['seed']}</td><td class='{level}'>{html.escape(level or t.get('status', ''))}</td>"
                    f"<td>{score}</td><td>{html.escape(found)}</td><td><b>{choice}</b></td></tr>")
    return (f"<h3>{html.escape(title)}</h3><table class='takes'><tr><th>candidate</th><th>seed</th><th>verdict</th>"
            "<th>seam score</th><th>what the review found</th><th>choice</th></tr>" + "".join(rows) + "</table>")


def html_report(title: str, seams: Sequence[dict[str, Any]], verdict: str, path: Path,
                summary: dict[str, Any] | None = None, opening: Sequence[dict[str, Any]] = ()) -> Path:
    """One self-contained page: verdict and what to do, and per seam its findings in words, the advice,
    the candidates compared, the colour correction (with its before/after strip), the metrics, contact
    sheet and review clip. ``opening``: the candidates of the first clip (no seam of its own)."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{_CSS}</style></head><body>",
             f"<h1>{html.escape(title)} <span class='verdict {verdict}'>{verdict.upper()}</span></h1>"]
    todo = [(n, s["advice"]) for n, s in enumerate(seams, start=1) if s.get("advice")]
    if todo:
        parts.append("<div class='todo'><b>What to do</b><ul>"
                     + "".join(f"<li>Seam {n}: {html.escape(a)}</li>" for n, a in todo) + "</ul></div>")
    if summary:
        parts.append("<table>" + "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_fmt(v))}</td></tr>"
                                         for k, v in summary.items()) + "</table>")
    if opening:
        parts.append("<section>" + _takes("The opening clip's candidates", opening) + "</section>")
    for n, seam in enumerate(seams, start=1):
        m = seam["metrics"]
        cut = seam["cut"]
        fix = seam.get("colour_correction")
        parts.append(f"<section><h2>Seam {n}: {html.escape(Path(cut['a']).name)} → "
                     f"{html.escape(Path(cut['b']).name)} at {cut['cut_seconds']:.3f} s "
                     f"<span class='verdict {seam['verdict']}'>{seam['verdict'].upper()}</span>"
                     + (f" <span class='verdict fixed'>colour corrected: ΔE {fix['delta_e_before']:.1f} → "
                        f"{fix['delta_e_after']:.1f}</span>" if fix else "") + "</h2>")
        if seam.get("advice"):
            parts.append(f"<p class='advice'>Advice: {html.escape(seam['advice'])}</p>")
        if choice := cut.get("choice"):
            parts.append(f"<p class='fix'>{html.escape(choice['words'][0].upper() + choice['words'][1:])}.</p>")
        found = seam.get("findings", [])
        others = [w for w in seam_words(seam["levels"]) if w["level"] != "ok"]
        if found or others:
            parts.append("<ul class='findings'>" + "".join(
                f"<li class='{f['level']}'><b>{html.escape(f['words'])}</b> (at {f['seconds']:.2f} s) — "
                f"{html.escape(f['advice'])}</li>" for f in found) + "".join(
                f"<li class='{w['level']}'><b>{html.escape(w['text'])}</b></li>" for w in others) + "</ul>")
        if not found:
            parts.append(f"<p>{html.escape(CLEAN_WORDS)}</p>")
        if seam.get("candidates"):
            parts.append(_takes(f"The candidates this clip was chosen from ({Path(cut['b']).name})",
                                seam["candidates"]))
        files = seam.get("files", {})
        if fix:
            parts.append(f"<p class='fix'>Colour corrected ({html.escape(fix['method'])}, matched to the "
                         f"{html.escape(fix['ref'])} clip, estimated from {html.escape(fix['estimated_from'])}): "
                         f"B's mean colour was ΔE {fix['delta_e_before']:.1f} from A's, now ΔE "
                         f"{fix['delta_e_after']:.1f}.</p>")
            if files.get("colour_strip"):
                parts.append(f"<img alt='colour match before and after' "
                             f"src='{_data_uri(Path(files['colour_strip']), 'image/png')}'>")
        rows = []
        for name, value in m.items():
            lv = [seam["levels"][k] for k in _LEVEL_FOR.get(name, []) if k in seam["levels"]]
            level = max(lv, key=["ok", "check", "bad"].index) if lv else ""
            shown = "not measured" if value is None else _fmt(value)
            rows.append(f"<tr class='{level}'><th>{html.escape(name)}</th><td>{html.escape(shown)}</td>"
                        f"<td>{level}</td></tr>")
        parts.append("<table><tr><th>metric</th><th>value</th><th>level</th></tr>" + "".join(rows) + "</table>")
        if files.get("contact_sheet"):
            parts.append(f"<img alt='contact sheet' src='{_data_uri(Path(files['contact_sheet']), 'image/png')}'>")
        if files.get("review_clip"):
            parts.append(f"<video controls preload='metadata' width='{REVIEW_MAX_WIDTH}' "
                         f"src='{_data_uri(Path(files['review_clip']), 'video/mp4')}'></video>")
        parts.append("<details><summary>thresholds</summary><pre>"
                     f"{html.escape(json.dumps(seam['thresholds'], indent=1))}</pre></details></section>")
    parts.append("</body></html>")
    write_atomic(path, "\n".join(parts).encode("utf-8"))
    return path
