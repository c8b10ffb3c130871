package io.marketplace.payments.refunds.chargeback;

import io.marketplace.payments.refunds.refund.JanitorCursor;
import io.marketplace.payments.refunds.refund.JanitorRows;
import io.marketplace.payments.refunds.refund.RefundJanitor;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.List;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A pass of the {@link RefundJanitor}: disputes recorded without a user, all their events having
 * come before their payment's row, are counted once the row exists, rather than when Stripe next
 * tells of them (weeks later, when the dispute closes; meanwhile a user with two chargebacks could
 * keep paying). Each in its own transaction, by {@link DisputeHandler#countOnceItsPaymentIsKnown},
 * which counts a dispute once whatever runs it concurrently (an event about it, another replica). A
 * dispute that cannot be counted is left for the next round, and the others are counted ({@link
 * JanitorRows}).
 */
public final class DisputesAwaitingPayment implements RefundJanitor.Pass {

  private static final Logger log = LoggerFactory.getLogger(DisputesAwaitingPayment.class);
  private static final int BATCH = 100;

  private final Jdbi jdbi;
  private final DisputeHandler disputes;
  private final JanitorRows rows;
  private final JanitorCursor<DisputeStore.WithoutUser> cursor = new JanitorCursor<>();

  public DisputesAwaitingPayment(Jdbi jdbi, DisputeHandler disputes, MeterRegistry registry) {
    this.jdbi = jdbi;
    this.disputes = disputes;
    this.rows = new JanitorRows(name(), registry);
  }

  /** Counts the disputes whose payment's row has appeared; returns how many it counted. */
  @Override
  public int run() {
    List<DisputeStore.WithoutUser> due =
        cursor.due(
            (after, limit) ->
                jdbi.withHandle(
                    h ->
                        h.attach(DisputeStore.class)
                            .withoutUserButWithPayment(
                                after == null ? null : after.createdAt(),
                                after == null ? null : after.stripeDisputeId(),
                                limit)),
            BATCH);
    int counted = 0;
    for (DisputeStore.WithoutUser dispute : due) {
      String disputeId = dispute.stripeDisputeId();
      if (rows.handle(
              disputeId,
              () -> jdbi.inTransaction(tx -> disputes.countOnceItsPaymentIsKnown(tx, disputeId)))
          .orElse(false)) {
        counted++;
      }
    }
    cursor.reached(due.isEmpty() ? null : due.get(due.size() - 1));
    if (counted > 0) {
      log.info("counted {} disputes whose payment's row came after their events", counted);
    }
    return counted;
  }
}
