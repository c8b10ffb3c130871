#!/usr/bin/env bash
# End-to-end latency, webhook to active listing, at fixed rates (docs/benchmarks.md, "Suite run").
#
# One JVM runs the whole system as `./payments up` does (embedded KRaft broker and PostgreSQL, the
# Stripe emulator, gateway, API and workers; same GC and logging), seeds pending listings with their
# payments rows, and sends each one's signed payment_intent.succeeded to the gateway, open loop, at
# each rate for --seconds, over at most --connections connections. Each rate starts with --step
# seconds (default 10), sent just before the measured ones and reported on a row of their own:
# the step up from the previous rate, which the shared CPU takes seconds to absorb. Per event it
# measures, from the moment it was due to be sent: until the transaction that made the listing active committed (as
# PostgreSQL records it with track_commit_timestamp, read after each phase rather than polled),
# until listing.activated is on payments.events.v1, and until the gateway answered 200. Runs
# system-tests' EndToEndLatencyBench.
#
# usage: bench/e2e.sh [--rates 100,500,1000] [--seconds 20] [--warmup 60] [--warmup-rate 300]
#                     [--step 10] [--connections 128]
# env:   JAVA_OPTS to change the JVM's flags; SKIP_BUILD=1 to reuse a build; MVN_FLAGS (say -o)
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
rm -rf "$work/classes"
cp -r system-tests/target/test-classes "$work/classes"
cp="$work/classes:$(cat "$work/classpath.txt")"

# ./payments up's flags (heap a little larger for the bench's own bookkeeping), and its logging:
# the production logback.xml (JSON, asynchronous), not the tests' console one.
opts=${JAVA_OPTS:--XX:+UseSerialGC -Xms256m -Xmx1g -XX:MaxMetaspaceSize=256m -Xss512k}
[ "$JDK_MAJOR" -ge 24 ] && opts="$opts --sun-misc-unsafe-memory-access=allow"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
  "$(free -g | awk '/^Mem:/ {print $2}') GiB memory; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "date:    $(date -u)"
echo "java:    $(java -version 2>&1 | head -1)"
echo "command: bench/e2e.sh $*  (JVM: $opts)"
echo

log="$work/e2e-stack.log"
# shellcheck disable=SC2086
java $opts -Dlogback.configurationFile=logback.xml -cp "$cp" \
  io.marketplace.payments.system.bench.EndToEndLatencyBench --out "$work" "$@" \
  | tee "$log" | grep -v '^{'
echo
echo "(the stack's own JSON log: system-tests/target/bench/e2e-stack.log)"
