package io.marketplace.payments.stripeemulator.dispute;

import io.marketplace.payments.stripeemulator.http.ApiRequest;
import io.marketplace.payments.stripeemulator.http.ApiResponse;
import io.marketplace.payments.stripeemulator.http.ListPage;
import io.marketplace.payments.stripeemulator.http.Params;
import io.marketplace.payments.stripeemulator.http.StripeError;
import io.marketplace.payments.stripeemulator.state.Store;

/**
 * {@code /v1/disputes} (read only: disputes come from the card network, here the test controls).
 */
public final class DisputeController {
  private final Store store;

  public DisputeController(Store store) {
    this.store = store;
  }

  public ApiResponse retrieve(ApiRequest request) {
    String id = request.pathParam("id");
    return ApiResponse.ok(
        store.dispute(id).orElseThrow(() -> StripeError.noSuch("dispute", id, "dispute")).toJson());
  }

  public ApiResponse list(ApiRequest request) {
    Params p = request.params();
    var disputes =
        store.disputes().stream()
            .filter(
                d -> p.nonEmptyString("payment_intent").map(d.paymentIntent()::equals).orElse(true))
            .filter(d -> p.nonEmptyString("charge").map(d.charge()::equals).orElse(true))
            .toList();
    return ApiResponse.ok(ListPage.of("/v1/disputes", "dispute", disputes, p));
  }
}
