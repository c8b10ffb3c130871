package io.marketplace.payments.local;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The ports of the local stack; 0 picks a free one (tests). A taken port is reported with the
 * option that moves it, before anything starts (PostgreSQL's when its server starts).
 */
public record StackPorts(
    int kafka,
    int postgres,
    int stripe,
    int gateway,
    int api,
    int processor,
    int refunds,
    int expirer,
    int gatewayAdmin,
    int risk,
    int apiAdmin) {

  public static StackPorts defaults() {
    return new StackPorts(9092, 5433, 12111, 8080, 8081, 8082, 8083, 8084, 8085, 8086, 8087);
  }

  public static StackPorts anyFree() {
    return new StackPorts(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  }

  /**
   * Throws {@link PortTakenException} naming the first port given to two options, and both: the
   * second server would fail to bind only once the first runs, with a stack trace.
   */
  public void requireDistinct() {
    Map<Integer, String> optionByPort = new LinkedHashMap<>();
    for (Map.Entry<String, Integer> entry : byOption().entrySet()) {
      int port = entry.getValue();
      String other = port == 0 ? null : optionByPort.putIfAbsent(port, entry.getKey());
      if (other != null) {
        throw new PortTakenException(
            "port "
                + port
                + " is given to both "
                + other
                + " and "
                + entry.getKey()
                + "; choose another for one of them");
      }
    }
  }

  /** Every port by the option that sets it, in the order of the record. */
  private Map<String, Integer> byOption() {
    Map<String, Integer> byOption = new LinkedHashMap<>();
    byOption.put("--kafka-port", kafka);
    byOption.put("--postgres-port", postgres);
    byOption.put("--stripe-port", stripe);
    byOption.put("--gateway-port", gateway);
    byOption.put("--api-port", api);
    byOption.put("--processor-port", processor);
    byOption.put("--refunds-port", refunds);
    byOption.put("--expirer-port", expirer);
    byOption.put("--gateway-admin-port", gatewayAdmin);
    byOption.put("--risk-port", risk);
    byOption.put("--api-admin-port", apiAdmin);
    return byOption;
  }

  /**
   * Throws {@link PortTakenException} naming the first taken port and its option. PostgreSQL's port
   * is not checked here: a {@code kill -9} of the stack leaves its PostgreSQL (a process of its
   * own) running on that port, and the server's start stops that leftover before it checks the
   * port.
   */
  public void requireFreeButPostgres() {
    Map<String, Integer> byOption = byOption();
    byOption.remove("--postgres-port");
    byOption.forEach(
        (option, port) -> {
          if (port != 0 && !isFree(port)) {
            throw new PortTakenException(port, option);
          }
        });
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

  /** A port the stack needs is in use by another process, or given to two of its servers. */
  public static final class PortTakenException extends RuntimeException {
    public PortTakenException(int port, String option) {
      this("port " + port + " is taken by another process; choose another with " + option);
    }

    private PortTakenException(String message) {
      super(message);
    }
  }
}
