/*-------------------------------------------------------------------------
 *
 * registry.c
 *	  The architectures and tokenizers semvec runs
 *
 * The one place that lists them.  A new architecture is an EncArchOps
 * (arch/arch.h) in its own file under arch/, plus one line in
 * Architectures below; a new tokenizer is an EncTokenizerLoadFn
 * (tokenizers/tokenizer.h) under tokenizers/, plus one line in Tokenizers.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"

#include "encoder/arch/bert.h"
#include "encoder/arch/static.h"
#include "encoder/arch/use_lite.h"
#include "encoder/model/registry.h"
#include "encoder/tokenizers/unigram.h"
#include "encoder/tokenizers/wordpiece.h"

typedef struct ArchEntry
{
	const char *model_type;		/* config.json "model_type" */
	const char *class_prefix;	/* or an "architectures" entry's prefix; NULL: none */
	const EncArchOps *ops;
} ArchEntry;

static const ArchEntry Architectures[] = {
	{"use_lite", NULL, &EncArchUseLite},
	{"bert", "Bert", &EncArchBert},
	{"model2vec", "StaticModel", &EncArchStatic},
};

typedef struct TokenizerEntry
{
	const char *type;			/* tokenizer.json "model.type" */
	EncTokenizerLoadFn load;
} TokenizerEntry;

static const TokenizerEntry Tokenizers[] = {
	{"Unigram", EncUnigramLoad},
	{"WordPiece", EncWordPieceLoad},
	{"WordLevel", EncWordLevelLoad},
};

/* The architecture named by model_type, else by an architectures entry */
const EncArchOps *
EncRegistryArch(const char *model_type, JsonbContainer *architectures)
{
	if (model_type != NULL)
		for (int i = 0; i < lengthof(Architectures); i++)
			if (strcmp(model_type, Architectures[i].model_type) == 0)
				return Architectures[i].ops;
	if (architectures != NULL && JsonContainerIsArray(architectures))
	{
		for (int j = 0; j < JsonContainerSize(architectures); j++)
		{
			JsonbValue *v = getIthJsonbValueFromContainer(architectures, j);

			if (v == NULL || v->type != jbvString)
				continue;
			for (int i = 0; i < lengthof(Architectures); i++)
			{
				const char *prefix = Architectures[i].class_prefix;

				if (prefix != NULL && v->val.string.len >= strlen(prefix) &&
					strncmp(v->val.string.val, prefix, strlen(prefix)) == 0)
					return Architectures[i].ops;
			}
		}
	}
	return NULL;
}

/* The load function of a tokenizer.json model type */
EncTokenizerLoadFn
EncRegistryTokenizer(const char *type)
{
	for (int i = 0; i < lengthof(Tokenizers); i++)
		if (strcmp(type, Tokenizers[i].type) == 0)
			return Tokenizers[i].load;
	return NULL;
}

/* BERT folders of the older layout have only vocab.txt */
EncTokenizerLoadFn
EncRegistryVocabTxtTokenizer(void)
{
	return EncWordPieceLoad;
}

/* "\"use_lite\", \"bert\" (Bert*), ..." */
char *
EncRegistryArchNames(void)
{
	StringInfoData s;

	initStringInfo(&s);
	for (int i = 0; i < lengthof(Architectures); i++)
	{
		appendStringInfo(&s, "%s\"%s\"", i > 0 ? ", " : "",
						 Architectures[i].model_type);
		if (Architectures[i].class_prefix != NULL)
			appendStringInfo(&s, " (%s*)", Architectures[i].class_prefix);
	}
	return s.data;
}

/* "\"Unigram\", \"WordPiece\"" */
char *
EncRegistryTokenizerNames(void)
{
	StringInfoData s;

	initStringInfo(&s);
	for (int i = 0; i < lengthof(Tokenizers); i++)
		appendStringInfo(&s, "%s\"%s\"", i > 0 ? ", " : "", Tokenizers[i].type);
	return s.data;
}
