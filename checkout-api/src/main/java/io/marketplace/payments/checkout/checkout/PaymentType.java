package io.marketplace.payments.checkout.checkout;

import java.util.Arrays;

/**
 * What a PaymentIntent buys: {@code payments.payment_type} and {@code metadata[payment_type]} (SPEC
 * §3), also the {@code type} tag of {@code homepage_payments_intents_created_total}.
 */
public enum PaymentType {
  POSTING_FEE("posting_fee"),
  PROMOTION_FEATURED("promotion_featured"),
  PROMOTION_BUMP("promotion_bump");

  private final String wire;

  PaymentType(String wire) {
    this.wire = wire;
  }

  public String wire() {
    return wire;
  }

  public static PaymentType fromWire(String value) {
    return Arrays.stream(values())
        .filter(t -> t.wire.equals(value))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("unknown payment type " + value));
  }

  @Override
  public String toString() {
    return wire;
  }
}
