package io.marketplace.payments.checkout.admin;

import io.javalin.http.Context;
import io.marketplace.payments.checkout.auth.Caller;
import io.marketplace.payments.checkout.http.PathIds;
import io.marketplace.payments.checkout.http.Reply;
import io.marketplace.payments.checkout.http.RequestBody;
import io.marketplace.payments.common.events.PaymentEvent;
import io.marketplace.payments.common.events.PaymentEventType;
import io.marketplace.payments.common.outbox.Outbox;
import java.time.Clock;
import java.time.Instant;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;

/**
 * {@code POST /admin/api/marketplace/users/{id}/risk/clear {"reason"}}: a super_admin clears every
 * active risk flag of a user, so checkout and promote are allowed again; {@code user.risk_cleared}
 * is announced in the same transaction when a flag was cleared.
 */
public final class RiskController {

  static final int MAX_REASON = 1000;

  /** The reply, and the data of {@code user.risk_cleared}. */
  public record RiskCleared(
      UUID userId, UUID clearedBy, String reason, Instant clearedAt, int clearedFlags) {}

  private record ClearedEvent(UUID userId, UUID clearedBy, String reason, Instant clearedAt) {}

  private final Jdbi jdbi;
  private final Clock clock;

  public RiskController(Jdbi jdbi, Clock clock) {
    this.jdbi = jdbi;
    this.clock = clock;
  }

  public Reply clear(Context ctx, Caller caller) {
    UUID userId = PathIds.uuid(ctx, "id", "user");
    RequestBody body = RequestBody.of(ctx);
    String reason = body.requiredText("reason", MAX_REASON);
    body.validate();
    RiskCleared cleared =
        jdbi.inTransaction(
            tx -> {
              Instant now = clock.instant();
              int count =
                  tx.createUpdate(
                          """
                          UPDATE user_risk_flags
                          SET cleared_at = :now, cleared_by = :admin, clear_reason = :reason
                          WHERE user_id = :userId AND cleared_at IS NULL
                          """)
                      .bind("now", now)
                      .bind("admin", caller.userId())
                      .bind("reason", reason)
                      .bind("userId", userId)
                      .execute();
              if (count > 0) {
                Outbox.append(
                    tx,
                    PaymentEvent.of(
                        PaymentEventType.USER_RISK_CLEARED,
                        userId + ":" + now,
                        now,
                        new ClearedEvent(userId, caller.userId(), reason, now)),
                    userId.toString());
              }
              return new RiskCleared(userId, caller.userId(), reason, now, count);
            });
    return Reply.ok(cleared);
  }
}
