package io.marketplace.payments.refunds.moderation;

import java.util.UUID;

/** The part of a {@code marketplace_listings} row moderation needs. */
public record Listing(UUID id, UUID userId, String status) {

  public boolean isRejected() {
    return "rejected".equals(status);
  }
}
