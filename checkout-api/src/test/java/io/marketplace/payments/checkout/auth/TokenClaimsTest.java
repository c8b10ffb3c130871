package io.marketplace.payments.checkout.auth;

import static org.assertj.core.api.Assertions.assertThat;

import com.auth0.jwt.JWT;
import com.auth0.jwt.algorithms.Algorithm;
import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.TestApi;
import io.marketplace.payments.checkout.Tokens;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Tokens signed with the right key whose claims are not what SPEC §3 says: {@code exp} a time,
 * {@code sub} a user UUID. Each is a 401, whoever signed it.
 */
class TokenClaimsTest {

  private static TestApi app;

  @BeforeAll
  static void start() {
    app = TestApi.shared();
  }

  @Test
  void shouldAnswer401WhenTheTokensExpIsNull() {
    // Given a listing of its owner
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "housing");
    // And a token of the owner, signed with our key, whose exp is null: it would never expire
    String neverExpires =
        JWT.create()
            .withSubject(owner.toString())
            .withArrayClaim("roles", new String[] {"user"})
            .withIssuedAt(Instant.now())
            .withNullClaim("exp")
            .sign(Algorithm.HMAC256(Tokens.SECRET));

    // When it is used
    Http.Response response =
        app.http.get("/api/marketplace/listings/" + listingId).token(neverExpires).send();

    // Then it is refused as a token without a valid exp
    assertThat(response.status()).as(response.toString()).isEqualTo(401);
    assertThat(response.contentType()).startsWith("application/problem+json");
  }

  @Test
  void shouldAnswer401WhenTheTokensSubIsAShortenedUuid() {
    // Given a listing of the user 00000001-0001-0001-0001-000000000001
    UUID owner = UUID.fromString("00000001-0001-0001-0001-000000000001");
    UUID listingId = app.createListing(owner, "housing");

    // When a token whose sub is "1-1-1-1-1" (not a UUID; Java's parser reads it as that user)
    // asks for it
    Http.Response response =
        app.http
            .get("/api/marketplace/listings/" + listingId)
            .token(Tokens.withSubject("1-1-1-1-1"))
            .send();

    // Then the token is refused, not taken for the owner's
    assertThat(response.status()).as(response.toString()).isEqualTo(401);
  }

  @Test
  void shouldAnswer401WhenTheTokenIsNotForThisApiWhenAnIssuerAndAudienceAreSet() {
    // Given the API told which issuer signs its users' tokens, and for which audience
    String issuer = "https://auth.marketplace.test";
    String audience = "marketplace-payments";
    try (TestApi api = TestApi.start(config -> config.withTokenIssuer(issuer, audience))) {
      UUID owner = UUID.randomUUID();
      String path = "/api/marketplace/categories";
      String listings = "/api/marketplace/listings";
      String body = "{\"title\":\"Room\",\"categorySlug\":\"housing\"}";

      // When a token signed with the same key but meant for another service is used
      String forAnotherService = token(owner, issuer, "marketplace-messaging");
      String fromAnotherIssuer = token(owner, "https://other.example.test", audience);
      String withNeither = Tokens.user(owner);

      // Then each is refused
      for (String token : new String[] {forAnotherService, fromAnotherIssuer, withNeither}) {
        Http.Response refused = api.http.post(listings).token(token).json(body).send();
        assertThat(refused.status()).as(refused.toString()).isEqualTo(401);
      }
      // And the token the issuer made for this API is accepted
      Http.Response created =
          api.http.post(listings).token(token(owner, issuer, audience)).json(body).send();
      assertThat(created.status()).as(created.toString()).isEqualTo(201);
      assertThat(api.http.get(path).send().status()).isEqualTo(200);
    }
  }

  private static String token(UUID user, String issuer, String audience) {
    return JWT.create()
        .withSubject(user.toString())
        .withArrayClaim("roles", new String[] {"user"})
        .withIssuer(issuer)
        .withAudience(audience)
        .withIssuedAt(Instant.now())
        .withExpiresAt(Instant.now().plus(Duration.ofMinutes(5)))
        .sign(Algorithm.HMAC256(Tokens.SECRET));
  }
}
