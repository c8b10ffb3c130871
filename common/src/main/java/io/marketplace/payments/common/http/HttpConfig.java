package io.marketplace.payments.common.http;

import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.common.config.InvalidConfigException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Objects;

/**
 * How much one HTTP server takes in at once, so that a flood of connections queues or is refused
 * instead of exhausting threads and memory. Jetty on its own accepts every connection it is offered
 * and leaves the kernel's accept queue at 50.
 *
 * <p>The defaults fit a replica of 768 MiB: 4,096 connections holding at most a request header
 * buffer each (a few tens of MiB, beside the gateway's 64 MiB of bodies), 16 times what the gateway
 * benchmark drives at its peak; and an accept queue of 1,024 (Linux caps it at {@code
 * net.core.somaxconn}, 4,096 on recent kernels).
 *
 * @param maxConnections open connections at most ({@code HTTP_MAX_CONNECTIONS}); at the limit the
 *     server stops accepting, and new connections wait in the accept queue until one closes
 * @param acceptQueueSize connections the kernel holds while the server does not accept them ({@code
 *     HTTP_ACCEPT_QUEUE_SIZE}, the listen backlog); beyond it, new connections are not completed
 *     and clients retry or time out
 * @param idleTimeout how long a connection may stay silent before the server closes it ({@code
 *     HTTP_IDLE_TIMEOUT}); it frees the room of clients that hold connections and send nothing (a
 *     request the server is still working on, such as a webhook waiting for the broker, is not cut)
 * @param headerTimeout how long a request's head (request line and headers) may take to arrive in
 *     full once its first byte is in ({@code HTTP_HEADER_TIMEOUT}); at the deadline the server
 *     closes the connection. The idle timeout does not cut a client that sends a header byte every
 *     few seconds, and each such client holds one of the {@code maxConnections}
 * @param bodyTimeout how long a request's body may take to arrive in full once the service starts
 *     reading it, right after its head ({@code HTTP_BODY_TIMEOUT}); at the deadline the server
 *     closes the connection. Like a slow head, a body sent a byte every few seconds is never idle,
 *     and holds a connection and a request thread for as long as its client likes
 * @param bindAddress the address the server listens on ({@code HTTP_BIND_ADDRESS}), or null for
 *     every interface, what a container needs; {@code ./payments up} listens on the loopback only
 */
public record HttpConfig(
    int maxConnections,
    int acceptQueueSize,
    Duration idleTimeout,
    Duration headerTimeout,
    Duration bodyTimeout,
    String bindAddress) {

  public static final int DEFAULT_MAX_CONNECTIONS = 4096;
  public static final int DEFAULT_ACCEPT_QUEUE_SIZE = 1024;
  public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(30);
  public static final Duration DEFAULT_HEADER_TIMEOUT = Duration.ofSeconds(10);
  public static final Duration DEFAULT_BODY_TIMEOUT = Duration.ofSeconds(10);

  public HttpConfig {
    Objects.requireNonNull(idleTimeout, "idleTimeout");
    Objects.requireNonNull(headerTimeout, "headerTimeout");
    Objects.requireNonNull(bodyTimeout, "bodyTimeout");
    if (maxConnections < 1) {
      throw new IllegalArgumentException("maxConnections must be at least 1: " + maxConnections);
    }
    if (acceptQueueSize < 1) {
      throw new IllegalArgumentException("acceptQueueSize must be at least 1: " + acceptQueueSize);
    }
    if (idleTimeout.toMillis() < 1) {
      throw new IllegalArgumentException("idleTimeout must be at least 1 ms: " + idleTimeout);
    }
    if (headerTimeout.toMillis() < 1) {
      throw new IllegalArgumentException("headerTimeout must be at least 1 ms: " + headerTimeout);
    }
    if (bodyTimeout.toMillis() < 1) {
      throw new IllegalArgumentException("bodyTimeout must be at least 1 ms: " + bodyTimeout);
    }
    if (bindAddress != null && bindAddress.isBlank()) {
      throw new IllegalArgumentException("bindAddress must be null or an address");
    }
  }

  /** Limits on every interface, with the default deadlines for request heads and bodies. */
  public HttpConfig(int maxConnections, int acceptQueueSize, Duration idleTimeout) {
    this(
        maxConnections,
        acceptQueueSize,
        idleTimeout,
        DEFAULT_HEADER_TIMEOUT,
        DEFAULT_BODY_TIMEOUT,
        null);
  }

  public static HttpConfig defaults() {
    return new HttpConfig(DEFAULT_MAX_CONNECTIONS, DEFAULT_ACCEPT_QUEUE_SIZE, DEFAULT_IDLE_TIMEOUT);
  }

  /** The same limits, listening on {@code address} only (null: every interface). */
  public HttpConfig withBindAddress(String address) {
    return new HttpConfig(
        maxConnections, acceptQueueSize, idleTimeout, headerTimeout, bodyTimeout, address);
  }

  /** The same limits, with {@code timeout} for a request's head to arrive in full. */
  public HttpConfig withHeaderTimeout(Duration timeout) {
    return new HttpConfig(
        maxConnections, acceptQueueSize, idleTimeout, timeout, bodyTimeout, bindAddress);
  }

  /** The same limits, with {@code timeout} for a request's body to arrive in full. */
  public HttpConfig withBodyTimeout(Duration timeout) {
    return new HttpConfig(
        maxConnections, acceptQueueSize, idleTimeout, headerTimeout, timeout, bindAddress);
  }

  /**
   * The host of a URL that reaches a server bound to {@code bindAddress} from the same machine:
   * that address when it is one address, else {@code localhost}.
   */
  public static String urlHost(String bindAddress) {
    if (bindAddress == null || isWildcard(bindAddress)) {
      return "localhost";
    }
    return bindAddress.contains(":") && !bindAddress.startsWith("[")
        ? "[" + bindAddress + "]"
        : bindAddress;
  }

  private static boolean isWildcard(String address) {
    return address.equals("0.0.0.0") || address.equals("::") || address.equals("[::]");
  }

  public static HttpConfig fromEnv(Env env) {
    int maxConnections = env.integer("HTTP_MAX_CONNECTIONS", DEFAULT_MAX_CONNECTIONS);
    if (maxConnections < 1) {
      throw new InvalidConfigException("HTTP_MAX_CONNECTIONS", "must be at least 1");
    }
    int acceptQueueSize = env.integer("HTTP_ACCEPT_QUEUE_SIZE", DEFAULT_ACCEPT_QUEUE_SIZE);
    if (acceptQueueSize < 1) {
      throw new InvalidConfigException("HTTP_ACCEPT_QUEUE_SIZE", "must be at least 1");
    }
    Duration idleTimeout = env.duration("HTTP_IDLE_TIMEOUT", DEFAULT_IDLE_TIMEOUT);
    if (idleTimeout.toMillis() < 1) {
      throw new InvalidConfigException("HTTP_IDLE_TIMEOUT", "must be at least 1ms");
    }
    Duration headerTimeout = env.duration("HTTP_HEADER_TIMEOUT", DEFAULT_HEADER_TIMEOUT);
    if (headerTimeout.toMillis() < 1) {
      throw new InvalidConfigException("HTTP_HEADER_TIMEOUT", "must be at least 1ms");
    }
    Duration bodyTimeout = env.duration("HTTP_BODY_TIMEOUT", DEFAULT_BODY_TIMEOUT);
    if (bodyTimeout.toMillis() < 1) {
      throw new InvalidConfigException("HTTP_BODY_TIMEOUT", "must be at least 1ms");
    }
    String bindAddress = env.optional("HTTP_BIND_ADDRESS", null);
    if (bindAddress != null) {
      try {
        // a literal is parsed, not looked up; a name must resolve here, where the server binds
        InetAddress.getByName(bindAddress);
      } catch (UnknownHostException e) {
        throw new InvalidConfigException(
            "HTTP_BIND_ADDRESS", "is not an address of this host: " + bindAddress);
      }
    }
    return new HttpConfig(
        maxConnections, acceptQueueSize, idleTimeout, headerTimeout, bodyTimeout, bindAddress);
  }
}
