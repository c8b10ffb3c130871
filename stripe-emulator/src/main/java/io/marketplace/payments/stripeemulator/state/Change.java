package io.marketplace.payments.stripeemulator.state;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.marketplace.payments.stripeemulator.dispute.Dispute;
import io.marketplace.payments.stripeemulator.http.IdempotencyStore;
import io.marketplace.payments.stripeemulator.payment.Charge;
import io.marketplace.payments.stripeemulator.payment.PaymentIntent;
import io.marketplace.payments.stripeemulator.payment.PaymentMethod;
import io.marketplace.payments.stripeemulator.refund.Refund;
import io.marketplace.payments.stripeemulator.webhook.Event;
import io.marketplace.payments.stripeemulator.webhook.WebhookDelivery;
import io.marketplace.payments.stripeemulator.webhook.WebhookEndpoint;

/**
 * One line of the journal: exactly one field is set, the new state of one object (the last line
 * about an id wins on replay), or the id of a deleted webhook endpoint.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Change(
    PaymentIntent paymentIntent,
    Charge charge,
    PaymentMethod paymentMethod,
    Refund refund,
    Dispute dispute,
    Event event,
    WebhookEndpoint webhookEndpoint,
    String deletedWebhookEndpoint,
    IdempotencyStore.Saved idempotency,
    WebhookDelivery delivery) {

  public static Change of(PaymentIntent v) {
    return new Change(v, null, null, null, null, null, null, null, null, null);
  }

  public static Change of(Charge v) {
    return new Change(null, v, null, null, null, null, null, null, null, null);
  }

  public static Change of(PaymentMethod v) {
    return new Change(null, null, v, null, null, null, null, null, null, null);
  }

  public static Change of(Refund v) {
    return new Change(null, null, null, v, null, null, null, null, null, null);
  }

  public static Change of(Dispute v) {
    return new Change(null, null, null, null, v, null, null, null, null, null);
  }

  public static Change of(Event v) {
    return new Change(null, null, null, null, null, v, null, null, null, null);
  }

  public static Change of(WebhookEndpoint v) {
    return new Change(null, null, null, null, null, null, v, null, null, null);
  }

  public static Change deleted(String webhookEndpointId) {
    return new Change(null, null, null, null, null, null, null, webhookEndpointId, null, null);
  }

  public static Change of(IdempotencyStore.Saved v) {
    return new Change(null, null, null, null, null, null, null, null, v, null);
  }

  public static Change of(WebhookDelivery v) {
    return new Change(null, null, null, null, null, null, null, null, null, v);
  }
}
