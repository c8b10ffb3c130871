package io.marketplace.payments.refunds;

import com.sun.net.httpserver.HttpServer;
import io.marketplace.payments.common.kafka.RecordHeaders;
import io.marketplace.payments.common.kafka.Topic;
import io.marketplace.payments.common.stripe.StripeEvent;
import io.marketplace.payments.testsupport.KafkaTestClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Predicate;

/**
 * Stands in for the webhook gateway in these tests: the Stripe emulator's signed webhooks are
 * written, byte for byte, to {@code stripe.events.v1} with the SPEC §4 key and headers. It keeps
 * every body it forwarded, so a test can deliver one of them again.
 */
public final class StripeToKafka implements AutoCloseable {

  private final HttpServer server;
  private final ExecutorService threads = Executors.newSingleThreadExecutor();
  private final KafkaTestClient kafka;
  private final Topic topic;
  private final List<String> forwarded = new ArrayList<>();
  private final List<byte[]> heldBodies = new ArrayList<>();
  private Predicate<StripeEvent> holding;

  StripeToKafka(KafkaTestClient kafka, Topic topic) {
    this.kafka = kafka;
    this.topic = topic;
    try {
      server = HttpServer.create(new InetSocketAddress("localhost", 0), 0);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    server.createContext(
        "/webhooks/stripe",
        exchange -> {
          byte[] body = exchange.getRequestBody().readAllBytes();
          int status;
          try {
            if (!held(body)) {
              publish(body);
            }
            status = 200;
          } catch (RuntimeException e) {
            status = 500;
          }
          byte[] answer = "{\"received\":true}".getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(status, answer.length);
          exchange.getResponseBody().write(answer);
          exchange.close();
        });
    server.setExecutor(threads);
    server.start();
  }

  String url() {
    return "http://localhost:" + server.getAddress().getPort() + "/webhooks/stripe";
  }

  /**
   * Keeps the events that {@code which} picks (by the parsed event) from the topic until {@link
   * #release}: Stripe delivering them late, after what came next.
   */
  public void hold(Predicate<StripeEvent> which) {
    synchronized (heldBodies) {
      holding = which;
    }
  }

  /** Writes the events held so far to the topic, in the order they came, and holds no more. */
  public int release() {
    List<byte[]> bodies;
    synchronized (heldBodies) {
      holding = null;
      bodies = List.copyOf(heldBodies);
      heldBodies.clear();
    }
    bodies.forEach(this::publish);
    return bodies.size();
  }

  private boolean held(byte[] body) {
    synchronized (heldBodies) {
      if (holding == null || !holding.test(StripeEvent.parse(body))) {
        return false;
      }
      heldBodies.add(body);
      return true;
    }
  }

  /** Writes an event body to the topic as the gateway does. */
  void publish(byte[] body) {
    StripeEvent event = StripeEvent.parse(body);
    kafka.send(
        topic,
        event.partitionKey(),
        body,
        Map.of(
            RecordHeaders.STRIPE_EVENT_ID, event.id(),
            RecordHeaders.STRIPE_EVENT_TYPE, event.type(),
            RecordHeaders.RECEIVED_AT, Instant.now().toString()));
    synchronized (forwarded) {
      forwarded.add(new String(body, StandardCharsets.UTF_8));
    }
  }

  public void publish(String body) {
    publish(body.getBytes(StandardCharsets.UTF_8));
  }

  /**
   * Every event body forwarded so far whose type is {@code type} and that mentions {@code text}.
   */
  public List<String> forwarded(String type, String text) {
    synchronized (forwarded) {
      return forwarded.stream()
          .filter(
              body -> StripeEvent.parse(body.getBytes(StandardCharsets.UTF_8)).type().equals(type))
          .filter(body -> body.contains(text))
          .toList();
    }
  }

  /** The distinct ids of the events forwarded so far whose type passes {@code type}. */
  public List<String> forwardedIds(Predicate<String> type) {
    synchronized (forwarded) {
      return forwarded.stream()
          .map(body -> StripeEvent.parse(body.getBytes(StandardCharsets.UTF_8)))
          .filter(event -> type.test(event.type()))
          .map(StripeEvent::id)
          .distinct()
          .toList();
    }
  }

  @Override
  public void close() {
    server.stop(0);
    threads.shutdownNow();
  }
}
