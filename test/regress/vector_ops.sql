-- vector functions and operators: distances, norms, arithmetic, comparison,
-- the btree operator class and the distance kernels at every SIMD level
-- (values are chosen so every result is exact in float4, whatever kernel
-- path the CPU selects)

-- Distances
SELECT '[1,2,3]'::vector <-> '[4,6,3]' AS l2, l2_distance('[0,0]'::vector, '[3,4]') AS l2_fn;
SELECT vector_l2_squared_distance('[1,2,3]', '[4,6,3]') AS l2_squared;
SELECT inner_product('[1,2,3]'::vector, '[4,5,6]') AS ip, '[1,2,3]'::vector <#> '[4,5,6]' AS neg_ip,
	vector_negative_inner_product('[1,2,3]', '[4,5,6]') AS neg_ip_fn;
SELECT '[1,0]'::vector <=> '[0,1]' AS orthogonal, '[1,2]'::vector <=> '[2,4]' AS same_dir,
	'[1,1]'::vector <=> '[-1,-1]' AS opposite, cosine_distance('[1,0]'::vector, '[1,1]') AS diag;
-- cosine distance with a zero vector is NaN, as in pgvector
SELECT '[0,0]'::vector <=> '[1,1]' AS zero_a, cosine_distance('[1,1]'::vector, '[0,0]') AS zero_b;
SELECT '[1,2,3]'::vector <+> '[4,6,3]' AS l1, l1_distance('[-1,-1]'::vector, '[1,1]') AS l1_fn;
SELECT vector_spherical_distance('[1,0]', '[0,1]') AS quarter,
	vector_spherical_distance('[1,0]', '[1,0]') AS same,
	vector_spherical_distance('[1,0]', '[-1,0]') AS opposite;
-- operators commute
SELECT '[4,6,3]'::vector <-> '[1,2,3]' AS l2, '[4,5,6]'::vector <#> '[1,2,3]' AS neg_ip,
	'[0,1]'::vector <=> '[1,0]' AS cos, '[4,6,3]'::vector <+> '[1,2,3]' AS l1;
-- long vectors cross the SIMD block and tail boundaries (1..40 elements of 1s and 2s)
SELECT n, v1 <-> v2 AS l2, v1 <#> v2 AS neg_ip, v1 <+> v2 AS l1, (v1 <=> v1) = 0 AS cos_self
	FROM (SELECT n, array_fill(1, ARRAY[n])::vector AS v1, array_fill(2, ARRAY[n])::vector AS v2
		  FROM generate_series(1, 40, 3) n) s;

-- Dimensions and norms
SELECT vector_dims('[1,2,3]'::vector), vector_dims('[1]'::vector);
SELECT vector_norm('[3,4]'), vector_norm('[1,1]'), vector_norm('[0]'), vector_norm('[-2]');
SELECT l2_normalize('[3,4]'::vector), l2_normalize('[0,0]'::vector), l2_normalize('[-2]'::vector), l2_normalize('[1e-45,1e-45]'::vector);
SELECT vector_norm(l2_normalize('[1,2,3,4,5]'::vector)) BETWEEN 0.9999999 AND 1.0000001 AS unit;

-- subvector: 1-based start, clipped like substring
SELECT subvector('[1,2,3,4,5]'::vector, 2, 3), subvector('[1,2,3,4,5]'::vector, 1, 5), subvector('[1,2,3,4,5]'::vector, 4, 10);
SELECT subvector('[1,2,3,4,5]'::vector, -1, 3), subvector('[1,2,3,4,5]'::vector, 0, 3), subvector('[1,2,3,4,5]'::vector, 5, 1);
SELECT subvector('[1,2,3,4,5]'::vector, 2, 2147483647), subvector('[1,2,3,4,5]'::vector, -2147483647, 2147483647);

-- binary_quantize: one bit per element, set where positive
SELECT binary_quantize('[1,-2,0,3.5,-0.1,1,1,1,1]'::vector), binary_quantize('[-1]'::vector), binary_quantize('[0.001]'::vector);
SELECT pg_typeof(binary_quantize('[1]'::vector));

-- Element-wise arithmetic (float4, like pgvector)
SELECT '[1,2,3]'::vector + '[4,5,6]' AS add, '[1,2,3]'::vector - '[4,5,6]' AS sub,
	'[1,2,3]'::vector * '[4,5,6]' AS mul;
SELECT vector_add('[1]', '[2]'), vector_sub('[1]', '[2]'), vector_mul('[3]', '[2]');
SELECT '[0.1]'::vector + '[0.2]' AS float4_sum, '[1e-20]'::vector * '[0]' AS zero_product,
	'[3e38]'::vector + '[-3e38]' AS cancel, '[1e19]'::vector * '[1e19]' AS big;
-- Concatenation
SELECT '[1,2,3]'::vector || '[4,5]' AS concat, vector_concat('[1]', '[2]');
SELECT vector_dims(('[' || array_to_string(array_fill(1, ARRAY[15999]), ',') || ']')::vector || '[1]');

-- Comparison: element by element, then the shorter vector first
SELECT '[1,2,3]'::vector < '[1,2,4]' AS lt, '[1,2]'::vector < '[1,2,3]' AS prefix_lt,
	'[2]'::vector > '[1,5,5]' AS first_wins, '[-0]'::vector = '[0]' AS zeros_equal;
SELECT '[1,2]'::vector <= '[1,2]' AS le, '[1,2]'::vector >= '[1,2]' AS ge,
	'[1,2]'::vector <> '[1,2]' AS ne, '[1,2]'::vector = '[1,2]' AS eq,
	'[1,2]'::vector <> '[1,2,0]' AS ne_dims, '[1,3]'::vector > '[1,2]' AS gt;
SELECT vector_cmp('[1,2]', '[1,3]'), vector_cmp('[1,3]', '[1,2]'), vector_cmp('[1,2]', '[1,2]'),
	vector_cmp('[1,2]', '[1,2,-5]'), vector_cmp('[5]', '[1,2]');
SELECT vector_lt('[1]', '[2]'), vector_le('[2]', '[2]'), vector_eq('[2]', '[2]'),
	vector_ne('[1]', '[2]'), vector_ge('[1]', '[2]'), vector_gt('[1]', '[2]');

-- btree operator class: ORDER BY, DISTINCT, GROUP BY, UNIQUE, index scans
CREATE TABLE items (id serial, v vector);
INSERT INTO items (v) VALUES ('[1,2,3]'), ('[1,2]'), ('[0,5]'), ('[1,2,3]'), ('[-1]'),
	('[1,2,2.5]'), ('[1,2]'), (NULL), ('[1e-7,0]'), ('[-0,0]');
SELECT v FROM items ORDER BY v, id;
SELECT v FROM items ORDER BY v DESC NULLS LAST, id;
SELECT DISTINCT v FROM items ORDER BY v;
SELECT v, count(*) FROM items GROUP BY v ORDER BY v;
SELECT count(DISTINCT v) FROM items;
CREATE INDEX items_v_idx ON items (v);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM items WHERE v = '[1,2]';
SELECT id FROM items WHERE v = '[1,2]' ORDER BY id;
SELECT v FROM items WHERE v > '[1,2]' AND v <= '[1,2,3]' ORDER BY v, id;
EXPLAIN (COSTS OFF) SELECT v FROM items ORDER BY v LIMIT 3;
SELECT v FROM items ORDER BY v LIMIT 3;
RESET enable_seqscan;
DROP INDEX items_v_idx;
CREATE UNIQUE INDEX items_v_unique ON items (v);
DELETE FROM items WHERE id IN (4, 7);
CREATE UNIQUE INDEX items_v_unique ON items (v);
INSERT INTO items (v) VALUES ('[1,2]');
INSERT INTO items (v) VALUES ('[1,2,0]');
DROP TABLE items;
SELECT amvalidate(opc.oid) FROM pg_opclass opc JOIN pg_am am ON am.oid = opc.opcmethod
	WHERE opc.opcname = 'vector_ops' AND am.amname = 'btree';
SELECT opcdefault FROM pg_opclass WHERE opcname = 'vector_ops';

-- Every vector function is STRICT, IMMUTABLE and PARALLEL SAFE, none is
-- SECURITY DEFINER (the whole-extension audit is in the catalog suite)
SELECT p.proname, p.proisstrict, p.provolatile, p.proparallel, p.prosecdef
	FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
	JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'semvec'
	WHERE p.prokind = 'f'
		AND ('vector'::regtype = ANY (p.proargtypes) OR p.prorettype = 'vector'::regtype)
		AND p.proname NOT IN ('hybrid_search')
		AND (NOT p.proisstrict OR p.provolatile <> 'i' OR p.proparallel <> 's' OR p.prosecdef)
	ORDER BY 1;

-- Kernel paths: auto-selection, forcing a path, and every supported path
-- agreeing with the scalar one (relative error <= 1e-5, scaled by the sum
-- of |terms| for the signed kernels)
SELECT semvec_kernel_info() AS auto_path \gset
SELECT :'auto_path' IN ('avx512', 'avx2', 'portable', 'scalar') AS known_path;
SHOW semvec.simd;
SET semvec.simd = 'scalar';
SELECT semvec_kernel_info();
SET semvec.simd = 'portable';
SELECT semvec_kernel_info();
RESET semvec.simd;
SELECT semvec_kernel_info() = :'auto_path' AS back_to_auto;

SELECT setseed(0.42);
CREATE TABLE pairs AS
	SELECT n, array_agg(random() * 2 - 1)::vector AS a, array_agg(random() * 2 - 1)::vector AS b
	FROM generate_series(1, 64) n, generate_series(1, n * 25) i GROUP BY n;
DO $$
DECLARE
	path text;
	tested int := 0;
	bad int;
	total_bad int := 0;
BEGIN
	PERFORM set_config('semvec.simd', 'scalar', false);
	CREATE TEMP TABLE ref AS
		SELECT n, a <-> b AS l2, inner_product(a, b) AS ip, a <=> b AS cos, a <+> b AS l1,
			(SELECT sum(abs(x * y)) FROM unnest(a::real[], b::real[]) u(x, y)) AS ip_scale,
			(SELECT sum(abs(x * y)) FROM unnest(a::real[], b::real[]) u(x, y))
				/ (vector_norm(a) * vector_norm(b)) AS cos_scale
		FROM pairs;
	FOREACH path IN ARRAY ARRAY['avx512', 'avx2', 'portable'] LOOP
		BEGIN
			PERFORM set_config('semvec.simd', path, false);
		EXCEPTION WHEN invalid_parameter_value THEN
			CONTINUE;			-- this CPU cannot run it
		END;
		SELECT count(*) INTO bad FROM pairs p JOIN ref r USING (n)
			WHERE NOT (abs((p.a <-> p.b) - r.l2) <= 1e-5 * r.l2
				   AND abs(inner_product(p.a, p.b) - r.ip) <= 1e-5 * r.ip_scale
				   AND abs((p.a <=> p.b) - r.cos) <= 1e-5 * r.cos_scale
				   AND abs((p.a <+> p.b) - r.l1) <= 1e-5 * r.l1);
		IF bad > 0 THEN
			RAISE WARNING 'SIMD level % disagrees with scalar on % of 64 pairs', path, bad;
		END IF;
		tested := tested + 1;
		total_bad := total_bad + bad;
	END LOOP;
	PERFORM set_config('semvec.simd', 'auto', false);
	RAISE NOTICE 'every supported path agrees with scalar: %', tested >= 1 AND total_bad = 0;
END $$;
SELECT semvec_kernel_info() = :'auto_path' AS back_to_auto;
DROP TABLE pairs;
