# Sourced by ./payments: the addresses and credentials of a running ./payments up, which it wrote
# to .payments/env, for the commands other than up. The file stays after up stops, so it is read
# only when the environment names no system itself: beside an operator's environment for another
# system, a variable the operator left out (one with a default, or forgotten) would be filled from
# the local stack, and one command would talk to two systems (production's database with the local
# broker, a live Stripe key sent to the local emulator) instead of naming what is missing.
STACK_ENV_SYSTEM_VARIABLES=(KAFKA_BOOTSTRAP_SERVERS DATABASE_URL DATABASE_USER DATABASE_PASSWORD
  STRIPE_API_BASE STRIPE_SECRET_KEY AUTH_JWT_SECRET)

load_stack_env() {
  local file=$1 key value
  local named=()
  [ -f "$file" ] || return 0
  for key in "${STACK_ENV_SYSTEM_VARIABLES[@]}"; do
    [ -n "${!key:-}" ] && named+=("$key")
  done
  if [ "${#named[@]}" -gt 0 ]; then
    for key in "${STACK_ENV_SYSTEM_VARIABLES[@]}"; do
      if [ -z "${!key:-}" ] && grep -qE "^$key=" "$file"; then
        echo "payments: $file (a local ./payments up) not read: the environment sets" \
          "${named[*]}, so it alone says which system to use" >&2
        break
      fi
    done
    return 0
  fi
  while IFS='=' read -r key value; do
    [ -n "$key" ] && [ -z "${!key:-}" ] && export "$key=$value"
  done < <(grep -E '^[A-Z_]+=' "$file")
  # The file outlives its up: from a stopped one, its addresses lead nowhere ("Kafka did not
  # answer"), or to another up on the same ports whose keys differ (a token refused with 401).
  # up.lock beside it names the pid of the last up on that directory.
  local pid
  pid=$(head -n 1 "$(dirname "$file")/up.lock" 2>/dev/null || true)
  if ! { [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }; then
    echo "payments: $file is of a ./payments up that is not running now: start it (or, for" \
      "an up --data-dir D, set -a; . D/env; set +a first)" >&2
  fi
  return 0
}
