// The editor page: one self-contained document (no CDN, no external files), using only the JSON API.
#include "editor_server.h"

namespace faceedit::server {

const std::string& editor_page() {
  static const std::string page = R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>faceedit</title>
<style>
 body{font-family:system-ui,sans-serif;margin:0;background:#f4f4f6;color:#222}
 header{background:#24292f;color:#fff;padding:10px 20px;font-size:18px}
 main{display:flex;gap:24px;padding:20px;flex-wrap:wrap}
 .panel{background:#fff;border-radius:8px;padding:16px;box-shadow:0 1px 3px #0002}
 #preview{width:384px;height:384px;background:#ddd;border-radius:6px;display:block;image-rendering:auto}
 .row{display:flex;align-items:center;gap:8px;margin:6px 0}
 .row label{width:130px} .row output{width:44px;text-align:right;font-variant-numeric:tabular-nums}
 #samples{flex-wrap:wrap;max-width:384px} #samples button{font-size:12px;padding:4px 8px}
 progress{width:384px} #status{min-height:1.2em;color:#555} #error{color:#b00020}
 code{display:block;background:#f0f0f0;padding:8px;border-radius:4px;white-space:pre-wrap;word-break:break-all;max-width:560px;font-size:12px}
 button{padding:6px 12px}
 #sliders{max-height:70vh;overflow-y:auto}
</style></head>
<body><header>faceedit &mdash; edit a face</header>
<main>
 <div class="panel">
  <div class="row"><input type="file" id="file" accept="image/jpeg,image/png,image/webp,image/bmp"></div>
  <div class="row" id="samples"></div>
  <progress id="progress" max="1" value="0"></progress>
  <div id="status">Choose a photo with one face.</div><div id="error"></div>
  <img id="preview" alt="aligned face preview">
  <div class="row"><button id="before" disabled>Hold for before</button><button id="download" disabled>Download full photo</button></div>
 </div>
 <div class="panel">
  <div class="row"><label for="method">Method</label><select id="method"></select></div>
  <div id="sliders"></div>
  <div class="row"><button id="reset">Reset</button></div>
  <p>Same edit on the command line:</p><code id="command"></code>
 </div>
</main>
<script>
"use strict";
const stream = Math.random().toString(36).slice(2);
let attributes = [], pack = "", photoId = null, photoName = "photo.jpg", latestPreview = 0, lastUrl = null;
const $ = id => document.getElementById(id);
function methods() {
  const m = new Set(); attributes.forEach(a => a.methods.forEach(x => m.add(x.method)));
  return (attributes.some(a => a.best) ? ["best"] : []).concat([...m]);
}
// The method a slider uses: the one chosen above, or with "best" the pack's best for that attribute.
function methodOf(a) { const m = $("method").value; return m === "best" ? a.best : m; }
function edits() {
  return [...document.querySelectorAll("#sliders input")].filter(s => +s.value !== 0)
    .map(s => ({attribute: s.dataset.attribute, method: s.dataset.method, strength: +s.value}));
}
function command() {
  const parts = ["faceedit photo " + photoName];
  // L2M-GAN's sliders are not in a pack: its edits are written out whole (they cannot be mixed with a pack's).
  if (pack && !edits().some(e => e.method === "l2m-gan")) {
    parts.push("--pack " + pack + ($("method").value === "best" ? "" : " --method " + $("method").value));
    for (const e of edits()) parts.push("--edit " + e.attribute + "=" + e.strength);
  } else {
    for (const e of edits()) {
      const a = attributes.find(x => x.name === e.attribute), m = a.methods.find(x => x.method === e.method), d = m.editor || {};
      const file = d.boundary ? ",boundary=" + d.boundary : d.editor ? ",editor=" + d.editor : ",attr=" + e.attribute;
      parts.push("--edit method=" + e.method + file + ",strength=" + e.strength);
    }
  }
  $("command").textContent = parts.join(" \\\n  ") + " \\\n  -o edited.jpg";
}
function buildSliders() {
  const box = $("sliders");
  box.innerHTML = "";
  let group = null;
  for (const a of attributes) {
    const method = methodOf(a), m = a.methods.find(x => x.method === method);
    if (!m) continue;
    if (a.group && a.group !== group) {
      group = a.group;
      const h = document.createElement("h4"); h.textContent = group; h.style.margin = "10px 0 2px"; box.appendChild(h);
    }
    const row = document.createElement("div"); row.className = "row";
    row.innerHTML = `<label title="${method}">${a.name}</label><input type="range" min="${m.min}" max="${m.max}" step="0.1" value="0" data-attribute="${a.name}" data-method="${method}" aria-label="${a.name}"><output>0</output>`;
    const slider = row.querySelector("input");
    slider.addEventListener("input", () => { row.querySelector("output").textContent = (+slider.value).toFixed(1); command(); });
    slider.addEventListener("change", () => preview());
    box.appendChild(row);
  }
  command();
}
async function preview(noEdits) {
  if (!photoId) return;
  const ticket = ++latestPreview;
  const r = await fetch(`/api/photos/${photoId}/preview`, {method: "POST", headers: {"Content-Type": "application/json", "X-Preview-Stream": stream},
                                                       body: JSON.stringify({edits: noEdits ? [] : edits()})});
  if (r.status === 409 || ticket !== latestPreview) return;  // a newer preview is on its way
  if (!r.ok) { $("error").textContent = (await r.json()).error; return; }
  const url = URL.createObjectURL(await r.blob());
  $("preview").src = url;
  if (lastUrl) URL.revokeObjectURL(lastUrl);
  lastUrl = url;
  $("preview").dataset.version = String(ticket);
}
async function upload(file) {
  photoName = file.name.replace(/[^\w.\-]/g, "_") || "photo.jpg";
  const form = new FormData(); form.append("photo", file);
  await prepare(fetch("/api/photos", {method: "POST", body: form}));
}
async function prepare(request) {
  $("error").textContent = ""; document.body.dataset.ready = ""; $("before").disabled = $("download").disabled = true;
  const r = await request;
  const j = await r.json();
  if (!r.ok) { $("error").textContent = j.error; return; }
  photoId = j.id; $("status").textContent = "queued";
  const events = new EventSource(`/api/photos/${photoId}/events`);
  events.onmessage = async ev => {
    const s = JSON.parse(ev.data);
    $("progress").value = s.progress;
    $("status").textContent = s.state + (s.queue_position ? ` (queue position ${s.queue_position})` : "");
    if (s.state === "failed") { $("error").textContent = s.error; events.close(); }
    if (s.state === "ready") { events.close(); document.body.dataset.ready = "1"; $("before").disabled = $("download").disabled = false; await preview(); }
  };
}
$("file").addEventListener("change", e => e.target.files[0] && upload(e.target.files[0]));
$("method").addEventListener("change", () => { buildSliders(); preview(); });
$("reset").addEventListener("click", () => { buildSliders(); preview(); });
$("before").addEventListener("mousedown", () => preview(true));
$("before").addEventListener("mouseup", () => preview());
$("download").addEventListener("click", async () => {
  $("status").textContent = "rendering the full photo...";
  const r = await fetch(`/api/photos/${photoId}/render`, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({edits: edits()})});
  if (!r.ok) { $("error").textContent = (await r.json()).error; return; }
  const a = document.createElement("a"); a.href = URL.createObjectURL(await r.blob()); a.download = "edited.jpg"; a.click();
  $("status").textContent = "ready";
});
fetch("/api/samples").then(r => r.json()).then(j => {
  for (const smp of j.samples) {
    const b = document.createElement("button"); b.textContent = "sample " + smp.name;
    b.addEventListener("click", () => { photoName = smp.name; prepare(fetch(`/api/samples/${smp.index}`, {method: "POST"})); });
    $("samples").appendChild(b);
  }
});
fetch("/api/attributes").then(r => r.json()).then(j => {
  attributes = j.attributes; pack = j.pack || "";
  for (const m of methods()) { const o = document.createElement("option"); o.textContent = m; $("method").appendChild(o); }
  buildSliders();
});
</script></body></html>
)HTML";
  return page;
}

}  // namespace faceedit::server
