package io.marketplace.payments.ops.token;

import com.auth0.jwt.JWT;
import com.auth0.jwt.JWTCreator;
import com.auth0.jwt.algorithms.Algorithm;
import io.marketplace.payments.ops.OperatorError;
import io.marketplace.payments.ops.OpsContext;
import io.marketplace.payments.ops.Times;
import io.marketplace.payments.ops.UsageError;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code payments token}: a bearer token for the checkout API (SPEC §3), HS256 with {@code
 * AUTH_JWT_SECRET}, claims {@code sub}, {@code roles}, {@code iat}, {@code exp}, and the {@code
 * iss} and {@code aud} of {@code AUTH_JWT_ISSUER} and {@code AUTH_JWT_AUDIENCE} when the system
 * requires them, living no longer than the API's {@code AUTH_JWT_MAX_LIFETIME}. A super_admin is
 * also a user, so {@code --role super_admin} gives both roles.
 */
@Command(
    name = "token",
    mixinStandardHelpOptions = true,
    description = "Prints a JWT for the running system, signed with AUTH_JWT_SECRET.")
public final class TokenCommand implements Callable<Integer> {

  static final int MIN_SECRET_BYTES = 32;

  /** The API's default {@code AUTH_JWT_MAX_LIFETIME}: it refuses a token that lives longer. */
  static final Duration MAX_LIFETIME = Duration.ofHours(24);

  public enum Role {
    user,
    super_admin
  }

  private final OpsContext context;

  @Spec CommandSpec spec;

  @Option(names = "--user", required = true, paramLabel = "UUID", description = "the user (sub)")
  UUID user;

  @Option(
      names = "--role",
      paramLabel = "ROLE",
      description = "user (default) or super_admin; repeatable")
  List<Role> roles = new ArrayList<>();

  @Option(
      names = "--ttl",
      paramLabel = "DURATION",
      defaultValue = "1h",
      description =
          "lifetime, e.g. 15m, 1h, 12h; at most AUTH_JWT_MAX_LIFETIME, 24h unless set"
              + " (default: ${DEFAULT-VALUE})")
  String ttl;

  public TokenCommand(OpsContext context) {
    this.context = context;
  }

  @Override
  public Integer call() {
    Duration lifetime = Times.parseDuration(ttl);
    if (lifetime.isZero()) {
      // a token that has expired when it is printed; a negative one is refused as it is parsed
      throw new UsageError(
          "--ttl '" + ttl + "' is no lifetime: give a positive duration, such as 15m, 1h or 12h");
    }
    // the API refuses a token that lives longer: print none rather than one that answers 401
    Duration maxLifetime = context.env().duration("AUTH_JWT_MAX_LIFETIME", MAX_LIFETIME);
    if (lifetime.compareTo(maxLifetime) > 0) {
      throw new OperatorError(
          "--ttl "
              + ttl
              + " is longer than the API accepts (AUTH_JWT_MAX_LIFETIME, "
              + maxLifetime
              + "); ask for a shorter one");
    }
    String secret = context.jwtSecret();
    if (secret.getBytes(StandardCharsets.UTF_8).length < MIN_SECRET_BYTES) {
      throw new OperatorError(
          "AUTH_JWT_SECRET is shorter than "
              + MIN_SECRET_BYTES
              + " bytes; HS256 needs at least that");
    }
    JWTCreator.Builder token =
        JWT.create()
            .withSubject(user.toString())
            .withClaim("roles", roleNames())
            .withIssuedAt(context.clock().instant())
            .withExpiresAt(context.clock().instant().plus(lifetime));
    // the API requires them when it is told them (absent, not null, otherwise)
    String issuer = context.env().optional("AUTH_JWT_ISSUER", null);
    if (issuer != null) {
      token.withIssuer(issuer);
    }
    String audience = context.env().optional("AUTH_JWT_AUDIENCE", null);
    if (audience != null) {
      token.withAudience(audience);
    }
    spec.commandLine()
        .getOut()
        .println(token.sign(Algorithm.HMAC256(secret.getBytes(StandardCharsets.UTF_8))));
    spec.commandLine().getOut().flush();
    return 0;
  }

  private List<String> roleNames() {
    List<String> names = new ArrayList<>(List.of(Role.user.name()));
    roles.stream().map(Role::name).filter(name -> !names.contains(name)).forEach(names::add);
    return names;
  }

  /**
   * A token as the API expects it (SPEC §3): {@code sub}, {@code roles}, {@code iat}, {@code exp}.
   */
  public static String sign(
      String secret, UUID user, List<String> roles, Instant issuedAt, Duration lifetime) {
    return JWT.create()
        .withSubject(user.toString())
        .withClaim("roles", roles)
        .withIssuedAt(issuedAt)
        .withExpiresAt(issuedAt.plus(lifetime))
        .sign(Algorithm.HMAC256(secret.getBytes(StandardCharsets.UTF_8)));
  }
}
