package io.marketplace.payments.ops;

/**
 * A command could not do what was asked, for a reason the operator can act on (a worker still
 * running, an unknown consumer group, Stripe unreachable). Its message is printed as it is, without
 * a stack trace, and the command exits with status 1.
 */
public final class OperatorError extends RuntimeException {

  public OperatorError(String message) {
    super(message);
  }

  public OperatorError(String message, Throwable cause) {
    super(message, cause);
  }
}
