/*-------------------------------------------------------------------------
 *
 * bm25query.c
 *	  SQL side of bm25: the bm25query type, the <@> operator and
 *	  bm25_score(), their planner support, and introspection functions
 *
 * `body <@> 'question'` is the index's ordering operator: its value is the
 * negated BM25 score (an index can only return ascending order), so
 * ORDER BY body <@> 'question' LIMIT k is the top k.  The right operand is
 * a bm25query: the question text and, optionally, the index whose
 * statistics (N, average length, document frequencies) score it.
 *
 * A score needs those statistics, so the operator must know its index
 * even when it is not evaluated by an index scan (in the select list, in
 * a filter, in a plan that sorts).  The planner support function binds
 * it: when the left operand is a column or expression of one table that
 * has a bm25 index on exactly that, the right operand becomes
 * bm25query_bind(query, index).  The operator form is kept, so the index
 * still matches ORDER BY.  When the operator is evaluated for rows that a
 * scan of the same index and query returns, it uses that scan's captured
 * statistics, so the value equals the scan's ordering value exactly.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "fmgr.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/pathnodes.h"
#include "nodes/supportnodes.h"
#include "optimizer/optimizer.h"
#include "parser/parse_func.h"
#include "parser/parse_oper.h"
#include "parser/parsetree.h"
#include "rewrite/rewriteManip.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "bm25/bm25.h"
#include "bm25/bm25query.h"
#include "bm25/bm25querystats.h"

/* ---------------------------------------------------------------------
 * The type
 * ---------------------------------------------------------------------
 */

static Bm25QueryData *
MakeQuery(const char *text, int len, Oid index)
{
	Bm25QueryData *q = palloc(BM25QUERY_HDRSZ + len);

	SET_VARSIZE(q, BM25QUERY_HDRSZ + len);
	q->index = index;
	memcpy(q->query, text, len);
	return q;
}

/* The whole payload of a bm25query datum: the text and any statistics */
void
Bm25QueryPayload(Datum d, char **payload, int *len)
{
	Bm25QueryData *q = (Bm25QueryData *) PG_DETOAST_DATUM(d);

	*len = VARSIZE(q) - BM25QUERY_HDRSZ;
	*payload = palloc(*len + 1);
	memcpy(*payload, q->query, *len);
	(*payload)[*len] = '\0';
}

/* The query text of a bm25query datum (NUL-terminated; without statistics) */
void
Bm25QueryText(Datum d, char **query, int *len)
{
	Bm25QueryPayload(d, query, len);
	*len = Bm25PayloadTextLen(*query, *len);
	(*query)[*len] = '\0';
}

/* A query with statistics: the text, a NUL, the encoded statistics */
static Bm25QueryData *
MakeQueryWithStats(const char *text, int len, const Bm25QueryStats * qs, Oid index)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, text, len);
	appendStringInfoChar(&buf, '\0');
	Bm25QueryStatsEncode(&buf, qs);
	return MakeQuery(buf.data, buf.len, index);
}

/* The text form: the query text, after a bm25stats(...) prefix if any */
static Bm25QueryData *
ParseQuery(const char *s)
{
	Bm25QueryStats qs;
	const char *rest;

	if (Bm25QueryStatsParse(s, &qs, &rest))
		return MakeQueryWithStats(rest, strlen(rest), &qs, InvalidOid);
	return MakeQuery(s, strlen(s), InvalidOid);
}

static char *
PrintQuery(Datum d)
{
	char	   *payload;
	int			len;
	Bm25QueryStats qs;
	StringInfoData buf;

	Bm25QueryPayload(d, &payload, &len);
	if (!Bm25PayloadStats(payload, len, &qs))
		return payload;
	initStringInfo(&buf);
	Bm25QueryStatsPrint(&buf, &qs);
	appendBinaryStringInfo(&buf, payload, Bm25PayloadTextLen(payload, len));
	return buf.data;
}

PG_FUNCTION_INFO_V1(bm25query_in);
Datum
bm25query_in(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(ParseQuery(PG_GETARG_CSTRING(0)));
}

PG_FUNCTION_INFO_V1(bm25query_out);
Datum
bm25query_out(PG_FUNCTION_ARGS)
{
	PG_RETURN_CSTRING(PrintQuery(PG_GETARG_DATUM(0)));
}

/* The binary form is the text form (as it always was for plain queries) */
PG_FUNCTION_INFO_V1(bm25query_recv);
Datum
bm25query_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			len;
	char	   *s = pq_getmsgtext(buf, buf->len - buf->cursor, &len);

	PG_RETURN_POINTER(ParseQuery(s));
}

PG_FUNCTION_INFO_V1(bm25query_send);
Datum
bm25query_send(PG_FUNCTION_ARGS)
{
	StringInfoData buf;
	char	   *s = PrintQuery(PG_GETARG_DATUM(0));

	pq_begintypsend(&buf);
	pq_sendtext(&buf, s, strlen(s));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* Is this relation a bm25 index (with storage)? */
static bool
IsBm25Index(Relation rel)
{
	return rel->rd_rel->relkind == RELKIND_INDEX && rel->rd_indam != NULL &&
		rel->rd_indam->ambuild == bm25build;
}

/* Check that an index is a bm25 index the user may read statistics of */
static void
CheckIndexUsable(Relation index)
{
	Oid			heap;
	AclResult	aclresult;

	if (!IsBm25Index(index))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a bm25 index", RelationGetRelationName(index))));
	heap = IndexGetRelation(RelationGetRelid(index), false);
	aclresult = pg_class_aclcheck(heap, GetUserId(), ACL_SELECT);
	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, OBJECT_TABLE, get_rel_name(heap));
}

/* to_bm25query(query text, index regclass DEFAULT NULL) */
PG_FUNCTION_INFO_V1(to_bm25query);
Datum
to_bm25query(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	Oid			index = PG_NARGS() > 1 && !PG_ARGISNULL(1) ? PG_GETARG_OID(1) : InvalidOid;

	if (OidIsValid(index))
	{
		Relation	rel = relation_open(index, AccessShareLock);

		CheckIndexUsable(rel);
		relation_close(rel, AccessShareLock);
	}
	PG_RETURN_POINTER(MakeQuery(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), index));
}

/*
 * to_bm25query(query text, docs bigint, length bigint, terms text[], dfs
 * bigint[]): a query scored with these corpus statistics instead of its
 * index's own (bm25_corpus_stats() of a distributed table)
 */
PG_FUNCTION_INFO_V1(to_bm25query_stats);
Datum
to_bm25query_stats(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	ArrayType  *terms = PG_GETARG_ARRAYTYPE_P(3);
	ArrayType  *dfs = PG_GETARG_ARRAYTYPE_P(4);
	Datum	   *tv;
	Datum	   *dv;
	bool	   *tn;
	bool	   *dn;
	int			nt;
	int			nd;
	Bm25QueryStats qs;

	if (ARR_NDIM(terms) > 1 || ARR_NDIM(dfs) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("terms and document frequencies must be one-dimensional arrays")));
	deconstruct_array(terms, TEXTOID, -1, false, TYPALIGN_INT, &tv, &tn, &nt);
	deconstruct_array(dfs, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &dv, &dn, &nd);
	if (nt != nd)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("terms and document frequencies differ in length"),
				 errdetail("There are %d terms and %d document frequencies.", nt, nd)));
	qs.ndocs = PG_GETARG_INT64(1);
	qs.totalLen = PG_GETARG_INT64(2);
	qs.nterms = nt;
	qs.lexemes = palloc(sizeof(char *) * Max(nt, 1));
	qs.lens = palloc(sizeof(int) * Max(nt, 1));
	qs.dfs = palloc(sizeof(int64) * Max(nt, 1));
	for (int i = 0; i < nt; i++)
	{
		text	   *term;

		if (tn[i] || dn[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("terms and document frequencies must not be null")));
		term = DatumGetTextPP(tv[i]);
		qs.lexemes[i] = VARDATA_ANY(term);
		qs.lens[i] = VARSIZE_ANY_EXHDR(term);
		qs.dfs[i] = DatumGetInt64(dv[i]);
		CHECK_FOR_INTERRUPTS();
	}
	Bm25QueryStatsCheck(&qs);
	PG_RETURN_POINTER(MakeQueryWithStats(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), &qs, InvalidOid));
}

/*
 * bm25query_bind(query, index): the planner's binding (see above); a query
 * that names its index already (to_bm25query(q, index)) keeps it
 */
PG_FUNCTION_INFO_V1(bm25query_bind);
Datum
bm25query_bind(PG_FUNCTION_ARGS)
{
	Bm25QueryData *q = (Bm25QueryData *) PG_GETARG_VARLENA_P(0);

	if (OidIsValid(q->index))
		PG_RETURN_POINTER(q);
	/* the whole payload: statistics the query carries stay with it */
	PG_RETURN_POINTER(MakeQuery(q->query, VARSIZE(q) - BM25QUERY_HDRSZ, PG_GETARG_OID(1)));
}

/* ---------------------------------------------------------------------
 * Scoring a text
 * ---------------------------------------------------------------------
 */

/* What an operator call keeps between rows (fn_extra) */
typedef struct ScoreCache
{
	Oid			index;
	char	   *query;
	int			len;
	Oid			cfg;
	Bm25Stats	stats;			/* own statistics, when no scan provides them */
	bool		haveStats;
}			ScoreCache;

/* BM25 score of a document text for a bound query */
static double
ScoreText(FunctionCallInfo fcinfo, text *doc, Bm25QueryData *q)
{
	ScoreCache *cache = fcinfo->flinfo->fn_extra;
	int			len = VARSIZE(q) - BM25QUERY_HDRSZ;
	Bm25Stats  *st;
	Bm25Terms	dt;
	uint32	   *tfs;
	double		score;
	int			i = 0,
				j = 0;

	if (!OidIsValid(q->index))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no bm25 index to score the query with"),
				 errdetail("A BM25 score needs the statistics of a bm25 index; the left operand is not a column or expression with a bm25 index on it."),
				 errhint("Create a bm25 index on the column, or name one with to_bm25query(query, index).")));

	if (cache == NULL || cache->index != q->index || cache->len != len ||
		memcmp(cache->query, q->query, len) != 0)
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		Relation	index = relation_open(q->index, AccessShareLock);
		Bm25IndexInfo info;

		CheckIndexUsable(index);
		Bm25GetIndexInfo(index, &info);
		relation_close(index, AccessShareLock);
		cache = palloc0(sizeof(ScoreCache));
		cache->index = q->index;
		cache->len = len;
		cache->query = palloc(len + 1);
		memcpy(cache->query, q->query, len);
		cache->query[len] = '\0';
		cache->cfg = info.textConfig;
		fcinfo->flinfo->fn_extra = cache;
		MemoryContextSwitchTo(old);
	}

	/*
	 * A scan of this index and query in progress: the row it just returned
	 * (same text, same score), or at least its statistics
	 */
	if (Bm25ScanScoreFor(cache->index, cache->query, cache->len,
						 Bm25TextHash(VARDATA_ANY(doc), VARSIZE_ANY_EXHDR(doc)), &score, &st))
		return score;
	if (st == NULL)
	{
		if (!cache->haveStats)
		{
			MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
			Relation	index = relation_open(q->index, AccessShareLock);

			Bm25StatsFor(index, cache->query, cache->len, &cache->stats);
			relation_close(index, AccessShareLock);
			cache->haveStats = true;
			MemoryContextSwitchTo(old);
		}
		st = &cache->stats;
	}
	if (st->nterms == 0 || st->ndocs <= 0)
		return 0;

	Bm25Tokenize(cache->cfg, VARDATA_ANY(doc), VARSIZE_ANY_EXHDR(doc), &dt);
	tfs = palloc0(sizeof(uint32) * st->nterms);
	while (i < dt.nterms && j < st->nterms)
	{
		const Bm25Term *a = &dt.terms[i];
		const Bm25Term *b = &st->terms[j].term;
		int			c = Bm25CompareLexemes(a->lexeme, a->len, b->lexeme, b->len);

		if (c < 0)
			i++;
		else if (c > 0)
			j++;
		else
			tfs[j++] = dt.terms[i++].tf;
	}
	score = Bm25ScoreDoc(st, tfs, dt.length);
	pfree(tfs);
	return score;
}

/* text <@> bm25query: the negated BM25 score (smaller is better) */
PG_FUNCTION_INFO_V1(bm25_distance);
Datum
bm25_distance(PG_FUNCTION_ARGS)
{
	double		score = ScoreText(fcinfo, PG_GETARG_TEXT_PP(0),
								  (Bm25QueryData *) PG_GETARG_VARLENA_P(1));

	PG_RETURN_FLOAT8(score > 0 ? -score : 0);
}

/* bm25_score(text, bm25query): the BM25 score */
PG_FUNCTION_INFO_V1(bm25_score);
Datum
bm25_score(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(ScoreText(fcinfo, PG_GETARG_TEXT_PP(0),
							   (Bm25QueryData *) PG_GETARG_VARLENA_P(1)));
}

/* ---------------------------------------------------------------------
 * Planner support: bind the query to the index on the left operand
 * ---------------------------------------------------------------------
 */

static Node *
StripRelabel(Node *n)
{
	while (n && IsA(n, RelabelType))
		n = (Node *) ((RelabelType *) n)->arg;
	return n;
}

/*
 * The bm25 index on relation relid whose key is expr (with Vars of
 * varno), preferring one without a predicate; InvalidOid if none.
 */
static Oid
FindIndexFor(Oid relid, Node *expr, Index varno)
{
	Relation	heap = table_open(relid, NoLock);
	List	   *indexes = RelationGetIndexList(heap);
	ListCell   *lc;
	Oid			found = InvalidOid;
	bool		foundPartial = false;
	Node	   *key = StripRelabel(expr);
	Node	   *keyAt1 = NULL;

	foreach(lc, indexes)
	{
		Oid			indexoid = lfirst_oid(lc);
		Relation	index = index_open(indexoid, AccessShareLock);
		bool		match = false;

		if (IsBm25Index(index) && index->rd_index->indisvalid && index->rd_index->indnatts == 1)
		{
			AttrNumber attno = index->rd_index->indkey.values[0];

			if (attno != 0)
				match = IsA(key, Var) && ((Var *) key)->varattno == attno;
			else
			{
				List	   *exprs = RelationGetIndexExpressions(index);

				if (keyAt1 == NULL)
				{
					keyAt1 = copyObject(key);
					ChangeVarNodes(keyAt1, varno, 1, 0);
				}
				match = exprs != NIL && equal(keyAt1, StripRelabel(linitial(exprs)));
			}
			if (match)
			{
				bool		partial = RelationGetIndexPredicate(index) != NIL;

				if (!OidIsValid(found) || (foundPartial && !partial))
				{
					found = indexoid;
					foundPartial = partial;
				}
			}
		}
		index_close(index, AccessShareLock);
	}
	list_free(indexes);
	table_close(heap, NoLock);
	return found;
}

/* Replace Vars of one subquery RTE by its output expressions */
typedef struct SubstContext
{
	Index		varno;
	List	   *targetList;
	bool		failed;
}			SubstContext;

static Node *
SubstituteVars(Node *node, SubstContext * ctx)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, Var))
	{
		Var		   *v = (Var *) node;
		TargetEntry *tle;

		if (v->varno != ctx->varno || v->varattno <= 0 ||
			(tle = get_tle_by_resno(ctx->targetList, v->varattno)) == NULL)
		{
			ctx->failed = true;
			return node;
		}
		return copyObject((Node *) tle->expr);
	}
	return expression_tree_mutator(node, SubstituteVars, ctx);
}

/*
 * The table the expression's columns come from, seen through subqueries
 * (ORDER BY on a subquery's output, views that the planner kept): sets
 * *relid and returns the expression over that table's Vars (range table
 * index *varno of the returned level), or NULL.
 */
static Node *
ResolveRelation(Query *query, Node *expr, Oid *relid, Index *varno, int depth)
{
	List	   *vars = pull_var_clause(expr, 0);
	ListCell   *lc;
	Index		vn = 0;
	RangeTblEntry *rte;

	if (vars == NIL || depth > 8)
		return NULL;
	foreach(lc, vars)
	{
		Var		   *v = lfirst(lc);

		if (!IsA(v, Var) || v->varlevelsup != 0 || (vn != 0 && v->varno != vn))
			return NULL;
		vn = v->varno;
	}
	if (vn < 1 || vn > list_length(query->rtable))
		return NULL;
	rte = rt_fetch(vn, query->rtable);
	if (rte->rtekind == RTE_RELATION)
	{
		*relid = rte->relid;
		*varno = vn;
		return expr;
	}
	if (rte->rtekind == RTE_SUBQUERY && rte->subquery != NULL)
	{
		SubstContext ctx = {vn, rte->subquery->targetList, false};
		Node	   *inner = SubstituteVars(copyObject(expr), &ctx);

		if (ctx.failed)
			return NULL;
		return ResolveRelation(rte->subquery, inner, relid, varno, depth + 1);
	}
	return NULL;
}

/*
 * The index a query names itself: a bound constant, or to_bm25query(q,
 * 'index') with a constant index (it is STABLE, so not folded yet).
 * InvalidOid for an unbound query or one the planner bound
 * (bm25query_bind).
 */
static Oid
NamedIndex(Node *right)
{
	if (IsA(right, Const))
	{
		Const	   *c = (Const *) right;

		if (c->constisnull)
			return InvalidOid;
		return ((Bm25QueryData *) DatumGetPointer(PG_DETOAST_DATUM(c->constvalue)))->index;
	}
	if (IsA(right, FuncExpr))
	{
		FuncExpr   *f = (FuncExpr *) right;
		char	   *name = get_func_name(f->funcid);

		if (name != NULL && strcmp(name, "to_bm25query") == 0 &&
			list_length(f->args) == 2 && IsA(lsecond(f->args), Const) &&
			!((Const *) lsecond(f->args))->constisnull)
			return DatumGetObjectId(((Const *) lsecond(f->args))->constvalue);
	}
	return InvalidOid;
}

/*
 * A query that names an index of another table than its left operand's,
 * while that table has a bm25 index of its own on the operand, would score
 * the rows with the other table's statistics and could not use the own
 * index: raise an error rather than return those scores.  This is what a
 * Citus shard sees when the query names the distributed table's index: on
 * a worker that name is the index of Citus's empty shell table, not of the
 * shard.  Naming an index for a column without one (a constant document,
 * another table's text) stays allowed: that is what to_bm25query is for.
 */
static void
CheckNamedIndex(Query *query, Node *left, Oid named)
{
	Oid			relid;
	Index		varno = 0;
	Oid			own;
	Oid			namedRel;
	Node	   *relexpr = ResolveRelation(query, left, &relid, &varno, 0);

	if (relexpr == NULL)
		return;
	namedRel = IndexGetRelation(named, true);
	if (namedRel == relid)
		return;
	own = FindIndexFor(relid, relexpr, varno);
	if (!OidIsValid(own))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("bm25 query names index \"%s\", which is not an index of table \"%s\"",
					get_rel_name(named), get_rel_name(relid)),
			 errdetail("Table \"%s\" has its own bm25 index \"%s\" on the scored text; another table's statistics would give other scores.",
					   get_rel_name(relid), get_rel_name(own)),
			 errhint("Leave the index out (pass the query text), so that each table's own index scores it; on a Citus distributed table, each shard then uses its own.")));
}

PG_FUNCTION_INFO_V1(bm25_query_support);
Datum
bm25_query_support(PG_FUNCTION_ARGS)
{
	Node	   *rawreq = (Node *) PG_GETARG_POINTER(0);
	SupportRequestSimplify *req;
	FuncExpr   *fexpr;
	Node	   *left;
	Node	   *right;
	Node	   *relexpr;
	Oid			relid;
	Index		varno = 0;
	Oid			index;
	Node	   *bound;
	char	   *nsp;
	Oid			queryType;
	Oid			named;

	if (!IsA(rawreq, SupportRequestSimplify))
		PG_RETURN_POINTER(NULL);
	req = (SupportRequestSimplify *) rawreq;
	fexpr = req->fcall;
	if (req->root == NULL || list_length(fexpr->args) != 2)
		PG_RETURN_POINTER(NULL);
	left = linitial(fexpr->args);
	right = lsecond(fexpr->args);
	queryType = exprType(right);

	/* already bound? */
	named = NamedIndex(right);
	if (OidIsValid(named))
	{
		CheckNamedIndex(req->root->parse, left, named);
		PG_RETURN_POINTER(NULL);
	}
	if (IsA(right, Const))
	{
		if (((Const *) right)->constisnull)
			PG_RETURN_POINTER(NULL);
	}
	else if (IsA(right, FuncExpr) && get_func_name(((FuncExpr *) right)->funcid) != NULL &&
			 strcmp(get_func_name(((FuncExpr *) right)->funcid), "bm25query_bind") == 0)
		PG_RETURN_POINTER(NULL);

	/* the left operand must use the columns of exactly one table */
	relexpr = ResolveRelation(req->root->parse, left, &relid, &varno, 0);
	if (relexpr == NULL)
		PG_RETURN_POINTER(NULL);
	index = FindIndexFor(relid, relexpr, varno);
	if (!OidIsValid(index))
		PG_RETURN_POINTER(NULL);

	nsp = get_namespace_name(get_func_namespace(fexpr->funcid));
	if (IsA(right, Const))
	{
		Const	   *c = (Const *) right;
		char	   *s;
		int			len;

		Bm25QueryPayload(c->constvalue, &s, &len);
		bound = (Node *) makeConst(queryType, -1, InvalidOid, -1,
								   PointerGetDatum(MakeQuery(s, len, index)), false, false);
	}
	else
	{
		Oid			argtypes[2] = {queryType, OIDOID};
		Oid			bindfn = LookupFuncName(list_make2(makeString(nsp), makeString("bm25query_bind")),
											2, argtypes, false);

		bound = (Node *) makeFuncExpr(bindfn, queryType,
									  list_make2(right, makeConst(OIDOID, -1, InvalidOid, sizeof(Oid),
																  ObjectIdGetDatum(index), false, true)),
									  InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL);
	}

	if (strcmp(get_func_name(fexpr->funcid), "bm25_distance") == 0)
	{
		OpExpr	   *op = makeNode(OpExpr);

		op->opno = OpernameGetOprid(list_make2(makeString(nsp), makeString("<@>")),
									exprType(left), queryType);
		if (!OidIsValid(op->opno))
			op->opno = OpernameGetOprid(list_make2(makeString(nsp), makeString("<@>")),
										TEXTOID, queryType);
		if (!OidIsValid(op->opno))
			PG_RETURN_POINTER(NULL);
		op->opfuncid = fexpr->funcid;
		op->opresulttype = fexpr->funcresulttype;
		op->opretset = false;
		op->opcollid = fexpr->funccollid;
		op->inputcollid = fexpr->inputcollid;
		op->args = list_make2(left, bound);
		op->location = fexpr->location;
		PG_RETURN_POINTER(op);
	}
	else
	{
		FuncExpr   *f = copyObject(fexpr);

		f->args = list_make2(left, bound);
		PG_RETURN_POINTER(f);
	}
}

/* ---------------------------------------------------------------------
 * Introspection
 * ---------------------------------------------------------------------
 */

/* bm25_stats(index): documents, total length, segments, pending documents */
PG_FUNCTION_INFO_V1(bm25_stats);
Datum
bm25_stats(PG_FUNCTION_ARGS)
{
	Oid			indexoid = PG_GETARG_OID(0);
	Relation	index = relation_open(indexoid, AccessShareLock);
	Bm25MetaPageData meta;
	TupleDesc	tupdesc;
	Datum		values[7];
	bool		nulls[7] = {0};
	uint64		segDocs = 0;

	CheckIndexUsable(index);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	Bm25ReadMeta(index, &meta);
	for (uint32 i = 0; i < meta.nsegments; i++)
		segDocs += meta.segs[i].ndocs;
	values[0] = Int64GetDatum((int64) meta.totalDocs);
	values[1] = Int64GetDatum((int64) meta.totalLen);
	values[2] = Float8GetDatum(meta.totalDocs > 0 ? (double) meta.totalLen / meta.totalDocs : 0);
	values[3] = Int32GetDatum((int32) meta.nsegments);
	values[4] = Int64GetDatum((int64) segDocs);
	values[5] = Int64GetDatum((int64) meta.active.ndocs + meta.sealed.ndocs);
	values[6] = ObjectIdGetDatum(meta.textConfig);
	relation_close(index, AccessShareLock);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* bm25_query_terms(index, query): each query lexeme with its statistics */
PG_FUNCTION_INFO_V1(bm25_query_terms);
Datum
bm25_query_terms(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			indexoid = PG_GETARG_OID(0);
	text	   *query = PG_GETARG_TEXT_PP(1);
	Relation	index;
	Bm25Stats	st;

	InitMaterializedSRF(fcinfo, 0);
	index = relation_open(indexoid, AccessShareLock);
	CheckIndexUsable(index);
	Bm25StatsFor(index, VARDATA_ANY(query), VARSIZE_ANY_EXHDR(query), &st);
	relation_close(index, AccessShareLock);
	for (int t = 0; t < st.nterms; t++)
	{
		Datum		values[5];
		bool		nulls[5] = {0};

		values[0] = PointerGetDatum(cstring_to_text_with_len(st.terms[t].term.lexeme,
															  st.terms[t].term.len));
		values[1] = Int32GetDatum((int32) st.terms[t].term.tf);
		values[2] = Int64GetDatum((int64) st.terms[t].df);
		values[3] = Float8GetDatum(st.terms[t].idf);
		values[4] = Float8GetDatum(st.terms[t].weight);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * bm25_index_stats(index, query): what a BM25 score of the query depends
 * on in this index: documents, their total length, each query lexeme's
 * document frequency (to be summed over the shards of a distributed table)
 */
PG_FUNCTION_INFO_V1(bm25_index_stats);
Datum
bm25_index_stats(PG_FUNCTION_ARGS)
{
	Oid			indexoid = PG_GETARG_OID(0);
	text	   *query = PG_GETARG_TEXT_PP(1);
	Relation	index;
	Bm25Stats	st;
	TupleDesc	tupdesc;
	Datum		values[4];
	bool		nulls[4] = {0};
	Datum	   *terms;
	Datum	   *dfs;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	index = relation_open(indexoid, AccessShareLock);
	CheckIndexUsable(index);
	Bm25StatsFor(index, VARDATA_ANY(query), VARSIZE_ANY_EXHDR(query), &st);
	relation_close(index, AccessShareLock);
	terms = palloc(sizeof(Datum) * Max(st.nterms, 1));
	dfs = palloc(sizeof(Datum) * Max(st.nterms, 1));
	for (int t = 0; t < st.nterms; t++)
	{
		terms[t] = PointerGetDatum(cstring_to_text_with_len(st.terms[t].term.lexeme,
															 st.terms[t].term.len));
		dfs[t] = Int64GetDatum((int64) st.terms[t].df);
	}
	values[0] = Int64GetDatum((int64) st.ndocs);
	values[1] = Int64GetDatum((int64) st.totalLen);
	values[2] = PointerGetDatum(construct_array(terms, st.nterms, TEXTOID, -1, false, TYPALIGN_INT));
	values[3] = PointerGetDatum(construct_array(dfs, st.nterms, INT8OID, 8, FLOAT8PASSBYVAL,
												TYPALIGN_DOUBLE));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* bm25_tokenize(text, regconfig): the lexemes and counts the index would store */
PG_FUNCTION_INFO_V1(bm25_tokenize);
Datum
bm25_tokenize(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	text	   *doc = PG_GETARG_TEXT_PP(0);
	Oid			cfg = PG_GETARG_OID(1);
	Bm25Terms	dt;

	InitMaterializedSRF(fcinfo, 0);
	Bm25Tokenize(cfg, VARDATA_ANY(doc), VARSIZE_ANY_EXHDR(doc), &dt);
	for (int t = 0; t < dt.nterms; t++)
	{
		Datum		values[2];
		bool		nulls[2] = {0};

		values[0] = PointerGetDatum(cstring_to_text_with_len(dt.terms[t].lexeme, dt.terms[t].len));
		values[1] = Int32GetDatum((int32) dt.terms[t].tf);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
