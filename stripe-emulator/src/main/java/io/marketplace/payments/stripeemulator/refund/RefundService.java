package io.marketplace.payments.stripeemulator.refund;

import io.marketplace.payments.stripeemulator.dispute.DisputeStatus;
import io.marketplace.payments.stripeemulator.http.Ids;
import io.marketplace.payments.stripeemulator.http.RequestOrigin;
import io.marketplace.payments.stripeemulator.http.StripeError;
import io.marketplace.payments.stripeemulator.payment.Charge;
import io.marketplace.payments.stripeemulator.payment.PaymentIntent;
import io.marketplace.payments.stripeemulator.payment.TestCard;
import io.marketplace.payments.stripeemulator.state.Store;
import io.marketplace.payments.stripeemulator.webhook.EventPublisher;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Refunds a PaymentIntent's succeeded charge, wholly or in part. Publishes {@code refund.created}
 * and {@code charge.refunded} (with the charge's former {@code amount_refunded} and {@code
 * refunded} as previous attributes). A refund of the refund-fail test card then fails, announced by
 * {@code charge.refund.updated}, {@code refund.updated} and {@code refund.failed}.
 */
public final class RefundService {
  private static final Logger LOG = LoggerFactory.getLogger(RefundService.class);
  private static final Set<String> REASONS =
      Set.of("duplicate", "fraudulent", "requested_by_customer");

  /** The parameters of {@code POST /v1/refunds} that the emulator honours. */
  public record Create(
      String paymentIntent,
      String charge,
      Long amount,
      String reason,
      Map<String, String> metadata) {}

  /** Why a refund of the refund-fail test card fails. */
  static final String TEST_CARD_FAILURE_REASON = "expired_or_canceled_card";

  private final Store store;
  private final EventPublisher events;
  private final ScheduledExecutorService timer;
  private final Duration failureDelay;

  /**
   * {@code failureDelay}: how long after its creation a refund of the refund-fail test card fails,
   * from {@code timer}.
   */
  public RefundService(
      Store store, EventPublisher events, ScheduledExecutorService timer, Duration failureDelay) {
    this.store = store;
    this.events = events;
    this.timer = timer;
    this.failureDelay = failureDelay;
  }

  public Refund create(Create c, RequestOrigin origin) {
    if (c.paymentIntent() == null && c.charge() == null) {
      throw StripeError.invalidRequest(
          "One of the following params should be provided for this request: payment_intent or"
              + " charge.",
          null,
          "parameter_missing");
    }
    if (c.reason() != null && !REASONS.contains(c.reason())) {
      throw StripeError.invalidRequest(
          "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer",
          "reason",
          null);
    }
    if (c.amount() != null && c.amount() <= 0) {
      throw StripeError.invalidRequest(
          "Invalid positive integer", "amount", "parameter_invalid_integer");
    }
    String paymentIntentId = paymentIntentOf(c);
    return store.locked(paymentIntentId, () -> refundLocked(paymentIntentId, c, origin));
  }

  public Refund retrieve(String id) {
    return store.refund(id).orElseThrow(() -> StripeError.noSuch("refund", id, "id"));
  }

  public List<Refund> all() {
    return store.refunds();
  }

  private String paymentIntentOf(Create c) {
    if (c.charge() != null) {
      Charge charge =
          store
              .charge(c.charge())
              .orElseThrow(() -> StripeError.noSuchParam("charge", c.charge(), "charge"));
      if (c.paymentIntent() != null && !c.paymentIntent().equals(charge.paymentIntent())) {
        throw StripeError.invalidRequest(
            "The charge " + c.charge() + " does not belong to " + c.paymentIntent() + ".",
            "charge",
            null);
      }
      return charge.paymentIntent();
    }
    return store
        .paymentIntent(c.paymentIntent())
        .map(PaymentIntent::id)
        .orElseThrow(
            () -> StripeError.noSuchParam("payment_intent", c.paymentIntent(), "payment_intent"));
  }

  private Refund refundLocked(String paymentIntentId, Create c, RequestOrigin origin) {
    PaymentIntent pi = store.paymentIntent(paymentIntentId).orElseThrow();
    String chargeId = c.charge() != null ? c.charge() : pi.latestCharge();
    Charge charge =
        store
            .charge(chargeId)
            .filter(Charge::succeeded)
            .orElseThrow(
                () ->
                    StripeError.invalidRequest(
                            "This PaymentIntent does not have a successful charge to refund.",
                            c.charge() != null ? "charge" : "payment_intent",
                            null)
                        .keptForTheKey());
    // a chargeback not won keeps the charge from being refunded (open: the money is with the card
    // network; lost: the customer got it back); an inquiry took nothing, and a chargeback won gave
    // the money back to the merchant, who may refund it then, as Stripe allows
    boolean chargedBack =
        store.disputes().stream()
            .anyMatch(
                d ->
                    d.charge().equals(charge.id())
                        && !d.inquiry()
                        && d.status() != DisputeStatus.WON);
    if (chargedBack) {
      throw StripeError.invalidRequest(
              "Charge " + charge.id() + " has been charged back; cannot issue a refund.",
              null,
              "charge_disputed")
          .keptForTheKey();
    }
    long remaining = charge.unrefunded();
    if (remaining <= 0) {
      throw StripeError.invalidRequest(
              "Charge " + charge.id() + " has already been refunded.",
              null,
              "charge_already_refunded")
          .keptForTheKey();
    }
    long amount = c.amount() == null ? remaining : c.amount();
    if (amount > remaining) {
      throw StripeError.invalidRequest(
              "Refund amount ("
                  + money(amount, charge.currency())
                  + ") is greater than unrefunded amount on charge ("
                  + money(remaining, charge.currency())
                  + ")",
              "amount",
              null)
          .keptForTheKey();
    }
    Refund refund =
        new Refund(
            Ids.newId("re"),
            store.nextSequence(),
            store.now(),
            amount,
            charge.currency(),
            charge.id(),
            pi.id(),
            c.reason(),
            c.metadata(),
            Ids.newId("txn"),
            Refund.SUCCEEDED,
            null);
    store.put(refund);
    Charge refunded = charge.withRefunded(charge.amountRefunded() + amount);
    store.put(refunded);
    events.publish("refund.created", refund.toJson(), null, origin);
    Map<String, Object> previous = new LinkedHashMap<>();
    previous.put("amount_refunded", charge.amountRefunded());
    if (refunded.refunded() != charge.refunded()) {
      previous.put("refunded", charge.refunded());
    }
    events.publish("charge.refunded", refunded.toJson(), previous, origin);
    if (charge.card().outcome() == TestCard.Outcome.REFUNDS_FAIL) {
      failLater(refund.id());
    }
    return refund;
  }

  /** What the refund-fail test card's network does some time after a refund was created. */
  private void failLater(String refundId) {
    try {
      timer.schedule(
          () -> {
            try {
              fail(refundId);
            } catch (RuntimeException e) {
              LOG.warn("Could not fail the refund {}", refundId, e);
            }
          },
          failureDelay.toMillis(),
          TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException e) {
      // closing
    }
  }

  /**
   * The refund turns {@code failed} and its amount is no longer refunded on the charge; Stripe
   * tells it three times, as {@code charge.refund.updated}, {@code refund.updated} and {@code
   * refund.failed}, events of their own, each with the refund as its object.
   */
  private void fail(String refundId) {
    fail(refundId, TEST_CARD_FAILURE_REASON);
  }

  /**
   * Fails a succeeded refund now, as the card network may do days after Stripe made it (a closed
   * card account): a test control. Returns the failed refund; a refund that is not {@code
   * succeeded} is a 400.
   */
  public Refund failNow(String refundId) {
    Refund failed = fail(refundId, TEST_CARD_FAILURE_REASON);
    if (failed == null) {
      throw StripeError.invalidRequest(
          "Refund " + refundId + " is " + retrieve(refundId).status() + ", not succeeded.",
          "refund",
          null);
    }
    return failed;
  }

  /** Null when the refund was not succeeded. */
  private Refund fail(String refundId, String reason) {
    Refund created = retrieve(refundId);
    return store.locked(
        created.paymentIntent(),
        () -> {
          Refund current = retrieve(refundId);
          if (!current.succeeded()) {
            return null;
          }
          Refund failed = current.failed(reason);
          store.put(failed);
          store
              .charge(current.charge())
              .ifPresent(
                  charge ->
                      store.put(
                          charge.withRefunded(
                              Math.max(0, charge.amountRefunded() - current.amount()))));
          Map<String, Object> previous = new LinkedHashMap<>();
          previous.put("status", current.status());
          events.publish(
              "charge.refund.updated", failed.toJson(), previous, RequestOrigin.AUTOMATIC);
          events.publish("refund.updated", failed.toJson(), previous, RequestOrigin.AUTOMATIC);
          events.publish("refund.failed", failed.toJson(), previous, RequestOrigin.AUTOMATIC);
          return failed;
        });
  }

  /** {@code $5.00} for usd, as Stripe words amounts in this message; {@code 5.00 EUR} otherwise. */
  private static String money(long cents, String currency) {
    String value = String.format(Locale.ROOT, "%d.%02d", cents / 100, cents % 100);
    return "usd".equals(currency) ? "$" + value : value + " " + currency.toUpperCase(Locale.ROOT);
  }
}
