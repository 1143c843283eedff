// Reference outputs of TF.js graph models, computed by @tensorflow/tfjs (pure JS, cpu backend).
//
// Usage: node tests/tools/tfjs_reference.js JOBS.json
// JOBS.json: [{"model": "model.json", "input": "x.f32", "shape": [n, h, w, c],
//              "outputs": ["node name", ...], "result": "out.f32"}, ...]
// `input` holds little-endian float32 values of `shape`; each result file receives the outputs'
// float32 values one after another, and the job's shapes are printed as one JSON line on stdout.
// The model is loaded from memory (model.json + its shards read with fs), so no IO handler
// or network access is involved.
'use strict';
const fs = require('fs');
const path = require('path');

const repo = path.resolve(__dirname, '..', '..');
const tf = require(path.join(repo, 'tools', 'js', 'node_modules', '@tensorflow', 'tfjs'));

function readModel(modelPath) {
  const doc = JSON.parse(fs.readFileSync(modelPath, 'utf8'));
  const dir = path.dirname(modelPath);
  const weightSpecs = [];
  const buffers = [];
  for (const group of doc.weightsManifest) {
    weightSpecs.push(...group.weights);
    for (const p of group.paths) buffers.push(fs.readFileSync(path.join(dir, p)));
  }
  const all = Buffer.concat(buffers);
  return {
    modelTopology: doc.modelTopology,
    weightSpecs,
    weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
    format: doc.format,
    generatedBy: doc.generatedBy,
    convertedBy: doc.convertedBy,
    signature: doc.signature,
    userDefinedMetadata: doc.userDefinedMetadata,
  };
}

async function runJob(job) {
  const model = await tf.loadGraphModel(tf.io.fromMemory(readModel(job.model)));
  const bytes = fs.readFileSync(job.input);
  const values = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const x = tf.tensor(values, job.shape, 'float32');
  const run = (input) => {
    const out = model.execute(input, job.outputs);
    return Array.isArray(out) ? out : [out];
  };
  let ys;
  if (model.inputs[0].shape[0] === 1 && job.shape[0] > 1) {
    // Graphs exported with a fixed batch of 1 (selfie): run each sample, stack the results.
    const per = tf.split(x, job.shape[0]).map(run);
    ys = per[0].map((_, k) => tf.concat(per.map((outs) => outs[k])));
    tf.dispose(per);
  } else {
    ys = run(x);
  }
  const shapes = [];
  const chunks = [];
  for (const y of ys) {
    shapes.push(y.shape);
    const data = await y.data();
    chunks.push(Buffer.from(new Float32Array(data).buffer));
  }
  fs.writeFileSync(job.result, Buffer.concat(chunks));
  tf.dispose([x, ...ys]);
  model.dispose();
  return shapes;
}

async function main() {
  await tf.setBackend('cpu');
  const jobs = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  for (const job of jobs) {
    process.stdout.write(JSON.stringify({ result: job.result, shapes: await runJob(job) }) + '\n');
  }
}

main().catch((e) => {
  process.stderr.write(`tfjs_reference: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
