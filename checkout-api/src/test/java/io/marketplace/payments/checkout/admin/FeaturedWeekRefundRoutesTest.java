package io.marketplace.payments.checkout.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.TestApi;
import io.marketplace.payments.checkout.Tokens;
import io.marketplace.payments.testsupport.KafkaTestClient;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * An admin's refund of all of a featured purchase ends its week: the listing no longer shows as
 * featured, and the end is announced as {@code promotion.expired}.
 */
class FeaturedWeekRefundRoutesTest {

  private static TestApi app;
  private static final UUID ADMIN = UUID.randomUUID();

  @BeforeAll
  static void start() {
    app = TestApi.shared();
  }

  @Test
  void shouldEndTheFeaturedWeekAnAdminRefundsInFull() {
    // Given a listing featured since yesterday by a week its owner paid for
    UUID owner = UUID.randomUUID();
    TestApi.PaidListing paid = app.paidListing(owner);
    String featured = app.paidPromotion(owner, paid.listingId(), "featured");
    UUID week = featuredWeek(paid.listingId(), featured);
    assertThat(featuredUntil(owner, paid.listingId())).isNotNull();

    // When an admin refunds all of it
    Http.Response refunded =
        app.http
            .post("/admin/api/marketplace/payments/" + featured + "/refunds")
            .token(Tokens.admin(ADMIN))
            .header("Idempotency-Key", UUID.randomUUID().toString())
            .json(Map.of("amountCents", 500, "reason", "featured by mistake"))
            .send();

    // Then the refund is processed, and the listing is featured no more
    assertThat(refunded.status()).as(refunded.toString()).isEqualTo(201);
    assertThat(refunded.json().get("status").asText()).isEqualTo("processed");
    assertThat(featuredUntil(owner, paid.listingId())).isNull();
    // and the end of its week is announced
    app.kafka.awaitRecord(
        app.topics.paymentEvents(),
        r ->
            KafkaTestClient.text(r).contains("promotion.expired")
                && KafkaTestClient.text(r).contains(week.toString()),
        Duration.ofSeconds(20));
  }

  @Test
  void shouldEndTheFeaturedWeekWhoseFailedRefundTheCustomerGotBackAnotherWay() {
    // Given a featured week whose full refund Stripe failed (the card expired)
    UUID owner = UUID.randomUUID();
    TestApi.PaidListing paid = app.paidListing(owner);
    String featured = app.paidPromotion(owner, paid.listingId(), "featured");
    featuredWeek(paid.listingId(), featured);
    Http.Response requested =
        app.http
            .post("/api/marketplace/listings/" + paid.listingId() + "/refund-request")
            .token(Tokens.user(owner))
            .json(Map.of("reason", "not what I wanted", "paymentIntentId", featured))
            .send();
    assertThat(requested.status()).as(requested.toString()).isEqualTo(202);
    UUID refundId = UUID.fromString(requested.json().get("id").asText());
    app.failedAtStripe(refundId);
    assertThat(featuredUntil(owner, paid.listingId())).isNotNull();

    // When an admin closes it, the customer paid back by bank transfer
    Http.Response closed =
        app.http
            .post("/admin/api/marketplace/refunds/" + refundId + "/close")
            .token(Tokens.admin(ADMIN))
            .json(Map.of("reason", "paid back by bank transfer", "outcome", "refunded_elsewhere"))
            .send();

    // Then the listing is featured no more
    assertThat(closed.status()).as(closed.toString()).isEqualTo(200);
    assertThat(featuredUntil(owner, paid.listingId())).isNull();
  }

  /** The week the payment bought, running since yesterday, as the payment processor records it. */
  private static UUID featuredWeek(UUID listingId, String paymentIntentId) {
    UUID id = UUID.randomUUID();
    Instant startsAt = Instant.now().minus(Duration.ofDays(1)).truncatedTo(ChronoUnit.MICROS);
    app.db.execute(
        """
        INSERT INTO listing_promotions
            (id, listing_id, type, stripe_payment_intent_id, amount_cents, starts_at, expires_at)
        VALUES (?, ?, 'featured', ?, 500, ?, ?)
        """,
        id,
        listingId,
        paymentIntentId,
        startsAt,
        startsAt.plus(Duration.ofDays(7)));
    return id;
  }

  private static String featuredUntil(UUID owner, UUID listingId) {
    var until =
        app.http
            .get("/api/marketplace/listings/" + listingId)
            .token(Tokens.user(owner))
            .send()
            .json()
            .get("featuredUntil");
    return until == null || until.isNull() ? null : until.asText();
  }
}
