package io.marketplace.payments.gateway;

import io.marketplace.payments.common.ServiceMain;
import io.marketplace.payments.common.config.Env;

/** Runs the webhook gateway from the environment (SPEC §2). */
public final class Main {

  private Main() {}

  public static void main(String[] args) {
    ServiceMain.run(
        WebhookGateway.SERVICE, () -> WebhookGateway.start(GatewayConfig.fromEnv(Env.system())));
  }
}
