#!/usr/bin/python3
"""Interop check: psycopg2 with pgvector-python's adapter logic against semvec.

Run by test/t/005_vector_clients.pl; connection settings come from the
PGHOST/PGPORT/PGDATABASE/PGUSER environment variables.  Prints one line per
check, "ok - NAME" or "not ok - NAME # DETAIL", and "done" last.

pgvector-python is not packaged in Debian, so its codec is re-implemented
here from its documented behaviour (pgvector/utils/{vector,halfvec,
sparsevec,bit}.py and pgvector/psycopg2/): vector values are held as
big-endian float4; text out is '[' + ','.join(str(float(v))) + ']'; text in
splits on ',' and rounds each float to float4; binary is pack('>HH', dim, 0)
followed by the '>f4' bytes.  halfvec is the same with float16 ('>e');
sparsevec text is '{i:v,...}/dim' with 1-based indices, binary
pack('>iii', dim, nnz, 0) + '>i' 0-based indices + '>f' values; bit text is
'0101', binary pack('>i', length) + the bits packed MSB first.  Binary is
exercised with COPY ... (FORMAT binary), the way its psycopg 3 binary
dumpers' bytes reach the server.
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


def f16(x):
    """Round a Python float to float16, as numpy's '>f2' storage does."""
    return struct.unpack('>e', struct.pack('>e', x))[0]


class HalfVec:
    """pgvector-python's HalfVector: a list of float16 values."""

    def __init__(self, values):
        self.values = [f16(float(v)) for v in values]

    def to_text(self):
        return '[' + ','.join([str(float(v)) for v in self.values]) + ']'

    @classmethod
    def from_text(cls, value):
        return None if value is None else cls([float(v) for v in value[1:-1].split(',')])

    def to_binary(self):
        return struct.pack('>HH', len(self.values), 0) + struct.pack('>%de' % len(self.values), *self.values)


class SparseVec:
    """pgvector-python's SparseVector: dimension, 0-based indices, float4 values."""

    def __init__(self, dim, indices, values):
        self.dim = dim
        self.indices = list(indices)
        self.values = [f32(float(v)) for v in values]

    @classmethod
    def from_dense(cls, values):
        nz = [(i, v) for i, v in enumerate(values) if v != 0]
        return cls(len(values), [i for i, _ in nz], [v for _, v in nz])

    def to_text(self):
        return '{' + ','.join('%d:%s' % (i + 1, float(v)) for i, v in zip(self.indices, self.values)) + \
            '}/' + str(self.dim)

    @classmethod
    def from_text(cls, value):
        if value is None:
            return None
        elements, dim = value.split('/', 2)
        indices, values = [], []
        for e in elements[1:-1].split(','):
            if e:
                i, v = e.split(':', 2)
                indices.append(int(i) - 1)
                values.append(float(v))
        return cls(int(dim), indices, values)

    def to_binary(self):
        n = len(self.indices)
        return struct.pack('>iii', self.dim, n, 0) + struct.pack('>%di' % n, *self.indices) + \
            struct.pack('>%df' % n, *self.values)

    def same(self, other):
        return (self.dim, self.indices, bits(self.values)) == (other.dim, other.indices, bits(other.values))


def bit_binary(text):
    """PostgreSQL's bit binary form, as pgvector-python's Bit.to_binary()."""
    packed = bytearray((len(text) + 7) // 8)
    for i, c in enumerate(text):
        if c == '1':
            packed[i // 8] |= 0x80 >> (i % 8)
    return struct.pack('>i', len(text)) + bytes(packed)


class TextAdapter:
    """The psycopg2 adapters of pgvector-python: quote the text form."""

    def __init__(self, value):
        self._value = value

    def getquoted(self):
        return ext.adapt(self._value.to_text()).getquoted()


def register_vector(conn):
    """Register the casters (and arrays) of vector, halfvec and sparsevec, as register_vector() does."""
    cur = conn.cursor()
    cur.execute("SELECT typname, oid FROM pg_type WHERE oid IN (to_regtype('vector'), to_regtype('_vector'), "
                "to_regtype('halfvec'), to_regtype('_halfvec'), to_regtype('sparsevec'), to_regtype('_sparsevec'))")
    oids = dict(cur.fetchall())
    if 'vector' not in oids:
        raise psycopg2.ProgrammingError('vector type not found in the database')
    for name, cls in (('vector', Vec), ('halfvec', HalfVec), ('sparsevec', SparseVec)):
        caster = ext.new_type((oids[name],), name.upper(), lambda v, c, cls=cls: cls.from_text(v))
        ext.register_type(caster, conn)
        ext.register_type(ext.new_array_type((oids['_' + name],), name.upper() + 'ARRAY', caster), conn)
    ext.register_adapter(Vec, VectorAdapter)
    ext.register_adapter(HalfVec, TextAdapter)
    ext.register_adapter(SparseVec, TextAdapter)


def bits(values):
    """Exact bytes of a float4 list (tells -0 from 0)."""
    return struct.pack('>%df' % len(values), *values)


def copy_binary(rows):
    """Build a COPY (FORMAT binary) stream of (int4, value bytes) rows."""
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

    # ================= halfvec =================
    half_in = [1.0, -2.0, 0.5, 65504.0, 1 / 3, 1e-7, 6e-8, -0.1, 1000.7, -0.0]
    hv = HalfVec(half_in)
    cur.execute('CREATE TABLE py_half (id int PRIMARY KEY, embedding halfvec)')
    cur.execute('INSERT INTO py_half VALUES (1, %s)', (hv,))
    cur.execute('SELECT embedding, halfvec_send(embedding), embedding::text FROM py_half WHERE id = 1')
    got, sent, text = cur.fetchone()
    check(struct.pack('>%de' % len(got.values), *got.values) == struct.pack('>%de' % len(hv.values), *hv.values),
          'halfvec: adapter text round trip (bitwise, -0 kept)', got.values)
    check(bytes(sent) == hv.to_binary(), 'halfvec: stored bytes equal HalfVector.to_binary()', bytes(sent).hex())
    check(text == '[1,-2,0.5,65504,0.33325195,1.1920929e-07,5.9604645e-08,-0.099975586,1000.5,-0]',
          'halfvec: text output', text)
    big_h = HalfVec([(rnd.random() - 0.5) * 2 ** rnd.uniform(-24, 16) for _ in range(16000)])
    rows = [(2, big_h.to_binary()), (3, HalfVec([-0.0, 5.96e-8, 65504]).to_binary())]
    cur.copy_expert('COPY py_half (id, embedding) FROM STDIN (FORMAT binary)', copy_binary(rows))
    out = io.BytesIO()
    cur.copy_expert('COPY (SELECT id, embedding FROM py_half WHERE id > 1 ORDER BY id) TO STDOUT (FORMAT binary)', out)
    check([r[1] for r in parse_copy_binary(out.getvalue())] == [r[1] for r in rows],
          'halfvec: COPY (FORMAT binary) out returns exactly the bytes sent (16000 dims)', 'bytes differ')
    cur.execute('SELECT embedding FROM py_half WHERE id = 2')
    (got,) = cur.fetchone()
    check(got.values == big_h.values, 'halfvec: 16000-dim binary in, text out exact', 'values differ')
    bad = struct.pack('>HH', 1, 0) + b'\x7c\x00'
    cur.execute('SAVEPOINT h')
    try:
        cur.copy_expert('COPY py_half (id, embedding) FROM STDIN (FORMAT binary)', copy_binary([(9, bad)]))
        state = 'no error'
    except psycopg2.Error as err:
        state = err.pgcode
    cur.execute('ROLLBACK TO SAVEPOINT h')
    check(state == '22000', 'halfvec: binary infinity rejected with 22000', state)
    cur.execute('SELECT ARRAY[%s, NULL]::halfvec[]', (hv,))
    (arr,) = cur.fetchone()
    check(arr[1] is None and arr[0].values == hv.values, 'halfvec[]: _halfvec caster', arr)

    # ================= sparsevec =================
    cur.execute('CREATE TABLE py_sparse (id int PRIMARY KEY, embedding sparsevec)')
    svs = [SparseVec(1000000000, [0, 12345, 999999999], [1e-7, -2, 0.1]),
           SparseVec.from_dense([0, 1.5, 0, 0, -3, 0]), SparseVec(5, [], [])]
    for i, v in enumerate(svs):
        cur.execute('INSERT INTO py_sparse VALUES (%s, %s)', (i + 1, v))
    cur.execute('SELECT embedding, sparsevec_send(embedding), embedding::text FROM py_sparse ORDER BY id')
    res = cur.fetchall()
    check(all(r[0].same(v) for r, v in zip(res, svs)), 'sparsevec: adapter text round trip (incl. 1e9 dims, empty)',
          [r[2] for r in res])
    check([bytes(r[1]) for r in res] == [v.to_binary() for v in svs], 'sparsevec: stored bytes equal to_binary()',
          [bytes(r[1]).hex() for r in res])
    check([r[2] for r in res] == ['{1:1e-07,12346:-2,1000000000:0.1}/1000000000', '{2:1.5,5:-3}/6', '{}/5'],
          'sparsevec: text output', [r[2] for r in res])
    big_s = SparseVec(100000, sorted(rnd.sample(range(100000), 16000)),
                      [rnd.choice([-1, 1]) * rnd.uniform(1e-3, 1e3) for _ in range(16000)])
    rows = [(10, big_s.to_binary())]
    cur.copy_expert('COPY py_sparse (id, embedding) FROM STDIN (FORMAT binary)', copy_binary(rows))
    out = io.BytesIO()
    cur.copy_expert('COPY (SELECT id, embedding FROM py_sparse WHERE id = 10) TO STDOUT (FORMAT binary)', out)
    check(parse_copy_binary(out.getvalue())[0][1] == big_s.to_binary(),
          'sparsevec: 16000 non-zeros through COPY (FORMAT binary) byte for byte', 'bytes differ')
    cur.execute('SELECT embedding FROM py_sparse WHERE id = 10')
    check(cur.fetchone()[0].same(big_s), 'sparsevec: 16000 non-zeros binary in, text out exact', 'differ')
    for name, payload, want_state in (
            ('indices out of order', struct.pack('>iii', 9, 2, 0) + struct.pack('>2i', 4, 1) + struct.pack('>2f', 1, 2), '22000'),
            ('zero value', struct.pack('>iii', 9, 1, 0) + struct.pack('>i', 1) + struct.pack('>f', 0), '22000'),
            ('16001 non-zeros', struct.pack('>iii', 20000, 16001, 0), '54000')):
        cur.execute('SAVEPOINT s')
        try:
            cur.copy_expert('COPY py_sparse (id, embedding) FROM STDIN (FORMAT binary)', copy_binary([(11, payload)]))
            state = 'no error'
        except psycopg2.Error as err:
            state = err.pgcode
        cur.execute('ROLLBACK TO SAVEPOINT s')
        check(state == want_state, 'sparsevec: binary %s rejected with %s' % (name, want_state), state)
    cur.execute('SELECT ARRAY[%s, %s]::sparsevec[]', (svs[1], svs[2]))
    (arr,) = cur.fetchone()
    check(arr[0].same(svs[1]) and arr[1].same(svs[2]), 'sparsevec[]: _sparsevec caster', [a.to_text() for a in arr])

    # ================= bit =================
    cur.execute('CREATE TABLE py_bits (id int PRIMARY KEY, b bit(20))')
    bit_rows = [(i, ''.join(rnd.choice('01') for _ in range(20))) for i in range(1, 101)]
    cur.executemany('INSERT INTO py_bits VALUES (%s, %s::bit(20))', bit_rows)
    q = ''.join(rnd.choice('01') for _ in range(20))
    cur.execute('SELECT id, b, b <~> %s::bit(20), b <%%> %s::bit(20) FROM py_bits ORDER BY b <~> %s::bit(20), id LIMIT 10',
                (q, q, q))
    res = cur.fetchall()
    ham = sorted((sum(x != y for x, y in zip(b, q)), i) for i, b in bit_rows)[:10]

    def jac(a, b):
        both = sum(x == y == '1' for x, y in zip(a, b))
        either = sum(x == '1' or y == '1' for x, y in zip(a, b))
        return 1.0 if both == 0 else 1 - both / either
    check([r[0] for r in res] == [i for _, i in ham] and all(abs(r[3] - jac(r[1], q)) < 1e-12 for r in res),
          'bit: ORDER BY b <~> %s LIMIT 10 matches exact Hamming ranking, Jaccard exact', (res[:3], ham[:3]))
    out = io.BytesIO()
    cur.copy_expert('COPY (SELECT id, b FROM py_bits WHERE id <= 5 ORDER BY id) TO STDOUT (FORMAT binary)', out)
    check([r[1] for r in parse_copy_binary(out.getvalue())] == [bit_binary(b) for _, b in bit_rows[:5]],
          'bit: COPY (FORMAT binary) out equals Bit.to_binary()', 'bytes differ')
    cur.copy_expert('COPY py_bits (id, b) FROM STDIN (FORMAT binary)',
                    copy_binary([(200, bit_binary('10110011100011110000'))]))
    cur.execute("SELECT b::text, binary_quantize(%s::vector) <~> b FROM py_bits WHERE id = 200",
                (Vec([1, -1, 1, 1] + [0] * 16),))
    check(cur.fetchone() == ('10110011100011110000', 7.0), 'bit: binary COPY in; binary_quantize(vector) <~> bit',
          'mismatch')

    conn.rollback()
    conn.close()


if __name__ == '__main__':
    try:
        main()
    except Exception as err:  # report, then fail: a crash must not pass
        check(False, 'psycopg2 client script ran to the end', repr(err))
    print('done')
    sys.exit(1 if failures else 0)
