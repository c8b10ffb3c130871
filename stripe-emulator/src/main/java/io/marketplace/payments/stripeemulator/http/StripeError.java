package io.marketplace.payments.stripeemulator.http;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An error answered in Stripe's shape: {@code {"error":{"type","code","message","param",...}}} with
 * Stripe's status codes, so stripe-java raises the same exception it raises against Stripe.
 */
public final class StripeError extends RuntimeException {
  private final int status;
  private final String type;
  private final String code;
  private final String param;
  private final Map<String, Object> extra;
  private final boolean afterStart;
  private final Map<String, String> headers;

  private StripeError(
      int status,
      String type,
      String code,
      String message,
      String param,
      Map<String, Object> extra) {
    this(status, type, code, message, param, extra, false);
  }

  private StripeError(
      int status,
      String type,
      String code,
      String message,
      String param,
      Map<String, Object> extra,
      boolean afterStart) {
    this(status, type, code, message, param, extra, afterStart, Map.of());
  }

  private StripeError(
      int status,
      String type,
      String code,
      String message,
      String param,
      Map<String, Object> extra,
      boolean afterStart,
      Map<String, String> headers) {
    super(message, null, false, false);
    this.status = status;
    this.type = type;
    this.code = code;
    this.param = param;
    this.extra = extra == null ? Map.of() : Map.copyOf(extra);
    this.afterStart = afterStart;
    this.headers = Map.copyOf(headers);
  }

  public static StripeError invalidRequest(String message, String param, String code) {
    return new StripeError(400, "invalid_request_error", code, message, param, null);
  }

  public static StripeError invalidRequest(
      String message, String param, String code, Map<String, Object> extra) {
    return new StripeError(400, "invalid_request_error", code, message, param, extra);
  }

  public static StripeError missingParam(String param) {
    return invalidRequest("Missing required param: " + param + ".", param, "parameter_missing");
  }

  /** 404 as Stripe answers a retrieve of an unknown id: {@code No such payment_intent: 'pi_x'}. */
  public static StripeError noSuch(String objectName, String id, String param) {
    return new StripeError(
        404,
        "invalid_request_error",
        "resource_missing",
        "No such " + objectName + ": '" + id + "'",
        param,
        null);
  }

  /**
   * 400 for an id given as a parameter that names nothing ({@code payment_intent=pi_x} on a
   * refund): Stripe answers {@code resource_missing} with the parameter named.
   */
  public static StripeError noSuchParam(String objectName, String id, String param) {
    return invalidRequest("No such " + objectName + ": '" + id + "'", param, "resource_missing");
  }

  /** A card decline: 402, type card_error, as the confirm call answers. */
  public static StripeError card(String code, String message, Map<String, Object> extra) {
    return new StripeError(402, "card_error", code, message, null, extra);
  }

  public static StripeError idempotency(int status, String message) {
    return idempotency(status, null, message);
  }

  public static StripeError idempotency(int status, String code, String message) {
    return new StripeError(status, "idempotency_error", code, message, null, null);
  }

  public static StripeError authentication(String message) {
    return new StripeError(401, "invalid_request_error", null, message, null, null);
  }

  /**
   * 429 as Stripe answers a caller over its rate limit. Stripe's libraries do not retry it on their
   * own (retrying adds to the load that caused it), so no {@code Stripe-Should-Retry} is sent.
   */
  public static StripeError rateLimited() {
    return new StripeError(
        429,
        "invalid_request_error",
        "rate_limit",
        "Request rate limit exceeded. Learn more about rate limits here"
            + " https://stripe.com/docs/rate-limits.",
        null,
        null);
  }

  /**
   * 429 {@code lock_timeout}: another request or a Stripe process holds the object. Sent with
   * {@code Stripe-Should-Retry: true}, on which Stripe's libraries retry when their network retries
   * are on.
   */
  public static StripeError lockTimeout() {
    return new StripeError(
        429,
        "invalid_request_error",
        "lock_timeout",
        "This object cannot be accessed right now because another API request or Stripe process is"
            + " currently accessing it. If you see this error intermittently, retry the request."
            + " If you see this error frequently and are making multiple concurrent requests to a"
            + " single object, make your requests serially or at a lower rate.",
        null,
        null,
        false,
        Map.of("Stripe-Should-Retry", "true"));
  }

  /** 403 as Stripe answers a restricted key without the permission an endpoint needs. */
  public static StripeError permission() {
    return new StripeError(
        403,
        "invalid_request_error",
        null,
        "The provided key 'rk_test_*********************' does not have the required permissions"
            + " for this endpoint on account 'acct_emulator'.",
        null,
        null);
  }

  /** 401 {@code api_key_expired}: the key was rolled or revoked in the dashboard. */
  public static StripeError keyExpired() {
    return new StripeError(
        401,
        "invalid_request_error",
        "api_key_expired",
        "Expired API Key provided: sk_test_*********************",
        null,
        null);
  }

  public static StripeError api(String message) {
    return new StripeError(500, "api_error", null, message, null, null);
  }

  /**
   * A 500 {@code api_error} raised once the endpoint had begun to execute: Stripe keeps it for the
   * request's Idempotency-Key and answers every retry with that key the same 500 for 24 hours.
   */
  public static StripeError apiAfterStart(String message) {
    return new StripeError(500, "api_error", null, message, null, null, true);
  }

  /**
   * This refusal as raised once the endpoint had begun to execute: the object's state refused the
   * request (a charge refunded or disputed, a PaymentIntent paid or canceled), not its parameters.
   * Stripe keeps such an answer for the request's Idempotency-Key, and a retry with that key within
   * 24 hours gets the same 400 replayed even if the object's state changed since ("If a request
   * that returns a 400 is followed by a new request with the same idempotency key, it returns the
   * same 400", Stripe's "Advanced error handling"; only the validation of parameters, the rate
   * limiter and authentication run before the idempotency layer and keep nothing).
   */
  public StripeError keptForTheKey() {
    return new StripeError(status, type, code, getMessage(), param, extra, true, headers);
  }

  public static StripeError notFoundUrl(String method, String path) {
    return new StripeError(
        404,
        "invalid_request_error",
        null,
        "Unrecognized request URL ("
            + method
            + ": "
            + path
            + "). Please see https://stripe.com/docs or we can help at"
            + " https://support.stripe.com/.",
        null,
        null);
  }

  public int status() {
    return status;
  }

  public String type() {
    return type;
  }

  public String code() {
    return code;
  }

  public String param() {
    return param;
  }

  /** Headers Stripe sends with this answer, besides the usual ones. */
  public Map<String, String> headers() {
    return headers;
  }

  /**
   * Whether the idempotency layer keeps this answer for replay. Stripe keeps whatever an endpoint
   * answered once it started executing, 500s included; a card decline is such an answer, and so is
   * a refusal by the object's state ({@link #keptForTheKey}). Validation errors are not kept, so a
   * corrected retry with the same key is not stuck on the first error.
   */
  public boolean replayable() {
    return status == 402 || afterStart;
  }

  public Map<String, Object> body() {
    Map<String, Object> error = new LinkedHashMap<>();
    if (code != null) {
      error.put("code", code);
    }
    extra.forEach(
        (k, v) -> {
          if (!k.equals("payment_intent") && !k.equals("payment_method")) {
            error.put(k, v);
          }
        });
    if (code != null) {
      error.put("doc_url", "https://stripe.com/docs/error-codes/" + code.replace('_', '-'));
    }
    error.put("message", getMessage());
    if (param != null) {
      error.put("param", param);
    }
    if (extra.containsKey("payment_intent")) {
      error.put("payment_intent", extra.get("payment_intent"));
    }
    if (extra.containsKey("payment_method")) {
      error.put("payment_method", extra.get("payment_method"));
    }
    error.put("type", type);
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("error", error);
    return body;
  }
}
