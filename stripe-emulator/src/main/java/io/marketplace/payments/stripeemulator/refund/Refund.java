package io.marketplace.payments.stripeemulator.refund;

import io.marketplace.payments.stripeemulator.http.Listed;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** A Refund ({@code re_...}); card refunds succeed at once in test mode. */
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
    String balanceTransaction)
    implements Listed {

  public Refund {
    metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
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
    json.put("metadata", new LinkedHashMap<>(metadata));
    json.put("payment_intent", paymentIntent);
    json.put("reason", reason);
    json.put("receipt_number", null);
    json.put("source_transfer_reversal", null);
    json.put("status", "succeeded");
    json.put("transfer_reversal", null);
    return json;
  }
}
