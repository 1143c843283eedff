// The editor page in a real browser (Debian's chromium, headless, driven by playwright-core from
// tools/js): upload a photo, wait for "ready", move the smile slider, check the preview changed,
// download the render and check its size is the upload's; once with a latent method (InterFaceGAN),
// once with the default editors (the shipped L2M-GAN). Writes a screenshot of the page for each.
//
//   node tests/server/browser_test.cjs FACEEDIT SCREENSHOT.png [PHOTO [SMILING_BOUNDARY]]
// (PHOTO: default $FACEEDIT_SHARED/data/celebahq-photos/000157.jpg; the slider edits along a random
// direction written here as smiling.npy, InterFaceGAN's layout: this checks the page, not the edit.)
"use strict";
const { spawn } = require("child_process");
const fs = require("fs");
const path = require("path");
const { chromium } = require(path.join(__dirname, "../../tools/js/node_modules/playwright-core"));

const os = require("os");
const [faceedit, screenshot] = process.argv.slice(2);
const shared = process.env.FACEEDIT_SHARED || path.join(__dirname, "../../../shared");
const photo = process.argv[4] || path.join(shared, "data/celebahq-photos/000157.jpg");

// A random unit direction as a [1, 100] float32 .npy (the DCGAN's Z).
function writeBoundary(file) {
  const values = new Float32Array(100);
  let norm = 0;
  for (let i = 0; i < 100; ++i) { values[i] = Math.sin(12.9898 * (i + 1)) * 43758.5453 % 1; norm += values[i] * values[i]; }
  for (let i = 0; i < 100; ++i) values[i] /= Math.sqrt(norm);
  let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 100), }";
  header += " ".repeat(64 - ((10 + header.length + 1) % 64)) + "\n";
  const head = Buffer.alloc(10);
  head.write("\x93NUMPY", 0, "latin1"); head[6] = 1; head[7] = 0; head.writeUInt16LE(header.length, 8);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(header, "latin1"), Buffer.from(values.buffer)]));
}
let boundary = process.argv[5];  // a real smiling boundary for a screenshot worth looking at
if (!boundary) {
  boundary = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "faceedit-browser-")), "smiling.npy");
  writeBoundary(boundary);
}

// Width and height of a JPEG from its SOFn marker.
function jpegSize(buf) {
  let i = 2;
  while (i < buf.length) {
    const marker = buf[i + 1], len = buf.readUInt16BE(i + 2);
    if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) return [buf.readUInt16BE(i + 7), buf.readUInt16BE(i + 5)];
    i += 2 + len;
  }
  throw new Error("no SOF marker");
}

// One session with the page: serve with `args`, upload the photo, wait for "ready", move the
// `attribute` slider to `value`, check that the preview changed and the command line shows the edit
// (`expect`), download the render (the upload's size), screenshot.
async function session(browser, args, attribute, value, expect, shot) {
  const server = spawn(faceedit, ["serve", "--port", "0", "--segmenter", "none", ...args], { stdio: ["ignore", "pipe", "inherit"] });
  const url = await new Promise((resolve, reject) => {
    let out = "";
    server.stdout.on("data", d => { out += d; const m = out.match(/"url":"([^"]+)"/); if (m) resolve(m[1]); });
    server.on("exit", code => reject(new Error(`faceedit serve exited with ${code}`)));
    setTimeout(() => reject(new Error("faceedit serve did not start")), 60000);
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 760 }, acceptDownloads: true });
    await page.goto(url);
    await page.setInputFiles("#file", photo);
    await page.waitForSelector("body[data-ready='1']", { timeout: 300000 });
    await page.waitForFunction(() => document.getElementById("preview").dataset.version !== undefined);
    const grab = () => page.evaluate(async () => {
      const img = document.getElementById("preview");
      const bytes = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
      return { version: img.dataset.version, bytes: Array.from(bytes) };
    });
    const before = await grab();
    await page.locator(`input[data-attribute='${attribute}']`).fill(String(value));  // fires input and change
    await page.waitForFunction(v => document.getElementById("preview").dataset.version !== v, before.version, { timeout: 60000 });
    const after = await grab();
    if (Buffer.from(after.bytes).equals(Buffer.from(before.bytes))) throw new Error("the preview did not change after moving the slider");
    const command = await page.textContent("#command");
    if (!command.includes(expect)) throw new Error(`the command line does not show the edit (${expect}): ${command}`);
    const [download] = await Promise.all([page.waitForEvent("download", { timeout: 120000 }), page.click("#download")]);
    const saved = shot.replace(/\.png$/, "_render.jpg");
    await download.saveAs(saved);
    const got = jpegSize(fs.readFileSync(saved)), want = jpegSize(fs.readFileSync(photo));
    if (got[0] !== want[0] || got[1] !== want[1]) throw new Error(`render is ${got}, the upload ${want}`);
    await page.screenshot({ path: shot });
    console.log(`ok: browser (${args.join(" ") || "default editors"}): upload, ready, slider -> new preview, download ${got[0]}x${got[1]}, screenshot ${shot}`);
  } finally {
    server.kill("SIGTERM");
  }
}

async function main() {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox"] });
  try {
    // A latent method: the photo is inverted first.
    await session(browser, ["--edit", `method=interfacegan,boundary=${boundary}`, "--inversion-steps", "30", "--starts", "1"],
                  "smiling", 2.5, "strength=2.5", screenshot);
    // The default editors (no pack or boundaries here): the shipped L2M-GAN's sliders, no inversion.
    await session(browser, [], "smiling", 2, "method=l2m-gan,attr=smiling,strength=2", screenshot.replace(/\.png$/, "_l2mgan.png"));
  } finally {
    await browser.close();
  }
}

main().catch(e => { console.error("FAILED: browser: " + e.message); process.exit(1); });
