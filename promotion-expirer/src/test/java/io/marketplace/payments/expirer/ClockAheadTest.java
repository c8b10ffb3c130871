package io.marketplace.payments.expirer;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.expirer.listing.ListingExpiry;
import io.marketplace.payments.expirer.pass.BatchHook;
import io.marketplace.payments.expirer.pass.ExpirerMetrics;
import io.marketplace.payments.expirer.pass.ExpiryPass;
import io.marketplace.payments.expirer.pass.PassLock;
import io.marketplace.payments.expirer.pass.PassResult;
import io.marketplace.payments.expirer.promotion.PromotionExpiry;
import io.marketplace.payments.expirer.schedule.Schedule;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.MutableClock;
import io.marketplace.payments.testsupport.TestDatabase;
import io.marketplace.payments.testsupport.TestInfra;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * A replica whose clock runs ahead of the database's (a pod with a skewed clock) ends nothing
 * before its end: a pass goes by the earlier of its clock and the database's, which every replica
 * and the payment workers share, and a replica that finds the fleet's pass not due yet by that time
 * does not ask again every check.
 */
class ClockAheadTest {

  private static final Duration AHEAD = Duration.ofHours(1);

  private final TestDatabase db = TestInfra.freshDatabase();
  private final Seed seed = new Seed(db);

  @Test
  void shouldEndOnlyWhatIsDueByTheDatabasesClockWhenThisReplicasClockRunsAnHourAhead() {
    // Given a promotion and a listing that ended a minute ago by the database's clock, and ones
    // that end in half an hour
    Instant dbNow = databaseNow();
    UUID user = seed.user();
    UUID promotedListing = seed.activeListing(user, dbNow.plus(Duration.ofDays(20)));
    UUID ended = seed.featured(promotedListing, dbNow.minus(Duration.ofMinutes(1)));
    UUID endedListing = seed.activeListing(user, dbNow.minus(Duration.ofMinutes(1)));
    UUID running = seed.featured(promotedListing, dbNow.plus(Duration.ofMinutes(30)));
    UUID runningListing = seed.activeListing(user, dbNow.plus(Duration.ofMinutes(30)));

    // When a replica whose clock is an hour ahead runs a pass
    MutableClock ahead = new MutableClock(dbNow.plus(AHEAD));
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    PassResult result = pass(ahead, registry).run();

    // Then only what ended by the database's clock ends, and nothing is dated in the future
    assertThat(result.outcome()).isEqualTo(PassResult.Outcome.COMPLETED);
    Instant after = databaseNow();
    assertThat(db.count("listing_promotions WHERE id = ? AND expired_at IS NULL", running)).isOne();
    assertThat(db.count("marketplace_listings WHERE id = ? AND status = 'active'", runningListing))
        .isOne();
    assertThat(
            db.count(
                "listing_promotions WHERE id = ? AND expired_at >= expires_at AND expired_at <= ?",
                ended,
                after))
        .isOne();
    assertThat(db.count("marketplace_listings WHERE id = ? AND status = 'expired'", endedListing))
        .isOne();
    assertThat(db.count("outbox_events WHERE payload LIKE ?", "%" + running + "%")).isZero();
    assertThat(db.count("expirer_runs WHERE started_at > ? OR finished_at > ?", after, after))
        .isZero();
    // and the replica reports how far ahead its clock runs
    assertThat(registry.get("payments.expirer.clock.ahead").gauge().value())
        .isBetween(AHEAD.toSeconds() - 60.0, (double) AHEAD.toSeconds());
  }

  @Test
  void shouldNotAskForAPassEveryCheckWhileTheFleetsPassIsNotDueByTheDatabasesClock()
      throws Exception {
    // Given the fleet's hourly pass ran half an hour ago by the database's clock, and a promotion
    // that ends in a quarter of an hour
    Instant dbNow = databaseNow();
    db.execute(
        """
        INSERT INTO expirer_runs (started_at, finished_at, status)
        VALUES (?, ?, 'succeeded')
        """,
        dbNow.minus(Duration.ofMinutes(30)),
        dbNow.minus(Duration.ofMinutes(29)));
    UUID listing = seed.activeListing(seed.user(), dbNow.plus(Duration.ofDays(20)));
    UUID soon = seed.featured(listing, dbNow.plus(Duration.ofMinutes(15)));

    // When a replica whose clock is 45 minutes ahead starts, looking at its clock every 20 ms
    Topics topics = TestInfra.freshTopics();
    ExpirerConfig config =
        new ExpirerConfig(
            db.dbConfig(),
            TestInfra.kafkaConfig(topics),
            0,
            new Schedule.Every(Duration.ofHours(1)),
            1000,
            Duration.ofMillis(20),
            Duration.ofSeconds(30),
            ExpirerConfig.DEFAULT_RETENTION);
    try (PromotionExpirer expirer =
        PromotionExpirer.start(config, new MutableClock(dbNow.plus(Duration.ofMinutes(45))))) {
      // Then it tries a pass and finds it not due, once
      Await.until(
          Duration.ofSeconds(20),
          "a pass tried",
          () -> passes(expirer, "not_due") + passes(expirer, "completed") >= 1);
      // and does not ask again at each of the next 25 checks
      Thread.sleep(500);
      assertThat(passes(expirer, "not_due")).isEqualTo(1);
      assertThat(passes(expirer, "completed")).isZero();
      // and the promotion runs on
      assertThat(db.count("listing_promotions WHERE id = ? AND expired_at IS NULL", soon)).isOne();
    }
  }

  private ExpiryPass pass(MutableClock clock, SimpleMeterRegistry registry) {
    return new ExpiryPass(
        db.jdbi(),
        new PassLock(db.dbConfig()),
        List.of(new PromotionExpiry(), new ListingExpiry()),
        1000,
        clock,
        new ExpirerMetrics(registry),
        BatchHook.NONE);
  }

  private Instant databaseNow() {
    return (Instant) db.row("SELECT now() AS now").orElseThrow().get("now");
  }

  /** {@code payments_expirer_passes_total{outcome}} as {@code /metrics} shows it. */
  private static double passes(PromotionExpirer expirer, String outcome) {
    try (HttpClient client = HttpClient.newHttpClient()) {
      String metrics =
          client
              .send(
                  HttpRequest.newBuilder(URI.create(expirer.baseUrl() + "/metrics"))
                      .timeout(Duration.ofSeconds(10))
                      .build(),
                  HttpResponse.BodyHandlers.ofString())
              .body();
      return metrics
          .lines()
          .filter(line -> line.startsWith("payments_expirer_passes_total{"))
          .filter(line -> line.contains("outcome=\"" + outcome + "\""))
          .mapToDouble(line -> Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)))
          .sum();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
