package io.marketplace.payments.stripeemulator;

import static org.assertj.core.api.Assertions.assertThat;

import com.stripe.StripeClient;
import com.stripe.exception.StripeException;
import com.stripe.model.Event;
import com.stripe.model.PaymentIntent;
import com.stripe.param.EventListParams;
import com.stripe.param.PaymentIntentCreateParams;
import io.marketplace.payments.stripeemulator.webhook.WebhookEndpointController;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An emulator killed with {@code kill -9} (a child JVM, SIGKILL) and started again on its data
 * directory delivers what it owed, as Stripe keeps retrying an undelivered event, and does not
 * resend what was acknowledged.
 */
class CrashRecoveryTest {
  private static final String SECRET = "whsec_crashRecoveryTest";
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final int RETRY_BASE_MS = 200;
  private static final int MAX_ATTEMPTS = 12;

  @Test
  void shouldDeliverEveryPendingEventWhenRestartedOnItsDataDirAfterAKill(@TempDir Path dir)
      throws Exception {
    try (WebhookReceiver receiver = WebhookReceiver.start()) {
      // Given: an endpoint answering 500 to everything while an emulator takes payments
      receiver.failNext(Integer.MAX_VALUE);
      List<String> paymentIntents = new ArrayList<>();
      List<String> eventIds;
      try (ChildEmulator child = ChildEmulator.start(dir, env(dir, receiver.url()))) {
        StripeClient stripe = client(child.baseUrl(), StripeEmulator.DEFAULT_SECRET_KEY);
        for (int i = 0; i < 5; i++) {
          paymentIntents.add(confirmedPayment(stripe, i).getId());
        }
        eventIds = eventIds(stripe);
        // each event tried twice (the first failure recorded), none acknowledged
        Eventually.await(
            "two failed tries of every event",
            WAIT,
            () -> eventIds.stream().allMatch(id -> tries(receiver).getOrDefault(id, 0L) >= 2));

        // When: killed, then started again on the same directory, the endpoint now answering 200
        child.kill();
      }
      receiver.failNext(0);
      try (StripeEmulator restarted = StripeEmulator.start(config(dir, receiver.url()))) {
        StripeClient stripe = client(restarted.baseUrl(), restarted.secretKey());
        Eventually.await(
            "every event acknowledged",
            WAIT,
            () -> acknowledged(receiver).keySet().containsAll(eventIds));
        // the endpoint records a delivery before the emulator has read its answer and recorded
        // the attempt
        Eventually.await(
            "no webhook pending",
            WAIT,
            () -> eventIds.stream().allMatch(id -> pendingWebhooks(stripe, id) == 0));

        // Then: the same events, each once, resumed with their earlier tries counted
        assertThat(eventIds).hasSize(15);
        assertThat(acknowledged(receiver))
            .containsOnlyKeys(eventIds)
            .allSatisfy((id, count) -> assertThat(count).isEqualTo(1L));
        assertThat(restarted.webhookAttempts())
            .hasSize(eventIds.size())
            .allSatisfy(attempt -> assertThat(attempt.attempt()).isGreaterThanOrEqualTo(2));
        for (String id : paymentIntents) {
          assertThat(stripe.v1().paymentIntents().retrieve(id).getStatus()).isEqualTo("succeeded");
        }
      }
    }
  }

  @Test
  void shouldNotResendAcknowledgedEventsWhenRestartedOnItsDataDirAfterAKill(@TempDir Path dir)
      throws Exception {
    try (WebhookReceiver receiver = WebhookReceiver.start()) {
      // Given: every event of three payments acknowledged by the endpoint
      List<String> eventIds;
      try (ChildEmulator child = ChildEmulator.start(dir, env(dir, receiver.url()))) {
        StripeClient stripe = client(child.baseUrl(), StripeEmulator.DEFAULT_SECRET_KEY);
        for (int i = 0; i < 3; i++) {
          confirmedPayment(stripe, i);
        }
        eventIds = eventIds(stripe);
        Eventually.await(
            "no webhook pending",
            WAIT,
            () -> events(stripe).stream().allMatch(e -> e.getPendingWebhooks() == 0));

        // When: killed, started again, and taking one more payment
        child.kill();
      }
      try (StripeEmulator restarted = StripeEmulator.start(config(dir, receiver.url()))) {
        StripeClient stripe = client(restarted.baseUrl(), restarted.secretKey());
        PaymentIntent after = confirmedPayment(stripe, 3);
        receiver.await(WebhookReceiver.event("payment_intent.succeeded", after.getId()), WAIT);

        // Then: the earlier events were delivered once, before the kill, and never again
        assertThat(tries(receiver))
            .containsAllEntriesOf(
                eventIds.stream().collect(Collectors.toMap(Function.identity(), id -> 1L)));
        assertThat(restarted.webhookAttempts())
            .noneMatch(attempt -> eventIds.contains(attempt.eventId()));
        assertThat(stripe.v1().events().retrieve(eventIds.getFirst()).getPendingWebhooks())
            .isZero();
      }
    }
  }

  @Test
  void shouldHoldResumedDeliveriesUntilResumedWhenStartedHoldingWebhooks(@TempDir Path dir)
      throws Exception {
    try (WebhookReceiver receiver = WebhookReceiver.start()) {
      // Given: a payment whose events were never delivered when the emulator stopped
      PaymentIntent before;
      try (StripeEmulator first = StripeEmulator.start(config(dir, receiver.url()))) {
        first.pauseWebhooks();
        before = confirmedPayment(client(first.baseUrl(), first.secretKey()), 0);
      }

      // When: started again holding webhooks, as the local stack does until its gateway is up
      try (StripeEmulator restarted =
          StripeEmulator.startHoldingWebhooks(config(dir, receiver.url()))) {
        StripeClient stripe = client(restarted.baseUrl(), restarted.secretKey());
        assertThat(stripe.v1().paymentIntents().retrieve(before.getId()).getStatus())
            .isEqualTo("succeeded");
        boolean sentWhileHeld =
            Eventually.happensWithin(Duration.ofSeconds(2), () -> !receiver.all().isEmpty());
        restarted.resumeWebhooks();

        // Then: nothing went out while held; everything did once resumed
        assertThat(sentWhileHeld).isFalse();
        receiver.awaitCount(r -> r.paymentIntentId().equals(before.getId()), 3, WAIT);
        assertThat(restarted.webhookAttempts())
            .allSatisfy(attempt -> assertThat(attempt.attempt()).isEqualTo(1));
      }
    }
  }

  @Test
  void shouldDeliverOwedEventsToTheNewUrlWhenRestartedWithTheEndpointMoved(@TempDir Path dir)
      throws Exception {
    try (WebhookReceiver before = WebhookReceiver.start();
        WebhookReceiver moved = WebhookReceiver.start()) {
      // Given: a payment whose events were never delivered when the emulator stopped
      PaymentIntent paid;
      try (StripeEmulator first = StripeEmulator.start(config(dir, before.url()))) {
        first.pauseWebhooks();
        paid = confirmedPayment(client(first.baseUrl(), first.secretKey()), 0);
      }

      // When: started again with its endpoint at another address (the receiver moved port, as
      // `./payments up --gateway-port` moves the gateway)
      try (StripeEmulator restarted =
          StripeEmulator.startHoldingWebhooks(config(dir, moved.url()))) {
        restarted.resumeWebhooks();

        // Then: what was owed is delivered there, as Stripe keeps retrying an endpoint whose URL
        // changed
        moved.awaitCount(r -> r.paymentIntentId().equals(paid.getId()), 3, WAIT);
        assertThat(before.all()).isEmpty();
      }
    }
  }

  @Test
  void shouldDeliverOwedEventsJournaledUnderTheFormerEndpointIdWhenRestarted(@TempDir Path dir)
      throws Exception {
    try (WebhookReceiver receiver = WebhookReceiver.start()) {
      // Given: undelivered events journaled as earlier versions named the configured endpoint
      PaymentIntent paid;
      try (StripeEmulator first = StripeEmulator.start(config(dir, receiver.url()))) {
        first.pauseWebhooks();
        paid = confirmedPayment(client(first.baseUrl(), first.secretKey()), 0);
      }
      Path journal = dir.resolve("stripe").resolve("journal.jsonl");
      String today = WebhookEndpointController.configuredId(1);
      assertThat(Files.readString(journal)).contains(today);
      Files.writeString(
          journal,
          Files.readString(journal)
              .replace(today, WebhookEndpointController.legacyConfiguredId(receiver.url(), 1)));

      // When: started again on that journal
      try (StripeEmulator restarted = StripeEmulator.start(config(dir, receiver.url()))) {

        // Then: they are delivered all the same
        receiver.awaitCount(r -> r.paymentIntentId().equals(paid.getId()), 3, WAIT);
      }
    }
  }

  private static Map<String, String> env(Path dir, String webhookUrl) {
    return Map.of(
        "STRIPE_EMULATOR_DATA_DIR",
        dir.resolve("stripe").toString(),
        // the key this JVM's emulators accept: a child's default would be a random one of its own
        "STRIPE_SECRET_KEY",
        StripeEmulator.DEFAULT_SECRET_KEY,
        "STRIPE_WEBHOOK_URL",
        webhookUrl,
        "STRIPE_WEBHOOK_SECRET",
        SECRET,
        "STRIPE_EMULATOR_WEBHOOK_RETRY_BASE_MS",
        Integer.toString(RETRY_BASE_MS),
        "STRIPE_EMULATOR_WEBHOOK_MAX_ATTEMPTS",
        Integer.toString(MAX_ATTEMPTS));
  }

  /** What {@link #env} configures, in this JVM. */
  private static StripeEmulator.Config config(Path dir, String webhookUrl) {
    return StripeEmulator.Config.defaults()
        .withDataDir(dir.resolve("stripe"))
        .withWebhookEndpoint(webhookUrl, SECRET)
        .withWebhookRetries(Duration.ofMillis(RETRY_BASE_MS), MAX_ATTEMPTS);
  }

  private static PaymentIntent confirmedPayment(StripeClient stripe, int n) throws StripeException {
    return stripe
        .v1()
        .paymentIntents()
        .create(
            PaymentIntentCreateParams.builder()
                .setAmount(1000L + n)
                .setCurrency("usd")
                .putMetadata("listing_id", "listing-" + n)
                .setPaymentMethod("pm_card_visa")
                .setConfirm(true)
                .build());
  }

  private static List<Event> events(StripeClient stripe) {
    try {
      return stripe.v1().events().list(EventListParams.builder().setLimit(100L).build()).getData();
    } catch (StripeException e) {
      throw new AssertionError(e);
    }
  }

  private static List<String> eventIds(StripeClient stripe) {
    return events(stripe).stream().map(Event::getId).toList();
  }

  /** Deliveries received per event id, whatever they were answered. */
  private static Map<String, Long> tries(WebhookReceiver receiver) {
    return receiver.all().stream()
        .collect(Collectors.groupingBy(WebhookReceiver.Received::eventId, Collectors.counting()));
  }

  /** Deliveries answered 200 per event id. */
  private static Map<String, Long> acknowledged(WebhookReceiver receiver) {
    return receiver.all().stream()
        .filter(r -> r.answeredStatus() == 200)
        .collect(Collectors.groupingBy(WebhookReceiver.Received::eventId, Collectors.counting()));
  }

  private static StripeClient client(String baseUrl, String secretKey) {
    return StripeClient.builder().setApiKey(secretKey).setApiBase(baseUrl).build();
  }

  private static long pendingWebhooks(StripeClient stripe, String eventId) {
    try {
      return stripe.v1().events().retrieve(eventId).getPendingWebhooks();
    } catch (StripeException e) {
      throw new IllegalStateException(e);
    }
  }
}
