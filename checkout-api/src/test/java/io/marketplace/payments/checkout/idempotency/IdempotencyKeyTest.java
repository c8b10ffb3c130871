package io.marketplace.payments.checkout.idempotency;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.TestApi;
import io.marketplace.payments.checkout.Tokens;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class IdempotencyKeyTest {

  private static TestApi app;

  @BeforeAll
  static void start() {
    app = TestApi.shared();
  }

  private static Http.Response create(UUID user, String key, String body) {
    return app.postListing(user, key, body);
  }

  @Test
  void shouldReplayTheFirstAnswerWithOneSideEffectWhenKeyAndBodyRepeat() {
    // Given
    UUID user = UUID.randomUUID();
    String key = UUID.randomUUID().toString();

    // When the same request is sent twice, the second with its keys in another order
    Http.Response first = create(user, key, "{\"title\":\"Bike\",\"categorySlug\":\"for-sale\"}");
    Http.Response second =
        create(user, key, "{ \"categorySlug\": \"for-sale\", \"title\": \"Bike\" }");

    // Then
    assertThat(first.status()).isEqualTo(201);
    assertThat(second.status()).isEqualTo(201);
    assertThat(second.body()).isEqualTo(first.body());
    assertThat(second.header("Idempotent-Replayed")).contains("true");
    assertThat(first.header("Idempotent-Replayed")).isEmpty();
    assertThat(app.db.count("marketplace_listings WHERE user_id = ?", user)).isEqualTo(1);
  }

  @Test
  void shouldAnswer422WhenTheKeyIsReusedWithAnotherBody() {
    // Given
    UUID user = UUID.randomUUID();
    String key = UUID.randomUUID().toString();
    create(user, key, "{\"title\":\"Bike\",\"categorySlug\":\"for-sale\"}");

    // When
    Http.Response other = create(user, key, "{\"title\":\"Car\",\"categorySlug\":\"for-sale\"}");

    // Then
    assertThat(other.status()).isEqualTo(422);
    assertThat(other.contentType()).startsWith("application/problem+json");
    assertThat(app.db.count("marketplace_listings WHERE user_id = ?", user)).isEqualTo(1);
  }

  @Test
  void shouldKeepKeysOfDifferentUsersApartWhenTheyCollide() {
    // Given
    String key = "same-key-" + UUID.randomUUID();
    UUID alice = UUID.randomUUID();
    UUID bob = UUID.randomUUID();

    // When
    Http.Response forAlice =
        create(alice, key, "{\"title\":\"Bike\",\"categorySlug\":\"for-sale\"}");
    Http.Response forBob = create(bob, key, "{\"title\":\"Car\",\"categorySlug\":\"for-sale\"}");

    // Then
    assertThat(forAlice.status()).isEqualTo(201);
    assertThat(forBob.status()).isEqualTo(201);
    assertThat(forBob.json().get("userId").asText()).isEqualTo(bob.toString());
  }

  @Test
  void shouldReplayACheckoutWithoutAnotherPaymentIntentWhenKeyRepeats() {
    // Given
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "housing");
    String key = UUID.randomUUID().toString();
    String path = "/api/marketplace/listings/" + listingId + "/checkout";

    // When
    Http.Response first = app.http.post(path).token(Tokens.user(owner)).idempotencyKey(key).send();
    Http.Response second = app.http.post(path).token(Tokens.user(owner)).idempotencyKey(key).send();

    // Then
    assertThat(first.status()).isEqualTo(200);
    assertThat(second.body()).isEqualTo(first.body());
    assertThat(app.paymentIntentsOf(listingId)).hasSize(1);
  }

  @Test
  void shouldAnswer422WhenTheKeyIsReusedWithTheBodyFollowedByMoreContent() {
    // Given a listing created under a key
    UUID user = UUID.randomUUID();
    String key = UUID.randomUUID().toString();
    String body = "{\"title\":\"Bike\",\"categorySlug\":\"for-sale\"}";
    assertThat(create(user, key, body).status()).isEqualTo(201);

    // When the key comes again with that body and something after it, a body this API refuses
    Http.Response other = create(user, key, body + "{\"title\":\"Car\"}");

    // Then it is another request under a used key, not the first one again
    assertThat(other.status()).as(other.toString()).isEqualTo(422);
    assertThat(other.header("Idempotent-Replayed")).isEmpty();
  }

  @Test
  void shouldAnswer422NotTheStoredRefusalWhenARefusedBodyIsFixedUnderTheSameKey() {
    // Given a body refused for the content after its JSON, under a key
    UUID user = UUID.randomUUID();
    String key = UUID.randomUUID().toString();
    String body = "{\"title\":\"Bike\",\"categorySlug\":\"for-sale\"}";
    Http.Response refused = create(user, key, body + " x");
    assertThat(refused.status()).isEqualTo(400);

    // When the client sends the fixed body under the same key
    Http.Response fixed = create(user, key, body);

    // Then it is told the key was used for another request, not that its body is not JSON
    assertThat(fixed.status()).as(fixed.toString()).isEqualTo(422);
    assertThat(app.db.count("marketplace_listings WHERE user_id = ?", user)).isZero();
  }

  @Test
  void shouldReplayAnErrorAnswerWhenTheFirstRequestWasRefused() {
    // Given a checkout refused with 409 (the listing is free, hence active)
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "for-sale");
    String key = UUID.randomUUID().toString();
    String path = "/api/marketplace/listings/" + listingId + "/checkout";
    Http.Response first = app.http.post(path).token(Tokens.user(owner)).idempotencyKey(key).send();

    // When
    Http.Response second = app.http.post(path).token(Tokens.user(owner)).idempotencyKey(key).send();

    // Then
    assertThat(first.status()).isEqualTo(409);
    assertThat(second.status()).isEqualTo(409);
    assertThat(second.body()).isEqualTo(first.body());
    assertThat(second.contentType()).startsWith("application/problem+json");
  }

  @Test
  void shouldAnswer409WithRetryAfterWhileTheFirstRequestIsStillRunning() {
    // Given a key claimed by a request that has not finished
    UUID user = UUID.randomUUID();
    String key = UUID.randomUUID().toString();
    String body = "{\"title\":\"Bike\",\"categorySlug\":\"for-sale\"}";
    app.db.execute(
        "INSERT INTO idempotency_keys (user_id, idempotency_key, request_fingerprint, created_at)"
            + " VALUES (?, ?, ?, ?)",
        user,
        key,
        Fingerprint.of("POST", "/api/marketplace/listings", body.getBytes()),
        Instant.now());

    // When
    Http.Response response = create(user, key, body);

    // Then
    assertThat(response.status()).isEqualTo(409);
    assertThat(response.header("Retry-After")).contains("1");
    assertThat(app.db.count("marketplace_listings WHERE user_id = ?", user)).isZero();
  }

  @Test
  void shouldRunAgainWhenTheKeyIsOlderThan24Hours() {
    // Given a key used more than a day ago
    UUID user = UUID.randomUUID();
    String key = UUID.randomUUID().toString();
    create(user, key, "{\"title\":\"Bike\",\"categorySlug\":\"for-sale\"}");
    app.db.execute(
        "UPDATE idempotency_keys SET created_at = now() - interval '25 hours'"
            + " WHERE user_id = ? AND idempotency_key = ?",
        user,
        key);

    // When
    Http.Response again = create(user, key, "{\"title\":\"Car\",\"categorySlug\":\"for-sale\"}");

    // Then
    assertThat(again.status()).isEqualTo(201);
    assertThat(again.json().get("title").asText()).isEqualTo("Car");
    assertThat(app.db.count("marketplace_listings WHERE user_id = ?", user)).isEqualTo(2);
  }

  @Test
  void shouldCreateOneListingWhenAKeyReusedAfter24HoursIsRetried() {
    // Given a listing created under a key more than a day ago
    UUID user = UUID.randomUUID();
    String key = UUID.randomUUID().toString();
    String body = "{\"title\":\"Bike\",\"categorySlug\":\"for-sale\"}";
    Http.Response first = create(user, key, body);
    app.db.execute(
        "UPDATE idempotency_keys SET created_at = now() - interval '25 hours'"
            + " WHERE user_id = ? AND idempotency_key = ?",
        user,
        key);
    app.db.execute(
        "UPDATE marketplace_listings SET created_at = created_at - interval '25 hours'"
            + " WHERE id = ?",
        UUID.fromString(first.json().get("id").asText()));

    // When the same request is made under the key today, and retried after its claim was given
    // back (as a 5xx does)
    Http.Response today = create(user, key, body);
    app.db.execute(
        "DELETE FROM idempotency_keys WHERE user_id = ? AND idempotency_key = ?", user, key);
    Http.Response retried = create(user, key, body);

    // Then today's request made one new listing, which its retry reaches again
    assertThat(today.status()).isEqualTo(201);
    assertThat(today.json().get("id").asText()).isNotEqualTo(first.json().get("id").asText());
    assertThat(retried.status()).isEqualTo(201);
    assertThat(retried.json().get("id").asText()).isEqualTo(today.json().get("id").asText());
    assertThat(app.db.count("marketplace_listings WHERE user_id = ?", user)).isEqualTo(2);
  }

  @Test
  void shouldIgnoreTheKeyWhenTheRequestIsAGet() {
    // Given
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "for-sale");

    // When
    Http.Response read =
        app.http
            .get("/api/marketplace/listings/" + listingId)
            .token(Tokens.user(owner))
            .idempotencyKey("irrelevant")
            .send();

    // Then
    assertThat(read.status()).isEqualTo(200);
    assertThat(app.db.count("idempotency_keys WHERE user_id = ?", owner)).isZero();
    assertThat(read.json().get("id").asText()).isEqualTo(listingId.toString());
  }

  @Test
  void shouldAnswer400AndCreateNothingWhenTheRequestCarriesTwoIdempotencyKeys() throws Exception {
    // Given a user and a listing's body
    UUID user = UUID.randomUUID();
    String body = "{\"title\": \"Bike\", \"categorySlug\": \"housing\"}";

    // When it is sent with two Idempotency-Key headers (a client's retry layer adding its own key
    // beside the caller's): which one names the request depends on who reads it, and a proxy that
    // joins them into one line ("a, b") makes a key this API refuses
    HttpResponse<String> response =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create(app.api.baseUrl() + "/api/marketplace/listings"))
                    .header("Authorization", "Bearer " + Tokens.user(user))
                    .header("Content-Type", "application/json")
                    .header("Idempotency-Key", "first-" + UUID.randomUUID())
                    .header("Idempotency-Key", "second-" + UUID.randomUUID())
                    .POST(HttpRequest.BodyPublishers.ofString(body))
                    .build(),
                HttpResponse.BodyHandlers.ofString());

    // Then it is a 400 naming the header, no key is claimed and no listing created
    assertThat(response.statusCode()).as(response.body()).isEqualTo(400);
    assertThat(response.body()).contains("Idempotency-Key");
    assertThat(app.db.count("idempotency_keys WHERE user_id = ?", user)).isZero();
    assertThat(app.db.count("marketplace_listings WHERE user_id = ?", user)).isZero();
  }
}
