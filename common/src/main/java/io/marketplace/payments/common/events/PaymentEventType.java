package io.marketplace.payments.common.events;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Arrays;

/** The types published on {@code payments.events.v1} (SPEC §4); docs/events.md describes each. */
public enum PaymentEventType {
  PAYMENT_SUCCEEDED("payment.succeeded"),
  PAYMENT_FAILED("payment.failed"),
  LISTING_ACTIVATED("listing.activated"),
  LISTING_REJECTED("listing.rejected"),
  LISTING_EXPIRED("listing.expired"),
  LISTING_WITHDRAWN("listing.withdrawn"),
  PROMOTION_CREATED("promotion.created"),
  PROMOTION_EXPIRED("promotion.expired"),
  REFUND_REQUESTED("refund.requested"),
  REFUND_PROCESSED("refund.processed"),
  REFUND_REJECTED("refund.rejected"),
  REFUND_FAILED("refund.failed"),
  CHARGEBACK_RECORDED("chargeback.recorded"),
  USER_BANNED("user.banned"),
  USER_FLAGGED("user.flagged"),
  USER_RISK_CLEARED("user.risk_cleared"),
  USER_UNBANNED("user.unbanned");

  private final String wireName;

  PaymentEventType(String wireName) {
    this.wireName = wireName;
  }

  @JsonValue
  public String wireName() {
    return wireName;
  }

  @JsonCreator
  public static PaymentEventType fromWire(String name) {
    return Arrays.stream(values())
        .filter(t -> t.wireName.equals(name))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("unknown payment event type " + name));
  }

  @Override
  public String toString() {
    return wireName;
  }
}
