package io.marketplace.payments.common.logging;

import org.slf4j.MDC;

/**
 * The keys every JSON log line may carry, so one search finds everything about a payment. Values
 * are ids only: never secrets, client secrets or card data.
 */
public final class Mdc {

  public static final String STRIPE_EVENT_ID = "stripe_event_id";
  public static final String STRIPE_EVENT_TYPE = "stripe_event_type";
  public static final String PAYMENT_INTENT_ID = "payment_intent_id";
  public static final String LISTING_ID = "listing_id";
  public static final String CONSUMER = "consumer";

  private Mdc() {}

  /** Puts {@code key=value} (when value is not null) until the returned scope is closed. */
  public static Scope put(String key, String value) {
    if (value == null) {
      return () -> {};
    }
    MDC.put(key, value);
    return () -> MDC.remove(key);
  }

  /** A scope to close; closing never throws. */
  public interface Scope extends AutoCloseable {
    @Override
    void close();
  }
}
