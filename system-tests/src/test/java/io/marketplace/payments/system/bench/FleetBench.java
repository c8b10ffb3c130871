package io.marketplace.payments.system.bench;

import io.marketplace.payments.common.db.Migrations;
import io.marketplace.payments.common.kafka.KafkaConfig;
import io.marketplace.payments.common.kafka.Topic;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.embedded.EmbeddedPostgresServer;
import io.marketplace.payments.embedded.KafkaTopics;
import io.marketplace.payments.gateway.webhook.EventEnvelope;
import io.marketplace.payments.gateway.webhook.EventPublisher;
import io.marketplace.payments.gateway.webhook.GatewayMetrics;
import io.marketplace.payments.processor.PaymentProcessorConfig;
import io.marketplace.payments.system.crash.OsProcess;
import io.marketplace.payments.system.support.PaymentEvents;
import io.marketplace.payments.system.support.Sql;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
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
import java.time.LocalTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.admin.RemoveMembersFromConsumerGroupOptions;
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.TopicPartition;

/**
 * A fleet of payment processors losing a replica every few seconds: {@code bench/fleet.sh} runs it.
 * Not a test (its name does not end in Test).
 *
 * <p>The Kafka broker runs in an OS process of its own and PostgreSQL in its own processes, as in
 * the crash suite; three payment-processor replicas run as OS processes ({@code java -cp ... Main},
 * configured by their environment, launched by the crash suite's {@link OsProcess}) in one consumer
 * group. Payments arrive at a steady rate: each a pending listing seeded as checkout-api leaves it,
 * then its Stripe-shaped {@code payment_intent.succeeded} published to {@code stripe.events.v1} by
 * the webhook gateway's own {@link EventPublisher} (same key, headers and producer settings as
 * after a verified webhook). Every {@code --kill-every} seconds one replica, in turn, is killed
 * with SIGKILL and at once started again, as Kubernetes restarts the container of a pod: with the
 * same {@code KAFKA_GROUP_INSTANCE_ID} (static membership), and in a second variant without any
 * (dynamic members, as a new pod of a Deployment would join).
 *
 * <p>It reports, per variant: from the moment each payment was due to be published to the commit of
 * the transaction that made its listing {@code active} (PostgreSQL's {@code
 * track_commit_timestamp}); the payments applied against those sent, and {@code payment.succeeded}
 * on {@code payments.events.v1} (distinct ids per listing, and records); and per kill: when the
 * killed member's partitions were assigned again (the group as {@link Admin} describes it, polled),
 * when the first record of them was applied again, when the replacement logged its assignment, and
 * how many rebalances the surviving replicas went through (their "assigned" log lines).
 */
public final class FleetBench {

  private static final String GROUP = PaymentProcessorConfig.SERVICE;
  private static final Pattern ASSIGNED =
      Pattern.compile("^(\\d\\d:\\d\\d:\\d\\d\\.\\d\\d\\d) .* worker " + GROUP + " assigned ");
  private static final DateTimeFormatter LOG_TIME = DateTimeFormatter.ofPattern("HH:mm:ss.SSS");

  /** One payment: its listing, and when it was due, was published, and became active (µs). */
  private static final class Payment {
    final PendingListing listing;
    final int partition;
    volatile long dueMicros;
    volatile boolean published;
    volatile long activeMicros;

    Payment(PendingListing listing, int partitions) {
      this.listing = listing;
      this.partition =
          BuiltInPartitioner.partitionForKey(
              listing.paymentIntentId().getBytes(StandardCharsets.UTF_8), partitions);
    }
  }

  /** One kill: of which replica, when, which partitions it held, and what followed. */
  private static final class Kill {
    final int number;
    final String replica;
    final long pid;
    final Set<Integer> partitions;
    final Set<String> members;
    final long atMicros;
    volatile long startedMicros;
    volatile long readyMicros;

    Kill(
        int number,
        String replica,
        long pid,
        Set<Integer> partitions,
        Set<String> members,
        long atMicros) {
      this.number = number;
      this.replica = replica;
      this.pid = pid;
      this.partitions = partitions;
      this.members = members;
      this.atMicros = atMicros;
    }
  }

  /**
   * The group as described at one moment: its state and which member owns each partition. A static
   * member replaced without a rebalance keeps its instance id and the client id of the process it
   * replaced; only its member id is new.
   */
  private record Snapshot(long atMicros, GroupState state, Map<Integer, Member> owners) {}

  private record Member(String memberId, String clientId, String instanceId) {
    @Override
    public String toString() {
      return (instanceId.isEmpty() ? clientId : instanceId)
          + "/"
          + memberId.substring(memberId.length() - 6);
    }
  }

  /** What one variant measured. */
  private record Result(String variant, String row, List<String> killRows, String summary) {}

  public static void main(String[] args) throws Exception {
    Map<String, String> options = options(args);
    int rate = Integer.parseInt(options.getOrDefault("rate", "8"));
    int seconds = Integer.parseInt(options.getOrDefault("seconds", "60"));
    int killEvery = Integer.parseInt(options.getOrDefault("kill-every", "10"));
    int replicas = Integer.parseInt(options.getOrDefault("replicas", "3"));
    List<String> variants =
        Arrays.asList(options.getOrDefault("variants", "static,dynamic").split(","));
    Path out = Path.of(options.getOrDefault("out", "target/bench")).toAbsolutePath();
    Path run = out.resolve("fleet");
    deleteRecursively(run);
    Files.createDirectories(run);

    // when each listing became active is read from PostgreSQL's record of commit times
    System.setProperty(EmbeddedPostgresServer.SETTINGS_PROPERTY, "track_commit_timestamp=on");
    long started = System.nanoTime();
    List<Result> results = new ArrayList<>();
    int brokerPort = OsProcess.freePort();
    try (OsProcess broker = OsProcess.kafkaBroker(run, brokerPort);
        EmbeddedPostgresServer postgres =
            EmbeddedPostgresServer.start(run.resolve("postgres"), 0).withoutShutdownHook()) {
      broker.start().awaitReady();
      log("broker (its own process) and PostgreSQL up in %.1f s", seconds(started));
      String bootstrap = "127.0.0.1:" + brokerPort;
      for (String variant : variants) {
        results.add(
            new Variant(
                    variant.trim(),
                    "static".equals(variant.trim()),
                    bootstrap,
                    postgres,
                    run.resolve(variant.trim()),
                    rate,
                    seconds,
                    killEvery,
                    replicas)
                .run());
      }
    }

    StringBuilder table = new StringBuilder();
    table.append(
        "| membership | payments sent | applied once | payment.succeeded on the topic |"
            + " publish → active p50 s | p99 s | max s | kills | killed partitions assigned again"
            + " (median / max s) | first of them applied again (median / max s) |"
            + " rebalances seen by the survivors |\n");
    table.append("|---|---:|---:|---|---:|---:|---:|---:|---|---|---:|\n");
    results.forEach(r -> table.append(r.row()).append('\n'));
    table.append('\n');
    table.append(
        "| membership | kill | replica (its partitions) | replacement started s |"
            + " replacement assigned s | partitions assigned again s | first applied again s |"
            + " survivors' rebalances | replacement ready s |\n");
    table.append("|---|---:|---|---:|---:|---:|---:|---:|---:|\n");
    results.forEach(r -> r.killRows().forEach(k -> table.append(k).append('\n')));
    System.out.println();
    System.out.print(table);
    System.out.println();
    results.forEach(r -> System.out.println(r.summary()));
    Files.writeString(out.resolve("fleet.md"), table.toString());
    Path here = Path.of("").toAbsolutePath();
    log(
        "done in %.0f s; every process's log is under %s",
        seconds(started), run.startsWith(here) ? here.relativize(run) : run);
    System.exit(0);
  }

  /** One fleet on its own topics and database: its replicas, the payments, the kills. */
  private static final class Variant {
    private final String name;
    private final boolean staticMembers;
    private final String bootstrap;
    private final EmbeddedPostgresServer postgres;
    private final Path logs;
    private final int rate;
    private final int seconds;
    private final int killEvery;
    private final int replicas;
    private final String prefix;
    private final Topics topics;
    private final String dbUrl;
    private final Sql db;
    private final List<OsProcess> fleet = new ArrayList<>();
    private final int workers = PaymentProcessorConfig.DEFAULT_WORKERS;
    private final List<Snapshot> snapshots = new CopyOnWriteArrayList<>();
    private final List<Kill> kills = new CopyOnWriteArrayList<>();

    /**
     * The group's changes as the watcher saw them, for group.log: state and owner of each
     * partition.
     */
    private final List<String> timeline = new CopyOnWriteArrayList<>();

    Variant(
        String name,
        boolean staticMembers,
        String bootstrap,
        EmbeddedPostgresServer postgres,
        Path logs,
        int rate,
        int seconds,
        int killEvery,
        int replicas) {
      this.name = name;
      this.staticMembers = staticMembers;
      this.bootstrap = bootstrap;
      this.postgres = postgres;
      this.logs = logs;
      this.rate = rate;
      this.seconds = seconds;
      this.killEvery = killEvery;
      this.replicas = replicas;
      this.prefix = "fleet-" + name + ".";
      this.topics = Topics.withPrefix(prefix);
      KafkaTopics.createTopics(
          bootstrap,
          topics.all().stream().collect(Collectors.toMap(Topic::name, Topic::partitions)),
          Topics.configs());
      String database = "fleet_" + name;
      postgres.createDatabase(database);
      Migrations.migrate(postgres.dataSource(database));
      this.dbUrl = postgres.jdbcUrl(database);
      this.db = new Sql(dbUrl, postgres.user(), postgres.password());
    }

    Result run() throws Exception {
      long variantStarted = System.nanoTime();
      int partitions = topics.stripeEvents().partitions();
      List<Payment> payments = new ArrayList<>();
      for (int i = 0; i < rate * seconds; i++) {
        payments.add(new Payment(PendingListing.random(), partitions));
      }
      try (Connection connection = connect()) {
        PendingListing.seed(connection, payments.stream().map(p -> p.listing).toList());
      }

      for (int i = 0; i < replicas; i++) {
        String replica = "processor-" + (char) ('a' + i);
        Map<String, String> env = new HashMap<>();
        env.put("KAFKA_BOOTSTRAP_SERVERS", bootstrap);
        env.put("KAFKA_TOPIC_PREFIX", prefix);
        env.put("DATABASE_URL", dbUrl);
        env.put("DATABASE_USER", postgres.user());
        env.put("DATABASE_PASSWORD", postgres.password());
        env.put("DATABASE_POOL_SIZE", "4");
        int admin = OsProcess.freePort();
        env.put("ADMIN_PORT", Integer.toString(admin));
        if (staticMembers) {
          // the pod's name: the same after Kubernetes restarts the pod's container
          env.put("KAFKA_GROUP_INSTANCE_ID", replica);
        }
        fleet.add(
            new OsProcess(
                replica,
                io.marketplace.payments.processor.Main.class.getName(),
                List.of(),
                env,
                logs,
                process -> OsProcess.ready("http://127.0.0.1:" + admin)));
      }
      fleet.forEach(OsProcess::start);
      fleet.forEach(OsProcess::awaitReady);

      AtomicBoolean watching = new AtomicBoolean(true);
      try (Admin admin = Admin.create(new KafkaConfig(bootstrap, topics).admin("fleet-bench"))) {
        await(
            Duration.ofSeconds(120),
            "every replica's consumers assigned",
            () -> {
              Snapshot s = describe(admin);
              return s.state() == GroupState.STABLE
                  && s.owners().size() == partitions
                  && s.owners().values().stream().distinct().count()
                      == (long) Math.min(partitions, replicas * workers);
            });
        log(
            "%s: %d replicas (%s) up and assigned in %.1f s; %,d payments at %d/s for %d s, one"
                + " replica killed every %d s",
            name,
            replicas,
            staticMembers
                ? "static members, KAFKA_GROUP_INSTANCE_ID = pod name"
                : "dynamic members",
            seconds(variantStarted),
            payments.size(),
            rate,
            seconds,
            killEvery);
        Thread watcher =
            Thread.ofPlatform()
                .name("fleet-watcher")
                .start(
                    () -> {
                      Snapshot last = null;
                      while (watching.get()) {
                        try {
                          Snapshot s = describe(admin);
                          snapshots.add(s);
                          if (last == null
                              || s.state() != last.state()
                              || !s.owners().equals(last.owners())) {
                            timeline.add(
                                String.format(
                                    Locale.ROOT,
                                    "%s %s %s",
                                    Instant.ofEpochSecond(0, s.atMicros() * 1_000),
                                    s.state(),
                                    s.owners()));
                          }
                          last = s;
                        } catch (RuntimeException e) {
                          timeline.add(Instant.now() + " describe failed: " + e.getMessage());
                        }
                        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
                      }
                    });

        try (EventPublisher publisher =
            EventPublisher.create(
                new KafkaConfig(bootstrap, topics),
                "fleet-bench",
                new GatewayMetrics(new SimpleMeterRegistry()))) {
          long anchorNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(20);
          long anchorMicros = nowMicros() + 20_000;
          Thread killer =
              Thread.ofPlatform().name("fleet-killer").start(() -> killAll(anchorNanos));
          send(publisher, payments, anchorNanos, anchorMicros);
          killer.join();
        }
        await(
            Duration.ofSeconds(180),
            "every payment applied",
            () ->
                db.count("marketplace_listings WHERE status = 'active'")
                    >= payments.stream().filter(p -> p.published).count());
        await(
            Duration.ofSeconds(60),
            "the outbox published",
            () -> db.count("outbox_events WHERE published_at IS NULL") == 0);
        watching.set(false);
        watcher.join();
        Files.write(logs.resolve("group.log"), timeline);
        readActive(payments);
        Result result = report(payments);
        fleet.forEach(OsProcess::kill);
        // the next variant's fleet joins the same group name: the members of this one leave now
        // rather than when their sessions time out
        try {
          admin
              .removeMembersFromConsumerGroup(GROUP, new RemoveMembersFromConsumerGroupOptions())
              .all()
              .get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
          // an empty group: nothing to remove
        }
        log("%s: %.0f s in all", name, seconds(variantStarted));
        return result;
      } finally {
        watching.set(false);
        fleet.forEach(OsProcess::kill);
      }
    }

    /** Sends every payment when it is due, open loop, through the gateway's publisher. */
    private void send(
        EventPublisher publisher, List<Payment> payments, long anchorNanos, long anchorMicros) {
      long interval = TimeUnit.SECONDS.toNanos(1) / rate;
      int failed = 0;
      for (int i = 0; i < payments.size(); i++) {
        Payment payment = payments.get(i);
        long due = anchorNanos + i * interval;
        long wait;
        while ((wait = due - System.nanoTime()) > 0) {
          LockSupport.parkNanos(wait);
        }
        payment.dueMicros = anchorMicros + (due - anchorNanos) / 1_000;
        byte[] body =
            payment
                .listing
                .succeededEvent(Instant.now().getEpochSecond())
                .getBytes(StandardCharsets.UTF_8);
        try {
          publisher.publish(EventEnvelope.parse(body), body, Instant.now());
          payment.published = true;
        } catch (EventPublisher.NotAcknowledgedException e) {
          failed++;
        }
      }
      if (failed > 0) {
        log("  %d payments not acknowledged by the broker (a gateway would answer 503)", failed);
      }
    }

    /** Every {@code killEvery} seconds, SIGKILL of the next replica, and its restart at once. */
    private void killAll(long anchorNanos) {
      int number = 0;
      for (long at = killEvery; at < seconds; at += killEvery) {
        long due = anchorNanos + TimeUnit.SECONDS.toNanos(at);
        long wait;
        while ((wait = due - System.nanoTime()) > 0) {
          LockSupport.parkNanos(wait);
        }
        OsProcess replica = fleet.get(number % fleet.size());
        long pid = replica.pid();
        // its members: by instance id when static (the client id may be an earlier process's),
        // else by the client id, which names the process
        Set<Integer> held = new HashSet<>();
        Set<String> members = new HashSet<>();
        lastStable()
            .ifPresent(
                s ->
                    s.owners()
                        .forEach(
                            (partition, member) -> {
                              if (staticMembers
                                  ? member.instanceId().startsWith(replica.name() + "-")
                                  : member.clientId().startsWith(GROUP + "-" + pid + "-")) {
                                held.add(partition);
                                members.add(member.memberId());
                              }
                            }));
        Kill kill = new Kill(++number, replica.name(), pid, held, members, nowMicros());
        replica.kill();
        // as Kubernetes restarts the container: the same environment, so the same instance id
        replica.start();
        kill.startedMicros = nowMicros();
        kills.add(kill);
        timeline.add(
            String.format(
                Locale.ROOT,
                "%s kill %d: SIGKILL of %s (pid %d), restarted",
                Instant.ofEpochSecond(0, kill.atMicros * 1_000),
                kill.number,
                kill.replica,
                pid));
        log(
            "  kill %d: %s (pid %d, partitions %s) killed and started again",
            kill.number, kill.replica, pid, held);
        Thread.ofVirtual()
            .start(
                () -> {
                  try {
                    replica.awaitReady();
                    kill.readyMicros = nowMicros();
                  } catch (AssertionError e) {
                    log("  %s did not come back: %s", replica.name(), e.getMessage());
                  }
                });
      }
    }

    private Optional<Snapshot> lastStable() {
      for (int i = snapshots.size() - 1; i >= 0; i--) {
        Snapshot s = snapshots.get(i);
        if (s.state() == GroupState.STABLE && !s.owners().isEmpty()) {
          return Optional.of(s);
        }
      }
      return Optional.empty();
    }

    private Snapshot describe(Admin admin) {
      long at = nowMicros();
      try {
        ConsumerGroupDescription group =
            admin.describeConsumerGroups(List.of(GROUP)).all().get(5, TimeUnit.SECONDS).get(GROUP);
        Map<Integer, Member> owners = new TreeMap<>();
        for (MemberDescription member : group.members()) {
          Member m =
              new Member(
                  member.consumerId(), member.clientId(), member.groupInstanceId().orElse(""));
          for (TopicPartition tp : member.assignment().topicPartitions()) {
            if (tp.topic().equals(topics.stripeEvents().name())) {
              owners.put(tp.partition(), m);
            }
          }
        }
        return new Snapshot(at, group.groupState(), owners);
      } catch (Exception e) {
        if (e instanceof InterruptedException) {
          Thread.currentThread().interrupt();
        }
        throw new IllegalStateException(e);
      }
    }

    /** When the transaction that made each listing active committed, as PostgreSQL recorded it. */
    private void readActive(List<Payment> payments) throws SQLException {
      Map<UUID, Payment> byId = new HashMap<>();
      payments.forEach(p -> byId.put(p.listing.listingId(), p));
      try (Connection connection = connect();
          PreparedStatement query =
              connection.prepareStatement(
                  """
                  SELECT id,
                         (extract(epoch FROM pg_xact_commit_timestamp(xmin)) * 1000000)::bigint
                  FROM marketplace_listings
                  WHERE id = ANY (?) AND status = 'active'
                  """)) {
        Array ids = connection.createArrayOf("uuid", byId.keySet().toArray());
        query.setArray(1, ids);
        try (ResultSet rows = query.executeQuery()) {
          while (rows.next()) {
            long committed = rows.getLong(2);
            if (!rows.wasNull()) {
              byId.get(rows.getObject(1, UUID.class)).activeMicros = committed;
            }
          }
        }
        ids.free();
      }
    }

    private Result report(List<Payment> payments) {
      List<Payment> published = payments.stream().filter(p -> p.published).toList();
      long[] latencies =
          published.stream()
              .filter(p -> p.activeMicros != 0)
              .mapToLong(p -> p.activeMicros - p.dueMicros)
              .sorted()
              .toArray();
      long succeeded =
          db.count(
              "payments WHERE status = 'succeeded' AND succeeded_at IS NOT NULL"
                  + " AND payment_type = 'posting_fee'");
      long active = db.count("marketplace_listings WHERE status = 'active'");

      // payment.succeeded per listing on payments.events.v1: distinct ids, and records
      Map<String, Set<String>> idsByListing = new HashMap<>();
      long records = 0;
      try (KafkaTestClient kafka = new KafkaTestClient(bootstrap)) {
        for (PaymentEvents.Event event : new PaymentEvents(kafka, topics.paymentEvents()).all()) {
          if (event.type().equals("payment.succeeded")) {
            records++;
            idsByListing.computeIfAbsent(event.key(), k -> new HashSet<>()).add(event.id());
          }
        }
      }
      long once =
          published.stream()
              .filter(
                  p ->
                      idsByListing.getOrDefault(p.listing.listingId().toString(), Set.of()).size()
                          == 1)
              .count();
      long twice = idsByListing.values().stream().filter(ids -> ids.size() > 1).count();
      boolean exactlyOnce =
          succeeded == published.size()
              && active == published.size()
              && once == published.size()
              && twice == 0;

      // the slowest payment: when it was due, and on which partition
      Payment slowest =
          published.stream()
              .filter(p -> p.activeMicros != 0)
              .max(Comparator.comparingLong(p -> p.activeMicros - p.dueMicros))
              .orElse(null);
      long firstDue = published.isEmpty() ? 0 : published.getFirst().dueMicros;
      if (slowest != null) {
        log(
            "%s: slowest payment due at %.1f s on partition %d, active %.1f s later",
            name,
            (slowest.dueMicros - firstDue) / 1e6,
            slowest.partition,
            (slowest.activeMicros - slowest.dueMicros) / 1e6);
      }

      Map<String, List<Long>> assignedLines = assignedLines();
      List<String> killRows = new ArrayList<>();
      List<Long> reassigned = new ArrayList<>();
      List<Long> resumed = new ArrayList<>();
      int rebalances = 0;
      for (int i = 0; i < kills.size(); i++) {
        Kill kill = kills.get(i);
        long until = i + 1 < kills.size() ? kills.get(i + 1).atMicros : Long.MAX_VALUE;
        long back = reassignedAfter(kill);
        long first =
            published.stream()
                .filter(
                    p -> kill.partitions.contains(p.partition) && p.activeMicros > kill.atMicros)
                .mapToLong(p -> p.activeMicros - kill.atMicros)
                .min()
                .orElse(-1);
        long replacementAssigned =
            assignedLines.getOrDefault(kill.replica + "#" + kill.startedMicros, List.of()).stream()
                .filter(t -> t >= kill.atMicros - 1_000)
                .mapToLong(t -> t - kill.atMicros)
                .min()
                .orElse(-1);
        // rebalances the replicas that were not killed went through before the next kill: each
        // rebalance has each of their consumers log its assignment once (a process's first
        // assignments are its own joining, not a rebalance it went through)
        int survivorRebalances = 0;
        for (Map.Entry<String, List<Long>> e : assignedLines.entrySet()) {
          if (e.getKey().startsWith(kill.replica + "#")) {
            continue;
          }
          long lines =
              e.getValue().stream()
                  .skip(workers)
                  .filter(t -> t > kill.atMicros && t < until)
                  .count();
          survivorRebalances =
              Math.max(survivorRebalances, (int) ((lines + workers - 1) / workers));
        }
        rebalances += survivorRebalances;
        if (back >= 0) {
          reassigned.add(back);
        }
        if (first >= 0) {
          resumed.add(first);
        }
        killRows.add(
            String.format(
                Locale.ROOT,
                "| %s | %d | %s (%s) | %s | %s | %s | %s | %d | %s |",
                name,
                kill.number,
                kill.replica,
                kill.partitions.stream()
                    .sorted()
                    .map(String::valueOf)
                    .collect(Collectors.joining(", ")),
                secondsOrDash(kill.startedMicros - kill.atMicros),
                secondsOrDash(replacementAssigned),
                secondsOrDash(back),
                secondsOrDash(first),
                survivorRebalances,
                kill.readyMicros == 0 ? "-" : secondsOrDash(kill.readyMicros - kill.atMicros)));
      }
      String membership =
          staticMembers
              ? "static (`KAFKA_GROUP_INSTANCE_ID` kept by the replacement)"
              : "dynamic (no `KAFKA_GROUP_INSTANCE_ID`)";
      String row =
          String.format(
              Locale.ROOT,
              "| %s | %,d | %,d | %,d of %,d listings with one id (%,d records, %d listings with"
                  + " two ids) | %.2f | %.2f | %.2f | %d | %s / %s | %s / %s | %d |",
              membership,
              published.size(),
              exactlyOnce ? published.size() : Math.min(succeeded, active),
              once,
              published.size(),
              records,
              twice,
              percentile(latencies, 50) / 1e6,
              percentile(latencies, 99) / 1e6,
              percentile(latencies, 100) / 1e6,
              kills.size(),
              secondsOrDash(median(reassigned)),
              secondsOrDash(max(reassigned)),
              secondsOrDash(median(resumed)),
              secondsOrDash(max(resumed)),
              rebalances);
      String summary =
          String.format(
              Locale.ROOT,
              "SUMMARY fleet membership=%s sent=%d applied=%d succeeded_rows=%d"
                  + " payment_succeeded_once=%d exactly_once=%s active_p50_ms=%.0f"
                  + " active_p99_ms=%.0f active_max_ms=%.0f kills=%d reassigned_max_ms=%d"
                  + " resumed_max_ms=%d survivor_rebalances=%d",
              name,
              published.size(),
              active,
              succeeded,
              once,
              exactlyOnce,
              percentile(latencies, 50) / 1e3,
              percentile(latencies, 99) / 1e3,
              percentile(latencies, 100) / 1e3,
              kills.size(),
              max(reassigned) < 0 ? -1 : max(reassigned) / 1_000,
              max(resumed) < 0 ? -1 : max(resumed) / 1_000,
              rebalances);
      return new Result(name, row, killRows, summary);
    }

    /**
     * The first stable assignment after the kill in which none of its partitions is the dead one's.
     */
    private long reassignedAfter(Kill kill) {
      if (kill.partitions.isEmpty()) {
        return -1;
      }
      for (Snapshot s : snapshots) {
        if (s.atMicros() > kill.atMicros
            && s.state() == GroupState.STABLE
            && kill.partitions.stream()
                .allMatch(
                    p ->
                        s.owners().containsKey(p)
                            && !kill.members.contains(s.owners().get(p).memberId()))) {
          return s.atMicros() - kill.atMicros;
        }
      }
      return -1;
    }

    /**
     * The times (µs) of the "assigned" lines of every start of every replica, by {@code
     * <replica>#<started µs>} (the start's own log file), read from the logs.
     */
    private Map<String, List<Long>> assignedLines() {
      Map<String, List<Long>> lines = new LinkedHashMap<>();
      // the log files are <replica>-<n>.log; a start's file is matched to the kill that began it
      for (OsProcess replica : fleet) {
        for (int n = 1; ; n++) {
          Path file = logs.resolve(replica.name() + "-" + n + ".log");
          if (!Files.exists(file)) {
            break;
          }
          String key = replica.name() + "#" + startOf(replica.name(), n);
          List<Long> times = new ArrayList<>();
          try {
            for (String line : Files.readAllLines(file)) {
              Matcher m = ASSIGNED.matcher(line);
              if (m.find()) {
                times.add(logMicros(m.group(1)));
              }
            }
          } catch (IOException e) {
            log("  cannot read %s: %s", file, e);
          }
          lines.put(key, times);
        }
      }
      return lines;
    }

    /** The start (µs) of a replica's n-th process: 0 for the first, else its kill's restart. */
    private long startOf(String replica, int n) {
      if (n == 1) {
        return 0;
      }
      List<Kill> ofReplica = kills.stream().filter(k -> k.replica.equals(replica)).toList();
      return n - 2 < ofReplica.size() ? ofReplica.get(n - 2).startedMicros : -1;
    }

    private Connection connect() throws SQLException {
      return DriverManager.getConnection(dbUrl, postgres.user(), postgres.password());
    }
  }

  /**
   * A log line's time (HH:mm:ss.SSS, UTC: the launcher sets the time zone) as µs since the epoch.
   */
  private static long logMicros(String time) {
    Instant now = Instant.now();
    Instant at =
        LocalTime.parse(time, LOG_TIME)
            .atDate(now.atZone(ZoneOffset.UTC).toLocalDate())
            .toInstant(ZoneOffset.UTC);
    if (at.isAfter(now.plus(Duration.ofHours(12)))) {
      at = at.minus(Duration.ofDays(1)); // the run crossed midnight
    }
    return at.getEpochSecond() * 1_000_000 + at.getNano() / 1_000;
  }

  private static long nowMicros() {
    Instant now = Instant.now();
    return now.getEpochSecond() * 1_000_000 + now.getNano() / 1_000;
  }

  private static long percentile(long[] sorted, double percentile) {
    if (sorted.length == 0) {
      return -1;
    }
    int index = (int) Math.ceil(percentile / 100 * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
  }

  private static long median(List<Long> values) {
    return percentile(values.stream().mapToLong(Long::longValue).sorted().toArray(), 50);
  }

  private static long max(List<Long> values) {
    return values.stream().mapToLong(Long::longValue).max().orElse(-1);
  }

  private static String secondsOrDash(long micros) {
    return micros < 0 ? "-" : String.format(Locale.ROOT, "%.1f", micros / 1e6);
  }

  private static double seconds(long sinceNanos) {
    return (System.nanoTime() - sinceNanos) / 1e9;
  }

  /** Polls {@code condition} every 200 ms until it holds, or fails after {@code timeout}. */
  private static void await(Duration timeout, String what, BooleanSupplier condition)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      try {
        if (condition.getAsBoolean()) {
          return;
        }
      } catch (RuntimeException e) {
        // not yet: the group is rebalancing, or the database busy
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("not within " + timeout + ": " + what);
      }
      TimeUnit.MILLISECONDS.sleep(200);
    }
  }

  private static Map<String, String> options(String[] args) {
    Map<String, String> options = new HashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      options.put(args[i].replaceFirst("^--", ""), args[i + 1]);
    }
    return options;
  }

  private static void log(String format, Object... args) {
    System.out.printf(Locale.ROOT, "[fleet] " + format + "%n", args);
  }

  private static void deleteRecursively(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (var paths = Files.walk(root)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(path);
      }
    }
  }
}
