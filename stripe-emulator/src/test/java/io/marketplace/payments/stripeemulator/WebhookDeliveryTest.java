package io.marketplace.payments.stripeemulator;

import static io.marketplace.payments.stripeemulator.WebhookReceiver.event;
import static org.assertj.core.api.Assertions.assertThat;

import com.stripe.StripeClient;
import com.stripe.exception.StripeException;
import com.stripe.model.PaymentIntent;
import com.stripe.model.WebhookEndpoint;
import com.stripe.net.Webhook;
import com.stripe.param.PaymentIntentCreateParams;
import com.stripe.param.WebhookEndpointCreateParams;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Delivery as Stripe does it: retried with backoff on non-2xx, held while paused. */
class WebhookDeliveryTest {
  private static final String WEBHOOK_SECRET = "whsec_webhookDeliveryTest";
  private static final Duration WAIT = Duration.ofSeconds(10);

  private WebhookReceiver receiver;
  private StripeEmulator emulator;
  private StripeClient stripe;

  @BeforeEach
  void start() {
    receiver = WebhookReceiver.start();
    emulator =
        StripeEmulator.start(
            StripeEmulator.Config.defaults()
                .withWebhookEndpoint(receiver.url(), WEBHOOK_SECRET)
                .withWebhookRetries(Duration.ofMillis(50), 3));
    stripe =
        StripeClient.builder()
            .setApiKey(emulator.secretKey())
            .setApiBase(emulator.baseUrl())
            .build();
  }

  @AfterEach
  void stop() {
    emulator.close();
    receiver.close();
  }

  @Test
  void shouldRetryUntilReceiverAnswers200WhenItFailsFirst() throws StripeException {
    // Given
    receiver.failNext(2);

    // When
    PaymentIntent created = createPaymentIntent();

    // Then
    List<WebhookReceiver.Received> tries =
        receiver.awaitCount(event("payment_intent.created", created.getId()), 3, WAIT);
    assertThat(tries)
        .extracting(WebhookReceiver.Received::answeredStatus)
        .containsExactly(500, 500, 200);
    assertThat(tries)
        .extracting(WebhookReceiver.Received::eventId)
        .containsOnly(tries.getFirst().eventId());
    Eventually.await(
        "three recorded attempts", WAIT, () -> attemptsOf(tries.getFirst().eventId()).size() == 3);
    assertThat(attemptsOf(tries.getFirst().eventId()))
        .extracting(WebhookAttempt::attempt, WebhookAttempt::statusCode, WebhookAttempt::succeeded)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(1, 500, false),
            org.assertj.core.groups.Tuple.tuple(2, 500, false),
            org.assertj.core.groups.Tuple.tuple(3, 200, true));
  }

  @Test
  void shouldStopAfterMaxAttemptsWhenReceiverKeepsFailing() throws StripeException {
    // Given
    receiver.failNext(100);

    // When
    PaymentIntent created = createPaymentIntent();

    // Then
    List<WebhookReceiver.Received> tries =
        receiver.awaitCount(event("payment_intent.created", created.getId()), 3, WAIT);
    assertThat(tries).extracting(WebhookReceiver.Received::answeredStatus).containsOnly(500);
    Eventually.await(
        "three failed attempts", WAIT, () -> attemptsOf(tries.getFirst().eventId()).size() == 3);
    assertThat(attemptsOf(tries.getFirst().eventId())).noneMatch(WebhookAttempt::succeeded);
  }

  @Test
  void shouldRetryWhenEndpointRefusesConnections() throws StripeException {
    // Given
    String unreachable = "http://127.0.0.1:9/webhooks/stripe";
    emulator.addWebhookEndpoint(unreachable, "whsec_unreachable");

    // When
    createPaymentIntent();

    // Then
    Eventually.await(
        "three connection failures",
        WAIT,
        () ->
            emulator.webhookAttempts().stream().filter(a -> a.url().equals(unreachable)).count()
                == 3);
    assertThat(emulator.webhookAttempts().stream().filter(a -> a.url().equals(unreachable)))
        .allSatisfy(
            a -> {
              assertThat(a.statusCode()).isZero();
              assertThat(a.error()).isNotBlank();
            });
  }

  @Test
  void shouldHoldDeliveriesWhilePausedAndSendThemOnResume() throws StripeException {
    // Given
    emulator.pauseWebhooks();
    PaymentIntent created = createPaymentIntent();
    String eventId =
        stripe.v1().events().list().getData().stream()
            .filter(e -> e.getType().equals("payment_intent.created"))
            .findFirst()
            .orElseThrow()
            .getId();
    assertThat(attemptsOf(eventId)).isEmpty();

    // When
    emulator.resumeWebhooks();

    // Then
    WebhookReceiver.Received received =
        receiver.await(event("payment_intent.created", created.getId()), WAIT);
    assertThat(received.eventId()).isEqualTo(eventId);
  }

  @Test
  void shouldSignWithTheSecretReturnedWhenEndpointIsCreatedThroughTheApi() throws Exception {
    // Given
    try (WebhookReceiver second = WebhookReceiver.start()) {
      WebhookEndpoint endpoint =
          stripe
              .v1()
              .webhookEndpoints()
              .create(
                  WebhookEndpointCreateParams.builder()
                      .setUrl(second.url())
                      .addEnabledEvent(
                          WebhookEndpointCreateParams.EnabledEvent.PAYMENT_INTENT__SUCCEEDED)
                      .build());

      // When
      PaymentIntent paid =
          stripe
              .v1()
              .paymentIntents()
              .create(
                  PaymentIntentCreateParams.builder()
                      .setAmount(500L)
                      .setCurrency("usd")
                      .setPaymentMethod("pm_card_visa")
                      .setConfirm(true)
                      .build());

      // Then
      assertThat(endpoint.getId()).startsWith("we_");
      assertThat(endpoint.getSecret()).startsWith("whsec_");
      assertThat(stripe.v1().webhookEndpoints().retrieve(endpoint.getId()).getSecret()).isNull();
      WebhookReceiver.Received received =
          second.await(event("payment_intent.succeeded", paid.getId()), WAIT);
      assertThat(
              Webhook.constructEvent(received.payload(), received.signature(), endpoint.getSecret())
                  .getType())
          .isEqualTo("payment_intent.succeeded");
      assertThat(second.all()).allMatch(r -> r.type().equals("payment_intent.succeeded"));
    }
  }

  private PaymentIntent createPaymentIntent() throws StripeException {
    return stripe
        .v1()
        .paymentIntents()
        .create(PaymentIntentCreateParams.builder().setAmount(500L).setCurrency("usd").build());
  }

  private List<WebhookAttempt> attemptsOf(String eventId) {
    return emulator.webhookAttempts().stream()
        .filter(a -> a.eventId().equals(eventId) && a.url().equals(receiver.url()))
        .toList();
  }
}
