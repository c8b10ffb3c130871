package io.marketplace.payments.gateway;

import static io.marketplace.payments.testsupport.KafkaTestClient.header;
import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.common.kafka.KafkaConfig;
import io.marketplace.payments.common.kafka.Topic;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.embedded.EmbeddedKafka;
import io.marketplace.payments.embedded.KafkaTopics;
import io.marketplace.payments.gateway.StripeEvents.Sample;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.KafkaTestClient;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gateway while its broker goes away and comes back. The broker is this class's own, not the
 * JVM's shared one, so stopping it disturbs no other test.
 */
class BrokerOutageTest {

  private static final String SECRET = "whsec_outagetest_7e6d5c4b3a291807";

  /** SPEC §3's 10 s, plus what a busy 2-core machine adds to a request's round trip. */
  private static final Duration ANSWER_BOUND = Duration.ofSeconds(13);

  @TempDir Path brokerDir;

  /** One request as Stripe saw it: {@code status} 0 when it got no answer, {@code error} why. */
  record Delivery(
      String eventId, int status, Duration took, String retryAfter, long sentAt, String error) {}

  @Test
  void shouldAnswer503WithinTheBoundAndLoseNoAcknowledgedEventWhenTheBrokerStopsAndReturns()
      throws Exception {
    // Given a gateway on a broker of its own, with Stripe sending steadily from two connections
    Topics topics = Topics.withPrefix("outage.");
    try (EmbeddedKafka broker = EmbeddedKafka.start(brokerDir, 0)) {
      Map<String, Integer> partitions = new LinkedHashMap<>();
      for (Topic topic : topics.all()) {
        partitions.put(topic.name(), topic.partitions());
      }
      KafkaTopics.createTopics(broker.bootstrapServers(), partitions, Topics.configs());
      GatewayConfig config =
          new GatewayConfig(0, List.of(SECRET), new KafkaConfig(broker.bootstrapServers(), topics));
      ConcurrentLinkedQueue<Delivery> deliveries = new ConcurrentLinkedQueue<>();
      AtomicBoolean sending = new AtomicBoolean(true);
      try (WebhookGateway gateway = WebhookGateway.start(config);
          WebhookClient probe = new WebhookClient(gateway.baseUrl());
          ExecutorService stripe = Executors.newVirtualThreadPerTaskExecutor()) {
        for (int connection = 0; connection < 2; connection++) {
          stripe.submit(() -> send(gateway, sending, deliveries));
        }
        Await.until(Duration.ofSeconds(20), "events accepted", () -> count(deliveries, 200) >= 20);

        // When the broker stops
        broker.stop();

        // Then requests get 503 with Retry-After, each within the bound, and readiness drops
        Await.until(
            Duration.ofSeconds(30), "requests refused with 503", () -> count(deliveries, 503) >= 2);
        Await.until(
            Duration.ofSeconds(15),
            "readiness to report the broker down",
            () -> probe.get("/health/ready").statusCode() == 503);

        // And when the broker returns, requests are accepted again and the gateway is ready
        broker.restart();
        int acceptedBefore = count(deliveries, 200);
        Await.until(
            Duration.ofSeconds(40),
            "events accepted after the broker returned",
            () -> count(deliveries, 200) >= acceptedBefore + 20);
        Await.until(
            Duration.ofSeconds(15),
            "readiness to report the broker up",
            () -> probe.get("/health/ready").statusCode() == 200);
        sending.set(false);
        stripe.shutdown();
        assertThat(stripe.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
      }

      List<Delivery> all = new ArrayList<>(deliveries);
      List<Delivery> refused = all.stream().filter(d -> d.status() == 503).toList();
      assertThat(all)
          .as("requests that got no answer: %s", all.stream().filter(d -> d.status() == 0).toList())
          .extracting(Delivery::status)
          .containsOnly(200, 503);
      assertThat(refused).allSatisfy(d -> assertThat(d.took()).isLessThan(ANSWER_BOUND));
      assertThat(refused).allSatisfy(d -> assertThat(d.retryAfter()).isNotBlank());

      // Then every event that got a 200 is on the topic: none was acknowledged and lost
      Set<String> accepted =
          all.stream()
              .filter(d -> d.status() == 200)
              .map(Delivery::eventId)
              .collect(Collectors.toSet());
      try (KafkaTestClient kafka = new KafkaTestClient(broker.bootstrapServers())) {
        Set<String> published =
            kafka.readAll(topics.stripeEvents()).stream()
                .map(record -> header(record, "stripe-event-id").orElseThrow())
                .collect(Collectors.toSet());
        assertThat(published).containsAll(accepted);
      }
    }
  }

  /** Posts fresh events one after another until told to stop, recording every answer. */
  private static Void send(
      WebhookGateway gateway, AtomicBoolean sending, ConcurrentLinkedQueue<Delivery> deliveries) {
    try (WebhookClient stripe = new WebhookClient(gateway.baseUrl())) {
      while (sending.get()) {
        Sample event = StripeEvents.paymentIntentSucceeded();
        long started = System.nanoTime();
        try {
          HttpResponse<String> response = stripe.postSigned(event.body(), SECRET);
          deliveries.add(
              new Delivery(
                  event.id(),
                  response.statusCode(),
                  Duration.ofNanos(System.nanoTime() - started),
                  response.headers().firstValue("Retry-After").orElse(""),
                  started,
                  ""));
        } catch (RuntimeException e) {
          // recorded, and the sending goes on: a sender that died here would leave the waits above
          // to time out without saying why
          deliveries.add(
              new Delivery(
                  event.id(),
                  0,
                  Duration.ofNanos(System.nanoTime() - started),
                  "",
                  started,
                  e.toString()));
        }
      }
    }
    return null;
  }

  private static int count(ConcurrentLinkedQueue<Delivery> deliveries, int status) {
    return (int) deliveries.stream().filter(d -> d.status() == status).count();
  }
}
