package io.marketplace.payments.refunds;

import io.marketplace.payments.common.ServiceMain;
import io.marketplace.payments.common.config.Env;

/** Runs the refund worker from the environment. */
public final class Main {

  private Main() {}

  public static void main(String[] args) {
    ServiceMain.run(
        "refund-worker", () -> RefundWorker.start(RefundWorkerConfig.fromEnv(Env.system())));
  }
}
