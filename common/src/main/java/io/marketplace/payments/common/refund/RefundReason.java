package io.marketplace.payments.common.refund;

import java.util.Arrays;

/** Why money went back (SPEC §5 {@code payment_refunds.reason}). */
public enum RefundReason {
  TECHNICAL_FAILURE("technical_failure"),
  MODERATION_REJECTION("moderation_rejection"),
  USER_REQUEST("user_request"),
  CHARGEBACK("chargeback");

  private final String wire;

  RefundReason(String wire) {
    this.wire = wire;
  }

  public String wire() {
    return wire;
  }

  /** Automatic reasons are refunded at most once per payment (a unique index says so too). */
  public boolean isAutomatic() {
    return this == TECHNICAL_FAILURE || this == MODERATION_REJECTION;
  }

  public static RefundReason fromWire(String value) {
    return Arrays.stream(values())
        .filter(r -> r.wire.equals(value))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("unknown refund reason " + value));
  }

  @Override
  public String toString() {
    return wire;
  }
}
