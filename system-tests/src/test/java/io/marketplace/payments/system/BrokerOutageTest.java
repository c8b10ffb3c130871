package io.marketplace.payments.system;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.common.kafka.Topic;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.embedded.EmbeddedKafka;
import io.marketplace.payments.embedded.KafkaTopics;
import io.marketplace.payments.gateway.GatewayConfig;
import io.marketplace.payments.gateway.WebhookGateway;
import io.marketplace.payments.processor.PaymentProcessor;
import io.marketplace.payments.processor.PaymentProcessorConfig;
import io.marketplace.payments.system.support.PaymentScenario;
import io.marketplace.payments.system.support.PaymentScenario.Delivery;
import io.marketplace.payments.system.support.ServiceEnv;
import io.marketplace.payments.system.support.SignedWebhooks;
import io.marketplace.payments.system.support.Sql;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.marketplace.payments.testsupport.TestDatabase;
import io.marketplace.payments.testsupport.TestInfra;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The broker stopped and started again while Stripe sends webhooks from many connections: a webhook
 * the gateway acknowledged with 200 is never lost, one it could not make durable is refused with
 * 503 and Retry-After (and Stripe's retry of it is accepted later), and the payment processor,
 * which lost its broker too, applies every event once. The broker is this test's own: the JVM's
 * shared one is never stopped.
 */
class BrokerOutageTest {

  private static final String SECRET = "whsec_system_broker_outage_6a1f0c93";
  private static final int CONNECTIONS = 12;

  /** SPEC §3's 10 s to acknowledge, plus what a busy 2-core machine adds to a round trip. */
  private static final Duration ANSWER_BOUND = Duration.ofSeconds(13);

  @TempDir Path brokerDir;

  /** One webhook request, as Stripe saw it. */
  record Post(String eventId, int status, Duration took, String retryAfter, long sentAt, long at) {}

  @Test
  void shouldLoseNoAcknowledgedWebhookWhenTheBrokerStopsAndStartsUnderLoad() throws Exception {
    long seed = System.nanoTime();
    System.out.println("BrokerOutageTest seed " + seed);
    PaymentScenario scenario = PaymentScenario.generate(new Random(seed), 600);
    TestDatabase database = TestInfra.freshDatabase();
    Sql db = new Sql(database.url(), database.user(), database.password());
    scenario.seed(db);
    Topics topics = Topics.withPrefix("outage.");

    try (EmbeddedKafka broker = EmbeddedKafka.start(brokerDir, 0)) {
      KafkaTopics.createTopics(
          broker.bootstrapServers(),
          topics.all().stream().collect(Collectors.toMap(Topic::name, Topic::partitions)));
      ServiceEnv env =
          ServiceEnv.of(
                  broker.bootstrapServers(),
                  topics,
                  database.url(),
                  database.user(),
                  database.password())
              .with("STRIPE_WEBHOOK_SECRET", SECRET);
      BlockingQueue<Delivery> toSend = new LinkedBlockingQueue<>(scenario.deliveries());
      ConcurrentLinkedQueue<Post> posts = new ConcurrentLinkedQueue<>();
      AtomicBoolean sending = new AtomicBoolean(true);
      long outageFrom;
      long restartingAt;

      try (WebhookGateway gateway = WebhookGateway.start(GatewayConfig.fromEnv(env.env()));
          PaymentProcessor processor =
              PaymentProcessor.start(PaymentProcessorConfig.fromEnv(env.env()));
          ExecutorService stripe = Executors.newVirtualThreadPerTaskExecutor()) {
        SignedWebhooks webhooks = new SignedWebhooks(gateway.webhookUrl(), SECRET);
        List<Future<Void>> connections = new ArrayList<>();
        for (int connection = 0; connection < CONNECTIONS; connection++) {
          connections.add(stripe.submit(() -> send(webhooks, toSend, posts, sending)));
        }

        // Given webhooks flowing from many connections
        awaitPosts(
            posts,
            connections,
            Duration.ofSeconds(60),
            "100 webhooks acknowledged",
            () -> count(posts, 200) >= 100);

        // When the broker stops under load
        broker.stop();
        long stoppedAt = System.nanoTime();
        awaitPosts(
            posts,
            connections,
            Duration.ofSeconds(60),
            "webhooks sent during the outage refused",
            () ->
                posts.stream().filter(p -> p.sentAt() > stoppedAt && p.status() == 503).count()
                    >= CONNECTIONS);

        // And starts again
        outageFrom = stoppedAt;
        restartingAt = System.nanoTime();
        broker.restart();

        // Then Stripe's retries go through until every webhook is acknowledged
        awaitPosts(
            posts,
            connections,
            Duration.ofSeconds(90),
            "every webhook acknowledged",
            () -> count(posts, 200) == scenario.deliveries().size());
        sending.set(false);
        for (Future<Void> connection : connections) {
          connection.get(30, TimeUnit.SECONDS); // a sender that died says why here
        }

        // And the processor, which lost its broker too, applies every event once
        Set<String> eventIds = scenario.eventIds();
        Await.until(
            Duration.ofSeconds(60),
            "every event applied",
            () -> db.count("processed_events") == eventIds.size());
        assertThat(
                db.rows("SELECT event_key FROM processed_events").stream()
                    .map(row -> row.get("event_key"))
                    .collect(Collectors.toSet()))
            .isEqualTo(eventIds);
        assertThat(db.count("webhook_events WHERE status NOT IN ('processed', 'ignored')"))
            .isZero();
        assertThat(db.count("payments WHERE status <> 'succeeded'")).isZero();
        assertThat(processor.isHealthy()).isTrue();
      }

      // Then every answer was a 200 or a prompt 503 with Retry-After, and all during the outage 503
      List<Post> all = new ArrayList<>(posts);
      assertThat(all).extracting(Post::status).containsOnly(200, 503);
      List<Post> refused = all.stream().filter(p -> p.status() == 503).toList();
      assertThat(refused).allSatisfy(p -> assertThat(p.took()).isLessThan(ANSWER_BOUND));
      assertThat(refused).allSatisfy(p -> assertThat(p.retryAfter()).isNotBlank());
      assertThat(all)
          .filteredOn(p -> p.sentAt() > outageFrom && p.at() < restartingAt)
          .isNotEmpty()
          .allSatisfy(p -> assertThat(p.status()).isEqualTo(503));

      // And every webhook acknowledged with 200 is on the topic: none was lost
      Set<String> acknowledged =
          all.stream()
              .filter(p -> p.status() == 200)
              .map(Post::eventId)
              .collect(Collectors.toSet());
      try (KafkaTestClient client = new KafkaTestClient(broker.bootstrapServers())) {
        Set<String> published =
            client.readAll(topics.stripeEvents()).stream()
                .map(r -> KafkaTestClient.header(r, "stripe-event-id").orElseThrow())
                .collect(Collectors.toSet());
        assertThat(published).containsAll(acknowledged);
        assertThat(client.readAll(topics.stripeEvents().dlq())).isEmpty();
      }
      System.out.printf(
          "BrokerOutageTest: %d requests, %d acknowledged, %d refused during the outage%n",
          all.size(), all.size() - refused.size(), refused.size());
    }
  }

  /** One of Stripe's connections: posts the next webhook; a refused one is queued to retry. */
  private static Void send(
      SignedWebhooks webhooks,
      BlockingQueue<Delivery> toSend,
      ConcurrentLinkedQueue<Post> posts,
      AtomicBoolean sending)
      throws InterruptedException {
    while (sending.get()) {
      Delivery delivery = toSend.poll(100, TimeUnit.MILLISECONDS);
      if (delivery == null) {
        continue;
      }
      long sentAt = System.nanoTime();
      SignedWebhooks.Answer answer = webhooks.post(delivery.body());
      posts.add(
          new Post(
              delivery.eventId(),
              answer.status(),
              answer.took(),
              answer.retryAfter(),
              sentAt,
              System.nanoTime()));
      if (answer.status() != 200) {
        toSend.add(delivery);
      }
    }
    return null;
  }

  /**
   * Waits as {@link Await#until} does; on a timeout, says which answers Stripe got so far and why
   * any connection died.
   */
  private static void awaitPosts(
      ConcurrentLinkedQueue<Post> posts,
      List<Future<Void>> connections,
      Duration timeout,
      String description,
      BooleanSupplier condition) {
    try {
      Await.until(timeout, description, condition);
    } catch (AssertionError e) {
      Map<Integer, Long> answers =
          posts.stream().collect(Collectors.groupingBy(Post::status, Collectors.counting()));
      List<String> dead =
          connections.stream()
              .filter(Future::isDone)
              .map(c -> c.state() == Future.State.FAILED ? c.exceptionNow().toString() : "ended")
              .toList();
      throw new AssertionError(
          e.getMessage() + "; answers by status: " + answers + "; connections ended: " + dead, e);
    }
  }

  private static long count(ConcurrentLinkedQueue<Post> posts, int status) {
    return posts.stream().filter(p -> p.status() == status).count();
  }
}
