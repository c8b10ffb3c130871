package io.marketplace.payments.system;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.common.db.Migrations;
import io.marketplace.payments.common.kafka.KafkaConfig;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.embedded.EmbeddedPostgresServer;
import io.marketplace.payments.processor.PaymentProcessor;
import io.marketplace.payments.processor.PaymentProcessorConfig;
import io.marketplace.payments.system.support.PaymentEvents;
import io.marketplace.payments.system.support.PaymentScenario;
import io.marketplace.payments.system.support.PaymentScenario.Delivery;
import io.marketplace.payments.system.support.ProcessorState;
import io.marketplace.payments.system.support.ServiceEnv;
import io.marketplace.payments.system.support.Sql;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.marketplace.payments.testsupport.TestInfra;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * PostgreSQL stopped in the middle of a flow of events and started again: the payment processor
 * waits (healthy, nothing dead-lettered, offsets not moved past what it applied) and resumes, and
 * every event is applied exactly once. The server is this test's own, on a fixed port with its data
 * kept across the restart: the JVM's shared one is never stopped.
 */
class DatabaseOutageTest {

  private static final String DATABASE = "payments";
  private static final Duration WAIT = Duration.ofSeconds(60);

  @TempDir Path postgresDir;

  @Test
  void shouldWaitAndResumeWithNothingLostWhenPostgresStopsAndStartsMidFlow() throws Exception {
    long seed = System.nanoTime();
    System.out.println("DatabaseOutageTest seed " + seed);
    PaymentScenario scenario = PaymentScenario.generate(new Random(seed), 800);
    List<Delivery> deliveries = scenario.deliveries();
    List<Delivery> beforeOutage = deliveries.subList(0, deliveries.size() / 2);
    List<Delivery> duringOutage = deliveries.subList(deliveries.size() / 2, deliveries.size());
    Topics topics = TestInfra.freshTopics();
    KafkaConfig kafka = TestInfra.kafkaConfig(topics);
    Set<String> eventIds = scenario.eventIds();

    try (EmbeddedPostgresServer postgres = EmbeddedPostgresServer.start(postgresDir, 0);
        KafkaTestClient client = TestInfra.kafkaClient();
        ExecutorService stripe = Executors.newSingleThreadExecutor()) {
      postgres.createDatabase(DATABASE);
      Migrations.migrate(postgres.dataSource(DATABASE));
      Sql db = new Sql(postgres.jdbcUrl(DATABASE), postgres.user(), postgres.password());
      scenario.seed(db);

      try (PaymentProcessor processor =
          PaymentProcessor.start(
              PaymentProcessorConfig.fromEnv(
                  ServiceEnv.of(
                          kafka.bootstrapServers(),
                          topics,
                          postgres.jdbcUrl(DATABASE),
                          postgres.user(),
                          postgres.password())
                      .env()),
              Clock.fixed(PaymentScenario.NOW, ZoneOffset.UTC),
              options -> options.withRetries(3, Duration.ofMillis(50), Duration.ofMillis(500)))) {

        // Given events flowing in one by one and being applied
        Future<?> flowing =
            stripe.submit(
                () -> PaymentScenario.trickle(kafka, topics.stripeEvents(), beforeOutage));
        Await.until(WAIT, "some events applied", () -> db.count("processed_events") >= 100);

        // When PostgreSQL stops mid-flow, and more events arrive meanwhile
        postgres.stop();
        System.out.printf(
            "DatabaseOutageTest: PostgreSQL stopped with the first half %s%n",
            flowing.isDone() ? "sent" : "still being sent");
        flowing.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        PaymentScenario.produce(kafka, topics.stripeEvents(), duringOutage);

        // Then the processor waits: still healthy, nothing sent to the dead-letter topic
        Await.never(
            Duration.ofSeconds(3), "the processor to give up", () -> !processor.isHealthy());
        client.assertNoRecords(topics.stripeEvents().dlq(), Duration.ofMillis(500));

        // When PostgreSQL starts again
        postgres.restart();

        // Then every event is applied exactly once, and every fact published
        Await.until(
            WAIT, "every event applied", () -> db.count("processed_events") == eventIds.size());
        Await.until(
            WAIT,
            "every outbox row published",
            () -> db.count("outbox_events WHERE published_at IS NULL") == 0);
        assertThat(processor.isHealthy()).isTrue();
      }

      ProcessorState state = ProcessorState.of(db);
      assertThat(state.table("processed_events"))
          .extracting(row -> row.get("event_key"))
          .containsExactlyInAnyOrderElementsOf(eventIds);
      assertThat(state.table("webhook_events"))
          .hasSize(eventIds.size())
          .allSatisfy(row -> assertThat(row.get("status")).isIn("processed", "ignored"));
      assertThat(db.count("payments WHERE status <> 'succeeded'")).isZero();
      assertThat(client.readAll(topics.stripeEvents().dlq())).isEmpty();
      // every fact on the topic (the relay deletes what the broker acknowledged), once per payment
      assertThat(state.table("outbox_events")).isEmpty();
      Set<PaymentEvents.Event> published =
          new PaymentEvents(client, topics.paymentEvents()).distinct();
      assertThat(published.stream().filter(e -> e.type().equals("payment.succeeded")))
          .extracting(e -> e.data().path("paymentIntentId").asText())
          .containsExactlyInAnyOrderElementsOf(
              db.rows("SELECT stripe_payment_intent_id FROM payments").stream()
                  .map(row -> row.get("stripe_payment_intent_id").toString())
                  .toList());
    }
  }
}
