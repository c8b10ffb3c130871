package io.marketplace.payments.common.config;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * Typed access to the environment (SPEC §2). A missing required variable throws {@link
 * MissingConfigException}, whose message is the one line a service prints before it exits. Values
 * are never echoed back in errors: some of them are secrets.
 */
public final class Env {

  private final Function<String, String> source;

  private Env(Function<String, String> source) {
    this.source = source;
  }

  public static Env system() {
    return new Env(System::getenv);
  }

  public static Env of(Map<String, String> values) {
    return new Env(values::get);
  }

  /** This environment with {@code overrides} taking precedence. */
  public Env with(Map<String, String> overrides) {
    return new Env(name -> overrides.containsKey(name) ? overrides.get(name) : source.apply(name));
  }

  public String required(String name) {
    String value = source.apply(name);
    if (value == null || value.isBlank()) {
      throw new MissingConfigException(name);
    }
    return value.trim();
  }

  /**
   * A required secret that must not be guessable: a known placeholder or a low-entropy value is
   * refused with one line naming the variable ({@link SecretCheck}), never the value.
   */
  public String secret(String name) {
    return checked(name, required(name));
  }

  /** An optional secret ({@code ""} when unset), checked as {@link #secret} when it is set. */
  public String optionalSecret(String name) {
    String value = optional(name, "");
    return value.isEmpty() ? value : checked(name, value);
  }

  /**
   * A required comma-separated list of secrets (blanks dropped), each checked as {@link #secret}.
   */
  public List<String> secrets(String name) {
    List<String> values = list(name, true);
    values.forEach(value -> checked(name, value));
    return values;
  }

  private String checked(String name, String value) {
    SecretCheck.weakness(value)
        .ifPresent(
            problem -> {
              throw new InvalidConfigException(name, problem);
            });
    // random enough, but anyone who reads the repository has it: fine on a laptop (compose, the
    // local stack), refused wherever a service is deployed, staging as much as production, since
    // their public ports take whatever such a secret signs
    if (SecretCheck.isPublished(value)) {
      Deployment deployment = Deployment.fromEnv(this);
      if (deployment != Deployment.DEVELOPMENT) {
        throw new InvalidConfigException(
            name,
            "is a value published in this repository for local development only ("
                + Deployment.VARIABLE
                + "="
                + deployment.name().toLowerCase(Locale.ROOT)
                + ")");
      }
    }
    return value;
  }

  public String optional(String name, String fallback) {
    String value = source.apply(name);
    return value == null || value.isBlank() ? fallback : value.trim();
  }

  public int integer(String name, int fallback) {
    String value = source.apply(name);
    if (value == null || value.isBlank()) {
      return fallback;
    }
    try {
      return Integer.parseInt(value.trim());
    } catch (NumberFormatException e) {
      throw new InvalidConfigException(name, "must be a whole number");
    }
  }

  /** {@code true} or {@code false} (any case); anything else is refused, not read as false. */
  public boolean bool(String name, boolean fallback) {
    String value = optional(name, null);
    if (value == null) {
      return fallback;
    }
    return switch (value.toLowerCase(Locale.ROOT)) {
      case "true" -> true;
      case "false" -> false;
      default -> throw new InvalidConfigException(name, "must be true or false");
    };
  }

  /**
   * A duration as ISO-8601 ({@code PT24H}) or a number with a unit: {@code 500ms}, {@code 30s},
   * {@code 5m}, {@code 24h}, {@code 1d}.
   */
  public Duration duration(String name, Duration fallback) {
    String value = source.apply(name);
    if (value == null || value.isBlank()) {
      return fallback;
    }
    try {
      return parseDuration(value.trim());
    } catch (RuntimeException e) {
      throw new InvalidConfigException(name, "must be a duration such as 30s, 5m, 24h or PT24H");
    }
  }

  /** A comma-separated list, blanks dropped; required when {@code required} is true. */
  public List<String> list(String name, boolean required) {
    String value = required ? required(name) : optional(name, "");
    return Arrays.stream(value.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
  }

  static Duration parseDuration(String text) {
    if (text.startsWith("P") || text.startsWith("p")) {
      return Duration.parse(text.toUpperCase());
    }
    String lower = text.toLowerCase();
    if (lower.endsWith("ms")) {
      return Duration.ofMillis(Long.parseLong(lower.substring(0, lower.length() - 2)));
    }
    long amount = Long.parseLong(lower.substring(0, lower.length() - 1));
    return switch (lower.charAt(lower.length() - 1)) {
      case 's' -> Duration.ofSeconds(amount);
      case 'm' -> Duration.ofMinutes(amount);
      case 'h' -> Duration.ofHours(amount);
      case 'd' -> Duration.ofDays(amount);
      default -> throw new IllegalArgumentException("unknown unit");
    };
  }
}
