package io.marketplace.payments.common.kafka;

import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.common.config.InvalidConfigException;
import io.marketplace.payments.common.config.SecretCheck;
import java.time.Duration;
import java.util.Optional;
import java.util.Properties;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Where Kafka is (SPEC §2), how the clients authenticate to it ({@link KafkaSecurity}), and the
 * client settings that keep money safe.
 *
 * @param groupInstanceId a name stable across restarts of this process and unique in its fleet (the
 *     pod name), or empty: with it, each consumer joins its group as a static member (KIP-345), so
 *     a process killed and restarted under the same name takes its partitions back at once, without
 *     waiting for the session timeout and without a rebalance of the others
 */
public record KafkaConfig(
    String bootstrapServers,
    Topics topics,
    KafkaSecurity security,
    Optional<String> groupInstanceId) {

  /**
   * A dead member's partitions wait this long for it: the brokers' default minimum ({@code
   * group.min.session.timeout.ms}), so a payment is held up as little as the group allows by a
   * crashed replica. Measured with a replica killed every 10 s (docs/benchmarks.md, "fleet"): at 10
   * s each expiry started a rebalance just as the next replica died, and that rebalance then waited
   * for the new dead member's session too, so payments waited up to 30 s; at 6 s the group is
   * settled between kills. A static member restarted within this time takes its partitions back
   * with no rebalance; one slower to start costs two short rebalances instead.
   */
  static final Duration SESSION_TIMEOUT = Duration.ofSeconds(6);

  /**
   * Four heartbeats per session: a busy 2-core machine or a GC pause delaying one or two of them
   * does not make a live member look dead.
   */
  static final Duration HEARTBEAT = Duration.ofMillis(1500);

  /**
   * Where a worker resumes a partition its group has no valid offset for: a new group, or a
   * committed offset past the end of the log (after an unclean leader election or a truncated or
   * recreated topic). From the earliest record, since re-reading is safe (each effect is applied
   * once per event id) and skipping is not. The worker's consumer itself resets nothing ({@link
   * #WORKER_AUTO_OFFSET_RESET}): the worker places such a partition there, and an offset below the
   * log start (records deleted by retention before they were applied) is told and counted first.
   */
  public static final String AUTO_OFFSET_RESET = "earliest";

  /**
   * A worker's consumer throws on a missing or out-of-range offset instead of resetting it, so the
   * worker tells apart an offset below the log start, whose records were lost, from the others.
   */
  static final String WORKER_AUTO_OFFSET_RESET = "none";

  public KafkaConfig {
    groupInstanceId = groupInstanceId.filter(id -> !id.isBlank());
  }

  /** A broker that needs no authentication (tests, the local stack), dynamic group members. */
  public KafkaConfig(String bootstrapServers, Topics topics) {
    this(bootstrapServers, topics, KafkaSecurity.plaintext(), Optional.empty());
  }

  public static KafkaConfig fromEnv(Env env) {
    String bootstrapServers = env.required("KAFKA_BOOTSTRAP_SERVERS");
    // kafka.example.com resolves: a service would offer its credentials and events to its host
    if (SecretCheck.isPlaceholder(bootstrapServers)) {
      throw new InvalidConfigException(
          "KAFKA_BOOTSTRAP_SERVERS", "is a placeholder, not a real value");
    }
    return new KafkaConfig(
        bootstrapServers,
        Topics.withPrefix(env.optional("KAFKA_TOPIC_PREFIX", "")),
        KafkaSecurity.fromEnv(env),
        Optional.of(env.optional("KAFKA_GROUP_INSTANCE_ID", "")));
  }

  public KafkaConfig withGroupInstanceId(String id) {
    return new KafkaConfig(bootstrapServers, topics, security, Optional.of(id));
  }

  /**
   * A durable producer: {@code acks=all} and idempotence, so an acknowledged record is on every
   * in-sync replica and a retried send is never written twice. Keys are strings, values raw bytes.
   */
  public Properties producer(String clientId) {
    Properties props = common(clientId);
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    props.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 5);
    props.put(ProducerConfig.LINGER_MS_CONFIG, 1);
    props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
    // the default (1 MiB) refuses a 1 MiB webhook body with its headers before it is sent: the
    // gateway could not publish it, a worker could not dead-letter it, an operator not redrive it
    props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Topics.MAX_MESSAGE_BYTES);
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    return props;
  }

  /**
   * A consumer that commits only what it has applied: no auto-commit, reads only committed records,
   * and a new group starts at the beginning of the topic.
   */
  public Properties consumer(String groupId, String clientId) {
    Properties props = common(clientId);
    props.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
    // How long a member that died without leaving keeps its partitions: chosen here, not left to
    // the broker. See the README, "Consumer groups", for why not the KIP-848 protocol.
    props.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, (int) SESSION_TIMEOUT.toMillis());
    props.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, (int) HEARTBEAT.toMillis());
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, AUTO_OFFSET_RESET);
    props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 500);
    // the largest record a topic takes arrives in an ordinary fetch; Kafka would return a larger
    // batch alone rather than get stuck, but that is a slow path we do not need to rely on
    props.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, Topics.MAX_MESSAGE_BYTES);
    props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
    props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    return props;
  }

  /**
   * A consumer of a worker fleet: {@link #consumer} joining as static member {@code
   * <groupInstanceId>-<slot>} when an instance id is set; {@code slot} tells apart the consumers of
   * one group in one process. It resets no offset by itself: the worker does ({@link
   * #WORKER_AUTO_OFFSET_RESET}).
   */
  public Properties workerConsumer(String groupId, String clientId, int slot) {
    Properties props = consumer(groupId, clientId);
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, WORKER_AUTO_OFFSET_RESET);
    groupInstanceId.ifPresent(
        id -> props.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, id + "-" + slot));
    return props;
  }

  public Properties admin(String clientId) {
    return common(clientId);
  }

  private Properties common(String clientId) {
    Properties props = security.properties();
    props.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    props.put(CommonClientConfigs.CLIENT_ID_CONFIG, clientId);
    return props;
  }
}
