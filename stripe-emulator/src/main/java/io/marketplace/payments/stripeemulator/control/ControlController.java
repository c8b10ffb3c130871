package io.marketplace.payments.stripeemulator.control;

import io.marketplace.payments.stripeemulator.WebhookAttempt;
import io.marketplace.payments.stripeemulator.http.ApiFaults;
import io.marketplace.payments.stripeemulator.http.ApiRequest;
import io.marketplace.payments.stripeemulator.http.ApiResponse;
import io.marketplace.payments.stripeemulator.http.Params;
import io.marketplace.payments.stripeemulator.http.StripeError;
import io.marketplace.payments.stripeemulator.payment.PaymentIntentFaults;
import io.marketplace.payments.stripeemulator.refund.RefundFaults;
import io.marketplace.payments.stripeemulator.webhook.DeliveryQuirks;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/** The test controls over HTTP, under {@code /_emulator}: form-encoded like the rest. */
public final class ControlController {
  private static final Duration DEFAULT_HOLD = Duration.ofSeconds(30);

  private final Controls controls;

  public ControlController(Controls controls) {
    this.controls = controls;
  }

  public ApiResponse health(ApiRequest request) {
    return ApiResponse.ok(Map.of("status", "ok"));
  }

  /**
   * {@code count}, {@code mode} ({@code error}, {@code hang}, {@code error_kept} or {@code
   * error_after_create}), {@code hold_ms} for hang.
   */
  public ApiResponse armRefundFailures(ApiRequest request) {
    Params p = request.params();
    int count = p.integer("count").orElse(1L).intValue();
    RefundFaults.Mode mode = mode(p, RefundFaults.Mode.class);
    Duration hold = p.integer("hold_ms").map(Duration::ofMillis).orElse(DEFAULT_HOLD);
    controls.failNextRefunds(count, mode, hold);
    return refundFailures(request);
  }

  /** The {@code mode} parameter of a failure control, {@code error} when absent. */
  private static <M extends Enum<M>> M mode(Params p, Class<M> modes) {
    return enumParam(p.nonEmptyString("mode").orElse("error"), "mode", modes);
  }

  /** An enum parameter, by its constant's name in lower case. */
  private static <M extends Enum<M>> M enumParam(String wire, String name, Class<M> values) {
    for (M value : values.getEnumConstants()) {
      if (value.name().equalsIgnoreCase(wire)) {
        return value;
      }
    }
    throw StripeError.invalidRequest(
        "Invalid "
            + name
            + ": must be one of "
            + Arrays.stream(values.getEnumConstants())
                .map(m -> m.name().toLowerCase(Locale.ROOT))
                .toList(),
        name,
        null);
  }

  public ApiResponse clearRefundFailures(ApiRequest request) {
    controls.clearRefundFailures();
    return refundFailures(request);
  }

  public ApiResponse refundFailures(ApiRequest request) {
    return ApiResponse.ok(Map.of("armed", controls.armedRefundFailures()));
  }

  /** {@code count}, {@code mode} ({@code error}, {@code error_after_create} or {@code refused}). */
  public ApiResponse armPaymentIntentFailures(ApiRequest request) {
    Params p = request.params();
    int count = p.integer("count").orElse(1L).intValue();
    controls.failNextPaymentIntentCreations(count, mode(p, PaymentIntentFaults.Mode.class));
    return paymentIntentFailures(request);
  }

  public ApiResponse clearPaymentIntentFailures(ApiRequest request) {
    controls.clearPaymentIntentFailures();
    return paymentIntentFailures(request);
  }

  public ApiResponse paymentIntentFailures(ApiRequest request) {
    return ApiResponse.ok(Map.of("armed", controls.armedPaymentIntentFailures()));
  }

  /**
   * {@code operation} (a method and a route as the API names it: {@code POST /v1/refunds}, {@code
   * GET /v1/payment_intents/{id}}), {@code count}, {@code kind} ({@code rate_limit}, {@code
   * lock_timeout}, {@code permission} or {@code authentication}).
   */
  public ApiResponse armApiFailures(ApiRequest request) {
    Params p = request.params();
    String operation = p.requireString("operation");
    int count = p.integer("count").orElse(1L).intValue();
    ApiFaults.Kind kind = enumParam(p.requireString("kind"), "kind", ApiFaults.Kind.class);
    controls.failNextApiCalls(operation, count, kind);
    return apiFailures(request);
  }

  public ApiResponse clearApiFailures(ApiRequest request) {
    controls.clearApiFailures();
    return apiFailures(request);
  }

  public ApiResponse apiFailures(ApiRequest request) {
    return ApiResponse.ok(Map.of("armed", controls.armedApiFailures()));
  }

  /** {@code amount} (default: all that is left), {@code reason}. */
  public ApiResponse refundOutsideSystem(ApiRequest request) {
    Params p = request.params();
    return ApiResponse.ok(
        controls
            .refundOutsideSystem(
                request.pathParam("id"),
                p.integer("amount").orElse(null),
                p.nonEmptyString("reason").orElse(null))
            .toJson());
  }

  public ApiResponse deletePaymentIntent(ApiRequest request) {
    String id = request.pathParam("id");
    controls.deletePaymentIntent(id);
    return ApiResponse.ok(Map.of("id", id, "object", "payment_intent", "deleted", true));
  }

  /** {@code payment_method}: a test token, {@code pm_card_visa} by default. */
  public ApiResponse holdProcessing(ApiRequest request) {
    return ApiResponse.ok(
        controls
            .holdProcessing(
                request.pathParam("id"),
                request.params().nonEmptyString("payment_method").orElse("pm_card_visa"))
            .toJson());
  }

  public ApiResponse failProcessing(ApiRequest request) {
    return ApiResponse.ok(controls.failProcessing(request.pathParam("id")).toJson());
  }

  public ApiResponse failRefund(ApiRequest request) {
    return ApiResponse.ok(controls.failRefund(request.pathParam("id")).toJson());
  }

  /** {@code kind} ({@code chargeback}, the default, or {@code inquiry}), {@code reason}. */
  public ApiResponse openDispute(ApiRequest request) {
    Params p = request.params();
    String kind = p.nonEmptyString("kind").orElse("chargeback");
    if (!kind.equals("chargeback") && !kind.equals("inquiry")) {
      throw StripeError.invalidRequest("Invalid kind: must be chargeback or inquiry", "kind", null);
    }
    return ApiResponse.ok(
        controls
            .openDispute(
                request.pathParam("id"),
                kind.equals("inquiry"),
                p.nonEmptyString("reason").orElse("fraudulent"))
            .toJson());
  }

  /** {@code outcome}: {@code won} or {@code lost}. */
  public ApiResponse closeDispute(ApiRequest request) {
    String outcome = request.params().requireString("outcome");
    return ApiResponse.ok(controls.closeDispute(request.pathParam("id"), outcome).toJson());
  }

  /** Every delivery try, oldest first; {@code event_id} and {@code type} filter. */
  public ApiResponse webhookAttempts(ApiRequest request) {
    Params p = request.params();
    List<Map<String, Object>> data = new ArrayList<>();
    for (WebhookAttempt a : controls.webhookAttempts()) {
      if (p.nonEmptyString("event_id").map(id -> !id.equals(a.eventId())).orElse(false)
          || p.nonEmptyString("type").map(t -> !t.equals(a.eventType())).orElse(false)) {
        continue;
      }
      Map<String, Object> json = new LinkedHashMap<>();
      json.put("event_id", a.eventId());
      json.put("event_type", a.eventType());
      json.put("endpoint_id", a.endpointId());
      json.put("url", a.url());
      json.put("attempt", a.attempt());
      json.put("status_code", a.statusCode());
      json.put("error", a.error());
      json.put("succeeded", a.succeeded());
      json.put("attempted_at", a.attemptedAt().toString());
      data.add(json);
    }
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("object", "list");
    body.put("data", data);
    body.put("paused", controls.webhooksPaused());
    return ApiResponse.ok(body);
  }

  public ApiResponse pauseWebhooks(ApiRequest request) {
    controls.pauseWebhooks();
    return ApiResponse.ok(Map.of("paused", true));
  }

  public ApiResponse resumeWebhooks(ApiRequest request) {
    controls.resumeWebhooks();
    return ApiResponse.ok(Map.of("paused", false));
  }

  /**
   * Sets the delivery quirks given, leaving the others as they are: {@code redeliveries} (extra
   * deliveries of each event after its 2xx), {@code twins} ({@code true}: each change also sent as
   * a second event), {@code resume_order} ({@code arrival}, {@code reverse} or {@code shuffle}) and
   * {@code seed} for shuffle.
   */
  public ApiResponse setWebhookQuirks(ApiRequest request) {
    Params p = request.params();
    Optional<Long> redeliveries = p.integer("redeliveries");
    if (redeliveries.isPresent() && (redeliveries.get() < 0 || redeliveries.get() > 100)) {
      throw StripeError.invalidRequest(
          "Invalid redeliveries: must be 0 to 100", "redeliveries", null);
    }
    Optional<DeliveryQuirks.ResumeOrder> order = Optional.empty();
    if (p.has("resume_order") || p.has("seed")) {
      DeliveryQuirks.ResumeOrder.Kind kind =
          p.has("resume_order")
              ? enumParam(
                  p.nonEmptyString("resume_order").orElse(""),
                  "resume_order",
                  DeliveryQuirks.ResumeOrder.Kind.class)
              : controls.deliveryQuirks().resumeOrder().kind();
      order = Optional.of(new DeliveryQuirks.ResumeOrder(kind, p.integer("seed").orElse(0L)));
    }
    redeliveries.ifPresent(n -> controls.redeliverWebhooks(n.intValue()));
    p.bool("twins").ifPresent(controls::sendTwinEvents);
    order.ifPresent(controls::resumeWebhooksIn);
    return webhookQuirks(request);
  }

  public ApiResponse clearWebhookQuirks(ApiRequest request) {
    controls.clearDeliveryQuirks();
    return webhookQuirks(request);
  }

  public ApiResponse webhookQuirks(ApiRequest request) {
    DeliveryQuirks quirks = controls.deliveryQuirks();
    DeliveryQuirks.ResumeOrder order = quirks.resumeOrder();
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("redeliveries", quirks.redeliveries());
    body.put("twins", quirks.twinEvents());
    body.put("resume_order", order.kind().name().toLowerCase(Locale.ROOT));
    body.put("seed", order.seed());
    return ApiResponse.ok(body);
  }
}
