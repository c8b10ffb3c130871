package io.marketplace.payments.processor;

import io.marketplace.payments.common.ServiceMain;
import io.marketplace.payments.common.config.Env;

/** Runs the payment processor with its configuration from the environment. */
public final class Main {

  private Main() {}

  public static void main(String[] args) {
    ServiceMain.run(
        PaymentProcessorConfig.SERVICE,
        () -> PaymentProcessor.start(PaymentProcessorConfig.fromEnv(Env.system())));
  }
}
