package io.marketplace.payments.embedded;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;

/** Loopback port checks shared by the embedded servers, which all listen on the loopback only. */
final class Ports {

  private Ports() {}

  /** A port that is free right now. Another process may still take it before we bind it. */
  static int free() {
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
