#!/usr/bin/env bash
# A fleet of three payment processors losing a replica every 10 s (docs/benchmarks.md, "fleet").
#
# The Kafka broker and PostgreSQL run in processes of their own, as in the crash suite; three
# payment-processor replicas run as OS processes (`java -cp ... Main`, configured by their
# environment) in one consumer group. Payments arrive at a steady rate (pending listings seeded as
# checkout-api leaves them, then each one's payment_intent.succeeded published to stripe.events.v1
# by the webhook gateway's own publisher). Every --kill-every seconds the next replica is killed
# with SIGKILL and started again at once, as Kubernetes restarts a pod's container: with the same
# KAFKA_GROUP_INSTANCE_ID (static membership), then, as a second variant, with none (dynamic
# members). Reports, per variant, publish -> listing active p50/p99/max, the payments applied once
# against those sent, and per kill how long the killed member's partitions waited. Runs
# system-tests' FleetBench; every process's log is under system-tests/target/bench/fleet/.
#
# usage: bench/fleet.sh [--rate 8] [--seconds 60] [--kill-every 10] [--replicas 3]
#                       [--variants static,dynamic]
# env:   JAVA_OPTS to change the bench JVM's flags; SKIP_BUILD=1 to reuse a build; MVN_FLAGS (say -o)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# shellcheck source=../scripts/java-home.sh
source scripts/java-home.sh
use_newest_jdk

work="$root/system-tests/target/bench"
mkdir -p "$work"
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  echo "building system-tests test classes..." >&2
  # shellcheck disable=SC2086
  ./mvnw ${MVN_FLAGS:-} -q -B -ntp -Dspotless.apply.skip=true -pl system-tests \
    test-compile dependency:build-classpath \
    -Dmdep.includeScope=test -Dmdep.outputFile="$work/classpath.txt"
fi
# a copy of the classes: other builds of system-tests may rewrite target/test-classes meanwhile
rm -rf "$work/fleet-classes"
cp -r system-tests/target/test-classes "$work/fleet-classes"
cp="$work/fleet-classes:$(cat "$work/classpath.txt")"

# the bench's own JVM only publishes and watches; each replica gets the crash suite's flags
opts=${JAVA_OPTS:--XX:+UseSerialGC -Xms64m -Xmx256m -XX:TieredStopAtLevel=1}
[ "$JDK_MAJOR" -ge 24 ] && opts="$opts --sun-misc-unsafe-memory-access=allow"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
  "$(free -g | awk '/^Mem:/ {print $2}') GiB memory; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "date:    $(date -u)"
echo "java:    $(java -version 2>&1 | head -1)"
echo "command: bench/fleet.sh $*  (bench JVM: $opts)"
echo

# shellcheck disable=SC2086
java $opts -Duser.timezone=UTC -cp "$cp" \
  io.marketplace.payments.system.bench.FleetBench --out "$work" "$@"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
