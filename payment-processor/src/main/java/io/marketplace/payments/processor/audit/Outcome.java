package io.marketplace.payments.processor.audit;

import java.util.Objects;

/**
 * What became of one Stripe event, as the audit trail records it.
 *
 * @param note why it was ignored, or what went wrong with a payment that was still applied (a
 *     technical failure); null for a plain success
 */
public record Outcome(Status status, String note) {

  /** The values of {@code webhook_events.status} this service writes. */
  public enum Status {
    PROCESSED("processed"),
    IGNORED("ignored"),
    FAILED("failed");

    private final String wire;

    Status(String wire) {
      this.wire = wire;
    }

    public String wire() {
      return wire;
    }
  }

  public Outcome {
    Objects.requireNonNull(status, "status");
  }

  public static Outcome processed() {
    return new Outcome(Status.PROCESSED, null);
  }

  public static Outcome processed(String note) {
    return new Outcome(Status.PROCESSED, note);
  }

  public static Outcome ignored(String why) {
    return new Outcome(Status.IGNORED, why);
  }
}
