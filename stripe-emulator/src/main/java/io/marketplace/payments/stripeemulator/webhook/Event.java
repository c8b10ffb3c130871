package io.marketplace.payments.stripeemulator.webhook;

import io.marketplace.payments.stripeemulator.http.Listed;
import java.util.LinkedHashMap;
import java.util.Map;

/** An Event ({@code evt_...}) as Stripe sends and lists it; {@code json} is its full body. */
public record Event(String id, long sequence, long created, String type, Map<String, Object> json)
    implements Listed {

  @Override
  public Map<String, Object> toJson() {
    return json;
  }

  /** How many endpoints have not yet answered it with a 2xx. */
  public int pendingWebhooks() {
    return json.get("pending_webhooks") instanceof Number n ? n.intValue() : 0;
  }

  public Event withPendingWebhooks(int pending) {
    Map<String, Object> copy = new LinkedHashMap<>(json);
    copy.put("pending_webhooks", pending);
    return new Event(id, sequence, created, type, copy);
  }
}
