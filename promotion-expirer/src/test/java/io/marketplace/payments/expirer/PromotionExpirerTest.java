package io.marketplace.payments.expirer;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.kafka.RecordHeaders;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.common.promotion.FeaturedPromotions;
import io.marketplace.payments.expirer.pass.PassResult;
import io.marketplace.payments.expirer.schedule.Schedule;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.EventSchemas;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.marketplace.payments.testsupport.MutableClock;
import io.marketplace.payments.testsupport.TestDatabase;
import io.marketplace.payments.testsupport.TestInfra;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The service end to end: the real PostgreSQL, the real broker, a clock the test moves. */
class PromotionExpirerTest {

  private static final Instant T = Instant.parse("2026-03-10T03:15:00Z");
  private static final Duration WAIT = Duration.ofSeconds(30);

  private final TestDatabase db = TestInfra.freshDatabase();
  private final Topics topics = TestInfra.freshTopics();
  private final KafkaTestClient kafka = TestInfra.kafkaClient();
  private final Seed seed = new Seed(db);
  private final MutableClock clock = new MutableClock(T);
  private final List<AutoCloseable> started = new ArrayList<>();

  @AfterEach
  void stop() throws Exception {
    for (AutoCloseable service : started) {
      service.close();
    }
    kafka.close();
  }

  @Test
  void shouldPublishEachExpiryOnceWhenItsEndHasPassed() {
    // Given a promotion and a listing that ended a second ago, and ones that end in an hour
    UUID user = seed.user();
    UUID listing = seed.activeListing(user, T.minusSeconds(1));
    UUID promotedListing = seed.activeListing(user, T.plus(Duration.ofDays(20)));
    UUID promotion = seed.featured(promotedListing, T.minusSeconds(1));
    UUID laterListing = seed.activeListing(user, T.plus(Duration.ofHours(1)));
    UUID laterPromotion = seed.featured(promotedListing, T.plus(Duration.ofHours(1)));

    // When the expirer starts (no pass ever ran, so one is due at once)
    start(config());

    // Then the ended ones are announced on payments.events.v1, keyed by listing id
    List<ConsumerRecord<String, byte[]>> records = awaitAllPublished(2);
    assertThat(records).hasSize(2);
    ConsumerRecord<String, byte[]> promotionRecord = ofType(records, "promotion.expired");
    assertThat(promotionRecord.key()).isEqualTo(promotedListing.toString());
    assertThat(json(promotionRecord).at("/data/promotionId").asText())
        .isEqualTo(promotion.toString());
    assertThat(KafkaTestClient.header(promotionRecord, RecordHeaders.EVENT_TYPE))
        .contains("promotion.expired");
    ConsumerRecord<String, byte[]> listingRecord = ofType(records, "listing.expired");
    assertThat(listingRecord.key()).isEqualTo(listing.toString());
    assertThat(json(listingRecord).at("/data/userId").asText()).isEqualTo(user.toString());
    for (ConsumerRecord<String, byte[]> record : records) {
      String type = KafkaTestClient.header(record, RecordHeaders.EVENT_TYPE).orElseThrow();
      assertThat(EventSchemas.violations(type, KafkaTestClient.text(record))).isEmpty();
    }
    // and the later ones still run
    assertThat(db.count("marketplace_listings WHERE id = ? AND status = 'active'", laterListing))
        .isEqualTo(1);
    assertThat(db.count("listing_promotions WHERE id = ? AND expired_at IS NULL", laterPromotion))
        .isEqualTo(1);

    // When the clock passes their end, but the daily schedule's next pass is still to come
    clock.advance(Duration.ofHours(2));

    // Then nothing is ended before the next pass
    Await.never(
        Duration.ofMillis(600),
        "a pass before the schedule calls for one",
        () -> db.count("expirer_runs") > 1);

    // When the next pass is due
    clock.set(T.plus(Duration.ofHours(24)));

    // Then it ends them and announces them, and nothing is announced twice
    List<ConsumerRecord<String, byte[]>> all = awaitAllPublished(4);
    assertThat(all).hasSize(4);
    assertThat(all.stream().map(r -> json(r).get("id").asText()).distinct()).hasSize(4);
    assertThat(db.count("marketplace_listings WHERE id = ? AND status = 'expired'", laterListing))
        .isEqualTo(1);
    assertThat(db.count("expirer_runs WHERE status = 'succeeded'")).isEqualTo(2);
  }

  @Test
  void shouldRetryWithinTheFailureBackoffWhenThePassSkippedADueListingAnotherTransactionHeld()
      throws Exception {
    // Given a listing that ended an hour ago, whose row the payment processor holds as the
    // expirer starts (no pass ever ran, so one is due at once)
    UUID listing = seed.activeListing(seed.user(), T.minus(Duration.ofHours(1)));
    try (Connection processor = db.dataSource().getConnection()) {
      processor.setAutoCommit(false);
      try (PreparedStatement lock =
          processor.prepareStatement(
              "SELECT id FROM marketplace_listings WHERE id = ? FOR UPDATE")) {
        lock.setObject(1, listing);
        lock.executeQuery().close();
      }
      start(config());

      // When the pass skips it, and the holder commits a moment later
      Await.until(
          WAIT,
          "a pass that left the held listing",
          () -> db.count("expirer_runs WHERE status = 'failed'") == 1);
      processor.commit();
    }
    assertThat(db.count("expirer_runs WHERE status = 'succeeded'")).isZero();

    // Then the scheduler tries again after its first backoff, not the next day, and that pass ends
    // the listing and announces it once
    clock.advance(Scheduler.FIRST_FAILURE_RETRY);
    List<ConsumerRecord<String, byte[]>> records = awaitAllPublished(1);
    assertThat(records).hasSize(1);
    assertThat(ofType(records, "listing.expired").key()).isEqualTo(listing.toString());
    assertThat(db.count("marketplace_listings WHERE id = ? AND status = 'expired'", listing))
        .isEqualTo(1);
    Await.until(
        WAIT,
        "the retried pass recorded",
        () -> db.count("expirer_runs WHERE status = 'succeeded'") == 1);
  }

  @Test
  void shouldReportExpiriesAndTheLastSuccessWhenScraped() {
    // Given a due promotion and a running expirer that passed
    UUID listing = seed.activeListing(seed.user(), T.plus(Duration.ofDays(5)));
    seed.featured(listing, T.minusSeconds(30));
    PromotionExpirer expirer = start(config());
    Await.until(
        WAIT, "a successful pass", () -> db.count("expirer_runs WHERE status = 'succeeded'") == 1);

    // When metrics and readiness are asked
    String metrics = get(expirer.baseUrl() + "/metrics").body();

    // Then they show what the pass did and when it succeeded (the injected clock's time)
    assertThat(metrics)
        .containsPattern("payments_expirer_promotions_expired_total\\{[^}]*} 1\\.0")
        .containsPattern("payments_expirer_listings_expired_total\\{[^}]*} 0\\.0");
    assertThat(sample(metrics, "payments_expirer_last_success{")).isEqualTo(T.getEpochSecond());
    assertThat(get(expirer.baseUrl() + "/health/ready").statusCode()).isEqualTo(200);
  }

  @Test
  void shouldExpireEachRowOnceWhenTwoExpirersStartTogether() {
    // Given 2,000 due promotions and 500 due listings, and two replicas on the same database
    seed.backlog(2_000, 500, T);
    ExpirerConfig config = config().withBatchSize(100);

    // When both start at the same moment
    CompletableFuture<PromotionExpirer> first =
        CompletableFuture.supplyAsync(() -> PromotionExpirer.start(config, clock));
    CompletableFuture<PromotionExpirer> second =
        CompletableFuture.supplyAsync(() -> PromotionExpirer.start(config, clock));
    started.add(first.join());
    started.add(second.join());

    // Then every row is ended once and every event is on the topic once
    List<ConsumerRecord<String, byte[]>> records = awaitAllPublished(2_500);
    assertThat(records).hasSize(2_500);
    assertThat(records.stream().map(r -> json(r).get("id").asText()).distinct()).hasSize(2_500);
    assertThat(db.count("listing_promotions WHERE expired_at IS NULL")).isZero();
    assertThat(db.count("marketplace_listings WHERE status = 'expired'")).isEqualTo(500);
    // and one pass did it: the other found it running, or found it done
    assertThat(db.rows("SELECT promotions_expired, listings_expired FROM expirer_runs"))
        .singleElement()
        .satisfies(
            run -> {
              assertThat(run).containsEntry("promotions_expired", 2_000);
              assertThat(run).containsEntry("listings_expired", 500);
            });
  }

  @Test
  void shouldDeleteStripeEventAuditRowsOnlyWhenOlderThanTheRetention() {
    // Given 5 audited Stripe events received 91 days ago, 2 received 89 days ago, and a listing due
    for (int i = 0; i < 7; i++) {
      db.execute(
          "INSERT INTO webhook_events (event_id, event_type, payload, received_at, status)"
              + " VALUES (?, 'payment_intent.succeeded', '{}'::jsonb, ?, 'processed')",
          "evt_" + i,
          T.minus(Duration.ofDays(i < 5 ? 91 : 89)));
    }
    seed.activeListing(seed.user(), T.minusSeconds(1));

    // When a pass runs with a 90-day retention, two rows per batch
    PromotionExpirer.OnceResult result =
        PromotionExpirer.runOnce(
            config().withBatchSize(2).withWebhookEventsRetention(Duration.ofDays(90)), clock);

    // Then the old rows are gone, in batches, the recent ones stay, and the listing ended as ever
    assertThat(result.succeeded()).isTrue();
    assertThat(result.pass().expired("webhook_events")).isEqualTo(5);
    assertThat(db.rows("SELECT event_id FROM webhook_events ORDER BY event_id"))
        .extracting(row -> row.get("event_id"))
        .containsExactly("evt_5", "evt_6");
    assertThat(db.count("marketplace_listings WHERE status = 'expired'")).isEqualTo(1);
  }

  @Test
  void shouldLeaveTheUnpaidPromotionsOfAnExpiredListingToBeCanceledAtStripe() {
    // Given a listing that ended a second ago with a featured week checked out and declined (its
    // PaymentIntent confirmable again with another card), an open bump attempt whose payment is
    // not recorded yet, and its posting fee paid; and a listing that ends in an hour with a
    // featured week checked out and unpaid
    UUID user = seed.user();
    UUID ended = seed.activeListing(user, T.minusSeconds(1));
    String declined = payment(ended, user, "promotion_featured", "failed");
    String paidFee = payment(ended, user, "posting_fee", "succeeded");
    String openBump = "pi_bump_" + UUID.randomUUID().toString().replace("-", "");
    db.execute(
        """
        INSERT INTO checkout_attempts (id, listing_id, user_id, payment_type, amount_cents,
            stripe_payment_intent_id, status)
        VALUES (?, ?, ?, 'promotion_bump', 200, ?, 'open')
        """,
        UUID.randomUUID(),
        ended,
        user,
        openBump);
    UUID later = seed.activeListing(user, T.plus(Duration.ofHours(1)));
    String laterOpen = payment(later, user, "promotion_featured", "requires_payment");

    // When one pass runs
    assertThat(PromotionExpirer.runOnce(config(), clock).succeeded()).isTrue();

    // Then the ended listing's unpaid purchases are left for the refund worker to cancel at
    // Stripe, and nothing else
    assertThat(
            db.rows(
                "SELECT stripe_payment_intent_id, listing_id, reason FROM payment_intents_to_cancel"
                    + " ORDER BY stripe_payment_intent_id"))
        .containsExactlyInAnyOrder(
            Map.of(
                "stripe_payment_intent_id", declined,
                "listing_id", ended,
                "reason", "listing_expired"),
            Map.of(
                "stripe_payment_intent_id", openBump,
                "listing_id", ended,
                "reason", "listing_expired"));
    assertThat(
            db.count(
                "payment_intents_to_cancel WHERE stripe_payment_intent_id IN (?, ?)",
                paidFee,
                laterOpen))
        .isZero();
  }

  /** A payments row of {@code listing} as checkout-api and the payment processor leave it. */
  private String payment(UUID listing, UUID user, String type, String status) {
    String id = "pi_" + UUID.randomUUID().toString().replace("-", "");
    db.execute(
        """
        INSERT INTO payments
            (stripe_payment_intent_id, listing_id, user_id, payment_type, amount_cents, status,
             succeeded_at)
        VALUES (?, ?, ?, ?, 500, ?, CASE WHEN ? = 'succeeded' THEN now() END)
        """,
        id,
        listing,
        user,
        type,
        status,
        status);
    return id;
  }

  @Test
  void shouldReturnOnlyOnceTheEventsArePublishedWhenRunOnce() {
    // Given 300 due promotions
    seed.backlog(300, 0, T);

    // When one pass runs as --once runs it
    PromotionExpirer.OnceResult result = PromotionExpirer.runOnce(config(), clock);

    // Then it succeeded, and its events are already on the topic when it returns
    assertThat(result.succeeded()).isTrue();
    assertThat(result.pass().outcome()).isEqualTo(PassResult.Outcome.COMPLETED);
    assertThat(result.pass().expired("promotions")).isEqualTo(300);
    assertThat(kafka.readAll(topics.paymentEvents())).hasSize(300);
  }

  @Test
  void shouldReturnOnceItsOwnEventsArePublishedWhenAnotherRowWaitsInTheOutbox() {
    // Given a row another service wrote that the relay cannot publish and keeps, its error noted
    // (here a destination of a newer version; a message too large for its topic stays so for good)
    db.execute(
        "INSERT INTO outbox_events (event_id, destination, message_key, event_type, payload)"
            + " VALUES (?, 'A_NEWER_DESTINATION', 'elsewhere', 'something.newer', '{}')",
        UUID.randomUUID());
    // and a promotion that ended a second ago
    UUID listing = seed.activeListing(seed.user(), T.plus(Duration.ofDays(20)));
    UUID promotion = seed.featured(listing, T.minusSeconds(1));

    // When one pass runs as --once runs it, waiting up to 15 s for its events
    PromotionExpirer.OnceResult result =
        PromotionExpirer.runOnce(config().withPublishTimeout(Duration.ofSeconds(15)), clock);

    // Then it succeeded: its own event is on the topic; the other row is not the pass's to wait
    // for (the relay's own alert is about it), and it is still there
    assertThat(result.pass().outcome()).isEqualTo(PassResult.Outcome.COMPLETED);
    assertThat(result.published()).isTrue();
    assertThat(result.succeeded()).isTrue();
    List<ConsumerRecord<String, byte[]>> records = kafka.readAll(topics.paymentEvents());
    assertThat(records).hasSize(1);
    assertThat(json(records.get(0)).at("/data/promotionId").asText())
        .isEqualTo(promotion.toString());
    assertThat(db.count("outbox_events WHERE destination = 'A_NEWER_DESTINATION'")).isEqualTo(1);
  }

  @Test
  void shouldNotAnnounceAgainAFeaturedWeekThatARejectionEnded() {
    // Given a listing featured until day 3, rejected at T, which ended its week as moderation
    // does, and another listing featured until day 3 too
    UUID user = seed.user();
    UUID rejected = seed.activeListing(user, T.plus(Duration.ofDays(20)));
    UUID endedEarly = seed.featured(rejected, T.plus(Duration.ofDays(3)));
    UUID other = seed.activeListing(user, T.plus(Duration.ofDays(20)));
    UUID endedOnTime = seed.featured(other, T.plus(Duration.ofDays(3)));
    db.jdbi()
        .useTransaction(
            tx -> {
              tx.createUpdate("UPDATE marketplace_listings SET status = 'rejected' WHERE id = :id")
                  .bind("id", rejected)
                  .execute();
              FeaturedPromotions.endForRejectedListing(tx, rejected, T);
            });

    // When the expirer passes after day 3
    clock.set(T.plus(Duration.ofDays(4)));
    PromotionExpirer.OnceResult result = PromotionExpirer.runOnce(config(), clock);

    // Then it ends only the week still running, and each week's end is announced once: the early
    // one as the rejection ended it
    assertThat(result.succeeded()).isTrue();
    assertThat(result.pass().expired("promotions")).isEqualTo(1);
    List<JsonNode> events =
        kafka.readAll(topics.paymentEvents()).stream()
            .map(PromotionExpirerTest::json)
            .filter(e -> e.get("type").asText().equals("promotion.expired"))
            .toList();
    assertThat(events)
        .extracting(e -> e.at("/data/promotionId").asText())
        .containsExactlyInAnyOrder(endedEarly.toString(), endedOnTime.toString());
    JsonNode early =
        events.stream()
            .filter(e -> e.at("/data/promotionId").asText().equals(endedEarly.toString()))
            .findFirst()
            .orElseThrow();
    assertThat(Instant.parse(early.at("/data/expiredAt").asText())).isEqualTo(T);
    assertThat(db.count("listing_promotions WHERE id = ? AND expired_at = ?", endedEarly, T))
        .isEqualTo(1);
  }

  private ExpirerConfig config() {
    return new ExpirerConfig(
        db.dbConfig(),
        TestInfra.kafkaConfig(topics),
        0,
        new Schedule.Every(Duration.ofHours(24)),
        1000,
        Duration.ofMillis(20),
        Duration.ofSeconds(30),
        ExpirerConfig.DEFAULT_RETENTION);
  }

  private PromotionExpirer start(ExpirerConfig config) {
    PromotionExpirer expirer = PromotionExpirer.start(config, clock);
    started.add(expirer);
    return expirer;
  }

  /** Waits for {@code count} records, then for the outbox to be drained, and reads the topic. */
  private List<ConsumerRecord<String, byte[]>> awaitAllPublished(int count) {
    kafka.awaitRecords(topics.paymentEvents(), count, WAIT);
    Await.until(
        WAIT,
        "the outbox to be published",
        () -> db.count("outbox_events WHERE published_at IS NULL") == 0);
    return kafka.readAll(topics.paymentEvents());
  }

  private static ConsumerRecord<String, byte[]> ofType(
      List<ConsumerRecord<String, byte[]>> records, String type) {
    return records.stream()
        .filter(r -> json(r).get("type").asText().equals(type))
        .findFirst()
        .orElseThrow();
  }

  private static JsonNode json(ConsumerRecord<String, byte[]> record) {
    try {
      return Json.mapper().readTree(record.value());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The value of the first sample whose line starts with {@code prefix}. */
  private static double sample(String metrics, String prefix) {
    return metrics
        .lines()
        .filter(line -> line.startsWith(prefix))
        .map(line -> Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no " + prefix + " in " + metrics));
  }

  private static HttpResponse<String> get(String url) {
    try (HttpClient client = HttpClient.newHttpClient()) {
      return client.send(
          HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
          HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
