package io.marketplace.payments.stripeemulator.webhook;

/**
 * Where the delivery of one event to one endpoint stands, as the journal keeps it: {@code attempts}
 * tries made so far and, while {@code PENDING}, when the next one is due (epoch milliseconds, wall
 * clock). A restarted emulator resumes every pending delivery at its due time, as Stripe keeps
 * retrying an undelivered event.
 */
public record WebhookDelivery(
    String eventId, String endpointId, int attempts, long nextAttemptAt, Status status) {

  public enum Status {
    PENDING,
    SUCCEEDED,
    ABANDONED
  }

  /** The journal's key: one delivery per event and endpoint. */
  public String key() {
    return eventId + "/" + endpointId;
  }

  public boolean pending() {
    return status == Status.PENDING;
  }
}
