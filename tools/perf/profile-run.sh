#!/usr/bin/env bash
# Profiles the broker (node --cpu-prof) under peerbench's rocketmq-raw produce + consume (one run), then
# prints the profile summary. Usage: tools/perf/profile-run.sh <label> [extra run.mjs args]
# Needs a peerbench copy with node_modules at $PEERBENCH (default /tmp/pb-perf) and built apps; BUNDLE_ROOT=<checkout>
# profiles the broker bundle of another checkout (e.g. a worktree of an older commit, for a before/after pair).
set -euo pipefail
label=$1; shift
root=${BUNDLE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
here=$(cd "$(dirname "$0")/../.." && pwd)
pb=${PEERBENCH:-/tmp/pb-perf}
out=${OUT:-/tmp/rmq-prof/$label}
rm -rf "$out" && mkdir -p "$out"
port=${PORT:-18081}
node --cpu-prof --cpu-prof-dir="$out" "$root/apps/broker/dist/main.js" --listen 127.0.0.1:$port --http-listen 127.0.0.1:0 \
  --data-dir "$out/data" --name-servers '' --auto-create-topics --flush-mode "${FLUSH:-sync}" --log-level info >"$out/broker.log" 2>&1 &
broker=$!
for _ in $(seq 1 100); do grep -q '"ready"' "$out/broker.log" 2>/dev/null && break; sleep 0.1; done
(cd "$pb" && node run.mjs --system "${SYSTEM:-rocketmq-raw}" --url 127.0.0.1:$port --runs 1 --server-pid $broker --out "$out/result.json" "$@") | tee "$out/run.log"
kill -TERM $broker; wait $broker || true
cp "$root/apps/broker/dist/main.js.map" "$out/main.js.map" # the map of the bundle that ran, for later summaries
node "$here/tools/perf/cpu-profile-summary.mjs" "$out"/*.cpuprofile --top 40 --map "$out/main.js.map" | tee "$out/summary.txt"
