package io.marketplace.payments.stripeemulator.payment;

import io.marketplace.payments.stripeemulator.http.Listed;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Charge ({@code ch_...}), one per confirmation attempt. Its metadata is a copy of the
 * PaymentIntent's at the time of confirmation, as Stripe copies it.
 */
public record Charge(
    String id,
    long sequence,
    long created,
    String paymentIntent,
    long amount,
    String currency,
    boolean succeeded,
    String paymentMethod,
    TestCard card,
    Map<String, String> metadata,
    String description,
    long amountRefunded,
    boolean disputed,
    String balanceTransaction,
    String receiptEmail)
    implements Listed {

  public Charge {
    metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
  }

  public long unrefunded() {
    return amount - amountRefunded;
  }

  public boolean refunded() {
    return succeeded && amountRefunded >= amount;
  }

  public Charge withRefunded(long newAmountRefunded) {
    return new Charge(
        id,
        sequence,
        created,
        paymentIntent,
        amount,
        currency,
        succeeded,
        paymentMethod,
        card,
        metadata,
        description,
        newAmountRefunded,
        disputed,
        balanceTransaction,
        receiptEmail);
  }

  public Charge withDisputed() {
    return new Charge(
        id,
        sequence,
        created,
        paymentIntent,
        amount,
        currency,
        succeeded,
        paymentMethod,
        card,
        metadata,
        description,
        amountRefunded,
        true,
        balanceTransaction,
        receiptEmail);
  }

  @Override
  public Map<String, Object> toJson() {
    Map<String, Object> address = new LinkedHashMap<>();
    for (String field : List.of("city", "country", "line1", "line2", "postal_code", "state")) {
      address.put(field, null);
    }
    Map<String, Object> billing = new LinkedHashMap<>();
    billing.put("address", address);
    billing.put("email", null);
    billing.put("name", null);
    billing.put("phone", null);
    billing.put("tax_id", null);

    Map<String, Object> json = new LinkedHashMap<>();
    json.put("id", id);
    json.put("object", "charge");
    json.put("amount", amount);
    json.put("amount_captured", succeeded ? amount : 0);
    json.put("amount_refunded", amountRefunded);
    json.put("application", null);
    json.put("application_fee", null);
    json.put("application_fee_amount", null);
    json.put("balance_transaction", succeeded ? balanceTransaction : null);
    json.put("billing_details", billing);
    json.put("calculated_statement_descriptor", "MARKETPLACE");
    json.put("captured", succeeded);
    json.put("created", created);
    json.put("currency", currency);
    json.put("customer", null);
    json.put("description", description);
    json.put("disputed", disputed);
    json.put("failure_balance_transaction", null);
    json.put("failure_code", succeeded ? null : "card_declined");
    json.put("failure_message", succeeded ? null : card.declineMessage());
    json.put("fraud_details", Map.of());
    json.put("livemode", false);
    json.put("metadata", new LinkedHashMap<>(metadata));
    json.put("on_behalf_of", null);
    json.put("outcome", outcome());
    json.put("paid", succeeded);
    json.put("payment_intent", paymentIntent);
    json.put("payment_method", paymentMethod);
    json.put("payment_method_details", paymentMethodDetails());
    json.put("radar_options", Map.of());
    json.put("receipt_email", receiptEmail);
    json.put("receipt_number", null);
    json.put(
        "receipt_url", succeeded ? "https://pay.stripe.com/receipts/payment/emulated_" + id : null);
    json.put("refunded", refunded());
    json.put("review", null);
    json.put("shipping", null);
    json.put("source", null);
    json.put("source_transfer", null);
    json.put("statement_descriptor", null);
    json.put("statement_descriptor_suffix", null);
    json.put("status", succeeded ? "succeeded" : "failed");
    json.put("transfer_data", null);
    json.put("transfer_group", null);
    return json;
  }

  private Map<String, Object> outcome() {
    Map<String, Object> outcome = new LinkedHashMap<>();
    outcome.put("advice_code", null);
    outcome.put("network_advice_code", null);
    outcome.put("network_decline_code", null);
    outcome.put("network_status", succeeded ? "approved_by_network" : "declined_by_network");
    outcome.put("reason", succeeded ? null : card.declineCode());
    outcome.put("risk_level", "normal");
    outcome.put("risk_score", 32);
    outcome.put(
        "seller_message",
        succeeded
            ? "Payment complete."
            : "generic_decline".equals(card.declineCode())
                ? "The bank did not return any further details with this decline."
                : "The bank returned the decline code `" + card.declineCode() + "`.");
    outcome.put("type", succeeded ? "authorized" : "issuer_declined");
    return outcome;
  }

  private Map<String, Object> paymentMethodDetails() {
    Map<String, Object> checks = new LinkedHashMap<>();
    checks.put("address_line1_check", null);
    checks.put("address_postal_code_check", null);
    checks.put("cvc_check", "pass");
    Map<String, Object> overcapture = new LinkedHashMap<>();
    overcapture.put("maximum_amount_capturable", amount);
    overcapture.put("status", "unavailable");
    Map<String, Object> cardJson = new LinkedHashMap<>();
    cardJson.put("amount_authorized", succeeded ? amount : null);
    cardJson.put("authorization_code", null);
    cardJson.put("brand", card.brand());
    cardJson.put("checks", checks);
    cardJson.put("country", "US");
    cardJson.put("exp_month", PaymentMethod.EXP_MONTH);
    cardJson.put("exp_year", PaymentMethod.EXP_YEAR);
    cardJson.put("extended_authorization", Map.of("status", "disabled"));
    cardJson.put("fingerprint", card.fingerprint());
    cardJson.put("funding", card.funding());
    cardJson.put("incremental_authorization", Map.of("status", "unavailable"));
    cardJson.put("installments", null);
    cardJson.put("last4", card.last4());
    cardJson.put("mandate", null);
    cardJson.put("multicapture", Map.of("status", "unavailable"));
    cardJson.put("network", card.brand());
    cardJson.put("network_token", Map.of("used", false));
    cardJson.put("network_transaction_id", null);
    cardJson.put("overcapture", overcapture);
    cardJson.put("regulated_status", "unregulated");
    cardJson.put("three_d_secure", null);
    cardJson.put("wallet", null);
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("card", cardJson);
    details.put("type", "card");
    return details;
  }
}
