#!/usr/bin/env bash
# Payment processor throughput: events applied per second from a pre-filled stripe.events.v1, then
# a replay of the whole topic (all duplicates). Runs an embedded Kafka broker and PostgreSQL.
# Usage: bench/processor.sh [events] [workers]   (defaults 100000 and 2; results in docs/benchmarks.md)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=../scripts/java-home.sh
source scripts/java-home.sh
use_newest_jdk

EVENTS="${1:-100000}"
WORKERS="${2:-2}"
MODULE=payment-processor

# built with its upstream modules from this checkout (nothing installed): an installed snapshot of
# common, say, would be measured in place of the schema and code checked out here
# shellcheck disable=SC2086
./mvnw ${MVN_FLAGS:-} -q -B -ntp -Dspotless.apply.skip=true -pl "$MODULE" -am \
  test-compile dependency:build-classpath \
  -Dmdep.includeScope=test -Dmdep.outputFile=target/bench.classpath
CLASSPATH="$MODULE/target/classes:$MODULE/target/test-classes:$(cat "$MODULE/target/bench.classpath")"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
  "$(free -g | awk '/Mem:/ {print $2 " GiB"}') memory"
# pg_stat_statements: the bench ends with what each PostgreSQL statement cost
java ${JAVA_OPTS:--Xmx2g -XX:+UseParallelGC} -Dembedded.postgres.preload=pg_stat_statements \
  -cp "$CLASSPATH" \
  io.marketplace.payments.processor.bench.ProcessorBench "$EVENTS" "$WORKERS"
