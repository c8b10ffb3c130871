package io.marketplace.payments.ops.acl;

import io.marketplace.payments.common.kafka.Topic;
import io.marketplace.payments.common.kafka.Topics;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

/**
 * The ACLs of docs/security.md ("Kafka: authentication and ACLs"), derived from the code: topic
 * names from {@link Topics} (with the deployment's {@code KAFKA_TOPIC_PREFIX}), the consumer groups
 * of the workers, and the risk service's Kafka Streams application id, which names its group, its
 * internal topics and its transactional ids. Each principal gets only what its workload does:
 * {@code Write} implies {@code Describe} and idempotent writes, {@code Read} implies {@code
 * Describe}, so neither is granted on its own.
 *
 * <p>The group ids are the workers' own constants (the deploy test holds these to them): they are
 * not prefixed; the Streams application id is, as {@code RiskService} prefixes it.
 */
public final class KafkaAcls {

  /** {@code PaymentProcessorConfig.SERVICE}: the processor's group on {@code stripe.events.v1}. */
  public static final String PROCESSOR_GROUP = "payment-processor";

  /** {@code PaymentProcessorConfig.deliveryConsumer()}: on the delivery commands. */
  public static final String PROCESSOR_DELIVERIES_GROUP = "payment-processor-deliveries";

  /** {@code RefundWorker.STRIPE_CONSUMER}. */
  public static final String REFUND_STRIPE_GROUP = "refund-worker";

  /** {@code RefundWorker.MODERATION_CONSUMER}. */
  public static final String REFUND_MODERATION_GROUP = "refund-worker-moderation";

  /** {@code RefundWorker.COMMANDS_CONSUMER}. */
  public static final String REFUND_COMMANDS_GROUP = "refund-worker-commands";

  /** {@code RiskFlagWorker.CONSUMER}: the worker that applies risk signals. */
  public static final String RISK_FLAGS_GROUP = "payment-risk-flags";

  /**
   * {@code RiskService.APPLICATION_ID}, after the topic prefix: the Streams application's group,
   * and with a dash the prefix of its internal topics and of its transactional ids.
   */
  public static final String RISK_APPLICATION_ID = "payment-risk";

  /** The deployments and the people that talk to Kafka, each under a principal of its own. */
  public enum Workload {
    WEBHOOK_GATEWAY("webhook-gateway"),
    PAYMENT_PROCESSOR("payment-processor"),
    REFUND_WORKER("refund-worker"),
    CHECKOUT_API("checkout-api"),
    PROMOTION_EXPIRER("promotion-expirer"),
    PAYMENT_RISK("payment-risk"),
    /** The Job that creates the topics (k8s/base/create-topics.sh). */
    TOPICS("topics"),
    /** The people who run {@code ./payments reconcile, dlq, replay, lag}. */
    OPERATORS("operators");

    public final String key;

    Workload(String key) {
      this.key = key;
    }

    public static Optional<Workload> of(String key) {
      return Arrays.stream(values())
          .filter(w -> w.key.equals(key.strip().toLowerCase(Locale.ROOT)))
          .findFirst();
    }

    public static List<String> keys() {
      return Arrays.stream(values()).map(w -> w.key).toList();
    }
  }

  private KafkaAcls() {}

  /** The bindings of every principal given, in the order given. */
  public static Set<AclBinding> derive(Topics topics, Map<Workload, String> principals) {
    Set<AclBinding> all = new LinkedHashSet<>();
    principals.forEach((workload, principal) -> all.addAll(of(workload, principal, topics)));
    return all;
  }

  /** What {@code principal} may do as {@code workload} on the topics of {@code topics}. */
  public static List<AclBinding> of(Workload workload, String principal, Topics topics) {
    Grants grants = new Grants(principal);
    List<Topic> outbox =
        List.of(
            topics.paymentEvents(),
            topics.moderation(),
            topics.refundCommands(),
            topics.deliveryCommands());
    switch (workload) {
      case WEBHOOK_GATEWAY -> grants.write(topics.stripeEvents());
      case PAYMENT_PROCESSOR -> {
        grants.write(outbox);
        grants.consume(topics.stripeEvents(), PROCESSOR_GROUP);
        grants.consume(topics.deliveryCommands(), PROCESSOR_DELIVERIES_GROUP);
      }
      case REFUND_WORKER -> {
        grants.write(outbox);
        grants.consume(topics.stripeEvents(), REFUND_STRIPE_GROUP);
        grants.consume(topics.moderation(), REFUND_MODERATION_GROUP);
        grants.consume(topics.refundCommands(), REFUND_COMMANDS_GROUP);
      }
      case CHECKOUT_API, PROMOTION_EXPIRER -> grants.write(outbox);
      case PAYMENT_RISK -> {
        String applicationId = prefix(topics) + RISK_APPLICATION_ID;
        grants.write(topics.riskSignals());
        grants.write(outbox);
        // the Streams application: reads in its group, writes in transactions (exactly_once_v2)
        grants.add(ResourceType.TOPIC, topics.stripeEvents().name(), AclOperation.READ);
        // an admin's risk clear (user.risk_cleared) restarts the counts it clears
        grants.add(ResourceType.TOPIC, topics.paymentEvents().name(), AclOperation.READ);
        grants.add(ResourceType.GROUP, applicationId, AclOperation.READ);
        grants.prefixed(ResourceType.TRANSACTIONAL_ID, applicationId + "-", AclOperation.WRITE);
        // its changelog and repartition topics: created at start, configs checked, and the
        // repartition records it has consumed purged with deleteRecords
        grants.prefixed(
            ResourceType.TOPIC,
            applicationId + "-",
            AclOperation.CREATE,
            AclOperation.READ,
            AclOperation.WRITE,
            AclOperation.DELETE,
            AclOperation.DESCRIBE_CONFIGS);
        grants.consume(topics.riskSignals(), RISK_FLAGS_GROUP);
      }
      case TOPICS -> {
        for (Topic topic : topics.all()) {
          for (AclOperation operation :
              List.of(
                  AclOperation.CREATE,
                  AclOperation.DESCRIBE,
                  AclOperation.ALTER_CONFIGS,
                  AclOperation.DESCRIBE_CONFIGS)) {
            grants.add(ResourceType.TOPIC, topic.name(), operation);
          }
        }
      }
      case OPERATORS -> {
        // reconcile publishes to stripe.events.v1; dlq redrive sends a dead letter back to its
        // source topic; dlq list reads the dead letters without a group
        List<Topic> sources =
            List.of(
                topics.stripeEvents(),
                topics.moderation(),
                topics.refundCommands(),
                topics.deliveryCommands(),
                topics.riskSignals());
        grants.write(sources);
        for (Topic source : sources) {
          grants.add(ResourceType.TOPIC, source.dlq().name(), AclOperation.READ);
        }
        // replay commits offsets for a worker's group (Read on the group and its topics); lag
        // describes the groups (implied by Read)
        for (Topic source : sources) {
          grants.add(ResourceType.TOPIC, source.name(), AclOperation.READ);
        }
        // and the topics the risk service's group reads besides: lag describes its group with
        // the others, and fails on a topic it may not read; and the broker hides a group's
        // offsets on such topics, which replay needs to see to know it for a Streams application
        String riskApplication = prefix(topics) + RISK_APPLICATION_ID;
        grants.add(ResourceType.TOPIC, topics.paymentEvents().name(), AclOperation.READ);
        grants.prefixed(ResourceType.TOPIC, riskApplication + "-", AclOperation.READ);
        for (String group :
            List.of(
                PROCESSOR_GROUP,
                PROCESSOR_DELIVERIES_GROUP,
                REFUND_STRIPE_GROUP,
                REFUND_MODERATION_GROUP,
                REFUND_COMMANDS_GROUP,
                RISK_FLAGS_GROUP,
                riskApplication)) {
          grants.add(ResourceType.GROUP, group, AclOperation.READ);
        }
      }
    }
    return grants.bindings;
  }

  /** The deployment's {@code KAFKA_TOPIC_PREFIX}, as the risk service reads it back. */
  static String prefix(Topics topics) {
    String stripe = topics.stripeEvents().name();
    return stripe.substring(0, stripe.length() - Topics.standard().stripeEvents().name().length());
  }

  /** The bindings of one principal, built up as its workload's clients need them. */
  private static final class Grants {

    private final String principal;
    private final List<AclBinding> bindings = new ArrayList<>();

    Grants(String principal) {
      this.principal = principal;
    }

    /** A producer: {@code Write} on each topic and, since it consumes, on its dead letters. */
    void write(Topic topic) {
      add(ResourceType.TOPIC, topic.name(), AclOperation.WRITE);
    }

    void write(List<Topic> topics) {
      topics.forEach(this::write);
    }

    /**
     * A {@code StreamWorker}: reads {@code topic} in {@code group}, and dead-letters what keeps
     * failing to {@code <topic>.dlq}.
     */
    void consume(Topic topic, String group) {
      add(ResourceType.TOPIC, topic.name(), AclOperation.READ);
      add(ResourceType.GROUP, group, AclOperation.READ);
      write(topic.dlq());
    }

    void add(ResourceType type, String name, AclOperation operation) {
      bind(new ResourcePattern(type, name, PatternType.LITERAL), operation);
    }

    void prefixed(ResourceType type, String prefix, AclOperation... operations) {
      for (AclOperation operation : operations) {
        bind(new ResourcePattern(type, prefix, PatternType.PREFIXED), operation);
      }
    }

    private void bind(ResourcePattern pattern, AclOperation operation) {
      AclBinding binding =
          new AclBinding(
              pattern, new AccessControlEntry(principal, "*", operation, AclPermissionType.ALLOW));
      if (!bindings.contains(binding)) {
        bindings.add(binding);
      }
    }
  }
}
