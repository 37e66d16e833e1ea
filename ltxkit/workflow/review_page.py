# ruff: noqa: E501  (an embedded HTML/JS document, not Python lines)
"""The review page: one self-contained HTML document (no build step, no CDN), built on ``GET /api/run``.

Kept as a module string so it ships with the package like any module.
"""

PAGE = r"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ltxkit review</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
:root{--bg:#16181c;--panel:#1f2228;--line:#30343c;--text:#e8e9ec;--dim:#9aa0aa;--accent:#5fa8ff;
--ok:#3fbf76;--check:#e0b341;--bad:#e5534b}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--text);font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif}
header{padding:18px 28px;border-bottom:1px solid var(--line);display:flex;gap:24px;align-items:baseline;flex-wrap:wrap}
h1{font-size:20px;margin:0;font-weight:600}h1 small{color:var(--dim);font-weight:400;margin-left:8px}
h2{font-size:17px;margin:0 0 4px;font-weight:600}
main{padding:8px 28px 60px;max-width:1500px}
.status{color:var(--dim)}
.banner{margin:14px 0;padding:10px 14px;border-radius:6px;background:#233047;border:1px solid #35507a;display:none}
.banner.error{background:#3a2222;border-color:#7a3535}
section{background:var(--panel);border:1px solid var(--line);border-radius:10px;padding:18px 20px;margin:18px 0}
.meta{color:var(--dim);margin-bottom:12px}
.pill{display:inline-block;padding:1px 10px;border-radius:20px;font-size:13px;font-weight:600;margin-left:8px;
vertical-align:2px;border:1px solid currentColor}
.pill.ok{color:var(--ok)}.pill.check{color:var(--check)}.pill.bad{color:var(--bad)}
.pill.stale,.pill.waiting,.pill.generating{color:var(--check)}.pill.chosen{color:var(--accent)}
.transport{display:flex;gap:10px;align-items:center;margin:6px 0 14px;flex-wrap:wrap}
button{background:#2c313a;color:var(--text);border:1px solid #434955;border-radius:6px;padding:6px 14px;
font:inherit;cursor:pointer}button:hover:not(:disabled){border-color:var(--accent)}
button:disabled{opacity:.55;cursor:default}
button.pick{background:var(--accent);border-color:var(--accent);color:#0b1320;font-weight:600}
button.pick:disabled{background:transparent;color:var(--accent)}
select{background:#2c313a;color:var(--text);border:1px solid #434955;border-radius:6px;padding:5px 8px;font:inherit}
input[type=range]{accent-color:var(--accent)}
.scrub{flex:1;min-width:200px;position:relative}.scrub input{width:100%}
.time{font-variant-numeric:tabular-nums;color:var(--dim);min-width:110px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(330px,1fr));gap:16px}
.cand{border:2px solid var(--line);border-radius:8px;padding:10px;background:#1a1d22}
.cand.chosen{border-color:var(--accent)}
.cand h3{margin:0 0 6px;font-size:15px;display:flex;justify-content:space-between;align-items:center}
video{width:100%;display:block;background:#000;border-radius:4px}
.facts{color:var(--dim);font-size:13px;margin:6px 0}
ul.findings{list-style:none;padding:0;margin:6px 0 10px;font-size:14px}
ul.findings li{padding:1px 0}ul.findings li::before{content:"●";margin-right:7px}
li.ok::before{color:var(--ok)}li.check::before{color:var(--check)}li.bad::before{color:var(--bad)}
.compare{margin-top:16px;border-top:1px solid var(--line);padding-top:14px}
.stage{position:relative;max-width:760px}.stage video{position:absolute;top:0;left:0}
.stage video.base{position:relative}
.wipe-line{position:absolute;top:0;bottom:0;width:2px;background:#fff;pointer-events:none;box-shadow:0 0 4px #000}
.label{position:absolute;top:8px;padding:2px 8px;background:rgba(0,0,0,.65);border-radius:4px;font-size:13px}
.note{color:var(--dim);font-size:13px}code{background:#2c313a;padding:1px 5px;border-radius:4px}
a{color:var(--accent)}
</style></head>
<body>
<header><h1>ltxkit review<small id="rundir"></small></h1><div class="status" id="status">loading…</div></header>
<main>
<div class="banner" id="banner"></div>
<section id="result"></section>
<div id="segments"></div>
</main>
<script>
"use strict";
const $ = (s, r = document) => r.querySelector(s);
function el(tag, attrs = {}, ...kids) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) n.addEventListener(k.slice(2), v); else n.setAttribute(k, v === true ? "" : v);
  }
  for (const k of kids.flat()) if (k !== null && k !== undefined) n.append(k);
  return n;
}
const fmt = t => isFinite(t) ? t.toFixed(2) + " s" : "–";
const usd = v => v === null || v === undefined ? "price not reported" : "$" + v.toFixed(2);
const LEVEL = {ok: "OK", check: "Check", bad: "Bad"};
let run = null, shown = {}, busy = false, asked = 0;

function banner(text, error = false) {
  const b = $("#banner");
  b.textContent = text; b.className = "banner" + (error ? " error" : ""); b.style.display = text ? "block" : "none";
}

// Previews are fetched whole, two at a time, and played from memory: a browser opens only six
// connections per host and a <video> may hold its connection open, which would queue the pick
// request behind a page full of videos. Each preview is fetched once (the compare view reuses it).
const loading = {queue: [], active: 0, urls: new Map()};
function load(video, src) {
  loading.queue.push([video, src]);
  setTimeout(pump);
  return video;
}
function pump() {
  while (loading.active < 2 && loading.queue.length) {
    const [video, src] = loading.queue.shift();
    if (!loading.urls.has(src)) {
      loading.active++;
      loading.urls.set(src, fetch(src).then(r => r.ok ? r.blob() : Promise.reject(new Error(r.statusText)))
        .then(blob => URL.createObjectURL(blob)).finally(() => { loading.active--; pump(); }));
    }
    loading.urls.get(src).then(url => { video.src = url; }, () => { video.replaceWith(el("p", {class: "note"}, "preview failed")); });
  }
}

// one clock per segment: every video of the segment follows the first one
class Sync {
  constructor(root, lead) { this.root = root; this.lead = lead; this.videos = []; this.raf = null; }
  add(v) { this.videos.push(v); v.muted = this.videos.length > 1; return v; }
  get leader() { return this.videos[0]; }
  play() { this.videos.forEach(v => v.play().catch(() => {})); this.loop(); }
  pause() { this.videos.forEach(v => v.pause()); }
  seek(t) { this.videos.forEach(v => { v.currentTime = t; }); this.update(); }
  loop() {
    cancelAnimationFrame(this.raf);
    const step = () => {
      const t = this.leader.currentTime;
      for (const v of this.videos.slice(1)) if (Math.abs(v.currentTime - t) > 0.05) v.currentTime = t;
      this.update();
      if (!this.leader.paused) this.raf = requestAnimationFrame(step);
    };
    this.raf = requestAnimationFrame(step);
  }
  update() {
    const s = $("input.scrub-range", this.root), t = $(".time", this.root), v = this.leader;
    if (!v) return;
    if (s && isFinite(v.duration)) { s.max = v.duration; s.value = v.currentTime; }
    if (t) t.textContent = fmt(v.currentTime) + " / " + fmt(v.duration);
  }
}

function renderResult() {
  const r = run.result, box = $("#result");
  box.replaceChildren();
  if (!r) { box.append(el("h2", {}, "Extended shot"), el("p", {class: "note"}, "Not spliced yet.")); return; }
  const stale = r.stale_from ? el("p", {class: "note"}, `Segments from ${r.stale_from} on are set aside: `,
    el("code", {}, `ltxkit extend --resume -o ${run.run_dir} …`), " generates them again from the new choice.") : null;
  box.append(...[
    el("h2", {}, "Extended shot", r.verdict ? el("span", {class: "pill " + r.verdict}, "seams " + LEVEL[r.verdict]) : null),
    el("div", {class: "meta"}, `candidates in use: ${(r.picks || []).map((p, i) => `segment ${i + 1} → ${p}`).join(", ")}`,
      r.frames ? ` · ${r.frames} frames` : "", r.report ? " · " : "", r.report ? el("a", {href: r.report, target: "_blank"}, "seam report") : null),
    stale,
    r.extended ? el("video", {id: "extended", controls: true, preload: "metadata", style: "max-width:640px",
                             src: r.extended + "?v=" + run.version + "#t=0.01"}) : null].filter(Boolean));
}

function findingsList(findings) {
  if (!findings.length) return el("ul", {class: "findings"});
  const issues = findings.filter(f => f.level !== "ok");
  if (!issues.length) return el("ul", {class: "findings"}, el("li", {class: "ok"}, run.clean_words));
  return el("ul", {class: "findings"}, issues.map(f => el("li", {class: f.level}, f.text)),
            el("li", {class: "ok"}, "everything else holds"));
}

function candidateTile(seg, c, sync) {
  const chosen = c.candidate === seg.chosen;
  const can = run.can_pick && c.status === "done" && c.preview;
  const video = c.preview ? sync.add(load(el("video", {preload: "auto", playsinline: true, "data-candidate": c.candidate}),
                                          c.preview)) : el("p", {class: "note"}, c.error || (c.status === "failed" ? "failed" : "rendering on the server…"));
  const facts = [`seed ${c.seed}`, c.score !== null ? `seam score ${c.score.toFixed(1)}` : null,
                 usd(seg.per_candidate_usd),
                 seg.ranking.length ? `ranked ${seg.ranking.indexOf(c.candidate) + 1} of ${seg.ranking.length}` : null,
                 c.rejected ? "set aside by the ranking" : null].filter(Boolean);
  const button = !c.preview ? null : el("button", {class: "pick", disabled: chosen || !can, "data-pick": c.candidate,
                               title: run.can_pick ? "" : run.why_not,
                               onclick: () => pick(seg, c.candidate)}, chosen ? "✓ In the cut" : "Use this take");
  return el("div", {class: "cand" + (chosen ? " chosen" : ""), "data-candidate": c.candidate},
    el("h3", {}, el("span", {}, `Candidate ${c.candidate}`), c.verdict ? el("span", {class: "pill " + c.verdict}, LEVEL[c.verdict]) : el("span", {class: "pill waiting"}, c.status)),
    video,
    el("div", {class: "facts"}, facts.join(" · ")),
    findingsList(c.findings),
    button);
}

function compareBox(seg, sync) {
  const ready = seg.candidates.filter(c => c.preview);
  if (ready.length < 2) return null;
  const pickA = el("select", {}, ready.map(c => el("option", {value: c.candidate}, `Candidate ${c.candidate}`)));
  const pickB = el("select", {}, ready.map(c => el("option", {value: c.candidate}, `Candidate ${c.candidate}`)));
  pickB.selectedIndex = 1;
  const src = sel => ready.find(c => String(c.candidate) === sel.value).preview;
  const under = load(el("video", {class: "base", preload: "auto", muted: true}), src(pickA));
  const over = load(el("video", {preload: "auto", muted: true}), src(pickB));
  under.muted = over.muted = true;
  const line = el("div", {class: "wipe-line"});
  const la = el("span", {class: "label", style: "left:8px"}), lb = el("span", {class: "label", style: "right:8px"});
  const slider = el("input", {type: "range", min: 0, max: 100, value: 50, "aria-label": "wipe position"});
  let mode = "wipe", flipped = false;
  const draw = () => {
    const x = Number(slider.value);
    if (mode === "wipe") {
      over.style.clipPath = `inset(0 0 0 ${x}%)`; over.style.visibility = "visible";
      line.style.display = "block"; line.style.left = x + "%";
      la.textContent = `◀ ${pickA.selectedOptions[0].text}`; lb.textContent = `${pickB.selectedOptions[0].text} ▶`;
      lb.style.display = "block";
    } else {
      over.style.clipPath = "none"; over.style.visibility = flipped ? "visible" : "hidden";
      line.style.display = "none"; lb.style.display = "none";
      la.textContent = (flipped ? pickB : pickA).selectedOptions[0].text + "  (press F to flip)";
    }
  };
  const keep = () => { const t = sync.leader.currentTime; under.currentTime = over.currentTime = t; };
  pickA.onchange = () => { under.src = src(pickA); keep(); draw(); };
  pickB.onchange = () => { over.src = src(pickB); keep(); draw(); };
  slider.oninput = draw;
  const wipeBtn = el("button", {onclick: () => { mode = "wipe"; draw(); }}, "Wipe");
  const flipBtn = el("button", {class: "flip", onclick: () => { mode = "flip"; flipped = !flipped; draw(); }}, "Flip");
  sync.add(under); sync.add(over);
  const stage = el("div", {class: "stage", tabindex: 0,
                           onkeydown: e => { if (e.key === "f" || e.key === "F") { mode = "flip"; flipped = !flipped; draw(); } }},
                   under, over, line, la, lb);
  draw();
  return el("div", {class: "compare"},
    el("div", {class: "transport"}, el("strong", {}, "Compare"), pickA, el("span", {}, "with"), pickB, wipeBtn, flipBtn,
       el("span", {class: "note"}, "wipe:"), slider),
    stage);
}

function segmentSection(seg) {
  const root = el("section", {id: "segment-" + seg.segment, "data-segment": seg.segment});
  const sync = new Sync(root, seg.lead_seconds);
  const state = {chosen: `candidate ${seg.chosen} in the cut`, stale: "stale", waiting: "waiting for extend --resume",
                 generating: "generating"}[seg.state];
  const from = seg.generated_from ? `continues ${seg.generated_from}` : "opens the shot";
  const meta = [`${seg.frames} frames`, seg.cut_seconds !== null ? `starts at ${fmt(seg.cut_seconds)} of the audio` : null,
                from, seg.picked ? `picked by you (locked)` : (seg.chosen ? "chosen by seam ranking" : null),
                seg.locked ? "segment " + (seg.segment + 1) + " was generated from this choice" : null].filter(Boolean);
  root.append(el("h2", {}, `Segment ${seg.segment}`, el("span", {class: "pill " + seg.state}, state)),
              el("div", {class: "meta"}, meta.join(" · ")));
  if (!seg.candidates.length) {
    root.append(el("p", {class: "note"}, seg.state === "waiting"
      ? "Set aside or not started: 'ltxkit extend --resume' generates its candidates." : "No candidates yet."));
    return root;
  }
  const grid = el("div", {class: "grid"}, seg.candidates.map(c => candidateTile(seg, c, sync)));
  if (!sync.videos.length) {
    root.append(el("p", {class: "note"}, "The candidates are being generated; they appear here as they arrive."), grid);
    return root;
  }
  const scrub = el("input", {type: "range", class: "scrub-range", min: 0, max: 1, step: 0.01, value: 0,
                             "aria-label": "position", oninput: e => sync.seek(Number(e.target.value))});
  const hint = seg.lead_seconds > 0
    ? `Each take plays the last ${seg.lead_seconds.toFixed(2)} s of ${seg.generated_from}, then the candidate: the cut is at ${fmt(seg.lead_seconds)}.`
    : "Each take plays from its first frame.";
  root.append(el("div", {class: "transport"},
                 el("button", {class: "play", onclick: () => sync.play()}, "▶ Play all"),
                 el("button", {onclick: () => sync.pause()}, "❚❚ Pause"),
                 seg.lead_seconds > 0 ? el("button", {onclick: () => { sync.seek(Math.max(0, seg.lead_seconds - 0.5)); sync.play(); }}, "Play the cut") : null,
                 el("span", {class: "scrub"}, scrub), el("span", {class: "time"}, "–")),
              el("p", {class: "note"}, hint + " Sound comes from the first take; the others are muted."),
              grid);
  const compare = compareBox(seg, sync);
  if (compare) root.append(compare);
  if (sync.leader) {
    sync.leader.addEventListener("loadedmetadata", () => sync.update());
    sync.leader.addEventListener("ended", () => sync.pause());
  }
  return root;
}

async function pick(seg, candidate) {
  if (busy) return;
  const later = run.segments.filter(s => s.segment > seg.segment && s.candidates.length);
  if (seg.locked && candidate !== seg.chosen && !confirm(
      `Segment ${seg.segment + 1} was generated from candidate ${seg.chosen}. Using candidate ${candidate} sets ` +
      `segment(s) ${later.map(s => s.segment).join(", ")} aside (kept in stale/); 'ltxkit extend --resume' then ` +
      `generates them again from this take. Continue?`)) return;
  busy = true;
  document.querySelectorAll("button.pick").forEach(b => { b.disabled = true; });
  banner(`Using candidate ${candidate} for segment ${seg.segment}: re-splicing extended.mp4 and the report…`);
  try {
    const res = await fetch("/api/pick", {method: "POST", headers: {"Content-Type": "application/json"},
                                          body: JSON.stringify({segment: seg.segment, candidate})});
    const body = await res.json();
    if (!res.ok) throw new Error(body.error || res.statusText);
    banner(`Candidate ${candidate} is in the cut for segment ${seg.segment}` +
           (body.verdict ? ` (seams ${LEVEL[body.verdict]})` : "") +
           (body.stale.length ? `; segment(s) ${body.stale.join(", ")} set aside for 'ltxkit extend --resume'.` : "."));
  } catch (e) {
    banner("The pick did not go through: " + e.message, true);
  } finally {
    busy = false; shown = {}; await refresh();
  }
}

// Only the answer to the latest request is drawn: a poll sent before a pick can answer after the
// pick's own refresh, and would put back the run as it was before the pick.
async function refresh() {
  const mine = ++asked;
  let data;
  try {
    const res = await fetch("/api/run", {cache: "no-store"});
    data = await res.json();
    if (!res.ok) throw new Error(data.error);
  } catch (e) { if (mine === asked) $("#status").textContent = "cannot read the run: " + e.message; return; }
  if (mine !== asked) return;
  const changed = !run || run.version !== data.version;
  run = data;
  $("#rundir").textContent = run.run_dir;
  const done = run.segments.filter(s => s.state === "chosen").length;
  $("#status").textContent = `${run.opening} · ${done} of ${run.planned_segments} segment(s) chosen · ` +
    `${run.candidates_per_segment} candidates each · ` + (run.finished ? "finished" : run.can_pick ? "waiting for extend --resume" : "still going: new candidates appear here");
  if (!changed) return;
  renderResult();
  const box = $("#segments");
  for (const seg of run.segments) {
    const key = JSON.stringify(seg) + run.can_pick;
    if (shown[seg.segment] === key) continue;
    shown[seg.segment] = key;
    const fresh = segmentSection(seg), old = $("#segment-" + seg.segment);
    if (old) old.replaceWith(fresh); else box.append(fresh);
  }
}
refresh();
setInterval(() => { if (!busy) refresh(); }, 2000);
</script>
</body></html>
"""
