package io.marketplace.payments.risk;

import io.marketplace.payments.common.ServiceMain;
import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.common.time.Clocks;

/**
 * {@code payment-risk}: raises risk signals from Stripe events (see {@link RiskTopology}) and flags
 * their users (see {@link io.marketplace.payments.risk.flag.RiskFlagWorker}).
 */
public final class Main {

  private Main() {}

  public static void main(String[] args) {
    ServiceMain.run(
        RiskService.NAME,
        () -> RiskService.start(RiskConfig.fromEnv(Env.system()), Clocks.systemUtc()));
  }
}
