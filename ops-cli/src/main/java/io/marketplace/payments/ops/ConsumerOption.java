package io.marketplace.payments.ops;

/**
 * The {@code --consumer NAME} of {@code replay}, {@code lag} and {@code dlq}: a consumer group's
 * name. An empty one (an unset shell variable in {@code --consumer "$GROUP"}) names no group, and
 * is refused as wrong usage before anything is read or changed.
 */
public final class ConsumerOption {

  private ConsumerOption() {}

  /** {@code name} as given; null stays null (the option was left out). */
  public static String check(String name) {
    if (name != null && name.isBlank()) {
      throw new UsageError(
          "--consumer is empty: name a consumer group, such as payment-processor or"
              + " refund-worker (./payments lag lists them)");
    }
    return name;
  }
}
