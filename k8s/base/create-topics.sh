#!/usr/bin/env sh
# Creates the topics of SPEC §4 once, with partitions and retention chosen deliberately (docs/deploy.md):
#   stripe.events.v1 and its DLQ keep 30 days: Stripe retries for 3 days, and operators replay and
#   reconcile after incidents found late; payments.events.v1 keeps 14 days for downstream catch-up;
#   6 partitions bound the replicas of each worker and leave room to grow.
# Every topic takes records up to MAX_MESSAGE_BYTES (2 MiB, as Topics.MAX_MESSAGE_BYTES in the code):
#   the gateway publishes webhook bodies of up to 1 MiB byte for byte, and a dead letter adds headers;
#   the broker's default (1 MiB and 12 bytes) refuses such a body that does not compress.
# --if-not-exists leaves an existing topic as it was made, so every run converges it: its configs
#   (min.insync.replicas, retention.ms, cleanup.policy, unclean.leader.election.enable=false,
#   max.message.bytes) are set again with --alter, and a topic with fewer replicas than
#   REPLICATION_FACTOR stops the run with a message naming it (Kafka cannot add replicas by config;
#   docs/deploy.md, "Topics", says how to reassign them).
# The CLI talks to Kafka as the services do: KAFKA_SECURITY_PROTOCOL and, with SASL or TLS, the
#   KAFKA_SASL_* and KAFKA_SSL_* variables of the README (in Kubernetes from payments-kafka-topics), written to
#   a --command-config file; against a secured cluster give it a principal allowed to create topics.
# Idempotent: --if-not-exists, then --alter. Runs as a Kubernetes Job, a compose init container, or by
#   hand; the principal needs Create, Describe, DescribeConfigs and AlterConfigs on the topics.
set -eu
BOOTSTRAP="${KAFKA_BOOTSTRAP_SERVERS:?KAFKA_BOOTSTRAP_SERVERS is required}"
PREFIX="${KAFKA_TOPIC_PREFIX:-}"
RF="${REPLICATION_FACTOR:-3}"
MIN_ISR="${MIN_INSYNC_REPLICAS:-2}"
PARTITIONS="${PARTITIONS:-6}"
MAX_MESSAGE_BYTES="${MAX_MESSAGE_BYTES:-2097152}"
TOPICS_BIN="${KAFKA_TOPICS_BIN:-/opt/kafka/bin/kafka-topics.sh}"
CONFIGS_BIN="${KAFKA_CONFIGS_BIN:-$(dirname "$TOPICS_BIN")/kafka-configs.sh}"
DAY_MS=86400000

# Refuse, as the services do at start (docs/security.md), any value that cannot work or that anyone
# could know, before the first call to Kafka: nothing copied from an example reaches the cluster.
# - Every setting and secret the script uses (the bootstrap servers, the topic prefix, the protocol,
#   the SASL mechanism, each option of the JAAS line, the TLS stores' paths, types and passwords) is
#   refused when it holds a placeholder (k8s/secrets.example.yaml's CHANGE_ME, "example", ...).
# - The secrets (the JAAS line's password or clientSecret, the key store's and the key's passwords)
#   are refused too when too short or too plain to be random: this principal may alter every topic's
#   retention and min.insync.replicas. The trust store's password guards public certificates only,
#   and is checked for placeholders alone.
# - The protocol and mechanism must be ones Kafka knows, a SASL protocol must come with its mechanism
#   and JAAS line (the Secret payments-kafka-topics created), and the counts must be whole numbers.
# One line, naming the variable, never its value.
refuse() {
  echo "create-topics: invalid environment variable $1: $2" >&2
  exit 2
}
# whether $1 holds a word only an example or a stand-in holds (SecretCheck's, in the code), whatever
# its case and separators
is_placeholder() {
  case "$(printf '%s' "$1" | tr -cd '[:alnum:]' | tr '[:upper:]' '[:lower:]')" in
    *changeme* | *replaceme* | *placeholder* | *example* | *dummy* | *fakesecret* | *fakekey* \
      | *notasecret* | *notsecret* | *yoursecret* | *yourkey* | *insertyour* | *secretkey* \
      | *mysecret* | *password* | *passw0rd* | *xxxxxxxx*)
      return 0
      ;;
  esac
  return 1
}
# refuse_placeholder NAME VALUE [WHAT]: VALUE (of variable NAME; WHAT says which part of it) is no
# placeholder
refuse_placeholder() {
  if is_placeholder "$2"; then
    refuse "$1" "${3:+its $3 }is a placeholder, not a real value"
  fi
}
# refuse_guessable NAME VALUE [WHAT]: as refuse_placeholder, and VALUE is random enough to be a secret
refuse_guessable() {
  refuse_placeholder "$@"
  distinct="$(printf '%s' "$2" | fold -w1 | sort -u | wc -l | tr -d ' ')"
  if [ "${#2}" -lt 16 ] || [ "$distinct" -lt 8 ]; then
    refuse "$1" "${3:+its $3 }is too short or too plain to be random"
  fi
}
case "${KAFKA_SECURITY_PROTOCOL:-PLAINTEXT}" in
  PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL) ;;
  *) refuse KAFKA_SECURITY_PROTOCOL "must be one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL" ;;
esac
case "${KAFKA_SECURITY_PROTOCOL:-PLAINTEXT}" in
  SASL_*)
    [ -n "${KAFKA_SASL_MECHANISM:-}" ] \
      || refuse KAFKA_SASL_MECHANISM "required with KAFKA_SECURITY_PROTOCOL=${KAFKA_SECURITY_PROTOCOL}"
    [ -n "${KAFKA_SASL_JAAS_CONFIG:-}" ] \
      || refuse KAFKA_SASL_JAAS_CONFIG "required with KAFKA_SECURITY_PROTOCOL=${KAFKA_SECURITY_PROTOCOL}"
    ;;
esac
case "${KAFKA_SASL_MECHANISM:-}" in
  "" | PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512 | OAUTHBEARER | GSSAPI) ;;
  *) refuse KAFKA_SASL_MECHANISM "must be one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER, GSSAPI" ;;
esac
refuse_placeholder KAFKA_BOOTSTRAP_SERVERS "$BOOTSTRAP"
refuse_placeholder KAFKA_TOPIC_PREFIX "$PREFIX"
for variable in KAFKA_SSL_TRUSTSTORE_LOCATION KAFKA_SSL_TRUSTSTORE_TYPE KAFKA_SSL_TRUSTSTORE_PASSWORD \
    KAFKA_SSL_KEYSTORE_LOCATION KAFKA_SSL_KEYSTORE_TYPE; do
  eval "value=\${$variable:-}"
  refuse_placeholder "$variable" "$value"
done
[ -z "${KAFKA_SSL_KEYSTORE_PASSWORD:-}" ] \
  || refuse_guessable KAFKA_SSL_KEYSTORE_PASSWORD "$KAFKA_SSL_KEYSTORE_PASSWORD"
[ -z "${KAFKA_SSL_KEY_PASSWORD:-}" ] || refuse_guessable KAFKA_SSL_KEY_PASSWORD "$KAFKA_SSL_KEY_PASSWORD"
for variable in REPLICATION_FACTOR MIN_INSYNC_REPLICAS PARTITIONS MAX_MESSAGE_BYTES; do
  eval "value=\${$variable:-1}"
  case "$value" in
    "" | 0* | *[!0-9]*) refuse "$variable" "must be a whole number above zero" ;;
  esac
done
# the JAAS line: its login module (the text before its first option), then each option's value
# (key=value or key="value"), the password and clientSecret as secrets
jaas="${KAFKA_SASL_JAAS_CONFIG:-}"
refuse_placeholder KAFKA_SASL_JAAS_CONFIG \
  "$(printf '%s' "$jaas" | sed -E 's/[A-Za-z_][A-Za-z0-9_.]*[[:space:]]*=.*$//')" "login module"
options="$(printf '%s\n' "$jaas" \
  | grep -oE '[A-Za-z_][A-Za-z0-9_.]*[[:space:]]*=[[:space:]]*("[^"]*"|[^[:space:];"]+)' \
  | sed -E 's/[[:space:]]*=[[:space:]]*/=/; s/="/=/; s/"$//' || true)"
while IFS= read -r option; do
  [ -n "$option" ] || continue
  key="${option%%=*}"
  value="${option#*=}"
  case "$key" in
    password | clientSecret | clientsecret) refuse_guessable KAFKA_SASL_JAAS_CONFIG "$value" "$key" ;;
    *) refuse_placeholder KAFKA_SASL_JAAS_CONFIG "$value" "$key" ;;
  esac
done <<OPTIONS
$options
OPTIONS
unset jaas options option key value distinct variable

CLIENT_CONFIG="$(mktemp)"
trap 'rm -f "$CLIENT_CONFIG"' EXIT
{
  echo "security.protocol=${KAFKA_SECURITY_PROTOCOL:-PLAINTEXT}"
  [ -z "${KAFKA_SASL_MECHANISM:-}" ] || echo "sasl.mechanism=${KAFKA_SASL_MECHANISM}"
  [ -z "${KAFKA_SASL_JAAS_CONFIG:-}" ] || echo "sasl.jaas.config=${KAFKA_SASL_JAAS_CONFIG}"
  [ -z "${KAFKA_SSL_TRUSTSTORE_LOCATION:-}" ] || echo "ssl.truststore.location=${KAFKA_SSL_TRUSTSTORE_LOCATION}"
  [ -z "${KAFKA_SSL_TRUSTSTORE_PASSWORD:-}" ] || echo "ssl.truststore.password=${KAFKA_SSL_TRUSTSTORE_PASSWORD}"
  [ -z "${KAFKA_SSL_TRUSTSTORE_TYPE:-}" ] || echo "ssl.truststore.type=${KAFKA_SSL_TRUSTSTORE_TYPE}"
  [ -z "${KAFKA_SSL_KEYSTORE_LOCATION:-}" ] || echo "ssl.keystore.location=${KAFKA_SSL_KEYSTORE_LOCATION}"
  [ -z "${KAFKA_SSL_KEYSTORE_PASSWORD:-}" ] || echo "ssl.keystore.password=${KAFKA_SSL_KEYSTORE_PASSWORD}"
  [ -z "${KAFKA_SSL_KEYSTORE_TYPE:-}" ] || echo "ssl.keystore.type=${KAFKA_SSL_KEYSTORE_TYPE}"
  [ -z "${KAFKA_SSL_KEY_PASSWORD:-}" ] || echo "ssl.key.password=${KAFKA_SSL_KEY_PASSWORD}"
} > "$CLIENT_CONFIG"

# The fewest replicas of any partition of topic $1 in kafka-topics.sh --describe output (0 if none):
# each partition line reads "Topic: <name> Partition: <n> Leader: <id> Replicas: <id>,<id>,... Isr: ...";
# only the first "Replicas:" of a line counts (a reassignment adds "Adding Replicas:" after it).
fewest_replicas() {
  awk -v topic="$1" '
    {
      name = ""; counted = 0
      for (i = 1; i < NF; i++) {
        if ($i == "Topic:" && name == "") name = $(i + 1)
        if ($i == "Replicas:" && !counted && name == topic) {
          counted = 1
          n = split($(i + 1), ids, ",")
          if (fewest == "" || n < fewest) fewest = n
        }
      }
    }
    END { print (fewest == "" ? 0 : fewest) }'
}

create() { # name retention-days
  topic="${PREFIX}$1"
  retention_ms=$(( $2 * DAY_MS ))
  echo "creating ${topic} (partitions=${PARTITIONS}, rf=${RF}, min.insync.replicas=${MIN_ISR}, retention=$2d, max.message.bytes=${MAX_MESSAGE_BYTES})"
  "$TOPICS_BIN" --bootstrap-server "$BOOTSTRAP" --command-config "$CLIENT_CONFIG" \
    --create --if-not-exists \
    --topic "$topic" --partitions "$PARTITIONS" --replication-factor "$RF" \
    --config min.insync.replicas="$MIN_ISR" \
    --config retention.ms="$retention_ms" \
    --config cleanup.policy=delete \
    --config unclean.leader.election.enable=false \
    --config max.message.bytes="$MAX_MESSAGE_BYTES"
  # the topic may have existed before: check what no config can change, then converge its configs
  # (a broker may not know a topic the controller has just created: ask again a few times)
  tries=0
  replicas=0
  while [ "$tries" -lt 10 ]; do
    described="$("$TOPICS_BIN" --bootstrap-server "$BOOTSTRAP" --command-config "$CLIENT_CONFIG" \
      --describe --topic "$topic" 2>/dev/null || true)"
    replicas="$(printf '%s\n' "$described" | fewest_replicas "$topic")"
    [ "$replicas" -gt 0 ] && break
    tries=$((tries + 1))
    sleep 2
  done
  if [ "$replicas" -eq 0 ]; then
    echo "create-topics: kafka-topics.sh --describe listed no partition of ${topic}:" \
      "cannot check its replication factor" >&2
    exit 1
  fi
  if [ "$replicas" -lt "$RF" ]; then
    echo "create-topics: ${topic} exists with ${replicas} replica(s) in a partition, fewer than REPLICATION_FACTOR=${RF};" \
      "a topic keeps the replication factor it was created with: reassign its partitions to ${RF} brokers" \
      "(kafka-reassign-partitions.sh, docs/deploy.md \"Topics\") and run this again" >&2
    exit 1
  fi
  "$CONFIGS_BIN" --bootstrap-server "$BOOTSTRAP" --command-config "$CLIENT_CONFIG" \
    --alter --entity-type topics --entity-name "$topic" \
    --add-config "min.insync.replicas=${MIN_ISR},retention.ms=${retention_ms},cleanup.policy=delete,unclean.leader.election.enable=false,max.message.bytes=${MAX_MESSAGE_BYTES}"
}

create stripe.events.v1 30
create stripe.events.v1.dlq 30
create payments.events.v1 14
create marketplace.moderation.v1 14
create marketplace.moderation.v1.dlq 30
create payments.internal.refund-commands.v1 14
create payments.internal.refund-commands.v1.dlq 30
create payments.internal.delivery-commands.v1 14
create payments.internal.delivery-commands.v1.dlq 30
create risk.signals.v1 14
create risk.signals.v1.dlq 30
echo "topics ready"
