package io.marketplace.payments.checkout.listing;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.TestApi;
import io.marketplace.payments.checkout.Tokens;
import io.marketplace.payments.common.json.Json;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ListingRoutesTest {

  private static TestApi app;

  @BeforeAll
  static void start() {
    app = TestApi.shared();
  }

  @Test
  void shouldListCategoriesWithTheirFeesWhenAnyoneAsks() {
    // When
    Http.Response response = app.http.get("/api/marketplace/categories").send();

    // Then
    assertThat(response.status()).isEqualTo(200);
    JsonNode categories = response.json();
    assertThat(categories).hasSize(9);
    assertThat(categories.get(0).get("slug").asText()).isEqualTo("housing");
    assertThat(categories.get(0).get("name").asText()).isEqualTo("Housing");
    assertThat(categories.get(0).get("postingFeeCents").asInt()).isEqualTo(500);
    assertThat(categories.findValuesAsText("slug"))
        .contains("jobs", "cars-trucks", "motorcycles", "rvs-campers", "boats", "for-sale");
  }

  @Test
  void shouldCreatePendingPaymentListingWhenCategoryIsPaid() {
    // Given
    UUID user = UUID.randomUUID();

    // When
    Http.Response response =
        app.http
            .post("/api/marketplace/listings")
            .token(Tokens.user(user))
            .json(Map.of("title", "  Two-bedroom flat  ", "categorySlug", "housing"))
            .send();

    // Then
    assertThat(response.status()).isEqualTo(201);
    JsonNode listing = response.json();
    assertThat(listing.get("userId").asText()).isEqualTo(user.toString());
    assertThat(listing.get("categorySlug").asText()).isEqualTo("housing");
    assertThat(listing.get("title").asText()).isEqualTo("Two-bedroom flat");
    assertThat(listing.get("status").asText()).isEqualTo("pending_payment");
    assertThat(listing.get("activatedAt").isNull()).isTrue();
    assertThat(listing.get("expiresAt").isNull()).isTrue();
    assertThat(listing.get("featuredUntil").isNull()).isTrue();
    assertThat(listing.has("paymentIntentId")).isTrue();
    assertThat(listing.has("lastBumpedAt")).isTrue();
    assertThat(app.db.count("users WHERE id = ?", user)).isEqualTo(1);
    assertThat(
            app.db.count(
                "marketplace_listings WHERE id = ? AND status = 'pending_payment'",
                UUID.fromString(listing.get("id").asText())))
        .isEqualTo(1);
  }

  @Test
  void shouldAnswerWithTheFirstRunsListingWhenARequestRunsAgainUnderItsKey() {
    // Given a listing created under an Idempotency-Key, whose answer was then never stored (the
    // process died after the commit, or storing the answer failed and the key was given back)
    UUID user = UUID.randomUUID();
    String key = UUID.randomUUID().toString();
    Map<String, String> body = Map.of("title", "Mountain bike", "categorySlug", "for-sale");
    Http.Response first = createUnder(user, key, body);
    assertThat(first.status()).isEqualTo(201);
    app.db.execute("DELETE FROM idempotency_keys WHERE user_id = ?", user);

    // When the client's retry runs the request again under the same key
    Http.Response again = createUnder(user, key, body);

    // Then it answers with the listing the first run created, and the user has that one only
    assertThat(again.status()).isEqualTo(201);
    assertThat(again.json().get("id").asText()).isEqualTo(first.json().get("id").asText());
    assertThat(app.db.count("marketplace_listings WHERE user_id = ?", user)).isEqualTo(1);
    // while another key, or the same key for another listing, creates another
    assertThat(createUnder(user, UUID.randomUUID().toString(), body).status()).isEqualTo(201);
    app.db.execute("DELETE FROM idempotency_keys WHERE user_id = ?", user);
    assertThat(
            createUnder(user, key, Map.of("title", "Road bike", "categorySlug", "for-sale"))
                .status())
        .isEqualTo(201);
    assertThat(app.db.count("marketplace_listings WHERE user_id = ?", user)).isEqualTo(3);
  }

  private static Http.Response createUnder(UUID user, String key, Map<String, String> body) {
    return app.postListing(user, key, Json.write(body));
  }

  @Test
  void shouldCreateActiveListingForTheTtlWhenCategoryIsFree() {
    // Given
    UUID user = UUID.randomUUID();

    // When
    Http.Response response =
        app.http
            .post("/api/marketplace/listings")
            .token(Tokens.user(user))
            .json(Map.of("title", "Free sofa", "categorySlug", "for-sale"))
            .send();

    // Then
    assertThat(response.status()).isEqualTo(201);
    JsonNode listing = response.json();
    assertThat(listing.get("status").asText()).isEqualTo("active");
    Instant activatedAt = Instant.parse(listing.get("activatedAt").asText());
    Instant expiresAt = Instant.parse(listing.get("expiresAt").asText());
    assertThat(Duration.between(activatedAt, expiresAt)).isEqualTo(Duration.ofDays(30));
  }

  @Test
  void shouldNameEachWrongFieldWhenBodyIsInvalid() {
    // When
    Http.Response response =
        app.http
            .post("/api/marketplace/listings")
            .token(Tokens.user(UUID.randomUUID()))
            .json("{\"title\": 42}")
            .send();

    // Then
    assertThat(response.status()).isEqualTo(400);
    assertThat(response.contentType()).startsWith("application/problem+json");
    JsonNode problem = response.json();
    assertThat(problem.get("status").asInt()).isEqualTo(400);
    assertThat(problem.get("errors").get("title").asText()).isEqualTo("must be a string");
    assertThat(problem.get("errors").get("categorySlug").asText()).isEqualTo("is required");
    assertThat(problem.get("detail").asText()).contains("title", "categorySlug");
  }

  @Test
  void shouldRefuseWhenCategoryIsUnknownOrBodyIsNotJson() {
    // Given
    String token = Tokens.user(UUID.randomUUID());

    // When
    Http.Response unknown =
        app.http
            .post("/api/marketplace/listings")
            .token(token)
            .json(Map.of("title", "x", "categorySlug", "spaceships"))
            .send();
    Http.Response notJson =
        app.http.post("/api/marketplace/listings").token(token).json("title=x").send();
    Http.Response tooLong =
        app.http
            .post("/api/marketplace/listings")
            .token(token)
            .json(Map.of("title", "x".repeat(201), "categorySlug", "housing"))
            .send();

    // Then
    assertThat(unknown.status()).isEqualTo(400);
    assertThat(unknown.json().get("errors").get("categorySlug").asText())
        .isEqualTo("is not a known category");
    assertThat(notJson.status()).isEqualTo(400);
    assertThat(notJson.json().get("detail").asText()).contains("not valid JSON");
    assertThat(tooLong.status()).isEqualTo(400);
    assertThat(tooLong.json().get("errors").get("title").asText()).contains("at most 200");
  }

  @Test
  void shouldRefuseWithoutCreatingWhenBodyHasTrailingContentOrTextPostgresCannotStore() {
    // Given a user, and bodies that a lenient parser would half-read or the database would choke on
    UUID user = UUID.randomUUID();
    String token = Tokens.user(user);
    String valid = "{\"title\": \"Bike\", \"categorySlug\": \"for-sale\"}";

    // When
    Http.Response trailing =
        app.http.post("/api/marketplace/listings").token(token).json(valid + " garbage").send();
    Http.Response twoObjects =
        app.http.post("/api/marketplace/listings").token(token).json(valid + valid).send();
    Http.Response nul =
        app.http
            .post("/api/marketplace/listings")
            .token(token)
            .json("{\"title\": \"Bike\\u0000\", \"categorySlug\": \"for-sale\"}")
            .send();
    Http.Response loneSurrogate =
        app.http
            .post("/api/marketplace/listings")
            .token(token)
            .json("{\"title\": \"Bike \\ud800\", \"categorySlug\": \"for-sale\"}")
            .send();

    // Then each is a 400 (not a 201 for half a body, not a 500), and no listing exists
    assertThat(trailing.status()).isEqualTo(400);
    assertThat(trailing.json().get("detail").asText()).contains("not valid JSON");
    assertThat(twoObjects.status()).isEqualTo(400);
    assertThat(nul.status()).isEqualTo(400);
    assertThat(nul.json().get("errors").get("title").asText()).contains("NUL");
    assertThat(loneSurrogate.status()).isEqualTo(400);
    assertThat(loneSurrogate.json().get("errors").get("title").asText()).contains("surrogate");
    assertThat(app.db.count("marketplace_listings WHERE user_id = ?", user)).isZero();
  }

  @Test
  void shouldAnswer401WhenTokenIsMissingBadOrExpired() {
    // Given
    UUID user = UUID.randomUUID();
    Map<String, String> body = Map.of("title", "x", "categorySlug", "housing");

    // When
    Http.Response none = app.http.post("/api/marketplace/listings").json(body).send();
    Http.Response wrongKey =
        app.http
            .post("/api/marketplace/listings")
            .token(Tokens.signedWith("another-secret-another-secret-0123456789", user))
            .json(body)
            .send();
    Http.Response expired =
        app.http.post("/api/marketplace/listings").token(Tokens.expired(user)).json(body).send();
    Http.Response notUuid =
        app.http
            .post("/api/marketplace/listings")
            .token(Tokens.withSubject("alice"))
            .json(body)
            .send();
    Http.Response notBearer =
        app.http
            .post("/api/marketplace/listings")
            .header("Authorization", "Basic YWxpY2U6c2VjcmV0")
            .json(body)
            .send();

    // Then
    for (Http.Response response :
        new Http.Response[] {none, wrongKey, expired, notUuid, notBearer}) {
      assertThat(response.status()).as(response.toString()).isEqualTo(401);
      assertThat(response.contentType()).startsWith("application/problem+json");
      assertThat(response.header("WWW-Authenticate")).contains("Bearer");
    }
    assertThat(app.db.count("marketplace_listings WHERE user_id = ?", user)).isZero();
  }

  @Test
  void shouldAnswer403WhenUserIsBannedOrHasNoRole() {
    // Given
    UUID banned = UUID.randomUUID();
    app.ban(banned);
    Map<String, String> body = Map.of("title", "x", "categorySlug", "housing");

    // When
    Http.Response bannedResponse =
        app.http.post("/api/marketplace/listings").token(Tokens.user(banned)).json(body).send();
    Http.Response noRole =
        app.http
            .post("/api/marketplace/listings")
            .token(Tokens.withRoles(UUID.randomUUID(), "guest"))
            .json(body)
            .send();

    // Then
    assertThat(bannedResponse.status()).isEqualTo(403);
    assertThat(bannedResponse.json().get("detail").asText()).contains("banned");
    assertThat(noRole.status()).isEqualTo(403);
    assertThat(app.db.count("marketplace_listings WHERE user_id = ?", banned)).isZero();
  }

  @Test
  void shouldShowListingToOwnerAndAdminOnlyWhenRead() {
    // Given
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "jobs");
    String path = "/api/marketplace/listings/" + listingId;

    // When
    Http.Response byOwner = app.http.get(path).token(Tokens.user(owner)).send();
    Http.Response byAdmin = app.http.get(path).token(Tokens.admin(UUID.randomUUID())).send();
    Http.Response byOther = app.http.get(path).token(Tokens.user(UUID.randomUUID())).send();
    Http.Response anonymous = app.http.get(path).send();

    // Then
    assertThat(byOwner.status()).isEqualTo(200);
    assertThat(byOwner.json().get("id").asText()).isEqualTo(listingId.toString());
    assertThat(byOwner.json().get("categorySlug").asText()).isEqualTo("jobs");
    assertThat(byAdmin.status()).isEqualTo(200);
    assertThat(byOther.status()).isEqualTo(403);
    assertThat(anonymous.status()).isEqualTo(401);
  }

  @Test
  void shouldAnswer404WhenListingIsUnknown() {
    // Given
    String token = Tokens.user(UUID.randomUUID());

    // When
    Http.Response unknown =
        app.http.get("/api/marketplace/listings/" + UUID.randomUUID()).token(token).send();
    Http.Response malformed =
        app.http.get("/api/marketplace/listings/not-a-uuid").token(token).send();

    // Then
    assertThat(unknown.status()).isEqualTo(404);
    assertThat(unknown.contentType()).startsWith("application/problem+json");
    assertThat(malformed.status()).isEqualTo(404);
  }

  @Test
  void shouldShowTheLatestRunningFeaturedEndWhenListingIsFeatured() {
    // Given an active listing with an expired, a running and a marked-expired featured promotion
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "for-sale");
    Instant now = Instant.now();
    Instant runningEnd =
        now.plus(Duration.ofDays(5)).truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
    insertFeatured(listingId, now.minus(Duration.ofDays(8)), now.minus(Duration.ofDays(1)), null);
    insertFeatured(listingId, now.minus(Duration.ofDays(2)), runningEnd, null);
    insertFeatured(listingId, now.minus(Duration.ofDays(1)), now.plus(Duration.ofDays(6)), now);

    // When
    Http.Response response =
        app.http.get("/api/marketplace/listings/" + listingId).token(Tokens.user(owner)).send();

    // Then
    assertThat(Instant.parse(response.json().get("featuredUntil").asText())).isEqualTo(runningEnd);
  }

  @Test
  void shouldShowAnActiveListingPastItsEndAsExpiredBeforeTheExpirerMarksIt() {
    // Given an active, featured listing whose end passed a minute ago; the expirer, which runs
    // daily, has not marked it yet
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "for-sale");
    Instant now = Instant.now();
    insertFeatured(listingId, now.minus(Duration.ofDays(2)), now.plus(Duration.ofDays(5)), null);
    app.endListingAt(listingId, now.minus(Duration.ofMinutes(1)));

    // When its owner reads it
    Http.Response response =
        app.http.get("/api/marketplace/listings/" + listingId).token(Tokens.user(owner)).send();

    // Then it is expired, and featured nowhere, as promote already treats it
    assertThat(response.status()).isEqualTo(200);
    assertThat(response.json().get("status").asText()).isEqualTo("expired");
    assertThat(response.json().get("featuredUntil").isNull()).isTrue();
    assertThat(app.db.count("marketplace_listings WHERE id = ? AND status = 'active'", listingId))
        .isEqualTo(1);
  }

  private static void insertFeatured(
      UUID listingId, Instant startsAt, Instant expiresAt, Instant expiredAt) {
    app.db.execute(
        "INSERT INTO listing_promotions (id, listing_id, type, stripe_payment_intent_id,"
            + " amount_cents, starts_at, expires_at, expired_at)"
            + " VALUES (?, ?, 'featured', ?, 500, ?, ?, ?)",
        UUID.randomUUID(),
        listingId,
        "pi_" + UUID.randomUUID(),
        startsAt,
        expiresAt,
        expiredAt);
  }
}
