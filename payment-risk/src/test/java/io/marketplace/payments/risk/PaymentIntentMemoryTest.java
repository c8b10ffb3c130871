package io.marketplace.payments.risk;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.common.db.DbConfig;
import io.marketplace.payments.common.kafka.KafkaConfig;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.risk.RiskConfig.RiskRules;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.processor.TaskId;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.apache.kafka.streams.state.TimestampedKeyValueStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link PaymentIntentMemory} on the RocksDB store the topology gives it, in the task directory of
 * a stopped service: what it keeps, what its sweeps forget.
 */
class PaymentIntentMemoryTest {

  private static final Instant T0 = Instant.parse("2026-12-01T10:00:00Z");
  private static final Duration RETENTION = RiskRules.DEFAULT_PAYMENT_INTENT_RETENTION;

  @TempDir Path taskDirectory;

  private MockProcessorContext<Object, Object> context;
  private TimestampedKeyValueStore<String, String> store;
  private final String user = UUID.randomUUID().toString();

  @BeforeEach
  void context() {
    RiskConfig config =
        new RiskConfig(
            new KafkaConfig("localhost:9", Topics.standard()),
            0,
            taskDirectory,
            0,
            RiskRules.fromEnv(Env.of(Map.of())),
            new DbConfig("jdbc:postgresql://localhost:9/none", "none", "", 1),
            Duration.ofHours(1));
    context =
        new MockProcessorContext<>(
            RiskService.properties(config), new TaskId(0, 0), taskDirectory.toFile());
  }

  @AfterEach
  void close() {
    if (store != null) {
      store.close();
    }
  }

  @Test
  void
      shouldFindTheUserAndKeepTheEntryAWholeRetentionWhenTheStoreWasWrittenBeforeEntriesHadATime() {
    // Given the users' store as the previous version left it on the state volume: a plain
    // key-value store of user ids, without the time of their PaymentIntents' events
    KeyValueStore<String, String> previous =
        Stores.keyValueStoreBuilder(
                Stores.persistentKeyValueStore(StripeObservations.PAYMENT_INTENT_USERS),
                Serdes.String(),
                Serdes.String())
            .withLoggingDisabled()
            .build();
    previous.init(context.getStateStoreContext(), previous);
    previous.put("pi_old", user);
    previous.close();

    // When this version opens it (Kafka Streams reads it in its upgrade mode)
    PaymentIntentMemory users = open();

    // Then the user is found, and a sweep keeps the entry, dated by the sweep
    assertThat(users.get("pi_old")).isEqualTo(user);
    assertThat(users.sweep(T0.toEpochMilli(), 10)).isZero();
    assertThat(store.get("pi_old").timestamp()).isEqualTo(T0.toEpochMilli());
    // And it is forgotten a retention after that sweep, not before
    assertThat(users.sweep(T0.plus(RETENTION).toEpochMilli(), 10)).isZero();
    assertThat(users.get("pi_old")).isEqualTo(user);
    assertThat(users.sweep(T0.plus(RETENTION).plusMillis(1).toEpochMilli(), 10)).isEqualTo(1);
    assertThat(users.get("pi_old")).isNull();
  }

  @Test
  void shouldLookAtNoMoreThanItsBatchWhenItSweepsAndGoOnFromThereNextTime() {
    // Given five PaymentIntents paid long ago, and one paid today
    PaymentIntentMemory users = open();
    Instant today = T0.plus(RETENTION).plus(Duration.ofDays(1));
    for (int i = 1; i <= 5; i++) {
      users.remember("pi_" + i, user, T0.toEpochMilli());
    }
    users.remember("pi_6", user, today.toEpochMilli());

    // When sweeps of two entries each pass
    long now = today.toEpochMilli();
    // Then each forgets what it looked at: two, two, one and today's kept, then nothing left
    assertThat(users.sweep(now, 2)).isEqualTo(2);
    assertThat(users.sweep(now, 2)).isEqualTo(2);
    assertThat(users.sweep(now, 2)).isEqualTo(1);
    assertThat(users.sweep(now, 2)).isZero();
    assertThat(users.get("pi_5")).isNull();
    assertThat(users.get("pi_6")).isEqualTo(user);
  }

  /** The users' store as the topology has it (unlogged here), and its memory. */
  private PaymentIntentMemory open() {
    store =
        Stores.timestampedKeyValueStoreBuilder(
                Stores.persistentTimestampedKeyValueStore(StripeObservations.PAYMENT_INTENT_USERS),
                Serdes.String(),
                Serdes.String())
            .withLoggingDisabled()
            .build();
    store.init(context.getStateStoreContext(), store);
    return new PaymentIntentMemory(store, RETENTION);
  }
}
