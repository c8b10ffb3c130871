package io.marketplace.payments.stripeemulator.refund;

import io.marketplace.payments.stripeemulator.http.Listed;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A Refund ({@code re_...}); card refunds succeed at once in test mode, and a refund of Stripe's
 * {@code pm_card_refundFail} card then turns {@code failed}, with a {@code failure_reason}.
 */
public record Refund(
    String id,
    long sequence,
    long created,
    long amount,
    String currency,
    String charge,
    String paymentIntent,
    String reason,
    Map<String, String> metadata,
    String balanceTransaction,
    String status,
    String failureReason)
    implements Listed {

  static final String SUCCEEDED = "succeeded";
  static final String FAILED = "failed";

  public Refund {
    metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
    // journals of earlier versions hold no status: every refund of theirs succeeded
    status = status == null ? SUCCEEDED : status;
  }

  /** Failed at the card network after it was created: the money goes back to the account. */
  Refund failed(String reasonOfFailure) {
    return new Refund(
        id,
        sequence,
        created,
        amount,
        currency,
        charge,
        paymentIntent,
        reason,
        metadata,
        balanceTransaction,
        FAILED,
        reasonOfFailure);
  }

  boolean succeeded() {
    return SUCCEEDED.equals(status);
  }

  @Override
  public Map<String, Object> toJson() {
    Map<String, Object> card = new LinkedHashMap<>();
    card.put("reference", null);
    card.put("reference_status", "pending");
    card.put("reference_type", "acquirer_reference_number");
    card.put("type", "refund");
    Map<String, Object> destination = new LinkedHashMap<>();
    destination.put("card", card);
    destination.put("type", "card");

    Map<String, Object> json = new LinkedHashMap<>();
    json.put("id", id);
    json.put("object", "refund");
    json.put("amount", amount);
    json.put("balance_transaction", balanceTransaction);
    json.put("charge", charge);
    json.put("created", created);
    json.put("currency", currency);
    json.put("destination_details", destination);
    if (failureReason != null) {
      json.put("failure_balance_transaction", balanceTransaction + "_failure");
      json.put("failure_reason", failureReason);
    }
    json.put("metadata", new LinkedHashMap<>(metadata));
    json.put("payment_intent", paymentIntent);
    json.put("reason", reason);
    json.put("receipt_number", null);
    json.put("source_transfer_reversal", null);
    json.put("status", status);
    json.put("transfer_reversal", null);
    return json;
  }
}
