package io.marketplace.payments.ops.token;

import static org.assertj.core.api.Assertions.assertThat;

import com.auth0.jwt.JWT;
import com.auth0.jwt.algorithms.Algorithm;
import com.auth0.jwt.interfaces.DecodedJWT;
import io.marketplace.payments.ops.Cli;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class TokenCommandTest {

  private static final String SECRET = "a-test-secret-of-at-least-32-bytes-long";
  private static final Instant NOW = Instant.parse("2026-03-02T10:00:00Z");

  private final Cli cli =
      new Cli().set("AUTH_JWT_SECRET", SECRET).clock(Clock.fixed(NOW, ZoneOffset.UTC));

  @Test
  void shouldPrintUserTokenValidForOneHourWhenNoRoleGiven() {
    // Given
    UUID user = UUID.randomUUID();

    // When
    Cli.Result result = cli.run("token", "--user", user.toString());

    // Then
    assertThat(result.exitCode()).as(result.toString()).isZero();
    DecodedJWT jwt =
        JWT.require(Algorithm.HMAC256(SECRET))
            .acceptExpiresAt(Long.MAX_VALUE / 2000)
            .build()
            .verify(result.out().strip());
    assertThat(jwt.getSubject()).isEqualTo(user.toString());
    assertThat(jwt.getClaim("roles").asList(String.class)).containsExactly("user");
    assertThat(jwt.getExpiresAtAsInstant()).isEqualTo(NOW.plusSeconds(3600));
    assertThat(jwt.getAlgorithm()).isEqualTo("HS256");
  }

  @Test
  void shouldAddSuperAdminRoleAndTtlWhenAsked() {
    // Given
    UUID admin = UUID.randomUUID();

    // When
    Cli.Result result =
        cli.run("token", "--user", admin.toString(), "--role", "super_admin", "--ttl", "15m");

    // Then
    assertThat(result.exitCode()).as(result.toString()).isZero();
    DecodedJWT jwt = JWT.decode(result.out().strip());
    assertThat(jwt.getClaim("roles").asList(String.class)).containsExactly("user", "super_admin");
    assertThat(jwt.getExpiresAtAsInstant()).isEqualTo(NOW.plusSeconds(900));
  }

  @Test
  void shouldCarryTheIssuerAndAudienceTheApiRequiresWhenTheyAreSet() {
    // Given a system whose API takes only tokens of its issuer, for its audience
    Cli withClaims =
        new Cli()
            .set("AUTH_JWT_SECRET", SECRET)
            .set("AUTH_JWT_ISSUER", "https://auth.marketplace.test")
            .set("AUTH_JWT_AUDIENCE", "marketplace-payments")
            .clock(Clock.fixed(NOW, ZoneOffset.UTC));

    // When a token is made
    Cli.Result result = withClaims.run("token", "--user", UUID.randomUUID().toString());

    // Then it carries both, so the API accepts it
    assertThat(result.exitCode()).as(result.toString()).isZero();
    DecodedJWT jwt =
        JWT.require(Algorithm.HMAC256(SECRET))
            .withIssuer("https://auth.marketplace.test")
            .withAudience("marketplace-payments")
            .acceptExpiresAt(Long.MAX_VALUE / 2000)
            .build()
            .verify(result.out().strip());
    assertThat(jwt.getIssuer()).isEqualTo("https://auth.marketplace.test");
    // And without them set, a token carries neither (the first test's token)
    DecodedJWT plain = JWT.decode(cli.run("token", "--user", UUID.randomUUID().toString()).out());
    assertThat(plain.getClaim("iss").isMissing()).isTrue();
    assertThat(plain.getClaim("aud").isMissing()).isTrue();
  }

  @Test
  void shouldRefuseALifetimeTheApiWouldRefuseWhenTheTtlExceedsItsMaximum() {
    // When a token is asked for longer than the API accepts (AUTH_JWT_MAX_LIFETIME, 24 h unless
    // the environment says otherwise)
    Cli.Result week = cli.run("token", "--user", UUID.randomUUID().toString(), "--ttl", "7d");
    Cli.Result twoHours =
        new Cli()
            .set("AUTH_JWT_SECRET", SECRET)
            .set("AUTH_JWT_MAX_LIFETIME", "1h")
            .clock(Clock.fixed(NOW, ZoneOffset.UTC))
            .run("token", "--user", UUID.randomUUID().toString(), "--ttl", "2h");

    // Then no token is printed, and the error says why
    for (Cli.Result refused : new Cli.Result[] {week, twoHours}) {
      assertThat(refused.exitCode()).as(refused.toString()).isEqualTo(1);
      assertThat(refused.out()).isEmpty();
      assertThat(refused.err()).contains("AUTH_JWT_MAX_LIFETIME");
    }
    // And a day, the API's default maximum, is fine
    Cli.Result day = cli.run("token", "--user", UUID.randomUUID().toString(), "--ttl", "24h");
    assertThat(day.exitCode()).as(day.toString()).isZero();
    assertThat(JWT.decode(day.out().strip()).getExpiresAtAsInstant())
        .isEqualTo(NOW.plusSeconds(86_400));
  }

  @Test
  void shouldExitTwoAndPrintNoTokenWhenTheTtlIsZeroOrNegative() {
    // When
    Cli.Result zero = cli.run("token", "--user", UUID.randomUUID().toString(), "--ttl", "0s");
    Cli.Result negative = cli.run("token", "--user", UUID.randomUUID().toString(), "--ttl", "-1h");

    // Then both are told as wrong usage, saying what to type
    for (Cli.Result result : new Cli.Result[] {zero, negative}) {
      assertThat(result.exitCode()).as(result.toString()).isEqualTo(2);
      assertThat(result.out()).isEmpty();
    }
    assertThat(zero.err()).contains("--ttl").contains("'0s'").contains("15m");
    assertThat(negative.err()).contains("'-1h'").contains("negative");
  }

  @Test
  void shouldExitTwoNamingTheVariableWhenSecretMissing() {
    // When
    Cli.Result result = new Cli().run("token", "--user", UUID.randomUUID().toString());

    // Then
    assertThat(result.exitCode()).isEqualTo(2);
    assertThat(result.err()).contains("AUTH_JWT_SECRET");
    assertThat(result.out()).isEmpty();
  }

  @Test
  void shouldRefuseWhenSecretShorterThan32Bytes() {
    // When
    Cli.Result result =
        new Cli()
            .set("AUTH_JWT_SECRET", "short")
            .run("token", "--user", UUID.randomUUID().toString());

    // Then
    assertThat(result.exitCode()).isEqualTo(1);
    assertThat(result.err()).contains("shorter than 32 bytes").doesNotContain("short\n");
  }

  @Test
  void shouldExitTwoWhenUserIsNotUuid() {
    // When
    Cli.Result result = cli.run("token", "--user", "bob");

    // Then one line names the option and what it takes, without Java's exception text
    assertThat(result.exitCode()).isEqualTo(2);
    assertThat(result.out()).isEmpty();
    assertThat(result.err())
        .contains("--user")
        .contains("'bob' is not a UUID")
        .doesNotContain("java.lang")
        .doesNotContain("Exception");
  }
}
