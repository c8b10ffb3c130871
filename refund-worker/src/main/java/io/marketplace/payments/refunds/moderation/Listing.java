package io.marketplace.payments.refunds.moderation;

import java.time.Instant;
import java.util.UUID;

/** The part of a {@code marketplace_listings} row moderation needs. */
public record Listing(UUID id, UUID userId, String status, Instant expiresAt) {

  public boolean isRejected() {
    return "rejected".equals(status);
  }

  /**
   * Whether the listing had reached its end by {@code at}: it ran the time it was paid for, marked
   * {@code expired} by the expirer's pass or not yet. A listing not yet activated has no end.
   */
  public boolean endedBy(Instant at) {
    return expiresAt != null && !expiresAt.isAfter(at);
  }
}
