package io.marketplace.payments.refunds.refund;

import io.marketplace.payments.common.refund.RefundExecutor;
import io.marketplace.payments.common.refund.RefundOutcome;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Settles refunds left {@code approved}: Stripe failed or timed out, the process died between the
 * decision and the Stripe call, or an admin's approval could not reach Stripe. Every {@code
 * interval} it claims the approved records untouched for that long (bumping {@code updated_at},
 * under {@code FOR UPDATE SKIP LOCKED}, so replicas share the work and a record being executed
 * right now is left alone) and executes them again. The idempotency key {@code refund-<id>} makes a
 * retry after an unknown outcome safe: Stripe answers with the refund it already made; after
 * Stripe's 24 h the executor first looks for that refund, keyed off {@code first_attempted_at},
 * which this claim leaves alone. A refusal by Stripe is retried only every {@code refusedInterval},
 * for operators to look at meanwhile. A round executes at most {@value #BATCH} records, one claimed
 * at a time, and starts no new one once it has spent {@code interval} on them: a Stripe that holds
 * every call until the read timeout delays the passes below by one call, not by a batch of them.
 * Nor does it start one after Stripe failed the last for a passing reason (down, no answer, 429):
 * the rest would most likely fail the same way, one more call each to a Stripe that struggles.
 *
 * <p>Each pass then runs the other catch-up work it is given ({@link Pass}): what no event will
 * bring about in time, such as disputes whose payment's row came after their events.
 */
public final class RefundJanitor implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(RefundJanitor.class);
  private static final int BATCH = 50;

  /**
   * How long a Stripe refund may wait in {@code refunds_awaiting_room} before it counts as overdue:
   * the failure that makes room for it is normally delivered within seconds of it.
   */
  static final Duration ROOM_OVERDUE = Duration.ofMinutes(15);

  /**
   * Catch-up work run on every pass, after the refunds. It must be safe with several replicas
   * running it at once; a failure (the database down) fails the pass, which the next one retries,
   * and does not keep the other passes from running. A row it cannot handle does not fail it: the
   * pass goes on with the others ({@link JanitorRows}). One that calls Stripe bounds the time it
   * spends there, as the refunds' retries do, so a slow Stripe does not hold the others.
   */
  @FunctionalInterface
  public interface Pass {

    /** Does what is due now; returns how many things it settled, for logs. */
    int run();

    /** The pass's name in logs and in {@code payments_refunds_janitor_failures_total{pass}}. */
    default String name() {
      return getClass().getSimpleName();
    }
  }

  /** The part of a round that retries approved refunds, in the failures' {@code pass} tag. */
  static final String REFUNDS = "refunds";

  private final Jdbi jdbi;
  private final RefundExecutor executor;
  private final Clock clock;
  private final Duration interval;
  private final Duration refusedInterval;
  private final List<Pass> passes;
  private final MeterRegistry registry;
  private final AtomicLong awaiting = new AtomicLong();
  private final AtomicLong overdueForRoom = new AtomicLong();
  private final Map<String, AtomicLong> oldestAge =
      Map.of("pending", new AtomicLong(), "approved", new AtomicLong(), "failed", new AtomicLong());
  private final Thread thread;
  private volatile boolean running = true;

  public RefundJanitor(
      Jdbi jdbi,
      RefundExecutor executor,
      Clock clock,
      Duration interval,
      Duration refusedInterval,
      List<Pass> passes,
      MeterRegistry registry) {
    this.jdbi = jdbi;
    this.executor = executor;
    this.clock = clock;
    this.interval = interval;
    this.refusedInterval = refusedInterval;
    this.passes = List.copyOf(passes);
    this.registry = registry;
    // every part's series from the start, at 0: an alert's increase() then sees the first failure
    failures(REFUNDS);
    this.passes.forEach(pass -> failures(pass.name()));
    registry.gauge("payments.refunds.awaiting_stripe", awaiting);
    Gauge.builder("payments.refunds.awaiting_room_overdue", overdueForRoom, AtomicLong::get)
        .description(
            "Stripe refunds waiting over "
                + ROOM_OVERDUE.toMinutes()
                + " minutes for the failure of an earlier refund that makes room for them")
        .register(registry);
    oldestAge.forEach(
        (status, age) ->
            Gauge.builder("payments.refunds.oldest.age", age, AtomicLong::get)
                .description(
                    "seconds the oldest refund has been in this status (pending: since requested;"
                        + " approved: since approved; failed: since it failed, no admin having"
                        + " retried or closed it), 0 when none is; refreshed each janitor round")
                .baseUnit("seconds")
                .tag("status", status)
                .register(registry));
    this.thread = Thread.ofPlatform().name("refund-janitor").daemon().unstarted(this::run);
  }

  public RefundJanitor start() {
    thread.start();
    return this;
  }

  private void run() {
    while (running) {
      try {
        runOnce();
      } catch (RuntimeException e) {
        log.warn("refund janitor could not run; trying again in {}", interval, e);
      } catch (Error e) {
        // no later round can be trusted after this (the heap exhausted, a class that no longer
        // loads): the thread ends, and isAlive() says so, so that the process is restarted
        log.error("refund janitor stopped: the worker reports itself not live", e);
        throw e;
      }
      try {
        Thread.sleep(interval);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  /**
   * One pass: claims the due records and executes them, for at most {@code interval} (the first is
   * always tried), then runs the other {@link Pass}es; returns how many records it tried.
   */
  public int runOnce() {
    int tried;
    try {
      tried = retryApproved();
    } catch (RuntimeException e) {
      countFailure(REFUNDS);
      throw e;
    }
    // each pass on its own: one that fails (a deadlock with a worker's batch, a bad row) does not
    // keep the others from their round; the first failure is thrown once all have run
    RuntimeException failed = null;
    for (Pass pass : passes) {
      if (!running) {
        break;
      }
      try {
        pass.run();
      } catch (RuntimeException e) {
        countFailure(pass.name());
        if (failed == null) {
          failed = e;
        } else {
          failed.addSuppressed(e);
        }
      }
    }
    if (failed != null) {
      throw failed;
    }
    return tried;
  }

  /** Retries the approved refunds due now, then refreshes the gauges; returns how many it tried. */
  private int retryApproved() {
    Instant now = clock.instant();
    // Stripe's time is bounded too: a Stripe that holds every call until the read timeout must
    // not keep the catch-up passes, which need only PostgreSQL, waiting for a whole batch of them
    long deadline = System.nanoTime() + interval.toNanos();
    int tried = 0;
    while (running && tried < BATCH && (tried == 0 || System.nanoTime() - deadline < 0)) {
      Optional<UUID> due = claimNext(now);
      if (due.isEmpty()) {
        break;
      }
      tried++;
      UUID id = due.get();
      try {
        RefundOutcome outcome = executor.execute(id);
        log.info("janitor retried refund {}: {}", id, outcome.result());
        if (outcome.retryable()) {
          // Stripe down, slow or holding us off (5xx, no answer, 429): the others would most likely
          // fail the same way, each one more call to a Stripe that is struggling; they wait for
          // the next round, the one tried now going to the back of the queue
          log.warn(
              "janitor: Stripe did not refund {} ({}); the other due refunds wait for the next"
                  + " round",
              id,
              outcome.error());
          break;
        }
      } catch (RuntimeException e) {
        countFailure(REFUNDS);
        log.warn("janitor could not retry refund {}", id, e);
      }
    }
    awaiting.set(
        jdbi.withHandle(
            h ->
                h.createQuery("SELECT count(*) FROM payment_refunds WHERE status = 'approved'")
                    .mapTo(Long.class)
                    .one()));
    overdueForRoom.set(
        jdbi.withHandle(
            h ->
                h.createQuery(
                        "SELECT count(*) FROM refunds_awaiting_room WHERE parked_at <= :cutoff")
                    .bind("cutoff", now.minus(ROOM_OVERDUE))
                    .mapTo(Long.class)
                    .one()));
    refreshOldestAges(now);
    return tried;
  }

  /**
   * Refreshes {@code payments_refunds_oldest_age_seconds{status}}: how long the oldest refund has
   * waited for what its status waits for, for the alerts on refunds left too long. A {@code
   * pending} one waits for a super_admin since it was requested; an {@code approved} one for Stripe
   * since its last approval or retry by an admin ({@code refund_decisions}), or since it was born
   * approved (an automatic refund), not since {@code updated_at}, which the janitor's claims move;
   * a {@code failed} one no admin has closed since it failed. One statement over the few rows in
   * those statuses, each through its index ({@code refunds_by_status}, {@code
   * refunds_failed_open}), never the processed refunds.
   */
  private void refreshOldestAges(Instant now) {
    Map<String, Instant> oldest =
        jdbi.withHandle(
            h ->
                h.createQuery(
                        """
                        SELECT 'pending' AS status, min(created_at) AS since
                        FROM payment_refunds WHERE status = 'pending'
                        UNION ALL
                        SELECT 'approved', min(COALESCE(
                            (SELECT max(d.decided_at) FROM refund_decisions d
                             WHERE d.refund_id = r.id AND d.decision IN ('approved', 'retried')),
                            r.created_at))
                        FROM payment_refunds r WHERE r.status = 'approved'
                        UNION ALL
                        SELECT 'failed', min(COALESCE(failed_at, updated_at))
                        FROM payment_refunds WHERE status = 'failed' AND closed_at IS NULL
                        """)
                    .reduceRows(
                        new HashMap<String, Instant>(),
                        (ages, row) -> {
                          Instant since = row.getColumn("since", Instant.class);
                          if (since != null) {
                            ages.put(row.getColumn("status", String.class), since);
                          }
                          return ages;
                        }));
    oldestAge.forEach(
        (status, age) ->
            age.set(
                Optional.ofNullable(oldest.get(status))
                    .map(since -> Math.max(0, Duration.between(since, now).toSeconds()))
                    .orElse(0L)));
  }

  /** Counts a part of the round that failed: {@code payments_refunds_janitor_failures_total}. */
  private void countFailure(String pass) {
    failures(pass).increment();
  }

  private Counter failures(String pass) {
    return failures(registry, pass);
  }

  /**
   * {@code payments_refunds_janitor_failures_total{pass}}: a part of a round that failed, or a row
   * a pass could not handle ({@link JanitorRows}).
   */
  static Counter failures(MeterRegistry registry, String pass) {
    return Counter.builder("payments.refunds.janitor.failures")
        .description(
            "parts of the refund janitor's rounds, or rows of its passes, that failed (retried the"
                + " next round), by part")
        .tag("pass", pass)
        .register(registry);
  }

  /**
   * Claims the approved record untouched longest among those due as of {@code now}, one at a time:
   * a record is claimed only when it is about to be executed, so what a round has no time left for
   * is neither held from another replica nor, when Stripe refused it, put off for another {@code
   * refusedInterval}.
   */
  private Optional<UUID> claimNext(Instant now) {
    return jdbi.inTransaction(
        tx ->
            tx.createQuery(
                    """
                    UPDATE payment_refunds SET updated_at = :now
                    WHERE id IN (
                        SELECT id FROM payment_refunds
                        WHERE status = 'approved'
                          AND updated_at <= CASE WHEN last_error LIKE :refused
                                                 THEN CAST(:refusedCutoff AS timestamptz)
                                                 ELSE CAST(:cutoff AS timestamptz) END
                        ORDER BY updated_at
                        LIMIT 1
                        FOR UPDATE SKIP LOCKED)
                    RETURNING id
                    """)
                .bind("now", now)
                .bind("refused", RefundExecutor.REFUSED + "%")
                .bind("refusedCutoff", now.minus(refusedInterval))
                .bind("cutoff", now.minus(interval))
                .mapTo(UUID.class)
                .findOne());
  }

  /**
   * False once the janitor's thread ended other than by {@link #close()} (an {@link Error}): no
   * approved refund is retried and no catch-up pass runs until the process restarts. True for a
   * janitor never started.
   */
  public boolean isAlive() {
    return thread.getState() == Thread.State.NEW || thread.isAlive() || !running;
  }

  @Override
  public void close() {
    running = false;
    if (thread.getState() == Thread.State.NEW) {
      return; // never started (a worker that failed to start, a test's round by hand)
    }
    thread.interrupt();
    try {
      thread.join(Duration.ofSeconds(30));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
