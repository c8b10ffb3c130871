package io.marketplace.payments.system.crash;

import static org.assertj.core.api.Assertions.assertThat;

import com.stripe.StripeClient;
import com.stripe.exception.StripeException;
import com.stripe.model.PaymentIntent;
import com.stripe.model.Refund;
import com.stripe.param.PaymentIntentListParams;
import com.stripe.param.RefundListParams;
import io.marketplace.payments.common.db.Migrations;
import io.marketplace.payments.common.kafka.KafkaConfig;
import io.marketplace.payments.common.kafka.Topic;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.embedded.EmbeddedPostgresServer;
import io.marketplace.payments.embedded.KafkaTopics;
import io.marketplace.payments.processor.PaymentProcessorConfig;
import io.marketplace.payments.refunds.RefundWorker;
import io.marketplace.payments.stripeemulator.StripeEmulator;
import io.marketplace.payments.stripeemulator.WebhookAttempt;
import io.marketplace.payments.system.crash.Shoppers.Kind;
import io.marketplace.payments.system.crash.Shoppers.Purchase;
import io.marketplace.payments.system.support.ConsumerLag;
import io.marketplace.payments.system.support.PaymentEvents;
import io.marketplace.payments.system.support.ProcessorState;
import io.marketplace.payments.system.support.Sql;
import io.marketplace.payments.system.support.StripeApi;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.KafkaTestClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Every process of the system killed with {@code kill -9} under load, the way a node failure or an
 * OOM kill ends a pod: the webhook gateway, checkout-api, the payment processor and the refund
 * worker each run as an OS process of its own ({@code java -cp ... Main}, configured only through
 * its environment), the Kafka broker runs in an OS process of its own, and PostgreSQL's postmaster
 * and backends are SIGKILLed. Each killed process is started again at once on the same ports and
 * data, as Kubernetes restarts a pod.
 *
 * <p>Meanwhile sellers pay posting fees through the API and Stripe (the emulator, in this JVM)
 * sends its signed webhooks to the gateway, retrying what was not answered 200. After each
 * scenario: the database is the one a clean pass leaves (every listing, payment and refund as the
 * business rules say, nothing more), every fact is on {@code payments.events.v1} under exactly one
 * id, every webhook the gateway answered 200 is on the topic and applied, and at Stripe each
 * listing has one succeeded PaymentIntent and at most the one refund it is owed.
 *
 * <p>Randomness (the mix of purchases, which process dies and when) is seeded and the seed printed:
 * {@code -Dcrash.seed=<seed>} replays the same plan; the exact instant a kill lands still depends
 * on timing. Logs of every process are under {@code target/crash/run-<seed>/}.
 */
class ProcessCrashTest {

  private static final Duration PACE = Duration.ofMillis(300);
  private static final Duration SETTLE = Duration.ofSeconds(120);

  /** Each look at the end state reads every table, while the services may still be catching up. */
  private static final Duration LOOK_EVERY = Duration.ofMillis(500);

  private static final Path ROOT = Path.of("target", "crash").toAbsolutePath();

  /** What can die. */
  enum Target {
    PROCESSOR,
    REFUND_WORKER,
    GATEWAY,
    API,
    POSTGRES,
    BROKER
  }

  @Test
  void shouldLoseAndDoubleNothingWhenAnyProcessIsKilledUnderLoad() throws Exception {
    long seed = Long.getLong("crash.seed", System.nanoTime());
    System.out.println(
        "ProcessCrashTest seed " + seed + " (replay with -Dcrash.seed=" + seed + ")");
    Random random = new Random(seed);
    Path run = ROOT.resolve("run-" + seed);
    deleteRecursively(run); // a replay starts from nothing, as the first run did
    long suiteStarted = System.nanoTime();

    int brokerPort = freePort();
    try (OsProcess broker = OsProcess.kafkaBroker(run, brokerPort);
        EmbeddedPostgresServer postgres =
            EmbeddedPostgresServer.start(run.resolve("postgres"), 0).withoutShutdownHook()) {
      broker.start().awaitReady();
      String bootstrap = "127.0.0.1:" + brokerPort;

      // each scenario kills every process once, in a random order
      List<List<Target>> plans = new ArrayList<>();
      for (int n = 0; n < Integer.getInteger("crash.scenarios", 1); n++) {
        List<Target> plan = new ArrayList<>(List.of(Target.values()));
        Collections.shuffle(plan, random);
        plans.add(plan);
      }
      for (int n = 0; n < plans.size(); n++) {
        long started = System.nanoTime();
        try (Scenario scenario =
            new Scenario(n + 1, run, bootstrap, brokerPort, broker, postgres)) {
          try {
            scenario.run(random, plans.get(n));
          } finally {
            System.out.printf(
                "ProcessCrashTest seed %d scenario %d (%d s): %s%n",
                seed, n + 1, (System.nanoTime() - started) / 1_000_000_000, scenario.history());
          }
        }
      }
    }
    System.out.printf(
        "ProcessCrashTest seed %d: %d s in all%n",
        seed, (System.nanoTime() - suiteStarted) / 1_000_000_000);
  }

  /** One database, one set of topics, one Stripe, the four services, the sellers, the kills. */
  private static final class Scenario implements AutoCloseable {

    private final int number;
    private final String description;
    private final OsProcess broker;
    private final EmbeddedPostgresServer postgres;
    private final String bootstrap;
    private final Topics topics;
    private final Sql db;
    private final StripeEmulator stripe;
    private final Map<Target, OsProcess> services = new LinkedHashMap<>();
    private final String jwtSecret = secret(32);
    private final String apiUrl;
    private final List<String> history = Collections.synchronizedList(new ArrayList<>());

    Scenario(
        int number,
        Path run,
        String bootstrap,
        int brokerPort,
        OsProcess broker,
        EmbeddedPostgresServer postgres) {
      this.number = number;
      this.description = "scenario " + number;
      this.broker = broker;
      this.postgres = postgres;
      this.bootstrap = bootstrap;
      this.topics = Topics.withPrefix("crash" + number + ".");
      KafkaTopics.createTopics(
          bootstrap,
          topics.all().stream().collect(Collectors.toMap(Topic::name, Topic::partitions)),
          Topics.configs());
      String database = "crash_" + number;
      postgres.createDatabase(database);
      Migrations.migrate(postgres.dataSource(database));
      String dbUrl = postgres.jdbcUrl(database);
      this.db = new Sql(dbUrl, postgres.user(), postgres.password());

      int gatewayPort = freePort();
      int apiPort = freePort();
      String webhookSecret = "whsec_" + secret(24);
      String stripeKey = "sk_test_" + secret(24);
      this.stripe =
          StripeEmulator.start(
              StripeEmulator.Config.defaults()
                  .withSecretKey(stripeKey)
                  .withWebhookEndpoint(
                      "http://127.0.0.1:" + gatewayPort + "/webhooks/stripe", webhookSecret)
                  // Stripe's retries, closer together: a restart takes seconds, not hours
                  .withWebhookRetries(Duration.ofMillis(250), 20));
      this.apiUrl = "http://127.0.0.1:" + apiPort;

      Map<String, String> kafka = new HashMap<>();
      kafka.put("KAFKA_BOOTSTRAP_SERVERS", bootstrap);
      kafka.put("KAFKA_TOPIC_PREFIX", "crash" + number + ".");
      Map<String, String> withDatabase = new HashMap<>(kafka);
      withDatabase.put("DATABASE_URL", dbUrl);
      withDatabase.put("DATABASE_USER", postgres.user());
      withDatabase.put("DATABASE_PASSWORD", postgres.password());
      withDatabase.put("DATABASE_POOL_SIZE", "4");
      Map<String, String> stripeEnv =
          Map.of("STRIPE_API_BASE", stripe.baseUrl(), "STRIPE_SECRET_KEY", stripeKey);
      Path logs = run.resolve("scenario-" + number);

      Map<String, String> gateway = new HashMap<>(kafka);
      gateway.put("STRIPE_WEBHOOK_SECRET", webhookSecret);
      gateway.put("GATEWAY_PORT", Integer.toString(gatewayPort));
      gateway.put("ADMIN_PORT", Integer.toString(freePort()));
      services.put(
          Target.GATEWAY,
          new OsProcess(
              "webhook-gateway",
              io.marketplace.payments.gateway.Main.class.getName(),
              List.of(),
              gateway,
              logs,
              process -> ready("http://127.0.0.1:" + gatewayPort)));

      Map<String, String> api = new HashMap<>(withDatabase);
      api.putAll(stripeEnv);
      api.put("AUTH_JWT_SECRET", jwtSecret);
      api.put("API_PORT", Integer.toString(apiPort));
      // its health, as the kubelet probes it, on its admin port
      int apiAdmin = freePort();
      api.put("ADMIN_PORT", Integer.toString(apiAdmin));
      services.put(
          Target.API,
          new OsProcess(
              "checkout-api",
              io.marketplace.payments.checkout.Main.class.getName(),
              List.of(),
              api,
              logs,
              process -> ready("http://127.0.0.1:" + apiAdmin)));

      Map<String, String> processor = new HashMap<>(withDatabase);
      int processorAdmin = freePort();
      processor.put("ADMIN_PORT", Integer.toString(processorAdmin));
      services.put(
          Target.PROCESSOR,
          new OsProcess(
              "payment-processor",
              io.marketplace.payments.processor.Main.class.getName(),
              List.of(),
              processor,
              logs,
              process -> ready("http://127.0.0.1:" + processorAdmin)));

      Map<String, String> refunds = new HashMap<>(withDatabase);
      refunds.putAll(stripeEnv);
      int refundsAdmin = freePort();
      refunds.put("ADMIN_PORT", Integer.toString(refundsAdmin));
      services.put(
          Target.REFUND_WORKER,
          new OsProcess(
              "refund-worker",
              io.marketplace.payments.refunds.Main.class.getName(),
              List.of(),
              refunds,
              logs,
              process -> ready("http://127.0.0.1:" + refundsAdmin)));

      services.values().forEach(OsProcess::start);
      services.values().forEach(OsProcess::awaitReady);
    }

    void run(Random random, List<Target> kills) throws StripeException {
      StripeApi stripeApi = new StripeApi(stripe.baseUrl(), stripe.secretKey());
      try (Shoppers shoppers = new Shoppers(apiUrl, jwtSecret, stripeApi, db)) {
        // Given sellers paying at a steady rate
        shoppers.start(new Random(random.nextLong()), PACE);
        await(Duration.ofSeconds(1 + random.nextInt(3)));

        // When, at random moments, one process after another is killed and started again
        for (Target target : kills) {
          kill(target, shoppers.purchases().size());
          await(Duration.ofMillis(500 + random.nextInt(2_500)));
        }
        shoppers.stop();
        shoppers.awaitDone(Duration.ofSeconds(240));
        history.add(shoppers.retried() + " calls to the API retried");

        // Then the database is the one a clean pass leaves
        List<Purchase> purchases = shoppers.purchases();
        ProcessorState expected = expected(purchases);
        Await.untilAsserted(
            SETTLE,
            LOOK_EVERY,
            "the database of one clean pass",
            () -> actual().assertSameAs(expected, description + ", kills " + kills));
        Await.until(
            SETTLE, LOOK_EVERY, "the outbox published", () -> db.count("outbox_events") == 0);
        try (ConsumerLag lag = new ConsumerLag(new KafkaConfig(bootstrap, topics))) {
          Await.until(
              SETTLE,
              LOOK_EVERY,
              "every consumer caught up",
              () ->
                  lag.of(PaymentProcessorConfig.SERVICE, topics.stripeEvents()) == 0
                      && lag.of(RefundWorker.STRIPE_CONSUMER, topics.stripeEvents()) == 0
                      && lag.of(RefundWorker.MODERATION_CONSUMER, topics.moderation()) == 0);
        }
        assertThat(db.count("webhook_events WHERE status NOT IN ('processed', 'ignored')"))
            .as(description)
            .isZero();

        try (KafkaTestClient kafka = new KafkaTestClient(bootstrap)) {
          assertEveryFactOnceUnderOneId(kafka, purchases);
          assertEveryAcknowledgedWebhookApplied(kafka);
        }
        assertChargedAndRefundedOnce(purchases);
      }
    }

    /** Lets the sellers go on for {@code time}. */
    private static void await(Duration time) {
      long until = System.nanoTime() + time.toNanos();
      Await.until(time.plusSeconds(5), "time to pass", () -> System.nanoTime() - until >= 0);
    }

    /** {@code kill -9} of {@code target}, then its restart, as a pod is restarted. */
    private void kill(Target target, int at) {
      long started = System.nanoTime();
      switch (target) {
        case POSTGRES -> {
          postgres.kill();
          postgres.restart();
        }
        case BROKER -> {
          broker.kill();
          broker.start().awaitReady();
        }
        default -> {
          OsProcess service = services.get(target);
          service.kill();
          service.start().awaitReady();
        }
      }
      // a service that died of the outage is restarted too, as Kubernetes would, and reported
      services.forEach(
          (name, service) -> {
            if (!service.isAlive()) {
              history.add(name + " exited by itself with " + service.exitValue());
              service.start().awaitReady();
            }
          });
      history.add(
          "killed "
              + target
              + " at purchase "
              + at
              + ", back in "
              + (System.nanoTime() - started) / 1_000_000
              + " ms");
    }

    /** What one pass without crashes leaves, from what the sellers did. */
    private static ProcessorState expected(List<Purchase> purchases) {
      List<Map<String, Object>> listings = new ArrayList<>();
      List<Map<String, Object>> payments = new ArrayList<>();
      List<Map<String, Object>> refunds = new ArrayList<>();
      for (Purchase p : purchases) {
        boolean rejected = p.kind == Kind.REJECTED;
        listings.add(
            row(
                "id",
                p.listingId,
                "user_id",
                p.userId.toString(),
                "status",
                rejected ? "rejected" : "active",
                "payment_intent_id",
                p.paymentIntentId,
                "expires_after_30_days",
                "true"));
        payments.add(
            row(
                "stripe_payment_intent_id", p.paymentIntentId,
                "listing_id", p.listingId,
                "user_id", p.userId.toString(),
                "payment_type", "posting_fee",
                "amount_cents", "500",
                "status", "succeeded",
                "succeeded", "true"));
        if (rejected) {
          refunds.add(
              row(
                  "stripe_payment_intent_id", p.paymentIntentId,
                  "listing_id", p.listingId,
                  "reason", "moderation_rejection",
                  "status", "processed",
                  "amount_cents", "500",
                  "refunded_at_stripe", "true"));
        }
      }
      Map<String, List<Map<String, Object>>> tables = new LinkedHashMap<>();
      tables.put("marketplace_listings", sorted(listings, "id"));
      tables.put("payments", sorted(payments, "stripe_payment_intent_id"));
      tables.put("payment_refunds", sorted(refunds, "stripe_payment_intent_id"));
      tables.put("listing_promotions", List.of());
      return new ProcessorState(tables);
    }

    private ProcessorState actual() {
      Map<String, List<Map<String, Object>>> tables = new LinkedHashMap<>();
      tables.put(
          "marketplace_listings",
          sorted(
              db.rows(
                  """
              SELECT id::text AS id, user_id::text AS user_id, status, payment_intent_id,
                     (activated_at IS NOT NULL
                       AND expires_at = activated_at + interval '30 days')::text
                       AS expires_after_30_days
              FROM marketplace_listings
              """),
              "id"));
      tables.put(
          "payments",
          sorted(
              db.rows(
                  """
              SELECT stripe_payment_intent_id, listing_id::text AS listing_id,
                     user_id::text AS user_id, payment_type, amount_cents::text AS amount_cents,
                     status, (succeeded_at IS NOT NULL)::text AS succeeded
              FROM payments
              """),
              "stripe_payment_intent_id"));
      tables.put(
          "payment_refunds",
          sorted(
              db.rows(
                  """
              SELECT stripe_payment_intent_id, listing_id::text AS listing_id, reason, status,
                     amount_cents::text AS amount_cents,
                     (stripe_refund_id IS NOT NULL)::text AS refunded_at_stripe
              FROM payment_refunds
              """),
              "stripe_payment_intent_id"));
      tables.put("listing_promotions", db.rows("SELECT id::text AS id FROM listing_promotions"));
      return new ProcessorState(tables);
    }

    /**
     * Every listing's facts on {@code payments.events.v1}, each under one id: as many distinct ids
     * per type as a clean pass announces, none missing, none doubled under a second id.
     */
    private void assertEveryFactOnceUnderOneId(KafkaTestClient kafka, List<Purchase> purchases) {
      Set<PaymentEvents.Event> events = new PaymentEvents(kafka, topics.paymentEvents()).distinct();
      Map<String, Map<String, Set<String>>> idsByKeyAndType = new HashMap<>();
      for (PaymentEvents.Event event : events) {
        idsByKeyAndType
            .computeIfAbsent(event.key(), k -> new TreeMap<>())
            .computeIfAbsent(event.type(), t -> new HashSet<>())
            .add(event.id());
      }
      Map<String, Map<String, Integer>> expected = new TreeMap<>();
      Map<String, Map<String, Integer>> actual = new TreeMap<>();
      for (Purchase p : purchases) {
        Map<String, Integer> types = new TreeMap<>();
        types.put("payment.succeeded", 1);
        types.put("listing.activated", 1);
        if (p.kind == Kind.DECLINED_THEN_PAID) {
          types.put("payment.failed", 1);
        }
        if (p.kind == Kind.REJECTED) {
          types.put("listing.rejected", 1);
          types.put("refund.processed", 1);
        }
        expected.put(p.listingId, types);
      }
      idsByKeyAndType.forEach(
          (key, byType) -> {
            Map<String, Integer> counts = new TreeMap<>();
            byType.forEach((type, ids) -> counts.put(type, ids.size()));
            actual.put(key, counts);
          });
      // a decline whose webhook was delivered after the success (a retry after an outage; Stripe
      // does not order deliveries) changes nothing by design, so it publishes no payment.failed;
      // it is still audited, which assertEveryAcknowledgedWebhookApplied checks
      for (Purchase p : purchases) {
        if (p.kind == Kind.DECLINED_THEN_PAID
            && !actual.getOrDefault(p.listingId, Map.of()).containsKey("payment.failed")) {
          expected.get(p.listingId).remove("payment.failed");
        }
      }
      List<String> differences = new ArrayList<>();
      Set<String> keys = new TreeSet<>(expected.keySet());
      keys.addAll(actual.keySet());
      for (String key : keys) {
        if (!Objects.equals(expected.get(key), actual.get(key))) {
          differences.add(
              key
                  + ": expected "
                  + expected.get(key)
                  + ", got ids "
                  + idsByKeyAndType.getOrDefault(key, Map.of()));
        }
      }
      assertThat(differences)
          .as(description + ": listings whose facts are not each on the topic under one id")
          .isEmpty();
    }

    /**
     * Every webhook the gateway answered 200 is on {@code stripe.events.v1}, and the payment
     * processor applied every one it acts on.
     */
    private void assertEveryAcknowledgedWebhookApplied(KafkaTestClient kafka) {
      List<WebhookAttempt> acknowledged =
          stripe.webhookAttempts().stream().filter(WebhookAttempt::succeeded).toList();
      Set<String> published =
          kafka.readAll(topics.stripeEvents()).stream()
              .map(r -> KafkaTestClient.header(r, "stripe-event-id").orElseThrow())
              .collect(Collectors.toSet());
      assertThat(published)
          .as(description + ": webhooks answered 200 on the topic")
          .containsAll(acknowledged.stream().map(WebhookAttempt::eventId).toList());
      Set<String> applied =
          db
              .rows(
                  "SELECT event_key FROM processed_events WHERE consumer = ?",
                  PaymentProcessorConfig.SERVICE)
              .stream()
              .map(row -> (String) row.get("event_key"))
              .collect(Collectors.toSet());
      assertThat(applied)
          .as(description + ": payment events answered 200 and applied by the processor")
          .containsAll(
              acknowledged.stream()
                  .filter(
                      a ->
                          a.eventType().startsWith("payment_intent.succeeded")
                              || a.eventType().equals("payment_intent.payment_failed"))
                  .map(WebhookAttempt::eventId)
                  .toList());
      history.add(
          acknowledged.size()
              + " webhooks answered 200 of "
              + stripe.webhookAttempts().size()
              + " tries");
    }

    /** At Stripe: one succeeded PaymentIntent per listing, and only the refunds owed. */
    private void assertChargedAndRefundedOnce(List<Purchase> purchases) throws StripeException {
      StripeClient client =
          StripeClient.builder().setApiKey(stripe.secretKey()).setApiBase(stripe.baseUrl()).build();
      Map<String, List<String>> succeededByListing = new TreeMap<>();
      for (PaymentIntent pi :
          client
              .v1()
              .paymentIntents()
              .list(PaymentIntentListParams.builder().setLimit(100L).build())
              .autoPagingIterable()) {
        if ("succeeded".equals(pi.getStatus())) {
          succeededByListing
              .computeIfAbsent(pi.getMetadata().get("listing_id"), l -> new ArrayList<>())
              .add(pi.getId());
        }
      }
      Map<String, List<String>> expectedCharges = new TreeMap<>();
      Map<String, Integer> expectedRefunds = new TreeMap<>();
      for (Purchase p : purchases) {
        expectedCharges.put(p.listingId, List.of(p.paymentIntentId));
        if (p.kind == Kind.REJECTED) {
          expectedRefunds.put(p.paymentIntentId, 1);
        }
      }
      assertThat(succeededByListing)
          .as(description + ": succeeded PaymentIntents per listing at Stripe")
          .isEqualTo(expectedCharges);
      Map<String, Integer> refunds = new TreeMap<>();
      for (Refund refund :
          client
              .v1()
              .refunds()
              .list(RefundListParams.builder().setLimit(100L).build())
              .autoPagingIterable()) {
        refunds.merge(refund.getPaymentIntent(), 1, Integer::sum);
      }
      assertThat(refunds)
          .as(description + ": refunds per PaymentIntent at Stripe")
          .isEqualTo(expectedRefunds);
    }

    String history() {
      return String.join("; ", history);
    }

    @Override
    public void close() {
      services.values().forEach(OsProcess::close);
      stripe.close();
    }
  }

  private static Map<String, Object> row(Object... keysAndValues) {
    Map<String, Object> row = new LinkedHashMap<>();
    for (int i = 0; i < keysAndValues.length; i += 2) {
      row.put((String) keysAndValues[i], keysAndValues[i + 1]);
    }
    return row;
  }

  private static List<Map<String, Object>> sorted(List<Map<String, Object>> rows, String column) {
    List<Map<String, Object>> copy = new ArrayList<>(rows);
    copy.sort((a, b) -> ((String) a.get(column)).compareTo((String) b.get(column)));
    return copy;
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

  private static boolean ready(String baseUrl) {
    return OsProcess.ready(baseUrl);
  }

  private static int freePort() {
    return OsProcess.freePort();
  }

  private static final SecureRandom SECRETS = new SecureRandom();

  private static String secret(int bytes) {
    byte[] random = new byte[bytes];
    SECRETS.nextBytes(random);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(random);
  }
}
