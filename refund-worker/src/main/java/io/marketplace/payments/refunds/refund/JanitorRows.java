package io.marketplace.payments.refunds.refund;

import io.marketplace.payments.common.worker.Failures;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Optional;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How a {@link RefundJanitor.Pass} handles its due rows: each on its own. A row whose handling
 * fails for a reason of its own (data the code cannot handle, a constraint it breaks, a bug only
 * that record meets) is logged with its id, counted in {@code
 * payments_refunds_janitor_failures_total{pass}} and left for the next round, and the rows after it
 * still get theirs: one bad row must not hold back every other one, round after round. Its own
 * transaction is rolled back, so it is tried again from where it was. A failure that is no row's
 * own ({@link Failures#isTransient}: PostgreSQL unreachable or refusing writes, a deadlock, a lock
 * or statement timeout, a table missing) ends the pass instead, as before: every row would meet it,
 * and the next round tries them all again.
 */
public final class JanitorRows {

  private static final Logger log = LoggerFactory.getLogger(JanitorRows.class);

  private final String pass;
  private final Counter failures;

  /** For the pass named {@code pass} ({@link RefundJanitor.Pass#name()}). */
  public JanitorRows(String pass, MeterRegistry registry) {
    this.pass = pass;
    this.failures = RefundJanitor.failures(registry, pass);
  }

  /**
   * What {@code work} gives for the row {@code id}; empty when it failed for a reason of its own
   * (logged and counted). A failure that is not the row's own is thrown.
   */
  public <T> Optional<T> handle(Object id, Supplier<T> work) {
    try {
      return Optional.ofNullable(work.get());
    } catch (RuntimeException e) {
      if (Failures.isTransient(e)) {
        throw e;
      }
      rowFailed(id, e);
      return Optional.empty();
    }
  }

  private void rowFailed(Object id, Exception e) {
    failures.increment();
    log.error(
        "janitor pass {} could not handle {}: tried again next round; the other rows go on",
        pass,
        id,
        e);
  }

  /**
   * Counts a row that failed for a reason of its own which the pass logged itself, with the row's
   * id (a Stripe refusal of one PaymentIntent): it is tried again next round.
   */
  public void countFailed() {
    failures.increment();
  }
}
