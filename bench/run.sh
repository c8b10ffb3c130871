#!/usr/bin/env bash
# The benchmark suite: `./payments bench` runs this. Runs every benchmark in order, keeps each one's
# output under target/bench-suite/, and regenerates the "Suite run" section of docs/benchmarks.md
# with the numbers against their targets, the machine, the date and each command.
#
#   gateway    bench/gateway.sh     webhook gateway throughput and latency (fixed rates, then max)
#   e2e        bench/e2e.sh         webhook -> active listing latency at fixed rates, whole system
#   processor  bench/processor.sh   payment processor apply rate, then a replay of the whole topic
#   expirer    bench/expirer.sh     promotion expirer backlog pass
#   risk       bench/risk.sh        risk service topology over a full topic, exactly_once_v2 and at_least_once
#   memory     bench/memory.sh      ./payments up: ready time, memory with the demo, restart
#   fleet      bench/fleet.sh       three payment processors, one killed with SIGKILL every 10 s
#
# usage: bench/run.sh [--quick] [--only gateway,e2e,processor,expirer,risk,memory,fleet] [--events N]
#   --quick    shorter phases, 100,000 events for the processor (the replay target is then
#              extrapolated to 1,000,000, and labelled so), 50,000 for the risk service, and 40 s of
#              the fleet with static members only
#   --only     run some benchmarks; the others keep their last output (each shows its own date)
#   --events   events for the processor run and its replay (default 1,000,000)
#   --report   run nothing: rewrite the section from the outputs of the last runs
# env: MVN_FLAGS (say -o, offline) for the builds
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# shellcheck source=../scripts/java-home.sh
source scripts/java-home.sh
use_newest_jdk
export MVN_FLAGS="${MVN_FLAGS:-}"

quick=0
report_only=0
only="gateway,e2e,processor,expirer,risk,memory,fleet"
events=1000000
risk_events=200000
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1; events=100000; risk_events=50000 ;;
    --only) only="$2"; shift ;;
    --events) events="$2"; shift ;;
    --report) report_only=1 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

out="$root/target/bench-suite"
mkdir -p "$out"

machine() {
  echo "$(nproc) cores (\`nproc\`), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
    "$(free -g | awk '/^Mem:/ {print $2}') GiB memory; $(java -version 2>&1 | head -1)"
}

# ---- build once, so that each benchmark measures and does not compile

[ "$report_only" = 1 ] && only=""
if [ "$report_only" = 0 ]; then
echo "== building the modules (install, tests not compiled) ..."
# shellcheck disable=SC2086
./mvnw $MVN_FLAGS -q -B -ntp -Dmaven.test.skip=true -Dspotless.apply.skip=true \
  -pl common,embedded,stripe-emulator,test-support,webhook-gateway,checkout-api,payment-processor,refund-worker,promotion-expirer,ops-cli,local-stack \
  install || { echo "the build failed; nothing was measured" >&2; exit 1; }
fi

# ---- run

# run NAME COMMAND...: runs one benchmark, keeping its output, date, load and exit status
run() {
  local name=$1
  shift
  case ",$only," in *",$name,"*) ;; *) return 0 ;; esac
  echo
  echo "== $name: $*"
  local started status
  started=$(date +%s)
  {
    echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "command=$*"
    echo "load_before=$(cut -d' ' -f1-3 /proc/loadavg)"
  } >"$out/$name.meta"
  "$@" 2>&1 | grep -v -e '^WARNING: ' -e '^{' | tee "$out/$name.out"
  status=${PIPESTATUS[0]}
  {
    echo "load_after=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "seconds=$(($(date +%s) - started))"
    echo "status=$status"
  } >>"$out/$name.meta"
  [ "$status" = 0 ] || echo "== $name failed (exit $status); going on with the others" >&2
}

if [ "$quick" = 1 ]; then
  run gateway bench/gateway.sh --rates 2000,5000,8000,12000 --seconds 10 --warmup 10
  run e2e bench/e2e.sh --rates 100,500,1000 --seconds 10 --warmup 20
else
  run gateway bench/gateway.sh
  run e2e bench/e2e.sh --rates 100,500,1000 --seconds 20 --warmup 60
fi
run processor bench/processor.sh "$events"
run expirer bench/expirer.sh
run risk bench/risk.sh "$risk_events"
run memory bench/memory.sh
if [ "$quick" = 1 ]; then
  run fleet bench/fleet.sh --seconds 40 --variants static
else
  run fleet bench/fleet.sh
fi

# ---- report

meta() { sed -n "s/^$2=//p" "$out/$1.meta" 2>/dev/null | head -1; }
has() { [ -s "$out/$1.out" ] && [ "$(meta "$1" status)" = 0 ]; }
num() { tr -d ',' <<<"$1"; }
thousands() { sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<<"$1"; }
verdict() { # measured target smaller-is-better (1: below the target, 2: at most the target)
  awk -v m="$1" -v t="$2" -v lower="$3" 'BEGIN {
    if (m == "" || m == "-") { print "not measured"; exit }
    ok = lower == 2 ? m + 0 <= t + 0 : lower ? m + 0 < t + 0 : m + 0 >= t + 0
    print ok ? "**met**" : "**not met**" }'
}

# gateway: the best achieved/s of any phase, and the p99 of that phase
gateway_best=""
gateway_p99=""
gateway_phase=""
if has gateway; then
  read -r gateway_best gateway_p99 gateway_phase < <(awk -F'|' '
    /^\| (fixed|max)/ { rate = $4 + 0; if (rate > best) { best = rate; p99 = $8 + 0; phase = $2 } }
    END { gsub(/^ +| +$/, "", phase); gsub(/ /, "_", phase); if (best) printf "%.0f %.2f %s\n", best, p99, phase }' "$out/gateway.out")
fi

# end to end: the 1,000/s phase
e2e_line=""
has e2e && e2e_line=$(grep '^SUMMARY e2e rate=1000 ' "$out/e2e.out" | tail -1)
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }
e2e_p99=$(field "$e2e_line" active_p99_ms)
e2e_p50=$(field "$e2e_line" active_p50_ms)

# processor: first pass and replay
apply_rate=""
replay_seconds=""
replay_events=""
if has processor; then
  apply_rate=$(sed -n 's/.*first pass: .* s: \([0-9,]*\) events\/s.*/\1/p' "$out/processor.out" | tail -1)
  read -r replay_events replay_seconds < <(sed -n \
    's/^\[bench\] replay: \([0-9,]*\) events re-read in \([0-9.]*\) s.*/\1 \2/p' "$out/processor.out" | tail -1)
  apply_rate=$(num "$apply_rate")
  replay_events=$(num "${replay_events:-}")
fi
replay_million=""
replay_label="not measured"
if [ -n "$replay_seconds" ] && [ -n "$replay_events" ]; then
  replay_million=$(awk -v s="$replay_seconds" -v n="$replay_events" 'BEGIN { printf "%.0f", s * 1000000 / n }')
  if [ "$replay_events" -ge 1000000 ]; then
    replay_label="$(awk -v s="$replay_seconds" 'BEGIN { printf "%.0f s (%.1f min)", s, s / 60 }') for $(thousands "$replay_events") events"
  else
    replay_label="**extrapolated**: $(thousands "$replay_events") events in $replay_seconds s, so about $replay_million s ($(awk -v s="$replay_million" 'BEGIN { printf "%.1f", s / 60 }') min) for 1,000,000 if the rate held"
  fi
fi

# ./payments up
up_line=""
mem_line=""
if has memory; then
  up_line=$(grep '^SUMMARY up first_ready_s=' "$out/memory.out" | tail -1)
  restart_line=$(grep '^SUMMARY up restart_ready_s=' "$out/memory.out" | tail -1)
  mem_line=$(grep '^SUMMARY memory phase=after ./payments demo' "$out/memory.out" | tail -1)
fi
ready=$(field "$up_line" first_ready_s)
ready_wall=$(field "$up_line" first_wall_s)
restart=$(field "${restart_line:-}" restart_ready_s)
rss=$(field "$mem_line" total_rss_mib)
pss=$(field "$mem_line" total_pss_mib)
jvm_rss=$(field "$mem_line" jvm_rss_mib)
pg_rss=$(field "$mem_line" pg_rss_mib)

# risk: the exactly_once_v2 run (the service's setting), and at_least_once beside it
risk_rate=""
risk_line=""
risk_alos=""
if has risk; then
  risk_line=$(grep '^exactly_once_v2: ' "$out/risk.out" | tail -1)
  risk_rate=$(sed -n 's/.* output (.*), \([0-9]*\) events\/s (.*/\1/p' <<<"$risk_line")
  risk_alos=$(grep '^at_least_once: ' "$out/risk.out" | tail -1 | sed -n 's/.* output (.*), \([0-9]*\) events\/s (.*/\1/p')
fi
risk_running=$(sed -n 's/.* events\/s (\([0-9]*\) events\/s once RUNNING).*/\1/p' <<<"$risk_line")
risk_cpu=$(sed -n 's/.*: \([0-9]*\) CPU-us per event.*/\1/p' <<<"$risk_line")
risk_signals=$(sed -n 's/.* signals {\([^}]*\)}, expected.*/\1/p' <<<"$risk_line")
risk_events_run=$(grep -m1 '^events: ' "$out/risk.out" 2>/dev/null | sed -n 's/^events: \([0-9]*\).*/\1/p')

# fleet: the static-membership variant (the one Kubernetes runs: KAFKA_GROUP_INSTANCE_ID), and the
# dynamic one beside it when it ran
fleet_static=""
fleet_dynamic=""
if has fleet; then
  fleet_static=$(grep '^SUMMARY fleet membership=static ' "$out/fleet.out" | tail -1)
  fleet_dynamic=$(grep '^SUMMARY fleet membership=dynamic ' "$out/fleet.out" | tail -1)
fi
seconds_of() { [ -n "$1" ] && awk -v ms="$1" 'BEGIN { printf "%.1f", ms / 1000 }'; }
fleet_max=$(seconds_of "$(field "$fleet_static" active_max_ms)")
fleet_label=""
if [ -n "$fleet_max" ]; then
  fleet_label="max ${fleet_max} s (p50 $(seconds_of "$(field "$fleet_static" active_p50_ms)") s, p99 $(seconds_of "$(field "$fleet_static" active_p99_ms)") s), $(field "$fleet_static" applied) of $(field "$fleet_static" sent) applied, exactly once: $(field "$fleet_static" exactly_once)"
  [ -n "$fleet_dynamic" ] && fleet_label="$fleet_label; without static membership max $(seconds_of "$(field "$fleet_dynamic" active_max_ms)") s"
fi
fleet_verdict=$(verdict "$fleet_max" 30 2)
# a payment lost or applied twice fails the row whatever the latency
[ -n "$fleet_max" ] && [ "$(field "$fleet_static" exactly_once)" != true ] &&
  fleet_verdict="**not met** (not every payment applied exactly once)"

show() { [ -n "$1" ] && echo "$2" || echo "not measured (see its output)"; }

section="$out/section.md"
{
  echo "## Suite run (\`./payments bench\`)"
  echo
  echo "<!-- bench/run.sh writes this section (up to the next one); edit the script, not the text -->"
  echo "Generated by \`./payments bench\` (= \`bench/run.sh\`) on $(date -u '+%Y-%m-%d %H:%M UTC')."
  echo "Machine: $(machine)."
  echo "The machine is shared with other builds and tests: the load average (runnable processes, on"
  echo "2 cores) is given with each run, and every number below was measured under it."
  echo
  echo "| what | target | measured | |"
  echo "|---|---|---|---|"
  echo "| webhook gateway throughput (acknowledged by Kafka, \`acks=all\`) | ≥ 12,000 events/s |" \
    "$(show "$gateway_best" "$(thousands "${gateway_best:-0}") events/s (phase ${gateway_phase//_/ }, p99 ${gateway_p99} ms)")" \
    "| $(verdict "$gateway_best" 12000 0) |"
  echo "| end to end at 1,000 events/s: webhook sent → listing active in PostgreSQL | p99 < 100 ms |" \
    "$(show "$e2e_p99" "p50 ${e2e_p50} ms, p99 ${e2e_p99} ms")" "| $(verdict "$e2e_p99" 100 1) |"
  echo "| payment processor apply rate (first pass over a full topic) | ≥ 5,000 events/s |" \
    "$(show "$apply_rate" "$(thousands "${apply_rate:-0}") events/s")" "| $(verdict "$apply_rate" 5000 0) |"
  echo "| replay of 1,000,000 events (all duplicates) | < 5 min |" "$replay_label" \
    "| $(verdict "$replay_million" 300 1)$([ -n "$replay_events" ] && [ "${replay_events:-0}" -lt 1000000 ] && echo " (extrapolated)") |"
  echo "| risk service keeps up with the gateway's sustained rate (\`exactly_once_v2\`, to committed signals, once running) | ≥ 10,000 events/s |" \
    "$(show "$risk_running" "$(thousands "${risk_running:-0}") events/s over $(thousands "${risk_events_run:-0}") events ($(thousands "${risk_rate:-0}")/s with the start-up), ${risk_cpu} CPU-µs per event (broker included); \`at_least_once\` $(thousands "${risk_alos:-0}")/s with the start-up; signals ${risk_signals//=/ }")" \
    "| $(verdict "$risk_running" 10000 0) |"
  echo "| \`./payments up\` ready (fresh data) | < 20 s |" \
    "$(show "$ready" "ready in ${ready} s (${ready_wall} s from the command); restart on the same data ${restart} s")" \
    "| $(verdict "$ready" 20 1) |"
  echo "| \`./payments up\` resident memory after the demo (JVM + PostgreSQL) | < 1.5 GB |" \
    "$(show "$rss" "RSS ${rss} MiB (JVM ${jvm_rss}, PostgreSQL ${pg_rss}); PSS ${pss} MiB")" \
    "| $(verdict "$rss" 1536 1) |"
  echo "| three payment processors, one killed with SIGKILL and restarted (same \`KAFKA_GROUP_INSTANCE_ID\`) every 10 s: payment published → listing active | max ≤ 30 s |" \
    "$(show "$fleet_max" "$fleet_label")" "| $fleet_verdict |"
  echo
  for name in gateway e2e processor expirer risk memory fleet; do
    [ -f "$out/$name.meta" ] || continue
    echo "### $name"
    echo
    echo "\`$(meta "$name" command)\` on $(meta "$name" date): exit $(meta "$name" status)," \
      "$(meta "$name" seconds) s; load average $(meta "$name" load_before) before," \
      "$(meta "$name" load_after) after."
    echo
    echo '```text'
    # the progress lines of long runs are left out; everything measured stays
    grep -v -e '^\[bench\]   lag ' -e '^building ' "$out/$name.out" | sed -e 's/[[:space:]]*$//' | cat -s
    echo '```'
    echo
  done
} >"$section"

# replace the generated section of docs/benchmarks.md (from its heading to the next "## "), or put
# it first, after the introduction
doc="docs/benchmarks.md"
awk -v section="$section" '
  function emit() { while ((getline line < section) > 0) print line; close(section); done = 1 }
  /^## Suite run / { emit(); skipping = 1; next }
  skipping && /^## / { skipping = 0 }
  skipping { next }
  !done && /^## / { emit(); print "" }
  { print }
  END { if (!done) { print ""; emit() } }
' "$doc" >"$doc.tmp" && mv "$doc.tmp" "$doc"
echo
echo "== wrote the suite section of $doc"
cat "$section" | sed -n '1,20p'
