package io.marketplace.payments.stripeemulator.control;

import io.marketplace.payments.stripeemulator.WebhookAttempt;
import io.marketplace.payments.stripeemulator.dispute.Dispute;
import io.marketplace.payments.stripeemulator.dispute.DisputeService;
import io.marketplace.payments.stripeemulator.http.ApiFaults;
import io.marketplace.payments.stripeemulator.http.RequestOrigin;
import io.marketplace.payments.stripeemulator.http.StripeError;
import io.marketplace.payments.stripeemulator.payment.PaymentIntent;
import io.marketplace.payments.stripeemulator.payment.PaymentIntentFaults;
import io.marketplace.payments.stripeemulator.payment.PaymentIntentService;
import io.marketplace.payments.stripeemulator.refund.Refund;
import io.marketplace.payments.stripeemulator.refund.RefundFaults;
import io.marketplace.payments.stripeemulator.refund.RefundService;
import io.marketplace.payments.stripeemulator.webhook.DeliveryQuirks;
import io.marketplace.payments.stripeemulator.webhook.WebhookDeliverer;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * What tests can do to the emulator that Stripe's API cannot: the things that, with real Stripe,
 * happen on the dashboard, at the card network or in Stripe's own failures.
 */
public final class Controls {
  private final PaymentIntentService paymentIntents;
  private final RefundService refunds;
  private final RefundFaults faults;
  private final PaymentIntentFaults creationFaults;
  private final ApiFaults apiFaults;
  private final DisputeService disputes;
  private final WebhookDeliverer deliverer;
  private final DeliveryQuirks quirks;

  public Controls(
      PaymentIntentService paymentIntents,
      RefundService refunds,
      RefundFaults faults,
      PaymentIntentFaults creationFaults,
      ApiFaults apiFaults,
      DisputeService disputes,
      WebhookDeliverer deliverer,
      DeliveryQuirks quirks) {
    this.paymentIntents = paymentIntents;
    this.refunds = refunds;
    this.faults = faults;
    this.creationFaults = creationFaults;
    this.apiFaults = apiFaults;
    this.disputes = disputes;
    this.deliverer = deliverer;
    this.quirks = quirks;
  }

  public void failNextRefunds(int count, RefundFaults.Mode mode, Duration hold) {
    faults.arm(count, mode, hold);
  }

  public void clearRefundFailures() {
    faults.clear();
  }

  public int armedRefundFailures() {
    return faults.remaining();
  }

  public void failNextPaymentIntentCreations(int count, PaymentIntentFaults.Mode mode) {
    creationFaults.arm(count, mode);
  }

  public void clearPaymentIntentFailures() {
    creationFaults.clear();
  }

  public int armedPaymentIntentFailures() {
    return creationFaults.remaining();
  }

  /**
   * Deletes a PaymentIntent, as Stripe's "delete all test data" does: every call naming it answers
   * 404 {@code resource_missing}, as it would to a key of another account or mode.
   */
  public void deletePaymentIntent(String paymentIntentId) {
    if (!paymentIntents.delete(paymentIntentId)) {
      throw StripeError.noSuch("payment_intent", paymentIntentId, "intent");
    }
  }

  /**
   * A PaymentIntent not yet paid starts being paid with {@code paymentMethod} and waits for the
   * outcome ({@code processing}): neither confirmable nor cancelable until it ends.
   */
  public PaymentIntent holdProcessing(String paymentIntentId, String paymentMethod) {
    return paymentIntents.holdProcessing(paymentIntentId, paymentMethod, RequestOrigin.dashboard());
  }

  /** The processing payment fails: the PaymentIntent is back in requires_payment_method. */
  public PaymentIntent failProcessing(String paymentIntentId) {
    return paymentIntents.failProcessing(paymentIntentId, RequestOrigin.AUTOMATIC);
  }

  /** The next {@code count} calls of {@code operation} answer {@code kind}'s error. */
  public void failNextApiCalls(String operation, int count, ApiFaults.Kind kind) {
    apiFaults.arm(operation, count, kind);
  }

  public void clearApiFailures() {
    apiFaults.clear();
  }

  public int armedApiFailures() {
    return apiFaults.remaining();
  }

  /** A refund made outside the system, as from Stripe's dashboard; {@code amount} null = all. */
  public Refund refundOutsideSystem(String paymentIntentId, Long amount, String reason) {
    return refunds.create(
        new RefundService.Create(paymentIntentId, null, amount, reason, Map.of()),
        RequestOrigin.dashboard());
  }

  /** Fails a succeeded refund now, as the card network may after Stripe made it. */
  public Refund failRefund(String refundId) {
    return refunds.failNow(refundId);
  }

  /** Opens a dispute now, as the card network would (no API request behind it). */
  public Dispute openDispute(String paymentIntentId, boolean inquiry, String reason) {
    return disputes.open(paymentIntentId, inquiry, reason, RequestOrigin.AUTOMATIC);
  }

  /** {@link #openDispute}, its id with {@code idPrefix} ({@code du} or {@code dp}). */
  public Dispute openDispute(
      String paymentIntentId, boolean inquiry, String reason, String idPrefix) {
    return disputes.open(paymentIntentId, inquiry, reason, idPrefix, RequestOrigin.AUTOMATIC);
  }

  public Dispute closeDispute(String disputeId, String outcome) {
    return disputes.close(disputeId, outcome, RequestOrigin.AUTOMATIC);
  }

  /** Escalates an inquiry to a chargeback under the same id, as the card network may. */
  public Dispute escalateDispute(String disputeId) {
    return disputes.escalate(disputeId, RequestOrigin.AUTOMATIC);
  }

  /** Changes a dispute's amount, as the card network may after it opened. */
  public Dispute changeDisputeAmount(String disputeId, long amount) {
    return disputes.changeAmount(disputeId, amount, RequestOrigin.AUTOMATIC);
  }

  public List<WebhookAttempt> webhookAttempts() {
    return deliverer.attempts();
  }

  public void pauseWebhooks() {
    deliverer.pause();
  }

  public void resumeWebhooks() {
    deliverer.resume();
  }

  public boolean webhooksPaused() {
    return deliverer.paused();
  }

  /** Each event published from now on is delivered {@code extra} more times after its 2xx. */
  public void redeliverWebhooks(int extra) {
    quirks.redeliveries(extra);
  }

  /** Each change from now on is also published as a twin event under another id. */
  public void sendTwinEvents(boolean on) {
    quirks.twinEvents(on);
  }

  /** The order in which resume releases the held deliveries. */
  public void resumeWebhooksIn(DeliveryQuirks.ResumeOrder order) {
    quirks.resumeOrder(order);
  }

  public void clearDeliveryQuirks() {
    quirks.clear();
  }

  public DeliveryQuirks deliveryQuirks() {
    return quirks;
  }
}
