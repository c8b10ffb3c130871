package io.marketplace.payments.processor.payment;

import io.marketplace.payments.common.events.PaymentEvent;
import io.marketplace.payments.common.events.PaymentEventType;
import io.marketplace.payments.processor.batch.PaymentBatch;
import java.time.Instant;
import java.util.UUID;

/**
 * The {@code payment.*} events of {@code payments.events.v1} (docs/events.md), keyed by listing id.
 * Their ids come from the fact: a PaymentIntent succeeds once, so {@code payment.succeeded} is
 * keyed on its id; it may fail several times, so {@code payment.failed} is keyed on the failed
 * attempt (Stripe's charge, or what names an attempt that failed before a charge: {@link
 * io.marketplace.payments.common.stripe.StripeEvent#failedAttempt}), which two events reporting the
 * same decline share.
 */
public final class PaymentFacts {

  private PaymentFacts() {}

  /** {@code payment.succeeded}: Stripe took the money for a purchase. */
  public record Succeeded(
      String paymentIntentId,
      UUID listingId,
      UUID userId,
      PaymentType paymentType,
      long amountCents,
      String currency,
      Instant succeededAt) {}

  /** {@code payment.failed}: an attempt to pay was declined or errored; the user may retry. */
  public record Failed(
      String paymentIntentId,
      UUID listingId,
      UUID userId,
      PaymentType paymentType,
      long amountCents,
      String currency,
      String failureCode,
      String declineCode,
      String failureMessage,
      String stripeEventId,
      Instant failedAt) {}

  public static void succeeded(PaymentBatch batch, Payment payment, Instant succeededAt) {
    var event =
        PaymentEvent.written(
            PaymentEventType.PAYMENT_SUCCEEDED,
            payment.paymentIntentId(),
            succeededAt,
            new Succeeded(
                payment.paymentIntentId(),
                payment.listingId(),
                payment.userId(),
                payment.type(),
                payment.amountCents(),
                payment.currency(),
                succeededAt));
    batch.publish(event, payment.listingId().toString());
  }

  public static void failed(
      PaymentBatch batch,
      Payment payment,
      String attempt,
      String stripeEventId,
      String failureCode,
      String declineCode,
      String failureMessage,
      Instant failedAt) {
    var event =
        PaymentEvent.written(
            PaymentEventType.PAYMENT_FAILED,
            attempt,
            failedAt,
            new Failed(
                payment.paymentIntentId(),
                payment.listingId(),
                payment.userId(),
                payment.type(),
                payment.amountCents(),
                payment.currency(),
                failureCode,
                declineCode,
                failureMessage,
                stripeEventId,
                failedAt));
    batch.publish(event, payment.listingId().toString());
  }
}
