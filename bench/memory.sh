#!/usr/bin/env bash
# Start time and memory of `./payments up` (docs/benchmarks.md, "Suite run").
#
# Starts `./payments up` on a fresh data directory and free ports, waits for its "ready in" line, lets
# it settle, runs `./payments demo` against it (a paid listing from creation to active), and reads the
# memory of everything `up` runs: its one JVM (broker, emulator, services) and the PostgreSQL server
# processes, from /proc: RSS (which counts PostgreSQL's shared buffers once per process that touched
# them) and PSS (which shares them out, so the sum is what the machine really spends). Then stops it
# with SIGTERM (the JVM's shutdown path, as Ctrl-C in a terminal; a background job of a script ignores
# SIGINT), and starts it once more on the same data to time a restart.
#
# usage: bench/memory.sh            env: MVN_FLAGS (say -o) for the build if one is needed
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# shellcheck source=../scripts/java-home.sh
source scripts/java-home.sh
use_newest_jdk

data="$(mktemp -d "${TMPDIR:-/tmp}/payments-memory-XXXXXX")"
log="$data/up.log"
up_pid=""
cleanup() {
  if [ -n "$up_pid" ] && kill -0 "$up_pid" 2>/dev/null; then
    stop_up || true
  fi
  rm -rf "$data"
}
trap cleanup EXIT

# the same check ./payments makes, so that the timed start below never includes a build
stack="$root/local-stack/target"
if [ ! -f "$stack/local-stack.jar" ] || [ ! -d "$stack/lib" ] ||
   [ -n "$(find "$root" -path "$root/.payments" -prune -o -path '*/target' -prune -o \
           \( -path '*/src/main/*' -o -name pom.xml \) -newer "$stack/local-stack.jar" -print -quit)" ]; then
  echo "building local-stack ..." >&2
  # shellcheck disable=SC2086
  ./mvnw ${MVN_FLAGS:-} -q -B -ntp -Dmaven.test.skip=true -Dspotless.apply.skip=true -pl local-stack -am install >&2
  touch "$stack/local-stack.jar"
fi

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() { # a free port from $1 upwards
  local port=$1
  while ! port_free "$port"; do port=$((port + 1)); done
  echo "$port"
}
ports=(--kafka-port "$(free_port 29192)" --postgres-port "$(free_port 25433)"
       --stripe-port "$(free_port 22111)" --gateway-port "$(free_port 28080)"
       --api-port "$(free_port 28181)" --processor-port "$(free_port 28282)"
       --refunds-port "$(free_port 28383)" --expirer-port "$(free_port 28484)")

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
  "$(free -g | awk '/^Mem:/ {print $2}') GiB memory; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "date:    $(date -u)"
echo "command: bench/memory.sh (./payments up --data-dir <temporary> ${ports[*]}, then ./payments demo)"
echo

# starts ./payments up in the background; sets up_pid, and wall to the seconds until "ready in"
start_up() {
  : >"$log"
  local started
  started=$(date +%s.%N)
  ./payments up --data-dir "$data/data" "${ports[@]}" >"$log" 2>&1 &
  up_pid=$!
  for _ in $(seq 1 1200); do
    if grep -q '^ready in ' "$log"; then
      wall=$(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
      return 0
    fi
    kill -0 "$up_pid" 2>/dev/null || { cat "$log" >&2; return 1; }
    sleep 0.1
  done
  echo "no 'ready in' line within 120 s" >&2
  cat "$log" >&2
  return 1
}

stop_up() {
  kill -TERM "$up_pid"
  for _ in $(seq 1 600); do
    kill -0 "$up_pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$up_pid" 2>/dev/null; then
    echo "./payments up did not stop within 60 s of SIGTERM" >&2
    kill -KILL "$up_pid"
    # its PostgreSQL outlives a killed JVM: stop it too (fast shutdown)
    postgres_pids | head -1 | xargs -r kill -INT
  fi
  wait "$up_pid" 2>/dev/null || true
  up_pid=""
}

# pids of the PostgreSQL server of this data directory and its backends
postgres_pids() {
  local postmaster pid
  for pid in $(pgrep -x postgres || true); do
    if tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q -- "$data/data/postgres"; then
      postmaster=$pid
    fi
  done
  [ -n "${postmaster:-}" ] || return 0
  echo "$postmaster"
  for pid in $(pgrep -P "$postmaster" || true); do echo "$pid"; done
}

kib() { # field of /proc/<pid>/status or smaps_rollup, in KiB
  awk -v f="$2:" '$1 == f { print $2 }' "$3" 2>/dev/null || echo 0
}

memory() { # prints: jvm_rss jvm_pss jvm_peak pg_rss pg_pss pg_count (MiB)
  local jvm_rss jvm_pss jvm_peak pg_rss=0 pg_pss=0 count=0 pid
  jvm_rss=$(kib x VmRSS "/proc/$up_pid/status")
  jvm_peak=$(kib x VmHWM "/proc/$up_pid/status")
  jvm_pss=$(kib x Pss "/proc/$up_pid/smaps_rollup")
  for pid in $(postgres_pids); do
    pg_rss=$((pg_rss + $(kib x VmRSS "/proc/$pid/status")))
    pg_pss=$((pg_pss + $(kib x Pss "/proc/$pid/smaps_rollup")))
    count=$((count + 1))
  done
  echo "$((jvm_rss / 1024)) $((jvm_pss / 1024)) $((jvm_peak / 1024)) $((pg_rss / 1024)) $((pg_pss / 1024)) $count"
}

report() { # label
  local m
  read -r -a m <<<"$(memory)"
  printf '%-26s JVM RSS %5d MiB (PSS %5d, peak %5d) + PostgreSQL (%d processes) RSS %4d MiB (PSS %4d) = RSS %5d MiB, PSS %5d MiB\n' \
    "$1" "${m[0]}" "${m[1]}" "${m[2]}" "${m[5]}" "${m[3]}" "${m[4]}" "$((m[0] + m[3]))" "$((m[1] + m[4]))"
  echo "SUMMARY memory phase=$1 jvm_rss_mib=${m[0]} jvm_pss_mib=${m[1]} jvm_peak_mib=${m[2]} pg_rss_mib=${m[3]} pg_pss_mib=${m[4]} total_rss_mib=$((m[0] + m[3])) total_pss_mib=$((m[1] + m[4]))"
}

start_up
ready=$(sed -n 's/^ready in \([0-9.]*\) s.*/\1/p' "$log")
echo "first start (fresh data): 'ready in $ready s' (inside the JVM), $wall s from the command to that line"
echo "SUMMARY up first_ready_s=$ready first_wall_s=$wall"
sleep 5
report "idle, 5 s after ready"
set -a
# shellcheck disable=SC1091
. "$data/data/env"
set +a
demo_started=$(date +%s.%N)
if ./payments demo >"$data/demo.log" 2>&1; then demo=ok; else demo="failed (exit $?)"; fi
echo "./payments demo: $demo in $(awk -v s="$demo_started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }') s"
sed 's/^/    /' "$data/demo.log" | tail -8
report "after ./payments demo"
stop_up
grep -q '^stopped' "$log" && echo "stop (SIGTERM, the shutdown path of Ctrl-C): clean" || echo "stop: no "stopped" line"

start_up
ready=$(sed -n 's/^ready in \([0-9.]*\) s.*/\1/p' "$log")
echo "restart (same data): 'ready in $ready s', $wall s from the command to that line"
echo "SUMMARY up restart_ready_s=$ready restart_wall_s=$wall demo=$demo"
report "idle after restart"
stop_up
