#!/usr/bin/env bash
# Where the payment processor's first pass spends its CPU, below the statements: runs
# bench/processor.sh and, once the pass is under way, records
#   - the CPU of each thread of the bench JVM (workers, relay, broker, JIT compilers, GC) over the
#     pass, from /proc;
#   - a Linux perf profile of the PostgreSQL server's processes with call graphs (DWARF), summed
#     into what PostgreSQL does for the processor: parse each audit payload into jsonb, look rows
#     up in B-trees, insert index entries, check ON CONFLICT, lock rows, write the WAL.
# Needs perf (linux-tools) and permission to profile (root, or kernel.perf_event_paranoid <= 1);
# the PostgreSQL binaries of the embedded server carry their symbols.
#
# usage: bench/processor-profile.sh [events] [seconds]   (defaults 300000 and 10; output in
#        target/processor-profile/: the bench's log, perf.data, and the summaries printed here)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
command -v perf >/dev/null || { echo "perf is needed (linux-tools)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 is needed" >&2; exit 2; }

events="${1:-300000}"
seconds="${2:-10}"
out="$root/target/processor-profile"
mkdir -p "$out"
log="$out/bench.log"

bench/processor.sh "$events" > "$log" 2>&1 &
bench=$!
lags() { grep -c '  lag ' "$log" 2>/dev/null || true; }
# the pass reports its lag every 5 s: the profile starts at the second report, past the first
# seconds of the JIT compiling the hot paths
until [ "$(lags)" -ge 2 ]; do
  kill -0 "$bench" 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.5
done
jvm=$(pgrep -f "ProcessorBench $events" | head -1)
threads() { python3 "$root/bench/profile_summary.py" threads "$jvm"; }
threads > "$out/threads.before"
perf record -q -F 299 --call-graph dwarf,32768 -p "$(pgrep -d, -x postgres)" \
  -o "$out/perf.data" -- sleep "$seconds" > /dev/null 2>&1
# the JVM's threads until the pass is nearly done (the workers stop with it)
seen=$(lags)
while ! grep -q 'first pass:' "$log"; do
  now=$(lags)
  if [ "$now" != "$seen" ]; then threads > "$out/threads.after"; seen=$now; fi
  sleep 0.2
done
wait "$bench"
grep -E '^\[bench\] (first pass|write-ahead)' "$log"
echo
echo "JVM threads, CPU over the pass (from the second lag report to the last):"
python3 "$root/bench/profile_summary.py" thread-diff "$out/threads.before" "$out/threads.after"
echo
echo "PostgreSQL, ${seconds} s of the pass (share of PostgreSQL's samples whose stack holds it):"
perf script -i "$out/perf.data" -F comm,ip,sym 2> /dev/null > "$out/perf.txt"
python3 "$root/bench/profile_summary.py" postgres "$out/perf.txt"
