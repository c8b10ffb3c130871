package io.marketplace.payments.checkout;

import io.marketplace.payments.common.ServiceMain;
import io.marketplace.payments.common.config.Env;

/** Runs checkout-api from the environment (SPEC §2). */
public final class Main {

  private Main() {}

  public static void main(String[] args) {
    ServiceMain.run(
        CheckoutApi.SERVICE, () -> CheckoutApi.start(CheckoutApiConfig.fromEnv(Env.system())));
  }
}
