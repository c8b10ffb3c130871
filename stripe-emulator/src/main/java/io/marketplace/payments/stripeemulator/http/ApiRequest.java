package io.marketplace.payments.stripeemulator.http;

import java.util.Map;

/** One parsed API call, as a handler sees it. */
public record ApiRequest(
    String requestId,
    String method,
    String path,
    Map<String, String> pathParams,
    Params params,
    String idempotencyKey) {

  public String pathParam(String name) {
    return pathParams.get(name);
  }

  public RequestOrigin origin() {
    return new RequestOrigin(requestId, idempotencyKey);
  }
}
