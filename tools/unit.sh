#!/bin/bash
# Build and run the C unit tests of the pure-C modules with plain gcc
# (no PostgreSQL needed).  Flags mirror what PGXS uses for the extension.
# Usage: tools/unit.sh
set -euo pipefail
cd "$(dirname "$0")/.."
CC=${CC:-gcc}
out=$(mktemp -d /tmp/semvec-unit.XXXXXX)
trap 'rm -rf "$out"' EXIT
CFLAGS="-O2 -Wall -Wextra -Werror -fwrapv -ftree-vectorize -fno-math-errno"

# No include cycles across src/, one header per file (the access methods keep
# pgvector's one AM header: --am)
/usr/bin/python3 tools/include_cycles.py src/simd src/vector src/amcommon src/encoder src/rag \
	--am src/hnsw --am src/ivfflat --am src/bm25

$CC $CFLAGS -Isrc -o "$out/distance_test" test/unit/distance_test.c \
	src/simd/simd.c src/vector/distance.c src/vector/distance_x86.c -lm
"$out/distance_test"

# half: float4 <-> binary16 conversions against the compiler's _Float16,
# and the halfvec distance kernels of every SIMD level
$CC $CFLAGS -Isrc -o "$out/half_test" test/unit/half_test.c -lm
"$out/half_test"
$CC $CFLAGS -Isrc -o "$out/distance_half_test" test/unit/distance_half_test.c \
	src/simd/simd.c src/vector/distance.c src/vector/distance_x86.c \
	src/vector/distance_half.c src/vector/distance_half_x86.c -lm
"$out/distance_half_test"

# the encoder's linear layers: load-time packing, every kernel path against
# a reference, sparse products equal to dense (needs libopenblas-dev)
$CC $CFLAGS -Isrc -o "$out/linear_test" test/unit/linear_test.c \
	src/encoder/kernels/linear.c src/encoder/kernels/gemm_panels.c \
	src/encoder/kernels/gemm_rows.c src/simd/simd.c -lopenblas -lpthread -lm
"$out/linear_test"

# bm25 posting blocks: delta + bit-packing round trips at every width
$CC $CFLAGS -Isrc -o "$out/bm25codec_test" test/unit/bm25codec_test.c src/bm25/bm25codec.c
"$out/bm25codec_test"

# adapters: gradients against finite differences, training on synthetic
# data, determinism for a seed (needs libopenblas-dev)
$CC $CFLAGS -Isrc -o "$out/adapter_train_test" test/unit/adapter_train_test.c \
	src/encoder/adapter/train.c -lopenblas -lm
"$out/adapter_train_test"
