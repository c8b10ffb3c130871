package io.marketplace.payments.checkout;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.stripe.StripeConfig;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Stands between checkout-api and the Stripe emulator, forwarding every call; the first creation of
 * a PaymentIntent waits until {@link #open} is counted down, and its id is kept. Every call is
 * listed ({@link #calls}), for what checkout-api asked of Stripe where the emulator's state would
 * not show it (a cancel Stripe refused).
 */
public final class StripeGate implements AutoCloseable {

  /** How long the first creation waits to be let through before it answers 504. */
  private static final Duration WAIT = Duration.ofSeconds(60);

  private static final Set<String> NOT_FORWARDED =
      Set.of("connection", "content-length", "expect", "host", "upgrade", "transfer-encoding");

  public final CountDownLatch held = new CountDownLatch(1);
  public final CountDownLatch open = new CountDownLatch(1);
  private final AtomicReference<String> created = new AtomicReference<>();
  private volatile boolean losingAnswers;
  private final List<String> lost = new CopyOnWriteArrayList<>();
  private final List<String> calls = new CopyOnWriteArrayList<>();
  private final String upstream;
  private final HttpServer server;
  private final HttpClient client = HttpClient.newHttpClient();

  private StripeGate(String upstream, HttpServer server) {
    this.upstream = upstream.replaceAll("/+$", "");
    this.server = server;
  }

  /** Starts in front of the Stripe API at {@code upstream}. */
  /**
   * Starts a gate in front of the Stripe of {@code config}, kept in {@code started}, and returns
   * {@code config} with its Stripe calls going through the gate: for {@link TestApi#start}.
   */
  public static CheckoutApiConfig inFront(
      CheckoutApiConfig config, AtomicReference<StripeGate> started) {
    started.set(start(config.stripe().apiBase()));
    return config.withStripe(
        new StripeConfig(config.stripe().secretKey(), started.get().baseUrl()));
  }

  /** An API whose calls to Stripe go through a gate, and its gate: closing closes both. */
  public record Gated(TestApi app, StripeGate gate) implements AutoCloseable {

    /** Starts an API with a gate in front of its Stripe. */
    public static Gated start() {
      AtomicReference<StripeGate> started = new AtomicReference<>();
      TestApi app = TestApi.start(config -> StripeGate.inFront(config, started));
      return new Gated(app, started.get());
    }

    @Override
    public void close() {
      try {
        app.close();
      } finally {
        gate.close();
      }
    }
  }

  public static StripeGate start(String upstream) {
    try {
      HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
      StripeGate gate = new StripeGate(upstream, server);
      server.createContext("/", gate::forward);
      server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
      server.start();
      return gate;
    } catch (IOException e) {
      throw new IllegalStateException("cannot start the gate", e);
    }
  }

  /**
   * Sends {@code call} in the background and returns once the PaymentIntent creation it makes is
   * held here; the future completes when the call is answered (or fails).
   */
  public CompletableFuture<Http.Response> sendAndHold(Http.Call call) throws InterruptedException {
    CompletableFuture<Http.Response> response = CompletableFuture.supplyAsync(call::send);
    if (!held.await(WAIT.toSeconds(), TimeUnit.SECONDS)) {
      throw new AssertionError("the call did not reach Stripe within " + WAIT.toSeconds() + " s");
    }
    return response;
  }

  public String baseUrl() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  public String createdPaymentIntent() {
    return created.get();
  }

  /**
   * While {@code losing}, every PaymentIntent creation reaches Stripe, which makes the
   * PaymentIntent, and its answer is lost on the way back: the connection closes without one, as
   * when our call times out after Stripe did the work. A POST the client sends once more on its own
   * (stripe-java's HttpURLConnection does, when a kept-alive connection closes unanswered) loses
   * its answer too. Not held: count {@link #open} down first.
   */
  public void loseCreationAnswers(boolean losing) {
    losingAnswers = losing;
  }

  /** The PaymentIntents Stripe made for creations whose answer was lost, oldest first. */
  public List<String> lostPaymentIntents() {
    return List.copyOf(lost);
  }

  /** Every call that reached the gate so far, oldest first: {@code "POST /v1/payment_intents"}. */
  public List<String> calls() {
    return List.copyOf(calls);
  }

  private void forward(HttpExchange exchange) throws IOException {
    try (exchange;
        InputStream in = exchange.getRequestBody()) {
      byte[] body = in.readAllBytes();
      calls.add(exchange.getRequestMethod() + " " + exchange.getRequestURI().getPath());
      boolean creation =
          "POST".equals(exchange.getRequestMethod())
              && "/v1/payment_intents".equals(exchange.getRequestURI().getPath());
      if (creation && created.get() == null) {
        held.countDown();
        if (!open.await(WAIT.toSeconds(), TimeUnit.SECONDS)) {
          exchange.sendResponseHeaders(504, -1);
          return;
        }
      }
      HttpRequest.Builder request =
          HttpRequest.newBuilder(URI.create(upstream + exchange.getRequestURI()))
              .method(exchange.getRequestMethod(), HttpRequest.BodyPublishers.ofByteArray(body));
      exchange.getRequestHeaders().entrySet().stream()
          .filter(h -> !NOT_FORWARDED.contains(h.getKey().toLowerCase()))
          .forEach(h -> h.getValue().forEach(v -> request.header(h.getKey(), v)));
      HttpResponse<byte[]> response =
          client.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
      if (creation && losingAnswers) {
        lost.add(Json.mapper().readTree(response.body()).get("id").asText());
        return; // closed without an answer
      }
      if (creation && response.statusCode() == 200) {
        created.compareAndSet(null, Json.mapper().readTree(response.body()).get("id").asText());
      }
      for (Map.Entry<String, List<String>> h : response.headers().map().entrySet()) {
        if (!NOT_FORWARDED.contains(h.getKey().toLowerCase()) && !h.getKey().startsWith(":")) {
          exchange.getResponseHeaders().put(h.getKey(), h.getValue());
        }
      }
      exchange.sendResponseHeaders(
          response.statusCode(), response.body().length == 0 ? -1 : response.body().length);
      exchange.getResponseBody().write(response.body());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    open.countDown();
    server.stop(0);
    client.close();
  }
}
