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
} catch (err) {
  check(false, 'node client script ran to the end', err.stack);
} finally {
  await client.end();
}
console.log('done');
process.exit(failures ? 1 : 0);
