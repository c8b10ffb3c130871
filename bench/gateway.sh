#!/usr/bin/env bash
# Benchmark of the webhook gateway (results: docs/benchmarks.md, "Webhook gateway").
#
# One JVM runs a real Kafka broker (embedded KRaft, on disk) and the gateway; a second JVM sends
# signed Stripe-shaped events (2-4 KB) over loopback at fixed rates (open loop), then at fixed
# concurrency (closed loop: each of N connections sends its next request when the previous answer
# arrived), then as fast as it can, and prints throughput and latency per phase. Every 200 counted was acknowledged by the broker
# (acks=all); the run ends by comparing the 200s with what the topic gained.
#
# usage: bench/gateway.sh [--rates 2000,5000,8000,10000,12000,14000] [--seconds 20] [--warmup 90]
#                         [--warmup-rate 2000] [--connections 256] [--concurrency 32]
#                         [--max-connections 128]
# env:   SERVER_JAVA_OPTS, LOAD_JAVA_OPTS to change the JVMs' flags; SKIP_BUILD=1 to reuse a build
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# shellcheck source=../scripts/java-home.sh
source scripts/java-home.sh
use_newest_jdk

work="$root/webhook-gateway/target/bench"
mkdir -p "$work"
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  echo "building webhook-gateway test classes..." >&2
  # -am: the modules it depends on come from this checkout, not from an installed snapshot
  # shellcheck disable=SC2086
  ./mvnw ${MVN_FLAGS:-} -q -B -ntp -Dspotless.apply.skip=true -pl webhook-gateway -am \
    test-compile dependency:build-classpath \
    -Dmdep.includeScope=test -Dmdep.outputFile="$work/classpath.txt"
fi
cp="webhook-gateway/target/test-classes:webhook-gateway/target/classes:$(cat "$work/classpath.txt")"
main=io.marketplace.payments.gateway.bench.GatewayBench

server_opts=${SERVER_JAVA_OPTS:--Xms1g -Xmx1g -XX:+UseParallelGC -XX:+AlwaysPreTouch}
load_opts=${LOAD_JAVA_OPTS:--Xms512m -Xmx512m -XX:+UseParallelGC}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
  "$(free -g | awk '/^Mem:/ {print $2}') GiB memory; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "date:    $(date -u)"
echo "java:    $(java -version 2>&1 | head -1)"
echo "command: bench/gateway.sh $*"
echo

log="$work/server.log"
fifo="$work/server.stdin"
rm -f "$fifo" "$log"
mkfifo "$fifo"
# shellcheck disable=SC2086
java $server_opts -cp "$cp" "$main" server <"$fifo" >"$log" 2>&1 &
server=$!
exec 3>"$fifo" # the server runs until this closes
stop_server() {
  exec 3>&- || true
  wait "$server" 2>/dev/null || true
  rm -f "$fifo"
}
trap stop_server EXIT

for _ in $(seq 1 240); do
  grep -q '^READY ' "$log" && break
  kill -0 "$server" 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.5
done
read -r _ url bootstrap < <(grep '^READY ' "$log")
echo "gateway at $url, broker at $bootstrap (server JVM pid $server: $server_opts)"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ticks_before=$(cpu_ticks "$server")
started=$(date +%s.%N)
# shellcheck disable=SC2086
java $load_opts -cp "$cp" "$main" load --url "$url" --bootstrap "$bootstrap" --server-pid "$server" "$@"
ended=$(date +%s.%N)
ticks_after=$(cpu_ticks "$server")
awk -v t="$((ticks_after - ticks_before))" -v hz="$(getconf CLK_TCK)" -v s="$started" -v e="$ended" \
  'BEGIN { printf "server JVM (gateway + broker) CPU over the whole load run: %.0f%% of one core on average\n", 100 * t / hz / (e - s) }'
