package io.marketplace.payments.refunds.refund;

import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A pass of the {@link RefundJanitor}: offers room again ({@link AwaitingRoom#offer}) to the
 * payments that have something waiting for it. The events that give money back offer it as they are
 * applied; this pass settles what gave money back without one: a refund that Stripe refused
 * outright (no refund was made, so Stripe announces nothing), and a failure our executor noted
 * before Stripe's webhook about it, should that webhook never come. Both leave a refund of the
 * payment {@code failed}, so a waiting decision is offered room while its payment has a refund that
 * failed within {@link #RECENT_FAILURES}; decisions that stay waiting for good (their money did go
 * back) are not visited on every pass for ever, nor read to find the others ({@link #WAITING}). So
 * is an automatic refund Stripe refused within that time for a chargeback: its dispute's win may
 * have been applied while the refusal was on its way, finding nothing to ask again, and no later
 * event will. So is an automatic refund that failed within that time for another reason: Stripe may
 * have refused it for asking more than was left, a refund made in its dashboard having been
 * recorded while it was on its way, and a later part then owes what is left ({@link
 * RefundDecisions#supersedeWhatNoLongerFits}). Refunds made outside the system that wait for room
 * are few and alerted on: each pass offers them room. Each payment in its own transaction, under
 * the payment's lock, like the events' offers, so replicas and events running it at once settle
 * each waiting thing once. A payment whose waiting things cannot be settled is left for the next
 * round, and the other payments are offered their room ({@link JanitorRows}).
 */
public final class RoomOffers implements RefundJanitor.Pass {

  private static final Logger log = LoggerFactory.getLogger(RoomOffers.class);
  private static final int PAGE = 100;

  /**
   * The payments with something waiting for room, in order, after {@code :after}: a decision of a
   * payment with a refund failed since {@code :since}, an automatic refund Stripe refused since
   * then for a chargeback (its dispute may have been won before the refusal was recorded, and no
   * later event would ask again), or a refund made outside the system; at most {@code :limit}. The
   * decisions are found from the recent failures ({@code refunds_failed_by_time}, V38), one probe
   * of a decision's key for each, and never by reading the decisions that wait for good, nor the
   * failures of long ago: both only grow. The {@code LIMIT 1} keeps the probe a probe: the planner
   * may not turn it into a join that reads every decision.
   */
  static final String WAITING =
      """
      SELECT f.stripe_payment_intent_id
      FROM (SELECT DISTINCT stripe_payment_intent_id FROM payment_refunds
            WHERE status = 'failed' AND failed_at > :since
              AND stripe_payment_intent_id > :after) f
      CROSS JOIN LATERAL (SELECT 1 FROM refund_decisions_awaiting_room d
                          WHERE d.stripe_payment_intent_id = f.stripe_payment_intent_id
                          LIMIT 1) waiting
      UNION
      SELECT stripe_payment_intent_id FROM payment_refunds
      WHERE status = 'failed' AND failed_at > :since AND closed_at IS NULL
        AND failure_reason = 'charge_disputed'
        AND reason IN ('technical_failure', 'moderation_rejection')
        AND stripe_payment_intent_id > :after
      UNION
      SELECT stripe_payment_intent_id FROM payment_refunds
      WHERE status = 'failed' AND failed_at > :since AND closed_at IS NULL
        AND failure_reason IS DISTINCT FROM 'charge_disputed'
        AND reason IN ('technical_failure', 'moderation_rejection')
        AND stripe_payment_intent_id > :after
      UNION
      SELECT stripe_payment_intent_id FROM refunds_awaiting_room
      WHERE stripe_payment_intent_id > :after
      ORDER BY 1
      LIMIT :limit
      """;

  /** How long after a refund of its payment failed a waiting decision is offered room. */
  static final Duration RECENT_FAILURES = Duration.ofDays(7);

  private final Jdbi jdbi;
  private final AwaitingRoom awaitingRoom;
  private final Clock clock;
  private final JanitorRows rows;

  public RoomOffers(Jdbi jdbi, AwaitingRoom awaitingRoom, Clock clock, MeterRegistry registry) {
    this.jdbi = jdbi;
    this.awaitingRoom = awaitingRoom;
    this.clock = clock;
    this.rows = new JanitorRows(name(), registry);
  }

  /** Offers room to every payment with something waiting; returns how many waiting things left. */
  @Override
  public int run() {
    int settled = 0;
    String after = "";
    Instant since = clock.instant().minus(RECENT_FAILURES);
    for (List<String> page = waitingAfter(after, since);
        !page.isEmpty();
        page = waitingAfter(after, since)) {
      for (String paymentIntentId : page) {
        settled +=
            rows.handle(
                    paymentIntentId,
                    () ->
                        jdbi.inTransaction(
                            tx -> {
                              long before = waiting(tx, paymentIntentId);
                              awaitingRoom.offer(tx, paymentIntentId);
                              return (int) (before - waiting(tx, paymentIntentId));
                            }))
                .orElse(0);
      }
      after = page.get(page.size() - 1);
    }
    if (settled > 0) {
      log.info("settled {} refunds or refund decisions that waited for room", settled);
    }
    return settled;
  }

  /**
   * The payments with something waiting for room, in order, after {@code after}: a decision of a
   * payment with a refund failed since {@code since}, an automatic refund Stripe refused since then
   * for a chargeback, or a refund made outside the system.
   */
  private List<String> waitingAfter(String after, Instant since) {
    return jdbi.withHandle(
        h ->
            h.createQuery(WAITING)
                .bind("after", after)
                .bind("since", since)
                .bind("limit", PAGE)
                .mapTo(String.class)
                .list());
  }

  private static long waiting(Handle tx, String paymentIntentId) {
    return tx.createQuery(
            """
            SELECT (SELECT count(*) FROM refund_decisions_awaiting_room
                    WHERE stripe_payment_intent_id = :pi)
                 + (SELECT count(*) FROM refunds_awaiting_room WHERE stripe_payment_intent_id = :pi)
            """)
        .bind("pi", paymentIntentId)
        .mapTo(Long.class)
        .one();
  }
}
