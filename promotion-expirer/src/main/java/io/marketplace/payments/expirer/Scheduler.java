package io.marketplace.payments.expirer;

import io.marketplace.payments.expirer.pass.ExpirerMetrics;
import io.marketplace.payments.expirer.pass.ExpirerRuns;
import io.marketplace.payments.expirer.pass.ExpiryPass;
import io.marketplace.payments.expirer.pass.PassResult;
import io.marketplace.payments.expirer.schedule.Schedule;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs passes when the schedule calls for them. Time is the injected clock's: the thread only looks
 * at it every {@code checkInterval}, so tests move the clock instead of waiting, and a pass is at
 * most one check late. Whether a pass is due is decided from the latest successful pass recorded in
 * the database, so restarts and replicas follow one schedule. A failed pass, or one that left due
 * rows other transactions held, is retried after a backoff (30 s at first): it is not recorded as a
 * success, so the retry finds the pass still due. A pass another replica is running is looked at
 * again a minute later.
 */
final class Scheduler implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(Scheduler.class);
  static final Duration BUSY_RETRY = Duration.ofMinutes(1);
  static final Duration FIRST_FAILURE_RETRY = Duration.ofSeconds(30);
  static final Duration MAX_FAILURE_RETRY = Duration.ofMinutes(15);
  private static final Duration GAUGE_REFRESH = Duration.ofMinutes(1);

  private final ExpiryPass pass;
  private final ExpirerRuns runs;
  private final Schedule schedule;
  private final Clock clock;
  private final Duration checkInterval;
  private final ExpirerMetrics metrics;
  private final CountDownLatch stop = new CountDownLatch(1);
  private final Thread thread;
  private Instant notBefore = Instant.MIN;
  private int failures;
  private long lastGaugeRefresh;

  Scheduler(
      ExpiryPass pass,
      Schedule schedule,
      Clock clock,
      Duration checkInterval,
      ExpirerMetrics metrics) {
    this.pass = pass;
    this.runs = pass.runs();
    this.schedule = schedule;
    this.clock = clock;
    this.checkInterval = checkInterval;
    this.metrics = metrics;
    this.thread = Thread.ofPlatform().name("expirer-scheduler").unstarted(this::loop);
  }

  Scheduler start() {
    lastGaugeRefresh = System.nanoTime() - GAUGE_REFRESH.toNanos();
    thread.start();
    return this;
  }

  private void loop() {
    log.info("expiry passes scheduled {}", schedule);
    while (stop.getCount() > 0) {
      refreshGaugeOccasionally();
      Instant now = clock.instant();
      if (!now.isBefore(notBefore)) {
        notBefore = attempt(now);
      }
      try {
        if (stop.await(checkInterval.toMillis(), TimeUnit.MILLISECONDS)) {
          return;
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /** Runs a pass if one is due; returns when to look again. */
  private Instant attempt(Instant now) {
    PassResult result;
    try {
      result = pass.runIfDue(schedule);
    } catch (RuntimeException e) {
      // the database did not answer: nothing was done
      log.warn("could not start an expiry pass", e);
      return retryAfterFailure(now);
    }
    return switch (result.outcome()) {
      case COMPLETED, NOT_DUE -> {
        failures = 0;
        Instant next = schedule.nextDue(result.lastSuccessStart());
        if (result.completed()) {
          log.info("next expiry pass due at {}", next);
        }
        // the pass went by its own time, never ahead of the database's: a replica whose clock
        // runs ahead looks again once that time reaches the next pass, not at every check until
        // its own clock's lead is used up
        yield next.isAfter(result.startedAt())
            ? now.plus(Duration.between(result.startedAt(), next))
            : now;
      }
      case BUSY -> now.plus(BUSY_RETRY);
      case STOPPED -> Instant.MAX;
      case FAILED, INCOMPLETE -> retryAfterFailure(now);
    };
  }

  private Instant retryAfterFailure(Instant now) {
    failures++;
    Duration wait = FIRST_FAILURE_RETRY.multipliedBy(1L << Math.min(failures - 1, 10));
    if (wait.compareTo(MAX_FAILURE_RETRY) > 0) {
      wait = MAX_FAILURE_RETRY;
    }
    log.info("retrying the expiry pass in {} s", wait.toSeconds());
    return now.plus(wait);
  }

  /**
   * Replicas that did not run the latest pass learn of it from the database, so the gauge tells the
   * fleet's truth on every replica and survives restarts.
   */
  private void refreshGaugeOccasionally() {
    long nowNanos = System.nanoTime();
    if (nowNanos - lastGaugeRefresh < GAUGE_REFRESH.toNanos()) {
      return;
    }
    lastGaugeRefresh = nowNanos;
    try {
      runs.lastSuccess().ifPresent(last -> metrics.lastSuccess(last.finishedAt()));
      metrics.clockAhead(Duration.between(runs.databaseNow(), clock.instant()));
    } catch (RuntimeException e) {
      log.debug("could not read the last successful pass", e);
    }
  }

  @Override
  public void close() {
    pass.requestStop();
    stop.countDown();
    try {
      thread.join(Duration.ofSeconds(30));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
