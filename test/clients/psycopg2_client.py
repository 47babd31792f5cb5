#!/usr/bin/python3
"""Interop check: psycopg2 with pgvector-python's adapter logic against semvec.

Run by test/t/005_vector_clients.pl; connection settings come from the
PGHOST/PGPORT/PGDATABASE/PGUSER environment variables.  Prints one line per
check, "ok - NAME" or "not ok - NAME # DETAIL", and "done" last.

pgvector-python is not packaged in Debian, so its codec is re-implemented
here from its documented behaviour (pgvector/utils/vector.py and
pgvector/psycopg2/vector.py): values are held as big-endian float4; text out
is '[' + ','.join(str(float(v))) + ']'; text in splits on ',' and rounds each
float to float4; binary is pack('>HH', dim, 0) followed by the '>f4' bytes.
Binary is exercised with COPY ... (FORMAT binary), the way its psycopg 3
binary dumper's bytes reach the server.
"""
import io
import math
import random
import struct
import sys

import psycopg2
import psycopg2.extensions as ext

failures = 0


def check(ok, name, detail=''):
    """Print one check result."""
    global failures
    if ok:
        print('ok - %s' % name)
    else:
        failures += 1
        print('not ok - %s # %s' % (name, str(detail)[:300]))


def f32(x):
    """Round a Python float to float4, as numpy's '>f4' storage does."""
    return struct.unpack('>f', struct.pack('>f', x))[0]


class Vec:
    """pgvector-python's Vector: a list of float4 values."""

    def __init__(self, values):
        self.values = [f32(float(v)) for v in values]

    def to_text(self):
        return '[' + ','.join([str(float(v)) for v in self.values]) + ']'

    @classmethod
    def from_text(cls, value):
        return None if value is None else cls([float(v) for v in value[1:-1].split(',')])

    def to_binary(self):
        return struct.pack('>HH', len(self.values), 0) + struct.pack('>%df' % len(self.values), *self.values)

    @classmethod
    def from_binary(cls, value):
        dim, _unused = struct.unpack_from('>HH', value)
        return cls(struct.unpack_from('>%df' % dim, value, 4))


class VectorAdapter:
    """pgvector-python's psycopg2 adapter: quote the text form."""

    def __init__(self, value):
        self._value = value

    def getquoted(self):
        return ext.adapt(self._value.to_text()).getquoted()


def register_vector(conn):
    """Register the vector and _vector casters the way register_vector() does."""
    cur = conn.cursor()
    cur.execute("SELECT typname, oid FROM pg_type WHERE oid IN (to_regtype('vector'), to_regtype('_vector'))")
    oids = dict(cur.fetchall())
    if 'vector' not in oids:
        raise psycopg2.ProgrammingError('vector type not found in the database')
    vector = ext.new_type((oids['vector'],), 'VECTOR', lambda v, c: Vec.from_text(v))
    ext.register_type(vector, conn)
    ext.register_type(ext.new_array_type((oids['_vector'],), 'VECTORARRAY', vector), conn)
    ext.register_adapter(Vec, VectorAdapter)


def bits(values):
    """Exact bytes of a float4 list (tells -0 from 0)."""
    return struct.pack('>%df' % len(values), *values)


def copy_binary(rows):
    """Build a COPY (FORMAT binary) stream of (int4, vector) rows."""
    out = io.BytesIO()
    out.write(b'PGCOPY\n\xff\r\n\x00' + struct.pack('>ii', 0, 0))
    for ident, vec_bytes in rows:
        out.write(struct.pack('>hii', 2, 4, ident))
        out.write(struct.pack('>i', len(vec_bytes)) + vec_bytes)
    out.write(struct.pack('>h', -1))
    out.seek(0)
    return out


def parse_copy_binary(data):
    """Parse a COPY (FORMAT binary) stream into a list of field-byte tuples."""
    assert data[:11] == b'PGCOPY\n\xff\r\n\x00', 'bad signature'
    _flags, extlen = struct.unpack_from('>ii', data, 11)
    pos = 19 + extlen
    rows = []
    while True:
        (nfields,) = struct.unpack_from('>h', data, pos)
        pos += 2
        if nfields == -1:
            return rows
        fields = []
        for _ in range(nfields):
            (length,) = struct.unpack_from('>i', data, pos)
            pos += 4
            fields.append(None if length < 0 else data[pos:pos + length])
            pos += max(length, 0)
        rows.append(tuple(fields))


def sqlstate_of(cur, query, params=None):
    """Run a statement that must fail; return its SQLSTATE."""
    cur.execute('SAVEPOINT s')
    try:
        cur.execute(query, params)
        state = 'no error'
    except psycopg2.Error as err:
        state = err.pgcode
    cur.execute('ROLLBACK TO SAVEPOINT s')
    return state


def main():
    conn = psycopg2.connect('')
    register_vector(conn)
    cur = conn.cursor()
    rnd = random.Random(7)

    # -- Text format through the adapter: edge floats, -0 included
    edge = [-0.0, 0.0, 1.401298464324817e-45, -1.401298464324817e-45, 1.1754943508222875e-38,
            3.4028234663852886e+38, -3.4028234663852886e+38, 0.1, 1 / 3, 123456789.0, 1e-7,
            65504.0, math.pi, 1e30, -2.5e-42]
    want = Vec(edge)
    cur.execute('CREATE TABLE py_items (id int PRIMARY KEY, embedding vector)')
    cur.execute('INSERT INTO py_items VALUES (1, %s)', (want,))
    cur.execute('SELECT embedding, vector_send(embedding), embedding::text FROM py_items WHERE id = 1')
    got, sent, text = cur.fetchone()
    check(bits(got.values) == bits(want.values), 'adapter text round trip of edge floats (bitwise, -0 kept)',
          got.values)
    check(bytes(sent) == want.to_binary(), 'stored bytes equal pgvector-python to_binary()', bytes(sent)[:40])
    check(text == '[-0,0,1e-45,-1e-45,1.1754944e-38,3.4028235e+38,-3.4028235e+38,0.1,0.33333334,'
          '1.2345679e+08,1e-07,65504,3.1415927,1e+30,-2.5e-42]', 'text output is shortest round-trip form', text)

    # -- Binary COPY in and out, byte-exact
    big = Vec([(rnd.random() - 0.5) * 10 ** rnd.uniform(-30, 30) for _ in range(16000)])
    rows = [(2, want.to_binary()), (3, big.to_binary()), (4, Vec([-0.0, 2.5, -1e-45]).to_binary())]
    cur.copy_expert('COPY py_items (id, embedding) FROM STDIN (FORMAT binary)', copy_binary(rows))
    out = io.BytesIO()
    cur.copy_expert('COPY (SELECT id, embedding FROM py_items ORDER BY id) TO STDOUT (FORMAT binary)', out)
    back = parse_copy_binary(out.getvalue())
    check([r[1] for r in back] == [want.to_binary()] + [r[1] for r in rows],
          'COPY (FORMAT binary) out returns exactly the bytes sent (and text-inserted row)',
          [len(r[1]) for r in back])
    check(back[0][0] == struct.pack('>i', 1) and Vec.from_binary(back[2][1]).values == big.values,
          'from_binary of 16000-dim COPY row', 'mismatch')
    cur.execute('SELECT vector_dims(embedding), embedding FROM py_items WHERE id = 3')
    dims, got = cur.fetchone()
    check(dims == 16000 and bits(got.values) == bits(big.values), '16000-dim binary in, text out exact', dims)
    cur.execute('INSERT INTO py_items VALUES (5, %s)', (big,))
    cur.execute('SELECT a.embedding = b.embedding, vector_send(b.embedding) FROM py_items a, py_items b '
                'WHERE a.id = 3 AND b.id = 5')
    same, sent = cur.fetchone()
    check(same and bytes(sent) == big.to_binary(), '16000-dim text in equals binary in', same)

    # -- Errors surface with pgvector's SQLSTATEs
    check(sqlstate_of(cur, 'SELECT %s::vector', (Vec([1.0] * 16001),)) == '54000', '16001 dims (text) rejected with 54000')
    bad = struct.pack('>HH', 16001, 0) + bits([1.0] * 16001)
    cur.execute('SAVEPOINT c')
    try:
        cur.copy_expert('COPY py_items (id, embedding) FROM STDIN (FORMAT binary)', copy_binary([(9, bad)]))
        state = 'no error'
    except psycopg2.Error as err:
        state = err.pgcode
    cur.execute('ROLLBACK TO SAVEPOINT c')
    check(state == '54000', '16001 dims (binary COPY) rejected with 54000', state)
    check(sqlstate_of(cur, "SELECT '[1,NaN]'::vector") == '22000', 'NaN literal rejected with 22000')

    # -- ORDER BY embedding <-> %s LIMIT k (pgvector-python README style)
    cur.execute('CREATE TABLE py_knn (id int PRIMARY KEY, embedding vector(16))')
    data = [(i, Vec([rnd.uniform(-1, 1) for _ in range(16)])) for i in range(1, 401)]
    cur.executemany('INSERT INTO py_knn VALUES (%s, %s)', data)
    for t in range(5):
        q = Vec([rnd.uniform(-1, 1) for _ in range(16)])
        for op, dist in (('<->', lambda a, b: math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)))),
                         ('<#>', lambda a, b: -sum(x * y for x, y in zip(a, b)))):
            cur.execute('SELECT id, embedding %s %%s FROM py_knn ORDER BY embedding %s %%s LIMIT 5' % (op, op), (q, q))
            res = cur.fetchall()
            exact = sorted(((dist(v.values, q.values), i) for i, v in data))[:5]
            ok = [r[0] for r in res] == [i for _, i in exact] and all(
                abs(r[1] - d) <= 1e-5 * max(1.0, abs(d)) for r, (d, _) in zip(res, exact))
            check(ok, 'ORDER BY embedding %s %%s LIMIT 5 (query %d) matches exact ranking' % (op, t),
                  (res, exact))

    # -- vector[] (the _vector caster) in both directions
    multi = [Vec([1.5, -2, 0.1]), Vec([3, 4, 1e-40]), Vec([-0.0, 0, 7])]
    cur.execute('CREATE TABLE py_multi (id int, embeddings vector[])')
    cur.execute('INSERT INTO py_multi VALUES (1, %s::vector[])', (multi,))
    cur.execute("INSERT INTO py_multi VALUES (2, ARRAY[%s, NULL]::vector[])", (multi[0],))
    cur.execute('SELECT embeddings, embeddings::text FROM py_multi ORDER BY id')
    (arr, text), (arr2, _) = cur.fetchall()
    check(len(arr) == 3 and all(bits(a.values) == bits(b.values) for a, b in zip(arr, multi)),
          'vector[] round trip via _vector caster', [a.values for a in arr])
    check(text == '{"[1.5,-2,0.1]","[3,4,1e-40]","[-0,0,7]"}', 'vector[] text form', text)
    check(len(arr2) == 2 and arr2[1] is None and arr2[0].values == multi[0].values, 'vector[] with NULL element', arr2)
    cur.execute('SELECT array_agg(embedding ORDER BY id) FROM py_knn WHERE id <= 3')
    (agg,) = cur.fetchone()
    check([a.values for a in agg] == [v.values for _, v in data[:3]], 'array_agg(vector) parsed as _vector', agg)

    conn.rollback()
    conn.close()


if __name__ == '__main__':
    try:
        main()
    except Exception as err:  # report, then fail: a crash must not pass
        check(False, 'psycopg2 client script ran to the end', repr(err))
    print('done')
    sys.exit(1 if failures else 0)
