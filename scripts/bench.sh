#!/usr/bin/env bash
# The benchmark suite (BENCHMARKS.md): duet against a Node.js socket.io 4.x server and coturn on
# loopback. Installs what it needs when missing (coturn, Chromium, Node.js and npm, perf via apt;
# bench/peers' packages via npm ci), builds duet and the generator, and runs everything in one go.
# Prints the tables and writes them as markdown to bench/results.md (BENCH_OUT to change).
#   BENCH_ARGS="-sizes 200,2000 -reps 3,3" scripts/bench.sh   # a quicker run
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v turnutils_uclient >/dev/null 2>&1 || missing+=(coturn)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v perf >/dev/null 2>&1 || missing+=(linux-perf)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
if [ ${#missing[@]} -gt 0 ]; then
	echo "installing benchmark dependencies: ${missing[*]}"
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# Debian starts coturn's own service on install; the suite runs its own turnserver on other ports.
if [ ! -f bench/peers/node_modules/socket.io/package.json ]; then
	npm ci --prefix bench/peers --no-audit --no-fund --loglevel=error
fi

# 10 000 clients need 10 000 descriptors on each side.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 10100 ]; then
	echo "warning: ulimit -n is $(ulimit -n); N = 10000 needs more than 10100" >&2
fi

make build
go build -o bin/duet-bench ./cmd/duet-bench
perf=""
command -v perf >/dev/null 2>&1 && perf="-perf"
# shellcheck disable=SC2086 # BENCH_ARGS is a list of flags
exec bin/duet-bench suite -duet bin/duet -out "${BENCH_OUT:-bench/results.md}" $perf ${BENCH_ARGS:-}
