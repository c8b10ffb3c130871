package io.marketplace.payments.checkout.idempotency;

import java.time.Instant;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

/** {@code idempotency_keys}: one row per (user, key), claimed before the request runs. */
@RegisterConstructorMapper(IdempotencyKeyDao.StoredKey.class)
public interface IdempotencyKeyDao {

  /**
   * A key's row; {@code responseStatus} is null while the first request is still running, {@code
   * claimedBy} the {@link ClaimOwner} running it (null for claims older than the column).
   */
  record StoredKey(
      String requestFingerprint,
      Integer responseStatus,
      String responseBody,
      Instant createdAt,
      Instant completedAt,
      Integer claimedBy) {

    public boolean completed() {
      return completedAt != null && responseStatus != null;
    }
  }

  /**
   * Claims a key for this request: a new key, one whose 24 hours are over, or one whose first
   * request (same fingerprint) was abandoned unfinished. Returns the claim's {@code created_at}
   * (the token that later completes or releases it), or empty when someone else holds the key.
   */
  @SqlQuery(
      """
      INSERT INTO idempotency_keys
          (user_id, idempotency_key, request_fingerprint, created_at, claimed_by)
      VALUES (:userId, :key, :fingerprint, :now, :owner)
      ON CONFLICT (user_id, idempotency_key) DO UPDATE
      SET request_fingerprint = EXCLUDED.request_fingerprint, created_at = EXCLUDED.created_at,
          claimed_by = EXCLUDED.claimed_by,
          response_status = NULL, response_body = NULL, completed_at = NULL
      WHERE idempotency_keys.created_at < :expiredBefore
         OR (idempotency_keys.completed_at IS NULL
             AND idempotency_keys.created_at < :abandonedBefore
             AND idempotency_keys.request_fingerprint = EXCLUDED.request_fingerprint)
      RETURNING created_at
      """)
  Optional<Instant> claim(
      @Bind("userId") UUID userId,
      @Bind("key") String key,
      @Bind("fingerprint") String fingerprint,
      @Bind("now") Instant now,
      @Bind("expiredBefore") Instant expiredBefore,
      @Bind("abandonedBefore") Instant abandonedBefore,
      @Bind("owner") int owner);

  @SqlQuery(
      """
      SELECT request_fingerprint, response_status, response_body, created_at, completed_at,
             claimed_by
      FROM idempotency_keys WHERE user_id = :userId AND idempotency_key = :key
      """)
  Optional<StoredKey> find(@Bind("userId") UUID userId, @Bind("key") String key);

  /**
   * Whether the process that made a claim still lives: whether some session of this database holds
   * its {@link ClaimOwner} lock.
   */
  @SqlQuery(
      """
      SELECT EXISTS (
          SELECT 1 FROM pg_locks
          WHERE locktype = 'advisory' AND granted
            AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
            AND classid = CAST(:lockClass AS oid) AND objid = CAST(:owner AS oid)
            AND objsubid = 2)
      """)
  boolean ownerAlive(@Bind("lockClass") int lockClass, @Bind("owner") int owner);

  /**
   * Takes over a claim whose owner is gone, if it is still the claim that was seen ({@code
   * claimedAt}) and still unfinished: of several retries that find it so, one gets it. Returns the
   * new claim's {@code created_at}, or empty when the claim moved meanwhile.
   */
  @SqlQuery(
      """
      UPDATE idempotency_keys SET created_at = :now, claimed_by = :owner
      WHERE user_id = :userId AND idempotency_key = :key AND created_at = :claimedAt
        AND completed_at IS NULL AND request_fingerprint = :fingerprint
      RETURNING created_at
      """)
  Optional<Instant> takeOver(
      @Bind("userId") UUID userId,
      @Bind("key") String key,
      @Bind("fingerprint") String fingerprint,
      @Bind("claimedAt") Instant claimedAt,
      @Bind("now") Instant now,
      @Bind("owner") int owner);

  @SqlUpdate(
      """
      UPDATE idempotency_keys
      SET response_status = :status, response_body = :body, completed_at = :now
      WHERE user_id = :userId AND idempotency_key = :key AND created_at = :claimedAt
        AND completed_at IS NULL
      """)
  int complete(
      @Bind("userId") UUID userId,
      @Bind("key") String key,
      @Bind("claimedAt") Instant claimedAt,
      @Bind("status") int status,
      @Bind("body") String body,
      @Bind("now") Instant now);

  /** Gives a key back when its request failed without an answer worth replaying. */
  @SqlUpdate(
      """
      DELETE FROM idempotency_keys
      WHERE user_id = :userId AND idempotency_key = :key AND created_at = :claimedAt
        AND completed_at IS NULL
      """)
  int release(
      @Bind("userId") UUID userId, @Bind("key") String key, @Bind("claimedAt") Instant claimedAt);

  @SqlUpdate("DELETE FROM idempotency_keys WHERE created_at < :before")
  int purgeOlderThan(@Bind("before") Instant before);
}
