package io.marketplace.payments.common.config;

/** A required environment variable is not set. The message is the one line the service prints. */
public final class MissingConfigException extends ConfigException {

  public MissingConfigException(String variable) {
    super("missing required environment variable " + variable);
  }
}
