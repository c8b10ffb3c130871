package io.marketplace.payments.stripeemulator.payment;

import io.marketplace.payments.stripeemulator.http.ApiRequest;
import io.marketplace.payments.stripeemulator.http.ApiResponse;
import io.marketplace.payments.stripeemulator.http.ListPage;
import io.marketplace.payments.stripeemulator.http.Params;
import java.util.LinkedHashMap;
import java.util.Map;

/** {@code /v1/payment_intents}, {@code /v1/charges} and {@code /v1/payment_methods}. */
public final class PaymentController {
  private final PaymentIntentService service;
  private final PaymentIntentFaults faults;

  public PaymentController(PaymentIntentService service, PaymentIntentFaults faults) {
    this.service = service;
    this.faults = faults;
  }

  public ApiResponse create(ApiRequest request) {
    PaymentIntentFaults.Mode fault = faults.next();
    Params p = request.params();
    Params apm = p.nested("automatic_payment_methods");
    Map<String, Object> automatic = null;
    if (apm.bool("enabled").orElse(false)) {
      automatic = new LinkedHashMap<>();
      automatic.put("allow_redirects", apm.nonEmptyString("allow_redirects").orElse("always"));
      automatic.put("enabled", true);
    }
    PaymentIntentService.Create create =
        new PaymentIntentService.Create(
            p.integer("amount").orElse(null),
            p.nonEmptyString("currency").orElse(null),
            p.stringMap("metadata"),
            p.nonEmptyString("description").orElse(null),
            p.nonEmptyString("payment_method").orElse(null),
            p.bool("confirm").orElse(false),
            automatic,
            p.stringList("payment_method_types"),
            p.nonEmptyString("receipt_email").orElse(null));
    Map<String, Object> created = service.create(create, request.origin()).toJson();
    if (fault == PaymentIntentFaults.Mode.ERROR_AFTER_CREATE) {
      throw PaymentIntentFaults.failure();
    }
    return ApiResponse.ok(created);
  }

  public ApiResponse retrieve(ApiRequest request) {
    return ApiResponse.ok(service.retrieve(request.pathParam("id")).toJson());
  }

  public ApiResponse list(ApiRequest request) {
    return ApiResponse.ok(
        ListPage.of("/v1/payment_intents", "payment_intent", service.all(), request.params()));
  }

  /** {@code POST /v1/payment_intents/{id}}: {@code amount} and {@code currency} only. */
  public ApiResponse update(ApiRequest request) {
    Params p = request.params();
    return ApiResponse.ok(
        service
            .update(
                request.pathParam("id"),
                p.integer("amount").orElse(null),
                p.nonEmptyString("currency").orElse(null))
            .toJson());
  }

  public ApiResponse confirm(ApiRequest request) {
    String paymentMethod = request.params().nonEmptyString("payment_method").orElse(null);
    return ApiResponse.ok(
        service.confirm(request.pathParam("id"), paymentMethod, request.origin()).toJson());
  }

  public ApiResponse cancel(ApiRequest request) {
    String reason = request.params().nonEmptyString("cancellation_reason").orElse(null);
    return ApiResponse.ok(
        service.cancel(request.pathParam("id"), reason, request.origin()).toJson());
  }

  /** {@code GET /v1/charges}: by {@code created}, optionally of one {@code payment_intent}. */
  public ApiResponse listCharges(ApiRequest request) {
    Params p = request.params();
    var charges =
        service.charges().stream()
            .filter(
                c -> p.nonEmptyString("payment_intent").map(c.paymentIntent()::equals).orElse(true))
            .toList();
    return ApiResponse.ok(ListPage.of("/v1/charges", "charge", charges, p));
  }

  public ApiResponse retrieveCharge(ApiRequest request) {
    return ApiResponse.ok(service.charge(request.pathParam("id")).toJson());
  }

  public ApiResponse retrievePaymentMethod(ApiRequest request) {
    return ApiResponse.ok(service.paymentMethod(request.pathParam("id")).toJson());
  }
}
