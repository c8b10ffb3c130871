#!/usr/bin/env bash
# The payment processor before and after a change, on one machine in one sitting. Builds two commits,
# each in a temporary worktree through the reactor (nothing is installed), then runs the first pass
# of bench/processor.sh on each in turn, A B A B ..., so that whatever else the machine does falls on
# both alike. On a machine whose CPUs are shared, two runs of one build can differ by a quarter in
# CPU time (docs/benchmarks.md, "What each remaining row and index costs"): compare medians of
# several rounds, and the write-ahead log per event, which does not depend on the machine.
#
# usage: bench/processor-compare.sh BEFORE [AFTER] [--events N] [--rounds R] [--workers W]
#   BEFORE, AFTER  commits (AFTER defaults to HEAD); uncommitted changes are not measured
#   --events       events per run (default 300000)
#   --rounds       runs of each build (default 2)
#   --workers      processor workers (default 2)
# env: PG_SETTINGS, PostgreSQL settings for both, e.g. shared_buffers=2GB,max_wal_size=16GB;
#      JAVA_OPTS for the bench JVM; MVN_FLAGS (say -o, offline) for the builds
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# shellcheck source=../scripts/java-home.sh
source scripts/java-home.sh
use_newest_jdk

[ $# -ge 1 ] || { sed -n '9,16p' "$0" >&2; exit 2; }
before=$(git rev-parse --short "$1^{commit}")
shift
after=$(git rev-parse --short HEAD)
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then
  after=$(git rev-parse --short "$1^{commit}")
  shift
fi
events=300000
rounds=2
workers=2
while [ $# -gt 0 ]; do
  case "$1" in
    --events) events="$2"; shift ;;
    --rounds) rounds="$2"; shift ;;
    --workers) workers="$2"; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

out="$root/target/processor-compare"
mkdir -p "$out"
trees=$(mktemp -d)
cleanup() {
  for tree in "$trees"/*; do
    [ -d "$tree" ] && git worktree remove --force "$tree" >/dev/null 2>&1
  done
  rm -rf "$trees"
  git worktree prune
}
trap cleanup EXIT

build() { # commit -> worktree with compiled classes and target/bench.classpath
  local tree="$trees/$1"
  git worktree add --quiet --detach "$tree" "$1"
  echo "building $1 ..." >&2
  # shellcheck disable=SC2086
  (cd "$tree" && ./mvnw ${MVN_FLAGS:-} -q -B -ntp -Dspotless.apply.skip=true -pl payment-processor \
    -am test-compile dependency:build-classpath -Dmdep.includeScope=test \
    -Dmdep.outputFile="$tree/target/bench.classpath") >&2
}

run() { # commit round -> log file
  local tree="$trees/$1" module=payment-processor log="$out/$1-$2.log"
  local cp="$tree/$module/target/classes:$tree/$module/target/test-classes"
  cp="$cp:$(cat "$tree/target/bench.classpath")"
  # shellcheck disable=SC2086
  (cd "$tree" && java ${JAVA_OPTS:--Xmx2g -XX:+UseParallelGC} \
    -Dembedded.postgres.preload=pg_stat_statements \
    ${PG_SETTINGS:+-Dembedded.postgres.settings=$PG_SETTINGS} \
    -cp "$cp" io.marketplace.payments.processor.bench.ProcessorBench "$events" "$workers") \
    >"$log" 2>&1
  echo "$log"
}

median() { sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

build "$before"
build "$after"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "date:    $(date -u)"
echo "command: bench/processor-compare.sh $before $after --events $events --rounds $rounds" \
  "--workers $workers${PG_SETTINGS:+ (PG_SETTINGS=$PG_SETTINGS)}"
echo
echo "| run | commit | load at start | events/s | CPU-s | of which PostgreSQL | WAL per event |"
echo "|---|---|---|---:|---:|---:|---|"
for round in $(seq 1 "$rounds"); do
  for commit in "$before" "$after"; do
    load=$(cut -d' ' -f1 /proc/loadavg)
    log=$(run "$commit" "$round")
    rate=$(sed -n 's/.*first pass: .* s: \([0-9,]*\) events\/s.*/\1/p' "$log" | tr -d ,)
    cpu=$(sed -n 's/.*first pass used \([0-9.]*\) CPU-seconds.*/\1/p' "$log")
    pg=$(sed -n 's/.*CPU-seconds (PostgreSQL \([0-9.]*\)).*/\1/p' "$log")
    records=$(sed -n 's/.*first pass: [0-9,]* records (\([0-9.]*\) per event).*/\1/p' "$log")
    bytes=$(sed -n 's/.*write-ahead log of the first pass: .* (\([0-9,]*\) bytes per event).*/\1/p' "$log")
    wal=${records:+$records records, $bytes bytes}
    [ -n "$rate" ] && [ -n "$cpu" ] || { echo "run failed, see $log" >&2; exit 1; }
    echo "| $round | $commit | $load | $rate | $cpu | $pg | ${wal:-not reported} |"
    echo "$commit $rate $cpu $pg" >>"$out/summary-$$"
  done
done
echo
for commit in "$before" "$after"; do
  rows=$(grep "^$commit " "$out/summary-$$")
  echo "$commit: median $(echo "$rows" | cut -d' ' -f2 | median) events/s," \
    "$(echo "$rows" | cut -d' ' -f3 | median) CPU-s (PostgreSQL $(echo "$rows" | cut -d' ' -f4 | median))" \
    "over $rounds runs of $events events"
done
rm -f "$out/summary-$$"
