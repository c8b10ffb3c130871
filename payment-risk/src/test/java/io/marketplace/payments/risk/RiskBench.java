package io.marketplace.payments.risk;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.marketplace.payments.common.db.DbConfig;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.kafka.KafkaConfig;
import io.marketplace.payments.common.kafka.RecordHeaders;
import io.marketplace.payments.common.kafka.Topic;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.risk.RiskConfig.RiskRules;
import io.marketplace.payments.testsupport.StripeFixtures;
import io.marketplace.payments.testsupport.TestInfra;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;

/**
 * How many Stripe events a second the risk service's topology gets through: {@code bench/risk.sh}
 * runs it. Fills {@code stripe.events.v1} on the embedded broker with a seeded, realistic mix in
 * Stripe's shape (mostly {@code payment_intent.succeeded}; declines with card fingerprints, some
 * followed by a success; {@code charge.refunded}; {@code charge.dispute.created}; Stripe's
 * re-deliveries of the same event id; a dispute re-sent under a new event id; a few card testers
 * and users with two chargebacks in a day), then runs {@link RiskTopology#build} with the service's
 * own settings ({@link RiskService#properties}: {@code exactly_once_v2}, every store logged, one
 * stream thread) and times it from {@code start()} until its committed offsets reach the end of the
 * input and of its repartition topic, that is until every signal is committed. Then the same again
 * with {@code at_least_once}, for comparison, under another application id.
 *
 * <p>CPU is the process's (the broker runs in the same JVM, and its work for this application,
 * transactions and changelogs included, is part of the cost) and, apart, the application's own
 * threads. The generator knows which signals the mix must raise; the bench fails if the output
 * differs.
 *
 * <p>Not a test (its name does not end in Test): surefire leaves it alone.
 */
public final class RiskBench {

  /** The event time the PaymentIntent flows of the mix span. */
  private static final Duration FLOWS_SPAN = Duration.ofMinutes(4);

  /** A run that takes longer is stuck, not slow. */
  private static final Duration TIMEOUT = Duration.ofMinutes(10);

  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

  public static void main(String[] args) {
    try {
      bench(args);
    } catch (Exception | Error e) {
      // the broker's threads would keep a failed bench alive: end it, failed
      e.printStackTrace();
      System.exit(1);
    }
  }

  private static void bench(String[] args) throws Exception {
    int events = args.length > 0 ? Integer.parseInt(args[0]) : 200_000;
    boolean alsoAtLeastOnce = args.length <= 1 || !args[1].equals("--eos-only");
    Topics topics = TestInfra.freshTopics();

    long t = System.nanoTime();
    Mix mix = Mix.generate(events, new SplittableRandom(19));
    log(
        "generated %,d events in %.1f s: %s; expected signals %s",
        mix.events.size(), seconds(t), mix.describe(), mix.expected);
    t = System.nanoTime();
    long bytes = fill(topics, mix.events);
    log(
        "filled %s with %,d events (%,d MB of JSON, %,d bytes per event) in %.1f s",
        topics.stripeEvents(),
        mix.events.size(),
        bytes / 1_000_000,
        bytes / mix.events.size(),
        seconds(t));
    THREADS.setThreadCpuTimeEnabled(true);

    List<Result> results = new ArrayList<>();
    results.add(run(topics, StreamsConfig.EXACTLY_ONCE_V2, mix));
    if (alsoAtLeastOnce) {
      results.add(run(topics, StreamsConfig.AT_LEAST_ONCE, mix));
    }

    StringBuilder report = new StringBuilder();
    report.append(
        "events: %d (%s)%n".formatted(mix.events.size(), mix.describe().replace(", ", "; ")));
    for (Result r : results) {
      report.append(
          ("%s: %.1f s to committed output (RUNNING after %.1f s, input committed after %.1f s),"
                  + " %.0f events/s (%.0f events/s once RUNNING);"
                  + " %.1f CPU-s for the process, %.1f of them the application's threads:"
                  + " %.0f CPU-us per event (%.0f the application's); signals %s, expected %s%n")
              .formatted(
                  r.guarantee,
                  r.seconds,
                  r.runningSeconds,
                  r.inputSeconds,
                  mix.events.size() / r.seconds,
                  mix.events.size() / (r.seconds - r.runningSeconds),
                  r.cpuSeconds,
                  r.appCpuSeconds,
                  r.cpuSeconds * 1e6 / mix.events.size(),
                  r.appCpuSeconds * 1e6 / mix.events.size(),
                  r.signals,
                  mix.expected));
    }
    report.append("load average: %s%n".formatted(loadAverage()));
    Path out = Path.of(System.getProperty("bench.report", "payment-risk/target/risk-bench.txt"));
    Files.createDirectories(out.toAbsolutePath().getParent());
    Files.writeString(out, report);
    System.out.print(report);
    boolean wrong = results.stream().anyMatch(r -> !r.signals.equals(mix.expected));
    System.exit(wrong ? 1 : 0);
  }

  private record Result(
      String guarantee,
      double seconds,
      double runningSeconds,
      double inputSeconds,
      double cpuSeconds,
      double appCpuSeconds,
      Map<String, Long> signals) {}

  /**
   * One run of the topology over the whole input, under its own application id and output topic,
   * with a fresh state directory: as a new instance of the service would start on a backlog.
   */
  private static Result run(Topics input, String guarantee, Mix mix) throws Exception {
    String suffix = guarantee.equals(StreamsConfig.EXACTLY_ONCE_V2) ? "" : "-" + guarantee;
    Topic output = new Topic(input.riskSignals().name() + suffix.replace('_', '-'), 6);
    Topics topics =
        new Topics(
            input.stripeEvents(),
            input.paymentEvents(),
            input.moderation(),
            input.refundCommands(),
            input.deliveryCommands(),
            output);
    TestInfra.createTopics(topics);
    Path stateRoot = Path.of(System.getProperty("bench.state", "payment-risk/target"));
    Files.createDirectories(stateRoot);
    Path stateDir = Files.createTempDirectory(stateRoot, "risk-bench-state-");
    KafkaConfig kafka = TestInfra.kafkaConfig(topics);
    RiskConfig config =
        new RiskConfig(
            kafka,
            0,
            stateDir,
            0,
            RiskRules.defaults(),
            // the topology never opens the database; the flag worker, not run here, would
            new DbConfig("jdbc:postgresql://unused/none", "none", "none", 1),
            Duration.ofHours(1));
    Properties props = RiskService.properties(config);
    String applicationId = props.getProperty(StreamsConfig.APPLICATION_ID_CONFIG) + suffix;
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
    props.put(StreamsConfig.CLIENT_ID_CONFIG, applicationId);
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, guarantee);
    TopicPartition[] sources = partitions(input.stripeEvents().name(), 6);
    TopicPartition[] repartition =
        partitions(applicationId + "-observations-by-user-repartition", 6);

    log("%s: application %s; load average before: %s", guarantee, applicationId, loadAverage());
    double cpuBefore = processCpuSeconds();
    long start = System.nanoTime();
    double inputSeconds;
    double seconds;
    double runningSeconds;
    double appCpu;
    try (KafkaStreams streams =
            new KafkaStreams(RiskTopology.build(topics, config.rules()), props);
        Admin admin = Admin.create(kafka.admin("risk-bench"))) {
      AtomicLong running = new AtomicLong();
      streams.setStateListener(
          (now, before) -> {
            if (now == KafkaStreams.State.RUNNING) {
              running.compareAndSet(0, System.nanoTime());
            }
          });
      streams.start();
      long lastReport = System.nanoTime();
      long lag;
      long deadline = System.nanoTime() + TIMEOUT.toNanos();
      while ((lag = lag(admin, applicationId, sources)) > 0) {
        check(streams, deadline);
        TimeUnit.MILLISECONDS.sleep(100);
        if (System.nanoTime() - lastReport > TimeUnit.SECONDS.toNanos(5)) {
          lastReport = System.nanoTime();
          log(
              "  lag %,d after %.0f s (%s, %,.0f events/s so far)",
              lag, seconds(start), streams.state(), (mix.events.size() - lag) / seconds(start));
        }
      }
      inputSeconds = seconds(start);
      // the observations still in the repartition topic are counted, and their signals written,
      // under the same commits: done when they are committed too
      while (lag(admin, applicationId, repartition) > 0) {
        check(streams, deadline);
        TimeUnit.MILLISECONDS.sleep(50);
      }
      seconds = seconds(start);
      runningSeconds = (running.get() - start) / 1e9;
      appCpu = threadCpuSeconds(applicationId);
    }
    double cpu = processCpuSeconds() - cpuBefore;
    Map<String, Long> signals = signals(kafka, output);
    log(
        "%s: %,d events through in %.1f s: %,.0f events/s; %.1f CPU-s (the application's"
            + " threads %.1f); signals %s",
        guarantee, mix.events.size(), seconds, mix.events.size() / seconds, cpu, appCpu, signals);
    deleteRecursively(stateDir);
    return new Result(guarantee, seconds, runningSeconds, inputSeconds, cpu, appCpu, signals);
  }

  /** Fails the bench when the application stopped or is still not through after the timeout. */
  private static void check(KafkaStreams streams, long deadline) {
    KafkaStreams.State state = streams.state();
    if (state == KafkaStreams.State.ERROR || state == KafkaStreams.State.NOT_RUNNING) {
      throw new IllegalStateException("the application stopped: " + state);
    }
    if (System.nanoTime() > deadline) {
      throw new IllegalStateException("not through the input after " + TIMEOUT);
    }
  }

  private static TopicPartition[] partitions(String topic, int count) {
    TopicPartition[] partitions = new TopicPartition[count];
    for (int p = 0; p < count; p++) {
      partitions[p] = new TopicPartition(topic, p);
    }
    return partitions;
  }

  /** End offsets minus the group's committed offsets; a partition never committed counts whole. */
  private static long lag(Admin admin, String group, TopicPartition[] partitions) throws Exception {
    Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
    for (TopicPartition partition : partitions) {
      latest.put(partition, OffsetSpec.latest());
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
      lag += Math.max(0, end.getValue().offset() - (at == null ? 0 : at.offset()));
    }
    return lag;
  }

  /** The committed signals on {@code output}, by signal. */
  private static Map<String, Long> signals(KafkaConfig kafka, Topic output) {
    Properties props = kafka.consumer("risk-bench-count-" + output.name(), "risk-bench-count");
    Map<String, Long> counts = new TreeMap<>();
    try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(props)) {
      List<TopicPartition> partitions = List.of(partitions(output.name(), output.partitions()));
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> ends = consumer.endOffsets(partitions);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (partitions.stream().anyMatch(p -> consumer.position(p) < ends.get(p))
          && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(500))) {
          String signal = tree(record.value()).path("data").path("signal").asText();
          counts.merge(signal, 1L, Long::sum);
        }
      }
    }
    return counts;
  }

  /** Writes the events as the webhook gateway does: keyed by PaymentIntent, with its headers. */
  private static long fill(Topics topics, List<Event> events) {
    Properties props = TestInfra.kafkaConfig(topics).producer("risk-bench-fill");
    props.put(ProducerConfig.LINGER_MS_CONFIG, 20);
    props.put(ProducerConfig.BATCH_SIZE_CONFIG, 512 * 1024);
    long bytes = 0;
    try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(props)) {
      for (Event event : events) {
        byte[] body = event.json().getBytes(StandardCharsets.UTF_8);
        bytes += body.length;
        var record = new ProducerRecord<>(topics.stripeEvents().name(), event.paymentIntent, body);
        RecordHeaders.put(record.headers(), RecordHeaders.STRIPE_EVENT_ID, event.id);
        RecordHeaders.put(record.headers(), RecordHeaders.STRIPE_EVENT_TYPE, event.type);
        RecordHeaders.put(
            record.headers(), RecordHeaders.RECEIVED_AT, event.deliveredAt.toString());
        producer.send(record);
      }
      producer.flush();
    }
    return bytes;
  }

  /**
   * The seeded mix, in delivery order. Per PaymentIntent flow of an ordinary user: a first payment
   * declined once in 14 (the user's own card), then the success; 3% of successes are refunded
   * minutes later and 1% disputed (once per user at most), a fifth of those disputes re-sent under
   * a new event id. 3% of all deliveries are Stripe re-sending an event it sent seconds before
   * (same id, same bytes). So no ordinary user reaches a threshold: only the planted ones do. Every
   * 20,000th flow is a card tester (six declines of six cards within 25 s: one decline signal and
   * one fingerprint signal), and every 20,000th (offset) a user with two chargebacks within minutes
   * (one chargeback-spike signal).
   *
   * <p>Event time: the flows span {@link #FLOWS_SPAN} from the top of an hour, their refunds and
   * disputes follow within 5 minutes, so every event falls in the first 10-minute window of the
   * hour: however unevenly the input partitions are worked through, none is later than the grace
   * period, and the expected signals do not depend on the order of processing. (A backlog that
   * spans more event time than the grace can lose late events; see docs/benchmarks.md.)
   */
  private static final class Mix {
    final List<Event> events = new ArrayList<>();
    final Map<String, Long> expected = new TreeMap<>();
    final Map<String, Long> types = new TreeMap<>();
    long redelivered;
    long newIdTwins;

    static Mix generate(int target, SplittableRandom random) {
      Mix mix = new Mix();
      // about 1.12 events per flow, and 3% more re-sent
      int flows = (int) (target / 1.03 / 1.12);
      int users = Math.max(1_000, flows / 2);
      List<String> userIds = new ArrayList<>(users);
      List<String> cards = new ArrayList<>(users);
      for (int u = 0; u < users; u++) {
        userIds.add(new UUID(random.nextLong(), random.nextLong()).toString());
        cards.add(stripeId("", random).substring(3, 19));
      }
      boolean[] paidBefore = new boolean[users];
      Set<Integer> disputed = new HashSet<>();
      double stepMillis = (double) FLOWS_SPAN.toMillis() / flows;
      Instant t0 = Instant.now().truncatedTo(ChronoUnit.HOURS).minus(Duration.ofHours(1));
      List<Event> timeline = new ArrayList<>();
      int testers = 0;
      int spikes = 0;
      for (int flow = 0; timeline.size() * 1.03 < target; flow++) {
        Instant at = t0.plusMillis((long) (flow * stepMillis));
        if (flow % 20_000 == 10_000) {
          String tester = new UUID(random.nextLong(), random.nextLong()).toString();
          for (int i = 0; i < 6; i++) {
            timeline.add(
                Event.declined(
                    stripeId("pi", random),
                    tester,
                    stripeId("", random).substring(3, 19),
                    at.plusSeconds(5L * i),
                    random));
          }
          testers++;
          continue;
        }
        if (flow % 20_000 == 5_000) {
          String victim = new UUID(random.nextLong(), random.nextLong()).toString();
          String card = stripeId("", random).substring(3, 19);
          for (int i = 0; i < 2; i++) {
            String pi = stripeId("pi", random);
            timeline.add(Event.succeeded(pi, victim, at.plusSeconds(i), random));
            timeline.add(Event.dispute(pi, victim, card, at.plusSeconds(120L + 60 * i), random));
          }
          spikes++;
          continue;
        }
        int u = random.nextInt(users);
        String user = userIds.get(u);
        String pi = stripeId("pi", random);
        if (!paidBefore[u] && random.nextInt(14) == 0) {
          timeline.add(Event.declined(pi, user, cards.get(u), at, random));
          at = at.plusSeconds(20);
        }
        paidBefore[u] = true;
        timeline.add(Event.succeeded(pi, user, at, random));
        int after = random.nextInt(100);
        Instant later = at.plusSeconds(60 + random.nextInt(240));
        if (after < 3) {
          timeline.add(Event.refunded(pi, user, cards.get(u), later, random));
        } else if (after < 4 && disputed.add(u)) {
          Event dispute = Event.dispute(pi, user, cards.get(u), later, random);
          timeline.add(dispute);
          if (random.nextInt(5) == 0) {
            timeline.add(dispute.withNewId(dispute.created.plusSeconds(5), random));
            mix.newIdTwins++;
          }
        }
      }
      // Stripe re-sends 3% of the events it sent seconds before (a slow acknowledgement)
      List<Event> redeliveries = new ArrayList<>();
      for (Event event : timeline) {
        if (random.nextInt(100) < 3) {
          redeliveries.add(
              event.redelivered(event.deliveredAt.plusSeconds(5 + random.nextInt(25))));
        }
      }
      mix.redelivered = redeliveries.size();
      timeline.addAll(redeliveries);
      timeline.sort(Comparator.comparing((Event e) -> e.deliveredAt));
      mix.events.addAll(timeline);
      for (Event event : mix.events) {
        mix.types.merge(event.type, 1L, Long::sum);
      }
      mix.expected.put(Signal.CARD_TESTING_DECLINES.wireName(), (long) testers);
      mix.expected.put(Signal.CARD_TESTING_FINGERPRINTS.wireName(), (long) testers);
      mix.expected.put(Signal.CHARGEBACK_SPIKE.wireName(), (long) spikes);
      return mix;
    }

    String describe() {
      StringBuilder text = new StringBuilder();
      types.forEach((type, count) -> text.append(type).append(' ').append(count).append(", "));
      return text
          + "of which "
          + redelivered
          + " re-deliveries of the same event id and "
          + newIdTwins
          + " disputes re-sent under a new event id";
    }
  }

  /** One delivery of a Stripe event; the body is rendered when it is sent. */
  private record Event(
      String id,
      String type,
      String paymentIntent,
      String user,
      String card,
      String objectId,
      Instant created,
      Instant deliveredAt,
      long amount) {

    static Event succeeded(String pi, String user, Instant at, SplittableRandom random) {
      return new Event(
          stripeId("evt", random),
          "payment_intent.succeeded",
          pi,
          user,
          null,
          pi,
          at,
          at,
          amount(random));
    }

    static Event declined(
        String pi, String user, String card, Instant at, SplittableRandom random) {
      return new Event(
          stripeId("evt", random),
          "payment_intent.payment_failed",
          pi,
          user,
          card,
          pi,
          at,
          at,
          amount(random));
    }

    static Event refunded(
        String pi, String user, String card, Instant at, SplittableRandom random) {
      return new Event(
          stripeId("evt", random),
          "charge.refunded",
          pi,
          user,
          card,
          "ch_" + pi.substring(3),
          at,
          at,
          amount(random));
    }

    static Event dispute(String pi, String user, String card, Instant at, SplittableRandom random) {
      return new Event(
          stripeId("evt", random),
          "charge.dispute.created",
          pi,
          user,
          card,
          stripeId("dp", random),
          at,
          at,
          amount(random));
    }

    Event redelivered(Instant at) {
      return new Event(id, type, paymentIntent, user, card, objectId, created, at, amount);
    }

    Event withNewId(Instant at, SplittableRandom random) {
      return new Event(
          stripeId("evt", random), type, paymentIntent, user, card, objectId, at, at, amount);
    }

    private static long amount(SplittableRandom random) {
      return 100L * (2 + random.nextInt(9));
    }

    String json() {
      Map<String, String> metadata =
          StripeFixtures.metadata(
              UUID.nameUUIDFromBytes(paymentIntent.getBytes(StandardCharsets.UTF_8)),
              user,
              1 + Math.floorMod(paymentIntent.hashCode(), 9),
              "posting_fee");
      return switch (type) {
        case "payment_intent.succeeded" ->
            StripeFixtures.succeeded(paymentIntent, amount, metadata)
                .eventId(id)
                .created(created)
                .json();
        case "payment_intent.payment_failed" -> {
          ObjectNode event =
              (ObjectNode)
                  tree(
                      StripeFixtures.paymentFailed(paymentIntent, amount, metadata)
                          .eventId(id)
                          .created(created)
                          .json()
                          .getBytes(StandardCharsets.UTF_8));
          ((ObjectNode)
                  event
                      .path("data")
                      .path("object")
                      .path("last_payment_error")
                      .path("payment_method")
                      .path("card"))
              .put("fingerprint", card);
          yield Json.write(event);
        }
        case "charge.refunded" -> Json.write(envelope(charge(metadata)));
        case "charge.dispute.created" -> Json.write(envelope(dispute()));
        default -> throw new IllegalStateException(type);
      };
    }

    private Map<String, Object> envelope(Map<String, Object> object) {
      Map<String, Object> event = new LinkedHashMap<>();
      event.put("id", id);
      event.put("object", "event");
      event.put("api_version", StripeFixtures.API_VERSION);
      event.put("created", created.getEpochSecond());
      event.put("data", Map.of("object", object));
      event.put("livemode", false);
      event.put("pending_webhooks", 1);
      Map<String, Object> request = new LinkedHashMap<>();
      request.put("id", null);
      request.put("idempotency_key", null);
      event.put("request", request);
      event.put("type", type);
      return event;
    }

    private Map<String, Object> cardDetails() {
      Map<String, Object> card = new LinkedHashMap<>();
      card.put("brand", "visa");
      card.put("country", "US");
      card.put("exp_month", 12);
      card.put("exp_year", 2030);
      card.put("fingerprint", this.card);
      card.put("funding", "credit");
      card.put("last4", "4242");
      card.put("network", "visa");
      return card;
    }

    /** A refunded charge, as in Stripe's {@code charge.refunded}: with its card and refund. */
    private Map<String, Object> charge(Map<String, String> metadata) {
      long at = created.getEpochSecond();
      Map<String, Object> charge = new LinkedHashMap<>();
      charge.put("id", objectId);
      charge.put("object", "charge");
      charge.put("amount", amount);
      charge.put("amount_captured", amount);
      charge.put("amount_refunded", amount);
      charge.put("balance_transaction", "txn_" + objectId.substring(3));
      Map<String, Object> billing = new LinkedHashMap<>();
      billing.put("address", Map.of("country", "US", "postal_code", "94107"));
      billing.put("email", null);
      billing.put("name", null);
      billing.put("phone", null);
      charge.put("billing_details", billing);
      charge.put("calculated_statement_descriptor", "MARKETPLACE* MARKETPLACE");
      charge.put("captured", true);
      charge.put("created", at - 600);
      charge.put("currency", "usd");
      charge.put("customer", null);
      charge.put("description", "marketplace posting_fee");
      charge.put("disputed", false);
      charge.put("livemode", false);
      charge.put("metadata", metadata);
      Map<String, Object> outcome = new LinkedHashMap<>();
      outcome.put("network_status", "approved_by_network");
      outcome.put("reason", null);
      outcome.put("risk_level", "normal");
      outcome.put("risk_score", 32);
      outcome.put("seller_message", "Payment complete.");
      outcome.put("type", "authorized");
      charge.put("outcome", outcome);
      charge.put("paid", true);
      charge.put("payment_intent", paymentIntent);
      charge.put("payment_method", "pm_1P" + paymentIntent.substring(5));
      charge.put("payment_method_details", Map.of("card", cardDetails(), "type", "card"));
      charge.put("receipt_url", "https://pay.stripe.com/receipts/" + objectId);
      charge.put("refunded", true);
      Map<String, Object> refund = new LinkedHashMap<>();
      refund.put("id", "re_" + id.substring(4));
      refund.put("object", "refund");
      refund.put("amount", amount);
      refund.put("charge", objectId);
      refund.put("created", at);
      refund.put("currency", "usd");
      refund.put("metadata", Map.of());
      refund.put("payment_intent", paymentIntent);
      refund.put("reason", "requested_by_customer");
      refund.put("status", "succeeded");
      Map<String, Object> refunds = new LinkedHashMap<>();
      refunds.put("object", "list");
      refunds.put("data", List.of(refund));
      refunds.put("has_more", false);
      refunds.put("total_count", 1);
      refunds.put("url", "/v1/charges/" + objectId + "/refunds");
      charge.put("refunds", refunds);
      charge.put("status", "succeeded");
      return charge;
    }

    /** A dispute, as in Stripe's {@code charge.dispute.created}: no metadata, no user. */
    private Map<String, Object> dispute() {
      long at = created.getEpochSecond();
      Map<String, Object> dispute = new LinkedHashMap<>();
      dispute.put("id", objectId);
      dispute.put("object", "dispute");
      dispute.put("amount", amount);
      dispute.put("balance_transaction", "txn_" + objectId.substring(3));
      dispute.put("charge", "ch_" + paymentIntent.substring(3));
      dispute.put("created", at);
      dispute.put("currency", "usd");
      Map<String, Object> evidence = new LinkedHashMap<>();
      for (String field :
          List.of(
              "billing_address",
              "customer_email_address",
              "customer_name",
              "product_description",
              "receipt",
              "refund_policy",
              "service_date",
              "uncategorized_text")) {
        evidence.put(field, null);
      }
      dispute.put("evidence", evidence);
      dispute.put(
          "evidence_details",
          Map.of("due_by", at + 7 * 86_400, "has_evidence", false, "past_due", false));
      dispute.put("is_charge_refundable", false);
      dispute.put("livemode", false);
      dispute.put("metadata", Map.of());
      dispute.put("network_reason_code", "10.4");
      dispute.put("payment_intent", paymentIntent);
      dispute.put(
          "payment_method_details",
          Map.of(
              "card",
              Map.of("brand", "visa", "case_type", "chargeback", "network_reason_code", "10.4"),
              "type",
              "card"));
      dispute.put("reason", "fraudulent");
      dispute.put("status", "needs_response");
      return dispute;
    }
  }

  private static final String ALPHABET =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

  /** A Stripe-shaped id from the seeded generator: {@code pi_3P...}. */
  private static String stripeId(String prefix, SplittableRandom random) {
    StringBuilder id = new StringBuilder(prefix).append("_3P");
    for (int i = 0; i < 24; i++) {
      id.append(ALPHABET.charAt(random.nextInt(ALPHABET.length())));
    }
    return id.toString();
  }

  /** CPU time of this JVM (user + system), the embedded broker included. */
  private static double processCpuSeconds() {
    var os =
        (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    return os.getProcessCpuTime() / 1e9;
  }

  /**
   * CPU time of the application's living threads: its stream thread, and its clients' network and
   * heartbeat threads, all named after its client id. Read before the application closes.
   */
  private static double threadCpuSeconds(String clientId) {
    long nanos = 0;
    for (ThreadInfo info : THREADS.getThreadInfo(THREADS.getAllThreadIds())) {
      if (info != null && info.getThreadName().contains(clientId)) {
        nanos += Math.max(0, THREADS.getThreadCpuTime(info.getThreadId()));
      }
    }
    return nanos / 1e9;
  }

  private static void deleteRecursively(Path root) throws IOException {
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(path);
      }
    }
  }

  private static com.fasterxml.jackson.databind.JsonNode tree(byte[] json) {
    try {
      return Json.mapper().readTree(json);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** The 1-minute load average: other work on the machine slows every number here. */
  private static String loadAverage() {
    try {
      return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
    } catch (IOException e) {
      return "unknown";
    }
  }

  private static double seconds(long since) {
    return (System.nanoTime() - since) / 1e9;
  }

  private static void log(String format, Object... args) {
    System.out.printf(Locale.ROOT, "[bench] " + format + "%n", args);
  }
}
