package io.marketplace.payments.ops;

/**
 * The {@code --consumer NAME} of {@code replay}, {@code lag} and {@code dlq}, and the {@code
 * --payment-consumer} and {@code --refund-consumer} of {@code reconcile}: a consumer group's name.
 * An empty one (an unset shell variable in {@code --consumer "$GROUP"}) names no group, and is
 * refused as wrong usage before anything is read or changed.
 */
public final class ConsumerOption {

  private ConsumerOption() {}

  /** {@code name} of {@code --consumer} as given; null stays null (the option was left out). */
  public static String check(String name) {
    return check("--consumer", name);
  }

  /** {@code name} of {@code option} as given; null stays null (the option was left out). */
  public static String check(String option, String name) {
    if (name != null && name.isBlank()) {
      throw new UsageError(
          option
              + " is empty: name a consumer group, such as payment-processor or"
              + " refund-worker (./payments lag lists them)");
    }
    return name;
  }
}
