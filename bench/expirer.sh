#!/usr/bin/env sh
# The promotion expirer's backlog benchmark (docs/benchmarks.md, "Promotion expirer"): one --once pass
# over 100,000 expired featured promotions in batches of 1,000, against the real PostgreSQL and Kafka
# the tests start in the JVM. Built with its upstream modules from this checkout (nothing installed).
#
#   bench/expirer.sh [rows] [batch]      e.g. bench/expirer.sh 100000 1000
#
# Extra Maven flags (say -o for offline) go in MVN_FLAGS.
set -eu
cd "$(dirname "$0")/.."
rows="${1:-100000}"
batch="${2:-1000}"
# shellcheck disable=SC2086
./mvnw ${MVN_FLAGS:-} -q -B -ntp -Dspotless.apply.skip=true -pl promotion-expirer -am test \
  -Dtest=ExpirerBench -Dsurefire.failIfNoSpecifiedTests=false \
  -Dbench.rows="$rows" -Dbench.batch="$batch"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/^Mem:/ {print $2}') GiB"
cat promotion-expirer/target/bench/expirer.md
