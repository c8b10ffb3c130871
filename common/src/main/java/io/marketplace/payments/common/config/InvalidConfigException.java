package io.marketplace.payments.common.config;

/** An environment variable is set to something unusable. The value itself is never repeated. */
public final class InvalidConfigException extends ConfigException {

  public InvalidConfigException(String variable, String problem) {
    super("invalid environment variable " + variable + ": " + problem);
  }
}
