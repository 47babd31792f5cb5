
-- ===================================================================
-- SIMD level of semvec's kernels (src/simd/)
-- ===================================================================

-- STABLE: it reports the semvec.simd setting in force.
CREATE FUNCTION semvec_kernel_info() RETURNS text
	AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION semvec_kernel_info() IS 'SIMD level of the kernels in use (see semvec.simd)';
