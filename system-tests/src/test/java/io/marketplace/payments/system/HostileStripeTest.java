package io.marketplace.payments.system;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.stripe.StripeClient;
import com.stripe.exception.StripeException;
import com.stripe.model.Event;
import com.stripe.param.EventListParams;
import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.common.kafka.KafkaConfig;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.local.LocalStack;
import io.marketplace.payments.local.StackPorts;
import io.marketplace.payments.processor.PaymentProcessorConfig;
import io.marketplace.payments.refunds.RefundWorker;
import io.marketplace.payments.stripeemulator.StripeEmulator;
import io.marketplace.payments.stripeemulator.WebhookAttempt;
import io.marketplace.payments.stripeemulator.webhook.DeliveryQuirks;
import io.marketplace.payments.system.support.Api;
import io.marketplace.payments.system.support.ConsumerLag;
import io.marketplace.payments.system.support.Marketplace;
import io.marketplace.payments.system.support.Marketplace.User;
import io.marketplace.payments.system.support.PaymentEvents;
import io.marketplace.payments.testsupport.Await;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole system (as {@link EndToEndTest} runs it) against a Stripe as hostile as the real one
 * may be: every event delivered twice, every change announced by two events with different ids, and
 * the deliveries held while the gateway was unreachable released latest first. Users pay, are
 * declined, promote, are refunded from the dashboard and charged back through the real API,
 * emulator, gateway, broker and workers; what they see is what they would see had Stripe delivered
 * each change once and in order, and every fact is announced exactly once.
 */
class HostileStripeTest {

  private static final int REDELIVERIES = 1;

  @TempDir static Path dataDir;

  private static LocalStack stack;
  private static Marketplace market;
  private static StripeEmulator stripe;

  @BeforeAll
  static void startTheSystem() {
    stack = LocalStack.start(dataDir, StackPorts.anyFree(), line -> {});
    market = new Marketplace(stack);
    stripe = stack.stripe();
    Await.until(
        Duration.ofSeconds(60),
        "the workers to be assigned their partitions",
        stack::workersAssigned);
  }

  @AfterAll
  static void stopTheSystem() {
    if (market != null) {
      market.close();
    }
    if (stack != null) {
      stack.close();
    }
  }

  @Test
  void shouldApplyEveryChangeOnceWhenStripeRedeliversTwinsAndReversesItsEvents() {
    // Given a Stripe that delivers each event twice, sends each change as two events, and
    // releases what it held latest first
    hostileStripe();

    // And a seller with a live listing, and another with two, paid while webhooks flowed
    User seller = market.newUser();
    String live = market.activeListing(seller);
    String livePostingFee = postingFeeOf(seller, live);
    User disputer = market.newUser();
    String firstDisputed = market.activeListing(disputer);
    String secondDisputed = market.activeListing(disputer);

    // When webhooks are held (the gateway unreachable, as far as Stripe knows) while:
    stripe.pauseWebhooks();
    // a posting fee is declined once, then paid at the same checkout
    String jobs = market.createListing(seller, "jobs").path("id").asText();
    String jobsFee = market.checkout(seller, jobs).path("paymentIntentId").asText();
    assertThat(market.pay(jobsFee, "pm_card_chargeDeclined").status()).isEqualTo(402);
    assertThat(market.checkout(seller, jobs).path("paymentIntentId").asText()).isEqualTo(jobsFee);
    assertThat(market.pay(jobsFee, "pm_card_visa").status()).isEqualTo(200);
    // a featured week is bought on the live listing
    Api.Response promote = market.promote(seller, live, "featured");
    assertThat(promote.status()).as("promote: %s", promote).isEqualTo(200);
    String featured = promote.text("paymentIntentId");
    assertThat(market.pay(featured, "pm_card_visa").status()).isEqualTo(200);
    // 200 of the live listing's 500 posting fee is refunded from Stripe's dashboard
    String dashboardRefund = (String) stripe.refundOutsideSystem(livePostingFee, 200L).get("id");
    // and the other seller's card holder disputes both payments
    String firstDispute = stripe.openDispute(postingFeeOf(disputer, firstDisputed));
    String secondDispute = stripe.openDispute(postingFeeOf(disputer, secondDisputed));
    // and then Stripe reaches the gateway again, and sends what it held latest first
    stripe.resumeWebhooks();

    // Then the declined-then-paid listing is active, once, for 30 days
    JsonNode active =
        market.awaitListing(
            seller, jobs, "active", l -> "active".equals(l.path("status").asText()));
    assertThat(Instant.parse(active.path("expiresAt").asText()))
        .isEqualTo(Instant.parse(active.path("activatedAt").asText()).plus(Duration.ofDays(30)));
    // the featured week is recorded once, for 7 days
    Map<String, Object> promotion =
        Await.value(
            Marketplace.WAIT,
            "the featured promotion of " + live,
            () ->
                market.db.row(
                    "SELECT * FROM listing_promotions WHERE stripe_payment_intent_id = ?",
                    featured));
    assertThat(promotion).containsEntry("type", "featured").containsEntry("amount_cents", 500);
    assertThat(
            Duration.between(
                instant(promotion.get("starts_at")), instant(promotion.get("expires_at"))))
        .isEqualTo(Duration.ofDays(7));
    // the dashboard refund is recorded once, for its 200
    market.awaitRefund(
        livePostingFee, "of the dashboard", r -> dashboardRefund.equals(r.get("stripe_refund_id")));
    // each chargeback once, for the disputed 500, and the disputer banned at the second
    for (String dispute : List.of(firstDispute, secondDispute)) {
      Await.until(
          Marketplace.WAIT,
          "the chargeback of " + dispute,
          () -> market.db.count("payment_refunds WHERE stripe_dispute_id = ?", dispute) >= 1);
    }
    Await.until(Marketplace.WAIT, "the disputer banned", () -> bannedAt(disputer) != null);

    // And once Stripe has sent everything, copies included, and the workers have applied it all
    awaitEverythingDeliveredAndApplied();

    // Then what users see is each change applied once
    assertThat(market.payment(jobsFee)).containsEntry("status", "succeeded");
    assertThat(market.listing(seller, jobs).path("activatedAt"))
        .isEqualTo(active.path("activatedAt"));
    assertThat(market.db.count("listing_promotions WHERE listing_id = ?::uuid", live)).isEqualTo(1);
    assertThat(refundsOf(livePostingFee))
        .singleElement()
        .satisfies(
            r ->
                assertThat(r)
                    .containsEntry("stripe_refund_id", dashboardRefund)
                    .containsEntry("amount_cents", 200)
                    .containsEntry("status", "processed"));
    for (String dispute : List.of(firstDispute, secondDispute)) {
      assertThat(
              market.db.rows("SELECT * FROM payment_refunds WHERE stripe_dispute_id = ?", dispute))
          .as("chargebacks of %s", dispute)
          .singleElement()
          .satisfies(
              r ->
                  assertThat(r)
                      .containsEntry("reason", "chargeback")
                      .containsEntry("status", "processed")
                      .containsEntry("amount_cents", 500));
    }

    // And subscribers are told each fact once: no event id twice, no fact under two ids
    List<PaymentEvents.Event> published = market.events.all();
    Set<String> keys =
        Set.of(
            live,
            jobs,
            firstDisputed,
            secondDisputed,
            seller.id().toString(),
            disputer.id().toString());
    List<PaymentEvents.Event> ours =
        published.stream().filter(e -> keys.contains(e.key())).toList();
    assertThat(
            ours.stream()
                .collect(Collectors.groupingBy(PaymentEvents.Event::id, Collectors.counting())))
        .as("records per event id")
        .allSatisfy((id, count) -> assertThat(count).as(id).isOne());
    // (its decline, reported here after its success, announced all the same)
    assertThat(types(ours, jobs))
        .as("events of the declined-then-paid listing")
        .containsOnly(
            Map.entry("payment.failed", 1L),
            Map.entry("payment.succeeded", 1L),
            Map.entry("listing.activated", 1L));
    assertThat(types(ours, live))
        .as("events of the live listing")
        .containsOnly(
            Map.entry("payment.succeeded", 2L), // its posting fee and its featured week
            Map.entry("listing.activated", 1L),
            Map.entry("promotion.created", 1L),
            Map.entry("refund.processed", 1L));
    assertThat(bySucceededPayment(ours, live)).containsOnlyKeys(livePostingFee, featured);
    for (String listing : List.of(firstDisputed, secondDisputed)) {
      assertThat(types(ours, listing))
          .as("events of disputed listing %s", listing)
          .containsOnly(
              Map.entry("payment.succeeded", 1L),
              Map.entry("listing.activated", 1L),
              Map.entry("chargeback.recorded", 1L));
    }
    // (the risk service may also have flagged the disputer for a chargeback spike, two in a day,
    // by the time the topic is read or not yet: once at most)
    Map<String, Long> disputerEvents = new HashMap<>(types(ours, disputer.id().toString()));
    assertThat(disputerEvents.getOrDefault("user.flagged", 0L)).isLessThanOrEqualTo(1L);
    disputerEvents.remove("user.flagged");
    assertThat(disputerEvents)
        .as("events of the disputer")
        .containsOnly(Map.entry("user.banned", 1L));
    assertThat(types(ours, seller.id().toString())).as("events of the seller").isEmpty();
  }

  // ---- helpers

  /** Each event delivered twice, each change sent as two events, held ones sent latest first. */
  private static void hostileStripe() {
    stripe.redeliverWebhooks(REDELIVERIES);
    stripe.sendTwinEvents(true);
    stripe.resumeWebhooksIn(DeliveryQuirks.ResumeOrder.reverse());
  }

  private static String postingFeeOf(User seller, String listingId) {
    return market.listing(seller, listingId).path("paymentIntentId").asText();
  }

  /**
   * Waits until Stripe has nothing left to send (every event acknowledged, and copied as often as
   * told) and every worker has committed everything it was given and published its outbox.
   */
  private static void awaitEverythingDeliveredAndApplied() {
    StripeClient client =
        StripeClient.builder()
            .setApiKey(stripe.secretKey())
            .setApiBase(stripe.baseUrl())
            .setMaxNetworkRetries(0)
            .build();
    Await.until(
        Marketplace.WAIT,
        "every event delivered " + (1 + REDELIVERIES) + " times",
        () -> {
          Map<String, Long> delivered =
              stripe.webhookAttempts().stream()
                  .filter(WebhookAttempt::succeeded)
                  .collect(Collectors.groupingBy(WebhookAttempt::eventId, Collectors.counting()));
          return events(client).stream()
              .allMatch(
                  e ->
                      e.getPendingWebhooks() == 0
                          && delivered.getOrDefault(e.getId(), 0L) >= 1 + REDELIVERIES);
        });
    Map<String, String> env = new HashMap<>(stack.env());
    env.put("ADMIN_PORT", "0");
    PaymentProcessorConfig processor = PaymentProcessorConfig.fromEnv(Env.of(env));
    Topics topics = Topics.standard();
    try (ConsumerLag lag =
        new ConsumerLag(new KafkaConfig(env.get("KAFKA_BOOTSTRAP_SERVERS"), topics))) {
      Await.until(
          Marketplace.WAIT,
          "the workers to have applied every record",
          () ->
              lag.of(processor.consumer(), topics.stripeEvents()) == 0
                  && lag.of(RefundWorker.STRIPE_CONSUMER, topics.stripeEvents()) == 0
                  && lag.of(processor.deliveryConsumer(), topics.deliveryCommands()) == 0
                  && lag.of(RefundWorker.COMMANDS_CONSUMER, topics.refundCommands()) == 0);
    }
  }

  private static List<Event> events(StripeClient client) {
    try {
      List<Event> all = new ArrayList<>();
      client
          .v1()
          .events()
          .list(EventListParams.builder().setLimit(100L).build())
          .autoPagingIterable()
          .forEach(all::add);
      return all;
    } catch (StripeException e) {
      throw new IllegalStateException(e);
    }
  }

  private static Map<String, Long> types(List<PaymentEvents.Event> events, String key) {
    return events.stream()
        .filter(e -> e.key().equals(key))
        .collect(Collectors.groupingBy(PaymentEvents.Event::type, Collectors.counting()));
  }

  private static Map<String, Long> bySucceededPayment(
      List<PaymentEvents.Event> events, String key) {
    return events.stream()
        .filter(e -> e.key().equals(key) && e.type().equals("payment.succeeded"))
        .collect(
            Collectors.groupingBy(
                e -> e.data().path("paymentIntentId").asText(), Collectors.counting()));
  }

  private static List<Map<String, Object>> refundsOf(String paymentIntentId) {
    return market.db.rows(
        "SELECT * FROM payment_refunds WHERE stripe_payment_intent_id = ?", paymentIntentId);
  }

  private static Object bannedAt(User user) {
    return market
        .db
        .row("SELECT banned_at FROM users WHERE id = ?", user.id())
        .map(row -> row.get("banned_at"))
        .orElse(null);
  }

  private static Instant instant(Object timestamp) {
    return switch (timestamp) {
      case Instant i -> i;
      case OffsetDateTime o -> o.toInstant();
      case java.sql.Timestamp t -> t.toInstant();
      default -> throw new AssertionError("not a time: " + timestamp);
    };
  }
}
