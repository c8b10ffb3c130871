package io.marketplace.payments.common.stripe;

import java.util.regex.Pattern;

/**
 * Stripe's error texts can quote our API key, masked but for its last digits ({@code Invalid API
 * Key provided: sk_live_****1234}). Whatever of Stripe's text we log, store or show goes through
 * {@link #redact} first.
 */
public final class StripeKeys {

  /** An API key, whole or masked as Stripe quotes it in errors: {@code sk_live_****1234}. */
  private static final Pattern KEY =
      Pattern.compile("\\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9*]+|\\bwhsec_[A-Za-z0-9*]+");

  private StripeKeys() {}

  /** {@code text} without anything shaped like a key ({@code sk_live_...4242}); null stays null. */
  public static String redact(String text) {
    return text == null ? null : KEY.matcher(text).replaceAll("[redacted key]");
  }
}
