package io.marketplace.payments.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The local stack's Stripe emulator answers its test controls without any key (refund a payment,
 * open a dispute that counts toward a ban): it must not be reachable from the network, as the
 * embedded broker and PostgreSQL are not. Nor are the services: a developer's machine is no place
 * to serve the API, the gateway and every worker's health and metrics to whoever shares its
 * network.
 */
class LoopbackOnlyTest {

  @TempDir Path dataDir;

  @Test
  void shouldServeTheStripeEmulatorOnTheLoopbackOnlyWhenTheStackIsUp() throws Exception {
    // Given an address of this machine on a network, and the stack running
    Optional<InetAddress> onNetwork = networkAddress();
    // a machine on no network has no address for another machine to reach
    assumeTrue(onNetwork.isPresent(), "this machine has no non-loopback IPv4 address");
    InetAddress network = onNetwork.get();
    try (LocalStack stack = LocalStack.start(dataDir, StackPorts.anyFree(), line -> {})) {
      int stripePort = URI.create(stack.env().get("STRIPE_API_BASE")).getPort();

      // When another machine connects to the emulator's port, then it is refused
      assertThatThrownBy(() -> connect(network, stripePort)).isInstanceOf(IOException.class);
      // while this machine's own clients reach it
      connect(InetAddress.getLoopbackAddress(), stripePort);
      // and its address is the one it listens on, not a name that may resolve to ::1 first
      assertThat(stack.env().get("STRIPE_API_BASE")).startsWith("http://127.0.0.1:");
    }
  }

  @Test
  void shouldServeEveryServiceOnTheLoopbackOnlyWhenTheStackIsUp() throws Exception {
    // Given an address of this machine on a network, and the stack running
    Optional<InetAddress> onNetwork = networkAddress();
    assumeTrue(onNetwork.isPresent(), "this machine has no non-loopback IPv4 address");
    InetAddress network = onNetwork.get();
    try (LocalStack stack = LocalStack.start(dataDir, StackPorts.anyFree(), line -> {})) {
      List<String> urls =
          List.of(
              "GATEWAY_URL",
              "GATEWAY_ADMIN_URL",
              "API_URL",
              "API_ADMIN_URL",
              "PAYMENT_PROCESSOR_URL",
              "REFUND_WORKER_URL",
              "PROMOTION_EXPIRER_URL",
              "PAYMENT_RISK_URL");
      for (String name : urls) {
        String url = stack.env().get(name);
        assertThat(url).as(name).isNotNull();
        int port = URI.create(url).getPort();

        // When another machine connects to the service's port, then it is refused
        assertThat(reachable(network, port))
            .as(name + " at " + url + " is reachable from " + network)
            .isFalse();
        // while this machine's own clients reach it
        assertThat(reachable(InetAddress.getLoopbackAddress(), port)).as(name).isTrue();
      }
    }
  }

  private static boolean reachable(InetAddress address, int port) {
    try {
      connect(address, port);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static void connect(InetAddress address, int port) throws IOException {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(address, port), 2_000);
    }
  }

  private static Optional<InetAddress> networkAddress() throws SocketException {
    for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
      if (!nic.isUp() || nic.isLoopback()) {
        continue;
      }
      for (InetAddress address : Collections.list(nic.getInetAddresses())) {
        if (address instanceof Inet4Address && !address.isLoopbackAddress()) {
          return Optional.of(address);
        }
      }
    }
    return Optional.empty();
  }
}
