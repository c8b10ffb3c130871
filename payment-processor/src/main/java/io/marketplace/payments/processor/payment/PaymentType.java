package io.marketplace.payments.processor.payment;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Arrays;

/** What a payment buys: the {@code payments.payment_type} and {@code metadata[payment_type]}. */
public enum PaymentType {
  POSTING_FEE("posting_fee"),
  PROMOTION_FEATURED("promotion_featured"),
  PROMOTION_BUMP("promotion_bump");

  private final String wire;

  PaymentType(String wire) {
    this.wire = wire;
  }

  @JsonValue
  public String wire() {
    return wire;
  }

  public static PaymentType fromWire(String wire) {
    return Arrays.stream(values())
        .filter(t -> t.wire.equals(wire))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("unknown payment type " + wire));
  }
}
