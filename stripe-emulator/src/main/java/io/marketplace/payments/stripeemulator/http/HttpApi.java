package io.marketplace.payments.stripeemulator.http;

import io.javalin.Javalin;
import io.javalin.compression.CompressionStrategy;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.javalin.router.EndpointNotFound;
import io.marketplace.payments.stripeemulator.control.ControlController;
import io.marketplace.payments.stripeemulator.dispute.DisputeController;
import io.marketplace.payments.stripeemulator.payment.PaymentController;
import io.marketplace.payments.stripeemulator.refund.RefundController;
import io.marketplace.payments.stripeemulator.webhook.WebhookEndpointController;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP face of the emulator: Stripe's API under {@code /v1} (authenticated with the secret key,
 * idempotent on {@code Idempotency-Key}, answering Stripe's JSON with a {@code Request-Id}) and the
 * test controls under {@code /_emulator}.
 */
public final class HttpApi {
  private static final Logger LOG = LoggerFactory.getLogger(HttpApi.class);
  private static final String JSON = "application/json";

  private final String secretKey;
  private final String apiVersion;
  private final IdempotencyStore idempotency;
  private final ApiFaults faults;
  private final Function<String, Optional<Map<String, Object>>> lookup;
  private final PaymentController payments;
  private final RefundController refunds;
  private final DisputeController disputes;
  private final WebhookEndpointController webhooks;
  private final ControlController controls;

  public HttpApi(
      String secretKey,
      String apiVersion,
      IdempotencyStore idempotency,
      ApiFaults faults,
      Function<String, Optional<Map<String, Object>>> lookup,
      PaymentController payments,
      RefundController refunds,
      DisputeController disputes,
      WebhookEndpointController webhooks,
      ControlController controls) {
    this.secretKey = secretKey;
    this.apiVersion = apiVersion;
    this.idempotency = idempotency;
    this.faults = faults;
    this.lookup = lookup;
    this.payments = payments;
    this.refunds = refunds;
    this.disputes = disputes;
    this.webhooks = webhooks;
    this.controls = controls;
  }

  public Javalin create() {
    return Javalin.create(
        config -> {
          config.startup.showJavalinBanner = false;
          config.startup.showOldJavalinVersionWarning = false;
          config.http.compressionStrategy = CompressionStrategy.NONE;
          config.router.ignoreTrailingSlashes = true;
          routes(config.routes);
          config.routes.exception(
              EndpointNotFound.class,
              (e, ctx) ->
                  writeError(ctx, StripeError.notFoundUrl(ctx.method().name(), ctx.path())));
          config.routes.exception(
              Exception.class,
              (e, ctx) -> {
                LOG.error("Unexpected failure on {} {}", ctx.method(), ctx.path(), e);
                write(ctx, 500, Json.pretty(StripeError.api("An unknown error occurred").body()));
              });
        });
  }

  /** The table of contents: every endpoint the emulator serves. */
  private void routes(RoutesConfig r) {
    r.post("/v1/payment_intents", stripe(payments::create));
    r.get("/v1/payment_intents", stripe(payments::list));
    r.get("/v1/payment_intents/{id}", stripe(payments::retrieve));
    r.post("/v1/payment_intents/{id}", stripe(payments::update));
    r.post("/v1/payment_intents/{id}/confirm", stripe(payments::confirm));
    r.post("/v1/payment_intents/{id}/cancel", stripe(payments::cancel));
    r.get("/v1/charges", stripe(payments::listCharges));
    r.get("/v1/charges/{id}", stripe(payments::retrieveCharge));
    r.get("/v1/payment_methods/{id}", stripe(payments::retrievePaymentMethod));
    r.post("/v1/refunds", stripe(refunds::create));
    r.get("/v1/refunds", stripe(refunds::list));
    r.get("/v1/refunds/{id}", stripe(refunds::retrieve));
    r.get("/v1/disputes", stripe(disputes::list));
    r.get("/v1/disputes/{id}", stripe(disputes::retrieve));
    r.post("/v1/webhook_endpoints", stripe(webhooks::create));
    r.get("/v1/webhook_endpoints", stripe(webhooks::list));
    r.get("/v1/webhook_endpoints/{id}", stripe(webhooks::retrieve));
    r.delete("/v1/webhook_endpoints/{id}", stripe(webhooks::delete));
    r.get("/v1/events", stripe(webhooks::listEvents));
    r.get("/v1/events/{id}", stripe(webhooks::retrieveEvent));

    r.get("/_emulator/health", control(controls::health));
    r.get("/_emulator/refund_failures", control(controls::refundFailures));
    r.post("/_emulator/refund_failures", control(controls::armRefundFailures));
    r.delete("/_emulator/refund_failures", control(controls::clearRefundFailures));
    r.get("/_emulator/payment_intent_failures", control(controls::paymentIntentFailures));
    r.post("/_emulator/payment_intent_failures", control(controls::armPaymentIntentFailures));
    r.delete("/_emulator/payment_intent_failures", control(controls::clearPaymentIntentFailures));
    r.get("/_emulator/api_failures", control(controls::apiFailures));
    r.post("/_emulator/api_failures", control(controls::armApiFailures));
    r.delete("/_emulator/api_failures", control(controls::clearApiFailures));
    r.post("/_emulator/payment_intents/{id}/refund", control(controls::refundOutsideSystem));
    r.post("/_emulator/refunds/{id}/fail", control(controls::failRefund));
    r.post("/_emulator/payment_intents/{id}/delete", control(controls::deletePaymentIntent));
    r.post("/_emulator/payment_intents/{id}/processing", control(controls::holdProcessing));
    r.post("/_emulator/payment_intents/{id}/processing_failed", control(controls::failProcessing));
    r.post("/_emulator/payment_intents/{id}/dispute", control(controls::openDispute));
    r.post("/_emulator/disputes/{id}/close", control(controls::closeDispute));
    r.get("/_emulator/webhook_attempts", control(controls::webhookAttempts));
    r.post("/_emulator/webhooks/pause", control(controls::pauseWebhooks));
    r.post("/_emulator/webhooks/resume", control(controls::resumeWebhooks));
    r.get("/_emulator/webhook_quirks", control(controls::webhookQuirks));
    r.post("/_emulator/webhook_quirks", control(controls::setWebhookQuirks));
    r.delete("/_emulator/webhook_quirks", control(controls::clearWebhookQuirks));
  }

  /** A Stripe endpoint: auth, parameters, idempotency, {@code expand[]}, Stripe's error shape. */
  private Handler stripe(ApiHandler handler) {
    return ctx -> {
      String requestId = Ids.requestId();
      ctx.header("Request-Id", requestId);
      ctx.header(
          "Stripe-Version", Optional.ofNullable(ctx.header("Stripe-Version")).orElse(apiVersion));
      String method = ctx.method().name();
      try {
        authenticate(ctx.header("Authorization"));
        // held off or refused before the endpoint runs: nothing kept for the Idempotency-Key
        faults.apply(method + " " + ctx.endpoint().path);
        boolean post = method.equals("POST");
        Params params = Params.parse(post ? ctx.body() : ctx.queryString());
        String key = post ? blankToNull(ctx.header("Idempotency-Key")) : null;
        ApiRequest request =
            new ApiRequest(requestId, method, ctx.path(), ctx.pathParamMap(), params, key);
        if (key == null) {
          IdempotencyStore.Fresh fresh = run(handler, request);
          write(ctx, fresh.status(), fresh.body());
          return;
        }
        ctx.header("Idempotency-Key", key);
        IdempotencyStore.Outcome outcome =
            idempotency.execute(
                key,
                method + " " + ctx.path(),
                params.fingerprint(),
                requestId,
                () -> run(handler, request));
        if (outcome.replayed()) {
          ctx.header("Idempotent-Replayed", "true");
          ctx.header("Original-Request", outcome.originalRequestId());
        }
        write(ctx, outcome.status(), outcome.body());
      } catch (StripeError e) {
        writeError(ctx, e);
      }
    };
  }

  /** A test control: no API key needed, parameters from the query string and the form body. */
  private Handler control(ApiHandler handler) {
    return ctx -> {
      String requestId = Ids.requestId();
      ctx.header("Request-Id", requestId);
      try {
        Params params = Params.parse(ctx.queryString()).merge(Params.parse(ctx.body()));
        ApiRequest request =
            new ApiRequest(
                requestId, ctx.method().name(), ctx.path(), ctx.pathParamMap(), params, null);
        ApiResponse response = handler.handle(request);
        write(ctx, response.status(), Json.pretty(response.body()));
      } catch (StripeError e) {
        writeError(ctx, e);
      }
    };
  }

  private IdempotencyStore.Fresh run(ApiHandler handler, ApiRequest request) {
    try {
      ApiResponse response = handler.handle(request);
      Map<String, Object> body = expand(response.body(), request.params().stringList("expand"));
      return new IdempotencyStore.Fresh(response.status(), Json.pretty(body), true);
    } catch (StripeError e) {
      return new IdempotencyStore.Fresh(e.status(), Json.pretty(e.body()), e.replayable());
    }
  }

  /**
   * Replaces ids with the objects they name, for each dotted path ({@code latest_charge}, {@code
   * data.payment_intent}, {@code latest_charge.payment_method}).
   */
  private Map<String, Object> expand(Map<String, Object> body, List<String> paths) {
    for (String path : paths) {
      expandPath(body, List.of(path.split("\\.")));
    }
    return body;
  }

  @SuppressWarnings("unchecked")
  private void expandPath(Object node, List<String> path) {
    if (path.isEmpty() || node == null) {
      return;
    }
    if (node instanceof List<?> list) {
      list.forEach(item -> expandPath(item, path));
      return;
    }
    if (!(node instanceof Map<?, ?>)) {
      return;
    }
    Map<String, Object> map = (Map<String, Object>) node;
    String field = path.getFirst();
    Object value = map.get(field);
    if (value instanceof String id) {
      Optional<Map<String, Object>> found = lookup.apply(id);
      if (found.isPresent()) {
        value = found.get();
        map.put(field, value);
      }
    }
    expandPath(value, path.subList(1, path.size()));
  }

  /** Basic (key as user name) or Bearer, as Stripe takes them. */
  private void authenticate(String authorization) {
    if (authorization == null || authorization.isBlank()) {
      throw StripeError.authentication(
          "You did not provide an API key. You need to provide your API key in the Authorization"
              + " header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See"
              + " https://stripe.com/docs/api#authentication for details, or we can help at"
              + " https://support.stripe.com/.");
    }
    String key = null;
    if (authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      key = authorization.substring(7).trim();
    } else if (authorization.regionMatches(true, 0, "Basic ", 0, 6)) {
      try {
        String decoded =
            new String(
                Base64.getDecoder().decode(authorization.substring(6).trim()),
                StandardCharsets.UTF_8);
        int colon = decoded.indexOf(':');
        key = colon < 0 ? decoded : decoded.substring(0, colon);
      } catch (IllegalArgumentException e) {
        key = null;
      }
    }
    if (key == null || key.isEmpty()) {
      throw StripeError.authentication(
          "Invalid API Key provided: the Authorization header must be Bearer or Basic.");
    }
    if (!key.equals(secretKey)) {
      throw StripeError.authentication("Invalid API Key provided: " + redact(key));
    }
  }

  private static String redact(String key) {
    int prefix = key.startsWith("sk_test_") ? 8 : Math.min(3, key.length());
    String tail = key.length() > prefix + 4 ? key.substring(key.length() - 4) : "";
    return key.substring(0, prefix) + "*".repeat(Math.max(4, key.length() - prefix - 4)) + tail;
  }

  private static void writeError(Context ctx, StripeError e) {
    if (e.status() == 401) {
      ctx.header("WWW-Authenticate", "Basic realm=\"Stripe\"");
    }
    e.headers().forEach(ctx::header);
    write(ctx, e.status(), Json.pretty(e.body()));
  }

  private static void write(Context ctx, int status, String body) {
    ctx.status(status);
    ctx.contentType(JSON);
    ctx.result(body.getBytes(StandardCharsets.UTF_8));
  }

  private static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s;
  }
}
