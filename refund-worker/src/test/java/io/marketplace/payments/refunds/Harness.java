package io.marketplace.payments.refunds;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.stripe.StripeClient;
import com.stripe.exception.StripeException;
import com.stripe.model.PaymentIntent;
import com.stripe.model.Refund;
import com.stripe.param.PaymentIntentCreateParams;
import com.stripe.param.RefundListParams;
import io.marketplace.payments.common.events.ModerationDecision;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.kafka.RecordHeaders;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.common.refund.RefundExecutor;
import io.marketplace.payments.common.stripe.StripeConfig;
import io.marketplace.payments.stripeemulator.StripeEmulator;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.marketplace.payments.testsupport.TestDatabase;
import io.marketplace.payments.testsupport.TestInfra;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.UnaryOperator;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * One running refund worker for a test class, on its own database and topics, with the Stripe
 * emulator standing in for Stripe and its webhooks forwarded to {@code stripe.events.v1}.
 */
public final class Harness implements AutoCloseable {

  public static final Duration WAIT = Duration.ofSeconds(20);
  static final String POSTING_FEE = "posting_fee";

  private final TestDatabase db = TestInfra.freshDatabase();
  private final Topics topics = TestInfra.freshTopics();
  private final KafkaTestClient kafka = TestInfra.kafkaClient();
  private final MutableClock clock = new MutableClock();
  private final StripeEmulator emulator = StripeEmulator.start(StripeEmulator.Config.defaults());
  private final StripeToKafka webhooks = new StripeToKafka(kafka, topics.stripeEvents());
  private final StripeClient stripe;
  private final RefundWorker worker;

  /**
   * A worker whose janitor retries every {@code retryInterval}, calling Stripe with {@code
   * readTimeout}.
   */
  public Harness(Duration retryInterval, Duration readTimeout) {
    this(retryInterval, readTimeout, UnaryOperator.identity());
  }

  /**
   * A worker whose janitor retries every {@code retryInterval}, calling Stripe with {@code
   * readTimeout} through a client that {@code workerStripe} may change (its HTTP client, to make
   * calls fail as no emulator does); the test's own calls to Stripe keep the plain client.
   */
  public Harness(
      Duration retryInterval,
      Duration readTimeout,
      UnaryOperator<StripeClient.StripeClientBuilder> workerStripe) {
    emulator.addWebhookEndpoint(webhooks.url(), "whsec_refund_worker_tests");
    stripe = stripeClient(readTimeout).build();
    RefundWorkerConfig config =
        new RefundWorkerConfig(
            TestInfra.kafkaConfig(topics),
            db.dbConfig(),
            new StripeConfig(emulator.secretKey(), emulator.baseUrl()),
            0,
            retryInterval,
            Duration.ofHours(1));
    worker =
        RefundWorker.start(
            config,
            clock,
            workerStripe.apply(stripeClient(readTimeout)).build(),
            options -> options.withRetries(3, Duration.ofMillis(50), Duration.ofMillis(200)));
    Await.until(Duration.ofSeconds(30), "the refund worker's partitions", worker::isAssigned);
  }

  private StripeClient.StripeClientBuilder stripeClient(Duration readTimeout) {
    return StripeClient.builder()
        .setApiKey(emulator.secretKey())
        .setApiBase(emulator.baseUrl())
        .setReadTimeout((int) readTimeout.toMillis())
        .setMaxNetworkRetries(0);
  }

  /** A worker whose janitor only runs when a test asks ({@link #retryNow()}). */
  public Harness() {
    this(Duration.ofMinutes(10), Duration.ofSeconds(20));
  }

  public TestDatabase db() {
    return db;
  }

  public Topics topics() {
    return topics;
  }

  public KafkaTestClient kafka() {
    return kafka;
  }

  public StripeEmulator emulator() {
    return emulator;
  }

  public StripeToKafka webhooks() {
    return webhooks;
  }

  public StripeClient stripe() {
    return stripe;
  }

  public RefundWorker worker() {
    return worker;
  }

  public RefundExecutor executor() {
    return worker.executor();
  }

  public Instant now() {
    return clock.instant();
  }

  public void advanceClock(Duration by) {
    clock.advance(by);
  }

  /** The worker's {@code /metrics}, as Prometheus scrapes it. */
  public String metrics() {
    try (HttpClient client = HttpClient.newHttpClient()) {
      return client
          .send(
              HttpRequest.newBuilder(URI.create(worker.baseUrl() + "/metrics")).build(),
              HttpResponse.BodyHandlers.ofString())
          .body();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Runs one janitor pass now. */
  public int retryNow() {
    return worker.retryApprovedRefunds();
  }

  /** What checkout-api's approve route does before it executes the refund. */
  public void approve(UUID refundId) {
    db.execute(
        "UPDATE payment_refunds SET status = 'approved', updated_at = ? WHERE id = ? AND status = 'pending'",
        now(),
        refundId);
  }

  /** The PaymentIntent's status at Stripe. */
  public String stripeStatus(String paymentIntentId) {
    try {
      return stripe.v1().paymentIntents().retrieve(paymentIntentId).getStatus();
    } catch (StripeException e) {
      throw new IllegalStateException(e);
    }
  }

  public String listingStatus(UUID listingId) {
    return (String)
        db.row("SELECT status FROM marketplace_listings WHERE id = ?", listingId)
            .orElseThrow()
            .get("status");
  }

  /**
   * Waits until the worker applied every Stripe event forwarded so far of a type it acts on (it
   * passes over the others without a trace).
   */
  public void awaitStripeEventsApplied() {
    List<String> ids = webhooks.forwardedIds(worker::handlesStripeEvent);
    Await.until(
        WAIT,
        "the refund worker to apply " + ids.size() + " Stripe events",
        () ->
            db.count(
                    "processed_events WHERE consumer = ? AND event_key = ANY(?)",
                    RefundWorker.STRIPE_CONSUMER,
                    ids.toArray(String[]::new))
                == ids.size());
  }

  /** Waits until the worker applied {@code count} distinct moderation decisions of a listing. */
  public void awaitModerationApplied(UUID listingId, int count) {
    Await.until(
        WAIT,
        count + " moderation decisions applied",
        () ->
            db.count(
                    "processed_events WHERE consumer = ? AND event_key LIKE ?",
                    RefundWorker.MODERATION_CONSUMER,
                    "moderation:" + listingId + ":%")
                == count);
  }

  /** A listing whose posting fee, paid with a real (emulated) card, succeeded {@code ago}. */
  public record Paid(UUID userId, UUID listingId, String paymentIntentId, long amountCents) {}

  public Paid paidListing(Duration ago) {
    return paidListing(UUID.randomUUID(), ago, 500);
  }

  public Paid paidListing(UUID userId, Duration ago, long amountCents) {
    return paidListing(userId, ago, amountCents, "pm_card_visa");
  }

  /**
   * An {@code approved} user_request refund of {@code amount} of {@code paid}, as an admin leaves
   * it.
   */
  public UUID approvedRefund(Paid paid, long amount) {
    UUID id = UUID.randomUUID();
    db.execute(
        """
        INSERT INTO payment_refunds
            (id, user_id, listing_id, stripe_payment_intent_id, amount_cents, reason, status)
        VALUES (?, ?, ?, ?, ?, 'user_request', 'approved')
        """,
        id,
        paid.userId(),
        paid.listingId(),
        paid.paymentIntentId(),
        amount);
    return id;
  }

  /**
   * A {@code pending} user_request refund of {@code amount} of {@code paid}, as checkout-api's
   * refund request route records it.
   */
  public UUID pendingRequest(Paid paid, long amount) {
    UUID id = UUID.randomUUID();
    db.execute(
        """
        INSERT INTO payment_refunds
            (id, user_id, listing_id, stripe_payment_intent_id, amount_cents, reason, status, note)
        VALUES (?, ?, ?, ?, ?, 'user_request', 'pending', 'changed my mind')
        """,
        id,
        paid.userId(),
        paid.listingId(),
        paid.paymentIntentId(),
        amount);
    return id;
  }

  /** A listing paid with Stripe's test card {@code card} ({@code pm_card_refundFail}, ...). */
  public Paid paidListing(UUID userId, Duration ago, long amountCents, String card) {
    UUID listingId = UUID.randomUUID();
    db.execute("INSERT INTO users (id) VALUES (?) ON CONFLICT DO NOTHING", userId);
    Instant paidAt = clock.instant().minus(ago);
    db.execute(
        """
        INSERT INTO marketplace_listings
            (id, user_id, category_id, title, status, activated_at, expires_at)
        VALUES (?, ?, 1, 'Room to let', 'active', ?, ?)
        """,
        listingId,
        userId,
        paidAt,
        paidAt.plus(Duration.ofDays(30)));
    String pi = charge(userId, listingId, amountCents, POSTING_FEE, card);
    db.execute("UPDATE marketplace_listings SET payment_intent_id = ? WHERE id = ?", pi, listingId);
    recordPayment(pi, userId, listingId, amountCents, POSTING_FEE, paidAt);
    return new Paid(userId, listingId, pi, amountCents);
  }

  /** Pays {@code amountCents} at the emulator with Stripe's succeeding test card. */
  public String charge(UUID userId, UUID listingId, long amountCents, String type) {
    return charge(userId, listingId, amountCents, type, "pm_card_visa");
  }

  /** Pays {@code amountCents} at the emulator with the test card {@code card}. */
  public String charge(UUID userId, UUID listingId, long amountCents, String type, String card) {
    try {
      PaymentIntent pi =
          stripe
              .v1()
              .paymentIntents()
              .create(
                  PaymentIntentCreateParams.builder()
                      .setAmount(amountCents)
                      .setCurrency("usd")
                      .setPaymentMethod(card)
                      .setConfirm(true)
                      .putMetadata("listing_id", listingId.toString())
                      .putMetadata("user_id", userId.toString())
                      .putMetadata("category_id", "1")
                      .putMetadata("payment_type", type)
                      .build());
      if (!"succeeded".equals(pi.getStatus())) {
        throw new IllegalStateException("payment did not succeed: " + pi.getStatus());
      }
      return pi.getId();
    } catch (StripeException e) {
      throw new IllegalStateException(e);
    }
  }

  public void recordPayment(
      String pi, UUID userId, UUID listingId, long amountCents, String type, Instant paidAt) {
    db.execute(
        """
        INSERT INTO payments
            (stripe_payment_intent_id, listing_id, user_id, payment_type, amount_cents, status,
             created_at, succeeded_at)
        VALUES (?, ?, ?, ?, ?, 'succeeded', ?, ?)
        """,
        pi,
        listingId,
        userId,
        type,
        amountCents,
        paidAt.minusSeconds(30),
        paidAt);
  }

  /** A moderator rejects the listing now, as another service would publish it. */
  public void reject(UUID listingId, Instant decidedAt) {
    kafka.send(
        topics.moderation(),
        listingId.toString(),
        Json.write(
            new ModerationDecision(
                listingId, ModerationDecision.REJECTED, "prohibited item", decidedAt)));
  }

  public List<Map<String, Object>> refunds(String paymentIntentId) {
    return db.rows(
        "SELECT * FROM payment_refunds WHERE stripe_payment_intent_id = ? ORDER BY created_at",
        paymentIntentId);
  }

  public Map<String, Object> awaitRefund(String paymentIntentId, String status) {
    return Await.value(
        WAIT,
        "a " + status + " refund of " + paymentIntentId,
        () ->
            refunds(paymentIntentId).stream()
                .filter(r -> status.equals(r.get("status")))
                .findFirst());
  }

  /**
   * Stripe refunded the payment once, as {@code stripeRefundId}, and the payment's one refund
   * record is processed with it: the customer got the money back once.
   */
  public void assertRefundedOnceAs(String paymentIntentId, String stripeRefundId) {
    assertThat(stripeRefunds(paymentIntentId))
        .singleElement()
        .satisfies(r -> assertThat(r.getId()).isEqualTo(stripeRefundId));
    assertThat(refunds(paymentIntentId))
        .singleElement()
        .satisfies(
            r ->
                assertThat(r)
                    .containsEntry("status", "processed")
                    .containsEntry("stripe_refund_id", stripeRefundId));
  }

  /** The refunds Stripe holds for a PaymentIntent. */
  public List<Refund> stripeRefunds(String paymentIntentId) {
    try {
      return stripe
          .v1()
          .refunds()
          .list(RefundListParams.builder().setPaymentIntent(paymentIntentId).build())
          .getData();
    } catch (StripeException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * The {@code payments.events.v1} events of {@code type} whose data mentions {@code text}, read
   * once the outbox is empty: everything committed before the call is then on the topic (the relay
   * deletes what the broker acknowledged).
   */
  public List<JsonNode> paymentEvents(String type, String text) {
    awaitOutboxPublished();
    return kafka.readAll(topics.paymentEvents()).stream()
        .filter(r -> type.equals(header(r, RecordHeaders.EVENT_TYPE)))
        .map(Harness::json)
        .filter(event -> event.path("data").toString().contains(text))
        .toList();
  }

  /** Waits until the relay published every outbox row committed so far. */
  public void awaitOutboxPublished() {
    db.awaitOutboxPublished(WAIT);
  }

  public JsonNode awaitPaymentEvent(String type, String text) {
    return Await.value(
        WAIT, type + " about " + text, () -> paymentEvents(type, text).stream().findFirst());
  }

  private static String header(ConsumerRecord<String, byte[]> record, String name) {
    return KafkaTestClient.header(record, name).orElse("");
  }

  static JsonNode json(ConsumerRecord<String, byte[]> record) {
    try {
      return Json.mapper().readTree(record.value());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() {
    worker.close();
    webhooks.close();
    emulator.close();
    kafka.close();
  }
}
