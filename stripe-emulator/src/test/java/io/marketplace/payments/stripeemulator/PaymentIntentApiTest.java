package io.marketplace.payments.stripeemulator;

import static io.marketplace.payments.stripeemulator.WebhookReceiver.event;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.stripe.StripeClient;
import com.stripe.exception.AuthenticationException;
import com.stripe.exception.CardException;
import com.stripe.exception.IdempotencyException;
import com.stripe.exception.InvalidRequestException;
import com.stripe.exception.StripeException;
import com.stripe.model.Charge;
import com.stripe.model.PaymentIntent;
import com.stripe.net.RequestOptions;
import com.stripe.param.PaymentIntentCancelParams;
import com.stripe.param.PaymentIntentConfirmParams;
import com.stripe.param.PaymentIntentCreateParams;
import com.stripe.param.PaymentIntentListParams;
import com.stripe.param.PaymentIntentRetrieveParams;
import com.stripe.param.PaymentIntentUpdateParams;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** PaymentIntents driven by stripe-java itself, pointed at the emulator. */
class PaymentIntentApiTest {
  private static final String WEBHOOK_SECRET = "whsec_paymentIntentApiTest";
  private static final Duration WAIT = Duration.ofSeconds(10);

  private static WebhookReceiver receiver;
  private static StripeEmulator emulator;
  private static StripeClient stripe;

  @BeforeAll
  static void start() {
    receiver = WebhookReceiver.start();
    emulator =
        StripeEmulator.start(
            StripeEmulator.Config.defaults()
                .withWebhookEndpoint(receiver.url(), WEBHOOK_SECRET)
                .withWebhookRetries(Duration.ofMillis(50), 5)
                .withDisputeDelay(Duration.ofMillis(100)));
    stripe =
        StripeClient.builder()
            .setApiKey(emulator.secretKey())
            .setApiBase(emulator.baseUrl())
            .build();
  }

  @AfterAll
  static void stop() {
    emulator.close();
    receiver.close();
  }

  @Test
  void shouldReturnSamePaymentIntentWhenCreatedTwiceWithSameIdempotencyKey()
      throws StripeException {
    // Given
    RequestOptions options =
        RequestOptions.builder().setIdempotencyKey(UUID.randomUUID().toString()).build();
    PaymentIntentCreateParams params = posting(500, "listing-1");

    // When
    PaymentIntent first = stripe.v1().paymentIntents().create(params, options);
    PaymentIntent second = stripe.v1().paymentIntents().create(params, options);

    // Then
    assertThat(second.getId()).isEqualTo(first.getId());
    assertThat(first.getId()).startsWith("pi_");
    assertThat(first.getClientSecret()).startsWith(first.getId() + "_secret_");
    assertThat(first.getStatus()).isEqualTo("requires_payment_method");
    assertThat(first.getLivemode()).isFalse();
    assertThat(first.getMetadata()).containsEntry("listing_id", "listing-1");
    assertThat(first.getLastResponse().headers().firstValue("Request-Id"))
        .get()
        .asString()
        .startsWith("req_");
    assertThat(second.getLastResponse().headers().firstValue("Idempotent-Replayed"))
        .contains("true");
  }

  @Test
  void shouldRejectWhenIdempotencyKeyIsReusedWithOtherParams() throws StripeException {
    // Given
    RequestOptions options =
        RequestOptions.builder().setIdempotencyKey(UUID.randomUUID().toString()).build();
    stripe.v1().paymentIntents().create(posting(500, "listing-2"), options);

    // When
    IdempotencyException error =
        catchThrowableOfType(
            IdempotencyException.class,
            () -> stripe.v1().paymentIntents().create(posting(1000, "listing-2"), options));

    // Then
    assertThat(error.getStatusCode()).isEqualTo(400);
    assertThat(error.getStripeError().getType()).isEqualTo("idempotency_error");
    assertThat(error.getMessage()).contains("same parameters");
  }

  @Test
  void shouldCreateOnePaymentIntentWhenSameKeyIsSentConcurrently() throws Exception {
    // Given
    String key = UUID.randomUUID().toString();
    String listing = "listing-" + UUID.randomUUID();
    HttpClient http = HttpClient.newHttpClient();
    HttpRequest request =
        HttpRequest.newBuilder(URI.create(emulator.baseUrl() + "/v1/payment_intents"))
            .header("Authorization", "Bearer " + emulator.secretKey())
            .header("Idempotency-Key", key)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .POST(
                HttpRequest.BodyPublishers.ofString(
                    "amount=500&currency=usd&metadata[listing_id]=" + listing))
            .build();
    Callable<HttpResponse<String>> create =
        () -> http.send(request, HttpResponse.BodyHandlers.ofString());

    // When
    List<Future<HttpResponse<String>>> results = new ArrayList<>();
    try (ExecutorService pool = Executors.newFixedThreadPool(8)) {
      for (int i = 0; i < 8; i++) {
        results.add(pool.submit(create));
      }
    }

    // Then each is answered the PaymentIntent, or, while the first still runs, Stripe's 409 for a
    // key in use (kept for nobody: a retry gets the first answer)
    Set<String> ids = new HashSet<>();
    for (Future<HttpResponse<String>> result : results) {
      HttpResponse<String> response = result.get();
      if (response.statusCode() == 409) {
        var error = JsonBodies.parse(response.body()).path("error");
        assertThat(error.path("type").asText()).isEqualTo("idempotency_error");
        assertThat(error.path("code").asText()).isEqualTo("idempotency_key_in_use");
      } else {
        assertThat(response.statusCode()).isEqualTo(200);
        ids.add(JsonBodies.field(response.body(), "id"));
      }
    }
    HttpResponse<String> retry = create.call();
    assertThat(retry.statusCode()).isEqualTo(200);
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).contains("true");
    ids.add(JsonBodies.field(retry.body(), "id"));
    assertThat(ids).hasSize(1);
    long withThisListing =
        stripe
            .v1()
            .paymentIntents()
            .list(PaymentIntentListParams.builder().setLimit(100L).build())
            .getData()
            .stream()
            .filter(pi -> listing.equals(pi.getMetadata().get("listing_id")))
            .count();
    assertThat(withThisListing).isEqualTo(1);
  }

  @Test
  void shouldSucceedAndCopyMetadataOntoChargeWhenConfirmedWithVisa() throws StripeException {
    // Given
    PaymentIntent created = stripe.v1().paymentIntents().create(posting(500, "listing-3"));

    // When
    PaymentIntent confirmed =
        stripe
            .v1()
            .paymentIntents()
            .confirm(
                created.getId(),
                PaymentIntentConfirmParams.builder().setPaymentMethod("pm_card_visa").build());

    // Then
    assertThat(confirmed.getStatus()).isEqualTo("succeeded");
    assertThat(confirmed.getAmountReceived()).isEqualTo(500L);
    assertThat(confirmed.getPaymentMethod()).startsWith("pm_").isNotEqualTo("pm_card_visa");
    assertThat(confirmed.getLatestCharge()).startsWith("ch_");
    Charge charge = stripe.v1().charges().retrieve(confirmed.getLatestCharge());
    assertThat(charge.getStatus()).isEqualTo("succeeded");
    assertThat(charge.getPaid()).isTrue();
    assertThat(charge.getPaymentIntent()).isEqualTo(created.getId());
    assertThat(charge.getMetadata())
        .containsEntry("listing_id", "listing-3")
        .containsEntry("payment_type", "posting_fee");
    assertThat(charge.getPaymentMethodDetails().getCard().getLast4()).isEqualTo("4242");
    receiver.await(event("charge.succeeded", created.getId()), WAIT);
    receiver.await(event("payment_intent.succeeded", created.getId()), WAIT);
  }

  @Test
  void shouldExpandLatestChargeWhenAskedTo() throws StripeException {
    // Given
    PaymentIntent paid = stripe.v1().paymentIntents().create(paidPosting("listing-4"));

    // When
    PaymentIntent retrieved =
        stripe
            .v1()
            .paymentIntents()
            .retrieve(
                paid.getId(),
                PaymentIntentRetrieveParams.builder().addExpand("latest_charge").build());

    // Then
    assertThat(retrieved.getLatestChargeObject()).isNotNull();
    assertThat(retrieved.getLatestChargeObject().getAmount()).isEqualTo(500L);
    assertThat(retrieved.getLatestCharge()).isEqualTo(paid.getLatestCharge());
  }

  @Test
  void shouldThrowCardExceptionWithDeclineCodeWhenCardIsDeclined() throws StripeException {
    // Given
    PaymentIntent created = stripe.v1().paymentIntents().create(posting(500, "listing-5"));

    // When
    CardException error =
        catchThrowableOfType(
            CardException.class,
            () ->
                stripe
                    .v1()
                    .paymentIntents()
                    .confirm(
                        created.getId(),
                        PaymentIntentConfirmParams.builder()
                            .setPaymentMethod("pm_card_chargeDeclined")
                            .build()));

    // Then
    assertThat(error.getStatusCode()).isEqualTo(402);
    assertThat(error.getCode()).isEqualTo("card_declined");
    assertThat(error.getDeclineCode()).isEqualTo("generic_decline");
    assertThat(error.getCharge()).startsWith("ch_");
    assertThat(error.getStripeError().getPaymentIntent().getStatus())
        .isEqualTo("requires_payment_method");
    PaymentIntent after = stripe.v1().paymentIntents().retrieve(created.getId());
    assertThat(after.getStatus()).isEqualTo("requires_payment_method");
    assertThat(after.getLastPaymentError().getDeclineCode()).isEqualTo("generic_decline");
    assertThat(after.getLastPaymentError().getType()).isEqualTo("card_error");
    assertThat(stripe.v1().charges().retrieve(error.getCharge()).getStatus()).isEqualTo("failed");
    receiver.await(event("payment_intent.payment_failed", created.getId()), WAIT);
    receiver.await(event("charge.failed", created.getId()), WAIT);
  }

  @Test
  void shouldSucceedWhenConfirmedAgainAfterADecline() throws StripeException {
    // Given
    PaymentIntent created = stripe.v1().paymentIntents().create(posting(500, "listing-6"));
    catchThrowableOfType(
        CardException.class,
        () ->
            stripe
                .v1()
                .paymentIntents()
                .confirm(
                    created.getId(),
                    PaymentIntentConfirmParams.builder()
                        .setPaymentMethod("pm_card_chargeDeclinedInsufficientFunds")
                        .build()));

    // When
    PaymentIntent retried =
        stripe
            .v1()
            .paymentIntents()
            .confirm(
                created.getId(),
                PaymentIntentConfirmParams.builder().setPaymentMethod("pm_card_visa").build());

    // Then
    assertThat(retried.getStatus()).isEqualTo("succeeded");
    assertThat(retried.getLastPaymentError()).isNull();
  }

  @Test
  void shouldCancelWhenNotPaidAndRefuseWhenPaid() throws StripeException {
    // Given
    PaymentIntent unpaid = stripe.v1().paymentIntents().create(posting(500, "listing-7"));
    PaymentIntent paid = stripe.v1().paymentIntents().create(paidPosting("listing-7"));

    // When
    PaymentIntent canceled =
        stripe
            .v1()
            .paymentIntents()
            .cancel(
                unpaid.getId(),
                PaymentIntentCancelParams.builder()
                    .setCancellationReason(PaymentIntentCancelParams.CancellationReason.ABANDONED)
                    .build());
    InvalidRequestException error =
        catchThrowableOfType(
            InvalidRequestException.class, () -> stripe.v1().paymentIntents().cancel(paid.getId()));

    // Then
    assertThat(canceled.getStatus()).isEqualTo("canceled");
    assertThat(canceled.getCancellationReason()).isEqualTo("abandoned");
    assertThat(canceled.getCanceledAt()).isNotNull();
    assertThat(error.getCode()).isEqualTo("payment_intent_unexpected_state");
    receiver.await(event("payment_intent.canceled", unpaid.getId()), WAIT);
  }

  @Test
  void shouldChargeTheNewAmountWhenUpdatedBeforePaymentAndRefuseAnUpdateOncePaid()
      throws StripeException {
    // Given an unpaid PaymentIntent of 500 usd and a paid one
    PaymentIntent unpaid = stripe.v1().paymentIntents().create(posting(500, "listing-8"));
    PaymentIntent paid = stripe.v1().paymentIntents().create(paidPosting("listing-8"));

    // When both are changed to 700 eur, as in Stripe's dashboard
    PaymentIntentUpdateParams update =
        PaymentIntentUpdateParams.builder().setAmount(700L).setCurrency("EUR").build();
    PaymentIntent updated = stripe.v1().paymentIntents().update(unpaid.getId(), update);
    InvalidRequestException error =
        catchThrowableOfType(
            InvalidRequestException.class,
            () -> stripe.v1().paymentIntents().update(paid.getId(), update));

    // Then the unpaid one charges the new amount, with the same client secret; the paid one stays
    assertThat(updated.getAmount()).isEqualTo(700L);
    assertThat(updated.getCurrency()).isEqualTo("eur");
    assertThat(updated.getClientSecret()).isEqualTo(unpaid.getClientSecret());
    PaymentIntent confirmed =
        stripe
            .v1()
            .paymentIntents()
            .confirm(
                unpaid.getId(),
                PaymentIntentConfirmParams.builder().setPaymentMethod("pm_card_visa").build());
    assertThat(confirmed.getAmountReceived()).isEqualTo(700L);
    assertThat(error.getCode()).isEqualTo("payment_intent_unexpected_state");
    assertThat(stripe.v1().paymentIntents().retrieve(paid.getId()).getAmount()).isEqualTo(500L);
  }

  @Test
  void shouldAnswer404WhenPaymentIntentIsUnknown() {
    // When
    InvalidRequestException error =
        catchThrowableOfType(
            InvalidRequestException.class,
            () -> stripe.v1().paymentIntents().retrieve("pi_doesNotExist"));

    // Then
    assertThat(error.getStatusCode()).isEqualTo(404);
    assertThat(error.getCode()).isEqualTo("resource_missing");
    assertThat(error.getMessage()).contains("No such payment_intent: 'pi_doesNotExist'");
  }

  @Test
  void shouldAnswer404ToEveryCallNamingADeletedPaymentIntent() throws StripeException {
    // Given a PaymentIntent that existed
    PaymentIntent made =
        stripe
            .v1()
            .paymentIntents()
            .create(
                posting(500, "listing-deleted"),
                RequestOptions.builder().setIdempotencyKey(UUID.randomUUID().toString()).build());

    // When it is deleted, as Stripe's "delete all test data" does
    emulator.deletePaymentIntent(made.getId());

    // Then a retrieve, a confirm and a cancel get Stripe's 404, as a key of another account would
    for (Callable<?> call :
        List.<Callable<?>>of(
            () -> stripe.v1().paymentIntents().retrieve(made.getId()),
            () ->
                stripe
                    .v1()
                    .paymentIntents()
                    .confirm(
                        made.getId(),
                        PaymentIntentConfirmParams.builder()
                            .setPaymentMethod("pm_card_visa")
                            .build()),
            () -> stripe.v1().paymentIntents().cancel(made.getId()))) {
      InvalidRequestException error =
          catchThrowableOfType(InvalidRequestException.class, call::call);
      assertThat(error.getStatusCode()).isEqualTo(404);
      assertThat(error.getCode()).isEqualTo("resource_missing");
      assertThat(error.getParam()).isEqualTo("intent");
      assertThat(error.getStripeError().getType()).isEqualTo("invalid_request_error");
      assertThat(error.getMessage()).contains("No such payment_intent: '" + made.getId() + "'");
    }
  }

  @Test
  void shouldAnswer400WhenRequiredParamIsMissing() {
    // When
    InvalidRequestException error =
        catchThrowableOfType(
            InvalidRequestException.class,
            () ->
                stripe
                    .v1()
                    .paymentIntents()
                    .create(PaymentIntentCreateParams.builder().setCurrency("usd").build()));

    // Then
    assertThat(error.getStatusCode()).isEqualTo(400);
    assertThat(error.getCode()).isEqualTo("parameter_missing");
    assertThat(error.getParam()).isEqualTo("amount");
  }

  @Test
  void shouldRejectWhenApiKeyIsWrong() {
    // Given
    StripeClient wrongKey =
        StripeClient.builder()
            .setApiKey("sk_test_wrong123456")
            .setApiBase(emulator.baseUrl())
            .build();

    // When
    AuthenticationException error =
        catchThrowableOfType(
            AuthenticationException.class,
            () -> wrongKey.v1().paymentIntents().create(posting(500, "listing-8")));

    // Then
    assertThat(error.getStatusCode()).isEqualTo(401);
    assertThat(error.getMessage()).startsWith("Invalid API Key provided: sk_test_");
    assertThat(error.getMessage()).doesNotContain("wrong123");
  }

  static PaymentIntentCreateParams posting(long amount, String listingId) {
    return PaymentIntentCreateParams.builder()
        .setAmount(amount)
        .setCurrency("usd")
        .putMetadata("listing_id", listingId)
        .putMetadata("payment_type", "posting_fee")
        .setAutomaticPaymentMethods(
            PaymentIntentCreateParams.AutomaticPaymentMethods.builder().setEnabled(true).build())
        .build();
  }

  static PaymentIntentCreateParams paidPosting(String listingId) {
    return PaymentIntentCreateParams.builder()
        .setAmount(500L)
        .setCurrency("usd")
        .putMetadata("listing_id", listingId)
        .setPaymentMethod("pm_card_visa")
        .setConfirm(true)
        .build();
  }
}
