package io.marketplace.payments.refunds.refund;

import java.util.List;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A pass of the {@link RefundJanitor}: offers room again ({@link AwaitingRoom#offer}) to every
 * payment that has something waiting for it. The events that give money back offer it as they are
 * applied; this pass settles what gave money back without one: a refund that Stripe refused
 * outright (no refund was made, so Stripe announces nothing), and a failure our executor noted
 * before Stripe's webhook about it, should that webhook never come. Each payment in its own
 * transaction, under the payment's lock, like the events' offers, so replicas and events running it
 * at once settle each waiting thing once.
 */
public final class RoomOffers implements RefundJanitor.Pass {

  private static final Logger log = LoggerFactory.getLogger(RoomOffers.class);
  private static final int PAGE = 100;

  private final Jdbi jdbi;
  private final AwaitingRoom awaitingRoom;

  public RoomOffers(Jdbi jdbi, AwaitingRoom awaitingRoom) {
    this.jdbi = jdbi;
    this.awaitingRoom = awaitingRoom;
  }

  /** Offers room to every payment with something waiting; returns how many waiting things left. */
  @Override
  public int run() {
    int settled = 0;
    String after = "";
    for (List<String> page = waitingAfter(after); !page.isEmpty(); page = waitingAfter(after)) {
      for (String paymentIntentId : page) {
        settled +=
            jdbi.inTransaction(
                tx -> {
                  long before = waiting(tx, paymentIntentId);
                  awaitingRoom.offer(tx, paymentIntentId);
                  return (int) (before - waiting(tx, paymentIntentId));
                });
      }
      after = page.get(page.size() - 1);
    }
    if (settled > 0) {
      log.info("settled {} refunds or refund decisions that waited for room", settled);
    }
    return settled;
  }

  /** The payments with something waiting for room, in order, after {@code after}. */
  private List<String> waitingAfter(String after) {
    return jdbi.withHandle(
        h ->
            h.createQuery(
                    """
                    SELECT stripe_payment_intent_id FROM refund_decisions_awaiting_room
                    WHERE stripe_payment_intent_id > :after
                    UNION
                    SELECT stripe_payment_intent_id FROM refunds_awaiting_room
                    WHERE stripe_payment_intent_id > :after
                    ORDER BY 1
                    LIMIT :limit
                    """)
                .bind("after", after)
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
