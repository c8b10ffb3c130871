package io.marketplace.payments.stripeemulator.webhook;

import io.marketplace.payments.stripeemulator.http.Listed;
import java.util.Map;

/** An Event ({@code evt_...}) as Stripe sends and lists it; {@code json} is its full body. */
public record Event(String id, long sequence, long created, String type, Map<String, Object> json)
    implements Listed {

  @Override
  public Map<String, Object> toJson() {
    return json;
  }
}
