package io.marketplace.payments.system;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.common.kafka.KafkaConfig;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.processor.PaymentProcessor;
import io.marketplace.payments.processor.PaymentProcessorConfig;
import io.marketplace.payments.system.support.ConsumerLag;
import io.marketplace.payments.system.support.PaymentEvents;
import io.marketplace.payments.system.support.PaymentScenario;
import io.marketplace.payments.system.support.ProcessorState;
import io.marketplace.payments.system.support.ServiceEnv;
import io.marketplace.payments.system.support.Sql;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.marketplace.payments.testsupport.TestDatabase;
import io.marketplace.payments.testsupport.TestInfra;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The payment processor killed at random points while 2,000 Stripe events flow in, restarted each
 * time, until it has read everything: the database ends exactly as after one clean pass over the
 * same events, every fact published under the same id. Kills are of two kinds, chosen at random:
 * the worker dies between its database commit and its offset commit of a random batch (the {@code
 * beforeOffsetCommit} hook throws), or the whole service is closed under load once a random number
 * of further events has been applied.
 *
 * <p>Randomness is seeded and the seed printed: {@code -Dcrash.seed=<seed>} replays the same events
 * and the same kill plan (which kind of kill, at which batch or after how many events); the exact
 * moment a close lands still depends on timing.
 */
class WorkerCrashTest {

  private static final int EVENTS = 2_000;
  private static final int RUNS = 3;
  private static final Duration WAIT = Duration.ofSeconds(60);

  @Test
  void shouldEndWithTheDatabaseOfOneCleanPassWhenTheProcessorIsKilledAtRandomPoints() {
    long seed = Long.getLong("crash.seed", System.nanoTime());
    System.out.println("WorkerCrashTest seed " + seed + " (replay with -Dcrash.seed=" + seed + ")");
    Random random = new Random(seed);
    PaymentScenario scenario = PaymentScenario.generate(random, EVENTS);
    assertThat(scenario.deliveries()).hasSize(EVENTS);

    // Given the state one clean pass leaves
    ProcessorState clean;
    Set<PaymentEvents.Event> cleanPublished;
    try (World world = new World(scenario)) {
      world.produceAll();
      world.process(new Random(0), 0);
      clean = world.state();
      cleanPublished = world.published();
    }
    assertThat(clean.table("processed_events")).hasSize(scenario.eventIds().size());
    // (the relay deletes what the broker acknowledged: the topic is the record of what was said)
    assertThat(clean.table("outbox_events")).isEmpty();
    assertThat(cleanPublished.stream().filter(e -> e.type().equals("payment.succeeded")))
        .hasSize(
            (int)
                clean.table("payments").stream()
                    .filter(row -> "succeeded".equals(row.get("status")))
                    .count());

    for (int run = 1; run <= RUNS; run++) {
      try (World world = new World(scenario)) {
        // When the same events flow in while the processor is killed at random points
        int kills = 3 + random.nextInt(2);
        world.trickleInBackground();
        long started = System.nanoTime();
        world.process(random, kills);
        System.out.printf(
            "WorkerCrashTest run %d (%d ms): %s%n",
            run, (System.nanoTime() - started) / 1_000_000, world.history());

        // Then the database is that of the clean pass, and the same facts were published
        String description = "run " + run + " with " + kills + " kills, seed " + seed;
        world.state().assertSameAs(clean, description);
        assertThat(world.published()).as(description).isEqualTo(cleanPublished);
      }
    }
  }

  /** A fresh database and topics, the scenario seeded and produced, and the processor on them. */
  private static final class World implements AutoCloseable {

    private final TestDatabase database = TestInfra.freshDatabase();
    private final Sql db = new Sql(database.url(), database.user(), database.password());
    private final Topics topics = TestInfra.freshTopics();
    private final KafkaConfig kafka = TestInfra.kafkaConfig(topics);
    private final ConsumerLag lag = new ConsumerLag(kafka);
    private final KafkaTestClient client = TestInfra.kafkaClient();
    private final List<String> history = new ArrayList<>();
    private final PaymentScenario scenario;
    private final ExecutorService stripe = Executors.newSingleThreadExecutor();
    private Future<?> flow = CompletableFuture.completedFuture(null);

    World(PaymentScenario scenario) {
      this.scenario = scenario;
      scenario.seed(db);
    }

    void produceAll() {
      scenario.produce(kafka, topics.stripeEvents());
    }

    /** The events arrive one by one, as the gateway publishes them, while the test kills. */
    void trickleInBackground() {
      flow =
          stripe.submit(
              () -> PaymentScenario.trickle(kafka, topics.stripeEvents(), scenario.deliveries()));
    }

    /**
     * Runs the processor until it has committed every record, killing it {@code kills} times on the
     * way, then lets the last one publish its outbox.
     */
    void process(Random random, int kills) {
      for (int kill = 0; kill < kills && !done(); kill++) {
        if (random.nextBoolean()) {
          crashBetweenCommits(1 + random.nextInt(12));
        } else {
          closeUnderLoad(25 + random.nextInt(400));
        }
      }
      try (PaymentProcessor survivor = start(() -> {})) {
        Await.until(WAIT, "the processor to commit every record", this::done);
        Await.until(
            WAIT,
            "every outbox row published",
            () -> db.count("outbox_events WHERE published_at IS NULL") == 0);
        assertThat(survivor.isHealthy()).isTrue();
      }
    }

    /** The worker dies after the database commit of its {@code batch}-th batch. */
    private void crashBetweenCommits(int batch) {
      AtomicInteger batches = new AtomicInteger();
      try (PaymentProcessor processor =
          start(
              () -> {
                if (batches.incrementAndGet() == batch) {
                  throw new IllegalStateException("killed between the database and offset commits");
                }
              })) {
        Await.until(
            WAIT,
            "the worker to die at batch " + batch + " or to catch up",
            () -> !processor.isHealthy() || done());
        history.add(
            (processor.isHealthy()
                    ? "caught up before batch "
                    : "crashed after the commit of batch ")
                + batch
                + " at "
                + applied()
                + " applied");
      }
    }

    /** The service is closed under load once {@code events} more events were applied. */
    private void closeUnderLoad(int events) {
      long target = applied() + events;
      try (PaymentProcessor processor = start(() -> {})) {
        Await.until(
            WAIT, target + " events applied, or everything", () -> applied() >= target || done());
        history.add("closed at " + applied() + " applied");
      }
    }

    private PaymentProcessor start(Runnable beforeOffsetCommit) {
      PaymentProcessorConfig config =
          PaymentProcessorConfig.fromEnv(
              ServiceEnv.of(
                      kafka.bootstrapServers(),
                      topics,
                      database.url(),
                      database.user(),
                      database.password())
                  .env());
      return PaymentProcessor.start(
          config,
          Clock.fixed(PaymentScenario.NOW, ZoneOffset.UTC),
          options ->
              options
                  .withRetries(3, Duration.ofMillis(20), Duration.ofMillis(200))
                  .withBeforeOffsetCommit(beforeOffsetCommit));
    }

    String history() {
      return String.join("; ", history);
    }

    /** Every event sent and committed by the processor. */
    private boolean done() {
      if (!flow.isDone()) {
        return false;
      }
      try {
        flow.get();
      } catch (InterruptedException | ExecutionException e) {
        throw new AssertionError("the events could not be sent", e);
      }
      return lag() == 0;
    }

    private long lag() {
      return lag.of(PaymentProcessorConfig.SERVICE, topics.stripeEvents());
    }

    private long applied() {
      return db.count("processed_events");
    }

    ProcessorState state() {
      return ProcessorState.of(db);
    }

    /**
     * The events on {@code payments.events.v1}; a fact published twice after a crash counts once.
     */
    Set<PaymentEvents.Event> published() {
      return new PaymentEvents(client, topics.paymentEvents()).distinct();
    }

    @Override
    public void close() {
      stripe.shutdownNow();
      lag.close();
      client.close();
    }
  }
}
