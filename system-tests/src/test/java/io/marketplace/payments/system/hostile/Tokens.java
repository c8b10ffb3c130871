package io.marketplace.payments.system.hostile;

import com.auth0.jwt.JWT;
import com.auth0.jwt.algorithms.Algorithm;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.UUID;

/**
 * Bearer tokens, genuine and forged. Genuine ones are what the identity service issues (SPEC §3):
 * HS256 under {@code AUTH_JWT_SECRET}, {@code sub} a user id, {@code roles} an array, {@code exp}.
 */
final class Tokens {

  private static final Base64.Encoder URL = Base64.getUrlEncoder().withoutPadding();

  private final String secret;

  Tokens(String secret) {
    this.secret = secret;
  }

  String user(UUID userId) {
    return hs256(secret, userId.toString(), Duration.ofMinutes(10), "user");
  }

  String admin(UUID userId) {
    return hs256(secret, userId.toString(), Duration.ofMinutes(10), "super_admin");
  }

  String withRoles(UUID userId, String... roles) {
    return hs256(secret, userId.toString(), Duration.ofMinutes(10), roles);
  }

  String expired(UUID userId, String role) {
    return hs256(secret, userId.toString(), Duration.ofMinutes(-5), role);
  }

  String signedWith(String otherSecret, UUID userId, String role) {
    return hs256(otherSecret, userId.toString(), Duration.ofMinutes(10), role);
  }

  /** HS512 under the right secret: a verifier that trusts the header's alg would accept it. */
  String hs512(UUID userId, String role) {
    return JWT.create()
        .withSubject(userId.toString())
        .withArrayClaim("roles", new String[] {role})
        .withExpiresAt(Instant.now().plus(Duration.ofMinutes(10)))
        .sign(Algorithm.HMAC512(secret));
  }

  /** {@code alg} of {@code none} (in the given spelling) and no signature. */
  static String unsigned(String alg, UUID userId, String role) {
    return URL.encodeToString(
            ("{\"alg\":\"" + alg + "\",\"typ\":\"JWT\"}").getBytes(StandardCharsets.UTF_8))
        + "."
        + URL.encodeToString(
            payload(userId.toString(), "[\"" + role + "\"]").getBytes(StandardCharsets.UTF_8))
        + ".";
  }

  /** A genuine token of {@code userId} whose payload was swapped for one claiming {@code role}. */
  String tampered(UUID userId, String role) {
    String[] parts = user(userId).split("\\.");
    return parts[0]
        + "."
        + URL.encodeToString(
            payload(userId.toString(), "[\"" + role + "\"]").getBytes(StandardCharsets.UTF_8))
        + "."
        + parts[2];
  }

  /** Signed with the right secret, with a claim of the wrong shape. */
  String withSubject(String subject) {
    return hs256(secret, subject, Duration.ofMinutes(10), "user");
  }

  String rolesAsString(UUID userId, String role) {
    return JWT.create()
        .withSubject(userId.toString())
        .withClaim("roles", role)
        .withExpiresAt(Instant.now().plus(Duration.ofMinutes(10)))
        .sign(Algorithm.HMAC256(secret));
  }

  String withoutExpiry(UUID userId, String role) {
    return JWT.create()
        .withSubject(userId.toString())
        .withArrayClaim("roles", new String[] {role})
        .sign(Algorithm.HMAC256(secret));
  }

  String notYetValid(UUID userId, String role) {
    return JWT.create()
        .withSubject(userId.toString())
        .withArrayClaim("roles", new String[] {role})
        .withNotBefore(Instant.now().plus(Duration.ofHours(1)))
        .withExpiresAt(Instant.now().plus(Duration.ofHours(2)))
        .sign(Algorithm.HMAC256(secret));
  }

  private static String hs256(String key, String subject, Duration validFor, String... roles) {
    return JWT.create()
        .withSubject(subject)
        .withArrayClaim("roles", roles)
        .withIssuedAt(Instant.now())
        .withExpiresAt(Instant.now().plus(validFor))
        .sign(Algorithm.HMAC256(key));
  }

  private static String payload(String subject, String rolesJson) {
    return "{\"sub\":\""
        + subject
        + "\",\"roles\":"
        + rolesJson
        + ",\"exp\":"
        + Instant.now().plus(Duration.ofMinutes(10)).getEpochSecond()
        + "}";
  }
}
