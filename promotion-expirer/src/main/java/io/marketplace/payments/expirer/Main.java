package io.marketplace.payments.expirer;

import io.marketplace.payments.common.ServiceMain;
import io.marketplace.payments.common.config.ConfigException;
import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.common.time.Clocks;
import java.time.Clock;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code promotion-expirer}: a service passing on its schedule (the Kubernetes Deployment), or with
 * {@code --once} one pass that exits 0 when done and its events are published (1 when the pass
 * failed or its events are not yet published, 2 on a configuration error), for a pass by hand.
 */
public final class Main {

  private static final Logger log = LoggerFactory.getLogger(Main.class);
  static final String USAGE = "usage: promotion-expirer [--once]";

  private Main() {}

  public static void main(String[] args) {
    List<String> arguments = List.of(args);
    if (arguments.equals(List.of("--once"))) {
      System.exit(once(Env.system(), Clocks.systemUtc()));
      return;
    }
    if (!arguments.isEmpty()) {
      System.err.println(USAGE);
      System.exit(2);
      return;
    }
    ServiceMain.run(
        PromotionExpirer.NAME,
        () -> PromotionExpirer.start(ExpirerConfig.fromEnv(Env.system()), Clocks.systemUtc()));
  }

  /** One pass; returns the exit status. */
  static int once(Env env, Clock clock) {
    ExpirerConfig config;
    try {
      config = ExpirerConfig.fromEnv(env);
    } catch (ConfigException e) {
      System.err.println(PromotionExpirer.NAME + ": " + e.getMessage());
      return 2;
    }
    try {
      PromotionExpirer.OnceResult result = PromotionExpirer.runOnce(config, clock);
      if (!result.succeeded()) {
        System.err.println(
            PromotionExpirer.NAME
                + ": pass "
                + result.pass().outcome().name().toLowerCase()
                + result.pass().error().map(e -> " (" + e + ")").orElse("")
                + (result.published() ? "" : "; its events are not all published yet"));
        return 1;
      }
      return 0;
    } catch (RuntimeException e) {
      log.error("expiry pass could not run", e);
      System.err.println(PromotionExpirer.NAME + ": pass could not run: " + e);
      return 1;
    }
  }
}
