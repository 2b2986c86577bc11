#!/usr/bin/env bash
# Many topics, before/after in one run: for each round, each broker bundle given is started fresh (sync, no name
# server) and `rmq bench produce` runs against it with 1 topic and then with N topics (TOPICS, default 1000) on the
# same broker, as bench:peers does. Prints msg/s, the broker's CPU µs per message for each, and their ratio.
# Usage: tools/perf/ab-topics.sh <rounds> <bundle.js>... [-- extra rmq bench args]
set -euo pipefail
source "$(dirname "$0")/ab-args.sh"
here=$(cd "$(dirname "$0")/../.." && pwd)
out=${OUT:-/tmp/rmq-ab-topics}
port=${PORT:-18096}
topics=${TOPICS:-1000}
mkdir -p "$out"
for round in $(seq 1 "$rounds"); do
  for bundle in "${bundles[@]}"; do
    label=$(basename "$(dirname "$bundle")")-r$round
    rm -rf "$out/data-$label"
    node "$bundle" --listen 127.0.0.1:$port --http-listen 127.0.0.1:0 --data-dir "$out/data-$label" --name-servers '' \
      --flush-mode sync --log-level warn >"$out/broker-$label.log" 2>&1 &
    broker=$!
    for _ in $(seq 1 100); do (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
    line="$label"
    for n in 1 "$topics"; do
      node "$here/apps/cli/bin/rmq.js" bench produce --broker 127.0.0.1:$port --broker-pid $broker --count "${COUNT:-100000}" \
        --topics "$n" --json "${run_args[@]}" >"$out/$label-$n.json" 2>"$out/$label-$n.log" || echo "bench failed: $out/$label-$n.log"
      line="$line | $n topics $(node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).results[0];
        console.log(`${Math.round(r.messagesPerSecond)} msg/s ${r.brokerCpuUsPerMessage.toFixed(1)} µs/msg`)' "$out/$label-$n.json")"
    done
    kill -TERM $broker; wait $broker || true
    rm -rf "$out/data-$label"
    echo "$line | load $(cut -d' ' -f1 /proc/loadavg)"
  done
done
