package io.marketplace.payments.gateway;

import static io.marketplace.payments.testsupport.KafkaTestClient.header;
import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.gateway.StripeEvents.Sample;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.marketplace.payments.testsupport.TestInfra;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.config.TopicConfig;
import org.junit.jupiter.api.Test;

/**
 * A gateway stopped (a rolling deploy's SIGTERM) while a webhook waits for the broker's
 * acknowledgement stops taking new connections, but answers the waiting one when the broker
 * acknowledges, instead of dropping its connection: Stripe would count a failed delivery and send
 * the event again.
 */
class GracefulStopTest {

  private static final String SECRET = "whsec_gracefulstoptest_4b8e2d6a1c9f7035";

  @Test
  void shouldAnswerAWebhookWaitingForTheBrokerWhenStoppedMeanwhile() throws Exception {
    Topics topics = TestInfra.freshTopics();
    String topic = topics.stripeEvents().name();
    // Given a broker that holds every record of the topic unacknowledged (two in-sync replicas
    // required of one broker: the producer retries)
    TestInfra.setTopicConfig(topic, TopicConfig.MIN_IN_SYNC_REPLICAS_CONFIG, "2");
    Sample event = StripeEvents.paymentIntentSucceeded();
    byte[] body = event.body();
    try (WebhookGateway gateway =
            WebhookGateway.start(
                new GatewayConfig(0, List.of(SECRET), TestInfra.kafkaConfig(topics)));
        Socket socket = new Socket(InetAddress.getLoopbackAddress(), gateway.port());
        KafkaTestClient kafka = TestInfra.kafkaClient()) {
      int port = gateway.port();
      // And a signed webhook sent whole, waiting for its acknowledgement
      OutputStream out = socket.getOutputStream();
      out.write(RawWebhook.signedHead(body, SECRET));
      out.write(body);
      out.flush();
      Await.until(
          Duration.ofSeconds(10),
          "the webhook handed to the producer",
          () ->
              scrape(gateway)
                  .lines()
                  .anyMatch(
                      line ->
                          line.startsWith("gateway_requests_inflight") && line.endsWith(" 1.0")));

      // When the gateway is stopped
      CompletableFuture<Void> stopped = CompletableFuture.runAsync(gateway::close);

      // Then it takes no new connection
      Await.until(Duration.ofSeconds(10), "the public port closed", () -> refusesConnections(port));
      // And when the broker acknowledges (the topic takes one replica again), the waiting webhook
      // is answered 200 and its event is on the topic
      TestInfra.setTopicConfig(topic, TopicConfig.MIN_IN_SYNC_REPLICAS_CONFIG, "1");
      socket.setSoTimeout(20_000);
      String response = RawWebhook.readHead(socket);
      assertThat(response.lines().findFirst().orElseThrow())
          .as("the answer was:%n%s", response)
          .startsWith("HTTP/1.1 200");
      assertThat(kafka.readAll(topics.stripeEvents()))
          .extracting(record -> header(record, "stripe-event-id").orElseThrow())
          .containsExactly(event.id());
      stopped.get();
    }
  }

  private static boolean refusesConnections(int port) {
    try (Socket late = new Socket(InetAddress.getLoopbackAddress(), port)) {
      return false;
    } catch (ConnectException refused) {
      return true;
    } catch (java.io.IOException e) {
      return false;
    }
  }

  private static String scrape(WebhookGateway gateway) {
    try (HttpClient client = HttpClient.newHttpClient()) {
      return client
          .send(
              HttpRequest.newBuilder(URI.create(gateway.adminUrl() + "/metrics")).build(),
              HttpResponse.BodyHandlers.ofString())
          .body();
    } catch (java.io.IOException e) {
      return "";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "";
    }
  }
}
