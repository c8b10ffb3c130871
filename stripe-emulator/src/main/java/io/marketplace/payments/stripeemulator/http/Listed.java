package io.marketplace.payments.stripeemulator.http;

import java.util.Map;

/** An object that list endpoints page through, newest first. */
public interface Listed {
  String id();

  /** Unix seconds, as Stripe's {@code created}. */
  long created();

  /** Order of creation within the emulator: many objects share one second. */
  long sequence();

  Map<String, Object> toJson();
}
