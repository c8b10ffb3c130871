package io.marketplace.payments.expirer;

import io.javalin.Javalin;
import io.marketplace.payments.common.Closer;
import io.marketplace.payments.common.db.Database;
import io.marketplace.payments.common.http.HealthCheck;
import io.marketplace.payments.common.http.HttpServers;
import io.marketplace.payments.common.kafka.KafkaHealth;
import io.marketplace.payments.common.metrics.Metrics;
import io.marketplace.payments.common.outbox.OutboxRelay;
import io.marketplace.payments.expirer.listing.ListingExpiry;
import io.marketplace.payments.expirer.pass.BatchHook;
import io.marketplace.payments.expirer.pass.ExpirerMetrics;
import io.marketplace.payments.expirer.pass.ExpiryPass;
import io.marketplace.payments.expirer.pass.OutboxSeqs;
import io.marketplace.payments.expirer.pass.PassLock;
import io.marketplace.payments.expirer.pass.PassResult;
import io.marketplace.payments.expirer.promotion.PromotionExpiry;
import io.marketplace.payments.expirer.retention.WebhookEventRetention;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The promotion expirer: ends featured promotions and listings when their {@code expires_at} comes,
 * announcing {@code promotion.expired} and {@code listing.expired} on {@code payments.events.v1}
 * through the outbox. Runs either as a service that passes on a schedule ({@link #start}, the
 * Kubernetes Deployment), or as one pass that exits once its events are published ({@link
 * #runOnce}, {@code --once}, a pass by hand).
 */
public final class PromotionExpirer implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(PromotionExpirer.class);
  public static final String NAME = "promotion-expirer";
  private static final Duration RELAY_IDLE = Duration.ofMillis(500);
  private static final Duration PUBLISH_POLL = Duration.ofMillis(200);

  private final Closer closer;
  private final Javalin http;

  private PromotionExpirer(Closer closer, Javalin http) {
    this.closer = closer;
    this.http = http;
  }

  /**
   * Starts the service: admin HTTP, the outbox relay and the scheduler, which passes at once if
   * due.
   */
  public static PromotionExpirer start(ExpirerConfig config, Clock clock) {
    return start(config, clock, BatchHook.NONE);
  }

  static PromotionExpirer start(ExpirerConfig config, Clock clock, BatchHook hook) {
    Closer closer = new Closer();
    try {
      PrometheusMeterRegistry registry = Metrics.newRegistry(NAME);
      Database database = closer.add(Database.open(config.db(), NAME)).migrate();
      KafkaHealth kafkaHealth = closer.add(new KafkaHealth(config.kafka(), NAME));
      startRelay(config, database.jdbi(), registry, closer);
      ExpirerMetrics metrics = new ExpirerMetrics(registry);
      ExpiryPass pass = newPass(config, database.jdbi(), clock, metrics, hook);
      Javalin http =
          HttpServers.create(
                  config.adminPort(),
                  config.http(),
                  registry,
                  List.of(
                      new HealthCheck("database", database::isReachable),
                      new HealthCheck("kafka", kafkaHealth::isReachable)),
                  routes -> {})
              .start();
      closer.add(http::stop);
      closer.add(
          new Scheduler(pass, config.schedule(), clock, config.checkInterval(), metrics).start());
      log.info("{} started, admin port {}", NAME, http.port());
      return new PromotionExpirer(closer, http);
    } catch (RuntimeException e) {
      closer.close();
      throw e;
    }
  }

  /**
   * One pass, whatever the schedule says, then waits until the outbox relay (this process's, or any
   * other service's) has published every event the pass appended. A pass another replica is running
   * counts as done: that replica ends the rows.
   */
  public static OnceResult runOnce(ExpirerConfig config, Clock clock) {
    try (Closer closer = new Closer()) {
      PrometheusMeterRegistry registry = Metrics.newRegistry(NAME);
      Database database = closer.add(Database.open(config.db(), NAME)).migrate();
      startRelay(config, database.jdbi(), registry, closer);
      ExpirerMetrics metrics = new ExpirerMetrics(registry);
      PassResult result = newPass(config, database.jdbi(), clock, metrics, BatchHook.NONE).run();
      // a failed pass may still have committed batches whose events must go out
      boolean published =
          awaitPublished(database.jdbi(), result.outboxSeqs(), config.publishTimeout());
      return new OnceResult(result, published);
    }
  }

  /**
   * How {@code --once} went.
   *
   * @param published whether every event the pass appended was on the broker before the timeout;
   *     those that were not stay in the outbox and go out with the next relay that runs
   */
  public record OnceResult(PassResult pass, boolean published) {

    public boolean succeeded() {
      return published
          && (pass.outcome() == PassResult.Outcome.COMPLETED
              || pass.outcome() == PassResult.Outcome.BUSY);
    }
  }

  public int port() {
    return http.port();
  }

  public String baseUrl() {
    return HttpServers.localUrl(http);
  }

  @Override
  public void close() {
    closer.close();
    log.info("{} stopped", NAME);
  }

  private static void startRelay(
      ExpirerConfig config, Jdbi jdbi, MeterRegistry registry, Closer closer) {
    Producer<String, byte[]> producer =
        closer.add(new KafkaProducer<>(OutboxRelay.producerSettings(config.kafka(), NAME)));
    closer.add(
        new OutboxRelay(jdbi, producer, config.kafka().topics(), RELAY_IDLE, registry, NAME)
            .start());
  }

  private static ExpiryPass newPass(
      ExpirerConfig config, Jdbi jdbi, Clock clock, ExpirerMetrics metrics, BatchHook hook) {
    return new ExpiryPass(
        jdbi,
        new PassLock(config.db()),
        List.of(
            new PromotionExpiry(),
            new ListingExpiry(),
            new WebhookEventRetention(config.webhookEventsRetention())),
        config.batchSize(),
        clock,
        metrics,
        hook);
  }

  /**
   * Waits until the relay has published the rows of {@code seqs}, the pass's own events; rows of
   * other services in the outbox are not waited for.
   */
  private static boolean awaitPublished(Jdbi jdbi, List<Long> seqs, Duration timeout) {
    List<Long> left = seqs;
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      if (left.isEmpty()) {
        return true;
      }
      try {
        List<Long> asked = left;
        left = jdbi.withHandle(h -> OutboxSeqs.unpublished(h, asked));
        if (left.isEmpty()) {
          return true;
        }
      } catch (RuntimeException e) {
        log.warn("could not check whether the pass's events are published", e);
      }
      if (System.nanoTime() - deadline >= 0) {
        log.warn(
            "the pass's events were not all published within {} s; they stay in the outbox",
            timeout.toSeconds());
        return false;
      }
      try {
        Thread.sleep(PUBLISH_POLL);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
  }
}
