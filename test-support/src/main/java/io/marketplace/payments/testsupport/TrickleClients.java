package io.marketplace.payments.testsupport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Slowloris through real sockets on loopback: clients that each send the opening of a request at
 * once, then one more byte of it every so often, never finishing it, and never silent long enough
 * for an idle timeout. Closed by the server when it cuts them off; {@link #close()} closes what is
 * left.
 */
public final class TrickleClients implements AutoCloseable {

  private final List<Socket> sockets;
  private final ScheduledExecutorService trickle;

  private TrickleClients(List<Socket> sockets, ScheduledExecutorService trickle) {
    this.sockets = sockets;
    this.trickle = trickle;
  }

  /**
   * Opens {@code count} connections to {@code port} on loopback, sends {@code opening} on each,
   * then a byte ({@code 'a'}) on each every {@code every}.
   */
  public static TrickleClients open(int port, int count, String opening, Duration every) {
    List<Socket> sockets = new ArrayList<>();
    ScheduledExecutorService trickle = Executors.newSingleThreadScheduledExecutor();
    TrickleClients clients = new TrickleClients(sockets, trickle);
    try {
      for (int i = 0; i < count; i++) {
        Socket socket = new Socket(InetAddress.getLoopbackAddress(), port);
        sockets.add(socket);
        socket.getOutputStream().write(opening.getBytes(StandardCharsets.US_ASCII));
        socket.getOutputStream().flush();
      }
    } catch (IOException e) {
      clients.close();
      throw new UncheckedIOException("could not open the slow clients", e);
    }
    trickle.scheduleAtFixedRate(
        () -> {
          for (Socket socket : sockets) {
            try {
              socket.getOutputStream().write('a');
              socket.getOutputStream().flush();
            } catch (IOException e) {
              // closed by the server: what should happen
            }
          }
        },
        0,
        every.toMillis(),
        TimeUnit.MILLISECONDS);
    return clients;
  }

  /** The clients' sockets, to see which the server closed. */
  public List<Socket> sockets() {
    return List.copyOf(sockets);
  }

  @Override
  public void close() {
    trickle.shutdownNow();
    for (Socket socket : sockets) {
      try {
        socket.close();
      } catch (IOException e) {
        // already gone
      }
    }
  }
}
