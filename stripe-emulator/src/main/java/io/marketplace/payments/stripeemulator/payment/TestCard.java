package io.marketplace.payments.stripeemulator.payment;

import java.util.Arrays;
import java.util.Optional;

/**
 * Stripe's test-mode payment methods and what confirming with each does. Confirming with one of
 * these tokens creates a fresh {@code pm_...} PaymentMethod of that card, as Stripe does.
 */
public enum TestCard {
  VISA("pm_card_visa", "visa", "4242", "credit", Outcome.SUCCEEDS, null, null),
  MASTERCARD("pm_card_mastercard", "mastercard", "4444", "credit", Outcome.SUCCEEDS, null, null),
  CHARGE_DECLINED(
      "pm_card_chargeDeclined",
      "visa",
      "0002",
      "credit",
      Outcome.DECLINED,
      "generic_decline",
      "Your card was declined."),
  CHARGE_DECLINED_INSUFFICIENT_FUNDS(
      "pm_card_chargeDeclinedInsufficientFunds",
      "visa",
      "9995",
      "credit",
      Outcome.DECLINED,
      "insufficient_funds",
      "Your card has insufficient funds."),
  CREATE_DISPUTE(
      "pm_card_createDispute", "visa", "0259", "credit", Outcome.DISPUTED_CHARGEBACK, null, null),
  CREATE_DISPUTE_INQUIRY(
      "pm_card_createDisputeInquiry",
      "visa",
      "1976",
      "credit",
      Outcome.DISPUTED_INQUIRY,
      null,
      null),
  REFUND_FAIL("pm_card_refundFail", "visa", "5126", "credit", Outcome.REFUNDS_FAIL, null, null);

  /** What the card network does with a charge on this card. */
  public enum Outcome {
    SUCCEEDS,
    DECLINED,
    /** succeeds, then a chargeback ({@code needs_response}) opens shortly after */
    DISPUTED_CHARGEBACK,
    /** succeeds, then an inquiry ({@code warning_needs_response}) opens shortly after */
    DISPUTED_INQUIRY,
    /** succeeds; a refund of it is created {@code succeeded}, then fails shortly after */
    REFUNDS_FAIL
  }

  private final String token;
  private final String brand;
  private final String last4;
  private final String funding;
  private final Outcome outcome;
  private final String declineCode;
  private final String declineMessage;

  TestCard(
      String token,
      String brand,
      String last4,
      String funding,
      Outcome outcome,
      String declineCode,
      String declineMessage) {
    this.token = token;
    this.brand = brand;
    this.last4 = last4;
    this.funding = funding;
    this.outcome = outcome;
    this.declineCode = declineCode;
    this.declineMessage = declineMessage;
  }

  public static Optional<TestCard> byToken(String token) {
    return Arrays.stream(values()).filter(c -> c.token.equals(token)).findFirst();
  }

  public String token() {
    return token;
  }

  public String brand() {
    return brand;
  }

  public String last4() {
    return last4;
  }

  public String funding() {
    return funding;
  }

  public Outcome outcome() {
    return outcome;
  }

  public boolean declines() {
    return outcome == Outcome.DECLINED;
  }

  public String declineCode() {
    return declineCode;
  }

  public String declineMessage() {
    return declineMessage;
  }

  /** Stable per card number, as Stripe's fingerprint is. */
  public String fingerprint() {
    return ("fp" + name().replace("_", "") + "0000000000000000").substring(0, 16);
  }
}
