package io.marketplace.payments.stripeemulator.dispute;

import java.util.Locale;

/**
 * Stripe's dispute statuses. A chargeback opens as {@code needs_response} and closes {@code won} or
 * {@code lost}; an inquiry (no money moved yet) opens as {@code warning_needs_response} and closes
 * as {@code warning_closed}.
 */
public enum DisputeStatus {
  WARNING_NEEDS_RESPONSE,
  WARNING_UNDER_REVIEW,
  WARNING_CLOSED,
  NEEDS_RESPONSE,
  UNDER_REVIEW,
  WON,
  LOST;

  public String wire() {
    return name().toLowerCase(Locale.ROOT);
  }

  public boolean closed() {
    return this == WARNING_CLOSED || this == WON || this == LOST;
  }
}
