package io.marketplace.payments.embedded;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Loopback ports for servers that start later than their port is chosen: the embedded servers, and
 * the child processes of tests and of the local stack.
 *
 * <p>A port is picked below the kernel's range of ephemeral ports. The local port of every outgoing
 * connection, and of every bind to port 0, comes from that range, so the clients of other processes
 * on the machine (other test JVMs talking to their brokers and databases) cannot take a port
 * between its pick and the server's bind, as they could one that a bind to port 0 handed out.
 */
public final class Ports {

  /** Linux's range of ephemeral ports; other systems start theirs higher (49152). */
  private static final Path EPHEMERAL_RANGE = Path.of("/proc/sys/net/ipv4/ip_local_port_range");

  static final int LOWEST = 10_000;
  private static final int DEFAULT_EPHEMERAL_LOW = 32_768;
  private static final int ATTEMPTS = 200;

  private Ports() {}

  /**
   * A loopback port that is free right now and lies outside the ephemeral range. Another process
   * that picks ports the same way may still take it before it is bound; one that lets the kernel
   * pick cannot.
   */
  public static int free() {
    int high = ephemeralLow();
    if (high - LOWEST >= 1_000) {
      for (int i = 0; i < ATTEMPTS; i++) {
        int port = ThreadLocalRandom.current().nextInt(LOWEST, high);
        if (isFree(port)) {
          return port;
        }
      }
    }
    // a kernel whose ephemeral range starts low leaves no room below it: let it pick
    try (ServerSocket socket = new ServerSocket()) {
      socket.setReuseAddress(true);
      socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("no free loopback port", e);
    }
  }

  /** A port other than {@code taken}, free right now. */
  static int freeOtherThan(int taken) {
    int port = free();
    while (port == taken) {
      port = free();
    }
    return port;
  }

  /** The first port of the kernel's ephemeral range. */
  static int ephemeralLow() {
    try {
      // read line by line: a file of /proc reports a size of 0, which whole-file reads trust
      String[] range = Files.readAllLines(EPHEMERAL_RANGE).getFirst().strip().split("\\s+");
      return Integer.parseInt(range[0]);
    } catch (IOException | RuntimeException e) {
      return DEFAULT_EPHEMERAL_LOW;
    }
  }

  static boolean isFree(int port) {
    try (ServerSocket socket = new ServerSocket()) {
      socket.setReuseAddress(true);
      socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  static void requireFree(String server, int port) {
    if (!isFree(port)) {
      throw new PortInUseException(server, port);
    }
  }
}
