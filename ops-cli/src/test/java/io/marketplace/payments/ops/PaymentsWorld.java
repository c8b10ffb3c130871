package io.marketplace.payments.ops;

import com.stripe.StripeClient;
import com.stripe.exception.StripeException;
import com.stripe.param.PaymentIntentCreateParams;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.kafka.RecordHeaders;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.common.stripe.StripeConfig;
import io.marketplace.payments.processor.PaymentProcessor;
import io.marketplace.payments.processor.PaymentProcessorConfig;
import io.marketplace.payments.refunds.RefundWorker;
import io.marketplace.payments.refunds.RefundWorkerConfig;
import io.marketplace.payments.stripeemulator.StripeEmulator;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.marketplace.payments.testsupport.TestDatabase;
import io.marketplace.payments.testsupport.TestInfra;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * The system a test operates on: its own topics and database, the real payment processor running on
 * them under a consumer group of its own, and helpers that write what checkout-api writes and
 * deliver what the webhook gateway delivers.
 */
public final class PaymentsWorld implements AutoCloseable {

  public static final Duration WAIT = Duration.ofSeconds(30);
  private static final AtomicLong EVENTS = new AtomicLong();

  public final Topics topics = TestInfra.freshTopics();
  public final TestDatabase db = TestInfra.freshDatabase();
  public final KafkaTestClient kafka = TestInfra.kafkaClient();
  public final String processorGroup = TestInfra.uniqueName("payment_processor_");

  /**
   * The arguments of {@code payments reconcile --since SINCE --wait WAIT} against this world's
   * processor group: repairs published, and the processor waited for.
   */
  public String[] reconcileAndApply(String since, String wait) {
    return new String[] {
      "reconcile", "--since", since, "--wait", wait, "--payment-consumer", processorGroup
    };
  }

  private PaymentProcessor processor;

  public Cli cli() {
    return new Cli().kafka(topics).database(db);
  }

  /** Starts the processor with short retries and waits until it owns its partitions. */
  public void startProcessor() {
    processor =
        PaymentProcessor.start(
            new PaymentProcessorConfig(
                TestInfra.kafkaConfig(topics),
                db.dbConfig(),
                processorGroup,
                Duration.ofDays(30),
                0),
            Clock.systemUTC(),
            options -> options.withRetries(3, Duration.ofMillis(20), Duration.ofMillis(100)));
    Await.until(WAIT, "the processor to be assigned its partitions", processor::isAssigned);
  }

  public void stopProcessor() {
    if (processor != null) {
      processor.close();
      processor = null;
    }
  }

  // ---- as checkout-api writes

  /** A listing of a new user, waiting for its posting fee (housing). */
  public UUID pendingListing() {
    UUID user = UUID.randomUUID();
    UUID listing = UUID.randomUUID();
    db.execute("INSERT INTO users (id) VALUES (?)", user);
    db.execute(
        """
        INSERT INTO marketplace_listings (id, user_id, category_id, title, status)
        VALUES (?, ?, 1, 'Sunny room near the park', 'pending_payment')
        """,
        listing,
        user);
    return listing;
  }

  public UUID ownerOf(UUID listing) {
    return (UUID)
        db.row("SELECT user_id FROM marketplace_listings WHERE id = ?", listing)
            .orElseThrow()
            .get("user_id");
  }

  /** The PaymentIntent metadata checkout-api sets. */
  public Map<String, String> metadata(UUID listing, String paymentType) {
    Map<String, String> metadata = new LinkedHashMap<>();
    metadata.put("listing_id", listing.toString());
    metadata.put("user_id", ownerOf(listing).toString());
    metadata.put("category_id", "1");
    metadata.put("payment_type", paymentType);
    return metadata;
  }

  /** The payments row checkout-api writes when it creates the PaymentIntent. */
  public void paymentRow(String paymentIntentId, UUID listing, String paymentType, long amount) {
    db.execute(
        """
        INSERT INTO payments (stripe_payment_intent_id, listing_id, user_id, payment_type,
                              amount_cents, currency, status)
        VALUES (?, ?, ?, ?, ?, 'usd', 'requires_payment')
        """,
        paymentIntentId,
        listing,
        ownerOf(listing),
        paymentType,
        amount);
  }

  // ---- as the webhook gateway delivers

  /** A PaymentIntent as Stripe shows it, for events built in tests. */
  public static Map<String, Object> paymentIntent(
      String id, String status, long amount, Map<String, String> metadata) {
    Map<String, Object> pi = new LinkedHashMap<>();
    pi.put("id", id);
    pi.put("object", "payment_intent");
    pi.put("amount", amount);
    pi.put("amount_received", "succeeded".equals(status) ? amount : 0);
    pi.put("created", Instant.now().getEpochSecond() - 60);
    pi.put("currency", "usd");
    pi.put("livemode", false);
    pi.put("metadata", metadata);
    pi.put("status", status);
    return pi;
  }

  /** Publishes a Stripe event about {@code object} as the gateway does; returns its id. */
  public String deliver(String type, Map<String, Object> object) {
    String eventId =
        "evt_test_" + EVENTS.incrementAndGet() + "_" + UUID.randomUUID().toString().substring(0, 8);
    Map<String, Object> event = new LinkedHashMap<>();
    event.put("id", eventId);
    event.put("object", "event");
    event.put("api_version", "2024-06-20");
    event.put("created", Instant.now().getEpochSecond());
    event.put("data", Map.of("object", object));
    event.put("livemode", false);
    event.put("pending_webhooks", 1);
    event.put("type", type);
    String key =
        object.get("object").equals("payment_intent")
            ? (String) object.get("id")
            : (String) object.get("payment_intent");
    kafka.send(
        topics.stripeEvents(),
        key,
        Json.write(event),
        Map.of(
            RecordHeaders.STRIPE_EVENT_ID, eventId,
            RecordHeaders.STRIPE_EVENT_TYPE, type,
            RecordHeaders.RECEIVED_AT, Instant.now().toString()));
    return eventId;
  }

  /** Sends an event again, byte for byte with its headers, as Stripe's retries do. */
  public void redeliver(String eventId) {
    ConsumerRecord<String, byte[]> original =
        kafka.awaitRecord(
            topics.stripeEvents(),
            r ->
                KafkaTestClient.header(r, RecordHeaders.STRIPE_EVENT_ID).orElse("").equals(eventId),
            WAIT);
    kafka.send(
        topics.stripeEvents(), original.key(), original.value(), KafkaTestClient.headers(original));
  }

  // ---- reading

  public String listingStatus(UUID listing) {
    return (String)
        db.row("SELECT status FROM marketplace_listings WHERE id = ?", listing)
            .orElseThrow()
            .get("status");
  }

  public void awaitListingStatus(UUID listing, String status) {
    Await.until(
        WAIT, "listing " + listing + " " + status, () -> status.equals(listingStatus(listing)));
  }

  /**
   * The ids and types of every {@code payments.events.v1} record about {@code key}, read once the
   * outbox is empty: everything committed before the call is then on the topic.
   */
  public List<String> paymentEvents(String key) {
    db.awaitOutboxPublished(WAIT);
    return kafka.readAll(topics.paymentEvents()).stream()
        .filter(r -> key == null || key.equals(r.key()))
        .map(PaymentsWorld::idAndType)
        .collect(Collectors.toList());
  }

  static String idAndType(ConsumerRecord<String, byte[]> record) {
    try {
      var node = Json.mapper().readTree(record.value());
      return node.path("type").asText() + " " + node.path("id").asText();
    } catch (IOException e) {
      throw new AssertionError("not JSON on payments.events.v1", e);
    }
  }

  /** A refund worker on this world's topics and database, refunding through {@code stripe}. */
  public RefundWorker startRefundWorker(StripeEmulator emulator, StripeClient stripe) {
    RefundWorker worker =
        RefundWorker.start(
            new RefundWorkerConfig(
                TestInfra.kafkaConfig(topics),
                db.dbConfig(),
                new StripeConfig(emulator.secretKey(), emulator.baseUrl()),
                0,
                Duration.ofSeconds(10),
                Duration.ofHours(1)),
            Clock.systemUTC(),
            stripe,
            options -> options.withRetries(3, Duration.ofMillis(20), Duration.ofMillis(100)));
    Await.until(WAIT, "the refund worker assigned", worker::isAssigned);
    return worker;
  }

  /** A PaymentIntent created as checkout-api does and paid with Stripe's test card. */
  public String paidAtStripe(StripeClient stripe, UUID listing, String paymentType, long amount)
      throws StripeException {
    return stripe
        .v1()
        .paymentIntents()
        .create(
            PaymentIntentCreateParams.builder()
                .setAmount(amount)
                .setCurrency("usd")
                .putAllMetadata(metadata(listing, paymentType))
                .setPaymentMethod("pm_card_visa")
                .setConfirm(true)
                .build())
        .getId();
  }

  @Override
  public void close() {
    stopProcessor();
    kafka.close();
  }
}
