package io.marketplace.payments.stripeemulator.payment;

import io.marketplace.payments.stripeemulator.http.Listed;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A PaymentIntent ({@code pi_...}); immutable, replaced whole on each transition. */
public record PaymentIntent(
    String id,
    long sequence,
    long created,
    long amount,
    String currency,
    PaymentIntentStatus status,
    Map<String, String> metadata,
    String description,
    String paymentMethod,
    String clientSecret,
    String latestCharge,
    Map<String, Object> lastPaymentError,
    Map<String, Object> automaticPaymentMethods,
    List<String> paymentMethodTypes,
    Long canceledAt,
    String cancellationReason,
    long amountReceived,
    String receiptEmail)
    implements Listed {

  public PaymentIntent {
    metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
    paymentMethodTypes = List.copyOf(paymentMethodTypes);
  }

  PaymentIntent withPaymentMethod(String paymentMethodId) {
    return new PaymentIntent(
        id,
        sequence,
        created,
        amount,
        currency,
        status == PaymentIntentStatus.REQUIRES_PAYMENT_METHOD
            ? PaymentIntentStatus.REQUIRES_CONFIRMATION
            : status,
        metadata,
        description,
        paymentMethodId,
        clientSecret,
        latestCharge,
        lastPaymentError,
        automaticPaymentMethods,
        paymentMethodTypes,
        canceledAt,
        cancellationReason,
        amountReceived,
        receiptEmail);
  }

  /** The same PaymentIntent for another amount and currency (an update before it is paid). */
  PaymentIntent withAmount(long newAmount, String newCurrency) {
    return new PaymentIntent(
        id,
        sequence,
        created,
        newAmount,
        newCurrency,
        status,
        metadata,
        description,
        paymentMethod,
        clientSecret,
        latestCharge,
        lastPaymentError,
        automaticPaymentMethods,
        paymentMethodTypes,
        canceledAt,
        cancellationReason,
        amountReceived,
        receiptEmail);
  }

  PaymentIntent succeeded(String paymentMethodId, String chargeId) {
    return new PaymentIntent(
        id,
        sequence,
        created,
        amount,
        currency,
        PaymentIntentStatus.SUCCEEDED,
        metadata,
        description,
        paymentMethodId,
        clientSecret,
        chargeId,
        null,
        automaticPaymentMethods,
        paymentMethodTypes,
        canceledAt,
        cancellationReason,
        amount,
        receiptEmail);
  }

  /** Being paid with {@code paymentMethodId}, its outcome not known yet. */
  PaymentIntent processing(String paymentMethodId) {
    return new PaymentIntent(
        id,
        sequence,
        created,
        amount,
        currency,
        PaymentIntentStatus.PROCESSING,
        metadata,
        description,
        paymentMethodId,
        clientSecret,
        latestCharge,
        null,
        automaticPaymentMethods,
        paymentMethodTypes,
        canceledAt,
        cancellationReason,
        amountReceived,
        receiptEmail);
  }

  /** A declined attempt: back to requires_payment_method, the PaymentMethod detached. */
  PaymentIntent declined(String chargeId, Map<String, Object> error) {
    return new PaymentIntent(
        id,
        sequence,
        created,
        amount,
        currency,
        PaymentIntentStatus.REQUIRES_PAYMENT_METHOD,
        metadata,
        description,
        null,
        clientSecret,
        chargeId,
        error,
        automaticPaymentMethods,
        paymentMethodTypes,
        canceledAt,
        cancellationReason,
        amountReceived,
        receiptEmail);
  }

  PaymentIntent canceled(long at, String reason) {
    return new PaymentIntent(
        id,
        sequence,
        created,
        amount,
        currency,
        PaymentIntentStatus.CANCELED,
        metadata,
        description,
        paymentMethod,
        clientSecret,
        latestCharge,
        lastPaymentError,
        automaticPaymentMethods,
        paymentMethodTypes,
        at,
        reason,
        amountReceived,
        receiptEmail);
  }

  @Override
  public Map<String, Object> toJson() {
    Map<String, Object> cardOptions = new LinkedHashMap<>();
    cardOptions.put("installments", null);
    cardOptions.put("mandate_options", null);
    cardOptions.put("network", null);
    cardOptions.put("request_three_d_secure", "automatic");

    Map<String, Object> json = new LinkedHashMap<>();
    json.put("id", id);
    json.put("object", "payment_intent");
    json.put("amount", amount);
    json.put("amount_capturable", 0);
    json.put("amount_details", Map.of("tip", Map.of()));
    json.put("amount_received", amountReceived);
    json.put("application", null);
    json.put("application_fee_amount", null);
    json.put("automatic_payment_methods", automaticPaymentMethods);
    json.put("canceled_at", canceledAt);
    json.put("cancellation_reason", cancellationReason);
    json.put("capture_method", "automatic_async");
    json.put("client_secret", clientSecret);
    json.put("confirmation_method", "automatic");
    json.put("created", created);
    json.put("currency", currency);
    json.put("customer", null);
    json.put("description", description);
    json.put("excluded_payment_method_types", null);
    json.put("last_payment_error", lastPaymentError);
    json.put("latest_charge", latestCharge);
    json.put("livemode", false);
    json.put("metadata", new LinkedHashMap<>(metadata));
    json.put("next_action", null);
    json.put("on_behalf_of", null);
    json.put("payment_method", paymentMethod);
    json.put("payment_method_configuration_details", null);
    json.put("payment_method_options", Map.of("card", cardOptions));
    json.put("payment_method_types", paymentMethodTypes);
    json.put("processing", null);
    json.put("receipt_email", receiptEmail);
    json.put("review", null);
    json.put("setup_future_usage", null);
    json.put("shipping", null);
    json.put("source", null);
    json.put("statement_descriptor", null);
    json.put("statement_descriptor_suffix", null);
    json.put("status", status.wire());
    json.put("transfer_data", null);
    json.put("transfer_group", null);
    return json;
  }
}
