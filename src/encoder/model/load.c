/*-------------------------------------------------------------------------
 *
 * load.c
 *	  Build an EncModel from a model folder
 *
 * In order: config.json picks the architecture (registry.c); the
 * sentence-transformers files give pooling, normalisation and length
 * (st_config.c); the tokenizer files are read and handed to the tokenizer
 * the registry names; model.safetensors is mapped; then the architecture
 * binds its tensors (and any kernel copies are made, EncModelLinear).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>

#include "utils/memutils.h"

#include "encoder/format/json.h"
#include "encoder/format/safetensors.h"
#include "encoder/model/load.h"
#include "encoder/model/registry.h"
#include "encoder/model/st_config.h"

/* Pick the architecture from config.json */
static const EncArchOps *
ChooseArch(EncModel *model)
{
	JsonbContainer *root = &model->config->root;
	char	   *type = EncJsonGetString(root, "model_type");
	const EncArchOps *arch;

	arch = EncRegistryArch(type, EncJsonGetContainer(root, "architectures"));
	if (arch == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("unsupported model architecture in file \"%s\"",
						EncModelFile(model, "config.json")),
				 errdetail("model_type is \"%s\"; supported are %s.",
						   type ? type : "(missing)", EncRegistryArchNames())));
	return arch;
}

/* Does a file exist in the model folder? */
static bool
ModelFileExists(EncModel *model, const char *relpath)
{
	struct stat st;

	return stat(EncModelFile(model, relpath), &st) == 0;
}

/*
 * Read the tokenizer files and hand them to the tokenizer the registry
 * names: tokenizer.json's model.type, else vocab.txt (WordPiece)
 */
static EncTokenizer *
LoadTokenizer(EncModel *model, int *model_max_length)
{
	EncTokenizerSource src;
	EncTokenizerLoadFn load;
	EncTokenizer *tok;

	memset(&src, 0, sizeof(src));
	src.dir = model->dir;
	src.tokenizer_json_path = EncModelFile(model, "tokenizer.json");
	src.tokenizer_json = EncJsonReadFile(src.tokenizer_json_path, true);
	src.vocab_txt_path = EncModelFile(model, "vocab.txt");
	src.tokenizer_config_path = EncModelFile(model, "tokenizer_config.json");
	src.tokenizer_config = EncJsonReadFile(src.tokenizer_config_path, true);

	/*
	 * The length Hugging Face tokenizers truncate to when nothing else says
	 * (transformers writes a huge sentinel when there is no limit)
	 */
	*model_max_length = 0;
	if (src.tokenizer_config != NULL)
	{
		JsonbValue	v;
		double		d;

		if (EncJsonGet(&src.tokenizer_config->root, "model_max_length", &v) &&
			EncJsonNumber(&v, &d) && d >= 2 && d <= 1000000)
			*model_max_length = (int) d;
	}

	if (src.tokenizer_json != NULL)
	{
		JsonbContainer *m = EncJsonGetContainer(&src.tokenizer_json->root, "model");
		char	   *type = m ? EncJsonGetString(m, "type") : NULL;

		load = type ? EncRegistryTokenizer(type) : NULL;
		if (load == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("unsupported tokenizer in file \"%s\"",
							src.tokenizer_json_path),
					 errdetail("model.type is \"%s\"; supported are %s.",
							   type ? type : "(missing)",
							   EncRegistryTokenizerNames())));
	}
	else if (ModelFileExists(model, "vocab.txt"))
		load = EncRegistryVocabTxtTokenizer();
	else
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FILE),
				 errmsg("model \"%s\" has no tokenizer", model->name),
				 errdetail("Neither \"%s\" nor \"%s\" exists.",
						   src.tokenizer_json_path, src.vocab_txt_path)));

	tok = load(&src);
	/* the tokenizer copied what it keeps */
	if (src.tokenizer_json != NULL)
		pfree(src.tokenizer_json);
	if (src.tokenizer_config != NULL)
		pfree(src.tokenizer_config);
	return tok;
}

/* The folder's settings that sentence-transformers files may narrow */
static void
ApplyStConfig(EncModel *model, EncStConfig *st_out)
{
	EncStConfig st;

	EncReadStConfig(model->dir, &st);
	*st_out = st;
	model->pooling = st.pooling;
	model->normalize = st.normalize;
	model->max_tokens = EncConfigInt(model, "max_position_embeddings", 512);
	if (st.max_seq_length > 0)
		model->max_tokens = Min(model->max_tokens, st.max_seq_length);
}

/* Load a model folder into a fresh memory context */
EncModel *
EncModelLoad(const char *name, const char *dir)
{
	MemoryContext mcxt;
	MemoryContext old;
	EncModel   *model;
	EncStConfig st;
	int			model_max_length;

	mcxt = AllocSetContextCreate(TopMemoryContext, "semvec model",
								 ALLOCSET_DEFAULT_SIZES);
	MemoryContextCopyAndSetIdentifier(mcxt, name);
	old = MemoryContextSwitchTo(mcxt);
	PG_TRY();
	{
		model = palloc0(sizeof(EncModel));
		strlcpy(model->name, name, ENC_MAX_NAME);
		model->dir = pstrdup(dir);
		model->mcxt = mcxt;
		model->config = EncJsonReadFile(EncModelFile(model, "config.json"),
										true);
		if (model->config == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FILE),
					 errmsg("model \"%s\" has no config file", name),
					 errdetail("File \"%s\" does not exist.",
							   EncModelFile(model, "config.json"))));
		if (!JB_ROOT_IS_OBJECT(model->config))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("invalid model file \"%s\"",
							EncModelFile(model, "config.json")),
					 errdetail("The file must hold a JSON object.")));
		model->with_specials = true;
		model->arch = ChooseArch(model);
		ApplyStConfig(model, &st);
		model->tokenizer = LoadTokenizer(model, &model_max_length);
		/*
		 * Without sentence-transformers' max_seq_length, the tokenizer's
		 * model_max_length applies, as in sentence-transformers and in
		 * transformers (cross-encoders have no sentence-transformers files)
		 */
		if (st.max_seq_length <= 0 && model_max_length > 0)
			model->max_tokens = Min(model->max_tokens, model_max_length);
		model->weights = SafeTensorsOpen(EncModelFile(model, "model.safetensors"),
										 mcxt);
		model->arch_state = model->arch->load(model);
		EncModelLoadFinish(model);
		if (model->dim < 1 || model->dim > 16000)
			elog(ERROR, "architecture %s set invalid dimension %d",
				 model->arch->name, model->dim);
		if (model->max_tokens < 1)
			elog(ERROR, "architecture %s set invalid max_tokens %d",
				 model->arch->name, model->max_tokens);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(old);
		MemoryContextDelete(mcxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
	return model;
}
