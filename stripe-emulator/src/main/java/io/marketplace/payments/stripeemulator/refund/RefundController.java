package io.marketplace.payments.stripeemulator.refund;

import io.marketplace.payments.stripeemulator.http.ApiRequest;
import io.marketplace.payments.stripeemulator.http.ApiResponse;
import io.marketplace.payments.stripeemulator.http.ListPage;
import io.marketplace.payments.stripeemulator.http.Params;

/** {@code /v1/refunds}. */
public final class RefundController {
  private final RefundService service;
  private final RefundFaults faults;

  public RefundController(RefundService service, RefundFaults faults) {
    this.service = service;
    this.faults = faults;
  }

  public ApiResponse create(ApiRequest request) {
    RefundFaults.Mode fault = faults.apply();
    Params p = request.params();
    RefundService.Create create =
        new RefundService.Create(
            p.nonEmptyString("payment_intent").orElse(null),
            p.nonEmptyString("charge").orElse(null),
            p.integer("amount").orElse(null),
            p.nonEmptyString("reason").orElse(null),
            p.stringMap("metadata"));
    var created = service.create(create, request.origin()).toJson();
    if (fault == RefundFaults.Mode.ERROR_AFTER_CREATE) {
      throw RefundFaults.keptFailure();
    }
    return ApiResponse.ok(created);
  }

  public ApiResponse retrieve(ApiRequest request) {
    return ApiResponse.ok(service.retrieve(request.pathParam("id")).toJson());
  }

  public ApiResponse list(ApiRequest request) {
    Params p = request.params();
    var refunds =
        service.all().stream()
            .filter(
                r -> p.nonEmptyString("payment_intent").map(r.paymentIntent()::equals).orElse(true))
            .filter(r -> p.nonEmptyString("charge").map(r.charge()::equals).orElse(true))
            .toList();
    return ApiResponse.ok(ListPage.of("/v1/refunds", "refund", refunds, p));
  }
}
