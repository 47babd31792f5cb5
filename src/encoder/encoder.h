/*-------------------------------------------------------------------------
 *
 * encoder.h
 *	  In-process text encoder: model folders, tokenizers, architectures
 *
 * A model is a folder in the Hugging Face / sentence-transformers layout:
 *
 *	 FILE                         REQUIRED  USE
 *	 config.json                  yes       architecture and hyper-parameters
 *	 model.safetensors            yes       weights (F32 or F16), mmapped
 *	 tokenizer.json | vocab.txt   yes       "Unigram" or "WordPiece" model
 *	 modules.json                 no        Normalize module => L2 normalise
 *	 1_Pooling/config.json        no        pooling_mode_{mean,cls}_tokens
 *	 sentence_bert_config.json    no        max_seq_length
 *
 * The default model (USE-lite, converted at build time by
 * tools/convert_use_lite.*) uses the same layout with
 * config.json "model_type": "use_lite".
 *
 * Module split (one concern per file):
 *	 safetensors.c          file format only: mmap, header and bounds checks
 *	 encmodel.c             folder loading, JSON config, registry and cache
 *	 tokenizer_unigram.c    USE-lite's Viterbi tokenizer
 *	 tokenizer_wordpiece.c  BERT basic tokenizer + WordPiece
 *	 arch_use_lite.c        USE-lite forward pass
 *	 arch_bert.c            BertModel forward pass + pooling
 *	 encops.c               matmul (cblas_sgemm), LayerNorm, GELU, softmax
 *	 embed.c                SQL-facing embed()
 *
 * Memory: a loaded EncModel and everything it owns lives in its own memory
 * context (child of TopMemoryContext), so a backend loads a model once.
 * Activations are allocated by the caller in a per-call context.
 * Threads: only OpenBLAS runs threads; no PostgreSQL API is called from them.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_ENCODER_H
#define SEMVEC_ENCODER_H

#include "postgres.h"

#include "utils/jsonb.h"

#define ENC_MAX_NAME 64

typedef struct EncModel EncModel;
typedef struct EncTokenizer EncTokenizer;

/* Tokenizer output; start/end are byte offsets into the input (-1 for specials) */
typedef struct EncTokens
{
	int			n;				/* number of tokens, specials included */
	int32	   *ids;
	int		   *start;			/* first byte of each token in the input */
	int		   *end;			/* one past its last byte */
	bool		truncated;		/* max_tokens cut the input short */
} EncTokens;

/* What a tokenizer implementation provides */
typedef struct EncTokenizerOps
{
	const char *name;			/* "unigram", "wordpiece" */

	/*
	 * Tokenize len bytes of UTF-8 text.  max_tokens < 0 means no limit
	 * (used by chunk() to count), otherwise the result holds at most
	 * max_tokens tokens, specials included.  with_specials adds the model's
	 * [CLS]/[SEP] (WordPiece) or nothing (unigram).  Result is palloc'd in
	 * CurrentMemoryContext.
	 */
	EncTokens  *(*encode) (EncTokenizer *tok, const char *text, int len,
						   int max_tokens, bool with_specials);
	int32		pad_id;			/* id used for padding in batches */

	/*
	 * Optional (may be NULL): the piece string of an id, for
	 * embed_tokens(); returns NULL for an id out of range.
	 */
	const char *(*piece) (EncTokenizer *tok, int32 id);
} EncTokenizerOps;

struct EncTokenizer
{
	const EncTokenizerOps *ops;
	void	   *state;			/* implementation's own data */
};

typedef enum EncPooling
{
	ENC_POOL_MEAN,				/* mean over non-padding tokens */
	ENC_POOL_CLS,				/* first token */
	ENC_POOL_ARCH				/* the architecture's own head (USE-lite) */
} EncPooling;

/* What an architecture provides */
typedef struct EncArchOps
{
	const char *name;			/* "use_lite", "bert" */

	/*
	 * Bind and validate this architecture's tensors (EncModelTensor) and
	 * hyper-parameters (EncConfig*), set model->dim; return private state
	 * allocated in model->mcxt.  Errors are ereport(ERROR).
	 */
	void	   *(*load) (EncModel *model);

	/*
	 * Forward pass for a batch: ids is [batch][seq] (rows padded with the
	 * tokenizer's pad_id), lengths[b] the real length of row b.  Writes the
	 * final sentence embedding (pooled, and normalised when
	 * model->normalize) to out[batch][model->dim].  Scratch memory is
	 * palloc'd in CurrentMemoryContext.  Calls CHECK_FOR_INTERRUPTS()
	 * between layers.
	 */
	void		(*forward) (EncModel *model, int batch, int seq,
							const int32 *ids, const int *lengths, float *out);
} EncArchOps;

struct EncModel
{
	char		name[ENC_MAX_NAME];
	char	   *dir;			/* absolute folder path */
	MemoryContext mcxt;			/* owns everything below */
	Jsonb	   *config;			/* parsed config.json */
	const EncArchOps *arch;
	void	   *arch_state;
	EncTokenizer *tokenizer;
	int			dim;			/* output dimension */
	int			max_tokens;		/* truncation length, specials included */
	EncPooling	pooling;
	bool		normalize;		/* L2-normalise the output */
	struct SafeTensors *weights;
	time_t		loaded_mtime;	/* newest mtime of the folder's files at load */
};

/* encmodel.c: registry, cache and config access */
extern EncModel *EncModelGet(const char *name);	/* load or reuse cached */
extern const float *EncModelTensor(EncModel *model, const char *name,
								   int ndim, const int64 *shape);
extern bool EncModelHasTensor(EncModel *model, const char *name);
extern int	EncConfigInt(EncModel *model, const char *key, int dflt);
extern double EncConfigFloat(EncModel *model, const char *key, double dflt);
extern char *EncConfigString(EncModel *model, const char *key, const char *dflt);

/*
 * encjson.c: JSON files of a model folder, parsed by PostgreSQL's parser;
 * syntax errors are ERRCODE_DATA_CORRUPTED naming the file.
 */
extern Jsonb *EncJsonParse(const char *data, int len, const char *path,
						   bool reject_dup_keys);
extern Jsonb *EncJsonReadFile(const char *path, bool missing_ok);
extern bool EncJsonGet(JsonbContainer *obj, const char *key, JsonbValue *out);
extern JsonbContainer *EncJsonGetContainer(JsonbContainer *obj, const char *key);
extern char *EncJsonGetString(JsonbContainer *obj, const char *key);
extern bool EncJsonNumber(const JsonbValue *v, double *out);

/* Path of a file inside the model folder (palloc'd) */
extern char *EncModelFile(EncModel *model, const char *relpath);

/* Embed n texts; out is [n][model->dim]; batching and truncation inside */
extern void EncEmbedTexts(EncModel *model, int n, const char **texts,
						  const int *lens, float *out);

/* Architectures and tokenizers (looked up by encmodel.c) */
extern const EncArchOps EncArchUseLite;
extern const EncArchOps EncArchBert;
extern EncTokenizer *EncUnigramLoad(EncModel *model, Jsonb *tokenizer_json);
extern EncTokenizer *EncWordPieceLoad(EncModel *model, Jsonb *tokenizer_json,
									  const char *vocab_txt_path);

/* GUCs (encmodel.c) */
extern char *semvec_model_path;
extern char *semvec_default_model;
extern int	semvec_blas_threads;
extern void EncoderInit(void);

#endif							/* SEMVEC_ENCODER_H */
