package io.marketplace.payments.expirer.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.expirer.ExpirerConfig;
import io.marketplace.payments.expirer.PromotionExpirer;
import io.marketplace.payments.expirer.Seed;
import io.marketplace.payments.expirer.pass.Expiry;
import io.marketplace.payments.expirer.schedule.Schedule;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.marketplace.payments.testsupport.TestDatabase;
import io.marketplace.payments.testsupport.TestInfra;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The backlog benchmark: one {@code --once} pass over {@code bench.rows} (default 100,000) expired
 * featured promotions, in batches of {@code bench.batch} (default 1,000), against the real
 * PostgreSQL and Kafka the tests use. Not part of the test run (its name does not end in Test): run
 * it with {@code bench/expirer.sh}. Writes its numbers to {@code target/bench/expirer.md}.
 */
class ExpirerBench {

  @Test
  void clearABacklogInOnePass() throws Exception {
    int rows = Integer.getInteger("bench.rows", 100_000);
    int batch = Integer.getInteger("bench.batch", ExpirerConfig.DEFAULT_BATCH_SIZE);
    TestDatabase db = TestInfra.freshDatabase();
    Topics topics = TestInfra.freshTopics();
    Clock clock = Clock.systemUTC();
    Instant dueBy = clock.instant().minus(Duration.ofMinutes(1));

    // Given a backlog of expired promotions on active listings, and a tenth as many still running
    long seedStart = System.nanoTime();
    new Seed(db).backlog(rows, 0, dueBy);
    new Seed(db).backlog(rows / 10, 0, dueBy.plus(Duration.ofDays(3)));
    db.execute("ANALYZE");
    long seedMillis = millisSince(seedStart);
    ExpirerConfig config =
        new ExpirerConfig(
            db.dbConfig().withPoolSize(4),
            TestInfra.kafkaConfig(topics),
            0,
            new Schedule.Every(Duration.ofHours(24)),
            batch,
            Duration.ofSeconds(1),
            Duration.ofMinutes(10),
            ExpirerConfig.DEFAULT_RETENTION);

    // When one pass runs as --once runs it, until its events are on the broker
    long start = System.nanoTime();
    PromotionExpirer.OnceResult result = PromotionExpirer.runOnce(config, clock);
    long totalMillis = millisSince(start);

    // Then every expired promotion ended, once, and its event is on the topic
    assertThat(result.succeeded()).isTrue();
    assertThat(result.pass().expired(Expiry.PROMOTIONS)).isEqualTo(rows);
    assertThat(db.count("listing_promotions WHERE expired_at IS NULL")).isEqualTo(rows / 10);
    Map<String, Object> run = db.row("SELECT * FROM expirer_runs").orElseThrow();
    long passMillis =
        Duration.between((Instant) run.get("started_at"), (Instant) run.get("finished_at"))
            .toMillis();
    long published;
    try (KafkaTestClient kafka = TestInfra.kafkaClient()) {
      published = kafka.readAll(topics.paymentEvents()).size();
    }
    assertThat(published).isEqualTo(rows);

    // and a pass with nothing due costs next to nothing
    long emptyStart = System.nanoTime();
    PromotionExpirer.OnceResult empty = PromotionExpirer.runOnce(config, clock);
    long emptyMillis = millisSince(emptyStart);
    assertThat(empty.pass().expired(Expiry.PROMOTIONS)).isZero();

    String report =
        String.format(
            """
            rows: %,d expired featured promotions (plus %,d still running), batch %,d
            seeding: %,d ms
            pass (rows ended + outbox rows, %d batches): %,d ms = %,.0f promotions/s
            pass + every event acknowledged by the broker (--once): %,d ms = %,.0f events/s
            second pass, nothing due (pool, migration check and producer start included): %,d ms
            events on payments.events.v1: %,d
            """,
            rows,
            rows / 10,
            batch,
            seedMillis,
            result.pass().batches(),
            passMillis,
            rows * 1000.0 / passMillis,
            totalMillis,
            rows * 1000.0 / totalMillis,
            emptyMillis,
            published);
    System.out.println(report);
    write(Path.of("target", "bench", "expirer.md"), report);
  }

  private static long millisSince(long start) {
    return Duration.ofNanos(System.nanoTime() - start).toMillis();
  }

  private static void write(Path file, String text) {
    try {
      Files.createDirectories(file.getParent());
      Files.writeString(file, text);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
