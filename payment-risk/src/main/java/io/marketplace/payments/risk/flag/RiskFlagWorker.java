package io.marketplace.payments.risk.flag;

import io.marketplace.payments.common.Closer;
import io.marketplace.payments.common.db.Database;
import io.marketplace.payments.common.db.DbConfig;
import io.marketplace.payments.common.kafka.KafkaConfig;
import io.marketplace.payments.common.outbox.OutboxRelay;
import io.marketplace.payments.common.worker.StreamWorker;
import io.marketplace.payments.common.worker.WorkerOptions;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;

/**
 * The once-only worker that makes risk signals act: a {@link StreamWorker} on {@code
 * risk.signals.v1} applying {@link RiskFlagHandler} in PostgreSQL, and the outbox relay that
 * publishes its {@code user.flagged} events.
 */
public final class RiskFlagWorker implements AutoCloseable {

  public static final String CONSUMER = "payment-risk-flags";
  private static final String OWNER = "payment-risk";
  private static final Duration RELAY_IDLE = Duration.ofMillis(500);

  private final Closer closer;
  private final StreamWorker worker;
  private final Database database;

  private RiskFlagWorker(Closer closer, StreamWorker worker, Database database) {
    this.closer = closer;
    this.worker = worker;
    this.database = database;
  }

  public static RiskFlagWorker start(
      DbConfig db, KafkaConfig kafka, Duration coolDown, Clock clock, MeterRegistry registry) {
    Closer closer = new Closer();
    try {
      Database database = closer.add(Database.open(db, OWNER)).migrate();
      Producer<String, byte[]> producer =
          closer.add(new KafkaProducer<>(OutboxRelay.producerSettings(kafka, OWNER)));
      OutboxRelay relay =
          closer.add(
              new OutboxRelay(
                      database.jdbi(), producer, kafka.topics(), RELAY_IDLE, registry, OWNER)
                  .start());
      StreamWorker worker =
          closer.add(
              new StreamWorker(
                  WorkerOptions.of(CONSUMER, kafka.topics().riskSignals())
                      .withAfterApplied(relay::wakeUp),
                  kafka,
                  database.jdbi(),
                  new RiskFlagHandler(clock, coolDown, registry),
                  producer,
                  registry,
                  clock));
      worker.start();
      return new RiskFlagWorker(closer, worker, database);
    } catch (RuntimeException e) {
      closer.close();
      throw e;
    }
  }

  public boolean isHealthy() {
    return worker.isHealthy();
  }

  /** False once its worker stopped for good: only a restart brings it back. */
  public boolean isAlive() {
    return worker.isAlive();
  }

  public boolean databaseReachable() {
    return database.isReachable();
  }

  @Override
  public void close() {
    closer.close();
  }
}
