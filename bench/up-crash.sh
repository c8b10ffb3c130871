#!/usr/bin/env bash
# kill -9 of everything `./payments up` started, in the middle of payments, then `./payments up` again:
# every PaymentIntent that succeeded at the Stripe emulator must end with its listing active, once,
# with no manual step. Prints what it found and exits non-zero on any payment lost or doubled.
#
#   bench/up-crash.sh [PAYMENTS] [KILL_AFTER]   # defaults: 40 payments, kill after the 25th confirm
#
# Runs on loopback ports 1xxxx (not the defaults, so a running `./payments up` is left alone), with
# its data in a temporary directory that is deleted at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
PAYMENTS=${1:-40}
KILL_AFTER=${2:-25}
DATA=$(mktemp -d -t payments-up-crash.XXXXXX)
PORTS=(--kafka-port 19092 --postgres-port 15432 --stripe-port 22111 --gateway-port 18080
  --api-port 18081 --processor-port 18082 --refunds-port 18083 --expirer-port 18084
  --gateway-admin-port 18085 --risk-port 18086 --api-admin-port 18087)
UP_PID=""

cleanup() {
  [ -n "$UP_PID" ] && kill "$UP_PID" 2>/dev/null && wait "$UP_PID" 2>/dev/null || true
  pkill -9 -f -- "$DATA" 2>/dev/null || true
  rm -rf "$DATA"
}
trap cleanup EXIT

up() {
  ./payments up --data-dir "$DATA" "${PORTS[@]}" >>"$DATA/up.log" 2>&1 &
  UP_PID=$!
  for _ in $(seq 1 240); do
    grep -q '^ready in' "$DATA/up.log" 2>/dev/null && [ "$(grep -c '^ready in' "$DATA/up.log")" -ge "$1" ] && return 0
    kill -0 "$UP_PID" 2>/dev/null || { tail -20 "$DATA/up.log"; return 1; }
    sleep 0.5
  done
  echo "the stack did not become ready" >&2
  return 1
}

echo "starting the stack in $DATA ..."
up 1
set -a; . "$DATA/env"; set +a

echo "creating $PAYMENTS listings in paid categories and their PaymentIntents ..."
# the API lets one user start 10 payments a minute: a user per 8 listings
declare -a LISTINGS INTENTS
TOKEN=""
for i in $(seq 0 $((PAYMENTS - 1))); do
  if [ $((i % 8)) -eq 0 ]; then
    USER_ID=$(uuidgen)
    TOKEN=$(./payments token --user "$USER_ID")
  fi
  LISTING=$(curl -sf -X POST "$API_URL/api/marketplace/listings" -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' -d "{\"title\":\"crash $i\",\"categorySlug\":\"housing\"}" | jq -r .id)
  PI=$(curl -sf -X POST "$API_URL/api/marketplace/listings/$LISTING/checkout" \
    -H "Authorization: Bearer $TOKEN" | jq -r .paymentIntentId)
  LISTINGS[i]=$LISTING
  INTENTS[i]=$PI
done

echo "confirming them at Stripe; kill -9 of the stack after the ${KILL_AFTER}th ..."
for i in $(seq 0 $((PAYMENTS - 1))); do
  curl -sf -u "$STRIPE_SECRET_KEY:" "$STRIPE_API_BASE/v1/payment_intents/${INTENTS[i]}/confirm" \
    -d payment_method=pm_card_visa >/dev/null
  if [ "$i" -eq $((KILL_AFTER - 1)) ]; then
    # everything up started: its JVM and PostgreSQL's processes, all at once
    pkill -9 -f -- "$DATA" || true
    kill -9 "$UP_PID" 2>/dev/null || true
    wait "$UP_PID" 2>/dev/null || true
    UP_PID=""
    echo "killed after $((i + 1)) confirms"
    break
  fi
done
CONFIRMED=$((KILL_AFTER < PAYMENTS ? KILL_AFTER : PAYMENTS))

echo "starting the stack again ..."
started=$(date +%s)
up 2
set -a; . "$DATA/env"; set +a
ADMIN=$(./payments token --user "$(uuidgen)" --role super_admin)

succeeded=0; active=0; missing=()
deadline=$(( $(date +%s) + 120 ))
while :; do
  succeeded=0; active=0; missing=()
  for i in $(seq 0 $((CONFIRMED - 1))); do
    status=$(curl -sf -u "$STRIPE_SECRET_KEY:" "$STRIPE_API_BASE/v1/payment_intents/${INTENTS[i]}" | jq -r .status)
    [ "$status" = succeeded ] || continue
    succeeded=$((succeeded + 1))
    listing=$(curl -s "$API_URL/api/marketplace/listings/${LISTINGS[i]}" -H "Authorization: Bearer $ADMIN" | jq -r .status)
    if [ "$listing" = active ]; then active=$((active + 1)); else missing+=("${LISTINGS[i]}:$listing"); fi
  done
  [ "$active" -eq "$succeeded" ] && break
  [ "$(date +%s)" -ge "$deadline" ] && break
  sleep 2
done
took=$(( $(date +%s) - started ))
payments=$(PGPASSWORD="$DATABASE_PASSWORD" psql "$(echo "$DATABASE_URL" | sed 's/^jdbc://')" -U "$DATABASE_USER" -tAc \
  "SELECT count(*) FROM payments WHERE status = 'succeeded'" 2>/dev/null || echo "?")
activations=$(PGPASSWORD="$DATABASE_PASSWORD" psql "$(echo "$DATABASE_URL" | sed 's/^jdbc://')" -U "$DATABASE_USER" -tAc \
  "SELECT count(*) FROM webhook_events WHERE event_type = 'payment_intent.succeeded'" 2>/dev/null || echo "?")
echo "confirmed before the kill: $CONFIRMED; succeeded at Stripe: $succeeded; listings active: $active" \
  "(${took} s after the restart began); payments succeeded in PostgreSQL: $payments;" \
  "payment_intent.succeeded events audited: $activations"
if [ "${#missing[@]}" -gt 0 ]; then
  echo "NOT ACTIVE: ${missing[*]}"
  exit 1
fi
