package io.marketplace.payments.checkout.listing;

import java.time.Instant;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

@RegisterConstructorMapper(Listing.class)
public interface ListingDao {

  /**
   * The end of the listing {@code l}'s running featured promotions: not marked expired and ending
   * after {@code :now}.
   */
  String FEATURED_UNTIL =
      """
      (SELECT max(p.expires_at) FROM listing_promotions p
       WHERE p.listing_id = l.id AND p.type = 'featured' AND p.expired_at IS NULL
         AND p.expires_at > :now)
      """;

  String FROM =
      """
      FROM marketplace_listings l JOIN categories c ON c.id = l.category_id
      """;

  String SELECT =
      """
      SELECT l.id, l.user_id, l.category_id, c.slug AS category_slug, l.title, l.status,
             l.payment_intent_id, l.activated_at, l.expires_at, l.last_bumped_at,
      """
          + FEATURED_UNTIL
          + " AS featured_until, l.created_at\n"
          + FROM;

  @SqlQuery(SELECT + " WHERE l.id = :id")
  Optional<Listing> find(@Bind("id") UUID id, @Bind("now") Instant now);

  /**
   * Reads a listing and holds its row until the transaction ends: every purchase, refund request
   * and rejection of one listing is decided one at a time.
   *
   * <p>Its {@code featuredUntil} is read by a statement of its own once the row is locked. A
   * statement sees what was committed when it began: one that waited for the lock while the payment
   * processor added a featured week under it (the processor holds the listing's lock while it adds
   * one) would get the newest listing row but the promotions as they were before the wait, and sell
   * a week that does not fit. The processor adds weeks only under the lock, so what this reads
   * stands until the transaction ends.
   */
  default Optional<Listing> lock(UUID id, Instant now) {
    return lockRow(id).map(listing -> listing.withFeaturedUntil(featuredUntil(id, now)));
  }

  /** The listing's row, locked; its {@code featuredUntil} is not read (null). */
  @SqlQuery(
      """
      SELECT l.id, l.user_id, l.category_id, c.slug AS category_slug, l.title, l.status,
             l.payment_intent_id, l.activated_at, l.expires_at, l.last_bumped_at,
             CAST(NULL AS timestamptz) AS featured_until, l.created_at
      """
          + FROM
          + " WHERE l.id = :id FOR UPDATE OF l")
  Optional<Listing> lockRow(@Bind("id") UUID id);

  /** The end of the listing's running featured promotions at {@code now}, or null. */
  @SqlQuery(
      """
      SELECT max(p.expires_at) FROM listing_promotions p
      WHERE p.listing_id = :id AND p.type = 'featured' AND p.expired_at IS NULL
        AND p.expires_at > :now
      """)
  Instant featuredUntil(@Bind("id") UUID id, @Bind("now") Instant now);

  @SqlUpdate(
      """
      INSERT INTO marketplace_listings
          (id, user_id, category_id, title, status, activated_at, expires_at, created_at,
           updated_at)
      VALUES (:id, :userId, :categoryId, :title, :status, :activatedAt, :expiresAt, :now, :now)
      ON CONFLICT (id) DO NOTHING
      """)
  void insert(
      @Bind("id") UUID id,
      @Bind("userId") UUID userId,
      @Bind("categoryId") long categoryId,
      @Bind("title") String title,
      @Bind("status") String status,
      @Bind("activatedAt") Instant activatedAt,
      @Bind("expiresAt") Instant expiresAt,
      @Bind("now") Instant now);

  /** The PaymentIntent that pays a listing's posting fee, shown in the listing JSON. */
  @SqlUpdate(
      """
      UPDATE marketplace_listings SET payment_intent_id = :paymentIntentId, updated_at = :now
      WHERE id = :id AND status = 'pending_payment'
        AND payment_intent_id IS DISTINCT FROM :paymentIntentId
      """)
  int recordPaymentIntent(
      @Bind("id") UUID id,
      @Bind("paymentIntentId") String paymentIntentId,
      @Bind("now") Instant now);

  /**
   * Moderation: pending_payment or active → rejected by the super_admin {@code rejectedBy}, with
   * the admin request's {@link io.marketplace.payments.checkout.idempotency.RequestKey} (null
   * without an Idempotency-Key); 0 when it is already over.
   */
  @SqlUpdate(
      """
      UPDATE marketplace_listings
      SET status = 'rejected', rejected_at = :now, rejection_reason = :reason,
          rejected_by = :rejectedBy, rejection_request_key = :requestKey, updated_at = :now
      WHERE id = :id AND status IN ('pending_payment', 'active')
      """)
  int reject(
      @Bind("id") UUID id,
      @Bind("reason") String reason,
      @Bind("rejectedBy") UUID rejectedBy,
      @Bind("requestKey") String requestKey,
      @Bind("now") Instant now);

  /**
   * Whether the request of {@code requestKey} rejected the listing since {@code since}: a rerun of
   * a rejection whose answer was lost after it committed.
   */
  @SqlQuery(
      """
      SELECT EXISTS (
          SELECT 1 FROM marketplace_listings
          WHERE id = :id AND status = 'rejected' AND rejection_request_key = :requestKey
            AND rejected_at > :since)
      """)
  boolean rejectedUnder(
      @Bind("id") UUID id, @Bind("requestKey") String requestKey, @Bind("since") Instant since);
}
