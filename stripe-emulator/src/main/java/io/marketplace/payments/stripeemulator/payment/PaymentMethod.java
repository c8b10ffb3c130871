package io.marketplace.payments.stripeemulator.payment;

import io.marketplace.payments.stripeemulator.http.Listed;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A card PaymentMethod ({@code pm_...}) made from one of Stripe's test tokens. */
public record PaymentMethod(String id, long sequence, long created, TestCard card)
    implements Listed {
  static final int EXP_MONTH = 12;
  static final int EXP_YEAR = 2034;

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

    Map<String, Object> checks = new LinkedHashMap<>();
    checks.put("address_line1_check", null);
    checks.put("address_postal_code_check", null);
    checks.put("cvc_check", "pass");
    Map<String, Object> networks = new LinkedHashMap<>();
    networks.put("available", List.of(card.brand()));
    networks.put("preferred", null);
    Map<String, Object> cardJson = new LinkedHashMap<>();
    cardJson.put("brand", card.brand());
    cardJson.put("checks", checks);
    cardJson.put("country", "US");
    cardJson.put("display_brand", card.brand());
    cardJson.put("exp_month", EXP_MONTH);
    cardJson.put("exp_year", EXP_YEAR);
    cardJson.put("fingerprint", card.fingerprint());
    cardJson.put("funding", card.funding());
    cardJson.put("generated_from", null);
    cardJson.put("last4", card.last4());
    cardJson.put("networks", networks);
    cardJson.put("regulated_status", "unregulated");
    cardJson.put("three_d_secure_usage", Map.of("supported", true));
    cardJson.put("wallet", null);

    Map<String, Object> json = new LinkedHashMap<>();
    json.put("id", id);
    json.put("object", "payment_method");
    json.put("allow_redisplay", "unspecified");
    json.put("billing_details", billing);
    json.put("card", cardJson);
    json.put("created", created);
    json.put("customer", null);
    json.put("livemode", false);
    json.put("metadata", Map.of());
    json.put("type", "card");
    return json;
  }
}
