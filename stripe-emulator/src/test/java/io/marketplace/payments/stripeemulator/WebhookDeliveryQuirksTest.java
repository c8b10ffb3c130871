package io.marketplace.payments.stripeemulator;

import static io.marketplace.payments.stripeemulator.WebhookReceiver.event;
import static org.assertj.core.api.Assertions.assertThat;

import com.stripe.StripeClient;
import com.stripe.exception.StripeException;
import com.stripe.model.Event;
import com.stripe.model.PaymentIntent;
import com.stripe.param.EventListParams;
import com.stripe.param.PaymentIntentCreateParams;
import io.marketplace.payments.stripeemulator.webhook.DeliveryQuirks;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What real Stripe does to receivers and the emulator does only when told: an event delivered again
 * after it was acknowledged, one change sent as two events, held deliveries released out of order;
 * and a restarted emulator neither loses nor invents a delivery because of them.
 */
class WebhookDeliveryQuirksTest {
  private static final String WEBHOOK_SECRET = "whsec_webhookDeliveryQuirksTest";
  private static final Duration WAIT = Duration.ofSeconds(10);

  private WebhookReceiver receiver;
  private StripeEmulator emulator;
  private StripeClient stripe;

  @BeforeEach
  void start() {
    receiver = WebhookReceiver.start();
    emulator = StripeEmulator.start(config(null));
    stripe = client(emulator);
  }

  @AfterEach
  void stop() {
    emulator.close();
    receiver.close();
  }

  @Test
  void shouldDeliverEachEventAgainAfterItsTwoHundredWhenRedeliveriesAreOn() throws Exception {
    // Given
    emulator.redeliverWebhooks(2);

    // When
    PaymentIntent created = createPaymentIntent(0);

    // Then the one event arrives three times, each answered 200, counted once as delivered
    List<WebhookReceiver.Received> copies =
        receiver.awaitCount(event("payment_intent.created", created.getId()), 3, WAIT);
    assertThat(copies).extracting(WebhookReceiver.Received::eventId).containsOnly(eventId(copies));
    assertThat(copies).extracting(WebhookReceiver.Received::answeredStatus).containsOnly(200);
    assertThat(stripe.v1().events().retrieve(eventId(copies)).getPendingWebhooks()).isZero();
    Eventually.await(
        "three recorded attempts", WAIT, () -> attemptsOf(eventId(copies)).size() == 3);
    assertThat(attemptsOf(eventId(copies)))
        .extracting(WebhookAttempt::attempt)
        .containsExactly(1, 2, 3);
    // and no fourth copy follows
    assertThat(
            Eventually.happensWithin(
                Duration.ofMillis(500),
                () ->
                    receiver.all().stream()
                            .filter(event("payment_intent.created", created.getId()))
                            .count()
                        > 3))
        .isFalse();
  }

  @Test
  void shouldRedeliverAnEventThatNeededRetriesOnlyAfterItsTwoHundred() throws Exception {
    // Given
    emulator.redeliverWebhooks(1);
    receiver.failNext(1);

    // When
    PaymentIntent created = createPaymentIntent(0);

    // Then: 500, then 200 (the delivery), then the copy
    List<WebhookReceiver.Received> tries =
        receiver.awaitCount(event("payment_intent.created", created.getId()), 3, WAIT);
    assertThat(tries)
        .extracting(WebhookReceiver.Received::answeredStatus)
        .containsExactly(500, 200, 200);
    assertThat(tries).extracting(WebhookReceiver.Received::eventId).containsOnly(eventId(tries));
  }

  @Test
  void shouldPublishEachChangeAsTwoEventsWithTheSameObjectWhenTwinsAreOn() throws Exception {
    // Given
    emulator.sendTwinEvents(true);

    // When
    PaymentIntent paid = confirmedPayment(stripe, 0);

    // Then each change arrives as two events of its type, with different ids and one object
    for (String type :
        List.of("payment_intent.created", "payment_intent.succeeded", "charge.succeeded")) {
      List<WebhookReceiver.Received> twins =
          receiver.awaitCount(event(type, paid.getId()), 2, WAIT);
      assertThat(twins).as(type).hasSize(2);
      assertThat(twins.get(0).eventId()).as(type).isNotEqualTo(twins.get(1).eventId());
      assertThat(twins.get(0).object()).as(type).isEqualTo(twins.get(1).object());
    }
    // and Stripe lists both, each delivered
    List<Event> listed = events(stripe);
    assertThat(listed.stream().filter(e -> e.getType().equals("payment_intent.succeeded")))
        .hasSize(2);
    Eventually.await(
        "every event acknowledged",
        WAIT,
        () -> events(stripe).stream().allMatch(e -> e.getPendingWebhooks() == 0));
  }

  @Test
  void shouldReleaseHeldDeliveriesOneAfterAnotherLatestFirstWhenResumedInReverse()
      throws Exception {
    // Given three payments created while deliveries are held
    emulator.resumeWebhooksIn(DeliveryQuirks.ResumeOrder.reverse());
    emulator.pauseWebhooks();
    List<String> created = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      created.add(createPaymentIntent(i).getId());
    }

    // When
    emulator.resumeWebhooks();

    // Then they arrive latest first
    receiver.awaitCount(r -> true, 3, WAIT);
    List<String> reversed = new ArrayList<>(created);
    Collections.reverse(reversed);
    assertThat(receiver.all())
        .extracting(WebhookReceiver.Received::paymentIntentId)
        .containsExactlyElementsOf(reversed);
  }

  @Test
  void shouldReleaseHeldDeliveriesInTheSameShuffledOrderForTheSameSeed() throws Exception {
    // Given eight payments held, resumed shuffled by a seed
    emulator.resumeWebhooksIn(DeliveryQuirks.ResumeOrder.shuffled(42));
    List<String> first = heldAndReleased(emulator, receiver, 8);

    // When the same is done again on a fresh emulator with the same seed
    List<String> second;
    try (WebhookReceiver otherReceiver = WebhookReceiver.start();
        StripeEmulator other =
            StripeEmulator.start(
                StripeEmulator.Config.defaults()
                    .withWebhookEndpoint(otherReceiver.url(), WEBHOOK_SECRET))) {
      other.resumeWebhooksIn(DeliveryQuirks.ResumeOrder.shuffled(42));
      second = heldAndReleased(other, otherReceiver, 8);
    }

    // Then each was delivered once, in one order, the same both times (by creation index), and
    // not the order of creation
    assertThat(first).hasSize(8).doesNotHaveDuplicates();
    assertThat(first)
        .isEqualTo(second)
        .isNotEqualTo(List.of("0", "1", "2", "3", "4", "5", "6", "7"));
  }

  @Test
  void shouldNeitherLoseHeldTwinsNorResendAcknowledgedEventsWhenRestartedOnItsDataDir(
      @TempDir Path dir) throws Exception {
    // Given an emulator on a data directory that redelivers, sends twins, and holds deliveries
    PaymentIntent acknowledged;
    PaymentIntent held;
    List<String> acknowledgedIds;
    try (StripeEmulator first = StripeEmulator.start(config(dir))) {
      StripeClient client = client(first);
      first.redeliverWebhooks(1);
      first.sendTwinEvents(true);
      acknowledged = createPaymentIntent(client, 0);
      List<WebhookReceiver.Received> copies =
          receiver.awaitCount(event("payment_intent.created", acknowledged.getId()), 4, WAIT);
      acknowledgedIds = copies.stream().map(WebhookReceiver.Received::eventId).distinct().toList();
      Eventually.await(
          "both twins acknowledged",
          WAIT,
          () ->
              acknowledgedIds.stream()
                  .allMatch(id -> pendingWebhooks(client, id) == 0 && attemptsOf(first, id) == 2));
      first.pauseWebhooks();
      held = createPaymentIntent(client, 1);
    }

    // When started again on the same directory
    try (StripeEmulator restarted = StripeEmulator.start(config(dir))) {
      StripeClient client = client(restarted);

      // Then the held twins are delivered, once each (the quirks are not kept across a restart)
      List<WebhookReceiver.Received> twins =
          receiver.awaitCount(event("payment_intent.created", held.getId()), 2, WAIT);
      assertThat(twins).extracting(WebhookReceiver.Received::eventId).doesNotHaveDuplicates();
      Eventually.await(
          "the held twins acknowledged",
          WAIT,
          () -> twins.stream().allMatch(r -> pendingWebhooks(client, r.eventId()) == 0));
      assertThat(
              Eventually.happensWithin(
                  Duration.ofMillis(500),
                  () ->
                      receiver.all().stream()
                              .filter(event("payment_intent.created", held.getId()))
                              .count()
                          > 2))
          .isFalse();

      // And the acknowledged twins are not sent again, their counts untouched
      assertThat(restarted.webhookAttempts())
          .noneMatch(attempt -> acknowledgedIds.contains(attempt.eventId()));
      assertThat(receiver.all().stream().filter(r -> acknowledgedIds.contains(r.eventId())))
          .hasSize(4);
      assertThat(acknowledgedIds)
          .allSatisfy(id -> assertThat(pendingWebhooks(client, id)).isZero());
    }
  }

  // ---- helpers

  /**
   * Pauses, creates {@code count} PaymentIntents, resumes; returns their creation indexes in the
   * order their events arrived.
   */
  private static List<String> heldAndReleased(
      StripeEmulator emulator, WebhookReceiver receiver, int count) throws StripeException {
    StripeClient client = client(emulator);
    emulator.pauseWebhooks();
    Map<String, String> indexes = new HashMap<>();
    for (int i = 0; i < count; i++) {
      indexes.put(createPaymentIntent(client, i).getId(), Integer.toString(i));
    }
    emulator.resumeWebhooks();
    return receiver.awaitCount(r -> true, count, WAIT).stream()
        .map(r -> indexes.get(r.paymentIntentId()))
        .toList();
  }

  private StripeEmulator.Config config(Path dir) {
    StripeEmulator.Config config =
        StripeEmulator.Config.defaults()
            .withWebhookEndpoint(receiver.url(), WEBHOOK_SECRET)
            .withWebhookRetries(Duration.ofMillis(50), 3);
    return dir == null ? config : config.withDataDir(dir.resolve("stripe"));
  }

  private PaymentIntent createPaymentIntent(int n) throws StripeException {
    return createPaymentIntent(stripe, n);
  }

  private static PaymentIntent createPaymentIntent(StripeClient client, int n)
      throws StripeException {
    return client
        .v1()
        .paymentIntents()
        .create(PaymentIntentCreateParams.builder().setAmount(500L + n).setCurrency("usd").build());
  }

  private static PaymentIntent confirmedPayment(StripeClient client, int n) throws StripeException {
    return client
        .v1()
        .paymentIntents()
        .create(
            PaymentIntentCreateParams.builder()
                .setAmount(1000L + n)
                .setCurrency("usd")
                .setPaymentMethod("pm_card_visa")
                .setConfirm(true)
                .build());
  }

  private static String eventId(List<WebhookReceiver.Received> copies) {
    return copies.getFirst().eventId();
  }

  private List<WebhookAttempt> attemptsOf(String eventId) {
    return emulator.webhookAttempts().stream().filter(a -> a.eventId().equals(eventId)).toList();
  }

  private static long attemptsOf(StripeEmulator emulator, String eventId) {
    return emulator.webhookAttempts().stream().filter(a -> a.eventId().equals(eventId)).count();
  }

  private static List<Event> events(StripeClient client) {
    try {
      return client.v1().events().list(EventListParams.builder().setLimit(100L).build()).getData();
    } catch (StripeException e) {
      throw new AssertionError(e);
    }
  }

  private static long pendingWebhooks(StripeClient client, String eventId) {
    try {
      return client.v1().events().retrieve(eventId).getPendingWebhooks();
    } catch (StripeException e) {
      throw new IllegalStateException(e);
    }
  }

  private static StripeClient client(StripeEmulator emulator) {
    return StripeClient.builder()
        .setApiKey(emulator.secretKey())
        .setApiBase(emulator.baseUrl())
        .build();
  }
}
