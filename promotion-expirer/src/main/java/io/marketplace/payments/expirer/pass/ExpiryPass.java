package io.marketplace.payments.expirer.pass;

import io.marketplace.payments.expirer.pass.ExpirerRuns.LastSuccess;
import io.marketplace.payments.expirer.pass.PassResult.Outcome;
import io.marketplace.payments.expirer.schedule.Schedule;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One pass: under the fleet-wide {@link PassLock}, ends every row due at the pass's start, kind by
 * kind, in batches of at most {@code batchSize} rows, each batch its own transaction with its
 * outbox events. A pass that dies (crash, lost database, a failing batch) leaves whole batches
 * behind and nothing half-done; the next pass picks up the rows still running. Rows that fall due
 * while a pass runs wait for the next pass, so a pass always ends.
 *
 * <p>A row another transaction holds (a payment worker or a moderator changing it) is skipped, not
 * waited for, so a pass never stalls behind a payment. Such a row is still due when the pass ends,
 * so a pass that leaves one is {@link Outcome#INCOMPLETE}: recorded as not succeeded, so the
 * schedule still calls for a pass, which the scheduler runs after a short retry delay rather than
 * at the next scheduled time.
 */
public final class ExpiryPass {

  private static final Logger log = LoggerFactory.getLogger(ExpiryPass.class);

  /** How far ahead of the database's clock this replica's may be before a warning is logged. */
  static final Duration CLOCK_AHEAD_WARNING = Duration.ofSeconds(1);

  private final Jdbi jdbi;
  private final PassLock lock;
  private final ExpirerRuns runs;
  private final List<Expiry> expiries;
  private final int batchSize;
  private final Clock clock;
  private final ExpirerMetrics metrics;
  private final BatchHook hook;
  private volatile boolean stopRequested;

  public ExpiryPass(
      Jdbi jdbi,
      PassLock lock,
      List<Expiry> expiries,
      int batchSize,
      Clock clock,
      ExpirerMetrics metrics,
      BatchHook hook) {
    if (batchSize < 1) {
      throw new IllegalArgumentException("batch size must be at least 1");
    }
    this.jdbi = jdbi;
    this.lock = lock;
    this.runs = new ExpirerRuns(jdbi);
    this.expiries = List.copyOf(expiries);
    this.batchSize = batchSize;
    this.clock = clock;
    this.metrics = metrics;
    this.hook = hook;
  }

  /** Runs a pass now, whatever the schedule says ({@code --once}, operators, tests). */
  public PassResult run() {
    return run(null);
  }

  /**
   * Runs a pass if {@code schedule} calls for one. Checked again under the lock: a replica that
   * waited for the lock while another ran the pass finds it done and does not repeat it.
   */
  public PassResult runIfDue(Schedule schedule) {
    return run(schedule);
  }

  /** Asks a running pass to stop after its current batch (service shutdown). */
  public void requestStop() {
    stopRequested = true;
  }

  public ExpirerRuns runs() {
    return runs;
  }

  private PassResult run(Schedule schedule) {
    Optional<PassLock.Held> acquired = lock.tryAcquire();
    if (acquired.isEmpty()) {
      log.info("another replica is running an expiry pass; this one skips");
      metrics.pass(Outcome.BUSY, null);
      return new PassResult(
          Outcome.BUSY,
          Times.stored(clock.instant()),
          Map.of(),
          0,
          List.of(),
          null,
          Optional.empty());
    }
    try (PassLock.Held held = acquired.get()) {
      Instant now = passTime();
      Instant lastSuccessStart = runs.lastSuccess().map(LastSuccess::startedAt).orElse(null);
      if (schedule != null && !schedule.isDue(lastSuccessStart, now)) {
        metrics.pass(Outcome.NOT_DUE, null);
        return new PassResult(
            Outcome.NOT_DUE, now, Map.of(), 0, List.of(), lastSuccessStart, Optional.empty());
      }
      return expireAll(held, now, lastSuccessStart);
    }
  }

  /**
   * The time the pass goes by: this replica's clock, but never ahead of the database's. A pod whose
   * clock runs ahead would otherwise end promotions and listings before their end (by the time of
   * the database and of the services that wrote those ends), date their end in the future, and
   * record a pass start that makes the fleet's schedule skip rows due meanwhile. The database's
   * clock is the one every replica shares; the replica's own is kept when it is behind (a pass a
   * little late ends nothing early), and is what tests move. How far ahead it was is reported
   * ({@code payments_expirer_clock_ahead_seconds}).
   */
  private Instant passTime() {
    Instant own = Times.stored(clock.instant());
    Instant database = Times.stored(runs.databaseNow());
    Duration ahead = Duration.between(database, own);
    metrics.clockAhead(ahead);
    if (ahead.compareTo(CLOCK_AHEAD_WARNING) > 0) {
      log.warn(
          "this replica's clock is {} ms ahead of the database's; the pass goes by the database's",
          ahead.toMillis());
    }
    return own.isAfter(database) ? database : own;
  }

  private PassResult expireAll(PassLock.Held held, Instant now, Instant lastSuccessStart) {
    long started = System.nanoTime();
    long runId = runs.begin(now);
    Map<String, Integer> expired = new LinkedHashMap<>();
    Map<String, Long> skipped = new LinkedHashMap<>();
    int batches = 0;
    List<Long> outboxSeqs = new ArrayList<>();
    Outcome outcome = Outcome.COMPLETED;
    String error = null;
    try {
      kinds:
      for (Expiry expiry : expiries) {
        expired.put(expiry.name(), 0);
        while (true) {
          if (stopRequested) {
            outcome = Outcome.STOPPED;
            error = "stopped before the end; the next pass finishes it";
            break kinds;
          }
          if (!held.isHeld()) {
            outcome = Outcome.FAILED;
            error = "lost the pass lock's database session";
            break kinds;
          }
          int batchNumber = batches + 1;
          Expiry.Batch batch =
              jdbi.inTransaction(
                  tx -> {
                    Expiry.Batch done = expiry.expireBatch(tx, now, batchSize);
                    hook.beforeCommit(expiry.name(), batchNumber, done.expired());
                    return done;
                  });
          batches++;
          expired.merge(expiry.name(), batch.expired(), Integer::sum);
          outboxSeqs.addAll(batch.outboxSeqs());
          metrics.expired(expiry.name(), batch.expired());
          log.debug("batch {} ended {} {}", batchNumber, batch.expired(), expiry.name());
          // fewer than asked: nothing more is due but what other transactions hold
          if (batch.expired() < batchSize) {
            long left = jdbi.withHandle(h -> expiry.stillDue(h, now));
            if (left > 0) {
              skipped.put(expiry.name(), left);
            }
            break;
          }
        }
      }
      // a stopped or failed pass says so; one that went through is complete only if it left nothing
      if (outcome == Outcome.COMPLETED && !skipped.isEmpty()) {
        outcome = Outcome.INCOMPLETE;
        error = "skipped due rows other transactions held " + skipped + "; the next pass ends them";
        log.info("expiry pass left due rows other transactions held: {}", skipped);
      }
    } catch (RuntimeException e) {
      outcome = Outcome.FAILED;
      error = e.getClass().getSimpleName() + ": " + e.getMessage();
      log.warn("expiry pass failed after {} committed batches; the next pass goes on", batches, e);
    }
    Duration took = Duration.ofNanos(System.nanoTime() - started);
    // on the pass's own time: never after the database's, as its start
    Instant own = clock.instant();
    Instant finishedAt = own.isAfter(now.plus(took)) ? now.plus(took) : own;
    recordEnd(runId, finishedAt, expired, batches, error);
    metrics.pass(outcome, took);
    if (outcome == Outcome.COMPLETED) {
      metrics.lastSuccess(finishedAt);
      lastSuccessStart = now;
    }
    log.info(
        "expiry pass {} in {} ms: ended {} in {} batches (due at or before {})",
        outcome.name().toLowerCase(),
        took.toMillis(),
        expired,
        batches,
        now);
    return new PassResult(
        outcome, now, expired, batches, outboxSeqs, lastSuccessStart, Optional.ofNullable(error));
  }

  private void recordEnd(
      long runId, Instant finishedAt, Map<String, Integer> expired, int batches, String error) {
    try {
      runs.finish(
          runId,
          finishedAt,
          expired.getOrDefault(Expiry.PROMOTIONS, 0),
          expired.getOrDefault(Expiry.LISTINGS, 0),
          batches,
          error);
    } catch (RuntimeException e) {
      // the batches are committed either way; the row stays 'running' and the next pass closes it
      log.warn("could not record the end of expiry pass {}", runId, e);
    }
  }
}
