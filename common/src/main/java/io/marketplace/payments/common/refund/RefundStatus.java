package io.marketplace.payments.common.refund;

import java.util.Arrays;
import java.util.Map;
import java.util.Set;

/**
 * The states of a {@code payment_refunds} row (SPEC §1) and the only moves between them:
 *
 * <pre>
 *   pending ──approve──▶ approved ──Stripe refund created──▶ processed
 *      └──────reject───▶ rejected    │  ▲                           │
 *                                    │  └──── admin retry ────┐     │ Stripe failed it afterwards
 *                                    └─ refused for good ──▶ failed ◀┘
 * </pre>
 *
 * An automatic refund (moderation rejection or technical failure within 24 h) is born {@code
 * approved}; a refund made outside the system and a chargeback are born {@code processed}. {@code
 * approved} is the only state in which Stripe is called; a transient Stripe failure leaves it
 * there, a permanent refusal or a refund Stripe fails after creating it ends {@code failed}, from
 * which only an admin's retry leads on (a closed failed refund stays {@code failed}).
 */
public enum RefundStatus {
  PENDING("pending"),
  APPROVED("approved"),
  REJECTED("rejected"),
  PROCESSED("processed"),
  FAILED("failed");

  private static final Map<RefundStatus, Set<RefundStatus>> TRANSITIONS =
      Map.of(
          PENDING, Set.of(APPROVED, REJECTED),
          APPROVED, Set.of(PROCESSED, FAILED),
          REJECTED, Set.of(),
          PROCESSED, Set.of(FAILED),
          FAILED, Set.of(APPROVED));

  private final String wire;

  RefundStatus(String wire) {
    this.wire = wire;
  }

  /** The value stored in {@code payment_refunds.status} and shown in the API. */
  public String wire() {
    return wire;
  }

  public boolean canMoveTo(RefundStatus target) {
    return TRANSITIONS.get(this).contains(target);
  }

  public static RefundStatus fromWire(String value) {
    return Arrays.stream(values())
        .filter(s -> s.wire.equals(value))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("unknown refund status " + value));
  }

  @Override
  public String toString() {
    return wire;
  }
}
