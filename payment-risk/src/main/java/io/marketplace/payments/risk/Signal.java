package io.marketplace.payments.risk;

import com.fasterxml.jackson.annotation.JsonValue;

/** The risk signals of {@code risk.signals.v1} ({@code data.signal}). */
public enum Signal {
  /** Card testing: many declined payments of one user. */
  CARD_TESTING_DECLINES("card_testing_declines"),
  /** Card testing: many distinct cards (by fingerprint) tried by one user. */
  CARD_TESTING_FINGERPRINTS("card_testing_fingerprints"),
  /** Chargeback spike: many disputes (not inquiries) against one user's payments. */
  CHARGEBACK_SPIKE("chargeback_spike");

  private final String wireName;

  Signal(String wireName) {
    this.wireName = wireName;
  }

  @JsonValue
  public String wireName() {
    return wireName;
  }
}
