package io.marketplace.payments.stripeemulator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/** A webhook endpoint for tests: a JDK HTTP server that records every delivery it gets. */
final class WebhookReceiver implements AutoCloseable {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  /** One delivery as received, with the status it was answered. */
  record Received(
      String payload,
      String signature,
      String contentType,
      String userAgent,
      int answeredStatus,
      JsonNode json) {
    String type() {
      return json.path("type").asText();
    }

    String eventId() {
      return json.path("id").asText();
    }

    JsonNode object() {
      return json.path("data").path("object");
    }

    /** The PaymentIntent an event concerns, as the gateway keys it. */
    String paymentIntentId() {
      JsonNode object = object();
      return "payment_intent".equals(object.path("object").asText())
          ? object.path("id").asText()
          : object.path("payment_intent").asText();
    }
  }

  private final HttpServer server;
  private final List<Received> received = new ArrayList<>();
  private final AtomicInteger failuresLeft = new AtomicInteger();

  private WebhookReceiver(HttpServer server) {
    this.server = server;
  }

  static WebhookReceiver start() {
    try {
      HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
      WebhookReceiver receiver = new WebhookReceiver(server);
      server.createContext(
          "/webhooks/stripe",
          exchange -> {
            String payload =
                new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            int status =
                receiver.failuresLeft.getAndUpdate(n -> Math.max(0, n - 1)) > 0 ? 500 : 200;
            byte[] body =
                (status == 200 ? "{\"received\":true}" : "{}").getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(status, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
            receiver.record(
                new Received(
                    payload,
                    exchange.getRequestHeaders().getFirst("Stripe-Signature"),
                    exchange.getRequestHeaders().getFirst("Content-Type"),
                    exchange.getRequestHeaders().getFirst("User-Agent"),
                    status,
                    MAPPER.readTree(payload)));
          });
      server.start();
      return receiver;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort() + "/webhooks/stripe";
  }

  /** The next {@code count} deliveries are answered 500. */
  void failNext(int count) {
    failuresLeft.set(count);
  }

  /** Waits (bounded) for a delivery matching {@code match} and returns it. */
  Received await(Predicate<Received> match, Duration timeout) {
    return awaitCount(match, 1, timeout).getFirst();
  }

  /** Waits (bounded) until {@code count} deliveries match; returns them in arrival order. */
  synchronized List<Received> awaitCount(Predicate<Received> match, int count, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      List<Received> matching = received.stream().filter(match).toList();
      if (matching.size() >= count) {
        return matching;
      }
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        throw new AssertionError(
            "Expected "
                + count
                + " matching webhook deliveries within "
                + timeout
                + ", got "
                + matching.size()
                + "; all received: "
                + received.stream().map(r -> r.type() + "/" + r.answeredStatus()).toList());
      }
      try {
        wait(Math.max(1, left / 1_000_000));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }

  synchronized List<Received> all() {
    return List.copyOf(received);
  }

  static Predicate<Received> event(String type, String paymentIntentId) {
    return r -> r.type().equals(type) && r.paymentIntentId().equals(paymentIntentId);
  }

  private synchronized void record(Received r) {
    received.add(r);
    notifyAll();
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
