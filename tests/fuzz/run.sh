#!/usr/bin/env bash
# Build the libFuzzer targets tests/fuzz/fuzz_*.c with clang and run each for
# a bounded time.  Fails on any crash, leak, sanitizer report or broken
# promise a target checks.
#
# usage: tests/fuzz/run.sh [SECONDS] [TARGET...]
#
# SECONDS (default 60) is each target's time; TARGET names one, as its file
# does without fuzz_ and .c (message, note, ...); all of them by default.
# A target says what it needs beyond the dss_core library on lines of its
# opening comment: "** fuzz flags:" its libFuzzer flags (its -max_len, say),
# "** fuzz sources:" more of src/ to build with it (src/remote/sse.c ...),
# "** fuzz packages:" the pkg-config packages those need (libcurl ...).
#
# Environment:
#   FUZZ_BUILD_DIR   where objects, the binaries, the working corpora and the
#                    logs go (default <repo>/build-fuzz)
#   FUZZ_CC          the compiler (default clang)
#   FUZZ_JOBS        parallel compiles (default: nproc)
#   FUZZ_EXTRA_CFLAGS  more compiler flags, e.g. -fno-sanitize=nonnull-attribute
#                    to look past a known report while it is being fixed
#
# Each target's seed corpus in tests/fuzz/corpus/TARGET/ is only read; new
# inputs go to $FUZZ_BUILD_DIR/corpus/TARGET, crash reproducers to
# $FUZZ_BUILD_DIR/artifacts/TARGET/.  Reproduce one with:
# $FUZZ_BUILD_DIR/fuzz_TARGET <file>
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SECS=${1:-60}
case $SECS in '' | *[!0-9]*) echo "run.sh: SECONDS must be a number" >&2; exit 2 ;; esac
shift $(( $# > 0 ? 1 : 0 ))
if (( $# > 0 )); then
    TARGETS=("$@")
else
    mapfile -t TARGETS < <(cd "$ROOT/tests/fuzz" && ls fuzz_*.c | sed 's/^fuzz_//; s/\.c$//')
fi
for t in "${TARGETS[@]}"; do
    [[ -f $ROOT/tests/fuzz/fuzz_$t.c ]] || { echo "run.sh: no target $t (tests/fuzz/fuzz_$t.c)" >&2; exit 2; }
done
OUT=${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
CC=${FUZZ_CC:-clang}
JOBS=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}

command -v "$CC" >/dev/null || { echo "run.sh: $CC not found (install clang)" >&2; exit 2; }
mkdir -p "$OUT/obj"

VERSION=$(sed -n 's/^project([^)]*VERSION \([0-9.]*\).*/\1/p' "$ROOT/CMakeLists.txt")
PKG="libcjson sqlite3 libpq uuid libsodium"

# The generated schemas file, as the CMake build makes it.
cmake -DDIR="$ROOT/schemas" -DPATTERNS="*.json" -DOUTPUT="$OUT/schemas_data.c" \
      -DHEADER=schemas.h -DTYPE=schema_file -DARRAY=schema_files \
      -DCOUNT=schema_file_count -P "$ROOT/cmake/embed_files.cmake"

# The project's own flags (CMakeLists.txt), plus instrumentation.
CFLAGS=(-std=c11 -g -O1 -fno-omit-frame-pointer
        -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wno-unused-parameter
        -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE "-DDSS_VERSION=\"$VERSION\""
        -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
        -I"$ROOT/src" -I"$ROOT/src/tools")
if [[ -n ${FUZZ_EXTRA_CFLAGS:-} ]]; then
    read -r -a EXTRA <<< "$FUZZ_EXTRA_CFLAGS"
    CFLAGS+=("${EXTRA[@]}")
fi
# Objects built with other flags are stale.
if [[ "$(cat "$OUT/obj/flags" 2>/dev/null)" != "$CC ${CFLAGS[*]}" ]]; then
    rm -f "$OUT"/obj/*.o
    echo "$CC ${CFLAGS[*]}" > "$OUT/obj/flags"
fi
read -r -a PKG_CFLAGS <<< "$(pkg-config --cflags $PKG)"
read -r -a PKG_LIBS <<< "$(pkg-config --libs $PKG)"

# The sources of the dss_core library exactly as CMakeLists.txt lists them
# (dss_core_common's and the PostgreSQL backend's: everything but main.c;
# not dss_core_local's stand-in for the backend), and the generated schemas.
mapfile -t SOURCES < <(awk '/^add_library\(dss_core(_common)? / {f = 1; next}
    f { end = index($0, ")") > 0
        for (i = 1; i <= NF; i++) { w = $i; sub(/\).*/, "", w); if (w ~ /^src\/.*\.c$/) print w }
        if (end) f = 0 }' "$ROOT/CMakeLists.txt")
(( ${#SOURCES[@]} > 0 )) || { echo "run.sh: no dss_core sources found in CMakeLists.txt" >&2; exit 2; }
SOURCES=("${SOURCES[@]/#/$ROOT/}" "$OUT/schemas_data.c")

OBJS=()
pids=()
for src in "${SOURCES[@]}"; do
    obj=$OUT/obj/$(echo "${src#$ROOT/}" | tr / _).o
    OBJS+=("$obj")
    if [[ ! -f $obj || $src -nt $obj || -n $(find "$ROOT/src" -name '*.h' -newer "$obj" -print -quit) ]]; then
        "$CC" "${CFLAGS[@]}" "${PKG_CFLAGS[@]}" -c "$src" -o "$obj" &
        pids+=($!)
        if (( ${#pids[@]} >= JOBS )); then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
    fi
done
for p in "${pids[@]}"; do wait "$p"; done

# fuzz TARGET: build it, run it for SECS, and judge its log.  0 or 1.
fuzz() {
    local t=$1 bin=$OUT/fuzz_$1 log=$OUT/fuzz_$1.log status execs cov flags=()
    mkdir -p "$OUT/corpus/$t" "$OUT/artifacts/$t" "$ROOT/tests/fuzz/corpus/$t"
    local src=$ROOT/tests/fuzz/fuzz_$t.c more=() pkgs=() pcf=() pcl=() f
    read -r -a flags <<< "$(sed -n 's/^\*\* fuzz flags: *//p' "$src" | head -n 1)"
    read -r -a more <<< "$(sed -n 's/^\*\* fuzz sources: *//p' "$src" | head -n 1)"
    read -r -a pkgs <<< "$(sed -n 's/^\*\* fuzz packages: *//p' "$src" | head -n 1)"
    if (( ${#pkgs[@]} > 0 )); then
        read -r -a pcf <<< "$(pkg-config --cflags "${pkgs[@]}")" || return 1
        read -r -a pcl <<< "$(pkg-config --libs "${pkgs[@]}")" || return 1
    fi
    for f in "${more[@]}"; do
        [[ -f $ROOT/$f ]] || { echo "run.sh: $t names $f, which is not there" >&2; return 1; }
    done
    "$CC" "${CFLAGS[@]/fuzzer-no-link/fuzzer}" "${PKG_CFLAGS[@]}" "${pcf[@]}" \
          "$src" "${more[@]/#/$ROOT/}" "${OBJS[@]}" "${PKG_LIBS[@]}" "${pcl[@]}" -lm \
          -o "$bin" || return 1
    echo "run.sh: fuzzing $t for ${SECS}s (log: $log)"
    set +e
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$bin" -max_total_time="$SECS" -max_len=8192 -timeout=10 \
        -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1 "${flags[@]}" \
        -artifact_prefix="$OUT/artifacts/$t/" "$OUT/corpus/$t" "$ROOT/tests/fuzz/corpus/$t" \
        > "$log" 2>&1
    status=$?
    set -e
    tail -n 25 "$log"
    if grep -qE "ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|SUMMARY: UndefinedBehaviorSanitizer|fuzz_$t: " "$log"; then
        echo "run.sh: $t FAILED: a sanitizer or the target reported a problem (see $log," \
             "reproducers in $OUT/artifacts/$t/)" >&2
        return 1
    fi
    if (( status != 0 )); then
        echo "run.sh: $t FAILED: the fuzzer exited $status (see $log)" >&2
        return 1
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1)
    echo "run.sh: $t OK: ${execs:-?} inputs in ${SECS}s, ${cov:-no coverage line}, no crash, leak or sanitizer report"
}

failed=()
for t in "${TARGETS[@]}"; do
    fuzz "$t" || failed+=("$t")
done
if (( ${#failed[@]} > 0 )); then
    echo "run.sh: FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "run.sh: every target ran clean: ${TARGETS[*]}"
