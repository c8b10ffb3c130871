package io.marketplace.payments.common;

import io.marketplace.payments.common.config.ConfigException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How every service's {@code main} starts and stops: a configuration error is one line on standard
 * error and exit status 2; SIGTERM closes the service cleanly.
 */
public final class ServiceMain {

  private static final Logger log = LoggerFactory.getLogger(ServiceMain.class);

  private ServiceMain() {}

  /** Starts a service; its resources are closed, in reverse, when the JVM is asked to stop. */
  @FunctionalInterface
  public interface Starter {
    AutoCloseable start() throws Exception;
  }

  public static void run(String name, Starter starter) {
    AutoCloseable service;
    try {
      service = starter.start();
    } catch (ConfigException e) {
      System.err.println(name + ": " + e.getMessage());
      System.exit(2);
      return;
    } catch (Exception e) {
      log.error("{} failed to start", name, e);
      System.err.println(name + ": failed to start: " + e);
      System.exit(1);
      return;
    }
    Runtime.getRuntime()
        .addShutdownHook(
            Thread.ofPlatform()
                .name(name + "-shutdown")
                .unstarted(
                    () -> {
                      try {
                        service.close();
                      } catch (Exception e) {
                        log.warn("{} did not stop cleanly", name, e);
                      }
                    }));
    log.info("{} started", name);
  }
}
