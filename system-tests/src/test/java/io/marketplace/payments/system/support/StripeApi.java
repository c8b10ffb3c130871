package io.marketplace.payments.system.support;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * Stripe's API over HTTP (the emulator's), as Stripe.js and Stripe's dashboard reach it:
 * form-encoded requests with the secret key. It confirms PaymentIntents with Stripe's test cards,
 * as the buyer's browser does, and lists the refunds Stripe made, which is where "refunded exactly
 * once" is checked.
 */
public final class StripeApi {

  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(TIMEOUT).build();
  private final String baseUrl;
  private final String authorization;

  public StripeApi(String baseUrl, String secretKey) {
    this.baseUrl = baseUrl;
    this.authorization =
        "Basic "
            + Base64.getEncoder()
                .encodeToString((secretKey + ":").getBytes(StandardCharsets.UTF_8));
  }

  /**
   * Confirms {@code paymentIntentId} with a test payment method ({@code pm_card_visa}, {@code
   * pm_card_chargeDeclined}, {@code pm_card_createDispute}, ...); returns Stripe's status code
   * (200, or 402 for a declined card) and body.
   */
  public Api.Response confirm(String paymentIntentId, String paymentMethod) {
    return send(
        request("/v1/payment_intents/" + paymentIntentId + "/confirm")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .POST(
                HttpRequest.BodyPublishers.ofString(
                    "payment_method=" + URLEncoder.encode(paymentMethod, StandardCharsets.UTF_8)))
            .build());
  }

  /** The PaymentIntent as Stripe has it. */
  public JsonNode paymentIntent(String paymentIntentId) {
    return send(request("/v1/payment_intents/" + paymentIntentId).GET().build()).json();
  }

  /** Every refund Stripe made of {@code paymentIntentId}, whoever asked for it. */
  public List<JsonNode> refundsOf(String paymentIntentId) {
    JsonNode page =
        send(request(
                    "/v1/refunds?limit=100&payment_intent="
                        + URLEncoder.encode(paymentIntentId, StandardCharsets.UTF_8))
                .GET()
                .build())
            .json();
    List<JsonNode> refunds = new ArrayList<>();
    page.path("data").forEach(refunds::add);
    if (page.path("has_more").asBoolean(false)) {
      throw new AssertionError("more than 100 refunds of " + paymentIntentId + ": " + page);
    }
    return refunds;
  }

  /** How many injected refund failures the emulator has not used yet (a test control). */
  public int armedRefundFailures() {
    return send(request("/_emulator/refund_failures").GET().build()).json().path("armed").asInt();
  }

  private HttpRequest.Builder request(String path) {
    return HttpRequest.newBuilder(URI.create(baseUrl + path))
        .timeout(TIMEOUT)
        .header("Authorization", authorization);
  }

  private Api.Response send(HttpRequest request) {
    try {
      HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
      return new Api.Response(response.statusCode(), response.body());
    } catch (IOException e) {
      throw new UncheckedIOException(request.method() + " " + request.uri() + " failed", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
