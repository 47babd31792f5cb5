-- amvalidate() on broken operator classes of each access method: every
-- problem is reported (INFO) and the class does not validate.  The three
-- AMs share one validator (src/amcommon/opclass.c); the extension's own
-- classes all validate (catalog, hnsw_basic).
CREATE FUNCTION amv_int_dist(vector, vector) RETURNS int
	LANGUAGE sql IMMUTABLE AS 'SELECT 1';
CREATE FUNCTION amv_int_norm(vector) RETURNS int
	LANGUAGE sql IMMUTABLE AS 'SELECT 1';
CREATE OPERATOR ### (LEFTARG = vector, RIGHTARG = vector, FUNCTION = amv_int_dist);
CREATE FUNCTION amv_text_len(text) RETURNS int
	LANGUAGE sql IMMUTABLE AS 'SELECT 1';

-- hnsw: distance with a wrong signature, an ordering operator not
-- returning float8, a search (not ordering) operator
CREATE OPERATOR CLASS amv_hnsw_bad FOR TYPE vector USING hnsw AS
	OPERATOR 1 ### (vector, vector) FOR ORDER BY integer_ops,
	OPERATOR 2 = (vector, vector),
	FUNCTION 1 amv_int_dist(vector, vector),
	FUNCTION 2 amv_int_norm(vector);
SELECT amvalidate(oid) FROM pg_opclass WHERE opcname = 'amv_hnsw_bad';
-- hnsw: no distance function for the class's type
CREATE OPERATOR CLASS amv_hnsw_nodist FOR TYPE vector USING hnsw AS
	OPERATOR 1 <-> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 2 vector_norm(vector);
SELECT amvalidate(oid) FROM pg_opclass WHERE opcname = 'amv_hnsw_nodist';
-- hnsw: a good class validates
CREATE OPERATOR CLASS amv_hnsw_good FOR TYPE vector USING hnsw AS
	OPERATOR 1 <-> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 vector_l2_squared_distance(vector, vector);
SELECT amvalidate(oid) FROM pg_opclass WHERE opcname = 'amv_hnsw_good';

-- ivfflat: the same problems, and its k-means functions (3, 4)
CREATE OPERATOR CLASS amv_ivf_bad FOR TYPE vector USING ivfflat AS
	OPERATOR 1 ### (vector, vector) FOR ORDER BY integer_ops,
	FUNCTION 1 amv_int_dist(vector, vector),
	FUNCTION 3 amv_int_dist(vector, vector),
	FUNCTION 4 amv_int_norm(vector);
SELECT amvalidate(oid) FROM pg_opclass WHERE opcname = 'amv_ivf_bad';
CREATE OPERATOR CLASS amv_ivf_nodist FOR TYPE vector USING ivfflat AS
	OPERATOR 1 <-> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 3 l2_distance(vector, vector);
SELECT amvalidate(oid) FROM pg_opclass WHERE opcname = 'amv_ivf_nodist';
CREATE OPERATOR CLASS amv_ivf_good FOR TYPE vector USING ivfflat AS
	OPERATOR 1 <-> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 vector_l2_squared_distance(vector, vector),
	FUNCTION 3 l2_distance(vector, vector);
SELECT amvalidate(oid) FROM pg_opclass WHERE opcname = 'amv_ivf_good';

-- bm25: no ordering operator, and a support function (bm25 has none)
CREATE OPERATOR CLASS amv_bm25_bad FOR TYPE text USING bm25 AS
	OPERATOR 1 = (text, text),
	FUNCTION 1 amv_text_len(text);
SELECT amvalidate(oid) FROM pg_opclass WHERE opcname = 'amv_bm25_bad';

DROP OPERATOR FAMILY amv_hnsw_bad USING hnsw;
DROP OPERATOR FAMILY amv_hnsw_nodist USING hnsw;
DROP OPERATOR FAMILY amv_hnsw_good USING hnsw;
DROP OPERATOR FAMILY amv_ivf_bad USING ivfflat;
DROP OPERATOR FAMILY amv_ivf_nodist USING ivfflat;
DROP OPERATOR FAMILY amv_ivf_good USING ivfflat;
DROP OPERATOR FAMILY amv_bm25_bad USING bm25;
DROP OPERATOR ### (vector, vector);
DROP FUNCTION amv_int_dist(vector, vector), amv_int_norm(vector), amv_text_len(text);
