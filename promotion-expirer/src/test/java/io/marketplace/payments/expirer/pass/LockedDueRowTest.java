package io.marketplace.payments.expirer.pass;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.expirer.Seed;
import io.marketplace.payments.expirer.listing.ListingExpiry;
import io.marketplace.payments.expirer.pass.PassResult.Outcome;
import io.marketplace.payments.expirer.promotion.PromotionExpiry;
import io.marketplace.payments.expirer.schedule.Schedule;
import io.marketplace.payments.testsupport.MutableClock;
import io.marketplace.payments.testsupport.TestDatabase;
import io.marketplace.payments.testsupport.TestInfra;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/**
 * A due listing whose row another service holds at the moment of the pass (the payment processor's
 * batch and the moderation worker take listings {@code FOR UPDATE}): the pass skips it ({@code SKIP
 * LOCKED}) rather than wait for a payment, and says it left work behind, so the scheduler passes
 * again soon instead of a whole interval (a day by default) later.
 */
class LockedDueRowTest {

  private static final Instant T = Instant.parse("2026-03-10T03:15:00Z");

  private final TestDatabase db = TestInfra.freshDatabase();
  private final Seed seed = new Seed(db);
  private final MutableClock clock = new MutableClock(T);

  @Test
  void shouldEndADueListingSoonWhenAnotherTransactionHeldItsRowDuringThePass() throws Exception {
    // Given a daily schedule, a listing that ended an hour ago, and the payment processor holding
    // that listing's row in a transaction (a featured payment for it, say) just as the pass runs
    Schedule daily = new Schedule.Every(Duration.ofHours(24));
    UUID listing = seed.activeListing(seed.user(), T.minus(Duration.ofHours(1)));
    PassResult first;
    ExecutorService pool = Executors.newSingleThreadExecutor();
    try (Connection processor = db.dataSource().getConnection()) {
      processor.setAutoCommit(false);
      try (PreparedStatement lock =
          processor.prepareStatement(
              "SELECT id FROM marketplace_listings WHERE id = ? FOR UPDATE")) {
        lock.setObject(1, listing);
        lock.executeQuery().close();
      }

      // When the scheduled pass runs while the row is held (the holder commits a moment later)
      Future<PassResult> pass = pool.submit(() -> pass().runIfDue(daily));
      try {
        first = pass.get(3, TimeUnit.SECONDS);
        processor.commit();
      } catch (TimeoutException stillWaiting) {
        // a pass that waits for the row is fine too: the holder commits and the pass goes on
        processor.commit();
        first = pass.get(30, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }

    // and the scheduler looks again five minutes later, as it does after a pass that did not finish
    clock.advance(Duration.ofMinutes(5));
    PassResult later = pass().runIfDue(daily);

    // Then the listing is expired by now: a pass that left a due row behind does not count as
    // completed, so it is not left active (and unannounced) until the next day's pass
    assertThat(status(listing))
        .as(
            "listing due an hour before the pass; first pass %s (ended %s listings), pass 5 min"
                + " later %s",
            first.outcome(), first.expired(Expiry.LISTINGS), later.outcome())
        .isEqualTo("expired");
    assertThat(db.count("outbox_events WHERE event_type = 'listing.expired'")).isEqualTo(1);
    assertThat(first.outcome() == Outcome.COMPLETED && first.expired(Expiry.LISTINGS) == 0)
        .as("a pass that ended no listing while one was due reported COMPLETED")
        .isFalse();
  }

  private ExpiryPass pass() {
    return new ExpiryPass(
        db.jdbi(),
        new PassLock(db.dbConfig()),
        List.of(new PromotionExpiry(), new ListingExpiry()),
        1000,
        clock,
        new ExpirerMetrics(new SimpleMeterRegistry()),
        BatchHook.NONE);
  }

  private String status(UUID listing) {
    return (String)
        db.row("SELECT status FROM marketplace_listings WHERE id = ?", listing)
            .orElseThrow()
            .get("status");
  }
}
