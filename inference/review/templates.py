"""The station's single HTML page (styles and script inline: nothing is fetched from elsewhere).

Keyboard: every control is a real <button> or <input> (Tab reaches it, Enter/Space operates it) with a visible
focus ring; boxes can be typed in as well as dragged, so the mouse is never required.
"""
from __future__ import annotations

import html

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>medanon review station</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 0; color: #1b1b1b; background: #f4f4f4; }
  header { background: #1d3557; color: #fff; padding: .6rem 1rem; display: flex; gap: 1rem; align-items: center; }
  header h1 { font-size: 1.2rem; margin: 0; flex: 1; }
  header label { font-size: .9rem; }
  #layout { display: flex; gap: 1rem; padding: 1rem; align-items: flex-start; }
  nav { width: 22rem; flex: none; background: #fff; padding: .5rem 1rem; border-radius: 6px; }
  nav h2 { font-size: 1rem; margin: .8rem 0 .2rem; }
  nav h3 { font-size: .85rem; margin: .4rem 0 .2rem; color: #555; text-transform: uppercase; }
  nav ul { list-style: none; margin: 0; padding: 0; }
  nav button.file { width: 100%; text-align: left; margin: 2px 0; padding: .3rem .4rem; background: #eef;
                    border: 1px solid #99a; border-radius: 4px; font-size: .85rem; cursor: pointer; }
  nav button.file[aria-current="true"] { background: #1d3557; color: #fff; }
  .cat-quarantined { border-left: 6px solid #c0392b !important; }
  .cat-flagged { border-left: 6px solid #e67e22 !important; }
  .cat-released { border-left: 6px solid #27ae60 !important; }
  main { flex: 1; background: #fff; padding: .5rem 1rem 1rem; border-radius: 6px; min-width: 0; }
  .pair { display: flex; gap: 1rem; flex-wrap: wrap; }
  figure { margin: 0; flex: 1 1 420px; min-width: 0; }
  figcaption { font-weight: 600; margin: .3rem 0; }
  .stage { position: relative; display: inline-block; max-width: 100%; line-height: 0; background: #000; }
  .stage img { max-width: 100%; height: auto; display: block; }
  .stage canvas { position: absolute; left: 0; top: 0; width: 100%; height: 100%; }
  #draw { cursor: crosshair; }
  button, input { font-size: .95rem; }
  button { padding: .35rem .7rem; border-radius: 4px; border: 1px solid #555; background: #f0f0f0; cursor: pointer; }
  button.primary { background: #27ae60; color: #fff; border-color: #1e8449; }
  button.warn { background: #c0392b; color: #fff; border-color: #922b21; }
  :focus-visible, button:focus, input:focus { outline: 3px solid #ffbf47; outline-offset: 2px; }
  .row { display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; margin: .5rem 0; }
  table { border-collapse: collapse; font-size: .85rem; }
  td, th { border: 1px solid #ccc; padding: .2rem .4rem; }
  input[type=number] { width: 5rem; }
  #status { min-height: 1.2em; font-weight: 600; }
  .legend span { display: inline-block; padding: 0 .4rem; margin-right: .5rem; border: 2px solid; }
  section#templates { margin-top: 1.5rem; border-top: 2px solid #ddd; }
</style>
</head>
<body>
<header>
  <h1>medanon review station</h1>
  <label for="reviewer">Reviewer name</label>
  <input id="reviewer" type="text" value="__REVIEWER__" autocomplete="name">
</header>
<p id="status" role="status" aria-live="polite"></p>
<div id="layout">
  <nav id="files" aria-label="Files to review"><p>Loading...</p></nav>
  <main>
    <div id="empty"><p>Choose a file on the left. Quarantined files first, then files the auditor flagged, then a
      random sample of released files, per device.</p></div>
    <div id="viewer" hidden>
      <h2 id="title"></h2>
      <p id="reason"></p>
      <div class="row" role="group" aria-label="Frames">
        <button id="prev" type="button">Previous frame</button>
        <label for="frame-number">Frame</label>
        <input id="frame-number" type="number" min="1" value="1">
        <span id="frame-count"></span>
        <button id="next" type="button">Next frame</button>
      </div>
      <p class="legend"><span style="border-color:#e74c3c">blanked by the detector</span>
        <span style="border-color:#f1c40f">added by a reviewer</span>
        <span style="border-color:#888;border-style:dashed">marked not text</span>
        <span style="border-color:#3498db">device template</span></p>
      <div class="pair">
        <figure><figcaption>Before (original). Drag on the image to add a box.</figcaption>
          <div class="stage"><img id="before" alt="original frame"><canvas id="draw"></canvas></div></figure>
        <figure><figcaption id="after-caption">After (released output)</figcaption>
          <div class="stage"><img id="after" alt="anonymised frame"><canvas id="after-overlay"></canvas></div></figure>
      </div>
      <div class="row" role="group" aria-label="Add a box by typing">
        <label for="bx0">x0</label><input id="bx0" type="number" min="0" value="0">
        <label for="by0">y0</label><input id="by0" type="number" min="0" value="0">
        <label for="bx1">x1</label><input id="bx1" type="number" min="0" value="10">
        <label for="by1">y1</label><input id="by1" type="number" min="0" value="10">
        <input id="all-frames" type="checkbox" checked><label for="all-frames">on every frame (static text)</label>
        <button id="add-box" type="button">Add box</button>
      </div>
      <table aria-label="Boxes"><thead><tr><th>Box</th><th>From</th><th>Frames</th><th>Action</th></tr></thead>
        <tbody id="boxes"></tbody></table>
      <div class="row" role="group" aria-label="Decision">
        <button id="approve" class="primary" type="button">Approve (release with these boxes)</button>
        <button id="needs" class="warn" type="button">Needs redaction (hold back)</button>
        <button id="save" type="button">Save boxes, decide later</button>
        <span id="decision"></span>
      </div>
    </div>
    <section id="templates" aria-label="Device templates">
      <h2>Device templates</h2>
      <p>Regions where a device model always writes text, proposed when at least 20 released files of that device
        agree. Once accepted, they are blanked on every file of that device by the next run, on top of the detector.</p>
      <button id="learn" type="button">Look for device templates now</button>
      <div id="template-list"></div>
    </section>
  </main>
</div>
<script>
"use strict";
const H = {"Content-Type": "application/json", "X-Medanon": "1"};
let state = {item: null, frame: 0, added: [], removed: [], review: null, template: []};
const $ = (id) => document.getElementById(id);
const say = (msg) => { $("status").textContent = msg; };

async function api(path, body) {
  const r = await fetch(path, body === undefined ? {credentials: "same-origin"} :
    {method: "POST", headers: H, credentials: "same-origin", body: JSON.stringify(body)});
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(data.error || r.statusText);
  return data;
}

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function deviceLabel(d) {
  return `${d.manufacturer || "unknown maker"} ${d.model || "unknown model"}, ${d.columns} x ${d.rows}`;
}

async function loadList() {
  const data = await api("/api/items");
  const nav = $("files");
  nav.textContent = "";
  if (!data.devices.length) nav.appendChild(el("p", {}, "Nothing to review: no files in the audit trail."));
  for (const g of data.devices) {
    nav.appendChild(el("h2", {}, deviceLabel(g.device)));
    for (const cat of ["quarantined", "flagged", "released"]) {
      const items = g.items.filter((i) => i.category === cat);
      if (!items.length) continue;
      nav.appendChild(el("h3", {}, cat === "released" ? "released (sample)" : cat));
      const ul = el("ul");
      for (const it of items) {
        const b = el("button", {type: "button", class: `file cat-${cat}`, "data-id": it.id, id: `file-${it.id}`},
                     `${it.source}${it.review ? " - " + it.review : ""}`);
        b.addEventListener("click", () => openItem(it.id));
        const li = el("li"); li.appendChild(b); ul.appendChild(li);
      }
      nav.appendChild(ul);
    }
  }
  say(`${data.total} files to review; ${data.counts.files_reviewed} reviewed so far.`);
}

async function openItem(id) {
  const d = await api(`/api/items/${id}`);
  state.item = d.item; state.frame = 0; state.template = d.template || [];
  state.review = d.review;
  state.added = d.review ? d.review.added.map((b) => b.slice()) : [];
  state.removed = d.review ? d.review.removed.map((b) => b.slice()) : [];
  document.querySelectorAll("nav button.file").forEach((b) => b.setAttribute("aria-current", String(b.dataset.id === id)));
  $("empty").hidden = true; $("viewer").hidden = false;
  $("title").textContent = `${d.item.source} (${d.item.category})`;
  $("reason").textContent = d.item.reason ? `Reason: ${d.item.reason}` : "";
  $("frame-number").max = String(d.item.frames);
  $("frame-count").textContent = `of ${d.item.frames}`;
  $("after-caption").textContent = d.item.has_after ? "After (released output)" :
    "After (preview: not released; black = what would be blanked)";
  showDecision();
  showFrame();
}

function showDecision() {
  const r = state.review;
  $("decision").textContent = r ? `Current: ${r.decision} by ${r.reviewer} at ${r.time}` : "Not reviewed yet";
}

function detectorBoxes() {
  const it = state.item;
  return (it.regions_by_frame && it.regions_by_frame[state.frame]) || it.regions;
}

function isRemoved(b) { return state.removed.some((r) => r.every((v, i) => v === b[i])); }

function visibleAdded() { return state.added.filter((b) => b[0] === -1 || b[0] === state.frame); }

function showFrame() {
  const it = state.item;
  $("frame-number").value = String(state.frame + 1);
  $("prev").disabled = state.frame <= 0;
  $("next").disabled = state.frame >= it.frames - 1;
  const q = `?v=${Date.now()}`;
  $("before").src = `/image/${it.id}/before/${state.frame}.png${q}`;
  $("after").src = `/image/${it.id}/after/${state.frame}.png${q}`;
  renderBoxes();
}

function drawOn(canvas, img) {
  if (!img.naturalWidth) return;
  canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
  const c = canvas.getContext("2d");
  c.clearRect(0, 0, canvas.width, canvas.height);
  const lw = Math.max(2, Math.round(img.naturalWidth / 400));
  const rect = (b, colour, dash) => { c.setLineDash(dash || []); c.strokeStyle = colour; c.lineWidth = lw;
    c.strokeRect(b[0], b[1], b[2] - b[0], b[3] - b[1]); };
  for (const b of state.template) rect(b, "#3498db", [2 * lw, lw]);
  for (const b of detectorBoxes()) rect(b, isRemoved(b) ? "#888" : "#e74c3c", isRemoved(b) ? [3 * lw, 2 * lw] : null);
  for (const b of visibleAdded()) rect(b.slice(1), "#f1c40f");
  if (drag && canvas.id === "draw") rect(dragBox(), "#f1c40f", [lw, lw]);
}

function redraw() { drawOn($("draw"), $("before")); drawOn($("after-overlay"), $("after")); }

function renderBoxes() {
  const tb = $("boxes");
  tb.textContent = "";
  const addRow = (box, from, frames, label, action) => {
    const tr = el("tr");
    tr.appendChild(el("td", {}, box.join(", ")));
    tr.appendChild(el("td", {}, from));
    tr.appendChild(el("td", {}, frames));
    const td = el("td");
    const b = el("button", {type: "button", class: "box-action"}, label);
    b.addEventListener("click", action);
    td.appendChild(b); tr.appendChild(td); tb.appendChild(tr);
  };
  detectorBoxes().forEach((b) => {
    if (isRemoved(b)) addRow(b, "detector (marked not text)", "all", "Restore box", () => {
      state.removed = state.removed.filter((r) => !r.every((v, i) => v === b[i])); renderBoxes(); });
    else addRow(b, "detector", "all", "Remove box (not text)", () => { state.removed.push(b.slice()); renderBoxes(); });
  });
  state.added.forEach((b, k) => {
    if (b[0] !== -1 && b[0] !== state.frame) return;
    addRow(b.slice(1), "reviewer", b[0] === -1 ? "all" : `frame ${b[0] + 1}`, "Remove box", () => {
      state.added.splice(k, 1); renderBoxes(); });
  });
  redraw();
}

function addBox(x0, y0, x1, y1) {
  const [a, b, c, d] = [Math.min(x0, x1), Math.min(y0, y1), Math.max(x0, x1), Math.max(y0, y1)].map(Math.round);
  if (c - a < 2 || d - b < 2) { say("Box too small: drag a larger rectangle."); return; }
  state.added.push([$("all-frames").checked ? -1 : state.frame, a, b, c, d]);
  say(`Box added at ${a}, ${b}, ${c}, ${d}. Approve or save to keep it.`);
  renderBoxes();
}

let drag = null;
function imgPoint(ev) {
  const cv = $("draw"), r = cv.getBoundingClientRect();
  return [(ev.clientX - r.left) * cv.width / r.width, (ev.clientY - r.top) * cv.height / r.height];
}
function dragBox() { return [drag[0], drag[1], drag[2], drag[3]].map(Math.round); }
$("draw").addEventListener("mousedown", (ev) => { const p = imgPoint(ev); drag = [p[0], p[1], p[0], p[1]]; });
$("draw").addEventListener("mousemove", (ev) => { if (!drag) return; const p = imgPoint(ev);
  drag[2] = p[0]; drag[3] = p[1]; redraw(); });
window.addEventListener("mouseup", () => { if (!drag) return; const b = drag; drag = null; addBox(b[0], b[1], b[2], b[3]); });
$("before").addEventListener("load", redraw);
$("after").addEventListener("load", redraw);

$("add-box").addEventListener("click", () => addBox(+$("bx0").value, +$("by0").value, +$("bx1").value, +$("by1").value));
$("prev").addEventListener("click", () => { if (state.frame > 0) { state.frame--; showFrame(); } });
$("next").addEventListener("click", () => { if (state.frame < state.item.frames - 1) { state.frame++; showFrame(); } });
$("frame-number").addEventListener("change", () => {
  const n = Math.max(1, Math.min(state.item.frames, parseInt($("frame-number").value || "1", 10)));
  state.frame = n - 1; showFrame(); });

async function decide(decision) {
  try {
    const r = await api(`/api/items/${state.item.id}/review`, {decision, added: state.added, removed: state.removed,
      frame: state.frame, reviewer: $("reviewer").value});
    state.review = r.review; showDecision();
    say(`Saved: ${decision}. The next anonymisation run applies it.`);
  } catch (e) { say(`Not saved: ${e.message}`); }
}
$("approve").addEventListener("click", () => decide("approved"));
$("needs").addEventListener("click", () => decide("needs redaction"));
$("save").addEventListener("click", () => decide("pending"));

function showTemplates(list) {
  const box = $("template-list");
  box.textContent = "";
  if (!list.length) { box.appendChild(el("p", {}, "No template proposed yet (needs 20 agreeing files of one device).")); return; }
  for (const t of list) {
    const div = el("div", {class: "template"});
    div.appendChild(el("h3", {}, `${deviceLabel(t.device)}: ${t.status}`));
    div.appendChild(el("p", {}, `${t.regions.length} regions, learned from ${t.files} files: ` +
      t.regions.map((r) => `[${r.box.join(", ")}] in ${r.support} files (${r.source})`).join("; ")));
    for (const [label, status] of [["Accept template", "accepted"], ["Reject template", "rejected"]]) {
      const b = el("button", {type: "button", class: status === "accepted" ? "primary" : "warn"}, label);
      b.addEventListener("click", async () => {
        try { showTemplates((await api(`/api/templates/${t.id}/decision`, {status, reviewer: $("reviewer").value})).templates);
              say(`Template ${status}.`); } catch (e) { say(`Not saved: ${e.message}`); } });
      div.appendChild(b);
    }
    box.appendChild(div);
  }
}
$("learn").addEventListener("click", async () => {
  try { const r = await api("/api/templates/learn", {}); showTemplates(r.templates); say(r.message); }
  catch (e) { say(`Failed: ${e.message}`); } });

loadList().catch((e) => say(`Cannot load: ${e.message}`));
api("/api/templates").then((r) => showTemplates(r.templates)).catch(() => {});
</script>
</body>
</html>
"""


def page(reviewer: str) -> bytes:
    return PAGE.replace("__REVIEWER__", html.escape(reviewer, quote=True)).encode("utf-8")


FORBIDDEN = b"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>refused</title></head><body>
<h1>403: open the address with the token printed when the station started</h1></body></html>"""
