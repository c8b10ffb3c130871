package io.marketplace.payments.ops;

/**
 * The command line itself is wrong: a value that is not a time or a duration, a duration that is
 * not positive, options that do not go together. Nothing was read or changed; the message says what
 * to type instead, and the command exits with status 2.
 */
public final class UsageError extends IllegalArgumentException {

  public UsageError(String message) {
    super(message);
  }
}
