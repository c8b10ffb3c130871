package io.marketplace.payments.stripeemulator.http;

/**
 * The API request that caused a change, as an event's {@code request} field names it: both null for
 * changes Stripe makes on its own (a dispute opened by the card network).
 */
public record RequestOrigin(String id, String idempotencyKey) {
  public static final RequestOrigin AUTOMATIC = new RequestOrigin(null, null);

  /** A change made from Stripe's dashboard: a request id, no idempotency key of the caller's. */
  public static RequestOrigin dashboard() {
    return new RequestOrigin(Ids.requestId(), null);
  }
}
