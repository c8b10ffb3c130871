package io.marketplace.payments.checkout.listing;

import java.util.Arrays;

/**
 * The states of a listing (SPEC §3). This service creates listings ({@code pending_payment} or, in
 * a free category, {@code active}) and rejects them; the payment processor activates them and the
 * expirer expires them.
 */
public enum ListingStatus {
  PENDING_PAYMENT("pending_payment"),
  ACTIVE("active"),
  REJECTED("rejected"),
  EXPIRED("expired");

  private final String wire;

  ListingStatus(String wire) {
    this.wire = wire;
  }

  public String wire() {
    return wire;
  }

  public static ListingStatus fromWire(String value) {
    return Arrays.stream(values())
        .filter(s -> s.wire.equals(value))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("unknown listing status " + value));
  }

  @Override
  public String toString() {
    return wire;
  }
}
