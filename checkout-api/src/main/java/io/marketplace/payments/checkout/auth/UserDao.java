package io.marketplace.payments.checkout.auth;

import java.time.Instant;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

/** The {@code users} rows this service needs: created on first listing, and bans. */
public interface UserDao {

  /** A user is known to us from their first listing; creating it twice is harmless. */
  @SqlUpdate("INSERT INTO users (id) VALUES (:id) ON CONFLICT (id) DO NOTHING")
  void ensure(@Bind("id") UUID id);

  @SqlQuery("SELECT banned_at FROM users WHERE id = :id AND banned_at IS NOT NULL")
  Optional<Instant> bannedAt(@Bind("id") UUID id);
}
