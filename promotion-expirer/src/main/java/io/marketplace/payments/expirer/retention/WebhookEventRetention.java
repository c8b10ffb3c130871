package io.marketplace.payments.expirer.retention;

import io.marketplace.payments.expirer.pass.Expiry;
import io.marketplace.payments.expirer.pass.Times;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.jdbi.v3.core.Handle;

/**
 * Deletes the payment processor's audit rows of Stripe events ({@code webhook_events}, each with
 * the event's whole payload) received longer than the retention ago. Nothing depends on them once
 * applied: an event is deduplicated by {@code processed_events}, which stays, and Kafka keeps the
 * raw event for replays within the topic's retention. Announces nothing.
 */
public final class WebhookEventRetention implements Expiry {

  public static final String NAME = "webhook_events";

  /**
   * Old rows in no particular order (the block-range index on {@code received_at} finds them, and
   * cannot sort), locked, skipping any a processor's transaction holds.
   */
  static final String DELETE_BATCH =
      """
      WITH old AS MATERIALIZED (
        SELECT event_id FROM webhook_events
        WHERE received_at < :cutoff
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
      )
      DELETE FROM webhook_events w USING old WHERE w.event_id = old.event_id
      """;

  private final Duration retention;

  public WebhookEventRetention(Duration retention) {
    if (retention.isNegative() || retention.isZero()) {
      throw new IllegalArgumentException("retention must be positive");
    }
    this.retention = retention;
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Batch expireBatch(Handle tx, Instant now, int limit) {
    int deleted =
        tx.createUpdate(DELETE_BATCH)
            .bind("cutoff", Times.bindable(now.minus(retention)))
            .bind("limit", limit)
            .execute();
    return new Batch(deleted, List.of());
  }

  /**
   * None that matter: an audit row a processor's transaction held is deleted by the next scheduled
   * pass, a day late at most, which harms nobody and announces nothing, so it is no reason to pass
   * again soon (nor to scan the old rows' block ranges once more).
   */
  @Override
  public long stillDue(Handle handle, Instant now) {
    return 0;
  }
}
