package io.marketplace.payments.common.config;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Whether a secret could be guessed: a known placeholder (the {@code CHANGE_ME} of an example file,
 * {@code whsec_CHANGE_ME}, {@code sk_test_...placeholder}, {@code changeme}, {@code dummy}, {@code
 * password}) or a value with too little randomness in it (too short, one character, a repeated
 * pattern, a run such as {@code abcdef}). A Stripe prefix ({@code whsec_}, {@code sk_live_}, {@code
 * sk_test_}, ...) is not counted as randomness. The reason never quotes the value.
 */
public final class SecretCheck {

  /** Bits of Shannon entropy a secret must carry, over its whole length (after a prefix). */
  static final double MIN_TOTAL_BITS = 64;

  /** Bits per character: below it, a value is mostly one or two characters. */
  static final double MIN_BITS_PER_CHAR = 2.5;

  static final int MIN_DISTINCT_CHARACTERS = 8;

  private static final List<String> PREFIXES =
      List.of("whsec_", "sk_live_", "sk_test_", "rk_live_", "rk_test_", "pk_live_", "pk_test_");

  /**
   * Words that only an example or a stand-in contains, long enough that a random key (Stripe's are
   * 32 to 99 letters and digits) seldom holds one; separators between their letters do not count
   * ({@code CHANGE_ME}). Only as people write them: all lower case, all upper case, or capitalized
   * as here ({@code ChangeMe}, {@code changeMe}). A random key that holds one in another mix of
   * cases ({@code ...gDumMYe...}) is not refused for it: in any case, one 32-character key in about
   * a million would hold "dummy"; in these four, one in ten million.
   */
  private static final List<String> PLACEHOLDER_WORDS =
      List.of(
          "ChangeMe",
          "ReplaceMe",
          "Placeholder",
          "Example",
          "Dummy",
          "FakeSecret",
          "FakeKey",
          "NotASecret",
          "NotSecret",
          "YourSecret",
          "YourKey",
          "InsertYour",
          "SecretKey",
          "MySecret",
          "Password",
          "Passw0rd",
          "xxxxxxxx");

  /** Whole values (after a prefix) that are stand-ins, whatever their length. */
  private static final List<String> PLACEHOLDER_VALUES =
      List.of("test", "testing", "testkey", "testsecret", "secret", "local", "admin", "postgres");

  private SecretCheck() {}

  /** Why {@code value} is not a usable secret, or empty when it is. */
  /**
   * SHA-256 of the secrets this repository publishes for development (docker-compose.yml): random
   * enough to pass {@link #weakness}, known to anyone who reads the repository. Kept as digests so
   * that this list is not one more copy of them; a test checks that it covers the compose file.
   */
  private static final Set<String> PUBLISHED_SHA256 =
      Set.of(
          "8928d10c66034677e59f709704df13353ae1190a04299211fbca7e2d8b52c00c",
          "e6cea363611811a7ac36b1ef72f26ac99701f18f0e3d5b0e1b8f81cd61081361",
          "6bbae50f220adcf6e874bf3339238b119fcd501878b8dea522a262038a3314b7",
          "9947f1e084f7d932e5cabd079c9ef48563ed54c1935532ec8197362d957878f3");

  /** Whether {@code value} is one of the secrets this repository publishes for development. */
  public static boolean isPublished(String value) {
    try {
      byte[] digest =
          MessageDigest.getInstance("SHA-256").digest(value.getBytes(StandardCharsets.UTF_8));
      return PUBLISHED_SHA256.contains(HexFormat.of().formatHex(digest));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }

  public static Optional<String> weakness(String value) {
    if (isPlaceholder(value)) {
      return Optional.of("is a placeholder, not a real secret");
    }
    String body = withoutPrefix(value.trim());
    if (body.chars().distinct().count() < MIN_DISTINCT_CHARACTERS) {
      return Optional.of("has too few distinct characters to be a random secret");
    }
    if (repeats(body)) {
      return Optional.of("is a repeated pattern, not a random secret");
    }
    if (isRun(body)) {
      return Optional.of("is a run of consecutive characters, not a random secret");
    }
    double perChar = bitsPerCharacter(body);
    if (perChar < MIN_BITS_PER_CHAR || perChar * body.length() < MIN_TOTAL_BITS) {
      return Optional.of(
          "has too little entropy to be a random secret; use at least 32 bytes from a random generator");
    }
    return Optional.empty();
  }

  /**
   * Whether {@code value} is a stand-in an example file or a document gives ({@code CHANGE_ME},
   * {@code https://auth.example.com}), secret or not: a setting that names something, such as a
   * token issuer, is no more real for being copied from the example.
   */
  public static boolean isPlaceholder(String value) {
    String letters = withoutPrefix(value.trim()).replaceAll("[^A-Za-z0-9]", "");
    for (String word : PLACEHOLDER_WORDS) {
      if (writtenAsAPersonWould(word).stream().anyMatch(letters::contains)) {
        return true;
      }
    }
    return PLACEHOLDER_VALUES.contains(letters.toLowerCase(Locale.ROOT));
  }

  private static List<String> writtenAsAPersonWould(String word) {
    return List.of(
        word.toLowerCase(Locale.ROOT),
        word.toUpperCase(Locale.ROOT),
        word,
        word.substring(0, 1).toLowerCase(Locale.ROOT) + word.substring(1));
  }

  private static String withoutPrefix(String value) {
    for (String prefix : PREFIXES) {
      if (value.startsWith(prefix)) {
        return value.substring(prefix.length());
      }
    }
    return value;
  }

  /** Shannon entropy of the value's characters, in bits per character. */
  static double bitsPerCharacter(String value) {
    Map<Integer, Integer> counts = new HashMap<>();
    value.codePoints().forEach(c -> counts.merge(c, 1, Integer::sum));
    double length = value.codePointCount(0, value.length());
    double bits = 0;
    for (int count : counts.values()) {
      double p = count / length;
      bits -= p * (Math.log(p) / Math.log(2));
    }
    return bits;
  }

  /** The value is a shorter piece written over and over ({@code abc123abc123abc123}). */
  private static boolean repeats(String value) {
    int length = value.length();
    for (int period = 1; period <= length / 2; period++) {
      if (length % period == 0
          && value.substring(period).equals(value.substring(0, length - period))) {
        return true;
      }
    }
    return false;
  }

  /** Most neighbouring characters step by the same amount ({@code abcdefgh}, {@code 13579}). */
  private static boolean isRun(String value) {
    if (value.length() < 3) {
      return false;
    }
    Map<Integer, Integer> steps = new HashMap<>();
    for (int i = 1; i < value.length(); i++) {
      steps.merge(value.charAt(i) - value.charAt(i - 1), 1, Integer::sum);
    }
    int most = steps.values().stream().mapToInt(Integer::intValue).max().orElse(0);
    return most * 4 >= (value.length() - 1) * 3;
  }
}
