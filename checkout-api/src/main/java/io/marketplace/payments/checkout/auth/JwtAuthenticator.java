package io.marketplace.payments.checkout.auth;

import com.auth0.jwt.JWT;
import com.auth0.jwt.JWTVerifier;
import com.auth0.jwt.algorithms.Algorithm;
import com.auth0.jwt.exceptions.JWTVerificationException;
import com.auth0.jwt.interfaces.Claim;
import com.auth0.jwt.interfaces.DecodedJWT;
import com.auth0.jwt.interfaces.Verification;
import io.marketplace.payments.common.http.ProblemException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Verifies {@code Authorization: Bearer <JWT>} (SPEC §3): HS256 with {@code AUTH_JWT_SECRET}, an
 * {@code exp} in the future (a number: {@code null} is no expiry), {@code sub} a user UUID in its
 * canonical form and {@code roles} an array; when configured, the {@code iss} of our users' token
 * issuer and an {@code aud} naming this API. Anything else is a 401 that does not say which check
 * failed beyond what helps an honest client.
 *
 * <p>A token lives no longer than the maximum lifetime ({@code AUTH_JWT_MAX_LIFETIME}): its {@code
 * exp} at most that far ahead of now, and, when it has an {@code iat} (not required: SPEC §3 lists
 * {@code sub}, {@code roles}, {@code exp}), at most that long after it. Whoever holds the key can
 * write any {@code exp}; without the bound a leaked super_admin token that expires in 2100 would
 * work until the key rotates.
 */
public final class JwtAuthenticator {

  private static final String BEARER = "bearer ";
  private static final Map<String, String> CHALLENGE = Map.of("WWW-Authenticate", "Bearer");

  /**
   * How far the issuer's clock may run ahead of ours: a token made for exactly the maximum lifetime
   * by an issuer a few seconds ahead is still taken, and so is one it has just issued ({@code iat}
   * and {@code nbf} up to this far in our future).
   */
  static final Duration CLOCK_SKEW = Duration.ofMinutes(1);

  private final JWTVerifier verifier;
  private final Duration maxLifetime;
  private final Clock clock;

  /**
   * @param issuer the {@code iss} a token must carry, or null for any
   * @param audience an {@code aud} a token must include, or null for any
   * @param maxLifetime how far ahead of now a token's {@code exp} may lie, and after its {@code
   *     iat}
   */
  public JwtAuthenticator(
      String secret, String issuer, String audience, Duration maxLifetime, Clock clock) {
    this.maxLifetime = maxLifetime;
    this.clock = clock;
    Verification verification =
        JWT.require(Algorithm.HMAC256(secret))
            .withClaimPresence("sub")
            .withClaimPresence("roles")
            .withClaimPresence("exp")
            // an issuer whose clock runs a little ahead makes tokens issued, and valid from, a
            // moment in our future: taken at once, as a token made now is; exp has no leeway
            .acceptIssuedAt(CLOCK_SKEW.toSeconds())
            .acceptNotBefore(CLOCK_SKEW.toSeconds());
    if (issuer != null) {
      verification = verification.withIssuer(issuer);
    }
    if (audience != null) {
      verification = verification.withAudience(audience);
    }
    this.verifier = ((JWTVerifier.BaseVerification) verification).build(clock);
  }

  /** The caller of a request with this {@code Authorization} header value. */
  public Caller authenticate(String authorization) {
    if (authorization == null || authorization.isBlank()) {
      throw unauthorized("a bearer token is required");
    }
    if (authorization.length() <= BEARER.length()
        || !authorization.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
      throw unauthorized("the Authorization header must be: Bearer <token>");
    }
    DecodedJWT jwt;
    try {
      jwt = verifier.verify(authorization.substring(BEARER.length()).strip());
    } catch (JWTVerificationException e) {
      throw unauthorized("the token is invalid or expired");
    } catch (RuntimeException e) {
      // the library decodes a header or claims that are JSON but no object ("null") to nothing
      // and then fails on it, before the signature for a header: anyone's malformed token, not a
      // fault of ours to answer 500 and log a stack trace for
      throw unauthorized("the token is invalid or expired");
    }
    if (jwt.getExpiresAtAsInstant() == null) {
      // the library checks exp only when it is a number: "exp": null passes as present and would
      // make a token that never expires
      throw unauthorized("the token is invalid or expired");
    }
    requireBoundedLifetime(jwt.getExpiresAtAsInstant(), jwt.getIssuedAtAsInstant());
    return new Caller(userId(jwt.getSubject()), roles(jwt.getClaim("roles")));
  }

  /** Refuses a token that would live longer than {@link #maxLifetime}; {@code iat} may be null. */
  private void requireBoundedLifetime(Instant expiresAt, Instant issuedAt) {
    boolean tooFarAhead = expiresAt.isAfter(clock.instant().plus(maxLifetime).plus(CLOCK_SKEW));
    boolean tooLong =
        issuedAt != null && Duration.between(issuedAt, expiresAt).compareTo(maxLifetime) > 0;
    if (tooFarAhead || tooLong) {
      throw unauthorized(
          "the token lives longer than this API accepts (at most "
              + maxLifetime
              + " from its iat, and from now); ask for a new one");
    }
  }

  /**
   * The user of a {@code sub} in the canonical UUID form only: {@link UUID#fromString} also reads
   * shortened forms ({@code 1-1-1-1-1} is {@code 00000001-0001-0001-0001-000000000001}), so a
   * subject that is no UUID at all would act as some user's.
   */
  private static UUID userId(String subject) {
    try {
      UUID userId = UUID.fromString(subject);
      if (userId.toString().equalsIgnoreCase(subject)) {
        return userId;
      }
    } catch (IllegalArgumentException | NullPointerException e) {
      // fall through
    }
    throw unauthorized("the token's sub must be a user id (UUID)");
  }

  private static EnumSet<Role> roles(Claim claim) {
    List<String> values;
    try {
      values = claim.asList(String.class);
    } catch (RuntimeException e) {
      values = null;
    }
    if (values == null) {
      throw unauthorized("the token's roles must be an array");
    }
    EnumSet<Role> roles = EnumSet.noneOf(Role.class);
    values.forEach(value -> Role.fromClaim(value).ifPresent(roles::add));
    return roles;
  }

  private static ProblemException unauthorized(String detail) {
    return new ProblemException(401, "Unauthorized", detail, Map.of(), CHALLENGE);
  }
}
