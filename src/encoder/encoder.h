/*-------------------------------------------------------------------------
 *
 * encoder.h
 *	  The in-process text encoder: its settings (encoder.c), and a map of
 *	  its modules
 *
 * embed(text) turns text into a vector inside the backend: a model folder
 * (Hugging Face / sentence-transformers layout, docs/encbert.md) is loaded
 * once per backend, its tokenizer and its architecture's forward pass run
 * on the backend's thread, with matrix products on OpenBLAS and semvec's
 * own kernels.
 *
 * Modules (one concern per file, one header per file; dependencies point
 * down this list, never up):
 *
 *	 embed.c                 SQL functions: embed(), embed_tokens(),
 *							 semvec_models, semvec_reload_models()
 *	 embed_batch.c           embed many texts: tokenize, sort by length,
 *							 pad, run the forward pass in batches
 *	 score_batch.c           rerank(): (query, document) pairs through a
 *							 cross-encoder, batched the same way
 *	 adapter/sql.c           train_adapter(), adapt()
 *	 adapter/train.c         contrastive (InfoNCE) training, OpenBLAS
 *	 model/cache.c           this backend's loaded models by name
 *	 adapter/model.c         a trained adapter as the model "base+name"
 *	 adapter/catalog.c       adapters stored in the table semvec_adapters
 *	 model/search_path.c     where a model name's folder is (the name
 *							 "default" is always the installed folder)
 *	 model/load.c            build an EncModel from a folder
 *	 model/registry.c        the architectures and tokenizers semvec runs,
 *							 by the names config.json / tokenizer.json use
 *	 model/st_config.c       sentence-transformers files: pooling,
 *							 normalisation, max_seq_length
 *	 arch/use_lite.c         USE-lite forward pass (docs/use-lite.md)
 *	 arch/bert.c             BertModel forward pass + pooling, and the
 *							 classifier head of BERT cross-encoders
 *	 arch/static.c           static word vectors (Model2Vec layout):
 *							 one vector per token, averaged
 *	   (arch/arch.h          the architecture interface, EncArchOps)
 *	 model/model.c           EncModel and the accessors an architecture
 *							 binds tensors, linear layers and config with
 *	 tokenizers/unigram.c    USE-lite's Viterbi tokenizer
 *	 tokenizers/wordpiece.c  BERT basic tokenizer + WordPiece
 *	   (tokenizers/tokenizer.h  the tokenizer interface, EncTokenizerOps)
 *	 format/safetensors.c    .safetensors: mmap, header and bounds checks
 *	 format/json.c           JSON files of a folder, PostgreSQL's parser
 *	 kernels/linear.c        linear layers: the one product API, kernel
 *							 choice per call, packing derived at load
 *	 kernels/attention.c     multi-head self-attention of one sequence
 *	 kernels/gemm_panels.c   products on column panels (AVX2), sparse
 *							 products, and their worker threads
 *	 kernels/gemm_rows.c     few-row products on [out][in] weights
 *	 kernels/elementwise.c   LayerNorm, GELU, ReLU, softmax, L2 norm
 *	 encoder.c               the encoder's settings
 *
 * kernels/ and simd/ (CPU features, the semvec.simd level they follow) are
 * pure C; the rest runs PostgreSQL code in the backend's thread.
 *
 * Memory: a loaded EncModel and everything it owns lives in its own memory
 * context (child of TopMemoryContext): the weights are mmapped (shared with
 * other backends by the page cache); kernel copies derived at load (the
 * panels of kernels/linear.h) are the backend's own.  Activations are
 * allocated by the caller in a per-call context.
 *
 * Threads: with semvec.blas_threads > 1, OpenBLAS runs its threads and the
 * panel products hand shares to worker threads kept for the backend's life
 * (kernels/gemm_panels.c).  Neither calls any PostgreSQL API; workers start
 * with every signal blocked.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEMVEC_ENCODER_H
#define SEMVEC_ENCODER_H

/* semvec.model_path (superuser): colon-separated directories */
extern char *semvec_model_path;

/* semvec.blas_threads: threads per product, 1 to 64 */
extern int	semvec_blas_threads;

/* Bumped whenever semvec.model_path changes (cached lookups recheck) */
extern int	EncModelPathGeneration;

/* Register the encoder's settings; called from _PG_init */
extern void EncoderInit(void);

#endif							/* SEMVEC_ENCODER_H */
