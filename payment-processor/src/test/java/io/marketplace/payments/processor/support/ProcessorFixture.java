package io.marketplace.payments.processor.support;

import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.kafka.RecordHeaders;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.common.worker.WorkerOptions;
import io.marketplace.payments.processor.PaymentProcessor;
import io.marketplace.payments.processor.PaymentProcessorConfig;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.marketplace.payments.testsupport.StripeFixtures;
import io.marketplace.payments.testsupport.TestDatabase;
import io.marketplace.payments.testsupport.TestInfra;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * One test class's world: its own topics and database on the shared broker and PostgreSQL, a
 * processor running against them with a fixed clock, and helpers to seed listings and payments as
 * checkout-api writes them and to deliver events as the webhook gateway does.
 */
public final class ProcessorFixture implements AutoCloseable {

  /** The processor's clock in tests: a listing activated now expires at NOW + 30 days. */
  public static final Instant NOW = Instant.parse("2026-03-02T10:00:00Z");

  public static final Duration WAIT = Duration.ofSeconds(20);

  public final Topics topics = TestInfra.freshTopics();
  public final TestDatabase db = TestInfra.freshDatabase();
  public final KafkaTestClient kafka = TestInfra.kafkaClient();
  private PaymentProcessor processor;
  private int workers = 2;

  /** Runs the processor with {@code count} consumer threads from the next start on. */
  public ProcessorFixture workers(int count) {
    this.workers = count;
    return this;
  }

  public PaymentProcessorConfig config() {
    return new PaymentProcessorConfig(
        TestInfra.kafkaConfig(topics),
        db.dbConfig(),
        PaymentProcessorConfig.SERVICE,
        Duration.ofDays(30),
        0,
        workers);
  }

  /** Starts the processor with short retries, and waits until it owns its partitions. */
  public PaymentProcessor start() {
    return start(UnaryOperator.identity());
  }

  public PaymentProcessor start(UnaryOperator<WorkerOptions> tuning) {
    processor =
        PaymentProcessor.start(
            config(),
            Clock.fixed(NOW, ZoneOffset.UTC),
            options ->
                tuning.apply(
                    options.withRetries(3, Duration.ofMillis(20), Duration.ofMillis(100))));
    Await.until(WAIT, "the processor to be assigned its partitions", processor::isAssigned);
    return processor;
  }

  public PaymentProcessor processor() {
    return processor;
  }

  public void stop() {
    if (processor != null) {
      processor.close();
      processor = null;
    }
  }

  // ---- seeding, as checkout-api writes

  /** A listing of a new user in {@code status}; an active one has its dates. */
  public UUID listing(String status) {
    return listing(UUID.randomUUID(), UUID.randomUUID(), status);
  }

  /** A listing with the given ids, for tests that build the same world twice. */
  public UUID listing(UUID listing, UUID user, String status) {
    db.execute("INSERT INTO users (id) VALUES (?)", user);
    boolean active = "active".equals(status);
    db.execute(
        """
        INSERT INTO marketplace_listings
            (id, user_id, category_id, title, status, activated_at, expires_at)
        VALUES (?, ?, 1, 'Sunny 2BR near the park', ?, ?, ?)
        """,
        listing,
        user,
        status,
        active ? NOW.minus(Duration.ofDays(2)) : null,
        active ? NOW.plus(Duration.ofDays(28)) : null);
    return listing;
  }

  public UUID ownerOf(UUID listing) {
    return (UUID)
        db.row("SELECT user_id FROM marketplace_listings WHERE id = ?", listing)
            .orElseThrow()
            .get("user_id");
  }

  /** The {@code payments} row checkout-api writes when it creates a PaymentIntent. */
  public String payment(UUID listing, String paymentType, long amount) {
    return payment(StripeFixtures.id("pi"), listing, paymentType, amount);
  }

  public String payment(String pi, UUID listing, String paymentType, long amount) {
    db.execute(
        """
        INSERT INTO payments (stripe_payment_intent_id, listing_id, user_id, payment_type,
                              amount_cents, currency, status)
        VALUES (?, ?, ?, ?, ?, 'usd', 'requires_payment')
        """,
        pi,
        listing,
        ownerOf(listing),
        paymentType,
        amount);
    return pi;
  }

  /**
   * The checkout attempt checkout-api writes before it creates the PaymentIntent: what it priced,
   * not yet tied to a PaymentIntent (as when its payments insert was lost).
   */
  public void checkoutAttempt(UUID listing, String paymentType, long amount) {
    db.execute(
        """
        INSERT INTO checkout_attempts (id, listing_id, user_id, payment_type, amount_cents, status)
        VALUES (?, ?, ?, ?, ?, 'open')
        """,
        UUID.randomUUID(),
        listing,
        ownerOf(listing),
        paymentType,
        amount);
  }

  public Map<String, String> metadataFor(UUID listing, String paymentType) {
    return StripeFixtures.metadata(listing, ownerOf(listing), 1, paymentType);
  }

  // ---- delivering, as the webhook gateway does

  /** Sends the event to {@code stripe.events.v1} keyed by its PaymentIntent, with SPEC headers. */
  public void deliver(StripeFixtures.Builder event) {
    deliver(event, event.json());
  }

  /**
   * Sends {@code body} as the event's body: the event as Stripe might write it, not as we would.
   */
  public void deliver(StripeFixtures.Builder event, String body) {
    kafka.send(
        topics.stripeEvents(),
        event.paymentIntentId(),
        body,
        Map.of(
            RecordHeaders.STRIPE_EVENT_ID, event.eventId(),
            RecordHeaders.STRIPE_EVENT_TYPE, event.type(),
            RecordHeaders.RECEIVED_AT, event.created().plusSeconds(1).toString()));
  }

  /** Waits until the event's outcome is in the audit trail, and returns that row. */
  public Map<String, Object> awaitOutcome(String eventId) {
    return Await.value(
        WAIT,
        "webhook_events row of " + eventId,
        () ->
            db.row(
                    "SELECT status, error_message, event_type FROM webhook_events"
                        + " WHERE event_id = ?",
                    eventId)
                .filter(row -> !"received".equals(row.get("status"))));
  }

  // ---- reading

  public Map<String, Object> listingRow(UUID listing) {
    return db.row("SELECT * FROM marketplace_listings WHERE id = ?", listing).orElseThrow();
  }

  public Map<String, Object> paymentRow(String pi) {
    return db.row("SELECT * FROM payments WHERE stripe_payment_intent_id = ?", pi).orElseThrow();
  }

  /** The events of {@code payments.events.v1} about one listing, as parsed envelopes. */
  public List<Map<String, Object>> awaitPaymentEvents(UUID listing, int count) {
    return Await.value(
        WAIT,
        count + " payment events of listing " + listing,
        () -> {
          List<Map<String, Object>> events = paymentEvents(listing);
          return events.size() >= count ? Optional.of(events) : Optional.empty();
        });
  }

  /**
   * The events of {@code payments.events.v1} about one listing, read once the outbox is empty (the
   * relay deletes what the broker acknowledged, so what was committed before is then on the topic).
   */
  public List<Map<String, Object>> paymentEvents(UUID listing) {
    awaitOutboxPublished();
    return kafka.readAll(topics.paymentEvents()).stream()
        .filter(record -> listing.toString().equals(record.key()))
        .map(ProcessorFixture::envelope)
        .collect(Collectors.toList());
  }

  /**
   * Sends an event type the processor ignores for {@code paymentIntentId} (so on the same partition
   * as that PaymentIntent's other events) and waits until it is audited: everything sent before it
   * on that partition has then been consumed.
   */
  public void awaitConsumedUpTo(String paymentIntentId) {
    var marker =
        StripeFixtures.paymentIntent("payment_intent.processing", paymentIntentId)
            .status("processing");
    deliver(marker);
    awaitOutcome(marker.eventId());
  }

  /** Waits until the relay published every outbox row. */
  public void awaitOutboxPublished() {
    db.awaitOutboxPublished(WAIT);
  }

  /**
   * Every record on {@code payments.events.v1}, duplicates included, as (event id, key, value), in
   * a stable order. The relay deletes outbox rows as it publishes them, so the topic is where what
   * was announced can be compared.
   */
  public List<Map<String, Object>> published() {
    return kafka.readAll(topics.paymentEvents()).stream()
        .map(
            record ->
                Map.<String, Object>of(
                    "event_id",
                    RecordHeaders.get(record.headers(), RecordHeaders.EVENT_ID).orElseThrow(),
                    "key",
                    record.key(),
                    "value",
                    new String(record.value(), java.nio.charset.StandardCharsets.UTF_8)))
        .sorted(
            java.util.Comparator.comparing((Map<String, Object> r) -> (String) r.get("event_id"))
                .thenComparing(r -> (String) r.get("value")))
        .toList();
  }

  /**
   * What the processor decided, table by table, and what it announced, without the columns that
   * only say when a row was last touched: two worlds that applied the same events compare equal.
   */
  public Map<String, List<Map<String, Object>>> state() {
    return Map.of(
        "listings",
        db.rows(
            "SELECT id, status, activated_at, expires_at, last_bumped_at, payment_intent_id"
                + " FROM marketplace_listings ORDER BY id"),
        "payments",
        db.rows(
            "SELECT stripe_payment_intent_id, listing_id, payment_type, amount_cents, status,"
                + " succeeded_at, failure_message FROM payments ORDER BY 1"),
        "promotions",
        db.rows(
            "SELECT id, listing_id, type, stripe_payment_intent_id, amount_cents, starts_at,"
                + " expires_at FROM listing_promotions ORDER BY id"),
        "published",
        published(),
        "webhook_events",
        db.rows(
            "SELECT event_id, event_type, status, error_message, received_at, processed_at"
                + " FROM webhook_events ORDER BY event_id"));
  }

  /** GETs a path of the processor's admin server: status and body. */
  public java.util.Map.Entry<Integer, String> admin(String path) {
    try (var client = java.net.http.HttpClient.newHttpClient()) {
      var response =
          client.send(
              java.net.http.HttpRequest.newBuilder(java.net.URI.create(processor.adminUrl() + path))
                  .timeout(Duration.ofSeconds(10))
                  .build(),
              java.net.http.HttpResponse.BodyHandlers.ofString());
      return Map.entry(response.statusCode(), response.body());
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** The value of one Prometheus sample of {@code /metrics}, 0 when absent. */
  public double metric(String name, String label) {
    return admin("/metrics")
        .getValue()
        .lines()
        .filter(line -> line.startsWith(name + "{") && line.contains(label))
        .mapToDouble(line -> Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)))
        .sum();
  }

  @SuppressWarnings("unchecked")
  public static Map<String, Object> envelope(ConsumerRecord<String, byte[]> record) {
    try {
      return Json.mapper().readValue(record.value(), Map.class);
    } catch (java.io.IOException e) {
      throw new AssertionError("not JSON: " + KafkaTestClient.text(record), e);
    }
  }

  @SuppressWarnings("unchecked")
  public static Map<String, Object> data(Map<String, Object> envelope) {
    return (Map<String, Object>) envelope.get("data");
  }

  @Override
  public void close() {
    stop();
    kafka.close();
  }
}
