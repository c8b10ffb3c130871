package io.marketplace.payments.checkout.auth;

import io.marketplace.payments.common.http.ProblemException;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.Handle;

/**
 * SPEC §1: a user flagged by a risk signal ({@code user_risk_flags}, written by payment-risk) may
 * not check out or promote until the cool-down ends or an admin clears the flag: 403 with {@code
 * Retry-After} in seconds until the latest flag ends.
 */
public final class RiskFlags {

  private RiskFlags() {}

  private record Active(String signal, Instant until) {}

  public static void refuseFlagged(Handle tx, UUID userId, Instant now) {
    Optional<Active> active =
        tx.createQuery(
                """
                SELECT signal, flagged_until FROM user_risk_flags
                WHERE user_id = :userId AND cleared_at IS NULL AND flagged_until > :now
                ORDER BY flagged_until DESC
                LIMIT 1
                """)
            .bind("userId", userId)
            .bind("now", now)
            .map((rs, ctx) -> new Active(rs.getString(1), rs.getTimestamp(2).toInstant()))
            .findOne();
    if (active.isPresent()) {
      long seconds =
          Math.max(1, (Duration.between(now, active.get().until()).toMillis() + 999) / 1000);
      throw new ProblemException(
          403,
          "Forbidden",
          "this account is on hold after a risk signal ("
              + active.get().signal()
              + "); payments are possible again after the cool-down or an admin review",
          Map.of(),
          Map.of("Retry-After", Long.toString(seconds)));
    }
  }
}
