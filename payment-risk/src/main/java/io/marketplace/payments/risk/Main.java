package io.marketplace.payments.risk;

import io.marketplace.payments.common.ServiceMain;
import io.marketplace.payments.common.config.Env;

/** {@code payment-risk}: raises risk signals from Stripe events (see {@link RiskTopology}). */
public final class Main {

  private Main() {}

  public static void main(String[] args) {
    ServiceMain.run(RiskService.NAME, () -> RiskService.start(RiskConfig.fromEnv(Env.system())));
  }
}
