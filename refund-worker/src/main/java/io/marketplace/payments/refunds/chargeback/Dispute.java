package io.marketplace.payments.refunds.chargeback;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * What a Stripe Dispute tells us: from the object of one of its events, or from its row in {@code
 * payment_disputes} when no event is at hand.
 */
record Dispute(
    String id,
    String paymentIntentId,
    String chargeId,
    long amountCents,
    String reason,
    String status) {

  /** The dispute an event carries; {@code paymentIntentId} is the one the event names. */
  static Dispute of(JsonNode dispute, String paymentIntentId) {
    String id = dispute.path("id").asText("");
    if (!id.startsWith("du_") && !id.startsWith("dp_")) {
      throw new IllegalArgumentException("not a dispute object: " + id);
    }
    return new Dispute(
        id,
        paymentIntentId,
        text(dispute.path("charge")),
        dispute.path("amount").asLong(0),
        text(dispute.path("reason")),
        dispute.path("status").asText(""));
  }

  boolean isInquiry() {
    return BanPolicy.isInquiry(status);
  }

  boolean isPrevented() {
    return BanPolicy.isPrevented(status);
  }

  boolean isClosed() {
    return BanPolicy.isClosed(status);
  }

  /** Won: the card network gave the disputed money back to us. */
  boolean isWon() {
    return "won".equals(status);
  }

  /** Closed lost: its chargeback's money is the customer's for good. */
  boolean isLost() {
    return "lost".equals(status);
  }

  private static String text(JsonNode node) {
    return node.isTextual() ? node.asText() : null;
  }
}
