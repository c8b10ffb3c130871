package io.marketplace.payments.risk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.common.config.InvalidConfigException;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;

class RiskConfigTest {

  private static final Map<String, String> BASE =
      Map.of(
          "KAFKA_BOOTSTRAP_SERVERS", "kafka:9092",
          "DATABASE_URL", "jdbc:postgresql://db:5432/payments",
          "DATABASE_USER", "payments");

  @Test
  void shouldRunExactlyOnceWithLoggedStateWhenConfiguredFromTheEnvironment() {
    // Given the environment of a Kubernetes pod
    Env env =
        Env.of(BASE)
            .with(
                Map.of(
                    "RISK_STATE_DIR", "/var/lib/payment-risk",
                    "RISK_STANDBY_REPLICAS", "1",
                    "RISK_DECLINES_THRESHOLD", "7",
                    "RISK_DECLINES_WINDOW", "15m",
                    "RISK_DISPUTES_WINDOW", "48h",
                    "RISK_CATEGORY_DISPUTES_THRESHOLD", "25"));

    // When the service reads it
    RiskConfig config = RiskConfig.fromEnv(env);
    Properties props = RiskService.properties(config);

    // Then Kafka Streams runs exactly once, with the state directory and standbys asked for
    assertThat(props.get(StreamsConfig.PROCESSING_GUARANTEE_CONFIG))
        .isEqualTo(StreamsConfig.EXACTLY_ONCE_V2);
    assertThat(props.get(StreamsConfig.STATE_DIR_CONFIG)).isEqualTo("/var/lib/payment-risk");
    assertThat(props.get(StreamsConfig.NUM_STANDBY_REPLICAS_CONFIG)).isEqualTo(1);
    assertThat(props.get(StreamsConfig.APPLICATION_ID_CONFIG)).isEqualTo("payment-risk");
    // And the rules are those of the environment, with defaults for the rest
    assertThat(config.rules().declines()).isEqualTo(new RiskConfig.Rule(7, Duration.ofMinutes(15)));
    assertThat(config.rules().fingerprints())
        .isEqualTo(new RiskConfig.Rule(4, Duration.ofMinutes(10)));
    assertThat(config.rules().disputes()).isEqualTo(new RiskConfig.Rule(2, Duration.ofHours(48)));
    assertThat(config.rules().categoryDisputes())
        .isEqualTo(new RiskConfig.Rule(25, Duration.ofHours(24)));
    assertThat(config.coolDown()).isEqualTo(Duration.ofHours(1));
  }

  @Test
  void shouldReplicateItsChangelogsAsItsOwnTopicsAreWhenNothingOverridesIt() {
    // Given the environment of a production pod, against a cluster whose defaults we do not control
    RiskConfig config = RiskConfig.fromEnv(Env.of(BASE));

    // When Kafka Streams is configured to create its changelog and repartition topics
    Properties props = RiskService.properties(config);

    // Then they are created as create-topics.sh creates ours (3 replicas, 2 in sync), not with the
    // broker's default.replication.factor and min.insync.replicas (1 and 1 out of the box): the
    // dedupe store, restored from its changelog, is what counts a re-delivered dispute once
    assertThat(props.get(StreamsConfig.REPLICATION_FACTOR_CONFIG)).isEqualTo(3);
    assertThat(props.get(StreamsConfig.topicPrefix("min.insync.replicas"))).isEqualTo("2");
    // And a single-broker stack says so explicitly
    Properties single =
        RiskService.properties(
            RiskConfig.fromEnv(Env.of(BASE).with(Map.of("RISK_REPLICATION_FACTOR", "1"))));
    assertThat(single.get(StreamsConfig.REPLICATION_FACTOR_CONFIG)).isEqualTo(1);
    assertThat(single.get(StreamsConfig.topicPrefix("min.insync.replicas"))).isEqualTo("1");
  }

  @Test
  void shouldRefuseToStartWhenTheCategoryDisputesWindowIsNotPositive() {
    Env env = Env.of(BASE).with(Map.of("RISK_CATEGORY_DISPUTES_WINDOW", "0s"));

    assertThatThrownBy(() -> RiskConfig.fromEnv(env))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("RISK_CATEGORY_DISPUTES_WINDOW");
  }

  @Test
  void shouldRefuseToStartWhenAThresholdIsNotPositive() {
    // Given a threshold of zero
    Env env = Env.of(BASE).with(Map.of("RISK_FINGERPRINTS_THRESHOLD", "0"));

    // Then the configuration error names the variable
    assertThatThrownBy(() -> RiskConfig.fromEnv(env))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("RISK_FINGERPRINTS_THRESHOLD");
  }

  @Test
  void shouldRefuseToStartWhenEventsAreRememberedForLessThanAWindowAndItsGrace() {
    // Given a dedupe retention shorter than the chargeback window (24h) and its grace: a dispute's
    // second chargeback event a day later would count it again in that window
    Env env = Env.of(BASE).with(Map.of("RISK_DEDUPE_RETENTION", "12h"));

    // Then the service refuses to start, naming the variable and what it must cover
    assertThatThrownBy(() -> RiskConfig.fromEnv(env))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("RISK_DEDUPE_RETENTION")
        .hasMessageContaining("RISK_DISPUTES_WINDOW");
    // And one that covers the longest window and the grace is accepted
    assertThat(
            RiskConfig.fromEnv(Env.of(BASE).with(Map.of("RISK_DEDUPE_RETENTION", "2d")))
                .rules()
                .dedupeRetention())
        .isEqualTo(Duration.ofDays(2));
  }

  @Test
  void shouldRefuseToStartWhenPaymentIntentsAreRememberedForLessThanStripeAcceptsDisputes() {
    // Given a PaymentIntent retention shorter than the 120 days in which Stripe accepts a dispute:
    // a dispute of a payment paid 100 days ago would find no user, and not count
    Env env = Env.of(BASE).with(Map.of("RISK_PAYMENT_INTENT_RETENTION", "90d"));

    // Then the service refuses to start, naming the variable
    assertThatThrownBy(() -> RiskConfig.fromEnv(env))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("RISK_PAYMENT_INTENT_RETENTION")
        .hasMessageContaining("120d");
    // And one of at least 120 days is accepted; 180 days when nothing sets it
    assertThat(
            RiskConfig.fromEnv(Env.of(BASE).with(Map.of("RISK_PAYMENT_INTENT_RETENTION", "120d")))
                .rules()
                .paymentIntentRetention())
        .isEqualTo(Duration.ofDays(120));
    assertThat(RiskConfig.fromEnv(Env.of(BASE)).rules().paymentIntentRetention())
        .isEqualTo(Duration.ofDays(180));
  }

  @Test
  void shouldBoundEveryStoresNativeMemoryByOneBudgetThatIsNotTooSmall() {
    // Given the default environment, and one that gives the stores 256 MiB
    Properties defaults = RiskService.properties(RiskConfig.fromEnv(Env.of(BASE)));
    Properties larger =
        RiskService.properties(
            RiskConfig.fromEnv(Env.of(BASE).with(Map.of("RISK_STORE_MEMORY_MB", "256"))));

    // Then Kafka Streams configures every RocksDB store to share that budget
    assertThat(defaults.get(StreamsConfig.ROCKSDB_CONFIG_SETTER_CLASS_CONFIG))
        .isEqualTo(BoundedStoreMemory.class);
    assertThat(defaults.get(BoundedStoreMemory.BYTES_CONFIG)).isEqualTo(64L * 1024 * 1024);
    assertThat(larger.get(BoundedStoreMemory.BYTES_CONFIG)).isEqualTo(256L * 1024 * 1024);
    // And a budget too small to hold the memtables is refused, naming the variable
    assertThatThrownBy(
            () -> RiskConfig.fromEnv(Env.of(BASE).with(Map.of("RISK_STORE_MEMORY_MB", "8"))))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("RISK_STORE_MEMORY_MB");
  }
}
