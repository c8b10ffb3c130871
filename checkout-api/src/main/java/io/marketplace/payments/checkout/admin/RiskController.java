package io.marketplace.payments.checkout.admin;

import io.javalin.http.Context;
import io.marketplace.payments.checkout.auth.Caller;
import io.marketplace.payments.checkout.http.PathIds;
import io.marketplace.payments.checkout.http.Reply;
import io.marketplace.payments.checkout.http.RequestBody;
import io.marketplace.payments.checkout.idempotency.RequestKey;
import io.marketplace.payments.common.db.UserRiskLock;
import io.marketplace.payments.common.events.PaymentEvent;
import io.marketplace.payments.common.events.PaymentEventType;
import io.marketplace.payments.common.http.ProblemException;
import io.marketplace.payments.common.outbox.Outbox;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.StatementContext;

/**
 * {@code POST /admin/api/marketplace/users/{id}/risk/clear {"reason"}}: a super_admin clears every
 * active risk flag of a user, so checkout and promote are allowed again. The clear is recorded in
 * {@code user_risk_clears} and announced as {@code user.risk_cleared} in the same transaction,
 * whether or not a flag was active: it applies to everything the risk service counted up to it, so
 * a signal counted before it and still on its way to the flag worker is recorded as cleared by it
 * there, and the risk service restarts its counts from it.
 *
 * <p>Under an {@code Idempotency-Key} the clear keeps the request's {@link RequestKey} (on its row
 * and on each flag it cleared): a rerun of the same request whose answer was lost after the clear
 * committed answers from that row, as the first run did, instead of clearing the flags raised since
 * and announcing a second clear.
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
    caller.refuseOwn(userId, "clear their own risk hold");
    RequestBody body = RequestBody.of(ctx);
    String reason = body.requiredText("reason", MAX_REASON);
    body.validate();
    Optional<String> requestKey = RequestKey.of(ctx, caller.userId());
    RiskCleared cleared =
        jdbi.inTransaction(
            tx -> {
              // a signal being recorded for this user is recorded first, and cleared here
              UserRiskLock.lock(tx, userId);
              Instant now = clock.instant();
              Optional<RiskCleared> earlier =
                  requestKey.flatMap(key -> clearedUnder(tx, userId, key, now));
              if (earlier.isPresent()) {
                return earlier.get(); // this request cleared them, and announced it, already
              }
              int count =
                  tx.createUpdate(
                          """
                          UPDATE user_risk_flags
                          SET cleared_at = :now, cleared_by = :admin, clear_reason = :reason,
                              clear_request_key = :requestKey
                          WHERE user_id = :userId AND cleared_at IS NULL
                          """)
                      .bind("now", now)
                      .bind("admin", caller.userId())
                      .bind("reason", reason)
                      .bind("requestKey", requestKey.orElse(null))
                      .bind("userId", userId)
                      .execute();
              if (count == 0 && !known(tx, userId)) {
                throw ProblemException.notFound("no user " + userId);
              }
              // with or without a flag to clear: the clear covers what was counted up to it
              PaymentEvent event =
                  PaymentEvent.of(
                      PaymentEventType.USER_RISK_CLEARED,
                      userId + ":" + now,
                      now,
                      new ClearedEvent(userId, caller.userId(), reason, now));
              int recorded =
                  tx.createUpdate(
                          """
                          INSERT INTO user_risk_clears (event_id, user_id, cleared_at, cleared_by,
                              clear_reason, cleared_flags, request_key)
                          VALUES (:eventId, :userId, :now, :admin, :reason, :count, :requestKey)
                          ON CONFLICT (event_id) DO NOTHING
                          """)
                      .bind("eventId", event.id())
                      .bind("userId", userId)
                      .bind("now", now)
                      .bind("admin", caller.userId())
                      .bind("reason", reason)
                      .bind("count", count)
                      .bind("requestKey", requestKey.orElse(null))
                      .execute();
              if (recorded > 0) {
                Outbox.append(tx, event, userId.toString());
              }
              return new RiskCleared(userId, caller.userId(), reason, now, count);
            });
    return Reply.ok(cleared);
  }

  /**
   * Whether the user has signed in or been named by a risk signal: clearing anyone else is a
   * mistyped id, not a hold lifted.
   */
  private static boolean known(Handle tx, UUID userId) {
    return tx.createQuery(
            """
            SELECT EXISTS (SELECT 1 FROM users WHERE id = :userId)
                OR EXISTS (SELECT 1 FROM user_risk_flags WHERE user_id = :userId)
            """)
        .bind("userId", userId)
        .mapTo(Boolean.class)
        .one();
  }

  /**
   * The clear the request of {@code requestKey} made within its key's 24 hours, as it answered it:
   * its row in {@code user_risk_clears}, else (a clear made before that table) the flags that carry
   * its key, cleared together by it.
   */
  private static Optional<RiskCleared> clearedUnder(
      Handle tx, UUID userId, String requestKey, Instant now) {
    Optional<RiskCleared> recorded =
        tx.createQuery(
                """
                SELECT user_id, cleared_by, clear_reason, cleared_at, cleared_flags
                FROM user_risk_clears
                WHERE user_id = :userId AND request_key = :requestKey AND cleared_at > :since
                ORDER BY cleared_at
                LIMIT 1
                """)
            .bind("userId", userId)
            .bind("requestKey", requestKey)
            .bind("since", RequestKey.bindsSince(now))
            .map(RiskController::cleared)
            .findFirst();
    if (recorded.isPresent()) {
      return recorded;
    }
    return tx.createQuery(
            """
            SELECT user_id, cleared_by, clear_reason, cleared_at, count(*) AS cleared_flags
            FROM user_risk_flags
            WHERE user_id = :userId AND clear_request_key = :requestKey AND cleared_at > :since
            GROUP BY user_id, cleared_by, clear_reason, cleared_at
            """)
        .bind("userId", userId)
        .bind("requestKey", requestKey)
        .bind("since", RequestKey.bindsSince(now))
        .map(RiskController::cleared)
        .findFirst();
  }

  private static RiskCleared cleared(ResultSet rs, StatementContext ctx) throws SQLException {
    return new RiskCleared(
        rs.getObject("user_id", UUID.class),
        rs.getObject("cleared_by", UUID.class),
        rs.getString("clear_reason"),
        rs.getObject("cleared_at", OffsetDateTime.class).toInstant(),
        rs.getInt("cleared_flags"));
  }
}
