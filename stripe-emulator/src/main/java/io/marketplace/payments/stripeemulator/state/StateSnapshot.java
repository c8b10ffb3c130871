package io.marketplace.payments.stripeemulator.state;

import io.marketplace.payments.stripeemulator.dispute.Dispute;
import io.marketplace.payments.stripeemulator.http.IdempotencyStore;
import io.marketplace.payments.stripeemulator.payment.Charge;
import io.marketplace.payments.stripeemulator.payment.PaymentIntent;
import io.marketplace.payments.stripeemulator.payment.PaymentMethod;
import io.marketplace.payments.stripeemulator.refund.Refund;
import io.marketplace.payments.stripeemulator.webhook.Event;
import io.marketplace.payments.stripeemulator.webhook.WebhookDelivery;
import io.marketplace.payments.stripeemulator.webhook.WebhookEndpoint;
import java.util.List;

/**
 * Everything the emulator keeps across restarts: what a journal replays to, and is compacted from.
 */
public record StateSnapshot(
    long sequence,
    List<PaymentIntent> paymentIntents,
    List<Charge> charges,
    List<PaymentMethod> paymentMethods,
    List<Refund> refunds,
    List<Dispute> disputes,
    List<WebhookEndpoint> webhookEndpoints,
    List<Event> events,
    List<IdempotencyStore.Saved> idempotency,
    List<WebhookDelivery> deliveries) {

  public static final StateSnapshot EMPTY =
      new StateSnapshot(0, null, null, null, null, null, null, null, null, null);

  public StateSnapshot {
    paymentIntents = paymentIntents == null ? List.of() : paymentIntents;
    charges = charges == null ? List.of() : charges;
    paymentMethods = paymentMethods == null ? List.of() : paymentMethods;
    refunds = refunds == null ? List.of() : refunds;
    disputes = disputes == null ? List.of() : disputes;
    webhookEndpoints = webhookEndpoints == null ? List.of() : webhookEndpoints;
    events = events == null ? List.of() : events;
    idempotency = idempotency == null ? List.of() : idempotency;
    deliveries = deliveries == null ? List.of() : deliveries;
  }
}
