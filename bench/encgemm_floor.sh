#!/bin/bash
# Floors of a one-query USE-lite forward pass on this CPU (not a test): the
# panel products of src/encoder/kernels/gemm_panels.c against streaming the
# same weights once and against the same FLOPs on cache-resident weights.
# Usage: bench/encgemm_floor.sh [TOKENS] (default 13).  Needs a C compiler.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp /tmp/semvec-encgemm-floor.XXXXXX)
trap 'rm -f "$bin"' EXIT
cc -O2 -Wall -Wextra -Isrc -o "$bin" bench/encgemm_floor.c src/encoder/kernels/gemm_panels.c src/simd/simd.c \
	-lpthread -lm
echo "load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
OPENBLAS_NUM_THREADS=1 "$bin" "${1:-13}"
