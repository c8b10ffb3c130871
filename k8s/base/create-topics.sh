#!/usr/bin/env sh
# Creates the topics of SPEC §4 once, with partitions and retention chosen deliberately (docs/deploy.md):
#   stripe.events.v1 and its DLQ keep 30 days: Stripe retries for 3 days, and operators replay and
#   reconcile after incidents found late; payments.events.v1 keeps 14 days for downstream catch-up;
#   6 partitions bound the replicas of each worker and leave room to grow.
# Idempotent: --if-not-exists. Runs as a Kubernetes Job, a compose init container, or by hand.
set -eu
BOOTSTRAP="${KAFKA_BOOTSTRAP_SERVERS:?KAFKA_BOOTSTRAP_SERVERS is required}"
PREFIX="${KAFKA_TOPIC_PREFIX:-}"
RF="${REPLICATION_FACTOR:-3}"
MIN_ISR="${MIN_INSYNC_REPLICAS:-2}"
PARTITIONS="${PARTITIONS:-6}"
TOPICS_BIN="${KAFKA_TOPICS_BIN:-/opt/kafka/bin/kafka-topics.sh}"
DAY_MS=86400000

create() { # name retention-days
  echo "creating ${PREFIX}$1 (partitions=${PARTITIONS}, rf=${RF}, retention=$2d)"
  "$TOPICS_BIN" --bootstrap-server "$BOOTSTRAP" --create --if-not-exists \
    --topic "${PREFIX}$1" --partitions "$PARTITIONS" --replication-factor "$RF" \
    --config min.insync.replicas="$MIN_ISR" \
    --config retention.ms=$(( $2 * DAY_MS )) \
    --config cleanup.policy=delete
}

create stripe.events.v1 30
create stripe.events.v1.dlq 30
create payments.events.v1 14
create marketplace.moderation.v1 14
create marketplace.moderation.v1.dlq 30
create payments.internal.refund-commands.v1 14
create payments.internal.refund-commands.v1.dlq 30
echo "topics ready"
