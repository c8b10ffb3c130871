package io.marketplace.payments.system.support;

import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.common.kafka.Topics;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The environment a service is started with, as SPEC §2 names it: the failure tests configure the
 * services exactly as {@code ./payments up} and the deployments do, through {@code
 * XConfig.fromEnv}, only pointed at their own broker, topics and database, with free ports.
 */
public final class ServiceEnv {

  private final Map<String, String> values = new LinkedHashMap<>();

  private ServiceEnv() {}

  /** The broker, the topic prefix of {@code topics}, and the database. */
  public static ServiceEnv of(
      String bootstrapServers, Topics topics, String dbUrl, String dbUser, String dbPassword) {
    ServiceEnv env = new ServiceEnv();
    env.values.put("KAFKA_BOOTSTRAP_SERVERS", bootstrapServers);
    env.values.put("KAFKA_TOPIC_PREFIX", prefixOf(topics));
    env.values.put("DATABASE_URL", dbUrl);
    env.values.put("DATABASE_USER", dbUser);
    env.values.put("DATABASE_PASSWORD", dbPassword);
    // many services share one small server in tests
    env.values.put("DATABASE_POOL_SIZE", "4");
    env.values.put("ADMIN_PORT", "0");
    env.values.put("GATEWAY_PORT", "0");
    return env;
  }

  public ServiceEnv with(String name, String value) {
    values.put(name, value);
    return this;
  }

  public Env env() {
    return Env.of(values);
  }

  private static String prefixOf(Topics topics) {
    String name = topics.stripeEvents().name();
    return name.substring(0, name.length() - Topics.standard().stripeEvents().name().length());
  }
}
