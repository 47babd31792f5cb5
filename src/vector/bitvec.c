/*-------------------------------------------------------------------------
 *
 * bitvec.c
 *	  hamming_distance() and jaccard_distance() on bit strings, the
 *	  functions behind the <~> and <%> operators (pgvector-compatible)
 *
 * Both count bits a machine word at a time with PostgreSQL's popcount
 * (POPCNT where the CPU has it, chosen at run time); the unused bits at the
 * end of a bit string are always zero, so whole bytes can be counted.
 * Strings of different lengths are an error ("different bit lengths"),
 * like two vectors of different dimensions.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "port/pg_bitutils.h"
#include "vector/bitvec.h"

VarBit *
InitBitVector(int dim)
{
	int			len = VARBITTOTALLEN(dim);
	VarBit	   *result = (VarBit *) palloc0(len);

	SET_VARSIZE(result, len);
	VARBITLEN(result) = dim;
	return result;
}

/* Load 8 bytes from any address */
static inline uint64
Load64(const unsigned char *p)
{
	uint64		v;

	memcpy(&v, p, sizeof(v));
	return v;
}

uint64
BitHammingDistance(uint32 nbytes, const unsigned char *a, const unsigned char *b)
{
	uint64		distance = 0;
	uint32		i = 0;

	for (; i + 8 <= nbytes; i += 8)
		distance += pg_popcount64(Load64(a + i) ^ Load64(b + i));
	for (; i < nbytes; i++)
		distance += pg_number_of_ones[a[i] ^ b[i]];
	return distance;
}

double
BitJaccardDistance(uint32 nbytes, const unsigned char *a, const unsigned char *b)
{
	uint64		ab = 0;
	uint64		aa = 0;
	uint64		bb = 0;
	uint32		i = 0;

	for (; i + 8 <= nbytes; i += 8)
	{
		uint64		x = Load64(a + i);
		uint64		y = Load64(b + i);

		ab += pg_popcount64(x & y);
		aa += pg_popcount64(x);
		bb += pg_popcount64(y);
	}
	for (; i < nbytes; i++)
	{
		ab += pg_number_of_ones[a[i] & b[i]];
		aa += pg_number_of_ones[a[i]];
		bb += pg_number_of_ones[b[i]];
	}

	if (ab == 0)
		return 1.0;
	return 1.0 - (double) ab / (double) (aa + bb - ab);
}

/* Raise an error unless two bit strings have the same length */
static void
CheckBitLengths(VarBit *a, VarBit *b)
{
	if (VARBITLEN(a) != VARBITLEN(b))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different bit lengths %u and %u", VARBITLEN(a), VARBITLEN(b))));
}

/* Number of differing bits: the <~> operator */
PG_FUNCTION_INFO_V1(hamming_distance);
Datum
hamming_distance(PG_FUNCTION_ARGS)
{
	VarBit	   *a = PG_GETARG_VARBIT_P(0);
	VarBit	   *b = PG_GETARG_VARBIT_P(1);

	CheckBitLengths(a, b);
	PG_RETURN_FLOAT8((double) BitHammingDistance(VARBITBYTES(a), VARBITS(a), VARBITS(b)));
}

/* Jaccard distance of the set bits: the <%> operator */
PG_FUNCTION_INFO_V1(jaccard_distance);
Datum
jaccard_distance(PG_FUNCTION_ARGS)
{
	VarBit	   *a = PG_GETARG_VARBIT_P(0);
	VarBit	   *b = PG_GETARG_VARBIT_P(1);

	CheckBitLengths(a, b);
	PG_RETURN_FLOAT8(BitJaccardDistance(VARBITBYTES(a), VARBITS(a), VARBITS(b)));
}
