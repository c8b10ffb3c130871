package io.marketplace.payments.stripeemulator.dispute;

import io.marketplace.payments.stripeemulator.http.Ids;
import io.marketplace.payments.stripeemulator.http.RequestOrigin;
import io.marketplace.payments.stripeemulator.http.StripeError;
import io.marketplace.payments.stripeemulator.payment.Charge;
import io.marketplace.payments.stripeemulator.payment.PaymentIntent;
import io.marketplace.payments.stripeemulator.state.Store;
import io.marketplace.payments.stripeemulator.webhook.EventPublisher;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens and closes disputes on succeeded charges. Publishes {@code charge.dispute.created} and
 * {@code charge.dispute.closed}. A dispute card opens its dispute {@code delay} after the payment,
 * as the card network would, from a timer rather than from the API call.
 */
public final class DisputeService {
  private static final Logger LOG = LoggerFactory.getLogger(DisputeService.class);
  private static final Set<String> REASONS =
      Set.of(
          "bank_cannot_process",
          "check_returned",
          "credit_not_processed",
          "customer_initiated",
          "debit_not_authorized",
          "duplicate",
          "fraudulent",
          "general",
          "incorrect_account_details",
          "insufficient_funds",
          "noncompliant",
          "product_not_received",
          "product_unacceptable",
          "subscription_canceled",
          "unrecognized");
  private static final Duration RESPONSE_WINDOW = Duration.ofDays(7);

  private final Store store;
  private final EventPublisher events;
  private final ScheduledExecutorService timer;
  private final Duration delay;

  public DisputeService(
      Store store, EventPublisher events, ScheduledExecutorService timer, Duration delay) {
    this.store = store;
    this.events = events;
    this.timer = timer;
    this.delay = delay;
  }

  /** What a dispute test card does after its payment succeeds. */
  public void openLater(String paymentIntentId, boolean inquiry) {
    try {
      timer.schedule(
          () -> {
            try {
              open(paymentIntentId, inquiry, "fraudulent", RequestOrigin.AUTOMATIC);
            } catch (RuntimeException e) {
              LOG.warn("Could not open the dispute of {}", paymentIntentId, e);
            }
          },
          delay.toMillis(),
          TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException e) {
      // closing
    }
  }

  public Dispute open(
      String paymentIntentId, boolean inquiry, String reason, RequestOrigin origin) {
    return open(paymentIntentId, inquiry, reason, "du", origin);
  }

  /**
   * Opens a dispute whose id has {@code idPrefix}: {@code du} as Stripe names disputes now, or
   * {@code dp}, as it named them before and still names many.
   */
  public Dispute open(
      String paymentIntentId,
      boolean inquiry,
      String reason,
      String idPrefix,
      RequestOrigin origin) {
    if (!REASONS.contains(reason)) {
      throw StripeError.invalidRequest("Invalid reason: " + reason, "reason", null);
    }
    PaymentIntent pi =
        store
            .paymentIntent(paymentIntentId)
            .orElseThrow(() -> StripeError.noSuch("payment_intent", paymentIntentId, "intent"));
    return store.locked(
        pi.id(),
        () -> {
          Charge charge =
              store
                  .charge(store.paymentIntent(pi.id()).orElseThrow().latestCharge())
                  .filter(Charge::succeeded)
                  .orElseThrow(
                      () ->
                          StripeError.invalidRequest(
                              "PaymentIntent " + pi.id() + " has no succeeded charge to dispute.",
                              "payment_intent",
                              null));
          if (charge.disputed()) {
            throw StripeError.invalidRequest(
                "Charge " + charge.id() + " has already been disputed.", "charge", null);
          }
          long now = store.now();
          Dispute dispute =
              new Dispute(
                  Ids.newId(idPrefix),
                  store.nextSequence(),
                  now,
                  charge.amount(),
                  charge.currency(),
                  charge.id(),
                  pi.id(),
                  reason,
                  inquiry ? DisputeStatus.WARNING_NEEDS_RESPONSE : DisputeStatus.NEEDS_RESPONSE,
                  inquiry,
                  charge.card().brand(),
                  Ids.newId("txn"),
                  now + RESPONSE_WINDOW.toSeconds());
          store.put(dispute);
          store.put(charge.withDisputed());
          events.publish("charge.dispute.created", dispute.toJson(), null, origin);
          if (!inquiry) {
            // a chargeback takes the money back at once, and Stripe says so in an event of its
            // own: two events of one change, for the consumers to count once
            events.publish("charge.dispute.funds_withdrawn", dispute.toJson(), null, origin);
          }
          return dispute;
        });
  }

  /**
   * Closes a dispute as the card network decides it: a chargeback {@code won} or {@code lost}; an
   * inquiry always closes {@code warning_closed}, whatever the outcome asked.
   */
  public Dispute close(String disputeId, String outcome, RequestOrigin origin) {
    Dispute found =
        store
            .dispute(disputeId)
            .orElseThrow(() -> StripeError.noSuch("dispute", disputeId, "dispute"));
    DisputeStatus target =
        switch (outcome == null ? "" : outcome) {
          case "won" -> found.inquiry() ? DisputeStatus.WARNING_CLOSED : DisputeStatus.WON;
          case "lost" -> found.inquiry() ? DisputeStatus.WARNING_CLOSED : DisputeStatus.LOST;
          case "warning_closed" -> DisputeStatus.WARNING_CLOSED;
          default ->
              throw StripeError.invalidRequest(
                  "Invalid outcome: must be one of won, lost or warning_closed", "outcome", null);
        };
    return store.locked(
        found.paymentIntent(),
        () -> {
          Dispute current = store.dispute(disputeId).orElseThrow();
          if (current.status().closed()) {
            throw StripeError.invalidRequest(
                "Dispute " + disputeId + " is already closed (" + current.status().wire() + ").",
                "dispute",
                null);
          }
          Dispute closed = current.withStatus(target);
          store.put(closed);
          events.publish(
              "charge.dispute.closed",
              closed.toJson(),
              Map.of("status", current.status().wire()),
              origin);
          if (target == DisputeStatus.WON) {
            // the money comes back, told in an event of its own as well
            events.publish("charge.dispute.funds_reinstated", closed.toJson(), null, origin);
          }
          return closed;
        });
  }

  /**
   * Escalates an inquiry to a chargeback under the same dispute id, as the card network may, even
   * after the inquiry closed: {@code needs_response}, its amount withdrawn, told by {@code
   * charge.dispute.updated} and {@code charge.dispute.funds_withdrawn}.
   */
  public Dispute escalate(String disputeId, RequestOrigin origin) {
    Dispute found =
        store
            .dispute(disputeId)
            .orElseThrow(() -> StripeError.noSuch("dispute", disputeId, "dispute"));
    return store.locked(
        found.paymentIntent(),
        () -> {
          Dispute current = store.dispute(disputeId).orElseThrow();
          if (!current.inquiry()) {
            throw StripeError.invalidRequest(
                "Dispute " + disputeId + " is not an inquiry (" + current.status().wire() + ").",
                "dispute",
                null);
          }
          Dispute escalated = current.asChargeback(DisputeStatus.NEEDS_RESPONSE);
          store.put(escalated);
          events.publish(
              "charge.dispute.updated",
              escalated.toJson(),
              Map.of("status", current.status().wire()),
              origin);
          events.publish("charge.dispute.funds_withdrawn", escalated.toJson(), null, origin);
          return escalated;
        });
  }

  /**
   * Changes the amount of a dispute, as the card network may after it opened (a part of the order
   * disputed, or accepted): told by {@code charge.dispute.updated}, its {@code previous_attributes}
   * naming the amount before. {@code amount} is at least 1 cent and at most the charge's.
   */
  public Dispute changeAmount(String disputeId, long amount, RequestOrigin origin) {
    Dispute found =
        store
            .dispute(disputeId)
            .orElseThrow(() -> StripeError.noSuch("dispute", disputeId, "dispute"));
    return store.locked(
        found.paymentIntent(),
        () -> {
          Dispute current = store.dispute(disputeId).orElseThrow();
          long charged =
              store.charge(current.charge()).map(Charge::amount).orElse(current.amount());
          if (amount < 1 || amount > charged) {
            throw StripeError.invalidRequest(
                "Invalid amount: must be between 1 and the charge's " + charged + ".",
                "amount",
                null);
          }
          Dispute changed = current.withAmount(amount);
          store.put(changed);
          events.publish(
              "charge.dispute.updated",
              changed.toJson(),
              Map.of("amount", current.amount()),
              origin);
          return changed;
        });
  }
}
