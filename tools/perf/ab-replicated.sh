#!/usr/bin/env bash
# Replicated produce, before/after in one run: for each round, each broker bundle given is started as a master
# with one slave (both --flush-mode sync, no name server, like bench:peers' raw-replicated), the slave's joining
# the in-sync set is awaited, then peerbench's rocketmq-raw produces against the master. Prints msg/s, the
# master's and the slave's CPU µs per message (CPU seconds over the produce run / messages) and the load.
# Usage: tools/perf/ab-replicated.sh <rounds> <bundle.js>... [-- extra run.mjs args]   (PEERBENCH: a peerbench copy)
# PROFILE=1 runs both brokers under node --cpu-prof (profiles in $OUT/prof-<label>-{master,slave}/).
# SLAVES=0 starts the master alone (a broker with no slave, the same flags), for the replicated/single ratio.
# BROKER_ENV="NAME=value ..." sets environment variables of both brokers only (not the client's).
# NODE_FLAGS="--max-semi-space-size=64" passes flags to both brokers' node.
set -euo pipefail
source "$(dirname "$0")/ab-args.sh"
pb=${PEERBENCH:-/tmp/pb-perf}
out=${OUT:-/tmp/rmq-ab-replicated}
port=${PORT:-18095}
mkdir -p "$out"
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
sys() { awk '{ print $15 }' "/proc/$1/stat"; }
for round in $(seq 1 "$rounds"); do
  for bundle in "${bundles[@]}"; do
    label=$(basename "$(dirname "$bundle")")-r$round
    rm -rf "$out/data-$label-master" "$out/data-$label-slave"
    prof_m=(); prof_s=()
    if [ -n "${PROFILE:-}" ]; then
      rm -rf "$out/prof-$label-master" "$out/prof-$label-slave"
      prof_m=(--cpu-prof --cpu-prof-dir="$out/prof-$label-master"); prof_s=(--cpu-prof --cpu-prof-dir="$out/prof-$label-slave")
      cp "$bundle.map" "$out/map-$label.js.map"
    fi
    env ${BROKER_ENV:-} node ${NODE_FLAGS:-} "${prof_m[@]}" "$bundle" --listen 127.0.0.1:$port --http-listen 127.0.0.1:0 --data-dir "$out/data-$label-master" --name-servers '' \
      --auto-create-topics --flush-mode sync --role master --epoch 1 --broker-name ab-a --broker-id 0 >"$out/master-$label.log" 2>&1 &
    master=$!
    for _ in $(seq 1 100); do grep -q '"ready"' "$out/master-$label.log" 2>/dev/null && break; sleep 0.1; done
    if [ "${SLAVES:-1}" = 0 ]; then
      slave=$$ # the master alone (same flags): the same figures for a broker without a slave
    else
      env ${BROKER_ENV:-} node ${NODE_FLAGS:-} "${prof_s[@]}" "$bundle" --listen 127.0.0.1:$((port + 1)) --http-listen 127.0.0.1:0 --data-dir "$out/data-$label-slave" --name-servers '' \
        --auto-create-topics --flush-mode sync --role slave --master 127.0.0.1:$port --broker-name ab-a --broker-id 1 >"$out/slave-$label.log" 2>&1 &
      slave=$!
      for _ in $(seq 1 300); do grep -q 'slave joined the in-sync set' "$out/master-$label.log" 2>/dev/null && break; sleep 0.1; done
    fi
    m0=$(cpu $master); s0=$(cpu $slave); ms0=$(sys $master); ss0=$(sys $slave)
    (cd "$pb" && node run.mjs --system rocketmq-raw --url 127.0.0.1:$port --runs 1 --tests produce --out "$out/$label.json" "${run_args[@]}") >"$out/run-$label.log" 2>&1 || echo "run failed: $out/run-$label.log"
    m1=$(cpu $master); s1=$(cpu $slave); ms1=$(sys $master); ss1=$(sys $slave)
    [ "$slave" = $$ ] || { kill -TERM $slave; wait $slave || true; }
    kill -TERM $master; wait $master || true
    rm -rf "$out/data-$label-master" "$out/data-$label-slave"
    node -e '
      const r = require(process.argv[1]); const [label, m, s, ms, ss] = process.argv.slice(2).map((v, i) => (i === 0 ? v : Number(v)));
      const x = r.runs.produce?.[0]; const load = require("os").loadavg()[0].toFixed(1);
      if (!x) { console.log(`${label} produce n/a`); process.exit(0); }
      const per = (ticks) => (ticks / 100 * 1e6 / x.msgs).toFixed(1);
      console.log(`${label.padEnd(12)} produce ${Math.round(x.msgsPerSec)} msg/s | master ${per(m)} µs/msg (sys ${per(ms)}) slave ${per(s)} µs/msg (sys ${per(ss)}) (whole run incl. setup) | client ${Math.round(x.clientCpuPct)}% | load ${load}`);' \
      "$out/$label.json" "$label" "$((m1 - m0))" "$((s1 - s0))" "$((ms1 - ms0))" "$((ss1 - ss0))"
  done
done
