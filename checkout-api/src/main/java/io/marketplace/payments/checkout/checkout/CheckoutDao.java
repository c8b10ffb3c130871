package io.marketplace.payments.checkout.checkout;

import java.time.Instant;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

/** {@code checkout_attempts} and the {@code payments} rows they lead to. */
@RegisterConstructorMapper(CheckoutAttempt.class)
public interface CheckoutDao {

  String COLUMNS =
      "id, listing_id, user_id, payment_type, amount_cents, stripe_payment_intent_id, status,"
          + " created_at, stripe_key_fingerprint";

  @SqlQuery(
      "SELECT "
          + COLUMNS
          + " FROM checkout_attempts"
          + " WHERE listing_id = :listingId AND payment_type = :type AND status = 'open'")
  Optional<CheckoutAttempt> findOpen(
      @Bind("listingId") UUID listingId, @Bind("type") String paymentType);

  @SqlUpdate(
      """
      INSERT INTO checkout_attempts
          (id, listing_id, user_id, payment_type, amount_cents, status, created_at, updated_at)
      VALUES (:id, :listingId, :userId, :type, :amountCents, 'open', :now, :now)
      """)
  void insert(
      @Bind("id") UUID id,
      @Bind("listingId") UUID listingId,
      @Bind("userId") UUID userId,
      @Bind("type") String paymentType,
      @Bind("amountCents") int amountCents,
      @Bind("now") Instant now);

  /** Ends a purchase whose PaymentIntent is paid or canceled; the next one starts afresh. */
  @SqlUpdate(
      "UPDATE checkout_attempts SET status = 'closed', updated_at = :now"
          + " WHERE id = :id AND status = 'open'")
  int close(@Bind("id") UUID id, @Bind("now") Instant now);

  /**
   * Ends a purchase whose PaymentIntent Stripe has paid, or is paying, before our records say so:
   * {@code paid_at} keeps when, so that the payment counts until the processor records it ({@link
   * #featuredWeeksPaidNotRecorded}).
   */
  @SqlUpdate(
      "UPDATE checkout_attempts SET status = 'closed', paid_at = coalesce(paid_at, :now),"
          + " updated_at = :now WHERE id = :id")
  int closePaid(@Bind("id") UUID id, @Bind("now") Instant now);

  /**
   * How many featured weeks of the listing Stripe has taken the money for, as a checkout found
   * ({@link #closePaid}), that the payment processor has not recorded yet: each becomes a week once
   * it does, after the weeks recorded. Recorded, the payment is {@code succeeded} (its week added,
   * or the payment refunded as undeliverable). A payment whose recorded failure came after the
   * checkout found it paid did not go through in the end (a bank debit that failed); one that
   * failed before and was paid on a later try still counts.
   */
  @SqlQuery(
      """
      SELECT count(*) FROM checkout_attempts a
          JOIN payments p ON p.stripe_payment_intent_id = a.stripe_payment_intent_id
      WHERE a.listing_id = :listingId AND a.payment_type = 'promotion_featured'
        AND a.paid_at IS NOT NULL
        AND (p.status = 'requires_payment' OR (p.status = 'failed' AND p.failed_at < a.paid_at))
      """)
  int featuredWeeksPaidNotRecorded(@Bind("listingId") UUID listingId);

  /**
   * Gives up a purchase whose PaymentIntent Stripe would not make (its key is spent): the next
   * checkout starts a new attempt with a new key. Only while no PaymentIntent is recorded.
   */
  @SqlUpdate(
      "UPDATE checkout_attempts SET status = 'closed', updated_at = :now"
          + " WHERE id = :id AND status = 'open' AND stripe_payment_intent_id IS NULL")
  int giveUp(@Bind("id") UUID id, @Bind("now") Instant now);

  /**
   * Puts the PaymentIntent on the attempt, with the fingerprint of the Stripe key that got it; 0
   * when one is there already or it was given up.
   */
  @SqlUpdate(
      """
      UPDATE checkout_attempts SET stripe_payment_intent_id = :paymentIntentId,
          stripe_key_fingerprint = :keyFingerprint, updated_at = :now
      WHERE id = :id AND status = 'open' AND stripe_payment_intent_id IS NULL
      """)
  int recordPaymentIntent(
      @Bind("id") UUID id,
      @Bind("paymentIntentId") String paymentIntentId,
      @Bind("keyFingerprint") String keyFingerprint,
      @Bind("now") Instant now);

  /**
   * Gives up a purchase whose PaymentIntent nobody can pay as it should: Stripe no longer has it
   * for the very key it was recorded with (see {@link PaymentIntents.Gone}), or it was changed at
   * Stripe to another price and canceled there. The next checkout starts a new attempt. Only while
   * the attempt is open and still holds that PaymentIntent.
   */
  @SqlUpdate(
      """
      UPDATE checkout_attempts SET status = 'closed', updated_at = :now
      WHERE id = :id AND status = 'open' AND stripe_payment_intent_id = :paymentIntentId
      """)
  int giveUpHolding(
      @Bind("id") UUID id,
      @Bind("paymentIntentId") String paymentIntentId,
      @Bind("now") Instant now);

  @SqlQuery(
      "SELECT EXISTS (SELECT 1 FROM checkout_attempts"
          + " WHERE id = :id AND stripe_payment_intent_id = :paymentIntentId)")
  boolean holds(@Bind("id") UUID id, @Bind("paymentIntentId") String paymentIntentId);

  /**
   * The record of what a PaymentIntent buys, which the workers trust over its metadata. Written
   * once; the payment processor moves its status on.
   */
  @SqlUpdate(
      """
      INSERT INTO payments (stripe_payment_intent_id, listing_id, user_id, payment_type,
                            amount_cents, currency, status, created_at, updated_at)
      VALUES (:paymentIntentId, :listingId, :userId, :type, :amountCents, :currency,
              'requires_payment', :now, :now)
      ON CONFLICT (stripe_payment_intent_id) DO NOTHING
      """)
  int insertPayment(
      @Bind("paymentIntentId") String paymentIntentId,
      @Bind("listingId") UUID listingId,
      @Bind("userId") UUID userId,
      @Bind("type") String paymentType,
      @Bind("amountCents") int amountCents,
      @Bind("currency") String currency,
      @Bind("now") Instant now);

  @SqlQuery("SELECT status FROM payments WHERE stripe_payment_intent_id = :paymentIntentId")
  Optional<String> paymentStatus(@Bind("paymentIntentId") String paymentIntentId);
}
