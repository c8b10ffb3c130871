package io.marketplace.payments.refunds.moderation;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.refunds.Harness;
import io.marketplace.payments.testsupport.EventSchemas;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A listing rejected through {@code marketplace.moderation.v1} stops being featured at once: its
 * running featured weeks are ended and each is announced once as {@code promotion.expired}.
 */
class ModerationFeaturedWeeksTest {

  private static Harness h;

  @BeforeAll
  static void start() {
    h = new Harness();
  }

  @AfterAll
  static void stop() {
    h.close();
  }

  @Test
  void shouldEndTheRunningFeaturedWeeksOnceWhenTheListingIsRejected() throws Exception {
    // Given an active listing featured for this week, and a week that ended two days ago which
    // the expirer has not come to yet
    var paid = h.paidListing(Duration.ofHours(30));
    Instant now = h.now();
    UUID running = featuredWeek(paid.listingId(), now.minus(Duration.ofDays(1)));
    UUID over = featuredWeek(paid.listingId(), now.minus(Duration.ofDays(9)));

    // When moderation rejects it, and the same decision is published again a minute later
    h.reject(paid.listingId(), now);
    h.awaitModerationApplied(paid.listingId(), 1);
    h.reject(paid.listingId(), now.plusSeconds(60));
    h.awaitModerationApplied(paid.listingId(), 2);

    // Then the listing is rejected and its running week ended, its row kept
    assertThat(h.listingStatus(paid.listingId())).isEqualTo("rejected");
    assertThat(
            h.db()
                .count(
                    "listing_promotions WHERE id = ? AND expired_at IS NOT NULL"
                        + " AND expired_at < expires_at",
                    running))
        .isEqualTo(1);
    // and announced once, as the schema says, with nothing left featured after it
    List<JsonNode> expired = h.paymentEvents("promotion.expired", running.toString());
    assertThat(expired).hasSize(1);
    assertThat(EventSchemas.violations("promotion.expired", Json.write(expired.getFirst())))
        .isEmpty();
    assertThat(expired.getFirst().at("/data/listingFeaturedUntil").isNull()).isTrue();
    // and the week that had ended on its own is left to the expirer, which announces its end
    assertThat(h.paymentEvents("promotion.expired", over.toString())).isEmpty();
    assertThat(h.db().count("listing_promotions WHERE id = ? AND expired_at IS NULL", over))
        .isEqualTo(1);
  }

  /** A featured week of the listing from {@code startsAt}, as the payment processor records it. */
  private static UUID featuredWeek(UUID listingId, Instant startsAt) {
    UUID id = UUID.randomUUID();
    h.db()
        .execute(
            """
            INSERT INTO listing_promotions (id, listing_id, type, stripe_payment_intent_id,
                                            amount_cents, starts_at, expires_at)
            VALUES (?, ?, 'featured', ?, 500, ?, ?)
            """,
            id,
            listingId,
            "pi_" + id.toString().replace("-", ""),
            startsAt,
            startsAt.plus(Duration.ofDays(7)));
    return id;
  }
}
