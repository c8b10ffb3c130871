package io.marketplace.payments.stripeemulator;

import static io.marketplace.payments.stripeemulator.WebhookReceiver.event;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.stripe.StripeClient;
import com.stripe.exception.ApiConnectionException;
import com.stripe.exception.ApiException;
import com.stripe.exception.AuthenticationException;
import com.stripe.exception.PermissionException;
import com.stripe.exception.RateLimitException;
import com.stripe.exception.StripeException;
import com.stripe.model.PaymentIntent;
import com.stripe.model.Refund;
import com.stripe.net.RequestOptions;
import com.stripe.param.PaymentIntentCreateParams;
import com.stripe.param.PaymentIntentListParams;
import com.stripe.param.RefundCreateParams;
import io.marketplace.payments.stripeemulator.http.ApiFaults;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The test controls under {@code /_emulator}, as other modules' tests drive them over HTTP. */
class TestControlsTest {
  private static final String WEBHOOK_SECRET = "whsec_testControlsTest";
  private static final Duration WAIT = Duration.ofSeconds(10);

  private static WebhookReceiver receiver;
  private static StripeEmulator emulator;
  private static StripeClient stripe;
  private static final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  static void start() {
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

  @AfterAll
  static void stop() {
    emulator.close();
    receiver.close();
  }

  @Test
  void shouldFailRefundWith500AndThenRefundOnRetryWithSameKey() throws Exception {
    // Given
    PaymentIntent paid = pay();
    assertThat(
            control("POST", "/_emulator/refund_failures", "count=1&mode=error")
                .path("armed")
                .asInt())
        .isEqualTo(1);
    RequestOptions key =
        RequestOptions.builder().setIdempotencyKey(UUID.randomUUID().toString()).build();
    RefundCreateParams params = RefundCreateParams.builder().setPaymentIntent(paid.getId()).build();

    // When
    ApiException failure =
        catchThrowableOfType(ApiException.class, () -> stripe.v1().refunds().create(params, key));
    Refund retried = stripe.v1().refunds().create(params, key);

    // Then
    assertThat(failure.getStatusCode()).isEqualTo(500);
    assertThat(failure.getStripeError().getType()).isEqualTo("api_error");
    assertThat(retried.getAmount()).isEqualTo(500L);
    assertThat(stripe.v1().charges().retrieve(paid.getLatestCharge()).getAmountRefunded())
        .isEqualTo(500L);
  }

  @Test
  void shouldKeepPaymentIntentCreation500ForItsKeyAndCreateWithAnotherKey() throws Exception {
    // Given
    assertThat(
            control("POST", "/_emulator/payment_intent_failures", "count=1&mode=error")
                .path("armed")
                .asInt())
        .isEqualTo(1);
    String key = UUID.randomUUID().toString();
    String form = "amount=700&currency=usd&metadata[listing_id]=" + UUID.randomUUID();

    // When
    HttpResponse<String> first = createPaymentIntent(key, form);
    HttpResponse<String> retried = createPaymentIntent(key, form);
    HttpResponse<String> otherKey = createPaymentIntent(UUID.randomUUID().toString(), form);

    // Then the retry with the same key replays the 500, as Stripe does for 24 hours
    assertThat(first.statusCode()).isEqualTo(500);
    assertThat(JsonBodies.parse(first.body()).path("error").path("type").asText())
        .isEqualTo("api_error");
    assertThat(retried.statusCode()).isEqualTo(500);
    assertThat(retried.headers().firstValue("Idempotent-Replayed")).contains("true");
    assertThat(otherKey.statusCode()).isEqualTo(200);
    assertThat(JsonBodies.parse(otherKey.body()).path("amount").asLong()).isEqualTo(700L);
    assertThat(control("GET", "/_emulator/payment_intent_failures", null).path("armed").asInt())
        .isZero();
  }

  @Test
  void shouldKeepAPaymentIntentCreationRefusalForItsKeyAndCreateWithAnotherKey() throws Exception {
    // Given
    assertThat(
            control("POST", "/_emulator/payment_intent_failures", "count=1&mode=refused")
                .path("armed")
                .asInt())
        .isEqualTo(1);
    String key = UUID.randomUUID().toString();
    String listingId = UUID.randomUUID().toString();
    String form = "amount=700&currency=usd&metadata[listing_id]=" + listingId;

    // When
    HttpResponse<String> first = createPaymentIntent(key, form);
    HttpResponse<String> retried = createPaymentIntent(key, form);
    HttpResponse<String> otherKey = createPaymentIntent(UUID.randomUUID().toString(), form);

    // Then the 400 is kept for the key, as Stripe keeps an endpoint's answer for 24 hours, and
    // nothing was made for it
    assertThat(first.statusCode()).isEqualTo(400);
    assertThat(JsonBodies.parse(first.body()).path("error").path("type").asText())
        .isEqualTo("invalid_request_error");
    assertThat(retried.statusCode()).isEqualTo(400);
    assertThat(retried.headers().firstValue("Idempotent-Replayed")).contains("true");
    assertThat(otherKey.statusCode()).isEqualTo(200);
    assertThat(
            stripe
                .v1()
                .paymentIntents()
                .list(PaymentIntentListParams.builder().setLimit(100L).build())
                .getData()
                .stream()
                .filter(pi -> listingId.equals(pi.getMetadata().get("listing_id"))))
        .hasSize(1);
  }

  @Test
  void shouldRefuseAFailureControlWithAnUnknownModeAndArmNothing() throws Exception {
    // When
    JsonNode refused =
        control("POST", "/_emulator/payment_intent_failures", "count=3&mode=sometimes");

    // Then
    assertThat(refused.path("error").path("message").asText())
        .isEqualTo("Invalid mode: must be one of [error, error_after_create, refused]");
    assertThat(control("GET", "/_emulator/payment_intent_failures", null).path("armed").asInt())
        .isZero();
  }

  @Test
  void shouldMakePaymentIntentThatNoAnswerNamesWhenFailingAfterCreating() throws Exception {
    // Given
    emulator.failNextPaymentIntentCreations(1, true);
    String listingId = UUID.randomUUID().toString();
    RequestOptions key =
        RequestOptions.builder().setIdempotencyKey(UUID.randomUUID().toString()).build();
    PaymentIntentCreateParams params =
        PaymentIntentCreateParams.builder()
            .setAmount(900L)
            .setCurrency("usd")
            .putMetadata("listing_id", listingId)
            .build();

    // When
    ApiException failure =
        catchThrowableOfType(
            ApiException.class, () -> stripe.v1().paymentIntents().create(params, key));
    ApiException retried =
        catchThrowableOfType(
            ApiException.class, () -> stripe.v1().paymentIntents().create(params, key));

    // Then
    assertThat(failure.getStatusCode()).isEqualTo(500);
    assertThat(retried.getStatusCode()).isEqualTo(500);
    assertThat(
            stripe
                .v1()
                .paymentIntents()
                .list(PaymentIntentListParams.builder().setLimit(100L).build())
                .autoPagingIterable())
        .filteredOn(pi -> listingId.equals(pi.getMetadata().get("listing_id")))
        .singleElement()
        .satisfies(pi -> assertThat(pi.getStatus()).isEqualTo("requires_payment_method"));
  }

  @Test
  void shouldCarryOutHungRefundAndReplayItWhenRetriedWithSameKey() throws Exception {
    // Given
    PaymentIntent paid = pay();
    emulator.hangNextRefunds(1, Duration.ofMillis(800));
    StripeClient impatient =
        StripeClient.builder()
            .setApiKey(emulator.secretKey())
            .setApiBase(emulator.baseUrl())
            .setReadTimeout(200)
            .build();
    RequestOptions key =
        RequestOptions.builder().setIdempotencyKey(UUID.randomUUID().toString()).build();
    RefundCreateParams params = RefundCreateParams.builder().setPaymentIntent(paid.getId()).build();

    // When a call times out while the refund hangs, and is retried with the same key at once
    ApiConnectionException timeout =
        catchThrowableOfType(
            ApiConnectionException.class, () -> impatient.v1().refunds().create(params, key));
    ApiException inUse =
        catchThrowableOfType(ApiException.class, () -> stripe.v1().refunds().create(params, key));

    // Then the retry is told the key is in use, as Stripe tells it (409, kept for nobody)
    assertThat(timeout).isNotNull();
    assertThat(inUse).isNotNull();
    assertThat(inUse.getStatusCode()).isEqualTo(409);
    assertThat(inUse.getCode()).isEqualTo("idempotency_key_in_use");

    // And a retry once the first is done gets its answer, and the refund is made once
    java.util.concurrent.atomic.AtomicReference<Refund> answer =
        new java.util.concurrent.atomic.AtomicReference<>();
    Eventually.await(
        "the retry answered once the hung refund is done",
        WAIT,
        () -> {
          try {
            answer.set(stripe.v1().refunds().create(params, key));
            return true;
          } catch (StripeException stillInUse) {
            return false;
          }
        });
    Refund replayed = answer.get();
    assertThat(replayed.getLastResponse().headers().firstValue("Idempotent-Replayed"))
        .contains("true");
    assertThat(stripe.v1().charges().retrieve(paid.getLatestCharge()).getAmountRefunded())
        .isEqualTo(500L);
    assertThat(receiver.awaitCount(event("refund.created", paid.getId()), 1, WAIT)).hasSize(1);
  }

  @Test
  void shouldFailASucceededRefundOnDemandAndGiveItsAmountBackToTheCharge() throws Exception {
    // Given
    PaymentIntent paid = pay();
    Refund refund =
        stripe
            .v1()
            .refunds()
            .create(
                RefundCreateParams.builder()
                    .setPaymentIntent(paid.getId())
                    .setAmount(200L)
                    .build());

    // When
    JsonNode failed = control("POST", "/_emulator/refunds/" + refund.getId() + "/fail", "");
    JsonNode again = control("POST", "/_emulator/refunds/" + refund.getId() + "/fail", "");

    // Then
    assertThat(failed.path("status").asText()).isEqualTo("failed");
    assertThat(stripe.v1().refunds().retrieve(refund.getId()).getStatus()).isEqualTo("failed");
    assertThat(stripe.v1().charges().retrieve(paid.getLatestCharge()).getAmountRefunded()).isZero();
    assertThat(again.path("error").path("message").asText()).contains("is failed");
    assertThat(receiver.awaitCount(event("refund.failed", paid.getId()), 1, WAIT)).hasSize(1);
  }

  @Test
  void shouldPublishRefundWhenRefundedOutsideTheSystem() throws Exception {
    // Given
    PaymentIntent paid = pay();

    // When
    JsonNode refund =
        control("POST", "/_emulator/payment_intents/" + paid.getId() + "/refund", "amount=200");

    // Then
    assertThat(refund.path("id").asText()).startsWith("re_");
    assertThat(refund.path("amount").asLong()).isEqualTo(200L);
    WebhookReceiver.Received refunded =
        receiver.await(event("charge.refunded", paid.getId()), WAIT);
    assertThat(refunded.object().path("amount_refunded").asLong()).isEqualTo(200L);
    assertThat(refunded.object().path("refunded").asBoolean()).isFalse();
    assertThat(
            refunded
                .json()
                .path("data")
                .path("previous_attributes")
                .path("amount_refunded")
                .asLong())
        .isZero();
    assertThat(refunded.json().path("request").path("idempotency_key").isNull()).isTrue();
    receiver.await(event("refund.created", paid.getId()), WAIT);
  }

  @Test
  void shouldOpenAndCloseDisputesThroughControls() throws Exception {
    // Given
    PaymentIntent paid = pay();

    // When
    JsonNode opened =
        control(
            "POST", "/_emulator/payment_intents/" + paid.getId() + "/dispute", "kind=chargeback");
    JsonNode closed =
        control(
            "POST", "/_emulator/disputes/" + opened.path("id").asText() + "/close", "outcome=won");

    // Then
    assertThat(opened.path("status").asText()).isEqualTo("needs_response");
    assertThat(opened.path("metadata").isEmpty()).isTrue();
    assertThat(closed.path("status").asText()).isEqualTo("won");
    receiver.await(event("charge.dispute.created", paid.getId()), WAIT);
    receiver.await(event("charge.dispute.closed", paid.getId()), WAIT);
    JsonNode again =
        control(
            "POST", "/_emulator/disputes/" + opened.path("id").asText() + "/close", "outcome=lost");
    assertThat(again.path("error").path("type").asText()).isEqualTo("invalid_request_error");
  }

  @Test
  void shouldListDeliveredWebhookAttempts() throws Exception {
    // Given
    PaymentIntent paid = pay();
    WebhookReceiver.Received delivered =
        receiver.await(event("payment_intent.succeeded", paid.getId()), WAIT);

    // When (the attempt is recorded once the receiver's answer is read, just after it arrived)
    JsonNode attempts =
        control("GET", "/_emulator/webhook_attempts?event_id=" + delivered.eventId(), null);
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (attempts.path("data").isEmpty() && System.nanoTime() < deadline) {
      attempts =
          control("GET", "/_emulator/webhook_attempts?event_id=" + delivered.eventId(), null);
    }

    // Then
    assertThat(attempts.path("data")).hasSize(1);
    assertThat(attempts.path("data").get(0).path("status_code").asInt()).isEqualTo(200);
    assertThat(attempts.path("data").get(0).path("event_type").asText())
        .isEqualTo("payment_intent.succeeded");
  }

  @Test
  void shouldSetShowAndClearWebhookDeliveryQuirks() throws Exception {
    try {
      // When
      JsonNode set =
          control(
              "POST",
              "/_emulator/webhook_quirks",
              "redeliveries=1&twins=true&resume_order=shuffle&seed=7");
      JsonNode refused = control("POST", "/_emulator/webhook_quirks", "resume_order=sideways");
      PaymentIntent paid = pay();

      // Then
      assertThat(set.path("redeliveries").asInt()).isEqualTo(1);
      assertThat(set.path("twins").asBoolean()).isTrue();
      assertThat(set.path("resume_order").asText()).isEqualTo("shuffle");
      assertThat(set.path("seed").asLong()).isEqualTo(7);
      assertThat(refused.path("error").path("param").asText()).isEqualTo("resume_order");
      assertThat(control("GET", "/_emulator/webhook_quirks", null)).isEqualTo(set);
      // two events, each delivered twice
      assertThat(
              receiver.awaitCount(event("payment_intent.succeeded", paid.getId()), 4, WAIT).stream()
                  .map(WebhookReceiver.Received::eventId)
                  .distinct())
          .hasSize(2);
    } finally {
      // And
      JsonNode cleared = control("DELETE", "/_emulator/webhook_quirks", null);
      assertThat(cleared.path("redeliveries").asInt()).isZero();
      assertThat(cleared.path("twins").asBoolean()).isFalse();
      assertThat(cleared.path("resume_order").asText()).isEqualTo("arrival");
    }
  }

  @Test
  void shouldAnswer401InStripesShapeWhenNoApiKeyIsGiven() throws Exception {
    // When
    HttpResponse<String> response =
        http.send(
            HttpRequest.newBuilder(URI.create(emulator.baseUrl() + "/v1/payment_intents"))
                .GET()
                .build(),
            HttpResponse.BodyHandlers.ofString());

    // Then
    assertThat(response.statusCode()).isEqualTo(401);
    assertThat(response.headers().firstValue("Request-Id")).get().asString().startsWith("req_");
    JsonNode error = JsonBodies.parse(response.body()).path("error");
    assertThat(error.path("type").asText()).isEqualTo("invalid_request_error");
    assertThat(error.path("message").asText()).startsWith("You did not provide an API key.");
  }

  @Test
  void shouldAcceptBasicAuthWithKeyAsUserName() throws Exception {
    // Given
    String basic =
        java.util.Base64.getEncoder()
            .encodeToString(
                (emulator.secretKey() + ":").getBytes(java.nio.charset.StandardCharsets.UTF_8));

    // When
    HttpResponse<String> response =
        http.send(
            HttpRequest.newBuilder(URI.create(emulator.baseUrl() + "/v1/payment_intents?limit=1"))
                .header("Authorization", "Basic " + basic)
                .GET()
                .build(),
            HttpResponse.BodyHandlers.ofString());

    // Then
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(JsonBodies.field(response.body(), "object")).isEqualTo("list");
  }

  @Test
  void shouldAnswerStripesUnrecognizedUrlErrorWhenPathIsUnknown() throws Exception {
    // When
    HttpResponse<String> response =
        http.send(
            HttpRequest.newBuilder(URI.create(emulator.baseUrl() + "/v1/customers"))
                .header("Authorization", "Bearer " + emulator.secretKey())
                .GET()
                .build(),
            HttpResponse.BodyHandlers.ofString());

    // Then
    assertThat(response.statusCode()).isEqualTo(404);
    assertThat(JsonBodies.parse(response.body()).path("error").path("message").asText())
        .startsWith("Unrecognized request URL (GET: /v1/customers).");
  }

  @Test
  void shouldAnswer429ThatIsNotKeptForTheKeyWhenRateLimitIsArmedForTheCall() throws Exception {
    // Given a payment, and Stripe holding the next refund call off over HTTP
    PaymentIntent paid = pay();
    assertThat(
            control(
                    "POST",
                    "/_emulator/api_failures",
                    "operation=" + encode("POST /v1/refunds") + "&count=1&kind=rate_limit")
                .path("armed")
                .asInt())
        .isEqualTo(1);
    RequestOptions key =
        RequestOptions.builder().setIdempotencyKey(UUID.randomUUID().toString()).build();
    RefundCreateParams params = RefundCreateParams.builder().setPaymentIntent(paid.getId()).build();

    // When the refund is asked for, then asked again with the same key
    RateLimitException limited =
        catchThrowableOfType(
            RateLimitException.class, () -> stripe.v1().refunds().create(params, key));
    Refund retried = stripe.v1().refunds().create(params, key);

    // Then the first got Stripe's 429, which nothing retries on its own, and did nothing
    assertThat(limited.getStatusCode()).isEqualTo(429);
    assertThat(limited.getCode()).isEqualTo("rate_limit");
    assertThat(limited.getStripeError().getType()).isEqualTo("invalid_request_error");
    assertThat(
            limited.getStripeError().getLastResponse().headers().firstValue("Stripe-Should-Retry"))
        .isEmpty();
    // and the retry with its key went through, once, not a replay of the 429
    assertThat(retried.getAmount()).isEqualTo(500L);
    assertThat(retried.getLastResponse().headers().firstValue("Idempotent-Replayed")).isEmpty();
    assertThat(stripe.v1().charges().retrieve(paid.getLatestCharge()).getAmountRefunded())
        .isEqualTo(500L);
    assertThat(control("GET", "/_emulator/api_failures", null).path("armed").asInt()).isZero();
  }

  @Test
  void shouldLetStripeJavaRetryALockTimeoutItIsToldToRetryWhenItsNetworkRetriesAreOn()
      throws Exception {
    // Given a PaymentIntent whose next two retrievals meet a lock held at Stripe
    PaymentIntent paid = pay();
    emulator.failNextApiCalls("GET /v1/payment_intents/{id}", 2, ApiFaults.Kind.LOCK_TIMEOUT);
    StripeClient once =
        StripeClient.builder()
            .setApiKey(emulator.secretKey())
            .setApiBase(emulator.baseUrl())
            .setMaxNetworkRetries(0)
            .build();
    StripeClient retryingTwice =
        StripeClient.builder()
            .setApiKey(emulator.secretKey())
            .setApiBase(emulator.baseUrl())
            .setMaxNetworkRetries(2)
            .build();

    // When a client without network retries asks, then one with them
    RateLimitException locked =
        catchThrowableOfType(
            RateLimitException.class, () -> once.v1().paymentIntents().retrieve(paid.getId()));
    PaymentIntent retrieved = retryingTwice.v1().paymentIntents().retrieve(paid.getId());

    // Then the first got the 429 lock_timeout with Stripe-Should-Retry: true
    assertThat(locked.getStatusCode()).isEqualTo(429);
    assertThat(locked.getCode()).isEqualTo("lock_timeout");
    assertThat(
            locked.getStripeError().getLastResponse().headers().firstValue("Stripe-Should-Retry"))
        .contains("true");
    // and stripe-java retried the second through the other lock timeout, on that header
    assertThat(retrieved.getId()).isEqualTo(paid.getId());
    assertThat(control("GET", "/_emulator/api_failures", null).path("armed").asInt()).isZero();
  }

  @Test
  void shouldAnswer403And401AsStripeRefusesAKeyWhenArmedForTheCall() throws Exception {
    // Given a restricted key's refusal, then an expired key's, armed for PaymentIntent creations
    emulator.failNextApiCalls("POST /v1/payment_intents", 1, ApiFaults.Kind.PERMISSION);
    emulator.failNextApiCalls("POST /v1/payment_intents", 1, ApiFaults.Kind.AUTHENTICATION);
    PaymentIntentCreateParams params =
        PaymentIntentCreateParams.builder()
            .setAmount(600L)
            .setCurrency("usd")
            .putMetadata("listing_id", UUID.randomUUID().toString())
            .build();
    RequestOptions key =
        RequestOptions.builder().setIdempotencyKey(UUID.randomUUID().toString()).build();

    // When it is asked for three times under one key
    PermissionException forbidden =
        catchThrowableOfType(
            PermissionException.class, () -> stripe.v1().paymentIntents().create(params, key));
    AuthenticationException expired =
        catchThrowableOfType(
            AuthenticationException.class, () -> stripe.v1().paymentIntents().create(params, key));
    PaymentIntent created = stripe.v1().paymentIntents().create(params, key);

    // Then stripe-java raised what it raises against Stripe, and neither was kept for the key
    assertThat(forbidden.getStatusCode()).isEqualTo(403);
    assertThat(forbidden.getMessage()).contains("does not have the required permissions");
    assertThat(expired).isNotInstanceOf(PermissionException.class);
    assertThat(expired.getStatusCode()).isEqualTo(401);
    assertThat(expired.getCode()).isEqualTo("api_key_expired");
    assertThat(created.getAmount()).isEqualTo(600L);
    assertThat(created.getLastResponse().headers().firstValue("Idempotent-Replayed")).isEmpty();
  }

  @Test
  void shouldRefuseAnApiFailureForAnOperationNotNamedAsARouteAndArmNothing() throws Exception {
    // When
    JsonNode refused =
        control("POST", "/_emulator/api_failures", "operation=refunds&kind=rate_limit");
    JsonNode unknownKind =
        control(
            "POST",
            "/_emulator/api_failures",
            "operation=" + encode("POST /v1/refunds") + "&kind=sometimes");

    // Then
    assertThat(refused.path("error").path("param").asText()).isEqualTo("operation");
    assertThat(unknownKind.path("error").path("message").asText())
        .isEqualTo(
            "Invalid kind: must be one of [rate_limit, lock_timeout, permission, authentication]");
    assertThat(control("GET", "/_emulator/api_failures", null).path("armed").asInt()).isZero();
  }

  @Test
  void shouldRefuseToCancelAPaymentIntentProcessingAndReplayTheRefusalUnderItsKeyAfterItFailed()
      throws Exception {
    // Given an unpaid PaymentIntent whose payment is processing
    PaymentIntent open =
        stripe
            .v1()
            .paymentIntents()
            .create(PaymentIntentCreateParams.builder().setAmount(500L).setCurrency("usd").build());
    JsonNode processing =
        control("POST", "/_emulator/payment_intents/" + open.getId() + "/processing", null);
    assertThat(processing.path("status").asText()).isEqualTo("processing");
    RequestOptions key =
        RequestOptions.builder().setIdempotencyKey("cancel-" + open.getId()).build();

    // When it is canceled, then its payment fails, and it is canceled again with the same key
    StripeException refused =
        catchThrowableOfType(
            StripeException.class, () -> stripe.v1().paymentIntents().cancel(open.getId(), key));
    JsonNode failed =
        control("POST", "/_emulator/payment_intents/" + open.getId() + "/processing_failed", null);
    StripeException replayed =
        catchThrowableOfType(
            StripeException.class, () -> stripe.v1().paymentIntents().cancel(open.getId(), key));

    // Then the first is refused by its state, the payment's failure makes it payable again (and
    // is announced), and the same key gets the kept refusal, as Stripe answers for 24 hours
    assertThat(refused.getStatusCode()).isEqualTo(400);
    assertThat(refused.getCode()).isEqualTo("payment_intent_unexpected_state");
    assertThat(failed.path("status").asText()).isEqualTo("requires_payment_method");
    assertThat(failed.path("last_payment_error").path("code").asText()).isEqualTo("card_declined");
    assertThat(receiver.awaitCount(event("payment_intent.payment_failed", open.getId()), 1, WAIT))
        .hasSize(1);
    assertThat(replayed.getCode()).isEqualTo("payment_intent_unexpected_state");
    assertThat(
            replayed.getStripeError().getLastResponse().headers().firstValue("Idempotent-Replayed"))
        .contains("true");
    // and a cancel under another key reaches it
    assertThat(
            stripe
                .v1()
                .paymentIntents()
                .cancel(
                    open.getId(),
                    RequestOptions.builder()
                        .setIdempotencyKey("cancel-" + open.getId() + "-again")
                        .build())
                .getStatus())
        .isEqualTo("canceled");
  }

  private static String encode(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8);
  }

  private static PaymentIntent pay() throws StripeException {
    return stripe
        .v1()
        .paymentIntents()
        .create(
            PaymentIntentCreateParams.builder()
                .setAmount(500L)
                .setCurrency("usd")
                .putMetadata("listing_id", UUID.randomUUID().toString())
                .setPaymentMethod("pm_card_visa")
                .setConfirm(true)
                .build());
  }

  private static HttpResponse<String> createPaymentIntent(String key, String form)
      throws IOException, InterruptedException {
    return http.send(
        HttpRequest.newBuilder(URI.create(emulator.baseUrl() + "/v1/payment_intents"))
            .header("Authorization", "Bearer " + emulator.secretKey())
            .header("Idempotency-Key", key)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .POST(HttpRequest.BodyPublishers.ofString(form))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static JsonNode control(String method, String path, String form)
      throws IOException, InterruptedException {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(emulator.baseUrl() + path));
    if (method.equals("POST")) {
      request
          .header("Content-Type", "application/x-www-form-urlencoded")
          .POST(HttpRequest.BodyPublishers.ofString(form == null ? "" : form));
    } else if (method.equals("DELETE")) {
      request.DELETE();
    } else {
      request.GET();
    }
    return JsonBodies.parse(
        http.send(request.build(), HttpResponse.BodyHandlers.ofString()).body());
  }
}
