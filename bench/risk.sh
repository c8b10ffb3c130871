#!/usr/bin/env bash
# Risk service throughput: the payment-risk topology (the service's own builder and settings:
# exactly_once_v2, changelogged stores) over a pre-filled stripe.events.v1 on the embedded broker,
# timed until its committed offsets reach the end of the input and of its repartition topic; then
# the same with at_least_once. Prints events/s, CPU per event and the signals raised.
# Usage: bench/risk.sh [events] [--eos-only]   (default 200000; results in docs/benchmarks.md)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=../scripts/java-home.sh
source scripts/java-home.sh
use_newest_jdk

EVENTS="${1:-200000}"
MODULE=payment-risk

# built with its upstream modules from this checkout (nothing installed)
# shellcheck disable=SC2086
./mvnw ${MVN_FLAGS:-} -q -B -ntp -Dspotless.apply.skip=true \
  -pl "$MODULE" -am test-compile dependency:build-classpath \
  -Dmdep.includeScope=test -Dmdep.outputFile=target/bench.classpath
CLASSPATH="$MODULE/target/classes:$MODULE/target/test-classes:$(cat "$MODULE/target/bench.classpath")"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
  "$(free -g | awk '/Mem:/ {print $2 " GiB"}') memory; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "date:    $(date -u)"
echo "java:    $(java -version 2>&1 | head -1)"
echo "command: bench/risk.sh $*"
echo
# The clients' and the broker's own INFO and WARN lines are left out; errors stay, but for the
# broker's refusals of an append as out of order, a retriable error under transactions v2
# (KAFKA-18202): those are counted on one line at the end. The whole log is kept in
# payment-risk/target/risk-bench.log.
# shellcheck disable=SC2086
java ${JAVA_OPTS:--Xmx2g -XX:+UseParallelGC} -cp "$CLASSPATH" \
  io.marketplace.payments.risk.RiskBench "$EVENTS" "${@:2}" 2>&1 |
  tee "$MODULE/target/risk-bench.log" |
  grep --line-buffered -v -E '^[0-9:.]{12} +(INFO|WARN) ' |
  awk '/ ERROR .*ReplicaManager.*Error processing append operation/ { held = $0; next }
       held != "" && /OutOfOrderSequenceException/ { retried++; held = ""; next }
       held != "" { print held; held = "" }
       { print; fflush() }
       END { if (retried) printf "broker: %d appends refused as out of order (OutOfOrderSequenceException," \
               " retriable under transactions v2: KAFKA-18202)\n", retried }'
