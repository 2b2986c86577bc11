#!/usr/bin/env bash
# Before/after in one run: for each round, each broker bundle given (e.g. a copy of main's bundle and this
# checkout's) is started fresh and measured with peerbench's rocketmq-raw (produce then consume); prints the
# broker's CPU µs per message (its CPU seconds over the phase / messages), msg/s and the client's CPU per bundle and phase.
# SYSTEM=rocketmq measures through the official client (one message per SendMessage and per AckMessage) instead.
# Usage: tools/perf/ab-run.sh <rounds> <bundle.js>... [-- extra run.mjs args]   (PEERBENCH: a peerbench copy with node_modules)
# DATA_ROOT=/dev/shm puts the broker's data on tmpfs (fsync then costs nothing: the path without the disk);
# NICE=-10 runs broker and client at that priority (root; the path without other processes' CPU load).
# NODE_FLAGS="--max-semi-space-size=64" passes flags to the broker's node; a file `node-flags` beside a bundle adds
# flags for that bundle alone (a copy of one bundle in dist/<label>/ with its own flags: V8 flags A/B in one run).
set -euo pipefail
source "$(dirname "$0")/ab-args.sh"
pb=${PEERBENCH:-/tmp/pb-perf}
out=${OUT:-/tmp/rmq-ab}
port=${PORT:-18091}
mkdir -p "$out"
for round in $(seq 1 "$rounds"); do
  for bundle in "${bundles[@]}"; do
    label=$(basename "$(dirname "$bundle")")-r$round
    data=${DATA_ROOT:-$out}/data-$label
    rm -rf "$data"
    bundle_flags=$(cat "$(dirname "$bundle")/node-flags" 2>/dev/null || true)
    nice -n "${NICE:-0}" node ${NODE_FLAGS:-} $bundle_flags "$bundle" --listen 127.0.0.1:$port --http-listen 127.0.0.1:0 --data-dir "$data" --name-servers '' \
      --auto-create-topics --flush-mode "${FLUSH:-sync}" --log-level warn >"$out/broker-$label.log" 2>&1 &
    broker=$!
    for _ in $(seq 1 100); do (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
    (cd "$pb" && nice -n "${NICE:-0}" node run.mjs --system "${SYSTEM:-rocketmq-raw}" --url 127.0.0.1:$port --runs 1 --server-pid $broker --out "$out/$label.json" "${run_args[@]}") >"$out/run-$label.log" 2>&1 || echo "run failed: $out/run-$label.log"
    kill -TERM $broker; wait $broker || true
    rm -rf "$data"
    node -e '
      const r = require(process.argv[1]); const load = require("os").loadavg()[0].toFixed(1);
      const f = (p) => { const x = r.runs[p]?.[0]; return x ? `${p} ${(x.serverCpuPct / 100 * x.secs * 1e6 / x.msgs).toFixed(1)} µs/msg ${Math.round(x.msgsPerSec)} msg/s client ${Math.round(x.clientCpuPct)}%` : `${p} n/a`; };
      const l = r.runs.latency?.[0]; const lat = l ? ` | e2e p50 ${l.p50.toFixed(2)} p99 ${l.p99.toFixed(2)} p99.9 ${l.p999.toFixed(2)} ms, send ack p50 ${l.ackP50.toFixed(2)} p99 ${l.ackP99.toFixed(2)} ms, broker ${(l.serverCpuPct).toFixed(0)}% CPU` : "";
      console.log(`${process.argv[2].padEnd(12)} ${["produce", "consume"].map(f).join(" | ")}${lat} | load ${load}`);' "$out/$label.json" "$label"
  done
done
