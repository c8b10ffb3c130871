package io.marketplace.payments.refunds.blocked;

import com.stripe.StripeClient;
import com.stripe.exception.StripeException;
import io.marketplace.payments.common.stripe.PaymentIntentCancellation;
import io.marketplace.payments.common.stripe.StripeKeys;
import io.marketplace.payments.common.worker.Failures;
import io.marketplace.payments.refunds.refund.JanitorRows;
import io.marketplace.payments.refunds.refund.RefundJanitor;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A pass of the {@link RefundJanitor}: cancels at Stripe the PaymentIntents still open (never paid,
 * or declined and so confirmable again with another card) of users who are banned or under a risk
 * flag that no admin cleared and whose cool-down runs. checkout-api refuses such users a new
 * checkout (403), but a PaymentIntent handed out before keeps its client secret, and with it a card
 * tester could go on trying cards at Stripe. A PaymentIntent Stripe is processing or has paid is
 * not cancelable and is left as it is (a payment that succeeds is kept: the user paid for what they
 * had been allowed to buy).
 *
 * <p>The cancellation reaches our records as Stripe's {@code payment_intent.canceled}, which the
 * payment processor applies, and checkout-api starts a new purchase once the user may pay again.
 * Until it is applied, a pass may ask again: under the one key of every cancellation ({@link
 * PaymentIntentCancellation}), Stripe answers as before. Replicas running the pass at once do the
 * same. One Stripe refused while its payment was processing is asked again while our records hold
 * it unpaid; should that payment fail, the next ask cancels it (the refusal Stripe keeps for the
 * key is not taken as its answer).
 *
 * <p>A pass takes at most {@value #BATCH} PaymentIntents, by id, after where the last one stopped,
 * and starts again from the lowest id once it has been through them all: PaymentIntents that stay
 * open (Stripe refuses to cancel them, or has not told us yet that they were paid) do not keep the
 * ones after them waiting for good. One Stripe refuses ({@code resource_missing}, ...) is counted
 * in {@code payments_refunds_janitor_failures_total{pass="BlockedUsersPaymentIntents"}} and asked
 * again the next time round; a Stripe that cannot be reached or answers 5xx or 429 ends the pass,
 * which the next round resumes at that PaymentIntent, rather than being asked for every other.
 */
public final class BlockedUsersPaymentIntents implements RefundJanitor.Pass {

  private static final Logger log = LoggerFactory.getLogger(BlockedUsersPaymentIntents.class);
  private static final int BATCH = 100;

  private record Open(String paymentIntentId, String userId, String reason) {}

  private final Jdbi jdbi;
  private final StripeClient stripe;
  private final Clock clock;
  private final Duration budget;
  private final Counter flagged;
  private final Counter banned;
  private final JanitorRows rows;

  /** The id the next pass starts after; empty: from the lowest. */
  private final AtomicReference<String> after = new AtomicReference<>("");

  /**
   * A pass that starts no new cancellation once it has spent {@code budget} on them: a Stripe that
   * holds every call until the read timeout must not hold the janitor's other work for a batch of
   * them; what is left waits for the next pass.
   */
  public BlockedUsersPaymentIntents(
      Jdbi jdbi, StripeClient stripe, Clock clock, Duration budget, MeterRegistry registry) {
    this.jdbi = jdbi;
    this.stripe = stripe;
    this.clock = clock;
    this.budget = budget;
    this.flagged = counter(registry, "flagged");
    this.banned = counter(registry, "banned");
    this.rows = new JanitorRows(name(), registry);
  }

  private static Counter counter(MeterRegistry registry, String reason) {
    return Counter.builder("payments.payment_intents.canceled_for_risk")
        .description("open PaymentIntents of banned or flagged users canceled at Stripe, by why")
        .tag("reason", reason)
        .register(registry);
  }

  /** Cancels what is due; returns how many PaymentIntents Stripe canceled. */
  @Override
  public int run() {
    String start = after.get();
    List<Open> due = new ArrayList<>(openAfter(start, BATCH));
    if (due.size() < BATCH && !start.isEmpty()) {
      // through to the highest id: on from the lowest, up to those already taken
      Set<String> taken = new HashSet<>();
      due.forEach(open -> taken.add(open.paymentIntentId()));
      openAfter("", BATCH - due.size()).stream()
          .filter(open -> !taken.contains(open.paymentIntentId()))
          .forEach(due::add);
    }
    long deadline = System.nanoTime() + budget.toNanos();
    int canceled = 0;
    int tried = 0;
    try {
      for (Open open : due) {
        if (tried > 0 && System.nanoTime() - deadline >= 0) {
          log.info(
              "{} open PaymentIntents of blocked users left for the next pass: Stripe is slow",
              due.size() - tried);
          break;
        }
        if (cancel(open)) {
          canceled++;
          ("banned".equals(open.reason()) ? banned : flagged).increment();
        }
        tried++;
      }
    } finally {
      // the next pass goes on after the last one asked (or from the one Stripe could not take)
      if (tried > 0) {
        after.set(due.get(tried - 1).paymentIntentId());
      } else if (due.isEmpty()) {
        after.set("");
      }
    }
    return canceled;
  }

  /** The open PaymentIntents of blocked users with an id above {@code after}, by id. */
  private List<Open> openAfter(String after, int limit) {
    return jdbi.withHandle(
        h ->
            h.createQuery(
                    """
                    WITH blocked AS (
                        SELECT id AS user_id, 'banned' AS reason
                        FROM users WHERE banned_at IS NOT NULL
                        UNION ALL
                        SELECT DISTINCT user_id, 'flagged'
                        FROM user_risk_flags
                        WHERE cleared_at IS NULL AND flagged_until > :now)
                    SELECT DISTINCT ON (p.stripe_payment_intent_id)
                           p.stripe_payment_intent_id, p.user_id, b.reason, p.created_at
                    FROM blocked b
                    JOIN payments p ON p.user_id = b.user_id
                    WHERE p.status IN ('requires_payment', 'failed')
                      AND p.stripe_payment_intent_id > :after
                    ORDER BY p.stripe_payment_intent_id, b.reason
                    LIMIT :limit
                    """)
                .bind("now", clock.instant())
                .bind("after", after)
                .bind("limit", limit)
                .map(
                    (rs, ctx) ->
                        new Open(
                            rs.getString("stripe_payment_intent_id"),
                            rs.getString("user_id"),
                            rs.getString("reason")))
                .list());
  }

  /**
   * Cancels one; false when Stripe would not (not cancelable, or refused: counted) or when it
   * answered from an earlier call under the cancellation's key (canceled already: a pass asks again
   * until {@code payment_intent.canceled} is applied, and replicas ask at once; counting each ask
   * would count one PaymentIntent many times). Throws when Stripe cannot be reached or fails in
   * itself: the pass ends there.
   */
  private boolean cancel(Open open) {
    try {
      if (PaymentIntentCancellation.answeredBefore(
          PaymentIntentCancellation.cancel(stripe, open.paymentIntentId()))) {
        // canceled by an earlier ask under the same key (an earlier pass, another replica,
        // checkout-api), not yet in our records: counted then, not again
        log.info(
            "PaymentIntent {} of {} user {} was canceled already; its cancellation is on its way"
                + " to our records",
            open.paymentIntentId(),
            open.reason(),
            open.userId());
        return false;
      }
      log.warn(
          "PaymentIntent {} of {} user {} canceled at Stripe: it must not take a payment now",
          open.paymentIntentId(),
          open.reason(),
          open.userId());
      return true;
    } catch (StripeException e) {
      if (PaymentIntentCancellation.NOT_CANCELABLE.equals(e.getCode())) {
        // paid, processing or canceled already: its event is on its way to our records
        log.info(
            "PaymentIntent {} of {} user {} is not cancelable: {}",
            open.paymentIntentId(),
            open.reason(),
            open.userId(),
            StripeKeys.redact(e.getMessage()));
        return false;
      }
      if (PaymentIntentCancellation.isStripeUnavailable(e)) {
        throw new Failures.TransientFailure(
            "Stripe could not cancel PaymentIntent "
                + open.paymentIntentId()
                + " (status "
                + e.getStatusCode()
                + "): "
                + StripeKeys.redact(e.getMessage())
                + "; the next pass resumes there",
            null);
      }
      rows.countFailed();
      log.warn(
          "could not cancel PaymentIntent {} of {} user {} (status {}, code {}): {}; the next"
              + " pass tries again",
          open.paymentIntentId(),
          open.reason(),
          open.userId(),
          e.getStatusCode(),
          e.getCode(),
          StripeKeys.redact(e.getMessage()));
      return false;
    } catch (RuntimeException e) {
      // an answer we could not read: this PaymentIntent's, as far as we can tell
      rows.countFailed();
      log.warn(
          "could not cancel PaymentIntent {} at Stripe; the next pass tries again",
          open.paymentIntentId(),
          e);
      return false;
    }
  }
}
