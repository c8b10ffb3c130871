package io.marketplace.payments.stripeemulator.http;

import java.util.Map;

/** A status and a JSON body, before it is written. */
public record ApiResponse(int status, Map<String, Object> body) {
  public static ApiResponse ok(Map<String, Object> body) {
    return new ApiResponse(200, body);
  }
}
