package io.marketplace.payments.risk;

import io.javalin.Javalin;
import io.marketplace.payments.common.http.HealthCheck;
import io.marketplace.payments.common.http.HttpServers;
import io.marketplace.payments.common.metrics.Metrics;
import io.marketplace.payments.risk.flag.RiskFlagWorker;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code payment-risk}: the Kafka Streams application of {@link RiskTopology}, which raises
 * signals, and the {@link RiskFlagWorker}, which applies them in PostgreSQL; with health and
 * metrics on {@code ADMIN_PORT}. Ready only while the application is {@code RUNNING} (not while it
 * rebalances or restores its stores) and the worker and database answer.
 */
public final class RiskService implements AutoCloseable {

  public static final String NAME = "payment-risk";
  public static final String APPLICATION_ID = "payment-risk";

  /**
   * How often Kafka Streams' metrics are looked for anew. A task's metrics (its dropped records,
   * which the alert RiskEventsDroppedAsLate watches) exist from its assignment on, and Micrometer
   * registers a metric only when it looks: by default once a minute.
   */
  static final Duration METRICS_REFRESH = Duration.ofSeconds(5);

  /** How long a stop waits for the tasks to commit and close (Kubernetes grants 45 s). */
  static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(30);

  private static final Logger log = LoggerFactory.getLogger(RiskService.class);

  private final KafkaStreams streams;
  private final KafkaStreamsMetrics streamsMetrics;
  private final ScheduledExecutorService metricsRefresh;
  private final Javalin admin;
  private final RiskFlagWorker flags;

  private RiskService(
      KafkaStreams streams,
      KafkaStreamsMetrics metrics,
      ScheduledExecutorService metricsRefresh,
      Javalin admin,
      RiskFlagWorker flags) {
    this.streams = streams;
    this.streamsMetrics = metrics;
    this.metricsRefresh = metricsRefresh;
    this.admin = admin;
    this.flags = flags;
  }

  public static RiskService start(RiskConfig config, Clock clock) {
    PrometheusMeterRegistry registry = Metrics.newRegistry(NAME);
    RiskFlagWorker flags =
        RiskFlagWorker.start(config.db(), config.kafka(), config.coolDown(), clock, registry);
    Topology topology =
        RiskTopology.build(
            config.kafka().topics(), config.rules(), new CategoryMetrics(registry, clock));
    KafkaStreams streams = new KafkaStreams(topology, properties(config));
    streams.setUncaughtExceptionHandler(
        e -> {
          log.error("risk stream thread failed; replacing it", e);
          return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler
              .StreamThreadExceptionResponse.REPLACE_THREAD;
        });
    ScheduledExecutorService metricsRefresh =
        Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().name("kafka-streams-metrics").daemon().factory());
    KafkaStreamsMetrics metrics =
        new KafkaStreamsMetrics(streams, Tags.empty(), metricsRefresh, METRICS_REFRESH);
    metrics.bindTo(registry);
    Javalin admin =
        HttpServers.create(
            config.adminPort(),
            config.http(),
            registry,
            List.of(
                new HealthCheck(
                    "kafka-streams",
                    () -> isRunning(streams),
                    () -> streams.state() != KafkaStreams.State.ERROR),
                new HealthCheck("database", flags::databaseReachable),
                new HealthCheck("workers", flags::isHealthy, flags::isAlive)),
            routes -> {});
    streams.start();
    admin.start();
    log.info("{} admin on port {}", NAME, admin.port());
    return new RiskService(streams, metrics, metricsRefresh, admin, flags);
  }

  /** The settings of the application; exposed for tests of the configuration. */
  static Properties properties(RiskConfig config) {
    // the Kafka connection and its security settings, as every client of the system has them
    Properties props = config.kafka().admin(NAME);
    String prefix = config.kafka().topics().stripeEvents().name().replace("stripe.events.v1", "");
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, prefix + APPLICATION_ID);
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    props.put(StreamsConfig.STATE_DIR_CONFIG, config.stateDir().toString());
    props.put(StreamsConfig.NUM_STANDBY_REPLICAS_CONFIG, config.standbyReplicas());
    // internal topics (changelogs, repartition) replicated as our own topics are, not as the
    // broker's defaults (1 replica, 1 in sync out of the box): a changelog lost with one broker
    // would forget which Stripe events were counted, and count a re-delivered one again
    props.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, config.replicationFactor());
    props.put(
        StreamsConfig.topicPrefix(TopicConfig.MIN_IN_SYNC_REPLICAS_CONFIG),
        Integer.toString(config.minInsyncReplicas()));
    props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
    // every store's native memory within one budget, not each its own cache and memtables
    props.put(StreamsConfig.ROCKSDB_CONFIG_SETTER_CLASS_CONFIG, BoundedStoreMemory.class);
    props.put(BoundedStoreMemory.BYTES_CONFIG, config.storeMemoryBytes());
    return props;
  }

  public int adminPort() {
    return admin.port();
  }

  /** Where Prometheus scrapes {@code /metrics}. */
  public String adminUrl() {
    return HttpServers.localUrl(admin);
  }

  public KafkaStreams.State state() {
    return streams.state();
  }

  private static boolean isRunning(KafkaStreams streams) {
    return streams.state() == KafkaStreams.State.RUNNING;
  }

  @Override
  public void close() {
    admin.stop();
    // a clean close commits and checkpoints every task, so that the next start resumes from the
    // stores instead of rebuilding them: one that runs out of time leaves them to be restored. It
    // leaves the group (Kafka Streams does not by default): the tasks move to a running replica at
    // once, and a restarted one gets them back without waiting out its old member's 45 s session
    if (!streams.close(
        CloseOptions.timeout(CLOSE_TIMEOUT)
            .withGroupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP))) {
      log.warn(
          "{} did not close its streams within {}: its stores will be restored at the next start",
          NAME,
          CLOSE_TIMEOUT);
    }
    streamsMetrics.close();
    metricsRefresh.shutdownNow(); // given to the binder, which leaves it to its owner
    flags.close();
  }
}
