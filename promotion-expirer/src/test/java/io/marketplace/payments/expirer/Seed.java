package io.marketplace.payments.expirer;

import io.marketplace.payments.testsupport.TestDatabase;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;

/** Rows as the checkout API and the payment processor leave them, written in plain SQL. */
public final class Seed {

  private static final long HOUSING = 1;

  private final TestDatabase db;

  public Seed(TestDatabase db) {
    this.db = db;
  }

  public UUID user() {
    UUID id = UUID.randomUUID();
    db.execute("INSERT INTO users (id) VALUES (?)", id);
    return id;
  }

  /** An active listing that ends at {@code expiresAt}. */
  public UUID activeListing(UUID user, Instant expiresAt) {
    UUID id = UUID.randomUUID();
    db.execute(
        """
        INSERT INTO marketplace_listings
          (id, user_id, category_id, title, status, payment_intent_id, activated_at, expires_at)
        VALUES (?, ?, ?, 'Sunny room', 'active', ?, ?, ?)
        """,
        id,
        user,
        HOUSING,
        "pi_" + id,
        expiresAt.minus(Duration.ofDays(30)),
        expiresAt);
    return id;
  }

  /** A listing in another status, with an end in the past (a rejected one keeps its dates). */
  public UUID listingWithStatus(UUID user, String status, Instant expiresAt) {
    UUID id = UUID.randomUUID();
    db.execute(
        """
        INSERT INTO marketplace_listings
          (id, user_id, category_id, title, status, activated_at, expires_at)
        VALUES (?, ?, ?, 'Old bike', ?, ?, ?)
        """,
        id,
        user,
        HOUSING,
        status,
        expiresAt == null ? null : expiresAt.minus(Duration.ofDays(30)),
        expiresAt);
    return id;
  }

  /** A running featured promotion of {@code listing} that ends at {@code expiresAt}. */
  public UUID featured(UUID listing, Instant expiresAt) {
    UUID id = UUID.randomUUID();
    db.execute(
        """
        INSERT INTO listing_promotions
          (id, listing_id, type, stripe_payment_intent_id, amount_cents, starts_at, expires_at)
        VALUES (?, ?, 'featured', ?, 500, ?, ?)
        """,
        id,
        listing,
        "pi_" + id,
        expiresAt.minus(Duration.ofDays(7)),
        expiresAt);
    return id;
  }

  public UUID bump(UUID listing, Instant at) {
    UUID id = UUID.randomUUID();
    db.execute(
        """
        INSERT INTO listing_promotions
          (id, listing_id, type, stripe_payment_intent_id, amount_cents, starts_at)
        VALUES (?, ?, 'bump', ?, 200, ?)
        """,
        id,
        listing,
        "pi_" + id,
        at);
    return id;
  }

  /**
   * {@code count} active listings, each with one running featured promotion; promotions end one
   * millisecond apart before {@code promotionsEndBy}, and the first {@code dueListings} listings
   * end before {@code promotionsEndBy} too, the others a year later.
   */
  public void backlog(int count, int dueListings, Instant promotionsEndBy) {
    UUID user = user();
    db.execute(
        """
        INSERT INTO marketplace_listings
          (id, user_id, category_id, title, status, activated_at, expires_at)
        SELECT gen_random_uuid(), ?, ?, 'backlog ' || g, 'active',
               ?::timestamptz - interval '30 days',
               CASE WHEN g <= ? THEN ?::timestamptz - g * interval '1 millisecond'
                    ELSE ?::timestamptz + interval '365 days' END
        FROM generate_series(1, ?) g
        """,
        user,
        HOUSING,
        promotionsEndBy,
        dueListings,
        promotionsEndBy,
        promotionsEndBy,
        count);
    db.execute(
        """
        INSERT INTO listing_promotions
          (id, listing_id, type, stripe_payment_intent_id, amount_cents, starts_at, expires_at)
        SELECT gen_random_uuid(), l.id, 'featured', 'pi_backlog_' || l.id, 500,
               ?::timestamptz - interval '7 days' - n * interval '1 millisecond',
               ?::timestamptz - n * interval '1 millisecond'
        FROM (SELECT id, row_number() OVER () AS n FROM marketplace_listings WHERE user_id = ?) l
        """,
        promotionsEndBy,
        promotionsEndBy,
        user);
  }
}
