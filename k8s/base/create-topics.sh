#!/usr/bin/env sh
# Creates the topics of SPEC §4 once, with partitions and retention chosen deliberately (docs/deploy.md):
#   stripe.events.v1 and its DLQ keep 30 days: Stripe retries for 3 days, and operators replay and
#   reconcile after incidents found late; payments.events.v1 keeps 14 days for downstream catch-up;
#   6 partitions bound the replicas of each worker and leave room to grow.
# Every topic takes records up to MAX_MESSAGE_BYTES (2 MiB, as Topics.MAX_MESSAGE_BYTES in the code):
#   the gateway publishes webhook bodies of up to 1 MiB byte for byte, and a dead letter adds headers;
#   the broker's default (1 MiB and 12 bytes) refuses such a body that does not compress. That one
#   setting is also applied to topics that already exist, so a cluster set up before it converges.
# The CLI talks to Kafka as the services do: KAFKA_SECURITY_PROTOCOL and, with SASL or TLS, the
#   KAFKA_SASL_* and KAFKA_SSL_* variables of the README (in Kubernetes from payments-kafka-topics), written to
#   a --command-config file; against a secured cluster give it a principal allowed to create topics.
# Idempotent: --if-not-exists. Runs as a Kubernetes Job, a compose init container, or by hand.
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

create() { # name retention-days
  echo "creating ${PREFIX}$1 (partitions=${PARTITIONS}, rf=${RF}, retention=$2d, max.message.bytes=${MAX_MESSAGE_BYTES})"
  "$TOPICS_BIN" --bootstrap-server "$BOOTSTRAP" --command-config "$CLIENT_CONFIG" \
    --create --if-not-exists \
    --topic "${PREFIX}$1" --partitions "$PARTITIONS" --replication-factor "$RF" \
    --config min.insync.replicas="$MIN_ISR" \
    --config retention.ms=$(( $2 * DAY_MS )) \
    --config cleanup.policy=delete \
    --config max.message.bytes="$MAX_MESSAGE_BYTES"
  "$CONFIGS_BIN" --bootstrap-server "$BOOTSTRAP" --command-config "$CLIENT_CONFIG" \
    --alter --entity-type topics \
    --entity-name "${PREFIX}$1" --add-config max.message.bytes="$MAX_MESSAGE_BYTES"
}

create stripe.events.v1 30
create stripe.events.v1.dlq 30
create payments.events.v1 14
create marketplace.moderation.v1 14
create marketplace.moderation.v1.dlq 30
create payments.internal.refund-commands.v1 14
create payments.internal.refund-commands.v1.dlq 30
create risk.signals.v1 14
create risk.signals.v1.dlq 30
echo "topics ready"
