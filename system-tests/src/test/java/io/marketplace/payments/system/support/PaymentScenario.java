package io.marketplace.payments.system.support;

import io.marketplace.payments.common.kafka.KafkaConfig;
import io.marketplace.payments.common.kafka.RecordHeaders;
import io.marketplace.payments.common.kafka.Topic;
import io.marketplace.payments.testsupport.StripeFixtures;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

/**
 * A day of Stripe traffic for the payment processor, generated from a seeded {@link Random} so that
 * the same seed gives the same listings, purchases and event bytes: the rows checkout-api would
 * have written (listings, users, the {@code payments} row of every PaymentIntent) and the events
 * the gateway would have put on {@code stripe.events.v1}, in an order Stripe could deliver them
 * (each PaymentIntent's events in order, PaymentIntents interleaved), including re-deliveries of
 * events already sent.
 *
 * <p>Mix: posting fees of pending listings (some preceded by {@code payment_intent.processing}),
 * posting fees declined then paid, featured promotions and bumps of active listings, posting fees
 * of listings moderation rejected meanwhile (a technical failure: refunded), and PaymentIntents
 * that are not ours. One purchase per listing, so the outcome does not depend on how partitions
 * interleave.
 */
public final class PaymentScenario {

  /** The processor's clock in these tests. */
  public static final Instant NOW = Instant.parse("2026-03-02T10:00:00Z");

  private static final String ALPHABET =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

  record Listing(UUID id, UUID userId, String status) {}

  record Purchase(String paymentIntentId, Listing listing, String type, long amountCents) {}

  /** One record as the gateway publishes it. */
  public record Delivery(
      String eventId, String type, String paymentIntentId, String body, Instant receivedAt) {}

  private final List<Listing> listings = new ArrayList<>();
  private final List<Purchase> purchases = new ArrayList<>();
  private final List<Delivery> deliveries = new ArrayList<>();
  private final Random random;
  private int eventSecond;

  private PaymentScenario(Random random) {
    this.random = random;
  }

  /** About {@code total} deliveries, 40% of them re-deliveries of events already sent. */
  public static PaymentScenario generate(Random random, int total) {
    PaymentScenario scenario = new PaymentScenario(random);
    scenario.build(total);
    return scenario;
  }

  private void build(int total) {
    List<Deque<Delivery>> sequences = new ArrayList<>();
    for (int i = 0; i < total / 4; i++) {
      Purchase fee = purchase("pending_payment", "posting_fee", 500);
      Deque<Delivery> events = new ArrayDeque<>();
      if (i < total / 20) {
        events.add(event("payment_intent.processing", fee, "processing"));
      }
      events.add(event("payment_intent.succeeded", fee, "succeeded"));
      sequences.add(events);
    }
    for (int i = 0; i < total / 20; i++) {
      Purchase fee = purchase("pending_payment", "posting_fee", 1000);
      Deque<Delivery> events = new ArrayDeque<>();
      events.add(event("payment_intent.payment_failed", fee, "requires_payment_method"));
      events.add(event("payment_intent.succeeded", fee, "succeeded"));
      sequences.add(events);
    }
    for (int i = 0; i < total * 3 / 40; i++) {
      sequences.add(single(purchase("active", "promotion_featured", 500)));
      sequences.add(single(purchase("active", "promotion_bump", 200)));
    }
    for (int i = 0; i < total / 50; i++) {
      sequences.add(single(purchase("rejected", "posting_fee", 500)));
    }
    for (int i = 0; i < total * 3 / 100; i++) {
      // a PaymentIntent of another integration on the same Stripe account: no row, no metadata
      Purchase foreign =
          new Purchase(id("pi"), new Listing(uuid(), null, null), "posting_fee", 900);
      sequences.add(single(event("payment_intent.succeeded", foreign, "succeeded", Map.of())));
    }

    // interleave the PaymentIntents, each one's events in order
    List<Deque<Delivery>> open = new ArrayList<>(sequences);
    while (!open.isEmpty()) {
      int pick = random.nextInt(open.size());
      deliveries.add(open.get(pick).removeFirst());
      if (open.get(pick).isEmpty()) {
        open.set(pick, open.getLast());
        open.removeLast();
      }
    }

    // Stripe re-delivers some events (a slow 200, a retry), later than the first time
    while (deliveries.size() < total) {
      int original = random.nextInt(deliveries.size());
      Delivery first = deliveries.get(original);
      Delivery again =
          new Delivery(
              first.eventId(),
              first.type(),
              first.paymentIntentId(),
              first.body(),
              first.receivedAt().plus(Duration.ofMinutes(1 + random.nextInt(60))));
      int at = original + 1 + random.nextInt(deliveries.size() - original);
      deliveries.add(at, again);
    }
  }

  private Deque<Delivery> single(Delivery delivery) {
    Deque<Delivery> events = new ArrayDeque<>();
    events.add(delivery);
    return events;
  }

  private Deque<Delivery> single(Purchase purchase) {
    return single(event("payment_intent.succeeded", purchase, "succeeded"));
  }

  private Purchase purchase(String listingStatus, String type, long amountCents) {
    Listing listing = new Listing(uuid(), uuid(), listingStatus);
    listings.add(listing);
    Purchase purchase = new Purchase(id("pi"), listing, type, amountCents);
    purchases.add(purchase);
    return purchase;
  }

  private Delivery event(String type, Purchase purchase, String status) {
    return event(
        type,
        purchase,
        status,
        StripeFixtures.metadata(
            purchase.listing().id(), purchase.listing().userId(), 1, purchase.type()));
  }

  private Delivery event(
      String type, Purchase purchase, String status, Map<String, String> metadata) {
    String eventId = id("evt");
    Instant created = NOW.minus(Duration.ofHours(2)).plusSeconds(eventSecond++);
    String body =
        StripeFixtures.paymentIntent(type, purchase.paymentIntentId())
            .eventId(eventId)
            .created(created)
            .amount(purchase.amountCents())
            .status(status)
            .metadata(metadata)
            .json();
    return new Delivery(eventId, type, purchase.paymentIntentId(), body, created.plusSeconds(1));
  }

  private String id(String prefix) {
    StringBuilder id = new StringBuilder(prefix).append("_3P");
    for (int i = 0; i < 24; i++) {
      id.append(ALPHABET.charAt(random.nextInt(ALPHABET.length())));
    }
    return id.toString();
  }

  private UUID uuid() {
    return new UUID(random.nextLong(), random.nextLong());
  }

  public List<Delivery> deliveries() {
    return deliveries;
  }

  public Set<String> eventIds() {
    Set<String> ids = new LinkedHashSet<>();
    deliveries.forEach(d -> ids.add(d.eventId()));
    return ids;
  }

  /**
   * Writes what checkout-api would have written before these payments: users, listings, payments.
   */
  public void seed(Sql db) {
    db.batch(
        "INSERT INTO users (id) VALUES (?)",
        listings.stream().map(l -> new Object[] {l.userId()}).toList());
    db.batch(
        """
        INSERT INTO marketplace_listings
            (id, user_id, category_id, title, status, activated_at, expires_at, rejected_at,
             rejection_reason)
        VALUES (?, ?, 1, 'Sunny 2BR near the park', ?, ?, ?, ?, ?)
        """,
        listings.stream()
            .map(
                l -> {
                  boolean active = l.status().equals("active");
                  boolean rejected = l.status().equals("rejected");
                  return new Object[] {
                    l.id(),
                    l.userId(),
                    l.status(),
                    active ? NOW.minus(Duration.ofDays(3)) : null,
                    active ? NOW.plus(Duration.ofDays(27)) : null,
                    rejected ? NOW.minus(Duration.ofHours(3)) : null,
                    rejected ? "prohibited item" : null
                  };
                })
            .toList());
    db.batch(
        """
        INSERT INTO payments (stripe_payment_intent_id, listing_id, user_id, payment_type,
                              amount_cents, currency, status, created_at)
        VALUES (?, ?, ?, ?, ?, 'usd', 'requires_payment', ?)
        """,
        purchases.stream()
            .map(
                p ->
                    new Object[] {
                      p.paymentIntentId(),
                      p.listing().id(),
                      p.listing().userId(),
                      p.type(),
                      p.amountCents(),
                      NOW.minus(Duration.ofHours(3))
                    })
            .toList());
  }

  /** Publishes every delivery, in order, as the gateway does; returns once all are acknowledged. */
  public void produce(KafkaConfig kafka, Topic topic) {
    produce(kafka, topic, deliveries);
  }

  public static void produce(KafkaConfig kafka, Topic topic, List<Delivery> deliveries) {
    try (KafkaProducer<String, byte[]> producer =
        new KafkaProducer<>(kafka.producer("scenario-" + UUID.randomUUID()))) {
      List<Future<RecordMetadata>> sent = new ArrayList<>();
      for (Delivery delivery : deliveries) {
        sent.add(producer.send(record(topic, delivery)));
      }
      for (Future<RecordMetadata> ack : sent) {
        ack.get(60, TimeUnit.SECONDS);
      }
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("the scenario was not acknowledged by the broker", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /**
   * Publishes the deliveries one at a time, each acknowledged before the next is sent, as a steady
   * flow: consumers see them arrive in many small polls rather than in a few large ones.
   */
  public static void trickle(KafkaConfig kafka, Topic topic, List<Delivery> deliveries) {
    try (KafkaProducer<String, byte[]> producer =
        new KafkaProducer<>(kafka.producer("scenario-" + UUID.randomUUID()))) {
      for (Delivery delivery : deliveries) {
        producer.send(record(topic, delivery)).get(60, TimeUnit.SECONDS);
      }
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("the scenario was not acknowledged by the broker", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static ProducerRecord<String, byte[]> record(Topic topic, Delivery delivery) {
    ProducerRecord<String, byte[]> record =
        new ProducerRecord<>(
            topic.name(),
            delivery.paymentIntentId(),
            delivery.body().getBytes(StandardCharsets.UTF_8));
    RecordHeaders.put(record.headers(), RecordHeaders.STRIPE_EVENT_ID, delivery.eventId());
    RecordHeaders.put(record.headers(), RecordHeaders.STRIPE_EVENT_TYPE, delivery.type());
    RecordHeaders.put(
        record.headers(), RecordHeaders.RECEIVED_AT, delivery.receivedAt().toString());
    return record;
  }
}
