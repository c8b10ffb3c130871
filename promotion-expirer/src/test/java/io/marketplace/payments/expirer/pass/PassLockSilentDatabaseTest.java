package io.marketplace.payments.expirer.pass;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.common.db.DbConfig;
import io.marketplace.payments.expirer.listing.ListingExpiry;
import io.marketplace.payments.expirer.promotion.PromotionExpiry;
import io.marketplace.payments.testsupport.MutableClock;
import io.marketplace.payments.testsupport.TestDatabase;
import io.marketplace.payments.testsupport.TestInfra;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * README: with {@code DATABASE_SOCKET_TIMEOUT} "a silently dropped connection fails". That holds
 * for the pass lock's own connection too: when the database goes silent (a dropped route, a
 * failover that leaves the old address black-holed) as the pass asks for the lock, the pass gives
 * up within the socket timeout instead of waiting until TCP keepalive gives up (some two hours),
 * holding the scheduler thread and every pass of this replica.
 */
class PassLockSilentDatabaseTest {

  private static final Duration SOCKET_TIMEOUT = Duration.ofSeconds(4);

  private final TestDatabase db = TestInfra.freshDatabase();
  private final MutableClock clock = new MutableClock(Instant.parse("2026-03-10T03:15:00Z"));
  private final SilencingProxy proxy = new SilencingProxy(db.url(), "pg_try_advisory_lock");
  private final ExecutorService pool =
      Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().daemon().unstarted(r));

  @AfterEach
  void stop() {
    proxy.close();
    pool.shutdownNow();
  }

  @Test
  void shouldGiveUpOnThePassLockWithinTheSocketTimeoutWhenTheDatabaseGoesSilent() throws Exception {
    // Given a database configured with a 4 s socket timeout, reached through a route that goes
    // silent just as the pass asks for its lock
    DbConfig base = db.dbConfig();
    DbConfig silent =
        new DbConfig(
            proxy.url(),
            base.user(),
            base.password(),
            base.maxPoolSize(),
            base.synchronousCommit(),
            base.connectTimeout(),
            SOCKET_TIMEOUT);
    ExpiryPass pass =
        new ExpiryPass(
            db.jdbi(),
            new PassLock(silent),
            List.of(new PromotionExpiry(), new ListingExpiry()),
            1000,
            clock,
            new ExpirerMetrics(new SimpleMeterRegistry()),
            BatchHook.NONE);

    // When the scheduler runs a pass
    long started = System.nanoTime();
    Future<Object> attempt =
        pool.submit(
            () -> {
              try {
                return pass.run();
              } catch (RuntimeException e) {
                return e;
              }
            });

    // Then the attempt ends (an error the scheduler retries after its backoff) soon after the
    // socket timeout, instead of holding the scheduler thread for as long as the route is silent
    Object outcome;
    try {
      outcome = attempt.get(20, TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      outcome = null;
    }
    assertThat(proxy.silenced()).as("the proxy saw the lock request").isTrue();
    assertThat(outcome)
        .as(
            "the pass still waits for the pass lock's answer %d s after the database went silent"
                + " (DATABASE_SOCKET_TIMEOUT is %d s)",
            (System.nanoTime() - started) / 1_000_000_000L, SOCKET_TIMEOUT.toSeconds())
        .isNotNull();
  }

  /**
   * A TCP proxy to PostgreSQL that, once the client sends {@code trigger}, forwards nothing more in
   * either direction while keeping both connections open: a silent network, not a closed one.
   */
  private static final class SilencingProxy implements AutoCloseable {

    private static final Pattern HOST_PORT = Pattern.compile("//([^:/]+):(\\d+)/");

    private final String url;
    private final String host;
    private final int port;
    private final byte[] trigger;
    private final ServerSocket server;
    private final AtomicBoolean silenced = new AtomicBoolean();
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();

    SilencingProxy(String jdbcUrl, String trigger) {
      Matcher m = HOST_PORT.matcher(jdbcUrl);
      if (!m.find()) {
        throw new IllegalArgumentException("no host:port in " + jdbcUrl);
      }
      this.host = m.group(1);
      this.port = Integer.parseInt(m.group(2));
      this.trigger = trigger.getBytes(StandardCharsets.US_ASCII);
      try {
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
      this.url = m.replaceFirst("//127.0.0.1:" + server.getLocalPort() + "/");
      Thread.ofPlatform().daemon().name("silencing-proxy").start(this::accept);
    }

    String url() {
      return url;
    }

    boolean silenced() {
      return silenced.get();
    }

    private void accept() {
      while (!server.isClosed()) {
        try {
          Socket client = server.accept();
          Socket upstream = new Socket(host, port);
          sockets.add(client);
          sockets.add(upstream);
          pump(client, upstream, true);
          pump(upstream, client, false);
        } catch (IOException e) {
          return;
        }
      }
    }

    private void pump(Socket from, Socket to, boolean watch) {
      Thread.ofPlatform()
          .daemon()
          .start(
              () -> {
                byte[] buffer = new byte[16 * 1024];
                try (InputStream in = from.getInputStream()) {
                  OutputStream out = to.getOutputStream();
                  for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
                    if (watch && contains(buffer, n, trigger)) {
                      silenced.set(true);
                    }
                    if (!silenced.get()) {
                      out.write(buffer, 0, n);
                      out.flush();
                    }
                  }
                } catch (IOException e) {
                  // closed
                }
              });
    }

    private static boolean contains(byte[] buffer, int length, byte[] needle) {
      outer:
      for (int i = 0; i + needle.length <= length; i++) {
        for (int j = 0; j < needle.length; j++) {
          if (buffer[i + j] != needle[j]) {
            continue outer;
          }
        }
        return true;
      }
      return false;
    }

    @Override
    public void close() {
      try {
        server.close();
      } catch (IOException e) {
        // closing
      }
      for (Socket socket : sockets) {
        try {
          socket.close();
        } catch (IOException e) {
          // closing
        }
      }
    }
  }
}
