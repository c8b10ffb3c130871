package io.marketplace.payments.refunds.refund;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.marketplace.payments.refunds.Harness;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * One row a catch-up pass cannot handle (its record breaks a constraint of {@code payment_refunds},
 * as a value the code did not expect would) fails on every round: the rows after it are still
 * settled, and the bad one is counted, left where it was and tried again the next round.
 */
class RefundJanitorBadRowTest {

  private static final String REFUSED = "janitor_test_refused_row";

  private static Harness h;

  @BeforeAll
  static void start() {
    h = new Harness();
  }

  @AfterAll
  static void stop() {
    h.close();
  }

  @AfterEach
  void acceptEveryRowAgain() {
    h.db().execute("ALTER TABLE payment_refunds DROP CONSTRAINT IF EXISTS " + REFUSED);
  }

  @AfterEach
  void forgetTheBatchesOfBadRows() {
    h.db()
        .execute("DELETE FROM refunds_awaiting_payment WHERE stripe_refund_id LIKE 're\\_bad\\_%'");
    h.db().execute("DELETE FROM payment_disputes WHERE stripe_dispute_id LIKE 'du\\_bad\\_%'");
  }

  @Test
  void shouldCountTheOtherLateDisputesWhenOneCannotBeRecorded() {
    // Given two disputes whose events came before their payment's row, the row now there, the
    // older one's chargeback refused by the database
    var bad = h.paidListing(Duration.ofHours(2));
    var good = h.paidListing(Duration.ofHours(2));
    String badDispute = dispute(bad, h.now().minus(Duration.ofHours(1)));
    String goodDispute = dispute(good, h.now().minus(Duration.ofMinutes(30)));
    refuse("stripe_dispute_id IS DISTINCT FROM '" + badDispute + "'");
    double before = failures("DisputesAwaitingPayment");

    // When the janitor has its round
    h.retryNow();

    // Then the other dispute is counted, its chargeback recorded
    assertThat(userOf(goodDispute)).isEqualTo(good.userId());
    assertThat(h.db().count("payment_refunds WHERE stripe_dispute_id = ?", goodDispute))
        .isEqualTo(1);
    // and the bad one is left as it was, counted as a failure of the pass
    assertThat(userOf(badDispute)).isNull();
    assertThat(failures("DisputesAwaitingPayment")).isGreaterThanOrEqualTo(before + 1);

    // When the next round meets it again, then it is tried again (and counted again)
    double afterFirst = failures("DisputesAwaitingPayment");
    h.retryNow();
    assertThat(failures("DisputesAwaitingPayment")).isEqualTo(afterFirst + 1);

    // When the row can be handled again, then the next round counts it
    acceptEveryRowAgain();
    h.retryNow();
    assertThat(userOf(badDispute)).isEqualTo(bad.userId());
  }

  @Test
  void shouldRecordTheOtherRefundsAwaitingTheirPaymentWhenOneCannotBeRecorded() {
    // Given two dashboard refunds kept until their payment's row existed, the rows now there, the
    // older one's record refused by the database
    var bad = h.paidListing(Duration.ofHours(2));
    var good = h.paidListing(Duration.ofHours(2));
    String badRefund = awaitingPayment(bad, h.now().minus(Duration.ofHours(1)));
    String goodRefund = awaitingPayment(good, h.now().minus(Duration.ofMinutes(30)));
    refuse("stripe_refund_id IS DISTINCT FROM '" + badRefund + "'");
    double before = failures("RefundsAwaitingPayment");

    // When the janitor has its round
    h.retryNow();

    // Then the other refund is recorded as money gone back
    assertThat(h.refunds(good.paymentIntentId()))
        .singleElement()
        .satisfies(
            r ->
                assertThat(r)
                    .containsEntry("status", "processed")
                    .containsEntry("stripe_refund_id", goodRefund));
    assertThat(h.db().count("refunds_awaiting_payment WHERE stripe_refund_id = ?", goodRefund))
        .isZero();
    // and the bad one still waits, counted as a failure of the pass
    assertThat(h.refunds(bad.paymentIntentId())).isEmpty();
    assertThat(h.db().count("refunds_awaiting_payment WHERE stripe_refund_id = ?", badRefund))
        .isEqualTo(1);
    assertThat(failures("RefundsAwaitingPayment")).isGreaterThanOrEqualTo(before + 1);

    // When the row can be handled again, then the next round records it
    acceptEveryRowAgain();
    h.retryNow();
    assertThat(h.refunds(bad.paymentIntentId()))
        .singleElement()
        .satisfies(r -> assertThat(r).containsEntry("stripe_refund_id", badRefund));
  }

  @Test
  void shouldRecordTheOtherRefundsWaitingForRoomWhenOneCannotBeRecorded() {
    // Given dashboard refunds of two payments waiting for room, which both have now, the one of
    // the payment the pass takes first refused by the database
    var first = h.paidListing(Duration.ofHours(2));
    var second = h.paidListing(Duration.ofHours(2));
    if (first.paymentIntentId().compareTo(second.paymentIntentId()) > 0) {
      var swap = first;
      first = second;
      second = swap;
    }
    String badRefund = awaitingRoom(first);
    String goodRefund = awaitingRoom(second);
    refuse("stripe_refund_id IS DISTINCT FROM '" + badRefund + "'");
    double before = failures("RoomOffers");

    // When the janitor has its round
    h.retryNow();

    // Then the other refund is recorded and waits no more
    assertThat(h.refunds(second.paymentIntentId()))
        .singleElement()
        .satisfies(r -> assertThat(r).containsEntry("stripe_refund_id", goodRefund));
    assertThat(h.db().count("refunds_awaiting_room WHERE stripe_refund_id = ?", goodRefund))
        .isZero();
    // and the bad one still waits, counted as a failure of the pass
    assertThat(h.refunds(first.paymentIntentId())).isEmpty();
    assertThat(h.db().count("refunds_awaiting_room WHERE stripe_refund_id = ?", badRefund))
        .isEqualTo(1);
    assertThat(failures("RoomOffers")).isGreaterThanOrEqualTo(before + 1);
  }

  @Test
  void shouldReachTheRefundsPastAFullBatchThatCannotBeRecorded() {
    // Given more dashboard refunds awaiting their payment's row than a round takes (100), oldest
    // first, whose records the database refuses, and one after them it accepts
    var bad = h.paidListing(Duration.ofHours(3));
    var good = h.paidListing(Duration.ofHours(3));
    h.db()
        .execute(
            """
            INSERT INTO refunds_awaiting_payment
                (stripe_refund_id, stripe_payment_intent_id, amount_cents, refund, parked_at)
            SELECT 're_bad_' || n, ?, 1,
                   jsonb_build_object('id', 're_bad_' || n, 'object', 'refund', 'amount', 1,
                                      'payment_intent', ?, 'status', 'succeeded'),
                   ?
            FROM generate_series(1, 101) n
            """,
            bad.paymentIntentId(),
            bad.paymentIntentId(),
            h.now().minus(Duration.ofHours(2)));
    String goodRefund = awaitingPayment(good, h.now().minus(Duration.ofHours(1)));
    refuse("stripe_refund_id NOT LIKE 're\\_bad\\_%'");

    // When the janitor has its rounds (a few: where a round starts depends on the rounds before)
    for (int round = 0; round < 3 && h.refunds(good.paymentIntentId()).isEmpty(); round++) {
      h.retryNow();
    }

    // Then the one after them is recorded
    assertThat(h.refunds(good.paymentIntentId()))
        .singleElement()
        .satisfies(r -> assertThat(r).containsEntry("stripe_refund_id", goodRefund));
    assertThat(h.refunds(bad.paymentIntentId())).isEmpty();
  }

  @Test
  void shouldReachTheDisputesPastAFullBatchThatCannotBeCounted() {
    // Given more late disputes than a round takes (100), oldest first, whose chargebacks the
    // database refuses, and one after them it accepts
    var bad = h.paidListing(Duration.ofHours(3));
    var good = h.paidListing(Duration.ofHours(3));
    h.db()
        .execute(
            """
            INSERT INTO payment_disputes
                (stripe_dispute_id, stripe_payment_intent_id, user_id, amount_cents, reason, status,
                 is_inquiry, created_at, updated_at)
            SELECT 'du_bad_' || n, ?, NULL, 1, 'fraudulent', 'needs_response', false, ?, ?
            FROM generate_series(1, 101) n
            """,
            bad.paymentIntentId(),
            h.now().minus(Duration.ofHours(2)),
            h.now().minus(Duration.ofHours(2)));
    String goodDispute = dispute(good, h.now().minus(Duration.ofHours(1)));
    refuse("stripe_dispute_id IS NULL OR stripe_dispute_id NOT LIKE 'du\\_bad\\_%'");

    // When the janitor has its rounds
    for (int round = 0; round < 3 && userOf(goodDispute) == null; round++) {
      h.retryNow();
    }

    // Then the one after them is counted
    assertThat(userOf(goodDispute)).isEqualTo(good.userId());
  }

  @Test
  void shouldEndThePassAtTheFirstRowWhenTheDatabaseFailsEveryRow() {
    // Given two dashboard refunds whose payment's row is now there, and a database that fails
    // every row alike (a table the records need is missing: a migration not run)
    var one = h.paidListing(Duration.ofHours(2));
    var other = h.paidListing(Duration.ofHours(2));
    awaitingPayment(one, h.now().minus(Duration.ofHours(1)));
    awaitingPayment(other, h.now().minus(Duration.ofMinutes(30)));
    double before = failures("RefundsAwaitingPayment");
    h.db().execute("ALTER TABLE refund_stripe_failures RENAME TO refund_stripe_failures_gone");
    try {
      // When the janitor has its round, then the round fails, for the next one to try again
      assertThatThrownBy(h::retryNow).hasMessageContaining("refund_stripe_failures");
    } finally {
      h.db().execute("ALTER TABLE refund_stripe_failures_gone RENAME TO refund_stripe_failures");
    }

    // And the pass stopped at its first row: one failure, not one per row
    assertThat(failures("RefundsAwaitingPayment")).isEqualTo(before + 1);
    assertThat(h.refunds(one.paymentIntentId())).isEmpty();
    assertThat(h.refunds(other.paymentIntentId())).isEmpty();

    // When the table is back, then the next round records both
    h.retryNow();
    assertThat(h.refunds(one.paymentIntentId())).hasSize(1);
    assertThat(h.refunds(other.paymentIntentId())).hasSize(1);
  }

  /** A constraint that the record of one row breaks, and no other row's. */
  private static void refuse(String check) {
    h.db()
        .execute(
            "ALTER TABLE payment_refunds ADD CONSTRAINT " + REFUSED + " CHECK (" + check + ")");
  }

  /** A chargeback recorded without a user: its events came before its payment's row. */
  private static String dispute(Harness.Paid paid, Instant createdAt) {
    String id = "du_" + UUID.randomUUID().toString().replace("-", "");
    h.db()
        .execute(
            """
            INSERT INTO payment_disputes
                (stripe_dispute_id, stripe_payment_intent_id, user_id, amount_cents, reason, status,
                 is_inquiry, created_at, updated_at)
            VALUES (?, ?, NULL, ?, 'fraudulent', 'needs_response', false, ?, ?)
            """,
            id,
            paid.paymentIntentId(),
            (int) paid.amountCents(),
            createdAt,
            createdAt);
    return id;
  }

  private static UUID userOf(String disputeId) {
    return (UUID)
        h.db()
            .row("SELECT user_id FROM payment_disputes WHERE stripe_dispute_id = ?", disputeId)
            .orElseThrow()
            .get("user_id");
  }

  /** A dashboard refund of 100 cents kept in refunds_awaiting_payment since {@code parkedAt}. */
  private static String awaitingPayment(Harness.Paid paid, Instant parkedAt) {
    String id = "re_" + UUID.randomUUID().toString().replace("-", "");
    h.db()
        .execute(
            """
            INSERT INTO refunds_awaiting_payment
                (stripe_refund_id, stripe_payment_intent_id, amount_cents, refund, parked_at)
            VALUES (?, ?, 100, CAST(? AS jsonb), ?)
            """,
            id,
            paid.paymentIntentId(),
            refundJson(id, paid),
            parkedAt);
    return id;
  }

  /** A dashboard refund of 100 cents kept in refunds_awaiting_room. */
  private static String awaitingRoom(Harness.Paid paid) {
    String id = "re_" + UUID.randomUUID().toString().replace("-", "");
    h.db()
        .execute(
            """
            INSERT INTO refunds_awaiting_room
                (stripe_refund_id, stripe_payment_intent_id, refund, parked_at)
            VALUES (?, ?, CAST(? AS jsonb), ?)
            """,
            id,
            paid.paymentIntentId(),
            refundJson(id, paid),
            h.now().minus(Duration.ofMinutes(1)));
    return id;
  }

  private static String refundJson(String id, Harness.Paid paid) {
    return """
        {"id": "%s", "object": "refund", "amount": 100, "currency": "usd",
         "payment_intent": "%s", "status": "succeeded", "created": %d}
        """
        .formatted(id, paid.paymentIntentId(), h.now().getEpochSecond());
  }

  private static double failures(String pass) {
    Matcher value =
        Pattern.compile(
                "(?m)^payments_refunds_janitor_failures_total\\{[^}]*pass=\""
                    + pass
                    + "\"[^}]*} (\\S+)$")
            .matcher(h.metrics());
    return value.find() ? Double.parseDouble(value.group(1)) : 0;
  }
}
