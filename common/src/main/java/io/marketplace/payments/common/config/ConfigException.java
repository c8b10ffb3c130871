package io.marketplace.payments.common.config;

/** The configuration is unusable; the service prints the message as one line and exits. */
public abstract sealed class ConfigException extends RuntimeException
    permits MissingConfigException, InvalidConfigException {

  protected ConfigException(String message) {
    super(message, null, false, false);
  }
}
