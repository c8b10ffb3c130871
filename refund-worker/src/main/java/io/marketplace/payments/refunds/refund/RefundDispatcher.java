package io.marketplace.payments.refunds.refund;

import io.marketplace.payments.common.refund.RefundExecutor;
import io.marketplace.payments.common.refund.RefundOutcome;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs approved refunds through Stripe off the consumer threads, right after the decision
 * committed, so a slow Stripe never holds a partition. Losing a submission (a crash, a shutdown) is
 * harmless: the record stays {@code approved} and the {@link RefundJanitor} finds it.
 */
public final class RefundDispatcher implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(RefundDispatcher.class);
  private static final Duration SHUTDOWN_GRACE = Duration.ofSeconds(25);

  private final RefundExecutor executor;
  private final ExecutorService threads;

  public RefundDispatcher(RefundExecutor executor, int threads) {
    this.executor = executor;
    this.threads =
        Executors.newFixedThreadPool(
            threads, Thread.ofPlatform().name("refund-executor-", 1).daemon().factory());
  }

  public void submit(UUID refundId) {
    try {
      threads.execute(() -> run(refundId));
    } catch (RejectedExecutionException e) {
      log.info("refund {} left for the janitor: shutting down", refundId);
    }
  }

  private void run(UUID refundId) {
    try {
      RefundOutcome outcome = executor.execute(refundId);
      if (outcome.result() == RefundOutcome.Result.FAILED) {
        log.warn("refund {} will be retried: {}", refundId, outcome.error());
      }
    } catch (RuntimeException e) {
      log.warn("refund {} could not be executed now; the janitor retries it", refundId, e);
    }
  }

  @Override
  public void close() {
    threads.shutdown();
    try {
      if (!threads.awaitTermination(SHUTDOWN_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
        threads.shutdownNow();
      }
    } catch (InterruptedException e) {
      threads.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }
}
