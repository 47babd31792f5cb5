// Interop check: node-postgres ("pg") + pgvector-node ("pgvector") against a
// server with semvec.  Run by test/t/005_vector_clients.pl from a scratch
// directory where `npm ci` installed the versions pinned in package.json.
// Connection settings come from PGHOST/PGPORT/PGDATABASE/PGUSER.
//
// Prints one line per check, "ok - NAME" or "not ok - NAME # DETAIL", and
// "done" as the last line, so the TAP test notices a crash half way.
//
// pgvector-node registers only *text* type parsers (pgvector/pg registerTypes
// calls setTypeParser(oid, 'text', ...)); it has no binary codec.  The binary
// checks below send Buffer parameters, which node-pg passes in binary
// format, encoded here from the documented wire format.  Binary results are
// out of reach of node-pg itself (see the comment at those checks).

import pg from 'pg';
import pgvectorPg from 'pgvector/pg';
import pgvector from 'pgvector';
import postgresArray from 'postgres-array';

const f32 = Math.fround;
let failures = 0;

/* Print one check result */
function check(ok, name, detail) {
  if (ok) {
    console.log(`ok - ${name}`);
  } else {
    failures++;
    console.log(`not ok - ${name} # ${String(detail).slice(0, 300)}`);
  }
}

/* Compare two number arrays element by element, telling -0 from 0 */
function sameValues(a, b) {
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) {
    return `length ${a && a.length} vs ${b && b.length}`;
  }
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) {
      return `element ${i}: ${a[i]} vs ${b[i]}`;
    }
  }
  return null;
}

/*
 * Compare values parsed by pgvector-node's fromSql (parseFloat of the shortest
 * float4 text, i.e. the nearest *double*) with the float4 values expected: the
 * text form is exact when rounding each parsed number to float4 gives them back
 */
function sameFloat4(parsed, expected) {
  return Array.isArray(parsed) ? sameValues(parsed.map(f32), expected) : `not an array: ${parsed}`;
}

/* Encode a vector in pgvector's binary format: uint16 dim, uint16 0, float4s */
function encodeBinary(values) {
  const buf = Buffer.alloc(4 + 4 * values.length);
  buf.writeUInt16BE(values.length, 0);
  buf.writeUInt16BE(0, 2);
  values.forEach((v, i) => buf.writeFloatBE(v, 4 + 4 * i));
  return buf;
}

/* Deterministic pseudo-random numbers (LCG), so failures reproduce */
function makeRandom(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/* Run a query that must fail; return its SQLSTATE (or 'no error') */
async function sqlstateOf(client, query, values) {
  try {
    await client.query(query, values);
    return 'no error';
  } catch (err) {
    return err.code;
  }
}

/* Exact k nearest ids by a distance function, computed in double precision */
function exactTopK(rows, q, k, dist) {
  return rows
    .map((r) => ({ id: r.id, d: dist(r.v, q) }))
    .sort((x, y) => x.d - y.d)
    .slice(0, k);
}

/* The number a binary16 bit pattern stands for (exact) */
function halfToNumber(h) {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/* Every finite non-negative half, ascending (index = bit pattern) */
const HALVES = Array.from({ length: 0x7c00 }, (_, h) => halfToNumber(h));

/* Round a number to the nearest binary16, ties to even: its bit pattern */
function numberToHalf(x) {
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= 65520) return sign | 0x7c00;
  let lo = 0;
  let hi = 0x7bff;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (HALVES[mid] <= a) lo = mid; else hi = mid - 1;
  }
  if (lo < 0x7bff) {
    const below = a - HALVES[lo];
    const above = HALVES[lo + 1] - a;
    if (above < below || (above === below && (lo & 1))) lo++;
  }
  return sign | lo;
}

/* pgvector's halfvec binary format: uint16 dim, uint16 0, binary16 bits */
function encodeHalfBinary(halves) {
  const buf = Buffer.alloc(4 + 2 * halves.length);
  buf.writeUInt16BE(halves.length, 0);
  buf.writeUInt16BE(0, 2);
  halves.forEach((h, i) => buf.writeUInt16BE(h, 4 + 2 * i));
  return buf;
}

/* pgvector's sparsevec binary format: int32 dim, nnz, 0, 0-based indices, float4 values */
function encodeSparseBinary(dim, indices, values) {
  const buf = Buffer.alloc(12 + 8 * indices.length);
  buf.writeInt32BE(dim, 0);
  buf.writeInt32BE(indices.length, 4);
  buf.writeInt32BE(0, 8);
  indices.forEach((x, i) => buf.writeInt32BE(x, 12 + 4 * i));
  values.forEach((v, i) => buf.writeFloatBE(v, 12 + 4 * indices.length + 4 * i));
  return buf;
}

/* PostgreSQL's bit/varbit binary format: int32 bit count, bits MSB first */
function encodeBitBinary(bits) {
  const buf = Buffer.alloc(4 + Math.ceil(bits.length / 8));
  buf.writeInt32BE(bits.length, 0);
  [...bits].forEach((b, i) => { if (b === '1') buf[4 + (i >> 3)] |= 0x80 >> (i & 7); });
  return buf;
}

const l2 = (a, b) => Math.sqrt(a.reduce((s, x, i) => s + (x - b[i]) ** 2, 0));
const cosineDist = (a, b) => {
  let dot = 0, na = 0, nb = 0;
  a.forEach((x, i) => { dot += x * b[i]; na += x * x; nb += b[i] * b[i]; });
  return 1 - dot / Math.sqrt(na * nb);
};

const client = new pg.Client();
await client.connect();
try {
  await pgvectorPg.registerTypes(client);
  const { rows: [types] } = await client.query(
    "SELECT 'vector'::regtype::oid AS oid, typarray FROM pg_type WHERE oid = 'vector'::regtype");
  await client.query('CREATE TABLE node_items (id int PRIMARY KEY, embedding vector)');

  // -- Edge values through pgvector-node's toSql / registered parser.
  // toSql is JSON.stringify, which writes -0 as "0", so -0 is checked
  // separately below; everything else must come back as its float4 rounding.
  const edge = [0, 1.401298464324817e-45, 1.1754943508222875e-38, -2.5e-42,
    3.4028234663852886e+38, -3.4028234663852886e+38, 0.1, 1 / 3, 123456789,
    1e-7, 65504, Math.PI, 1e30, -1e-30, 16777217];
  const edge32 = edge.map(f32);
  await client.query('INSERT INTO node_items VALUES (1, $1)', [pgvector.toSql(edge)]);
  let res = await client.query('SELECT embedding, embedding::text AS txt, vector_send(embedding) AS bin FROM node_items WHERE id = 1');
  const diff = sameFloat4(res.rows[0].embedding, edge32);
  check(diff === null, 'pgvector-node toSql/fromSql round trip of edge floats', diff);
  check(res.rows[0].bin.equals(encodeBinary(edge32)), 'stored bytes equal float4 big-endian encoding',
    res.rows[0].bin.toString('hex').slice(0, 80));
  const expectText = '[0,1e-45,1.1754944e-38,-2.5e-42,3.4028235e+38,-3.4028235e+38,0.1,0.33333334,' +
    '1.2345679e+08,1e-07,65504,3.1415927,1e+30,-1e-30,1.6777216e+07]';
  check(res.rows[0].txt === expectText, 'text output is shortest round-trip form', res.rows[0].txt);

  // -0 survives the server in both directions when the client sends it
  res = await client.query("SELECT '[-0,0,-1e-45]'::vector AS v, vector_send('[-0]'::vector) AS b");
  check(sameFloat4(res.rows[0].v, [-0, 0, f32(-1.401298464324817e-45)]) === null && Object.is(res.rows[0].v[0], -0),
    'server -0 parsed by pgvector-node fromSql keeps its sign', res.rows[0].v);
  check(res.rows[0].b.equals(Buffer.from([0, 1, 0, 0, 0x80, 0, 0, 0])), '-0 is stored as 0x80000000',
    res.rows[0].b.toString('hex'));

  // -- 16000 dimensions, values spread over the whole float4 exponent range
  const rnd = makeRandom(42);
  const big = Array.from({ length: 16000 }, () => f32((rnd() - 0.5) * 10 ** (rnd() * 60 - 30)));
  await client.query('INSERT INTO node_items VALUES (2, $1)', [pgvector.toSql(big)]);
  res = await client.query('SELECT embedding, vector_dims(embedding) AS n, vector_send(embedding) AS bin FROM node_items WHERE id = 2');
  check(res.rows[0].n === 16000, '16000-dim vector stored', res.rows[0].n);
  check(sameFloat4(res.rows[0].embedding, big) === null, '16000-dim text round trip exact',
    sameFloat4(res.rows[0].embedding, big));
  check(res.rows[0].bin.equals(encodeBinary(big)), '16000-dim stored bytes exact', 'bytes differ');
  const tooBig = pgvector.toSql(Array(16001).fill(1));
  check(await sqlstateOf(client, 'SELECT $1::vector', [tooBig]) === '54000', '16001 dims rejected with 54000',
    await sqlstateOf(client, 'SELECT $1::vector', [tooBig]));

  // -- ORDER BY embedding <-> $1 LIMIT k, as pgvector-node's README does it
  await client.query('CREATE TABLE node_knn (id int PRIMARY KEY, embedding vector(8))');
  const knnRows = [];
  for (let id = 1; id <= 300; id++) {
    const v = Array.from({ length: 8 }, () => f32(rnd() * 2 - 1));
    knnRows.push({ id, v });
  }
  await client.query('INSERT INTO node_knn SELECT * FROM unnest($1::int[], $2::vector[])',
    [knnRows.map((r) => r.id), knnRows.map((r) => pgvector.toSql(r.v))]);
  for (let t = 0; t < 5; t++) {
    const q = Array.from({ length: 8 }, () => f32(rnd() * 2 - 1));
    for (const [op, dist] of [['<->', l2], ['<=>', cosineDist]]) {
      res = await client.query(`SELECT id, embedding <-> $1 AS l2, embedding <=> $1 AS cos FROM node_knn ORDER BY embedding ${op} $1 LIMIT 5`,
        [pgvector.toSql(q)]);
      const want = exactTopK(knnRows, q, 5, dist);
      const gotIds = res.rows.map((r) => r.id).join(',');
      const wantIds = want.map((w) => w.id).join(',');
      const col = op === '<->' ? 'l2' : 'cos';
      const distOk = res.rows.every((r, i) => Math.abs(r[col] - want[i].d) <= 1e-5 * Math.max(1, want[i].d));
      check(gotIds === wantIds && distOk, `ORDER BY embedding ${op} $1 LIMIT 5 (query ${t}) matches exact ranking`,
        `got ${gotIds} want ${wantIds}`);
    }
  }

  // -- vector[]: node-pg sends a JS array of toSql strings as an array literal;
  // a parser for _vector built from postgres-array + pgvector fromSql reads it
  client.setTypeParser(types.typarray, 'text', (s) => postgresArray.parse(s, pgvector.fromSql));
  await client.query('CREATE TABLE node_multi (id int, embeddings vector[])');
  const multi = [[f32(1.5), -2, f32(0.1)], [3, 4, f32(1e-40)], [f32(1 / 3), 0, 7]];
  await client.query('INSERT INTO node_multi VALUES (1, $1::vector[]), (2, $2::vector[])',
    [multi.map(pgvector.toSql), [pgvector.toSql(multi[0]), null]]);
  res = await client.query('SELECT id, embeddings, embeddings::text AS txt FROM node_multi ORDER BY id');
  const got = res.rows[0].embeddings;
  check(Array.isArray(got) && got.length === 3 && got.every((v, i) => sameFloat4(v, multi[i]) === null),
    'vector[] round trip through node-pg array literal', JSON.stringify(got));
  check(res.rows[0].txt === '{"[1.5,-2,0.1]","[3,4,1e-40]","[0.33333334,0,7]"}', 'vector[] text form',
    res.rows[0].txt);
  check(res.rows[1].embeddings.length === 2 && res.rows[1].embeddings[1] === null &&
    sameFloat4(res.rows[1].embeddings[0], multi[0]) === null, 'vector[] with NULL element',
    JSON.stringify(res.rows[1].embeddings));
  res = await client.query('SELECT array_agg(embedding ORDER BY id) AS a FROM node_knn WHERE id <= 3');
  check(res.rows[0].a.length === 3 && res.rows[0].a.every((v, i) => sameFloat4(v, knnRows[i].v) === null),
    'array_agg(vector) parsed as _vector', JSON.stringify(res.rows[0].a));

  // -- node-pg binary parameters (pgvector-node has no binary codec; the
  // one above follows the wire format).  Binary *results* cannot be tested:
  // pg-protocol 1.x decodes every DataRow field as a UTF-8 string, so the
  // float bytes of `binary: true` results are mangled before any type parser
  // runs, whatever the server sends.  vector_send() shows the bytes instead.
  await client.query('CREATE TABLE node_bin (id int, embedding vector(4))');
  const binVals = [-0, f32(-1.5e-45), f32(3.4028234663852886e+38), f32(0.1)];
  const sent = encodeBinary(binVals);
  await client.query('INSERT INTO node_bin VALUES (1, $1)', [sent]);
  res = await client.query('SELECT vector_send(embedding) AS b, embedding AS v FROM node_bin');
  check(res.rows[0].b.equals(sent), 'binary (Buffer) parameter stored byte-identically', res.rows[0].b.toString('hex'));
  check(sameFloat4(res.rows[0].v, binVals) === null && Object.is(res.rows[0].v[0], -0),
    'binary parameter read back through pgvector-node incl. -0', res.rows[0].v);
  res = await client.query('SELECT embedding::text AS t FROM node_bin');
  check(res.rows[0].t === '[-0,-1e-45,3.4028235e+38,0.1]', 'binary-received value prints as expected', res.rows[0].t);
  const badUnused = Buffer.from(sent);
  badUnused.writeUInt16BE(1, 2);
  check(await sqlstateOf(client, 'INSERT INTO node_bin VALUES (2, $1)', [badUnused]) === '22000',
    'binary value with unused != 0 rejected', 'accepted or wrong code');
  check(await sqlstateOf(client, 'INSERT INTO node_bin VALUES (2, $1)', [encodeBinary([1, 2, 3])]) === '22000',
    'binary value of wrong dimension for vector(4) rejected', 'accepted or wrong code');
  const nan = encodeBinary([1, 2, 3, 4]);
  nan.writeFloatBE(NaN, 8);
  check(await sqlstateOf(client, 'INSERT INTO node_bin VALUES (2, $1)', [nan]) === '22000',
    'binary NaN rejected', 'accepted or wrong code');

  // ================= halfvec =================
  // Text through pgvector-node (registerTypes registered halfvec's parser;
  // toSql is the same JSON array): each element comes back as its nearest
  // binary16, printed as the shortest float4 text of that value
  const halfIn = [1, -2, 0.5, 65504, 1 / 3, 1e-7, 6e-8, -0.1, 1000.7, 65519, -0].map(f32);
  const halfBits = halfIn.map(numberToHalf);
  await client.query('CREATE TABLE node_half (id int PRIMARY KEY, embedding halfvec)');
  await client.query('INSERT INTO node_half VALUES (1, $1)', [pgvector.toSql(halfIn)]);
  res = await client.query('SELECT embedding, embedding::text AS txt, halfvec_send(embedding) AS bin FROM node_half WHERE id = 1');
  check(sameFloat4(res.rows[0].embedding, halfBits.map(halfToNumber).map((x, i) => (i === 10 ? 0 : x))) === null,
    'halfvec: pgvector-node text round trip gives each nearest half', res.rows[0].txt);
  check(res.rows[0].bin.equals(encodeHalfBinary(halfBits.map((h, i) => (i === 10 ? 0 : h)))),
    'halfvec: stored bytes are the rounded binary16 values', res.rows[0].bin.toString('hex'));
  check(res.rows[0].txt === '[1,-2,0.5,65504,0.33325195,1.1920929e-07,5.9604645e-08,-0.099975586,1000.5,65504,0]',
    'halfvec: text output', res.rows[0].txt);
  // 16000 halves over the whole range, binary parameter in, text out
  const halfBig = Array.from({ length: 16000 }, () => numberToHalf(f32((rnd() - 0.5) * 2 ** (rnd() * 40 - 24))));
  await client.query('INSERT INTO node_half VALUES (2, $1)', [encodeHalfBinary(halfBig)]);
  res = await client.query('SELECT embedding, vector_dims(embedding) AS n, halfvec_send(embedding) AS bin FROM node_half WHERE id = 2');
  check(res.rows[0].n === 16000 && res.rows[0].bin.equals(encodeHalfBinary(halfBig)),
    'halfvec: 16000-dim binary parameter stored byte-identically', res.rows[0].n);
  check(sameFloat4(res.rows[0].embedding, halfBig.map(halfToNumber)) === null,
    'halfvec: 16000-dim text output parses to the exact halves', sameFloat4(res.rows[0].embedding, halfBig.map(halfToNumber)));
  // the client's -0 survives in binary
  await client.query('INSERT INTO node_half VALUES (3, $1)', [encodeHalfBinary([0x8000, 0x0001, 0x7bff])]);
  res = await client.query('SELECT embedding::text AS t FROM node_half WHERE id = 3');
  check(res.rows[0].t === '[-0,5.9604645e-08,65504]', 'halfvec: binary -0, subnormal and max half', res.rows[0].t);
  // bad binary halfvecs
  check(await sqlstateOf(client, 'SELECT $1::halfvec', [encodeHalfBinary([0x3c00, 0x7c00])]) === '22000',
    'halfvec: binary infinity rejected with 22000', 'accepted or wrong code');
  check(await sqlstateOf(client, 'SELECT $1::halfvec', [encodeHalfBinary([0x7e00])]) === '22000',
    'halfvec: binary NaN rejected with 22000', 'accepted or wrong code');
  check(await sqlstateOf(client, 'SELECT $1::halfvec', [pgvector.toSql([65520])]) === '22003',
    'halfvec: 65520 out of range (22003)', 'accepted or wrong code');
  // nearest neighbours on halfvec, against an exact ranking of the halves
  await client.query('CREATE TABLE node_half_knn (id int PRIMARY KEY, embedding halfvec(8))');
  const halfRows = knnRows.map((r) => ({ id: r.id, v: r.v.map((x) => halfToNumber(numberToHalf(x))) }));
  await client.query('INSERT INTO node_half_knn SELECT id, embedding FROM node_knn');
  for (let t = 0; t < 3; t++) {
    const q = Array.from({ length: 8 }, () => halfToNumber(numberToHalf(f32(rnd() * 2 - 1))));
    res = await client.query('SELECT id, embedding <-> $1 AS d FROM node_half_knn ORDER BY embedding <-> $1 LIMIT 5',
      [pgvector.toSql(q)]);
    const want = exactTopK(halfRows, q, 5, l2);
    check(res.rows.map((r) => r.id).join(',') === want.map((w) => w.id).join(',') &&
      res.rows.every((r, i) => Math.abs(r.d - want[i].d) <= 1e-5 * Math.max(1, want[i].d)),
    `halfvec: ORDER BY embedding <-> $1 LIMIT 5 (query ${t}) matches exact ranking`,
    `${res.rows.map((r) => r.id)} vs ${want.map((w) => w.id)}`);
  }

  // ================= sparsevec =================
  // pgvector-node's SparseVector: toSql writes {i:v,...}/dim (1-based),
  // the registered parser builds a SparseVector back (0-based indices)
  await client.query('CREATE TABLE node_sparse (id int PRIMARY KEY, embedding sparsevec)');
  const sv = new pgvector.SparseVector({ 0: f32(1e-7), 12345: -2, 999999999: f32(0.1) }, 1000000000);
  const svDense = new pgvector.SparseVector([0, f32(1.5), 0, 0, -3, 0]);
  await client.query('INSERT INTO node_sparse VALUES (1, $1), (2, $2)', [pgvector.toSql(sv), pgvector.toSql(svDense)]);
  res = await client.query('SELECT id, embedding, embedding::text AS txt, sparsevec_send(embedding) AS bin FROM node_sparse ORDER BY id');
  let got0 = res.rows[0].embedding;
  check(got0 instanceof pgvector.SparseVector && got0.dimensions === 1000000000 &&
    got0.indices.join(',') === '0,12345,999999999' && sameFloat4(got0.values, [f32(1e-7), -2, f32(0.1)]) === null,
  'sparsevec: SparseVector from a map round-trips (1e9 dimensions)', res.rows[0].txt);
  check(res.rows[0].bin.equals(encodeSparseBinary(1000000000, [0, 12345, 999999999], [f32(1e-7), -2, f32(0.1)])),
    'sparsevec: stored bytes are pgvector\'s binary form', res.rows[0].bin.toString('hex'));
  check(res.rows[1].txt === '{2:1.5,5:-3}/6' && sameValues(res.rows[1].embedding.toArray(), [0, 1.5, 0, 0, -3, 0]) === null,
    'sparsevec: SparseVector from a dense array round-trips', res.rows[1].txt);
  // binary parameter: entries in any order are rejected, sorted ones stored byte for byte
  const svBin = encodeSparseBinary(10, [1, 4, 9], [f32(0.25), -1, f32(3e38)]);
  await client.query('INSERT INTO node_sparse VALUES (3, $1)', [svBin]);
  res = await client.query('SELECT sparsevec_send(embedding) AS b, embedding::text AS t FROM node_sparse WHERE id = 3');
  check(res.rows[0].b.equals(svBin) && res.rows[0].t === '{2:0.25,5:-1,10:3e+38}/10',
    'sparsevec: binary parameter stored byte-identically', res.rows[0].t);
  check(await sqlstateOf(client, 'SELECT $1::sparsevec', [encodeSparseBinary(10, [4, 1], [1, 2])]) === '22000',
    'sparsevec: binary indices out of order rejected with 22000', 'accepted or wrong code');
  check(await sqlstateOf(client, 'SELECT $1::sparsevec', [encodeSparseBinary(10, [1, 1], [1, 2])]) === '22000',
    'sparsevec: binary duplicate index rejected with 22000', 'accepted or wrong code');
  check(await sqlstateOf(client, 'SELECT $1::sparsevec', [encodeSparseBinary(10, [1], [0])]) === '22000',
    'sparsevec: binary zero value rejected with 22000', 'accepted or wrong code');
  check(await sqlstateOf(client, 'SELECT $1::sparsevec', [encodeSparseBinary(10, [10], [1])]) === '22000',
    'sparsevec: binary index beyond the dimension rejected with 22000', 'accepted or wrong code');
  check(await sqlstateOf(client, 'SELECT $1::sparsevec', [encodeSparseBinary(1, [0, 1], [1, 1])]) === '54000',
    'sparsevec: binary nnz above the dimension rejected with 54000', 'accepted or wrong code');
  // An all-zero sparsevec prints {}/n; pgvector-node's parser (like
  // pgvector's own) turns that into one NaN entry, so check the text
  res = await client.query("SELECT '[0,0,0]'::vector::sparsevec::text AS t");
  check(res.rows[0].t === '{}/3', 'sparsevec: all-zero value prints {}/3', res.rows[0].t);
  // nearest neighbours by inner product on sparse data
  await client.query('CREATE TABLE node_sparse_knn (id int PRIMARY KEY, embedding sparsevec(1000))');
  const sparseRows = [];
  for (let id = 1; id <= 200; id++) {
    const m = {};
    for (let k = 0; k < 5; k++) m[Math.floor(rnd() * 1000)] = f32(rnd() * 2 - 1);
    sparseRows.push({ id, sv: new pgvector.SparseVector(m, 1000) });
  }
  await client.query('INSERT INTO node_sparse_knn SELECT * FROM unnest($1::int[], $2::sparsevec[])',
    [sparseRows.map((r) => r.id), sparseRows.map((r) => pgvector.toSql(r.sv))]);
  const negIp = (a, b) => -a.reduce((s, x, i) => s + x * b[i], 0);
  const sparseDense = sparseRows.map((r) => ({ id: r.id, v: r.sv.toArray() }));
  for (let t = 0; t < 3; t++) {
    const m = {};
    for (let k = 0; k < 200; k++) m[Math.floor(rnd() * 1000)] = f32(rnd());
    const q = new pgvector.SparseVector(m, 1000);
    res = await client.query('SELECT id, embedding <#> $1 AS d FROM node_sparse_knn ORDER BY embedding <#> $1, id LIMIT 5',
      [pgvector.toSql(q)]);
    const want = sparseDense.map((r) => ({ id: r.id, d: negIp(r.v, q.toArray()) }))
      .sort((x, y) => x.d - y.d || x.id - y.id).slice(0, 5);
    check(res.rows.every((r, i) => Math.abs(r.d - want[i].d) <= 1e-5 * Math.max(1, Math.abs(want[i].d))),
      `sparsevec: ORDER BY embedding <#> $1 LIMIT 5 (query ${t}) matches exact distances`,
      `${res.rows.map((r) => r.d)} vs ${want.map((w) => w.d)}`);
  }

  // ================= bit =================
  // node-pg returns bit strings as '0101' text; <~> (Hamming) and <%>
  // (Jaccard) rank them, binary_quantize makes them from vectors
  await client.query('CREATE TABLE node_bits (id int PRIMARY KEY, b bit(24))');
  const bitRows = Array.from({ length: 100 }, (_, i) => ({
    id: i + 1, b: Array.from({ length: 24 }, () => (rnd() < 0.5 ? '1' : '0')).join('') }));
  await client.query('INSERT INTO node_bits SELECT * FROM unnest($1::int[], $2::bit(24)[])',
    [bitRows.map((r) => r.id), bitRows.map((r) => r.b)]);
  const qb = Array.from({ length: 24 }, () => (rnd() < 0.5 ? '1' : '0')).join('');
  const hamming = (a, b) => [...a].filter((c, i) => c !== b[i]).length;
  const jaccard = (a, b) => {
    const both = [...a].filter((c, i) => c === '1' && b[i] === '1').length;
    const either = [...a].filter((c, i) => c === '1' || b[i] === '1').length;
    return both === 0 ? 1 : 1 - both / either;
  };
  res = await client.query('SELECT id, b, b <~> $1 AS h, b <%> $1 AS j FROM node_bits ORDER BY b <~> $1, id LIMIT 10', [qb]);
  const wantH = bitRows.map((r) => ({ id: r.id, d: hamming(r.b, qb) })).sort((x, y) => x.d - y.d || x.id - y.id).slice(0, 10);
  check(res.rows.map((r) => r.id).join(',') === wantH.map((w) => w.id).join(',') &&
    res.rows.every((r) => typeof r.b === 'string' && Math.abs(r.j - jaccard(r.b, qb)) < 1e-12),
  'bit: ORDER BY b <~> $1 LIMIT 10 matches exact Hamming ranking, Jaccard values exact',
  `${res.rows.map((r) => r.id)} vs ${wantH.map((w) => w.id)}`);
  // bit binary parameters (int32 length, bits MSB first), and binary_quantize
  await client.query('INSERT INTO node_bits VALUES (101, $1)', [encodeBitBinary('101100111000111100001111')]);
  res = await client.query("SELECT b::text AS t, binary_quantize('[1,-1,0.5,0,2]'::vector)::text AS q, " +
    "binary_quantize('[1,-1,0.5,0,2]'::halfvec) <~> '10111' AS h FROM node_bits WHERE id = 101");
  check(res.rows[0].t === '101100111000111100001111' && res.rows[0].q === '10101' && res.rows[0].h === 1,
    'bit: binary parameter stored; binary_quantize of vector and halfvec', JSON.stringify(res.rows[0]));
} catch (err) {
  check(false, 'node client script ran to the end', err.stack);
} finally {
  await client.end();
}
console.log('done');
process.exit(failures ? 1 : 0);
