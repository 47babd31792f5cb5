#!/bin/bash
# Bounded-time fuzzing of the text parsers and binary decoders of vector,
# halfvec and sparsevec (src/vector/vecparse.c; target test/fuzz/vecparse_fuzz.c)
# under AddressSanitizer and UndefinedBehaviorSanitizer.  With clang's
# libFuzzer (coverage-guided) when available, else with a seeded mutation
# loop under gcc (test/fuzz/fuzz_driver.c).  Exits non-zero on any crash,
# sanitizer report or broken invariant, leaving the input in the work dir.
# Usage: tools/fuzz.sh [seconds]   (default: $FUZZ_SECONDS or 60)
#        FUZZ_ENGINE=driver tools/fuzz.sh   forces the gcc mutation loop
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-${FUZZ_SECONDS:-60}}
out=$(mktemp -d /tmp/semvec-fuzz.XXXXXX)
corpus=$out/corpus
big=$out/big
mkdir -p "$corpus" "$big"

# The corpus: test/fuzz/seeds.txt; and values at the size limits (16000
# elements, 16000 sparse entries), generated here and kept apart: they take
# milliseconds each, so they are run once rather than mutated
perl -e '
	my ($dir, $bigdir) = @ARGV;
	my $n = 0;
	sub put { my ($form, $data) = @_; open(my $f, ">:raw", sprintf("%s/seed%03d", length($data) > 4000 ? $bigdir : $dir, $n++)) or die;
		print $f chr($form) . $data; close $f; }
	open(my $s, "<", "test/fuzz/seeds.txt") or die;
	while (<$s>) {
		chomp; next if /^#/ || !/^(\d+) (.*)$/;
		my ($form, $v) = ($1, $2); $v =~ s/\\x([0-9a-fA-F]{2})/chr(hex($1))/ge; put($form, $v);
	}
	put(0, "[" . join(",", (1) x 16000) . "]");
	put(1, "[" . join(",", (0.5) x 16001) . "]");
	put(2, "{" . join(",", map { "$_:1" } 1 .. 16000) . "}/16000");
	put(2, "{" . join(",", map { "$_:1" } reverse 1 .. 3000) . "}/5000");
	put(3, pack("nn", 16000, 0) . pack("N", 0x3f800000) x 16000);
	put(5, pack("NNN", 20000, 16000, 0) . pack("N*", 0 .. 15999) . pack("N", 0x3f800000) x 16000);
' "$corpus" "$big"

cc=""
[ "${FUZZ_ENGINE:-}" = driver ] ||
for c in clang clang-16 clang-15 clang-14; do
	if command -v $c >/dev/null 2>&1 &&
		echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n){return 0;}' |
		$c -x c -fsanitize=fuzzer -o "$out/probe" - >/dev/null 2>&1; then
		cc=$c
		break
	fi
done

SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
if [ -n "$cc" ]; then
	echo "fuzz: libFuzzer ($cc), $secs s"
	$cc -g -O1 $SAN -fsanitize=fuzzer -Isrc -o "$out/vecparse_fuzz" \
		test/fuzz/vecparse_fuzz.c src/vector/vecparse.c -lm
	status=0
	"$out/vecparse_fuzz" -runs=0 -max_len=200000 -artifact_prefix="$out/" "$big" \
		>"$out/big.log" 2>&1 || status=$?
	[ "$status" -eq 0 ] || { tail -n 30 "$out/big.log"; echo "fuzz: FAILED on a large seed ($out)"; exit 1; }
	"$out/vecparse_fuzz" -max_total_time="$secs" -max_len=4096 -seed=1 \
		-dict=test/fuzz/vecparse.dict -print_final_stats=1 \
		-artifact_prefix="$out/" "$corpus" >"$out/fuzz.log" 2>&1 || status=$?
	grep -v '^"\|# Uses' "$out/fuzz.log" | tail -n 30
	grep -m 3 'invariant failed\|ERROR: \|runtime error' "$out/fuzz.log" || true
else
	echo "fuzz: libFuzzer not available; seeded mutation loop (gcc), $secs s"
	gcc -g -O1 $SAN -Isrc -o "$out/vecparse_fuzz" \
		test/fuzz/vecparse_fuzz.c test/fuzz/fuzz_driver.c src/vector/vecparse.c -lm
	status=0
	cp "$big"/* "$corpus"/
	"$out/vecparse_fuzz" "$corpus" test/fuzz/vecparse.dict "$secs" 1 || status=$?
fi
if [ "$status" -ne 0 ]; then
	echo "fuzz: FAILED (inputs and logs in $out)"
	exit 1
fi
rm -rf "$out"
echo "fuzz: ok"
