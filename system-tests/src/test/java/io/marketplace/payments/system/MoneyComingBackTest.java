package io.marketplace.payments.system;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.stripe.StripeClient;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.kafka.KafkaConfig;
import io.marketplace.payments.common.kafka.RecordHeaders;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.common.stripe.StripeEvent;
import io.marketplace.payments.processor.PaymentProcessor;
import io.marketplace.payments.processor.PaymentProcessorConfig;
import io.marketplace.payments.refunds.RefundWorker;
import io.marketplace.payments.refunds.RefundWorkerConfig;
import io.marketplace.payments.stripeemulator.StripeEmulator;
import io.marketplace.payments.system.support.PaidAtStripe;
import io.marketplace.payments.system.support.PaymentEvents;
import io.marketplace.payments.system.support.ServiceEnv;
import io.marketplace.payments.system.support.Sql;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.marketplace.payments.testsupport.TestDatabase;
import io.marketplace.payments.testsupport.TestInfra;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The payment processor and the refund worker read {@code stripe.events.v1} each from its own
 * place, so the refund worker may record a chargeback or a dashboard refund of a payment before the
 * processor applies its success: the processor then holds the purchase back (the customer has the
 * money). When that money comes back to us (a dispute won, a refund Stripe failed), the purchase is
 * delivered once, or refunded if it can no longer be; a featured week delivered first, and ended by
 * the refund, is given back, so both orders end with the week paid for. Both services run as
 * deployed, with the Stripe emulator holding the payments; the test publishes Stripe's events
 * itself, as the gateway would, in the order a lagging processor would see them.
 */
class MoneyComingBackTest {

  private static final Duration WAIT = Duration.ofSeconds(60);

  private static TestDatabase database;
  private static Sql db;
  private static Topics topics;
  private static KafkaTestClient kafka;
  private static StripeEmulator emulator;
  private static StripeClient stripe;
  private static PaymentProcessor processor;
  private static RefundWorker refundWorker;
  private static PaymentEvents events;

  @BeforeAll
  static void startTheServices() {
    database = TestInfra.freshDatabase();
    db = new Sql(database.url(), database.user(), database.password());
    topics = TestInfra.freshTopics();
    KafkaConfig kafkaConfig = TestInfra.kafkaConfig(topics);
    kafka = TestInfra.kafkaClient();
    emulator = StripeEmulator.start(StripeEmulator.Config.defaults());
    stripe =
        StripeClient.builder()
            .setApiKey(emulator.secretKey())
            .setApiBase(emulator.baseUrl())
            .setMaxNetworkRetries(0)
            .build();
    ServiceEnv env =
        ServiceEnv.of(
                kafkaConfig.bootstrapServers(),
                topics,
                database.url(),
                database.user(),
                database.password())
            .with("STRIPE_SECRET_KEY", emulator.secretKey())
            .with("STRIPE_API_BASE", emulator.baseUrl())
            .with("REFUND_RETRY_INTERVAL", "1s");
    processor =
        PaymentProcessor.start(
            PaymentProcessorConfig.fromEnv(env.env()),
            Clock.systemUTC(),
            options -> options.withRetries(3, Duration.ofMillis(50), Duration.ofMillis(500)));
    refundWorker =
        RefundWorker.start(
            RefundWorkerConfig.fromEnv(env.env()),
            Clock.systemUTC(),
            stripe,
            options -> options.withRetries(3, Duration.ofMillis(50), Duration.ofMillis(500)));
    Await.until(
        WAIT,
        "both services to be assigned their partitions",
        () -> processor.isAssigned() && refundWorker.isAssigned());
    events = new PaymentEvents(kafka, topics.paymentEvents(), () -> db.count("outbox_events") == 0);
  }

  @AfterAll
  static void stopTheServices() {
    if (refundWorker != null) {
      refundWorker.close();
    }
    if (processor != null) {
      processor.close();
    }
    if (emulator != null) {
      emulator.close();
    }
    if (kafka != null) {
      kafka.close();
    }
  }

  @Test
  void shouldActivateTheListingOnceWhenTheDisputeThatHeldBackItsPostingFeeIsWon() {
    // Given a listing whose posting fee was paid with a card whose holder disputed it, and the
    // refund worker recording the chargeback before the processor applies the payment's success
    UUID userId = user();
    UUID listingId = listing(userId, "pending_payment");
    String pi = pay(userId, listingId, "posting_fee", 500, true);
    String disputeId = emulator.openDispute(pi);
    publish("charge.dispute.created", emulator.object(disputeId).orElseThrow());
    awaitRefund(pi, "chargeback", "processed");
    publish("payment_intent.succeeded", emulator.object(pi).orElseThrow());
    awaitPayment(pi, "succeeded");
    assertThat(listingStatus(listingId)).isEqualTo("pending_payment");

    // When the dispute is won, weeks later: the money is ours again
    Map<String, Object> won = emulator.closeDispute(disputeId, "won");
    publish("charge.dispute.closed", won);

    // Then the listing the customer paid for goes live
    Await.until(
        WAIT, "listing " + listingId + " active", () -> "active".equals(listingStatus(listingId)));
    Object activatedAt = listingRow(listingId).get("activated_at");

    // And Stripe telling of the won dispute again changes nothing: one activation, announced once,
    // and no refund but the chargeback the card network reversed
    String again = publish("charge.dispute.funds_reinstated", won);
    awaitAppliedByRefundWorker(again);
    assertThat(listingRow(listingId)).containsEntry("activated_at", activatedAt);
    assertThat(events.ofType(listingId, "listing.activated")).hasSize(1);
    assertThat(events.ofType(listingId, "payment.succeeded")).hasSize(1);
    assertThat(db.rows("SELECT reason FROM payment_refunds WHERE stripe_payment_intent_id = ?", pi))
        .extracting(r -> r.get("reason"))
        .containsExactly("chargeback");
  }

  @Test
  void shouldRefundAHeldBackFeaturedWeekWhenItsRefundFailsAfterTheListingExpired() {
    // Given a featured week paid on an active listing, refunded in full from Stripe's dashboard,
    // the refund recorded before the processor applies the payment's success
    UUID userId = user();
    UUID listingId = listing(userId, "active");
    String pi = pay(userId, listingId, "promotion_featured", 500, true);
    Map<String, Object> refund = emulator.refundOutsideSystem(pi, null);
    publish("refund.created", refund);
    awaitRefund(pi, "user_request", "processed");
    publish("payment_intent.succeeded", emulator.object(pi).orElseThrow());
    awaitPayment(pi, "succeeded");
    assertThat(db.count("listing_promotions WHERE stripe_payment_intent_id = ?", pi)).isZero();

    // And the listing expired since
    db.execute(
        "UPDATE marketplace_listings SET status = 'expired', expires_at = ? WHERE id = ?",
        Instant.now().minus(Duration.ofHours(1)),
        listingId);

    // When Stripe fails the refund: the money is ours again
    publish("refund.failed", emulator.failRefund((String) refund.get("id")));

    // Then the customer, who can no longer get the week, is refunded automatically, once
    Map<String, Object> automatic =
        Await.value(
            WAIT,
            "an automatic refund of " + pi + " processed",
            () ->
                db.row(
                    "SELECT * FROM payment_refunds WHERE stripe_payment_intent_id = ?"
                        + " AND reason = 'technical_failure' AND status = 'processed'",
                    pi));
    assertThat(automatic).containsEntry("amount_cents", 500);
    assertThat(db.count("listing_promotions WHERE stripe_payment_intent_id = ?", pi)).isZero();
    assertThat(db.count("payment_refunds WHERE stripe_payment_intent_id = ?", pi)).isEqualTo(2);
  }

  @Test
  void shouldFeatureTheListingForTheWeekPaidForWhicheverCameFirstWhenItsRefundFailsAtStripe() {
    // Given two listings featured until the same time, each with a week bought to follow, paid at
    // Stripe and refunded in full from Stripe's dashboard
    Instant featuredUntil = Instant.now().plus(Duration.ofDays(3)).truncatedTo(ChronoUnit.MICROS);
    Bought weekFirst = featuredWeekRefunded(featuredUntil);
    Bought refundFirst = featuredWeekRefunded(featuredUntil);
    // and the processor applying one's success before the refund worker records its refund: its
    // week is made, then ended by the refund before it began
    publish("payment_intent.succeeded", emulator.object(weekFirst.pi()).orElseThrow());
    Await.until(
        WAIT,
        "the week of " + weekFirst.pi(),
        () ->
            db.count("listing_promotions WHERE stripe_payment_intent_id = ?", weekFirst.pi()) == 1);
    publish("refund.created", weekFirst.refund());
    awaitRefund(weekFirst.pi(), "user_request", "processed");
    assertThat(runningWeeks(weekFirst.listingId())).isEmpty();
    // and the other's refund recorded before its success: its week is held back
    publish("refund.created", refundFirst.refund());
    awaitRefund(refundFirst.pi(), "user_request", "processed");
    publish("payment_intent.succeeded", emulator.object(refundFirst.pi()).orElseThrow());
    awaitPayment(refundFirst.pi(), "succeeded");
    assertThat(runningWeeks(refundFirst.listingId())).isEmpty();

    // When Stripe fails both refunds: the money is ours again
    publish("refund.failed", emulator.failRefund((String) weekFirst.refund().get("id")));
    publish("refund.failed", emulator.failRefund((String) refundFirst.refund().get("id")));

    // Then each listing is featured for the week paid for, after its running week, the same in
    // both orders: given back in the one, delivered in the other
    List<List<Instant>> paidFor = List.of(List.of(featuredUntil, featuredUntil.plus(WEEK)));
    for (Bought bought : List.of(weekFirst, refundFirst)) {
      Await.until(
          WAIT,
          "the week of " + bought.pi() + " featured again",
          () -> runningWeeks(bought.listingId()).equals(paidFor));
    }
    // and announced the same: the last promotion.created of each listing is that week, paid by
    // its payment, once
    for (Bought bought : List.of(weekFirst, refundFirst)) {
      List<PaymentEvents.Event> created = events.ofType(bought.listingId(), "promotion.created");
      assertThat(created.stream().map(PaymentEvents.Event::id).distinct()).hasSameSizeAs(created);
      JsonNode last = created.getLast().data();
      assertThat(last.path("paymentIntentId").asText()).isEqualTo(bought.pi());
      assertThat(last.path("amountCents").asLong()).isEqualTo(500);
      assertThat(
              List.of(
                  Instant.parse(last.path("startsAt").asText()),
                  Instant.parse(last.path("expiresAt").asText())))
          .isEqualTo(paidFor.getFirst());
    }
    // and neither customer is refunded automatically: they have the week
    for (Bought bought : List.of(weekFirst, refundFirst)) {
      assertThat(db.count("payment_refunds WHERE stripe_payment_intent_id = ?", bought.pi()))
          .isOne();
    }
  }

  @Test
  void shouldRecordADashboardRefundThatCameBeforeThePaymentsRowAndNotDeliverWhatItPaidFor() {
    // Given a listing checked out, its payments row lost (checkout-api's insert never committed),
    // and its posting fee paid at Stripe
    UUID userId = user();
    UUID listingId = listing(userId, "pending_payment");
    String pi = paidWithoutItsRow(userId, listingId);

    // And all of it refunded from Stripe's dashboard, the refund worker applying the refund while
    // there is no payment row to record it against
    Map<String, Object> refund = emulator.refundOutsideSystem(pi, null);
    awaitAppliedByRefundWorker(publish("refund.created", refund));

    // When the processor applies the payment's success, rebuilding the row from its metadata
    publish("payment_intent.succeeded", emulator.object(pi).orElseThrow());
    awaitPayment(pi, "succeeded");

    // Then the refund is recorded against the payment, once, and announced once
    Map<String, Object> recorded =
        Await.value(
            WAIT,
            "the dashboard refund of " + pi + " recorded",
            () ->
                db.row(
                    "SELECT * FROM payment_refunds WHERE stripe_payment_intent_id = ?"
                        + " AND stripe_refund_id = ?",
                    pi,
                    refund.get("id")));
    assertThat(recorded)
        .containsEntry("reason", "user_request")
        .containsEntry("status", "processed")
        .containsEntry("amount_cents", 500);
    assertThat(events.ofType(listingId, "refund.processed")).hasSize(1);

    // And the customer, who has all of the money back, does not also get the listing
    assertThat(listingStatus(listingId)).isEqualTo("pending_payment");
    assertThat(events.ofType(listingId, "listing.activated")).isEmpty();
    assertThat(db.count("payment_refunds WHERE stripe_payment_intent_id = ?", pi)).isEqualTo(1);
  }

  @Test
  void shouldNotDeliverWhatAChargebackThatCameBeforeThePaymentsRowTookBackAndDeliverItWhenWon() {
    // Given a listing checked out, its payments row lost (checkout-api's insert never committed),
    // and its posting fee paid at Stripe
    UUID userId = user();
    UUID listingId = listing(userId, "pending_payment");
    String pi = paidWithoutItsRow(userId, listingId);

    // And all of it disputed by the card's holder, the refund worker applying the dispute while
    // there is no payment row to record its chargeback against
    String disputeId = emulator.openDispute(pi);
    awaitAppliedByRefundWorker(
        publish("charge.dispute.created", emulator.object(disputeId).orElseThrow()));

    // When the processor applies the payment's success, rebuilding the row from its metadata
    publish("payment_intent.succeeded", emulator.object(pi).orElseThrow());
    awaitPayment(pi, "succeeded");

    // Then the customer, whose money the card network took back, does not also get the listing
    assertThat(listingStatus(listingId)).isEqualTo("pending_payment");

    // And the chargeback is recorded against the payment once its row exists, and announced once
    awaitRefund(pi, "chargeback", "processed");
    events.await(listingId, "chargeback.recorded", WAIT);
    assertThat(events.ofType(listingId, "chargeback.recorded")).hasSize(1);
    assertThat(events.ofType(listingId, "listing.activated")).isEmpty();
    assertThat(listingStatus(listingId)).isEqualTo("pending_payment");

    // When the dispute is won: the money is ours again
    publish("charge.dispute.closed", emulator.closeDispute(disputeId, "won"));

    // Then the listing the customer paid for goes live, once
    Await.until(
        WAIT, "listing " + listingId + " active", () -> "active".equals(listingStatus(listingId)));
    assertThat(events.ofType(listingId, "listing.activated")).hasSize(1);
    assertThat(db.rows("SELECT reason FROM payment_refunds WHERE stripe_payment_intent_id = ?", pi))
        .extracting(r -> r.get("reason"))
        .containsExactly("chargeback");
  }

  // ---- the world

  private static final Duration WEEK = Duration.ofDays(7);

  /** A featured week paid at Stripe and its dashboard refund, neither applied yet. */
  private record Bought(UUID listingId, String pi, Map<String, Object> refund) {}

  /**
   * An active listing featured until {@code featuredUntil}, with a featured week bought to follow,
   * paid at Stripe (its success not applied yet) and refunded in full from Stripe's dashboard (the
   * refund not applied yet).
   */
  private static Bought featuredWeekRefunded(Instant featuredUntil) {
    UUID userId = user();
    UUID listingId = listing(userId, "active");
    db.execute(
        """
        INSERT INTO listing_promotions (id, listing_id, type, stripe_payment_intent_id,
                                        amount_cents, starts_at, expires_at)
        VALUES (?, ?, 'featured', ?, 500, ?, ?)
        """,
        UUID.randomUUID(),
        listingId,
        "pi_earlier_" + UUID.randomUUID().toString().replace("-", ""),
        featuredUntil.minus(WEEK),
        featuredUntil);
    String pi = pay(userId, listingId, "promotion_featured", 500, true);
    return new Bought(listingId, pi, emulator.refundOutsideSystem(pi, null));
  }

  /** The listing's featured weeks still running after the week it had, as start and end. */
  private static List<List<Instant>> runningWeeks(UUID listingId) {
    return db
        .rows(
            """
            SELECT starts_at, expires_at FROM listing_promotions
            WHERE listing_id = ? AND type = 'featured' AND expired_at IS NULL
              AND (stripe_payment_intent_id IS NULL
                   OR stripe_payment_intent_id NOT LIKE 'pi_earlier_%')
            ORDER BY starts_at
            """,
            listingId)
        .stream()
        .map(r -> List.of(instant(r.get("starts_at")), instant(r.get("expires_at"))))
        .toList();
  }

  private static Instant instant(Object value) {
    return switch (value) {
      case Instant i -> i;
      case OffsetDateTime o -> o.toInstant();
      case java.sql.Timestamp t -> t.toInstant();
      default -> throw new IllegalArgumentException("not a time: " + value);
    };
  }

  private static UUID user() {
    UUID userId = UUID.randomUUID();
    db.execute("INSERT INTO users (id) VALUES (?)", userId);
    return userId;
  }

  /** A housing listing (500 cents) of the user, as checkout-api writes it. */
  private static UUID listing(UUID userId, String status) {
    UUID listingId = UUID.randomUUID();
    boolean active = "active".equals(status);
    Instant now = Instant.now();
    db.execute(
        """
        INSERT INTO marketplace_listings
            (id, user_id, category_id, title, status, activated_at, expires_at)
        VALUES (?, ?, 1, 'Room to let', ?, ?, ?)
        """,
        listingId,
        userId,
        status,
        active ? now.minus(Duration.ofDays(2)) : null,
        active ? now.plus(Duration.ofDays(28)) : null);
    return listingId;
  }

  /**
   * A PaymentIntent paid at Stripe with a good card; with {@code recorded}, its {@code payments}
   * row as checkout-api writes it when it creates the PaymentIntent.
   */
  private static String pay(
      UUID userId, UUID listingId, String type, long amountCents, boolean recorded) {
    String pi = PaidAtStripe.withVisa(stripe, userId, listingId, type, amountCents);
    if (recorded) {
      db.execute(
          """
          INSERT INTO payments (stripe_payment_intent_id, listing_id, user_id, payment_type,
                                amount_cents, currency, status)
          VALUES (?, ?, ?, ?, ?, 'usd', 'requires_payment')
          """,
          pi,
          listingId,
          userId,
          type,
          amountCents);
    }
    return pi;
  }

  /**
   * A posting fee checked out and paid at Stripe whose {@code payments} row was lost
   * (checkout-api's insert never committed): only its checkout attempt is left; returns its
   * PaymentIntent.
   */
  private static String paidWithoutItsRow(UUID userId, UUID listingId) {
    db.execute(
        """
        INSERT INTO checkout_attempts (id, listing_id, user_id, payment_type, amount_cents, status)
        VALUES (?, ?, ?, 'posting_fee', 500, 'open')
        """,
        UUID.randomUUID(),
        listingId,
        userId);
    return pay(userId, listingId, "posting_fee", 500, false);
  }

  /** Publishes {@code object} in an event of {@code type} as the gateway does; returns its id. */
  private static String publish(String type, Map<String, Object> object) {
    String eventId = "evt_" + UUID.randomUUID().toString().replace("-", "").substring(0, 24);
    Map<String, Object> event = new LinkedHashMap<>();
    event.put("id", eventId);
    event.put("object", "event");
    event.put("api_version", "2024-06-20");
    event.put("created", Instant.now().getEpochSecond());
    event.put("data", Map.of("object", object));
    event.put("livemode", false);
    event.put("pending_webhooks", 1);
    event.put("type", type);
    String body = Json.write(event);
    kafka.send(
        topics.stripeEvents(),
        StripeEvent.parse(body.getBytes(StandardCharsets.UTF_8)).partitionKey(),
        body,
        Map.of(
            RecordHeaders.STRIPE_EVENT_ID, eventId,
            RecordHeaders.STRIPE_EVENT_TYPE, type,
            RecordHeaders.RECEIVED_AT, Instant.now().toString()));
    return eventId;
  }

  private static void awaitRefund(String pi, String reason, String status) {
    Await.until(
        WAIT,
        "a " + status + " " + reason + " refund of " + pi,
        () ->
            db.count(
                    "payment_refunds WHERE stripe_payment_intent_id = ? AND reason = ?"
                        + " AND status = ?",
                    pi,
                    reason,
                    status)
                == 1);
  }

  private static void awaitPayment(String pi, String status) {
    Await.until(
        WAIT,
        "payment " + pi + " " + status,
        () ->
            db.count("payments WHERE stripe_payment_intent_id = ? AND status = ?", pi, status)
                == 1);
  }

  private static void awaitAppliedByRefundWorker(String eventId) {
    Await.until(
        WAIT,
        "the refund worker to apply " + eventId,
        () ->
            db.count(
                    "processed_events WHERE consumer = ? AND event_key = ?",
                    RefundWorker.STRIPE_CONSUMER,
                    eventId)
                == 1);
  }

  private static Map<String, Object> listingRow(UUID listingId) {
    return db.row("SELECT * FROM marketplace_listings WHERE id = ?", listingId).orElseThrow();
  }

  private static String listingStatus(UUID listingId) {
    return (String) listingRow(listingId).get("status");
  }
}
