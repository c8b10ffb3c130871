package io.marketplace.payments.refunds.promotion;

import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.refunds.Harness;
import io.marketplace.payments.testsupport.Await;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * The featured weeks of the tests of this package, as the payment processor records them and as
 * their rows read: one harness's weeks, bought, looked at, and the Stripe events forwarded for
 * them.
 */
final class FeaturedWeeks {

  static final Duration WEEK = Duration.ofDays(7);

  /** A featured week of a listing, paid at the emulator. */
  record Week(UUID id, String paymentIntentId, Instant expiresAt) {}

  private final Harness h;

  FeaturedWeeks(Harness h) {
    this.h = h;
  }

  /** A week of {@code listing} from {@code startsAt}, its payment recorded as made now. */
  Week buy(Harness.Paid listing, Instant startsAt) {
    return buy(listing, startsAt, h.now());
  }

  /**
   * A week of {@code listing} from {@code startsAt}, its payment recorded as made at {@code
   * paidAt}.
   */
  Week buy(Harness.Paid listing, Instant startsAt, Instant paidAt) {
    String pi = h.charge(listing.userId(), listing.listingId(), 500, "promotion_featured");
    h.recordPayment(pi, listing.userId(), listing.listingId(), 500, "promotion_featured", paidAt);
    UUID id = UUID.randomUUID();
    h.db()
        .execute(
            """
            INSERT INTO listing_promotions (id, listing_id, type, stripe_payment_intent_id,
                                            amount_cents, starts_at, expires_at)
            VALUES (?, ?, 'featured', ?, 500, ?, ?)
            """,
            id,
            listing.listingId(),
            pi,
            startsAt,
            startsAt.plus(WEEK));
    return new Week(id, pi, startsAt.plus(WEEK));
  }

  /** The listing's featured weeks other than {@code known}. */
  List<Map<String, Object>> besides(UUID listingId, Set<UUID> known) {
    return h
        .db()
        .rows(
            "SELECT id FROM listing_promotions WHERE listing_id = ? AND type = 'featured'",
            listingId)
        .stream()
        .filter(row -> !known.contains((UUID) row.get("id")))
        .toList();
  }

  /** The week that week {@code promotionId} gives back, or null. */
  UUID restores(UUID promotionId) {
    return (UUID)
        h.db()
            .row("SELECT restores_promotion_id FROM listing_promotions WHERE id = ?", promotionId)
            .orElseThrow()
            .get("restores_promotion_id");
  }

  /** The harness's time at PostgreSQL's precision, as the rows keep it. */
  Instant now() {
    return h.now().truncatedTo(ChronoUnit.MICROS);
  }

  Instant expiredAt(UUID promotionId) {
    return instant(
        h.db()
            .row("SELECT expired_at FROM listing_promotions WHERE id = ?", promotionId)
            .orElseThrow()
            .get("expired_at"));
  }

  /** When week {@code promotionId} starts and ends. */
  List<Instant> times(UUID promotionId) {
    Map<String, Object> row =
        h.db()
            .row("SELECT starts_at, expires_at FROM listing_promotions WHERE id = ?", promotionId)
            .orElseThrow();
    return List.of(instant(row.get("starts_at")), instant(row.get("expires_at")));
  }

  /** The id of the first event of {@code type} about {@code objectId} the emulator forwarded. */
  String awaitForwarded(String type, String objectId) {
    return Await.value(
        Harness.WAIT,
        type + " of " + objectId,
        () -> h.webhooks().forwarded(type, objectId).stream().findFirst());
  }

  static Instant instant(Object value) {
    return switch (value) {
      case null -> null;
      case Instant i -> i;
      case OffsetDateTime o -> o.toInstant();
      case java.sql.Timestamp t -> t.toInstant();
      case JsonNode n -> n.isNull() ? null : Instant.parse(n.asText());
      default -> throw new IllegalArgumentException("not a time: " + value.getClass());
    };
  }
}
