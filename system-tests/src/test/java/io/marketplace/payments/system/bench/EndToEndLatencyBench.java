package io.marketplace.payments.system.bench;

import io.marketplace.payments.common.kafka.RecordHeaders;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.embedded.EmbeddedPostgresServer;
import io.marketplace.payments.local.LocalStack;
import io.marketplace.payments.local.StackPorts;
import io.marketplace.payments.stripeemulator.WebhookSigner;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Array;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * End-to-end latency, webhook to active listing, at fixed rates: {@code bench/e2e.sh} runs it. Not
 * a test (its name does not end in Test).
 *
 * <p>Starts the whole system as {@code ./payments up} does ({@link LocalStack}: embedded KRaft
 * broker and PostgreSQL, emulator, gateway, API, workers) in this JVM, seeds pending listings with
 * their {@code payments} rows as checkout-api leaves them, then sends each listing's signed {@code
 * payment_intent.succeeded} to the gateway, open loop, at each rate in turn (a scheduler thread
 * issues them on time, virtual threads send them, so a slow answer never delays the next send). For
 * each event it measures, from the moment the event was due to be sent:
 *
 * <ul>
 *   <li>active: until the transaction that made the listing {@code active} committed, as PostgreSQL
 *       recorded it ({@code track_commit_timestamp}, read once the phase has settled: a reader
 *       polling for it would take the CPU the system under test needs, and see it late);
 *   <li>announced: until {@code listing.activated} for it is read from {@code payments.events.v1};
 *   <li>acknowledged: until the gateway answered 200.
 * </ul>
 *
 * Writes {@code target/bench/e2e.md} (a markdown table), {@code e2e-<rate>.csv} (every event of
 * each measured phase with its latencies, to see when the slow ones happened) and {@code SUMMARY}
 * lines to stdout.
 */
public final class EndToEndLatencyBench {

  /** One event: its listing, PaymentIntent, and the times measured for it (nanoTime). */
  private static final class Probe {
    final UUID listingId;
    final UUID userId;
    final String paymentIntentId;
    final String phase;
    volatile long due;

    /** {@link #due} on the wall clock, in microseconds since the epoch, as PostgreSQL counts. */
    volatile long dueMicros;

    volatile long acknowledged;
    volatile int status;

    /** Nanoseconds from due to the commit that made the listing active; 0 until read. */
    volatile long activeAfter;

    volatile long announced;

    final PendingListing listing;

    Probe(String phase) {
      this.listing = PendingListing.random();
      this.listingId = listing.listingId();
      this.userId = listing.userId();
      this.paymentIntentId = listing.paymentIntentId();
      this.phase = phase;
    }
  }

  /**
   * Events sent at one rate. A step phase is the first seconds at a new rate, reported apart and
   * followed without a pause by the measured phase at that rate.
   */
  private record Phase(String name, int rate, int seconds, boolean measured, boolean step) {
    int events() {
      return rate * seconds;
    }
  }

  public static void main(String[] args) throws Exception {
    Map<String, String> options = options(args);
    List<Integer> rates =
        Arrays.stream(options.getOrDefault("rates", "100,500,1000").split(","))
            .map(String::trim)
            .map(Integer::parseInt)
            .toList();
    int seconds = Integer.parseInt(options.getOrDefault("seconds", "20"));
    // the whole system shares one JVM: its JIT compilers still take a third of a core a minute
    // in, so the measured phases start after a minute of traffic unless told otherwise
    int warmup = Integer.parseInt(options.getOrDefault("warmup", "60"));
    int warmupRate = Integer.parseInt(options.getOrDefault("warmup-rate", "300"));
    // a step to a higher rate takes the shared CPU a few seconds to absorb (more connections,
    // bigger batches, code the JIT compiles anew): those seconds are reported on a row of their own
    int step = Integer.parseInt(options.getOrDefault("step", "10"));
    Semaphore connections =
        new Semaphore(Integer.parseInt(options.getOrDefault("connections", "128")));
    Path out = Path.of(options.getOrDefault("out", "target/bench"));
    Files.createDirectories(out);

    List<Phase> phases = new ArrayList<>();
    phases.add(new Phase("warm-up", warmupRate, warmup, false, false));
    for (int rate : rates) {
      if (step > 0) {
        phases.add(new Phase(rate + "/s, first " + step + " s", rate, step, false, true));
      }
      phases.add(new Phase(rate + "/s", rate, seconds, true, false));
    }

    // when each listing became active is read from PostgreSQL's record of commit times
    System.setProperty(EmbeddedPostgresServer.SETTINGS_PROPERTY, "track_commit_timestamp=on");
    Path dataDir = Files.createTempDirectory("e2e-bench-");
    long startedAt = System.nanoTime();
    try (LocalStack stack =
        LocalStack.start(dataDir, StackPorts.anyFree(), line -> log("%s", line.strip()))) {
      log("stack ready in %.1f s", (System.nanoTime() - startedAt) / 1e9);
      Map<String, String> env = stack.env();
      while (!stack.workersAssigned()) {
        TimeUnit.MILLISECONDS.sleep(50);
      }

      Map<String, List<Probe>> byPhase = new HashMap<>();
      List<Probe> all = new ArrayList<>();
      for (Phase phase : phases) {
        List<Probe> probes = new ArrayList<>();
        for (int i = 0; i < phase.events(); i++) {
          probes.add(new Probe(phase.name()));
        }
        byPhase.put(phase.name(), probes);
        all.addAll(probes);
      }
      long seedStart = System.nanoTime();
      seed(env, all);
      log(
          "seeded %,d pending listings and payments in %.1f s",
          all.size(), (System.nanoTime() - seedStart) / 1e9);

      Map<String, Probe> byListing = new ConcurrentHashMap<>();
      all.forEach(p -> byListing.put(p.listingId.toString(), p));
      AtomicBoolean running = new AtomicBoolean(true);
      Thread announcements =
          Thread.ofPlatform()
              .name("bench-announcements")
              .start(() -> readAnnounced(env, byListing, running));

      String secret = env.get("STRIPE_WEBHOOK_SECRET").split(",")[0].trim();
      URI webhook = URI.create(env.get("WEBHOOK_URL"));
      try (HttpClient http =
              HttpClient.newBuilder()
                  .version(HttpClient.Version.HTTP_1_1)
                  .connectTimeout(Duration.ofSeconds(5))
                  .build();
          ExecutorService senders = Executors.newVirtualThreadPerTaskExecutor()) {
        List<Probe> sent = new ArrayList<>();
        for (Phase phase : phases) {
          Histograms before = Histograms.scrape(http, env.get("PAYMENT_PROCESSOR_URL"));
          log("phase %s: %,d events at %d/s", phase.name(), phase.events(), phase.rate());
          send(http, senders, connections, webhook, secret, phase, byPhase.get(phase.name()));
          sent.addAll(byPhase.get(phase.name()));
          if (phase.step()) {
            continue; // the measured phase follows at once; this one is read with it
          }
          awaitSettled(sent, Duration.ofSeconds(60));
          readCommitted(env, sent);
          sent.clear();
          // the processor's own view: from the record's time on the topic to its commit
          Histograms after = Histograms.scrape(http, env.get("PAYMENT_PROCESSOR_URL"));
          log(
              "  processor: topic to commit p50 %.0f ms, p99 %.0f ms; one poll's transaction p50"
                  + " %.0f ms, p99 %.0f ms (histogram bucket bounds)",
              after.quantileMillisSince(
                  before, "payments_worker_event_latency_seconds", "payment-processor", 0.5),
              after.quantileMillisSince(
                  before, "payments_worker_event_latency_seconds", "payment-processor", 0.99),
              after.quantileMillisSince(
                  before, "payments_worker_batch_seconds", "payment-processor", 0.5),
              after.quantileMillisSince(
                  before, "payments_worker_batch_seconds", "payment-processor", 0.99));
        }
      }
      running.set(false);
      announcements.join(5_000);

      StringBuilder table = new StringBuilder();
      table.append(
          "| rate | events | 200s | active p50 ms | p90 | p99 | p99.9 | max | announced p50 ms | p99 |"
              + " gateway 200 p50 ms | p99 |\n");
      table.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
      for (Phase phase : phases) {
        if (!phase.measured() && !phase.step()) {
          continue;
        }
        List<Probe> probes = byPhase.get(phase.name());
        long[] active = latencies(probes, p -> p.activeAfter);
        long[] announced = latencies(probes, p -> since(p, p.announced));
        long[] acknowledged = latencies(probes, p -> since(p, p.acknowledged));
        long ok = probes.stream().filter(p -> p.status == 200).count();
        table.append(
            String.format(
                Locale.ROOT,
                "| %s | %,d | %,d | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f |%n",
                phase.name(),
                probes.size(),
                ok,
                ms(active, 50),
                ms(active, 90),
                ms(active, 99),
                ms(active, 99.9),
                ms(active, 100),
                ms(announced, 50),
                ms(announced, 99),
                ms(acknowledged, 50),
                ms(acknowledged, 99)));
        if (!phase.measured()) {
          continue;
        }
        System.out.printf(
            Locale.ROOT,
            "SUMMARY e2e rate=%d events=%d ok=%d active_seen=%d active_p50_ms=%.1f active_p99_ms=%.1f"
                + " announced_p50_ms=%.1f announced_p99_ms=%.1f ack_p99_ms=%.1f%n",
            phase.rate(),
            probes.size(),
            ok,
            active.length,
            ms(active, 50),
            ms(active, 99),
            ms(announced, 50),
            ms(announced, 99),
            ms(acknowledged, 99));
      }
      System.out.println();
      System.out.print(table);
      Files.writeString(out.resolve("e2e.md"), table.toString());
      for (int i = 0; i < phases.size(); i++) {
        Phase phase = phases.get(i);
        if (phase.measured()) {
          List<Probe> probes = new ArrayList<>();
          if (phases.get(i - 1).step()) {
            probes.addAll(byPhase.get(phases.get(i - 1).name()));
          }
          probes.addAll(byPhase.get(phase.name()));
          writeProbes(out.resolve("e2e-" + phase.rate() + ".csv"), probes);
        }
      }
    } finally {
      deleteQuietly(dataDir);
    }
    System.exit(0);
  }

  // ---- seeding: what checkout-api leaves behind for each purchase

  private static void seed(Map<String, String> env, List<Probe> probes) throws SQLException {
    try (Connection db = connect(env)) {
      PendingListing.seed(db, probes.stream().map(p -> p.listing).toList());
    }
  }

  // ---- sending, open loop

  private static void send(
      HttpClient http,
      ExecutorService senders,
      Semaphore connections,
      URI webhook,
      String secret,
      Phase phase,
      List<Probe> probes) {
    long interval = TimeUnit.SECONDS.toNanos(1) / phase.rate();
    // one reading of both clocks per phase: due times on the wall clock drift from the monotonic
    // ones by no more than the clock's slew over the phase's seconds
    long anchorNanos = System.nanoTime();
    Instant anchorWall = Instant.now();
    long anchorMicros = anchorWall.getEpochSecond() * 1_000_000 + anchorWall.getNano() / 1_000;
    long start = anchorNanos + TimeUnit.MILLISECONDS.toNanos(20);
    for (int i = 0; i < probes.size(); i++) {
      Probe probe = probes.get(i);
      long due = start + i * interval;
      long wait;
      while ((wait = due - System.nanoTime()) > 0) {
        LockSupport.parkNanos(wait);
      }
      // signed when due, as Stripe signs at delivery; the latency counts from the due time
      long created = Instant.now().getEpochSecond();
      String body = probe.listing.succeededEvent(created);
      String signature = WebhookSigner.signatureHeader(body, created, secret);
      probe.due = due;
      probe.dueMicros = anchorMicros + (due - anchorNanos) / 1_000;
      senders.execute(
          () -> {
            try {
              // at most so many connections, as Stripe's deliveries are; a request that finds
              // none free waits, its latency still counted from when it was due
              connections.acquire();
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
              probe.status = -2;
              probe.acknowledged = System.nanoTime();
              return;
            }
            try {
              HttpResponse<Void> response =
                  http.send(
                      HttpRequest.newBuilder(webhook)
                          .timeout(Duration.ofSeconds(30))
                          .header("Content-Type", "application/json; charset=utf-8")
                          .header(WebhookSigner.HEADER, signature)
                          .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8))
                          .build(),
                      HttpResponse.BodyHandlers.discarding());
              probe.status = response.statusCode();
            } catch (IOException e) {
              probe.status = -1;
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
              probe.status = -2;
            } finally {
              connections.release();
            }
            probe.acknowledged = System.nanoTime();
          });
    }
  }

  /**
   * Waits until every event of the phase was answered and announced: {@code listing.activated} is
   * written in the transaction that activates the listing, so by then every activation committed.
   */
  private static void awaitSettled(List<Probe> probes, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      boolean settled =
          probes.stream()
              .allMatch(p -> p.acknowledged != 0 && (p.status != 200 || p.announced != 0));
      if (settled) {
        return;
      }
      TimeUnit.MILLISECONDS.sleep(20);
    }
    long missing = probes.stream().filter(p -> p.announced == 0).count();
    log("  %,d of %,d listings not announced within %s", missing, probes.size(), timeout);
  }

  // ---- observing

  /**
   * Reads when the transaction that activated each listing of the phase committed. The row's {@code
   * xmin} is that transaction: nothing else writes the listing afterwards.
   */
  private static void readCommitted(Map<String, String> env, List<Probe> probes)
      throws SQLException {
    Map<UUID, Probe> byId = new HashMap<>();
    probes.forEach(p -> byId.put(p.listingId, p));
    try (Connection db = connect(env);
        PreparedStatement query =
            db.prepareStatement(
                """
                SELECT id,
                       (extract(epoch FROM pg_xact_commit_timestamp(xmin)) * 1000000)::bigint
                FROM marketplace_listings
                WHERE id = ANY (?) AND status = 'active'
                """)) {
      Array array = db.createArrayOf("uuid", byId.keySet().toArray());
      query.setArray(1, array);
      try (ResultSet rows = query.executeQuery()) {
        while (rows.next()) {
          Probe probe = byId.get(rows.getObject(1, UUID.class));
          long committedMicros = rows.getLong(2);
          if (!rows.wasNull()) {
            // at least 1 ns: 0 means "not seen"
            probe.activeAfter = Math.max(1, (committedMicros - probe.dueMicros) * 1_000);
          }
        }
      }
      array.free();
    }
    long missing = probes.stream().filter(p -> p.status == 200 && p.activeAfter == 0).count();
    if (missing > 0) {
      log("  %,d of %,d listings not active, or without a commit time", missing, probes.size());
    }
  }

  /** Reads {@code listing.activated} from {@code payments.events.v1}, from its current end. */
  private static void readAnnounced(
      Map<String, String> env, Map<String, Probe> byListing, AtomicBoolean running) {
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, env.get("KAFKA_BOOTSTRAP_SERVERS"));
    props.put(ConsumerConfig.CLIENT_ID_CONFIG, "e2e-bench");
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
    props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    // (fetch.max.wait.ms stays at its default: a fetch returns as soon as a record arrives, and a
    // shorter wait only made an idle reader ask the broker 200 times a second)
    String topic = Topics.standard().paymentEvents().name();
    try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(props)) {
      List<TopicPartition> partitions =
          consumer.partitionsFor(topic, Duration.ofSeconds(10)).stream()
              .map(info -> new TopicPartition(topic, info.partition()))
              .toList();
      consumer.assign(partitions);
      consumer.seekToEnd(partitions);
      partitions.forEach(consumer::position);
      while (running.get()) {
        for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(20))) {
          Header type = record.headers().lastHeader(RecordHeaders.EVENT_TYPE);
          if (type != null
              && "listing.activated".equals(new String(type.value(), StandardCharsets.UTF_8))) {
            Probe probe = byListing.get(record.key());
            if (probe != null && probe.announced == 0) {
              probe.announced = System.nanoTime();
            }
          }
        }
      }
    }
  }

  // ---- helpers

  /**
   * Every event at one rate (its first seconds, then the measured ones), in the order sent: its
   * phase, when it was due, and its latencies (ms).
   */
  private static void writeProbes(Path file, List<Probe> probes) throws IOException {
    StringBuilder csv =
        new StringBuilder("phase,due_ms,status,active_ms,announced_ms,acknowledged_ms\n");
    long first = probes.getFirst().due;
    for (Probe p : probes) {
      csv.append(
          String.format(
              Locale.ROOT,
              "\"%s\",%.3f,%d,%.3f,%.3f,%.3f%n",
              p.phase,
              (p.due - first) / 1e6,
              p.status,
              p.activeAfter / 1e6,
              since(p, p.announced) / 1e6,
              since(p, p.acknowledged) / 1e6));
    }
    Files.writeString(file, csv);
  }

  private interface Latency {
    /** Nanoseconds since the probe was due, or 0 when the moment was not seen. */
    long of(Probe probe);
  }

  private static long since(Probe probe, long time) {
    return time == 0 ? 0 : Math.max(1, time - probe.due);
  }

  /** Sorted latencies in nanoseconds, of the events that got the time (answered 200 first). */
  private static long[] latencies(List<Probe> probes, Latency latency) {
    return probes.stream()
        .filter(p -> p.status == 200 && latency.of(p) != 0)
        .mapToLong(latency::of)
        .sorted()
        .toArray();
  }

  private static double ms(long[] sorted, double percentile) {
    if (sorted.length == 0) {
      return Double.NaN;
    }
    int index = (int) Math.ceil(percentile / 100 * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, index))] / 1e6;
  }

  private static Connection connect(Map<String, String> env) throws SQLException {
    return DriverManager.getConnection(
        env.get("DATABASE_URL"), env.get("DATABASE_USER"), env.get("DATABASE_PASSWORD"));
  }

  private static Map<String, String> options(String[] args) {
    Map<String, String> options = new HashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      options.put(args[i].replaceFirst("^--", ""), args[i + 1]);
    }
    return options;
  }

  private static void log(String format, Object... args) {
    System.out.printf(Locale.ROOT, "[e2e] " + format + "%n", args);
  }

  private static void deleteQuietly(Path dir) {
    try (var paths = Files.walk(dir)) {
      paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // a temporary directory left behind is not worth failing the run for
    }
  }
}
