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
         postgresql-15 rsyslog rsyslog-relp rsyslog-gnutls openssl)
fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js may come from Debian or elsewhere; only install it when absent.
if (( testing )) && ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi

if (( ${#missing[@]} )); then
  echo "deps: installing ${missing[*]}" >&2
  sudo_cmd=()
  [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

if (( testing )); then
  # npm's cache stays inside the repository's ignored node_modules folders.
  (cd tests/client && npm install --no-audit --no-fund --loglevel=error --cache "$PWD/node_modules/.npm-cache" >&2)
  (cd tests/otlp && npm install --no-audit --no-fund --loglevel=error --cache "$PWD/node_modules/.npm-cache" >&2)
  (cd tests/viewer && npm install --no-audit --no-fund --loglevel=error --cache "$PWD/node_modules/.npm-cache" >&2)
  (cd tests/realclients && npm install --no-audit --no-fund --loglevel=error --cache "$PWD/node_modules/.npm-cache" >&2)
fi
