package io.marketplace.payments.refunds.refund;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.refunds.Harness;
import io.marketplace.payments.refunds.StripeFixtures;
import io.marketplace.payments.testsupport.Await;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A refund made in Stripe's dashboard before its payment's row existed, which Stripe then fails,
 * while the janitor's pass records it now that the row is there: whichever of the two goes first,
 * the refund does not end up in our records as money that went back. Each interleaving is made to
 * happen with a lock the test holds, watched for in {@code pg_stat_activity}.
 */
class RefundAwaitingPaymentFailedTest {

  private static Harness h;

  @BeforeAll
  static void start() {
    h = new Harness();
  }

  @AfterAll
  static void stop() {
    h.close();
  }

  @Test
  void shouldNotRecordTheRefundWhenItsFailureCommitsWhileThePassWaitsForThePayment()
      throws Exception {
    // Given a dashboard refund kept until its payment's row exists, and the row now there
    Awaiting awaiting = awaitingRefundWithItsRowNowThere();

    try (Connection other = h.db().dataSource().getConnection()) {
      // and another transaction holding the payment's row
      other.setAutoCommit(false);
      lockPayment(other, awaiting.paymentIntentId());

      // When Stripe's refund.failed is applied, waiting for that row first
      h.webhooks().publish(failed(awaiting));
      awaitLockWaiters(1);
      // and the janitor's pass, which has read the refund it is to record, waits for it next
      CompletableFuture<Integer> pass = CompletableFuture.supplyAsync(h::retryNow);
      awaitLockWaiters(2);
      other.commit();
      pass.get(20, TimeUnit.SECONDS);
    }
    h.awaitStripeEventsApplied();

    // Then no money went back in our records: the refund failed
    assertThat(recordsOf(awaiting.stripeRefundId(), "processed")).isZero();
    assertThat(
            h.db()
                .count(
                    "refunds_awaiting_payment WHERE stripe_refund_id = ?",
                    awaiting.stripeRefundId()))
        .isZero();
  }

  @Test
  void shouldEndTheRecordFailedWhenThePassRecordsItWhileTheFailureWaits() throws Exception {
    // Given a dashboard refund kept until its payment's row exists, and the row now there
    Awaiting awaiting = awaitingRefundWithItsRowNowThere();

    try (Connection other = h.db().dataSource().getConnection()) {
      // and another transaction inserting a record under the refund's re_ id, not committed: the
      // pass's own insert of it will wait for that one to end
      other.setAutoCommit(false);
      try (PreparedStatement insert =
          other.prepareStatement(
              """
              INSERT INTO payment_refunds (id, user_id, listing_id, stripe_payment_intent_id,
                  stripe_refund_id, amount_cents, reason, status)
              VALUES (?, ?, ?, ?, ?, 500, 'user_request', 'pending')
              """)) {
        insert.setObject(1, UUID.randomUUID());
        insert.setObject(2, awaiting.userId());
        insert.setObject(3, awaiting.listingId());
        insert.setString(4, awaiting.paymentIntentId());
        insert.setString(5, awaiting.stripeRefundId());
        insert.executeUpdate();
      }

      // When the janitor's pass records the refund, holding the payment's row
      CompletableFuture<Integer> pass = CompletableFuture.supplyAsync(h::retryNow);
      awaitLockWaiters(1);
      // and Stripe's refund.failed is applied meanwhile
      h.webhooks().publish(failed(awaiting));
      awaitLockWaiters(2);
      other.rollback();
      pass.get(20, TimeUnit.SECONDS);
    }
    h.awaitStripeEventsApplied();

    // Then the refund recorded is failed, as at Stripe: no money went back
    assertThat(recordsOf(awaiting.stripeRefundId(), "processed")).isZero();
    assertThat(recordsOf(awaiting.stripeRefundId(), "failed")).isOne();
  }

  @Test
  void shouldNotRecordTheRefundWhenItsRowIsBuiltWhileTheFailureIsApplied() throws Exception {
    // Given a dashboard refund kept until its payment's row exists, the row not there yet
    Awaiting awaiting = awaitingRefund();

    try (Connection other = h.db().dataSource().getConnection();
        Connection processor = h.db().dataSource().getConnection()) {
      // and another transaction noting the refund's failure, not committed: the failure applied
      // below, having found no row of the payment, will wait for that one to end
      other.setAutoCommit(false);
      try (PreparedStatement note =
          other.prepareStatement(
              "INSERT INTO refund_stripe_failures (stripe_refund_id, failure_reason)"
                  + " VALUES (?, 'test')")) {
        note.setString(1, awaiting.stripeRefundId());
        note.executeUpdate();
      }

      // When Stripe's refund.failed is applied
      h.webhooks().publish(failed(awaiting));
      awaitLockWaiters(1);
      // and meanwhile the payment processor builds the payment's row, as it does: under the
      // PaymentIntent's lock
      CompletableFuture<Void> built =
          CompletableFuture.runAsync(() -> buildRow(processor, awaiting));
      Await.until(
          Harness.WAIT,
          "the row built, or waiting for the PaymentIntent's lock",
          () -> built.isDone() || lockWaiters() >= 2);
      // and the janitor's pass runs then, once the row is there
      h.retryNow();
      other.rollback();
      built.get(20, TimeUnit.SECONDS);
    }
    h.awaitStripeEventsApplied();
    h.retryNow();

    // Then no money went back in our records: the refund failed, and waits for nothing
    assertThat(recordsOf(awaiting.stripeRefundId(), "processed")).isZero();
    assertThat(
            h.db()
                .count(
                    "refunds_awaiting_payment WHERE stripe_refund_id = ?",
                    awaiting.stripeRefundId()))
        .isZero();
  }

  private record Awaiting(
      UUID userId, UUID listingId, String paymentIntentId, String stripeRefundId) {}

  /**
   * A payment succeeded at Stripe and refunded there in full, the refund applied before the
   * payment's row existed (kept in refunds_awaiting_payment); then the row is inserted.
   */
  private static Awaiting awaitingRefundWithItsRowNowThere() {
    Awaiting awaiting = awaitingRefund();
    h.recordPayment(
        awaiting.paymentIntentId(),
        awaiting.userId(),
        awaiting.listingId(),
        500,
        "posting_fee",
        h.now().minus(Duration.ofHours(2)));
    return awaiting;
  }

  /**
   * A payment succeeded at Stripe and refunded there in full, the refund applied before the
   * payment's row exists (kept in refunds_awaiting_payment).
   */
  private static Awaiting awaitingRefund() {
    UUID user = UUID.randomUUID();
    UUID listing = UUID.randomUUID();
    String pi = h.charge(user, listing, 500, "posting_fee");
    String re = StripeFixtures.newId("re");
    h.webhooks()
        .publish(
            StripeFixtures.event(
                "refund.created", StripeFixtures.refund(re, pi, 500, "succeeded", Map.of())));
    h.awaitStripeEventsApplied();
    assertThat(h.db().count("refunds_awaiting_payment WHERE stripe_refund_id = ?", re)).isOne();
    return new Awaiting(user, listing, pi, re);
  }

  /**
   * Inserts the payment's row as the payment processor rebuilds one, under the PaymentIntent's
   * advisory lock ({@code PaymentIntentLock}), in a transaction of its own.
   */
  private static void buildRow(Connection connection, Awaiting awaiting) {
    try {
      connection.setAutoCommit(false);
      try (PreparedStatement lock =
          connection.prepareStatement("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))")) {
        lock.setString(1, "payment-intent:" + awaiting.paymentIntentId());
        lock.executeQuery().close();
      }
      Instant paidAt = h.now().minus(Duration.ofHours(2));
      try (PreparedStatement insert =
          connection.prepareStatement(
              """
              INSERT INTO payments
                  (stripe_payment_intent_id, listing_id, user_id, payment_type, amount_cents,
                   status, created_at, succeeded_at)
              VALUES (?, ?, ?, 'posting_fee', 500, 'succeeded', ?, ?)
              """)) {
        insert.setString(1, awaiting.paymentIntentId());
        insert.setObject(2, awaiting.listingId());
        insert.setObject(3, awaiting.userId());
        insert.setTimestamp(4, Timestamp.from(paidAt.minusSeconds(30)));
        insert.setTimestamp(5, Timestamp.from(paidAt));
        insert.executeUpdate();
      }
      connection.commit();
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String failed(Awaiting awaiting) {
    Map<String, Object> refund =
        new LinkedHashMap<>(
            StripeFixtures.refund(
                awaiting.stripeRefundId(), awaiting.paymentIntentId(), 500, "failed", Map.of()));
    refund.put("failure_reason", "expired_or_canceled_card");
    return StripeFixtures.event("refund.failed", refund);
  }

  private static void lockPayment(Connection connection, String paymentIntentId) throws Exception {
    try (PreparedStatement lock =
        connection.prepareStatement(
            "SELECT 1 FROM payments WHERE stripe_payment_intent_id = ? FOR UPDATE")) {
      lock.setString(1, paymentIntentId);
      lock.executeQuery().close();
    }
  }

  private static void awaitLockWaiters(int count) {
    Await.until(
        Harness.WAIT, count + " transactions waiting for a lock", () -> lockWaiters() >= count);
  }

  private static long lockWaiters() {
    return h.db()
        .count("pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = ?", h.db().name());
  }

  private static long recordsOf(String stripeRefundId, String status) {
    return h.db()
        .count("payment_refunds WHERE stripe_refund_id = ? AND status = ?", stripeRefundId, status);
  }
}
