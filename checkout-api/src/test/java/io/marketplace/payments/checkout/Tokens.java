package io.marketplace.payments.checkout;

import com.auth0.jwt.JWT;
import com.auth0.jwt.algorithms.Algorithm;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;

/** Signs user tokens the way the identity service does: HS256, sub, roles, exp. */
public final class Tokens {

  public static final String SECRET = "checkout-api-test-secret-0123456789abcdef";

  private Tokens() {}

  public static String user(UUID userId) {
    return sign(SECRET, userId.toString(), new String[] {"user"}, Duration.ofMinutes(10));
  }

  public static String admin(UUID userId) {
    return sign(SECRET, userId.toString(), new String[] {"super_admin"}, Duration.ofMinutes(10));
  }

  public static String expired(UUID userId) {
    return sign(SECRET, userId.toString(), new String[] {"user"}, Duration.ofMinutes(-5));
  }

  public static String signedWith(String secret, UUID userId) {
    return sign(secret, userId.toString(), new String[] {"user"}, Duration.ofMinutes(10));
  }

  public static String withSubject(String subject) {
    return sign(SECRET, subject, new String[] {"user"}, Duration.ofMinutes(10));
  }

  public static String withRoles(UUID userId, String... roles) {
    return sign(SECRET, userId.toString(), roles, Duration.ofMinutes(10));
  }

  private static String sign(String secret, String subject, String[] roles, Duration validFor) {
    return JWT.create()
        .withSubject(subject)
        .withArrayClaim("roles", roles)
        .withIssuedAt(Instant.now())
        .withExpiresAt(Instant.now().plus(validFor))
        .sign(Algorithm.HMAC256(secret));
  }
}
