package io.marketplace.payments.stripeemulator.dispute;

import io.marketplace.payments.stripeemulator.http.Listed;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Dispute ({@code du_...}). It names its charge and PaymentIntent but carries none of their
 * metadata: Stripe opens it with an empty {@code metadata}.
 */
public record Dispute(
    String id,
    long sequence,
    long created,
    long amount,
    String currency,
    String charge,
    String paymentIntent,
    String reason,
    DisputeStatus status,
    boolean inquiry,
    String brand,
    String balanceTransaction,
    long dueBy)
    implements Listed {
  private static final long DISPUTE_FEE = 1500;

  Dispute withStatus(DisputeStatus newStatus) {
    return new Dispute(
        id,
        sequence,
        created,
        amount,
        currency,
        charge,
        paymentIntent,
        reason,
        newStatus,
        inquiry,
        brand,
        balanceTransaction,
        dueBy);
  }

  /** The same dispute, its amount changed by the card network. */
  Dispute withAmount(long newAmount) {
    return new Dispute(
        id,
        sequence,
        created,
        newAmount,
        currency,
        charge,
        paymentIntent,
        reason,
        status,
        inquiry,
        brand,
        balanceTransaction,
        dueBy);
  }

  /** The chargeback an inquiry became: the same dispute, now withdrawing its amount. */
  Dispute asChargeback(DisputeStatus newStatus) {
    return new Dispute(
        id,
        sequence,
        created,
        amount,
        currency,
        charge,
        paymentIntent,
        reason,
        newStatus,
        false,
        brand,
        balanceTransaction,
        dueBy);
  }

  @Override
  public Map<String, Object> toJson() {
    Map<String, Object> evidence = new LinkedHashMap<>();
    for (String field :
        List.of(
            "access_activity_log",
            "billing_address",
            "cancellation_policy",
            "cancellation_policy_disclosure",
            "cancellation_rebuttal",
            "customer_communication",
            "customer_email_address",
            "customer_name",
            "customer_purchase_ip",
            "customer_signature",
            "duplicate_charge_documentation",
            "duplicate_charge_explanation",
            "duplicate_charge_id",
            "product_description",
            "receipt",
            "refund_policy",
            "refund_policy_disclosure",
            "refund_refusal_explanation",
            "service_date",
            "service_documentation",
            "shipping_address",
            "shipping_carrier",
            "shipping_date",
            "shipping_documentation",
            "shipping_tracking_number",
            "uncategorized_file",
            "uncategorized_text")) {
      evidence.put(field, null);
    }
    Map<String, Object> evidenceDetails = new LinkedHashMap<>();
    evidenceDetails.put("due_by", dueBy);
    evidenceDetails.put("enhanced_eligibility", Map.of());
    evidenceDetails.put("has_evidence", false);
    evidenceDetails.put("past_due", false);
    evidenceDetails.put("submission_count", 0);

    Map<String, Object> card = new LinkedHashMap<>();
    card.put("brand", brand);
    card.put("case_type", inquiry ? "inquiry" : "chargeback");
    card.put("network_reason_code", inquiry ? "10" : "10.4");
    Map<String, Object> methodDetails = new LinkedHashMap<>();
    methodDetails.put("card", card);
    methodDetails.put("type", "card");

    Map<String, Object> json = new LinkedHashMap<>();
    json.put("id", id);
    json.put("object", "dispute");
    json.put("amount", amount);
    json.put("balance_transactions", balanceTransactions());
    json.put("charge", charge);
    json.put("created", created);
    json.put("currency", currency);
    json.put("enhanced_eligibility_types", List.of());
    json.put("evidence", evidence);
    json.put("evidence_details", evidenceDetails);
    json.put("is_charge_refundable", inquiry);
    json.put("livemode", false);
    json.put("metadata", Map.of());
    json.put("payment_intent", paymentIntent);
    json.put("payment_method_details", methodDetails);
    json.put("reason", reason);
    json.put("status", status.wire());
    return json;
  }

  /** A chargeback withdraws the amount plus the dispute fee; an inquiry moves no money. */
  private List<Map<String, Object>> balanceTransactions() {
    List<Map<String, Object>> result = new ArrayList<>();
    if (inquiry) {
      return result;
    }
    Map<String, Object> txn = new LinkedHashMap<>();
    txn.put("id", balanceTransaction);
    txn.put("object", "balance_transaction");
    txn.put("amount", -amount);
    txn.put("available_on", created);
    txn.put("created", created);
    txn.put("currency", currency);
    txn.put("description", "Chargeback withdrawal for " + charge);
    txn.put("exchange_rate", null);
    txn.put("fee", DISPUTE_FEE);
    Map<String, Object> fee = new LinkedHashMap<>();
    fee.put("amount", DISPUTE_FEE);
    fee.put("application", null);
    fee.put("currency", currency);
    fee.put("description", "Dispute fee");
    fee.put("type", "stripe_fee");
    txn.put("fee_details", List.of(fee));
    txn.put("net", -amount - DISPUTE_FEE);
    txn.put("reporting_category", "dispute");
    txn.put("source", id);
    txn.put("status", "available");
    txn.put("type", "adjustment");
    result.add(txn);
    return result;
  }
}
