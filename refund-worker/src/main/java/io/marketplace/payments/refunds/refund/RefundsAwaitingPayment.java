package io.marketplace.payments.refunds.refund;

import io.micrometer.core.instrument.MeterRegistry;
import java.util.List;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A pass of the {@link RefundJanitor}: refunds made outside the system before their PaymentIntent
 * had a payments row ({@code refunds_awaiting_payment}) are recorded once the row exists (the
 * payment processor rebuilds a lost row from the PaymentIntent's metadata), rather than when Stripe
 * next tells of them, which it may never do. Each in its own transaction, by {@link
 * ExternalRefunds#recordAwaitingPayment}, under the payment's lock, and recorded once whatever runs
 * it concurrently (the refund's next event, another replica); a failure of the refund applied
 * meanwhile (under the same lock) either finds the record and ends it failed, or leaves nothing to
 * record. A refund that cannot be recorded is left for the next round, and the others are recorded
 * ({@link JanitorRows}); a round goes on after where the last one stopped ({@link JanitorCursor}).
 */
public final class RefundsAwaitingPayment implements RefundJanitor.Pass {

  private static final Logger log = LoggerFactory.getLogger(RefundsAwaitingPayment.class);
  private static final int BATCH = 100;

  private final Jdbi jdbi;
  private final ExternalRefunds externalRefunds;
  private final JanitorRows rows;
  private final JanitorCursor<RefundStore.AwaitingPayment> cursor = new JanitorCursor<>();

  public RefundsAwaitingPayment(
      Jdbi jdbi, ExternalRefunds externalRefunds, MeterRegistry registry) {
    this.jdbi = jdbi;
    this.externalRefunds = externalRefunds;
    this.rows = new JanitorRows(name(), registry);
  }

  /** Records the refunds whose payment's row has appeared; returns how many waited no more. */
  @Override
  public int run() {
    List<RefundStore.AwaitingPayment> due =
        cursor.due(
            (after, limit) ->
                jdbi.withHandle(
                    h ->
                        h.attach(RefundStore.class)
                            .awaitingPaymentWithPayment(
                                after == null ? null : after.parkedAt(),
                                after == null ? null : after.stripeRefundId(),
                                limit)),
            BATCH);
    int settled = 0;
    for (RefundStore.AwaitingPayment awaiting : due) {
      String stripeRefundId = awaiting.stripeRefundId();
      if (rows.handle(
              stripeRefundId,
              () ->
                  jdbi.inTransaction(
                      tx -> externalRefunds.recordAwaitingPayment(tx, stripeRefundId)))
          .orElse(false)) {
        settled++;
      }
    }
    cursor.reached(due.isEmpty() ? null : due.get(due.size() - 1));
    if (settled > 0) {
      log.info("settled {} refunds made before their payment's row existed", settled);
    }
    return settled;
  }
}
