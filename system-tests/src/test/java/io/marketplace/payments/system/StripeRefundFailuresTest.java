package io.marketplace.payments.system;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.stripe.StripeClient;
import io.marketplace.payments.common.events.ModerationDecision;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.kafka.KafkaConfig;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.gateway.GatewayConfig;
import io.marketplace.payments.gateway.WebhookGateway;
import io.marketplace.payments.refunds.RefundWorker;
import io.marketplace.payments.refunds.RefundWorkerConfig;
import io.marketplace.payments.stripeemulator.StripeEmulator;
import io.marketplace.payments.system.support.PaidAtStripe;
import io.marketplace.payments.system.support.PaymentEvents;
import io.marketplace.payments.system.support.ServiceEnv;
import io.marketplace.payments.system.support.Sql;
import io.marketplace.payments.system.support.StripeApi;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.marketplace.payments.testsupport.TestDatabase;
import io.marketplace.payments.testsupport.TestInfra;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Stripe failing refunds, with 500s and with calls that time out although Stripe went on to make
 * the refund (the unknown outcome), while moderation rejects several paid listings: every refund
 * record ends {@code processed}, and Stripe holds exactly one refund per record. The refund worker
 * runs as deployed, with its dispatcher, its janitor and Stripe's refund webhooks coming back
 * through the gateway and the broker, all racing to settle the same records.
 */
class StripeRefundFailuresTest {

  private static final String SECRET = "whsec_system_refund_failures_52be71d0";
  private static final int LISTINGS = 5;
  private static final Duration WAIT = Duration.ofSeconds(60);

  /** Our Stripe calls give up after this; the emulator holds hung refunds longer. */
  private static final Duration READ_TIMEOUT = Duration.ofSeconds(1);

  private static final Duration HANG = Duration.ofMillis(2500);

  /** One rejected listing: its posting fee and its featured promotion, both paid an hour ago. */
  record Paid(UUID listingId, String postingFee, String featured) {}

  @Test
  void shouldRefundEachRecordExactlyOnceWhenStripeAnswers500sAndTimesOut() throws Exception {
    TestDatabase database = TestInfra.freshDatabase();
    Sql db = new Sql(database.url(), database.user(), database.password());
    Topics topics = TestInfra.freshTopics();
    KafkaConfig kafka = TestInfra.kafkaConfig(topics);
    ServiceEnv env =
        ServiceEnv.of(
                kafka.bootstrapServers(),
                topics,
                database.url(),
                database.user(),
                database.password())
            .with("STRIPE_WEBHOOK_SECRET", SECRET);

    try (StripeEmulator emulator = StripeEmulator.start(StripeEmulator.Config.defaults());
        WebhookGateway gateway = WebhookGateway.start(GatewayConfig.fromEnv(env.env()));
        KafkaTestClient client = TestInfra.kafkaClient()) {
      emulator.addWebhookEndpoint(gateway.webhookUrl(), SECRET);
      StripeClient stripe =
          StripeClient.builder()
              .setApiKey(emulator.secretKey())
              .setApiBase(emulator.baseUrl())
              .setConnectTimeout(5_000)
              .setReadTimeout((int) READ_TIMEOUT.toMillis())
              .setMaxNetworkRetries(0)
              .build();
      env.with("STRIPE_SECRET_KEY", emulator.secretKey())
          .with("STRIPE_API_BASE", emulator.baseUrl())
          // the janitor retries what Stripe failed every second
          .with("REFUND_RETRY_INTERVAL", "1s");
      RefundWorkerConfig config = RefundWorkerConfig.fromEnv(env.env());

      try (RefundWorker worker =
          RefundWorker.start(
              config,
              Clock.systemUTC(),
              stripe,
              options -> options.withRetries(3, Duration.ofMillis(50), Duration.ofMillis(500)))) {
        Await.until(WAIT, "the refund worker to be assigned its partitions", worker::isAssigned);

        // Given paid listings, each with a posting fee and a featured promotion paid an hour ago
        List<Paid> paid = new ArrayList<>();
        for (int i = 0; i < LISTINGS; i++) {
          paid.add(paidListing(db, stripe));
        }

        // And Stripe failing the next refund calls: 500s, then calls held past our timeout (the
        // refund made, the answer lost), then 500s again
        emulator.failNextRefunds(4);
        emulator.hangNextRefunds(3, HANG);
        emulator.failNextRefunds(3);

        // When moderation rejects every listing
        Instant decidedAt = Instant.now();
        for (Paid listing : paid) {
          client.send(
              topics.moderation(),
              listing.listingId().toString(),
              Json.write(
                  new ModerationDecision(
                      listing.listingId(),
                      ModerationDecision.REJECTED,
                      "prohibited item",
                      decidedAt)));
        }

        // Then every payment's refund record ends processed
        List<String> payments =
            paid.stream().flatMap(p -> Stream.of(p.postingFee(), p.featured())).toList();
        Await.until(
            WAIT,
            "every refund processed",
            () ->
                db.count(
                        "payment_refunds WHERE status = 'processed'"
                            + " AND stripe_payment_intent_id = ANY(?)",
                        (Object) payments.toArray(String[]::new))
                    == payments.size());

        // And Stripe holds exactly one refund per record: the one the record names, for its amount
        StripeApi stripeApi = new StripeApi(emulator.baseUrl(), emulator.secretKey());
        for (String pi : payments) {
          Map<String, Object> record =
              db.row("SELECT * FROM payment_refunds WHERE stripe_payment_intent_id = ?", pi)
                  .orElseThrow();
          assertThat(record).containsEntry("reason", "moderation_rejection");
          List<JsonNode> atStripe = stripeApi.refundsOf(pi);
          assertThat(atStripe).as("refunds of %s at Stripe", pi).hasSize(1);
          JsonNode refund = atStripe.getFirst();
          assertThat(refund.path("id").asText()).isEqualTo(record.get("stripe_refund_id"));
          assertThat(refund.path("amount").asLong())
              .isEqualTo(((Number) record.get("amount_cents")).longValue());
          assertThat(refund.path("metadata").path("refund_id").asText())
              .isEqualTo(record.get("id").toString());
        }
        assertThat(stripeApi.armedRefundFailures()).as("injected failures used up").isZero();

        // And each refund is announced once, under one id
        PaymentEvents events = new PaymentEvents(client, topics.paymentEvents());
        Await.until(
            WAIT,
            "a refund.processed event per refund",
            () -> processedRefundIds(events).size() == payments.size());
        List<PaymentEvents.Event> processed =
            events.all().stream().filter(e -> e.type().equals("refund.processed")).toList();
        assertThat(processed.stream().map(PaymentEvents.Event::id).distinct())
            .hasSize(payments.size());
      }
    }
  }

  private static List<String> processedRefundIds(PaymentEvents events) {
    return events.all().stream()
        .filter(e -> e.type().equals("refund.processed"))
        .map(e -> e.data().path("refundId").asText())
        .distinct()
        .collect(Collectors.toList());
  }

  /** A listing and its two payments, charged at Stripe and recorded as checkout-api does. */
  private static Paid paidListing(Sql db, StripeClient stripe) {
    UUID userId = UUID.randomUUID();
    UUID listingId = UUID.randomUUID();
    Instant paidAt = Instant.now().minus(Duration.ofHours(1));
    db.execute("INSERT INTO users (id) VALUES (?)", userId);
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
    String postingFee = charge(db, stripe, userId, listingId, 500, "posting_fee", paidAt);
    String featured = charge(db, stripe, userId, listingId, 500, "promotion_featured", paidAt);
    db.execute(
        "UPDATE marketplace_listings SET payment_intent_id = ? WHERE id = ?",
        postingFee,
        listingId);
    return new Paid(listingId, postingFee, featured);
  }

  private static String charge(
      Sql db,
      StripeClient stripe,
      UUID userId,
      UUID listingId,
      long amountCents,
      String type,
      Instant paidAt) {
    String pi = PaidAtStripe.withVisa(stripe, userId, listingId, type, amountCents);
    db.execute(
        """
        INSERT INTO payments (stripe_payment_intent_id, listing_id, user_id, payment_type,
                              amount_cents, status, created_at, succeeded_at)
        VALUES (?, ?, ?, ?, ?, 'succeeded', ?, ?)
        """,
        pi,
        listingId,
        userId,
        type,
        amountCents,
        paidAt.minusSeconds(30),
        paidAt);
    return pi;
  }
}
