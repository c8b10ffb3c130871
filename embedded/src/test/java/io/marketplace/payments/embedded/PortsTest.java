package io.marketplace.payments.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import org.junit.jupiter.api.Test;

class PortsTest {

  @Test
  void shouldPickBindablePortsThatNoClientOfAnotherProcessCanBeGiven() throws IOException {
    // Given the kernel hands out the local ports of connections and of binds to port 0 from its
    // ephemeral range
    int ephemeralLow = Ports.ephemeralLow();

    for (int i = 0; i < 50; i++) {
      // When a port is picked for a server that binds it later
      int port = Ports.free();

      // Then it lies below that range, and it can be bound
      assertThat(port).isBetween(Ports.LOWEST, ephemeralLow - 1);
      try (ServerSocket server = new ServerSocket()) {
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        assertThat(server.getLocalPort()).isEqualTo(port);
      }
    }
  }
}
