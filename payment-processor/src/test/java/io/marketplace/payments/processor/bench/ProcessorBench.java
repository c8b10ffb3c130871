package io.marketplace.payments.processor.bench;

import io.marketplace.payments.common.kafka.RecordHeaders;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.embedded.EmbeddedPostgresServer;
import io.marketplace.payments.processor.PaymentProcessor;
import io.marketplace.payments.processor.PaymentProcessorConfig;
import io.marketplace.payments.testsupport.StripeFixtures;
import io.marketplace.payments.testsupport.TestDatabase;
import io.marketplace.payments.testsupport.TestInfra;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

/**
 * How many Stripe events a second the payment processor applies, from a topic filled beforehand:
 * {@code bench/processor.sh} runs it. Seeds N purchases as checkout-api would (80% posting fees,
 * 10% featured, 10% bumps), fills {@code stripe.events.v1} with their {@code
 * payment_intent.succeeded} events in Stripe's real shape, starts the processor and times it until
 * its consumer lag is 0. Then rewinds the group to the start and times the replay, where every
 * event is a duplicate. Runs on the same embedded broker and PostgreSQL as the tests.
 *
 * <p>Not a test (its name does not end in Test): surefire leaves it alone.
 */
public final class ProcessorBench {

  private static final String FEATURED = "promotion_featured";
  private static final String BUMP = "promotion_bump";
  private static final String POSTING = "posting_fee";

  public static void main(String[] args) {
    try {
      bench(args);
    } catch (Exception | Error e) {
      // the broker's and the pool's threads would keep a failed bench alive: end it, failed
      e.printStackTrace();
      System.exit(1);
    }
  }

  private static void bench(String[] args) throws Exception {
    int events = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
    int workers = args.length > 1 ? Integer.parseInt(args[1]) : 2;
    Topics topics = TestInfra.freshTopics();
    TestDatabase db = TestInfra.freshDatabase();
    String bootstrap = TestInfra.kafka().bootstrapServers();

    long t = System.nanoTime();
    List<StripeFixtures.Builder> stripeEvents = seed(db, events);
    log("seeded %,d purchases in %.1f s", events, seconds(t));
    t = System.nanoTime();
    fill(bootstrap, topics, stripeEvents);
    log("filled %s with %,d events in %.1f s", topics.stripeEvents(), events, seconds(t));

    PaymentProcessorConfig config =
        new PaymentProcessorConfig(
            TestInfra.kafkaConfig(topics),
            db.dbConfig().withPoolSize(4),
            PaymentProcessorConfig.SERVICE,
            Duration.ofDays(30),
            0,
            workers);

    log("processor with %d worker(s); load average before: %s", workers, loadAverage());
    boolean statements = statementsTracked();
    if (statements) {
      db.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
      db.execute("SELECT pg_stat_statements_reset()");
    }
    Map<String, Object> walBefore = wal(db);
    Result first = run(config, topics, db, events);
    if (statements) {
      printStatements(db);
    }
    printWal(db, walBefore, events);
    log(
        "first pass: %,d events applied in %.1f s: %,.0f events/s (outbox drained after %.1f s)",
        events, first.seconds(), events / first.seconds(), first.outboxSeconds());
    log("load average after the first pass: %s", loadAverage());
    log(
        "first pass used %.1f CPU-seconds (PostgreSQL %.1f): %,.0f events per CPU-second, %,.0f"
            + " events/s on 2 idle cores if the work spread over both",
        first.cpuSeconds(),
        first.postgresCpuSeconds(),
        events / first.cpuSeconds(),
        2 * events / first.cpuSeconds());
    long applied = db.count("processed_events");
    long published = published(config, topics);

    rewind(config, topics);
    try (Admin admin = Admin.create(config.kafka().admin("bench-lag"))) {
      log("rewound the group to the start: lag %,d", lag(admin, topics, config.consumer()));
    }
    Result replay = run(config, topics, db, events);
    log(
        "replay: %,d events re-read in %.1f s: %,.0f events/s, %,d new effects",
        events,
        replay.seconds(),
        events / replay.seconds(),
        db.count("processed_events") - applied + published(config, topics) - published);

    String report =
        """
        events: %d, workers: %d
        first pass: %.1f s, %.0f events/s (outbox published %d rows, drained after %.1f s), \
        %.1f CPU-s, %.0f events per CPU-second
        replay (all duplicates): %.1f s, %.0f events/s, %.1f CPU-s, %.0f events per CPU-second
        load average: %s
        """
            .formatted(
                events,
                workers,
                first.seconds(),
                events / first.seconds(),
                published,
                first.outboxSeconds(),
                first.cpuSeconds(),
                events / first.cpuSeconds(),
                replay.seconds(),
                events / replay.seconds(),
                replay.cpuSeconds(),
                events / replay.cpuSeconds(),
                loadAverage());
    Path out =
        Path.of(System.getProperty("bench.report", "payment-processor/target/processor-bench.txt"));
    Files.createDirectories(out.toAbsolutePath().getParent());
    Files.writeString(out, report);
    System.out.print(report);
    System.exit(0);
  }

  /**
   * @param cpuSeconds CPU time used meanwhile by this JVM (processor, broker, relay) and by the
   *     PostgreSQL server: what the pass cost, whatever else ran on the machine
   */
  private record Result(
      double seconds, double outboxSeconds, double cpuSeconds, double postgresCpuSeconds) {}

  /** Starts the processor and waits until it has committed the whole topic. */
  private static Result run(
      PaymentProcessorConfig config, Topics topics, TestDatabase db, int events) throws Exception {
    long start = System.nanoTime();
    double cpuBefore = CpuTime.seconds(db.url());
    double postgresBefore = CpuTime.postgres(db.url());
    try (PaymentProcessor processor =
            PaymentProcessor.start(config, Clock.systemUTC(), UnaryOperator.identity());
        Admin admin = Admin.create(config.kafka().admin("bench"))) {
      // Timed from the start, the group join included: with several workers, the first one
      // assigned may re-read a whole replay before the last one is assigned.
      long lastReport = System.nanoTime();
      while (lag(admin, topics, config.consumer()) > 0) {
        TimeUnit.MILLISECONDS.sleep(100);
        if (System.nanoTime() - lastReport > TimeUnit.SECONDS.toNanos(5)) {
          lastReport = System.nanoTime();
          log("  lag %,d after %.0f s", lag(admin, topics, config.consumer()), seconds(start));
        }
      }
      double applied = seconds(start);
      while (db.count("outbox_events WHERE published_at IS NULL") > 0) {
        TimeUnit.MILLISECONDS.sleep(100);
      }
      return new Result(
          applied,
          seconds(start),
          CpuTime.seconds(db.url()) - cpuBefore,
          CpuTime.postgres(db.url()) - postgresBefore);
    }
  }

  private static long lag(Admin admin, Topics topics, String group) throws Exception {
    Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
    for (int p = 0; p < topics.stripeEvents().partitions(); p++) {
      latest.put(new TopicPartition(topics.stripeEvents().name(), p), OffsetSpec.latest());
    }
    var ends = admin.listOffsets(latest).all().get(10, TimeUnit.SECONDS);
    Map<TopicPartition, OffsetAndMetadata> committed =
        admin
            .listConsumerGroupOffsets(group)
            .partitionsToOffsetAndMetadata()
            .get(10, TimeUnit.SECONDS);
    long lag = 0;
    for (var end : ends.entrySet()) {
      OffsetAndMetadata at = committed.get(end.getKey());
      lag += end.getValue().offset() - (at == null ? 0 : at.offset());
    }
    return lag;
  }

  private static boolean statementsTracked() {
    return System.getProperty(EmbeddedPostgresServer.PRELOAD_PROPERTY, "")
        .contains("pg_stat_statements");
  }

  /** Where PostgreSQL's time went in the first pass, statement by statement. */
  private static void printStatements(TestDatabase db) {
    log("PostgreSQL statements of the first pass, by total execution time:");
    log("%9s %8s %9s %11s  %s", "total ms", "calls", "rows", "blocks/call", "statement");
    db.jdbi()
        .useHandle(
            h ->
                h.createQuery(
                        """
                        SELECT round(total_exec_time) AS ms, calls, rows,
                               (shared_blks_hit + shared_blks_read) / greatest(calls, 1) AS blocks,
                               left(regexp_replace(query, '\\s+', ' ', 'g'), 90) AS statement
                        FROM pg_stat_statements
                        WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                          AND calls >= 100
                        ORDER BY total_exec_time DESC LIMIT 15
                        """)
                    .mapToMap()
                    .forEach(
                        row ->
                            log(
                                "%9s %8s %9s %11s  %s",
                                row.get("ms"),
                                row.get("calls"),
                                row.get("rows"),
                                row.get("blocks"),
                                row.get("statement"))));
  }

  private static Map<String, Object> wal(TestDatabase db) {
    return db.jdbi()
        .withHandle(
            h ->
                h.createQuery(
                        "SELECT wal_records, wal_fpi, CAST(wal_bytes AS bigint) AS wal_bytes FROM"
                            + " pg_stat_wal")
                    .mapToMap()
                    .one());
  }

  /** What the first pass wrote to PostgreSQL's write-ahead log, per event. */
  private static void printWal(TestDatabase db, Map<String, Object> before, int events) {
    Map<String, Object> after = wal(db);
    long records =
        ((Number) after.get("wal_records")).longValue()
            - ((Number) before.get("wal_records")).longValue();
    long fpi =
        ((Number) after.get("wal_fpi")).longValue() - ((Number) before.get("wal_fpi")).longValue();
    long bytes =
        ((Number) after.get("wal_bytes")).longValue()
            - ((Number) before.get("wal_bytes")).longValue();
    log(
        "write-ahead log of the first pass: %,d records (%.1f per event), %,d full-page images"
            + " (%.2f per event), %,d MB (%,.0f bytes per event)",
        records,
        (double) records / events,
        fpi,
        (double) fpi / events,
        bytes >> 20,
        (double) bytes / events);
  }

  /** Records on payments.events.v1: the relay deletes outbox rows as it publishes them. */
  private static long published(PaymentProcessorConfig config, Topics topics) throws Exception {
    try (Admin admin = Admin.create(config.kafka().admin("bench-published"))) {
      Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
      for (int p = 0; p < topics.paymentEvents().partitions(); p++) {
        latest.put(new TopicPartition(topics.paymentEvents().name(), p), OffsetSpec.latest());
      }
      return admin.listOffsets(latest).all().get(10, TimeUnit.SECONDS).values().stream()
          .mapToLong(info -> info.offset())
          .sum();
    }
  }

  private static void rewind(PaymentProcessorConfig config, Topics topics) throws Exception {
    try (Admin admin = Admin.create(config.kafka().admin("bench-rewind"))) {
      Map<TopicPartition, OffsetAndMetadata> earliest = new HashMap<>();
      for (int p = 0; p < topics.stripeEvents().partitions(); p++) {
        earliest.put(new TopicPartition(topics.stripeEvents().name(), p), new OffsetAndMetadata(0));
      }
      admin.alterConsumerGroupOffsets(config.consumer(), earliest).all().get(30, TimeUnit.SECONDS);
    }
  }

  /** N purchases: listings, their owners, our payments rows; returns their success events. */
  private static List<StripeFixtures.Builder> seed(TestDatabase db, int count) {
    List<StripeFixtures.Builder> events = new ArrayList<>(count);
    Instant paidAt = Instant.now().minusSeconds(60);
    db.jdbi()
        .useHandle(
            h -> {
              var users = h.prepareBatch("INSERT INTO users (id) VALUES (:id)");
              var listings =
                  h.prepareBatch(
                      """
                      INSERT INTO marketplace_listings
                          (id, user_id, category_id, title, status, activated_at, expires_at,
                           payment_intent_id)
                      VALUES (:id, :user, 1, 'Bench listing', :status,
                              CAST(:activated AS timestamptz), CAST(:expires AS timestamptz),
                              :listingPi)
                      """);
              var payments =
                  h.prepareBatch(
                      """
                      INSERT INTO payments (stripe_payment_intent_id, listing_id, user_id,
                                            payment_type, amount_cents, currency, status)
                      VALUES (:pi, :listing, :user, :type, :amount, 'usd', 'requires_payment')
                      """);
              for (int i = 0; i < count; i++) {
                UUID user = UUID.randomUUID();
                UUID listing = UUID.randomUUID();
                String type = i % 10 == 8 ? FEATURED : i % 10 == 9 ? BUMP : POSTING;
                boolean active = !POSTING.equals(type);
                long amount = BUMP.equals(type) ? 200 : 500;
                String pi = StripeFixtures.id("pi");
                users.bind("id", user).add();
                listings
                    .bind("id", listing)
                    .bind("user", user)
                    .bind("status", active ? "active" : "pending_payment")
                    .bind("activated", active ? paidAt.minus(Duration.ofDays(1)).toString() : null)
                    .bind("expires", active ? paidAt.plus(Duration.ofDays(29)).toString() : null)
                    // checkout-api records the posting fee's PaymentIntent on the listing
                    .bind("listingPi", active ? null : pi)
                    .add();
                payments
                    .bind("pi", pi)
                    .bind("listing", listing)
                    .bind("user", user)
                    .bind("type", type)
                    .bind("amount", amount)
                    .add();
                events.add(
                    StripeFixtures.succeeded(
                            pi, amount, StripeFixtures.metadata(listing, user, 1, type))
                        .created(paidAt));
                if (users.size() == 5_000 || i == count - 1) {
                  users.execute();
                  listings.execute();
                  payments.execute();
                }
              }
              // A marketplace that sells promotions has a history of them: every promoted
              // listing had a featured week that ended a month ago, and one in ten is featured
              // right now. Then statistics, as autovacuum keeps them on a live database, so the
              // planner sees real tables.
              h.execute(
                  """
                  INSERT INTO listing_promotions (id, listing_id, type, stripe_payment_intent_id,
                                                  amount_cents, starts_at, expires_at, expired_at)
                  SELECT gen_random_uuid(), id, 'featured', 'pi_history_' || id, 500,
                         now() - interval '37 days', now() - interval '30 days',
                         now() - interval '30 days'
                  FROM marketplace_listings WHERE status = 'active'
                  """);
              h.execute(
                  """
                  INSERT INTO listing_promotions (id, listing_id, type, stripe_payment_intent_id,
                                                  amount_cents, starts_at, expires_at)
                  SELECT gen_random_uuid(), id, 'featured', 'pi_running_' || id, 500,
                         now() - interval '2 days', now() + interval '5 days'
                  FROM marketplace_listings WHERE status = 'active' AND random() < 0.1
                  """);
              h.execute("ANALYZE");
            });
    return events;
  }

  /** Writes the events as the webhook gateway does: keyed by PaymentIntent, with its headers. */
  private static void fill(String bootstrap, Topics topics, List<StripeFixtures.Builder> events) {
    Properties props = TestInfra.kafkaConfig(topics).producer("bench-fill");
    props.put(ProducerConfig.LINGER_MS_CONFIG, 20);
    props.put(ProducerConfig.BATCH_SIZE_CONFIG, 512 * 1024);
    try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(props)) {
      for (StripeFixtures.Builder event : events) {
        var record =
            new ProducerRecord<>(
                topics.stripeEvents().name(),
                event.paymentIntentId(),
                event.json().getBytes(StandardCharsets.UTF_8));
        RecordHeaders.put(record.headers(), RecordHeaders.STRIPE_EVENT_ID, event.eventId());
        RecordHeaders.put(record.headers(), RecordHeaders.STRIPE_EVENT_TYPE, event.type());
        RecordHeaders.put(
            record.headers(), RecordHeaders.RECEIVED_AT, event.created().plusSeconds(1).toString());
        producer.send(record);
      }
      producer.flush();
    }
  }

  /** The 1-minute load average: other work on the machine slows every number here. */
  private static String loadAverage() {
    try {
      return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
    } catch (java.io.IOException e) {
      return "unknown";
    }
  }

  private static double seconds(long since) {
    return (System.nanoTime() - since) / 1e9;
  }

  private static void log(String format, Object... args) {
    System.out.printf("[bench] " + format + "%n", args);
  }
}
