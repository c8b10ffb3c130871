package io.marketplace.payments.checkout.admin;

import io.javalin.http.Context;
import io.marketplace.payments.checkout.auth.Caller;
import io.marketplace.payments.checkout.http.PathIds;
import io.marketplace.payments.checkout.http.Reply;
import io.marketplace.payments.checkout.http.RequestBody;
import io.marketplace.payments.checkout.idempotency.RequestKey;
import io.marketplace.payments.common.events.PaymentEvent;
import io.marketplace.payments.common.events.PaymentEventType;
import io.marketplace.payments.common.http.ProblemException;
import io.marketplace.payments.common.outbox.Outbox;
import java.time.Clock;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /admin/api/marketplace/users/{id}/unban {"reason"}}: a super_admin lifts a chargeback
 * ban (SPEC §1). In one transaction the ban is cleared, who, when and why are stored on the user,
 * and {@code user.unbanned} is announced. The unban stands until the next new dispute is counted. A
 * user who is not banned answers 409: there is nothing to lift.
 *
 * <p>Under an {@code Idempotency-Key} the user's row keeps the unban's {@link RequestKey}: a rerun
 * of the same request whose answer was lost after the unban committed finds it and answers as the
 * first run did, instead of 409 "not banned" (or, the user banned again meanwhile, a second unban).
 */
public final class AdminUserController {

  private static final Logger log = LoggerFactory.getLogger(AdminUserController.class);
  static final int MAX_REASON = 1000;

  /** The data of {@code user.unbanned}. */
  public record UserUnbanned(
      UUID userId,
      String reason,
      UUID unbannedBy,
      Instant bannedAt,
      String banReason,
      Instant unbannedAt) {}

  /** The answer: the user's ban state after the unban. */
  public record UserView(
      UUID id, boolean banned, Instant unbannedAt, UUID unbannedBy, String unbanReason) {}

  /** A {@code users} row, as far as bans go. */
  public record UserBan(
      UUID id,
      Instant bannedAt,
      String banReason,
      Instant unbannedAt,
      UUID unbannedBy,
      String unbanReason,
      String unbanRequestKey) {

    /** Whether the last unban was the request of {@code requestKey}, since {@code since}. */
    boolean unbannedUnder(String requestKey, Instant since) {
      return requestKey.equals(unbanRequestKey) && unbannedAt.isAfter(since);
    }
  }

  @RegisterConstructorMapper(UserBan.class)
  public interface UserBanDao {
    @SqlQuery(
        """
        SELECT id, banned_at, ban_reason, unbanned_at, unbanned_by, unban_reason, unban_request_key
        FROM users WHERE id = :id FOR UPDATE
        """)
    Optional<UserBan> lock(@Bind("id") UUID id);

    @SqlUpdate(
        """
        UPDATE users SET banned_at = NULL, ban_reason = NULL, unbanned_at = :at,
            unbanned_by = :by, unban_reason = :reason, unban_request_key = :requestKey,
            updated_at = :at
        WHERE id = :id AND banned_at IS NOT NULL
        """)
    int unban(
        @Bind("id") UUID id,
        @Bind("by") UUID by,
        @Bind("reason") String reason,
        @Bind("requestKey") String requestKey,
        @Bind("at") Instant at);
  }

  private final Jdbi jdbi;
  private final Clock clock;

  public AdminUserController(Jdbi jdbi, Clock clock) {
    this.jdbi = jdbi;
    this.clock = clock;
  }

  public Reply unban(Context ctx, Caller caller) {
    UUID id = PathIds.uuid(ctx, "id", "user");
    caller.refuseOwn(id, "lift their own ban");
    RequestBody body = RequestBody.of(ctx);
    String reason = body.requiredText("reason", MAX_REASON);
    body.validate();
    Optional<String> requestKey = RequestKey.of(ctx, caller.userId());
    UserView unbanned =
        jdbi.inTransaction(
            tx -> {
              UserBanDao users = tx.attach(UserBanDao.class);
              UserBan user =
                  users.lock(id).orElseThrow(() -> ProblemException.notFound("no user " + id));
              Instant now = clock.instant();
              if (requestKey.isPresent()
                  && user.unbannedUnder(requestKey.get(), RequestKey.bindsSince(now))) {
                // this request unbanned them, and announced it, already: its answer again, with
                // the ban as it is now (a new chargeback may have banned them since)
                return new UserView(
                    id,
                    user.bannedAt() != null,
                    user.unbannedAt(),
                    user.unbannedBy(),
                    user.unbanReason());
              }
              if (user.bannedAt() == null) {
                throw ProblemException.conflict("the user is not banned; there is nothing to lift");
              }
              users.unban(id, caller.userId(), reason, requestKey.orElse(null), now);
              String key = id.toString();
              Outbox.append(
                  tx,
                  PaymentEvent.of(
                      PaymentEventType.USER_UNBANNED,
                      key + "/" + now,
                      now,
                      new UserUnbanned(
                          id, reason, caller.userId(), user.bannedAt(), user.banReason(), now)),
                  key);
              return new UserView(id, false, now, caller.userId(), reason);
            });
    log.warn("user {} unbanned by {}: {}", id, caller.userId(), reason);
    return Reply.ok(unbanned);
  }
}
