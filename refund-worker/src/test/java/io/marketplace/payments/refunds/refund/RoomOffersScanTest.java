package io.marketplace.payments.refunds.refund;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.testsupport.TestDatabase;
import io.marketplace.payments.testsupport.TestInfra;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@code refund_decisions_awaiting_room} keeps for good the decisions whose money did go back (a
 * dispute lost, a refund made): it only grows, and so do the failed refunds. The janitor's {@link
 * RoomOffers} asks for the payments to offer room to on every round, and that must cost what the
 * refunds failed in the last {@link RoomOffers#RECENT_FAILURES} cost, not what every decision and
 * every failure ever recorded does.
 */
class RoomOffersScanTest {

  private static final int FOR_GOOD = 2000;

  @Test
  void shouldReadOnlyThePaymentsWithARecentFailureWhenManyDecisionsWaitForGood() {
    // Given many decisions waiting for good, their payments' refunds failed a month ago
    TestDatabase db = TestInfra.freshDatabase();
    Instant now = Instant.now();
    db.execute(
        """
        INSERT INTO refund_decisions_awaiting_room
            (stripe_payment_intent_id, reason, decided_at, parked_at)
        SELECT 'pi_old_' || n, 'moderation_rejection', ?, ?
        FROM generate_series(1, ?) n
        """,
        now.minus(Duration.ofDays(40)),
        now.minus(Duration.ofDays(40)),
        FOR_GOOD);
    db.execute(
        """
        INSERT INTO payment_refunds
            (id, user_id, stripe_payment_intent_id, amount_cents, reason, status, failed_at)
        SELECT gen_random_uuid(), gen_random_uuid(), 'pi_old_' || n, 100, 'user_request',
               'failed', ?
        FROM generate_series(1, ?) n
        """,
        now.minus(Duration.ofDays(30)),
        FOR_GOOD);
    // and one decision of a payment whose refund failed an hour ago
    db.execute(
        """
        INSERT INTO refund_decisions_awaiting_room
            (stripe_payment_intent_id, reason, decided_at, parked_at)
        VALUES ('pi_recent', 'moderation_rejection', ?, ?)
        """,
        now.minus(Duration.ofDays(2)),
        now.minus(Duration.ofDays(2)));
    db.execute(
        """
        INSERT INTO payment_refunds
            (id, user_id, stripe_payment_intent_id, amount_cents, reason, status, failed_at)
        VALUES (gen_random_uuid(), gen_random_uuid(), 'pi_recent', 100, 'user_request', 'failed', ?)
        """,
        now.minus(Duration.ofHours(1)));
    // with the statistics autovacuum keeps
    db.execute("ANALYZE refund_decisions_awaiting_room");
    db.execute("ANALYZE payment_refunds");
    Instant since = now.minus(RoomOffers.RECENT_FAILURES);

    // When the pass asks which payments to offer room to
    List<String> waiting =
        db.jdbi()
            .withHandle(
                h ->
                    h.createQuery(RoomOffers.WAITING)
                        .bind("after", "")
                        .bind("since", since)
                        .bind("limit", 100)
                        .mapTo(String.class)
                        .list());
    JsonNode plan =
        db.jdbi()
            .withHandle(
                h ->
                    h.createQuery("EXPLAIN (ANALYZE, FORMAT JSON) " + RoomOffers.WAITING)
                        .bind("after", "")
                        .bind("since", since)
                        .bind("limit", 100)
                        .mapTo(String.class)
                        .one())
            .transform(RoomOffersScanTest::json);

    // Then it is the one with a recent failure
    assertThat(waiting).containsExactly("pi_recent");
    // read without going through the decisions and failures of the others
    assertThat(rowsRead(plan, "refund_decisions_awaiting_room"))
        .as("rows read of refund_decisions_awaiting_room in %s", plan)
        .isLessThan(10);
    assertThat(rowsRead(plan, "payment_refunds"))
        .as("rows read of payment_refunds in %s", plan)
        .isLessThan(10);
  }

  private static JsonNode json(String text) {
    try {
      return Json.mapper().readTree(text);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The rows the plan's scans of {@code table} returned, over all their loops. */
  private static double rowsRead(JsonNode node, String table) {
    double rows = 0;
    if (!node.isContainerNode()) {
      return rows;
    }
    if (node.isArray()) {
      for (JsonNode child : node) {
        rows += rowsRead(child, table);
      }
      return rows;
    }
    if (table.equals(node.path("Relation Name").asText())) {
      rows +=
          node.path("Actual Rows").asDouble() * node.path("Actual Loops").asDouble(1)
              // rows a scan read and its filter then dropped were read all the same
              + node.path("Rows Removed by Filter").asDouble()
                  * node.path("Actual Loops").asDouble(1);
    }
    rows += rowsRead(node.path("Plan"), table);
    rows += rowsRead(node.path("Plans"), table);
    return rows;
  }
}
