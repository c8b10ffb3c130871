package io.marketplace.payments.expirer.pass;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.common.events.PaymentEvent;
import io.marketplace.payments.common.events.PaymentEventType;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.expirer.Seed;
import io.marketplace.payments.expirer.listing.ListingExpiry;
import io.marketplace.payments.expirer.pass.PassResult.Outcome;
import io.marketplace.payments.expirer.promotion.PromotionExpiry;
import io.marketplace.payments.expirer.schedule.Schedule;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.EventSchemas;
import io.marketplace.payments.testsupport.MutableClock;
import io.marketplace.payments.testsupport.TestDatabase;
import io.marketplace.payments.testsupport.TestInfra;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** One pass against the real PostgreSQL: what it ends, what it announces, and how it batches. */
class ExpiryPassTest {

  private static final Instant T = Instant.parse("2026-03-10T12:00:00Z");
  private static final Duration MICRO = Duration.ofNanos(1_000);

  private final TestDatabase db = TestInfra.freshDatabase();
  private final Seed seed = new Seed(db);
  private final MutableClock clock = new MutableClock(T);

  @Test
  void shouldEndPromotionsAndListingsJustAfterTheirEndButNotJustBefore() {
    // Given a featured promotion and a listing that both end at T, and rows no pass may touch: a
    // bump, a promotion ended yesterday, a pending listing, a rejected listing past its end
    UUID user = seed.user();
    UUID listing = seed.activeListing(user, T);
    UUID promotedListing = seed.activeListing(user, T.plus(Duration.ofDays(20)));
    UUID promotion = seed.featured(promotedListing, T);
    UUID bump = seed.bump(promotedListing, T.minus(Duration.ofDays(2)));
    UUID endedYesterday = seed.featured(promotedListing, T.minus(Duration.ofDays(1)));
    Instant yesterday = T.minus(Duration.ofDays(1)).plusSeconds(5);
    db.execute(
        "UPDATE listing_promotions SET expired_at = ? WHERE id = ?", yesterday, endedYesterday);
    UUID pending = seed.listingWithStatus(user, "pending_payment", null);
    UUID rejected = seed.listingWithStatus(user, "rejected", T.minus(Duration.ofDays(10)));

    // When a pass runs a microsecond before T
    clock.set(T.minus(MICRO));
    PassResult before = pass(1000, BatchHook.NONE).run();

    // Then nothing ends and nothing is announced
    assertThat(before.outcome()).isEqualTo(Outcome.COMPLETED);
    assertThat(before.expired(Expiry.PROMOTIONS) + before.expired(Expiry.LISTINGS)).isZero();
    assertThat(expiredAt(promotion)).isNull();
    assertThat(status(listing)).isEqualTo("active");
    assertThat(db.count("outbox_events")).isZero();

    // When a pass runs a microsecond after T
    Instant after = T.plus(MICRO);
    clock.set(after);
    PassResult result = pass(1000, BatchHook.NONE).run();

    // Then the promotion is marked expired (its row stays) and the listing is expired
    assertThat(result.expired(Expiry.PROMOTIONS)).isEqualTo(1);
    assertThat(result.expired(Expiry.LISTINGS)).isEqualTo(1);
    assertThat(expiredAt(promotion)).isEqualTo(after);
    assertThat(status(listing)).isEqualTo("expired");
    assertThat(status(promotedListing)).isEqualTo("active");
    // and the others are as they were
    assertThat(expiredAt(endedYesterday)).isEqualTo(yesterday);
    assertThat(expiredAt(bump)).isNull();
    assertThat(status(pending)).isEqualTo("pending_payment");
    assertThat(status(rejected)).isEqualTo("rejected");

    // and exactly one event each is in the outbox, keyed by listing id, with the rows' facts
    List<Map<String, Object>> outbox = outbox();
    assertThat(outbox).hasSize(2);
    Map<String, Object> promotionEvent = outbox.get(0);
    assertThat(promotionEvent.get("event_type")).isEqualTo("promotion.expired");
    assertThat(promotionEvent.get("message_key")).isEqualTo(promotedListing.toString());
    assertThat(promotionEvent.get("event_id"))
        .isEqualTo(PaymentEvent.idFor(PaymentEventType.PROMOTION_EXPIRED, promotion.toString()));
    JsonNode promotionJson = json(promotionEvent);
    assertThat(promotionJson.get("type").asText()).isEqualTo("promotion.expired");
    assertThat(promotionJson.get("version").asInt()).isEqualTo(1);
    assertThat(Instant.parse(promotionJson.get("occurredAt").asText())).isEqualTo(after);
    JsonNode data = promotionJson.get("data");
    assertThat(data.get("promotionId").asText()).isEqualTo(promotion.toString());
    assertThat(data.get("listingId").asText()).isEqualTo(promotedListing.toString());
    assertThat(data.get("type").asText()).isEqualTo("featured");
    assertThat(Instant.parse(data.get("startsAt").asText())).isEqualTo(T.minus(Duration.ofDays(7)));
    assertThat(Instant.parse(data.get("expiresAt").asText())).isEqualTo(T);
    assertThat(Instant.parse(data.get("expiredAt").asText())).isEqualTo(after);

    Map<String, Object> listingEvent = outbox.get(1);
    assertThat(listingEvent.get("event_type")).isEqualTo("listing.expired");
    assertThat(listingEvent.get("message_key")).isEqualTo(listing.toString());
    assertThat(listingEvent.get("event_id"))
        .isEqualTo(PaymentEvent.idFor(PaymentEventType.LISTING_EXPIRED, listing + ":" + T));
    JsonNode listingData = json(listingEvent).get("data");
    assertThat(listingData.get("listingId").asText()).isEqualTo(listing.toString());
    assertThat(listingData.get("userId").asText()).isEqualTo(user.toString());
    assertThat(Instant.parse(listingData.get("expiresAt").asText())).isEqualTo(T);
    assertThat(Instant.parse(listingData.get("expiredAt").asText())).isEqualTo(after);
    // and both events are what docs/events.md and the published schemas promise subscribers
    for (Map<String, Object> row : outbox) {
      assertThat(
              EventSchemas.violations((String) row.get("event_type"), (String) row.get("payload")))
          .isEmpty();
    }
    assertThat(EventSchemas.violations("listing.expired", "{\"type\":\"listing.expired\"}"))
        .isNotEmpty();
  }

  @Test
  void shouldEndARowWhenItsEndIsExactlyNow() {
    // Given a promotion and a listing that end at T, and a clock with nanoseconds PostgreSQL drops
    UUID user = seed.user();
    UUID listing = seed.activeListing(user, T);
    UUID promotion = seed.featured(listing, T);
    clock.set(T.plusNanos(999));

    // When a pass runs
    PassResult result = pass(1000, BatchHook.NONE).run();

    // Then both end: expires_at is the last instant they run, and the pass compares at microseconds
    assertThat(result.expired(Expiry.PROMOTIONS)).isEqualTo(1);
    assertThat(result.expired(Expiry.LISTINGS)).isEqualTo(1);
    assertThat(expiredAt(promotion)).isEqualTo(T);
  }

  @Test
  void shouldSayInTheEndOfAWeekThatTheListingStaysFeaturedByTheNextOne() {
    // Given a listing whose featured week ends at T, followed by a second week to T + 7 days,
    // and another listing whose only week ends at T
    UUID user = seed.user();
    UUID chained = seed.activeListing(user, T.plus(Duration.ofDays(20)));
    UUID first = seed.featured(chained, T);
    seed.featured(chained, T.plus(Duration.ofDays(7)));
    UUID single = seed.activeListing(user, T.plus(Duration.ofDays(20)));
    UUID only = seed.featured(single, T);
    clock.set(T.plusSeconds(1));

    // When a pass runs
    pass(1000, BatchHook.NONE).run();

    // Then the end of the first week says the listing is featured on, until the second's end,
    // and the end of the only week says the listing is featured no more
    assertThat(expiredEventData(first).get("listingFeaturedUntil").asText())
        .isEqualTo(T.plus(Duration.ofDays(7)).toString());
    assertThat(expiredEventData(only).get("listingFeaturedUntil").isNull()).isTrue();
  }

  @Test
  void shouldCountTheNextWeekThePaymentProcessorIsAddingAsTheFirstEnds() throws Exception {
    // Given a listing whose featured week ends at T, and the payment processor adding the next
    // week under the listing's row lock, not committed yet
    UUID user = seed.user();
    UUID listing = seed.activeListing(user, T.plus(Duration.ofDays(20)));
    UUID first = seed.featured(listing, T);
    clock.set(T.plusSeconds(1));
    Instant nextEnd = T.plusSeconds(1).plus(Duration.ofDays(7));
    try (Connection processor = db.dataSource().getConnection()) {
      processor.setAutoCommit(false);
      try (PreparedStatement lock =
              processor.prepareStatement(
                  "SELECT id FROM marketplace_listings WHERE id = ? FOR UPDATE");
          PreparedStatement add =
              processor.prepareStatement(
                  """
                  INSERT INTO listing_promotions
                    (id, listing_id, type, stripe_payment_intent_id, amount_cents, starts_at,
                     expires_at)
                  VALUES (?, ?, 'featured', ?, 500, ?, ?)
                  """)) {
        lock.setObject(1, listing);
        lock.executeQuery().close();
        UUID next = UUID.randomUUID();
        add.setObject(1, next);
        add.setObject(2, listing);
        add.setString(3, "pi_" + next);
        add.setObject(4, java.time.OffsetDateTime.ofInstant(T.plusSeconds(1), ZoneOffset.UTC));
        add.setObject(5, java.time.OffsetDateTime.ofInstant(nextEnd, ZoneOffset.UTC));
        add.executeUpdate();
      }

      // When a pass runs meanwhile, and the processor then commits
      ExecutorService runner = Executors.newSingleThreadExecutor();
      try {
        Future<PassResult> pass = runner.submit(() -> pass(1000, BatchHook.NONE).run());
        Await.until(
            Duration.ofSeconds(20),
            "the pass to wait for the listing's lock",
            () ->
                db.count(
                        "pg_stat_activity WHERE wait_event_type = 'Lock'"
                            + " AND datname = current_database()")
                    > 0);
        processor.commit();
        pass.get(30, TimeUnit.SECONDS);
      } finally {
        runner.shutdownNow();
      }
    }

    // Then the end of the first week says the listing stays featured by the next one
    assertThat(expiredEventData(first).get("listingFeaturedUntil").asText())
        .isEqualTo(nextEnd.toString());
  }

  @Test
  void shouldAnnounceEachRowOnceWhenPassesRunAgain() {
    // Given a pass that ended a promotion and a listing
    UUID user = seed.user();
    UUID listing = seed.activeListing(user, T.minusSeconds(60));
    UUID promotion = seed.featured(listing, T.minusSeconds(60));
    pass(1000, BatchHook.NONE).run();
    Instant endedAt = expiredAt(promotion);

    // When passes run again, later
    clock.advance(Duration.ofDays(1));
    PassResult again = pass(1000, BatchHook.NONE).run();
    clock.advance(Duration.ofDays(1));
    pass(1000, BatchHook.NONE).run();

    // Then nothing more ends, the end stays as first recorded, and nothing more is announced
    assertThat(again.expired(Expiry.PROMOTIONS) + again.expired(Expiry.LISTINGS)).isZero();
    assertThat(expiredAt(promotion)).isEqualTo(endedAt);
    assertThat(db.count("outbox_events")).isEqualTo(2);
    assertThat(db.count("expirer_runs WHERE status = 'succeeded'")).isEqualTo(3);
  }

  @Test
  void shouldWorkABacklogInBoundedBatchesWhenThousandsAreDue() {
    // Given 5,000 due promotions and 1,200 due listings, and a pass of 500 rows per batch
    seed.backlog(5_000, 1_200, T);
    List<String> batches = Collections.synchronizedList(new ArrayList<>());
    BatchHook record = (expiry, number, rows) -> batches.add(expiry + ":" + rows);

    // When one pass runs
    PassResult result = pass(500, record).run();

    // Then every due row ended, in batches of at most 500, each committed with its events
    assertThat(result.outcome()).isEqualTo(Outcome.COMPLETED);
    assertThat(result.expired(Expiry.PROMOTIONS)).isEqualTo(5_000);
    assertThat(result.expired(Expiry.LISTINGS)).isEqualTo(1_200);
    List<String> expected = new ArrayList<>(Collections.nCopies(10, "promotions:500"));
    expected.add("promotions:0");
    expected.addAll(List.of("listings:500", "listings:500", "listings:200"));
    assertThat(batches).containsExactlyElementsOf(expected);
    assertThat(result.batches()).isEqualTo(14);
    assertThat(db.count("listing_promotions WHERE expired_at IS NULL")).isZero();
    assertThat(db.count("marketplace_listings WHERE status = 'expired'")).isEqualTo(1_200);
    assertThat(db.count("marketplace_listings WHERE status = 'active'")).isEqualTo(3_800);
    assertThat(db.count("outbox_events WHERE event_type = 'promotion.expired'")).isEqualTo(5_000);
    assertThat(db.count("outbox_events WHERE event_type = 'listing.expired'")).isEqualTo(1_200);
    assertThat(result.lastOutboxSeq()).isEqualTo(db.count("SELECT max(seq) FROM outbox_events"));
    Map<String, Object> run = db.row("SELECT * FROM expirer_runs").orElseThrow();
    assertThat(run)
        .containsEntry("status", "succeeded")
        .containsEntry("promotions_expired", 5_000)
        .containsEntry("listings_expired", 1_200)
        .containsEntry("batches", 14);
  }

  @Test
  void shouldFinishAnInterruptedPassWithTheNextOneWhenABatchFailsHalfWay() {
    // Given 2,500 due promotions and a pass whose third batch fails before its commit
    seed.backlog(2_500, 0, T);
    BatchHook crashOnThird =
        (expiry, number, rows) -> {
          if (number == 3) {
            throw new IllegalStateException("database connection lost");
          }
        };

    // When that pass runs
    PassResult interrupted = pass(500, crashOnThird).run();

    // Then the two committed batches stay, with exactly their events; the third left nothing
    assertThat(interrupted.outcome()).isEqualTo(Outcome.FAILED);
    assertThat(interrupted.expired(Expiry.PROMOTIONS)).isEqualTo(1_000);
    assertThat(db.count("listing_promotions WHERE expired_at IS NOT NULL")).isEqualTo(1_000);
    assertThat(db.count("outbox_events")).isEqualTo(1_000);
    assertThat(promotionsAnnouncedButRunning() + promotionsEndedButUnannounced()).isZero();
    assertThat(db.row("SELECT status, error_message FROM expirer_runs").orElseThrow())
        .containsEntry("status", "failed");

    // When the next pass runs
    clock.advance(Duration.ofMinutes(1));
    PassResult next = pass(500, BatchHook.NONE).run();

    // Then it ends the rest, and every promotion is announced exactly once
    assertThat(next.outcome()).isEqualTo(Outcome.COMPLETED);
    assertThat(next.expired(Expiry.PROMOTIONS)).isEqualTo(1_500);
    assertThat(db.count("listing_promotions WHERE expired_at IS NULL")).isZero();
    assertThat(db.count("outbox_events")).isEqualTo(2_500);
    assertThat(db.count("SELECT count(DISTINCT event_id) FROM outbox_events")).isEqualTo(2_500);
    assertThat(promotionsAnnouncedButRunning() + promotionsEndedButUnannounced()).isZero();
  }

  @Test
  void shouldLeaveTheRestForTheNextPassWhenAskedToStop() {
    // Given 1,000 due promotions and a pass asked to stop during its second batch
    seed.backlog(1_000, 0, T);
    ExpiryPass[] holder = new ExpiryPass[1];
    holder[0] =
        pass(
            200,
            (expiry, number, rows) -> {
              if (number == 2) {
                holder[0].requestStop();
              }
            });

    // When it runs
    PassResult stopped = holder[0].run();

    // Then it stops after that batch, which commits whole, and the run is not counted a success
    assertThat(stopped.outcome()).isEqualTo(Outcome.STOPPED);
    assertThat(stopped.expired(Expiry.PROMOTIONS)).isEqualTo(400);
    assertThat(db.count("outbox_events")).isEqualTo(400);
    assertThat(db.count("expirer_runs WHERE status = 'succeeded'")).isZero();

    // and the next pass finishes
    assertThat(pass(200, BatchHook.NONE).run().expired(Expiry.PROMOTIONS)).isEqualTo(600);
    assertThat(db.count("outbox_events")).isEqualTo(1_000);
  }

  @Test
  void shouldSkipThePassWhenAnotherReplicaHoldsTheLock() throws Exception {
    // Given a due promotion and another replica holding the pass lock
    UUID listing = seed.activeListing(seed.user(), T.plus(Duration.ofDays(10)));
    UUID promotion = seed.featured(listing, T.minusSeconds(1));
    try (Connection other = db.dataSource().getConnection();
        PreparedStatement lock = other.prepareStatement("SELECT pg_advisory_lock(?)")) {
      lock.setLong(1, PassLock.KEY);
      lock.execute();

      // When a pass runs
      PassResult busy = pass(1000, BatchHook.NONE).run();

      // Then it does nothing
      assertThat(busy.outcome()).isEqualTo(Outcome.BUSY);
      assertThat(expiredAt(promotion)).isNull();
      assertThat(db.count("expirer_runs")).isZero();
    }

    // When the other replica is gone (its session ended), then the next pass runs
    assertThat(pass(1000, BatchHook.NONE).run().expired(Expiry.PROMOTIONS)).isEqualTo(1);
  }

  @Test
  void shouldRunOnlyWhenTheScheduleCallsForItAndCloseAPassThatDied() {
    // Given a pass that died (its run row left 'running') and a daily schedule
    db.execute(
        "INSERT INTO expirer_runs (started_at, status) VALUES (?, 'running')",
        T.minus(Duration.ofHours(30)));
    Schedule daily = new Schedule.Every(Duration.ofHours(24));
    UUID listing = seed.activeListing(seed.user(), T.plus(Duration.ofDays(10)));
    seed.featured(listing, T.minusSeconds(1));

    // When the scheduler asks, then a pass runs: no pass ever succeeded
    assertThat(pass(1000, BatchHook.NONE).runIfDue(daily).outcome()).isEqualTo(Outcome.COMPLETED);
    assertThat(db.row("SELECT status FROM expirer_runs ORDER BY id LIMIT 1").orElseThrow())
        .containsEntry("status", "failed");

    // When it asks again an hour later, then no pass is due until a day after the last one
    clock.advance(Duration.ofHours(1));
    PassResult notDue = pass(1000, BatchHook.NONE).runIfDue(daily);
    assertThat(notDue.outcome()).isEqualTo(Outcome.NOT_DUE);
    assertThat(notDue.lastSuccessStart()).isEqualTo(T);
    clock.set(T.plus(Duration.ofHours(24)));
    assertThat(pass(1000, BatchHook.NONE).runIfDue(daily).outcome()).isEqualTo(Outcome.COMPLETED);
    assertThat(db.count("expirer_runs WHERE status = 'succeeded'")).isEqualTo(2);
  }

  @Test
  void shouldEndEachRowOnceWhenTwoPassesRace() throws Exception {
    // Given 3,000 due promotions and 600 due listings, and two replicas' passes started together
    seed.backlog(3_000, 600, T);
    List<PassResult> results = race(() -> pass(100, BatchHook.NONE).run());

    // Then each row ended once, by one of them, and is announced once
    int promotions = results.stream().mapToInt(r -> r.expired(Expiry.PROMOTIONS)).sum();
    int listings = results.stream().mapToInt(r -> r.expired(Expiry.LISTINGS)).sum();
    assertThat(promotions).isEqualTo(3_000);
    assertThat(listings).isEqualTo(600);
    assertThat(db.count("listing_promotions WHERE expired_at IS NULL")).isZero();
    assertThat(db.count("SELECT count(DISTINCT event_id) FROM outbox_events")).isEqualTo(3_600);
    assertThat(db.count("outbox_events")).isEqualTo(3_600);
  }

  @Test
  void shouldEndEachRowOnceWhenBatchesOfTwoWorkersInterleaveWithoutThePassLock() throws Exception {
    // Given 3,000 due promotions and 600 due listings, and two workers that skip the pass lock and
    // run batches of 50 side by side: only the row locks keep them apart
    seed.backlog(3_000, 600, T);
    List<Expiry> expiries = List.of(new PromotionExpiry(), new ListingExpiry());

    // When both drain everything
    List<int[]> counts =
        race(
            () -> {
              int[] ended = new int[2];
              for (int kind = 0; kind < 2; kind++) {
                Expiry expiry = expiries.get(kind);
                int rows;
                do {
                  rows = db.jdbi().inTransaction(tx -> expiry.expireBatch(tx, T, 50).expired());
                  ended[kind] += rows;
                } while (rows > 0);
              }
              return ended;
            });

    // Then each row ended once, and is announced once
    assertThat(counts.get(0)[0] + counts.get(1)[0]).isEqualTo(3_000);
    assertThat(counts.get(0)[1] + counts.get(1)[1]).isEqualTo(600);
    assertThat(db.count("outbox_events")).isEqualTo(3_600);
    assertThat(db.count("SELECT count(DISTINCT event_id) FROM outbox_events")).isEqualTo(3_600);
    assertThat(promotionsAnnouncedButRunning() + promotionsEndedButUnannounced()).isZero();
  }

  private ExpiryPass pass(int batchSize, BatchHook hook) {
    return new ExpiryPass(
        db.jdbi(),
        new PassLock(db.dbConfig()),
        List.of(new PromotionExpiry(), new ListingExpiry()),
        batchSize,
        clock,
        new ExpirerMetrics(new SimpleMeterRegistry()),
        hook);
  }

  private static <T> List<T> race(java.util.concurrent.Callable<T> work) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      CountDownLatch ready = new CountDownLatch(2);
      CountDownLatch go = new CountDownLatch(1);
      List<Future<T>> futures = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        futures.add(
            pool.submit(
                () -> {
                  ready.countDown();
                  go.await();
                  return work.call();
                }));
      }
      ready.await(10, TimeUnit.SECONDS);
      go.countDown();
      List<T> results = new ArrayList<>();
      for (Future<T> future : futures) {
        results.add(future.get(60, TimeUnit.SECONDS));
      }
      return results;
    } finally {
      pool.shutdownNow();
    }
  }

  private Instant expiredAt(UUID promotion) {
    return (Instant)
        db.row("SELECT expired_at FROM listing_promotions WHERE id = ?", promotion)
            .orElseThrow()
            .get("expired_at");
  }

  private String status(UUID listing) {
    return (String)
        db.row("SELECT status FROM marketplace_listings WHERE id = ?", listing)
            .orElseThrow()
            .get("status");
  }

  private List<Map<String, Object>> outbox() {
    return db.rows(
        "SELECT event_id, event_type, message_key, payload FROM outbox_events ORDER BY seq");
  }

  private JsonNode expiredEventData(UUID promotion) {
    return outbox().stream()
        .map(ExpiryPassTest::json)
        .filter(e -> e.path("data").path("promotionId").asText().equals(promotion.toString()))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no promotion.expired for " + promotion))
        .get("data");
  }

  private long promotionsAnnouncedButRunning() {
    return db.count(
        """
        SELECT count(*) FROM outbox_events o
        JOIN listing_promotions p ON p.id = (o.payload::jsonb -> 'data' ->> 'promotionId')::uuid
        WHERE o.event_type = 'promotion.expired' AND p.expired_at IS NULL
        """);
  }

  private long promotionsEndedButUnannounced() {
    return db.count(
        """
        SELECT count(*) FROM listing_promotions p
        WHERE p.expired_at IS NOT NULL AND p.type = 'featured' AND NOT EXISTS (
          SELECT 1 FROM outbox_events o
          WHERE o.event_type = 'promotion.expired'
            AND (o.payload::jsonb -> 'data' ->> 'promotionId')::uuid = p.id)
        """);
  }

  private static JsonNode json(Map<String, Object> outboxRow) {
    try {
      return Json.mapper().readTree((String) outboxRow.get("payload"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
