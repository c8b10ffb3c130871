package io.marketplace.payments.checkout.auth;

import static org.assertj.core.api.Assertions.assertThat;

import com.auth0.jwt.JWT;
import com.auth0.jwt.algorithms.Algorithm;
import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.TestApi;
import io.marketplace.payments.checkout.Tokens;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Tokens signed with the right key whose claims are not what SPEC §3 says: {@code exp} a time, no
 * further ahead than the API's maximum token lifetime, {@code sub} a user UUID. Each is a 401,
 * whoever signed it.
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
  void shouldAnswer401NotA500WhenTheTokensHeaderOrClaimsAreNotAJsonObject() {
    // Given tokens whose header or claims are the JSON value null: one unsigned, that anyone can
    // send, and one signed with our key
    String encodedNull = base64Url("null");
    String unsignedNullHeader = encodedNull + "." + base64Url("{}") + ".";
    String signedNullClaims =
        signed(base64Url("{\"alg\":\"HS256\",\"typ\":\"JWT\"}") + "." + encodedNull);

    for (String token : new String[] {unsignedNullHeader, signedNullClaims}) {
      // When it is used
      Http.Response response = app.http.get("/admin/api/marketplace/refunds").token(token).send();

      // Then it is refused as a bad token, not answered as a failure of ours
      assertThat(response.status()).as(response.toString()).isEqualTo(401);
      assertThat(response.contentType()).startsWith("application/problem+json");
      assertThat(response.header("WWW-Authenticate")).contains("Bearer");
    }
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

  @Test
  void shouldAnswer401WhenTheTokenLivesLongerThanTheMaximumLifetime() {
    // Given an admin route, and the API's maximum token lifetime (24 h by default)
    UUID admin = UUID.randomUUID();
    String path = "/admin/api/marketplace/refunds";
    Instant now = Instant.now();

    // When a super_admin token signed with our key, leaked or minted to last, is used: one that
    // expires in 2100 with no iat, one issued now for 25 hours, and one whose exp is within 24 h
    // of now but that was issued 25 hours before it
    String until2100 = adminToken(admin, null, Instant.parse("2100-01-01T00:00:00Z"));
    String forADayAndAnHour = adminToken(admin, now, now.plus(Duration.ofHours(25)));
    String issuedLongAgo =
        adminToken(admin, now.minus(Duration.ofHours(2)), now.plus(Duration.ofHours(23)));

    // Then each is refused, as a token that lives too long
    for (String token : new String[] {until2100, forADayAndAnHour, issuedLongAgo}) {
      Http.Response refused = app.http.get(path).token(token).send();
      assertThat(refused.status()).as(refused.toString()).isEqualTo(401);
      assertThat(refused.contentType()).startsWith("application/problem+json");
      assertThat(refused.header("WWW-Authenticate")).contains("Bearer");
    }
    // And one that lives no longer than the maximum is accepted, with or without an iat
    String aDayWithoutIat = adminToken(admin, null, now.plus(Duration.ofHours(23)));
    String aDay = adminToken(admin, now, now.plus(Duration.ofHours(24)));
    for (String token : new String[] {aDayWithoutIat, aDay}) {
      Http.Response accepted = app.http.get(path).token(token).send();
      assertThat(accepted.status()).as(accepted.toString()).isEqualTo(200);
    }
  }

  @Test
  void shouldAcceptOnlyTokensWithinTheConfiguredMaximumLifetimeWhenItIsShorter() {
    // Given an API whose tokens may live one hour at most
    try (TestApi api = TestApi.start(config -> config.withJwtMaxLifetime(Duration.ofHours(1)))) {
      UUID admin = UUID.randomUUID();
      String path = "/admin/api/marketplace/refunds";
      Instant now = Instant.now();

      // When a token for two hours, and one for half an hour, are used
      Http.Response twoHours =
          api.http.get(path).token(adminToken(admin, now, now.plus(Duration.ofHours(2)))).send();
      Http.Response halfAnHour =
          api.http.get(path).token(adminToken(admin, now, now.plus(Duration.ofMinutes(30)))).send();

      // Then the first is refused and the second accepted
      assertThat(twoHours.status()).as(twoHours.toString()).isEqualTo(401);
      assertThat(halfAnHour.status()).as(halfAnHour.toString()).isEqualTo(200);
    }
  }

  @Test
  void shouldAcceptATokenIssuedByAClockAFewSecondsAheadAndRefuseOneIssuedFarInTheFuture() {
    // Given an admin route, and the token issuer's clock 30 seconds ahead of ours: a token it has
    // just made says it was issued (and is valid from) 30 seconds from now by our clock
    UUID admin = UUID.randomUUID();
    String path = "/admin/api/marketplace/refunds";
    Instant issuerNow = Instant.now().plus(Duration.ofSeconds(30));
    String justIssued =
        JWT.create()
            .withSubject(admin.toString())
            .withArrayClaim("roles", new String[] {"super_admin"})
            .withIssuedAt(issuerNow)
            .withNotBefore(issuerNow)
            .withExpiresAt(issuerNow.plus(Duration.ofMinutes(10)))
            .sign(Algorithm.HMAC256(Tokens.SECRET));
    // and a token that says it is issued an hour from now, which no clock skew explains
    Instant anHourAhead = Instant.now().plus(Duration.ofHours(1));
    String fromTheFuture = adminToken(admin, anHourAhead, anHourAhead.plus(Duration.ofMinutes(10)));

    // When each is used at once
    Http.Response accepted = app.http.get(path).token(justIssued).send();
    Http.Response refused = app.http.get(path).token(fromTheFuture).send();

    // Then the first works, as a token made for exactly now would; the second is refused
    assertThat(accepted.status()).as(accepted.toString()).isEqualTo(200);
    assertThat(refused.status()).as(refused.toString()).isEqualTo(401);
  }

  private static String base64Url(String json) {
    return Base64.getUrlEncoder()
        .withoutPadding()
        .encodeToString(json.getBytes(StandardCharsets.UTF_8));
  }

  /** {@code headerAndClaims} with its HS256 signature under our key. */
  private static String signed(String headerAndClaims) {
    byte[] signature =
        Algorithm.HMAC256(Tokens.SECRET).sign(headerAndClaims.getBytes(StandardCharsets.UTF_8));
    return headerAndClaims
        + "."
        + Base64.getUrlEncoder().withoutPadding().encodeToString(signature);
  }

  /** A super_admin token signed with our key, with {@code iat} only when given. */
  private static String adminToken(UUID admin, Instant issuedAt, Instant expiresAt) {
    var token =
        JWT.create()
            .withSubject(admin.toString())
            .withArrayClaim("roles", new String[] {"super_admin"})
            .withExpiresAt(expiresAt);
    if (issuedAt != null) {
      token.withIssuedAt(issuedAt);
    }
    return token.sign(Algorithm.HMAC256(Tokens.SECRET));
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
