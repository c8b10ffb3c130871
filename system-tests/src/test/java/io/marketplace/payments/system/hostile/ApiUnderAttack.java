package io.marketplace.payments.system.hostile;

import com.fasterxml.jackson.databind.JsonNode;
import com.stripe.StripeClient;
import com.stripe.exception.StripeException;
import com.stripe.param.PaymentIntentConfirmParams;
import io.marketplace.payments.checkout.CheckoutApi;
import io.marketplace.payments.checkout.CheckoutApiConfig;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.stripe.StripeConfig;
import io.marketplace.payments.stripeemulator.StripeEmulator;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.TestDatabase;
import io.marketplace.payments.testsupport.TestInfra;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * checkout-api as it runs in production, on a database and topics of its own, with the Stripe
 * emulator behind it; plus a client that sends whatever bytes a hostile caller would, and the few
 * things other services do (a payment succeeding) written straight to their tables.
 */
final class ApiUnderAttack implements AutoCloseable {

  static final String JWT_SECRET = "hostile-api-test-jwt-secret-0123456789abcdef";
  static final String OTHER_JWT_SECRET = "someone-elses-jwt-secret-0123456789abcdef-xyz";

  final TestDatabase db;
  final StripeEmulator stripe;
  final CheckoutApi api;
  final Tokens tokens = new Tokens(JWT_SECRET);
  private final StripeClient stripeClient;
  private final HttpClient http =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(5))
          .build();

  private ApiUnderAttack(TestDatabase db, StripeEmulator stripe, CheckoutApi api) {
    this.db = db;
    this.stripe = stripe;
    this.api = api;
    this.stripeClient =
        StripeClient.builder().setApiKey(stripe.secretKey()).setApiBase(stripe.baseUrl()).build();
  }

  static ApiUnderAttack start() {
    TestDatabase db = TestInfra.freshDatabase();
    StripeEmulator stripe = StripeEmulator.start(StripeEmulator.Config.defaults());
    try {
      CheckoutApiConfig config =
          new CheckoutApiConfig(
              db.dbConfig(),
              TestInfra.kafkaConfig(TestInfra.freshTopics()),
              new StripeConfig(stripe.secretKey(), stripe.baseUrl()),
              JWT_SECRET,
              0,
              Duration.ofDays(30),
              // the walks below make hundreds of payment requests; the limit is not under test
              100_000,
              100_000,
              List.of());
      return new ApiUnderAttack(db, stripe, CheckoutApi.start(config));
    } catch (RuntimeException e) {
      stripe.close();
      throw e;
    }
  }

  // ---- requests

  /** A request as sent; {@code authorization} is the whole header value, or null for none. */
  record Call(
      String method,
      String path,
      String authorization,
      byte[] body,
      String contentType,
      Map<String, String> headers) {

    static Call of(String method, String path) {
      return new Call(method, path, null, null, null, Map.of());
    }

    Call bearer(String token) {
      return withAuthorization("Bearer " + token);
    }

    Call withAuthorization(String value) {
      return new Call(method, path, value, body, contentType, headers);
    }

    Call json(String json) {
      return body(json.getBytes(StandardCharsets.UTF_8), "application/json");
    }

    Call json(Map<String, ?> json) {
      return json(Json.write(json));
    }

    Call body(byte[] bytes, String type) {
      return new Call(method, path, authorization, bytes, type, headers);
    }

    Call header(String name, String value) {
      Map<String, String> more = new LinkedHashMap<>(headers);
      more.put(name, value);
      return new Call(method, path, authorization, body, contentType, more);
    }

    @Override
    public String toString() {
      String auth =
          authorization == null
              ? "no Authorization"
              : "Authorization: "
                  + (authorization.length() > 60
                      ? authorization.substring(0, 60) + "..."
                      : authorization);
      String shown =
          body == null
              ? ""
              : " body "
                  + (body.length > 120
                      ? new String(body, 0, 120, StandardCharsets.UTF_8)
                          + "... ("
                          + body.length
                          + " bytes)"
                      : new String(body, StandardCharsets.UTF_8));
      return method + " " + path + " (" + auth + ", headers " + headers.keySet() + ")" + shown;
    }
  }

  /** An answer: status, content type and body. */
  record Answer(int status, String contentType, String body, Map<String, List<String>> headers) {

    JsonNode json() {
      try {
        return Json.mapper().readTree(body);
      } catch (IOException e) {
        throw new AssertionError("not JSON (HTTP " + status + "): " + body, e);
      }
    }

    boolean isProblem() {
      return contentType.startsWith("application/problem+json");
    }

    @Override
    public String toString() {
      return "HTTP "
          + status
          + " "
          + contentType
          + " "
          + (body.length() > 300 ? body.substring(0, 300) + "..." : body);
    }
  }

  Answer send(Call call) {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(api.baseUrl() + call.path()))
            .timeout(Duration.ofSeconds(30));
    if (call.authorization() != null) {
      request.header("Authorization", call.authorization());
    }
    if (call.contentType() != null) {
      request.header("Content-Type", call.contentType());
    }
    call.headers().forEach(request::header);
    request.method(
        call.method(),
        call.body() == null
            ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofByteArray(call.body()));
    try {
      HttpResponse<String> response =
          http.send(request.build(), HttpResponse.BodyHandlers.ofString());
      return new Answer(
          response.statusCode(),
          response.headers().firstValue("Content-Type").orElse(""),
          response.body(),
          response.headers().map());
    } catch (IOException e) {
      throw new UncheckedIOException("no answer to " + call, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  // ---- state, as users and the other services make it

  UUID createListing(UUID userId, String categorySlug) {
    Answer answer =
        send(
            Call.of("POST", "/api/marketplace/listings")
                .bearer(tokens.user(userId))
                .json(
                    Map.of("title", "A listing in " + categorySlug, "categorySlug", categorySlug)));
    if (answer.status() != 201) {
      throw new AssertionError("could not create a listing: " + answer);
    }
    return UUID.fromString(answer.json().get("id").asText());
  }

  String checkout(UUID userId, UUID listingId) {
    Answer answer =
        send(
            Call.of("POST", "/api/marketplace/listings/" + listingId + "/checkout")
                .bearer(tokens.user(userId)));
    if (answer.status() != 200) {
      throw new AssertionError("could not check out: " + answer);
    }
    return answer.json().get("paymentIntentId").asText();
  }

  /**
   * A listing whose posting fee was paid at Stripe and applied as the payment processor applies it
   * (payment succeeded, listing active, purchase closed).
   */
  UUID paidListing(UUID userId) {
    UUID listingId = createListing(userId, "housing");
    String paymentIntentId = checkout(userId, listingId);
    try {
      stripeClient
          .v1()
          .paymentIntents()
          .confirm(
              paymentIntentId,
              PaymentIntentConfirmParams.builder().setPaymentMethod("pm_card_visa").build());
    } catch (StripeException e) {
      throw new IllegalStateException("could not pay " + paymentIntentId, e);
    }
    Instant now = Instant.now();
    db.execute(
        "UPDATE payments SET status = 'succeeded', succeeded_at = ? WHERE stripe_payment_intent_id = ?",
        now,
        paymentIntentId);
    db.execute(
        "UPDATE marketplace_listings SET status = 'active', activated_at = ?, expires_at = ?,"
            + " payment_intent_id = ? WHERE id = ?",
        now,
        now.plus(Duration.ofDays(30)),
        paymentIntentId,
        listingId);
    db.execute(
        "UPDATE checkout_attempts SET status = 'closed' WHERE stripe_payment_intent_id = ?",
        paymentIntentId);
    return listingId;
  }

  /** The PaymentIntent that paid the posting fee of a listing made by {@link #paidListing}. */
  String paymentIntentOf(UUID listingId) {
    return db.row("SELECT payment_intent_id FROM marketplace_listings WHERE id = ?", listingId)
        .map(row -> (String) row.get("payment_intent_id"))
        .orElseThrow();
  }

  /** A pending refund of a paid listing, requested by its owner. */
  UUID pendingRefund(UUID userId) {
    UUID listingId = paidListing(userId);
    Answer answer =
        send(
            Call.of("POST", "/api/marketplace/listings/" + listingId + "/refund-request")
                .bearer(tokens.user(userId))
                .json(Map.of("reason", "sold elsewhere")));
    if (answer.status() != 202) {
      throw new AssertionError("could not request a refund: " + answer);
    }
    return UUID.fromString(answer.json().get("id").asText());
  }

  /**
   * The database as it is once everything the API started has settled (its outbox relay marks rows
   * published a moment after they are written).
   */
  DbSnapshot settledSnapshot() {
    Await.until(
        Duration.ofSeconds(20),
        "the outbox to be published",
        () -> db.count("outbox_events WHERE published_at IS NULL") == 0);
    return DbSnapshot.of(db);
  }

  @Override
  public void close() {
    http.close();
    api.close();
    stripe.close();
  }
}
