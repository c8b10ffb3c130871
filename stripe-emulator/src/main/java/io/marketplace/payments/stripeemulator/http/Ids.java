package io.marketplace.payments.stripeemulator.http;

import java.security.SecureRandom;

/** Stripe-looking identifiers: a prefix, an underscore and random base62 characters. */
public final class Ids {
  private static final String ALPHABET =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  private static final SecureRandom RANDOM = new SecureRandom();

  private Ids() {}

  /** An object id such as {@code pi_3QbX...}, 24 random characters as Stripe's own. */
  public static String newId(String prefix) {
    return prefix + "_" + random(24);
  }

  public static String requestId() {
    return "req_" + random(14);
  }

  public static String webhookSecret() {
    return "whsec_" + random(32);
  }

  public static String random(int length) {
    StringBuilder sb = new StringBuilder(length);
    for (int i = 0; i < length; i++) {
      sb.append(ALPHABET.charAt(RANDOM.nextInt(ALPHABET.length())));
    }
    return sb.toString();
  }
}
