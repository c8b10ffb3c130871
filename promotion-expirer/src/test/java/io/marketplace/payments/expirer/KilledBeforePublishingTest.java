package io.marketplace.payments.expirer;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.embedded.Ports;
import io.marketplace.payments.expirer.schedule.Schedule;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.marketplace.payments.testsupport.MutableClock;
import io.marketplace.payments.testsupport.TestDatabase;
import io.marketplace.payments.testsupport.TestInfra;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An expirer process killed ({@code kill -9}) after its pass committed and before any of its events
 * reached the broker loses none of them and repeats none: the rows and their events commit together
 * in the outbox, and the next relay publishes each once.
 */
class KilledBeforePublishingTest {

  private static final Duration WAIT = Duration.ofSeconds(60);

  @TempDir Path logs;

  private final TestDatabase db = TestInfra.freshDatabase();
  private final Topics topics = TestInfra.freshTopics();
  private final Seed seed = new Seed(db);

  @Test
  void shouldPublishEachExpiryOnceWhenTheExpirerIsKilledBetweenItsCommitAndTheBroker()
      throws Exception {
    // Given three featured promotions and a listing that ended a minute ago
    Instant now = Instant.now();
    UUID user = seed.user();
    UUID promoted = seed.activeListing(user, now.plus(Duration.ofDays(20)));
    List<UUID> promotions =
        List.of(
            seed.featured(promoted, now.minus(Duration.ofMinutes(1))),
            seed.featured(promoted, now.minus(Duration.ofMinutes(2))),
            seed.featured(promoted, now.minus(Duration.ofMinutes(3))));
    UUID listing = seed.activeListing(user, now.minus(Duration.ofMinutes(1)));

    // When a one-off pass runs, in batches of one, in its own process, with a broker that does not
    // answer, and the process is killed once its batches committed
    Process expirer = startOnce(unusedPort());
    try {
      Await.until(
          WAIT,
          "the pass's batches to commit",
          () ->
              !expirer.isAlive()
                  || db.count("listing_promotions WHERE expired_at IS NOT NULL") == 3
                      && db.count("marketplace_listings WHERE status = 'expired'") == 1);
      assertThat(expirer.isAlive()).as("the expirer exited:%n%s", log()).isTrue();
      new ProcessBuilder("kill", "-9", Long.toString(expirer.pid())).start().waitFor();
      assertThat(expirer.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
    } finally {
      expirer.destroyForcibly();
    }
    // (nothing reached the broker)
    List<Map<String, Object>> ended =
        db.rows("SELECT id, expired_at FROM listing_promotions ORDER BY id");
    try (KafkaTestClient kafka = TestInfra.kafkaClient()) {
      assertThat(kafka.readAll(topics.paymentEvents())).isEmpty();
    }

    // and an expirer replica starts, as the Deployment's would, with the broker
    ExpirerConfig config =
        new ExpirerConfig(
            db.dbConfig(),
            TestInfra.kafkaConfig(topics),
            0,
            new Schedule.Every(Duration.ofHours(24)),
            1000,
            Duration.ofMillis(20),
            Duration.ofSeconds(30),
            ExpirerConfig.DEFAULT_RETENTION);
    List<JsonNode> events;
    try (PromotionExpirer replica = PromotionExpirer.start(config, new MutableClock(now));
        KafkaTestClient kafka = TestInfra.kafkaClient()) {
      // Then its relay publishes what the killed pass committed (its pass is not due: the killed
      // one had recorded its success)
      Await.until(
          WAIT,
          "the killed pass's events published",
          () -> db.count("outbox_events WHERE published_at IS NULL") == 0);
      events =
          kafka.readAll(topics.paymentEvents()).stream()
              .map(KilledBeforePublishingTest::json)
              .toList();
    }
    // and every end is on the topic once
    assertThat(events).hasSize(4);
    assertThat(events.stream().map(e -> e.get("id").asText()).distinct()).hasSize(4);
    assertThat(events.stream().map(e -> e.at("/data/promotionId").asText()))
        .containsAll(promotions.stream().map(UUID::toString).toList());
    assertThat(events.stream().map(e -> e.at("/data/listingId").asText()))
        .contains(listing.toString());
    // and nothing was ended again
    assertThat(db.rows("SELECT id, expired_at FROM listing_promotions ORDER BY id"))
        .isEqualTo(ended);
  }

  /** {@code promotion-expirer --once} as an operator's one-off Job runs it. */
  private Process startOnce(int deadBrokerPort) throws IOException {
    String name = topics.paymentEvents().name();
    ProcessBuilder builder =
        new ProcessBuilder(
                List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx128m",
                    "-XX:+UseSerialGC",
                    "-XX:TieredStopAtLevel=1",
                    "-cp",
                    System.getProperty("java.class.path"),
                    Main.class.getName(),
                    "--once"))
            .redirectErrorStream(true)
            .redirectOutput(logs.resolve("expirer.log").toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    builder.environment().clear();
    builder
        .environment()
        .putAll(
            Map.of(
                "DATABASE_URL", db.url(),
                "DATABASE_USER", db.user(),
                "DATABASE_PASSWORD", db.password(),
                "KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:" + deadBrokerPort,
                "KAFKA_TOPIC_PREFIX", name.substring(0, name.indexOf('.') + 1),
                "EXPIRER_BATCH_SIZE", "1",
                "ADMIN_PORT", "0"));
    return builder.start();
  }

  private String log() {
    try {
      return Files.readString(logs.resolve("expirer.log"));
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  private static int unusedPort() {
    return Ports.free();
  }

  private static JsonNode json(ConsumerRecord<String, byte[]> record) {
    try {
      return Json.mapper().readTree(record.value());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
