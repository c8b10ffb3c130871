package io.marketplace.payments.ops.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.ops.PaymentsWorld;
import io.marketplace.payments.testsupport.Await;
import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A check reads what the database missed and which repairs of it were applied: a worker applying a
 * repair between those two reads, made to happen on purpose with a lock the test holds on {@code
 * processed_events} (watched for in {@code pg_stat_activity}), must not make the check mint the
 * next generation of a repair that was applied and worked.
 */
class ReconcilerSnapshotTest {

  private final PaymentsWorld world = new PaymentsWorld();

  @AfterEach
  void close() {
    world.close();
  }

  @Test
  void shouldNotMintANextGenerationWhenTheRepairIsAppliedBetweenTheChecksReads() throws Exception {
    // Given a posting fee Stripe says succeeded, which the database still holds as unpaid
    UUID listing = world.pendingListing();
    String pi = "pi_3Psnapshot" + UUID.randomUUID().toString().replace("-", "");
    world.paymentRow(pi, listing, "posting_fee", 500);
    var atStripe =
        new Reconciler.StripePayment(
            pi, "succeeded", world.metadata(listing, "posting_fee"), 500, 500L, "usd");
    Reconciler reconciler =
        new Reconciler(
            new Records(world.db.jdbi()), world.processorGroup, "refund-worker", id -> false);
    String firstRepair = "evt_reconcile_" + pi + "_succeeded";

    List<Finding> findings;
    try (Connection worker = world.db.dataSource().getConnection()) {
      worker.setAutoCommit(false);
      try (Statement sql = worker.createStatement()) {
        // (the test's lock: reads of processed_events wait until the worker commits)
        sql.execute("LOCK TABLE processed_events IN ACCESS EXCLUSIVE MODE");

        // When a check runs, and reads which repairs were applied while the processor applies the
        // first repair of that payment (published by another reconcile) and commits
        CompletableFuture<List<Finding>> check =
            CompletableFuture.supplyAsync(() -> reconciler.check(atStripe));
        Await.until(
            PaymentsWorld.WAIT,
            "the check waiting to read processed_events",
            () ->
                world.db.count(
                        "pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = ?"
                            + " AND query LIKE ?",
                        world.db.name(),
                        "%FROM processed_events%")
                    > 0);
        sql.execute(
            "UPDATE payments SET status = 'succeeded', succeeded_at = now()"
                + " WHERE stripe_payment_intent_id = '"
                + pi
                + "'");
        sql.execute(
            "UPDATE marketplace_listings SET status = 'active', activated_at = now(),"
                + " expires_at = now() + interval '30 days', payment_intent_id = '"
                + pi
                + "' WHERE id = '"
                + listing
                + "'");
        sql.execute(
            "INSERT INTO processed_events (consumer, event_key) VALUES ('"
                + world.processorGroup
                + "', '"
                + firstRepair
                + "')");
        worker.commit();
        findings = check.get(PaymentsWorld.WAIT.toSeconds(), TimeUnit.SECONDS);
      }
    }

    // Then the check proposes at most the repair the processor applied, which it ignores as
    // applied: no second generation is minted for a repair that worked
    assertThat(findings)
        .allSatisfy(f -> assertThat(f.repair().eventId()).isEqualTo(firstRepair))
        .allSatisfy(f -> assertThat(f.detail()).doesNotContain("was applied before"));
    // And a check now finds nothing missing
    assertThat(reconciler.check(atStripe)).isEmpty();
  }
}
