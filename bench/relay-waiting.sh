#!/usr/bin/env sh
# The outbox relay while rows wait (docs/benchmarks.md, "The relay starting past the rows that
# wait"): rows of a refused destination at the head of the outbox, then a service committing an
# event every 20 ms and waking the relay after each commit. Prints the rows the relay's passes read
# per second, PostgreSQL's tuples fetched from outbox_events, and the fresh events' latency, against
# the real PostgreSQL and Kafka the tests start in the JVM. Built with its upstream modules from this
# checkout (nothing installed).
#
#   bench/relay-waiting.sh [waiting rows] [seconds]      e.g. bench/relay-waiting.sh 5000 20
#
# Extra Maven flags (say -o for offline) go in MVN_FLAGS.
set -eu
cd "$(dirname "$0")/.."
waiting="${1:-5000}"
seconds="${2:-20}"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/^Mem:/ {print $2}') GiB; load $(cut -d' ' -f1-3 /proc/loadavg)"
# shellcheck disable=SC2086
./mvnw ${MVN_FLAGS:-} -q -B -ntp -Dspotless.apply.skip=true -pl payment-processor -am test \
  -Dtest=OutboxWaitingBench -Dsurefire.failIfNoSpecifiedTests=false \
  -Dbench.waiting="$waiting" -Dbench.seconds="$seconds"
grep '^BENCH' payment-processor/target/surefire-reports/io.marketplace.payments.processor.batch.OutboxWaitingBench-output.txt
