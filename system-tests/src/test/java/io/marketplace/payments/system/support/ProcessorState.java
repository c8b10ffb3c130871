package io.marketplace.payments.system.support;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the payment processor decided, table by table, without the columns that only say when a row
 * was last touched ({@code created_at}/{@code updated_at} defaults, outbox sequence numbers and
 * publication times): two databases that applied the same events once each compare equal, however
 * often their workers crashed on the way.
 */
public record ProcessorState(Map<String, List<Map<String, Object>>> tables) {

  private static final Map<String, String> QUERIES = new LinkedHashMap<>();

  static {
    QUERIES.put(
        "marketplace_listings",
        "SELECT id, user_id, status, payment_intent_id, activated_at, expires_at, last_bumped_at,"
            + " rejected_at, rejection_reason FROM marketplace_listings ORDER BY id");
    QUERIES.put(
        "payments",
        "SELECT stripe_payment_intent_id, listing_id, user_id, payment_type, amount_cents,"
            + " currency, status, failure_message, succeeded_at FROM payments ORDER BY 1");
    QUERIES.put(
        "listing_promotions",
        "SELECT id, listing_id, type, stripe_payment_intent_id, amount_cents, starts_at,"
            + " expires_at, expired_at FROM listing_promotions ORDER BY id");
    QUERIES.put(
        "payment_refunds",
        "SELECT id, stripe_payment_intent_id, reason, status, amount_cents FROM payment_refunds"
            + " ORDER BY id");
    QUERIES.put(
        "webhook_events",
        "SELECT event_id, event_type, payload::text AS payload, received_at, processed_at, status,"
            + " error_message FROM webhook_events ORDER BY event_id");
    QUERIES.put("processed_events", "SELECT event_key FROM processed_events ORDER BY event_key");
    QUERIES.put(
        "outbox_events",
        "SELECT event_id, destination, message_key, event_type, payload FROM outbox_events"
            + " ORDER BY event_id");
  }

  public static ProcessorState of(Sql db) {
    Map<String, List<Map<String, Object>>> tables = new LinkedHashMap<>();
    QUERIES.forEach((table, query) -> tables.put(table, db.rows(query)));
    return new ProcessorState(tables);
  }

  public List<Map<String, Object>> table(String name) {
    return tables.get(name);
  }

  /**
   * Fails, naming the first few differing rows of each table, unless this state equals {@code
   * expected}.
   */
  public void assertSameAs(ProcessorState expected, String description) {
    List<String> differences = new ArrayList<>();
    expected
        .tables()
        .forEach(
            (table, rows) -> {
              List<Map<String, Object>> actual = tables.get(table);
              if (actual.equals(rows)) {
                return;
              }
              List<Map<String, Object>> missing = new ArrayList<>(rows);
              missing.removeAll(actual);
              List<Map<String, Object>> extra = new ArrayList<>(actual);
              extra.removeAll(rows);
              differences.add(
                  table
                      + ": expected "
                      + rows.size()
                      + " rows, got "
                      + actual.size()
                      + "; missing "
                      + missing.stream().limit(3).toList()
                      + "; unexpected "
                      + extra.stream().limit(3).toList());
            });
    assertThat(differences).as(description).isEmpty();
  }
}
