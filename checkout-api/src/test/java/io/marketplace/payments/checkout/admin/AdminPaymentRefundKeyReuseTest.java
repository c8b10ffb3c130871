package io.marketplace.payments.checkout.admin;

import static org.assertj.core.api.Assertions.assertThat;

import com.stripe.model.Refund;
import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.TestApi;
import io.marketplace.payments.checkout.Tokens;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * SPEC §3 binds an Idempotency-Key to its request for 24 h only; after that the same key is a new
 * request (as {@code IdempotencyKeyTest#shouldRunAgainWhenTheKeyIsOlderThan24Hours} shows), and an
 * admin's refund under it is a new refund, not yesterday's answered again.
 */
class AdminPaymentRefundKeyReuseTest {

  private static TestApi app;
  private static final UUID ADMIN = UUID.randomUUID();

  @BeforeAll
  static void start() {
    app = TestApi.shared();
  }

  private static String featured() {
    UUID owner = UUID.randomUUID();
    TestApi.PaidListing listing = app.paidListing(owner);
    return app.paidPromotion(owner, listing.listingId(), "featured");
  }

  private static Http.Call refund(String paymentIntentId, long amountCents, String key) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("amountCents", amountCents);
    body.put("reason", "goodwill");
    return app.http
        .post("/admin/api/marketplace/payments/" + paymentIntentId + "/refunds")
        .token(Tokens.admin(ADMIN))
        .idempotencyKey(key)
        .json(body);
  }

  /** Moves the key's claim and the refund it recorded a day and an hour back. */
  private static void ageKey(String key, Http.Response refunded) {
    app.db.execute(
        "UPDATE idempotency_keys SET created_at = now() - interval '25 hours'"
            + " WHERE user_id = ? AND idempotency_key = ?",
        ADMIN,
        key);
    app.db.execute(
        "UPDATE payment_refunds SET created_at = created_at - interval '25 hours' WHERE id = ?",
        UUID.fromString(refunded.json().get("id").asText()));
  }

  @Test
  void shouldRefundAgainWhenTheAdminReusesAKeyForTheSamePaymentAfter24Hours() {
    // Given 100 cents of a 500-cent featured payment refunded under a key more than a day ago
    String pi = featured();
    String key = UUID.randomUUID().toString();
    Http.Response first = refund(pi, 100, key).send();
    assertThat(first.status()).as(first.toString()).isEqualTo(201);
    ageKey(key, first);

    // When the admin refunds another 100 cents under the same key, a day later
    Http.Response second = refund(pi, 100, key).send();

    // Then it is a new request: a second refund is made (400 cents were still left)
    assertThat(second.status()).as(second.toString()).isEqualTo(201);
    assertThat(second.json().get("id").asText())
        .as("a new refund record, not the one of yesterday")
        .isNotEqualTo(first.json().get("id").asText());
    assertThat(app.refundsAtStripe(pi)).extracting(Refund::getAmount).containsExactly(100L, 100L);

    // And when that request is retried under the key after its claim was given back (as a 5xx
    // does), it reaches today's record again, and nothing more is refunded
    app.db.execute(
        "DELETE FROM idempotency_keys WHERE user_id = ? AND idempotency_key = ?", ADMIN, key);
    Http.Response retried = refund(pi, 100, key).send();
    assertThat(retried.status()).as(retried.toString()).isEqualTo(201);
    assertThat(retried.json().get("id").asText()).isEqualTo(second.json().get("id").asText());
    assertThat(app.refundsAtStripe(pi)).hasSize(2);
  }

  @Test
  void shouldRefundAnotherPaymentWhenTheAdminReusesAKeyAfter24Hours() {
    // Given a refund of one payment under a key more than a day ago
    String yesterdays = featured();
    String key = UUID.randomUUID().toString();
    Http.Response first = refund(yesterdays, 100, key).send();
    assertThat(first.status()).as(first.toString()).isEqualTo(201);
    ageKey(key, first);

    // When the admin refunds another payment under the same key
    String todays = featured();
    Http.Response response = refund(todays, 100, key).send();

    // Then it is refunded (SPEC: a key is only bound to its body within 24 h)
    assertThat(response.status()).as(response.toString()).isEqualTo(201);
    assertThat(app.refundsAtStripe(todays)).extracting(Refund::getAmount).containsExactly(100L);
  }
}
