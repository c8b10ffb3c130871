package io.marketplace.payments.processor.payment;

import io.marketplace.payments.common.stripe.StripeEvent;
import io.marketplace.payments.processor.audit.Outcome;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Function;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.mapper.RowMapper;

/**
 * The {@code payments} table as the processor moves it. Each transition is one conditional {@code
 * UPDATE ... RETURNING}: it locks the row, checks the state it moves from and reads the purchase in
 * a single round trip, so two events of one PaymentIntent (on any replica) can never both apply it.
 * A payment that succeeded never goes back: Stripe took the money.
 */
public final class Payments {

  private static final String RETURNING =
      " RETURNING stripe_payment_intent_id, listing_id, user_id, payment_type, amount_cents,"
          + " currency";

  private static final RowMapper<Payment> MAPPER =
      (rs, ctx) ->
          new Payment(
              rs.getString("stripe_payment_intent_id"),
              rs.getObject("listing_id", UUID.class),
              rs.getObject("user_id", UUID.class),
              PaymentType.fromWire(rs.getString("payment_type")),
              rs.getLong("amount_cents"),
              rs.getString("currency"));

  /**
   * Moves the payment to {@code succeeded}; empty when there is no such payment or it already
   * succeeded (the same success announced by another event).
   */
  public Optional<Payment> markSucceeded(Handle tx, String paymentIntentId, Instant succeededAt) {
    return tx.createQuery(
            """
            UPDATE payments SET status = 'succeeded', succeeded_at = :at, updated_at = now()
            WHERE stripe_payment_intent_id = :pi AND status <> 'succeeded'
            """
                + RETURNING)
        .bind("pi", paymentIntentId)
        .bind("at", succeededAt)
        .map(MAPPER)
        .findOne();
  }

  /**
   * Records a failed attempt; empty when there is no such payment or it already succeeded or was
   * canceled. A PaymentIntent may fail several times before it succeeds.
   */
  public Optional<Payment> markFailed(Handle tx, String paymentIntentId, String message) {
    return tx.createQuery(
            """
            UPDATE payments SET status = 'failed', failure_message = :message, updated_at = now()
            WHERE stripe_payment_intent_id = :pi AND status NOT IN ('succeeded', 'canceled')
            """
                + RETURNING)
        .bind("pi", paymentIntentId)
        .bind("message", message)
        .map(MAPPER)
        .findOne();
  }

  /** Marks the payment canceled; empty when there is no such payment or it succeeded. */
  public Optional<Payment> markCanceled(Handle tx, String paymentIntentId) {
    return tx.createQuery(
            """
            UPDATE payments SET status = 'canceled', updated_at = now()
            WHERE stripe_payment_intent_id = :pi AND status NOT IN ('succeeded', 'canceled')
            """
                + RETURNING)
        .bind("pi", paymentIntentId)
        .map(MAPPER)
        .findOne();
  }

  /** The payment's status, if we have the payment. */
  public Optional<String> status(Handle tx, String paymentIntentId) {
    return tx.createQuery("SELECT status FROM payments WHERE stripe_payment_intent_id = :pi")
        .bind("pi", paymentIntentId)
        .mapTo(String.class)
        .findOne();
  }

  /**
   * Writes the record of a payment we created but whose row is missing (the API's insert not yet
   * visible, or lost), rebuilt from the PaymentIntent; a row that appeared meanwhile wins.
   */
  public void insertIfAbsent(Handle tx, Payment payment, Instant createdAt) {
    tx.createUpdate(
            """
            INSERT INTO payments (stripe_payment_intent_id, listing_id, user_id, payment_type,
                                  amount_cents, currency, status, created_at)
            VALUES (:pi, :listing, :user, :type, :amount, :currency, 'requires_payment', :created)
            ON CONFLICT (stripe_payment_intent_id) DO NOTHING
            """)
        .bind("pi", payment.paymentIntentId())
        .bind("listing", payment.listingId())
        .bind("user", payment.userId())
        .bind("type", payment.type().wire())
        .bind("amount", payment.amountCents())
        .bind("currency", payment.currency())
        .bind("created", createdAt)
        .execute();
  }

  /** The payment a transition moved, or why the event was ignored. */
  public record Moved(Payment payment, Outcome ignored) {
    public boolean isMoved() {
      return payment != null;
    }
  }

  /**
   * Applies {@code transition} to the payment of {@code event}'s PaymentIntent. When we have no row
   * for it but the PaymentIntent carries our metadata (we created it; the API's insert is not
   * visible yet, or was lost), the row is rebuilt from the PaymentIntent first. A PaymentIntent
   * without our metadata is someone else's: ignored, not an error.
   */
  public Moved transition(
      Handle tx, StripeEvent event, Function<String, Optional<Payment>> transition) {
    String pi =
        event
            .paymentIntentId()
            .orElseThrow(() -> new IllegalArgumentException("event names no PaymentIntent"));
    Optional<Payment> moved = transition.apply(pi);
    if (moved.isPresent()) {
      return new Moved(moved.get(), null);
    }
    Optional<String> status = status(tx, pi);
    if (status.isPresent()) {
      return new Moved(null, Outcome.ignored("payment is already " + status.get()));
    }
    Optional<Payment> ours = OurPaymentIntent.from(event);
    if (ours.isEmpty()) {
      return new Moved(null, Outcome.ignored("not a PaymentIntent of ours"));
    }
    insertIfAbsent(tx, ours.get(), OurPaymentIntent.createdAt(event));
    return transition
        .apply(pi)
        .map(payment -> new Moved(payment, null))
        .orElseGet(
            () ->
                new Moved(
                    null, Outcome.ignored("payment is already " + status(tx, pi).orElse("gone"))));
  }
}
