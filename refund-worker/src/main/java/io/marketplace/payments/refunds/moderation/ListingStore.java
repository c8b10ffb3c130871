package io.marketplace.payments.refunds.moderation;

import java.time.Instant;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

/** Moderation's statements on {@code marketplace_listings}. */
@RegisterConstructorMapper(Listing.class)
public interface ListingStore {

  @SqlQuery(
      "SELECT id, user_id, status, expires_at FROM marketplace_listings WHERE id = :id FOR UPDATE")
  Optional<Listing> lock(@Bind("id") UUID id);

  /** Marks a listing rejected unless it already is; 0 when it was. */
  @SqlUpdate(
      """
      UPDATE marketplace_listings
      SET status = 'rejected', rejected_at = :at, rejection_reason = :reason, updated_at = :now
      WHERE id = :id AND status <> 'rejected'
      """)
  int reject(
      @Bind("id") UUID id,
      @Bind("reason") String reason,
      @Bind("at") Instant rejectedAt,
      @Bind("now") Instant now);
}
