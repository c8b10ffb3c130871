package io.marketplace.payments.system;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.stripe.StripeClient;
import com.stripe.param.PaymentIntentConfirmParams;
import io.marketplace.payments.checkout.CheckoutApi;
import io.marketplace.payments.checkout.CheckoutApiConfig;
import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.kafka.RecordHeaders;
import io.marketplace.payments.common.kafka.Topic;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.embedded.EmbeddedKafka;
import io.marketplace.payments.embedded.KafkaTopics;
import io.marketplace.payments.expirer.ExpirerConfig;
import io.marketplace.payments.expirer.PromotionExpirer;
import io.marketplace.payments.gateway.GatewayConfig;
import io.marketplace.payments.gateway.WebhookGateway;
import io.marketplace.payments.ops.OpsContext;
import io.marketplace.payments.ops.PaymentsCli;
import io.marketplace.payments.ops.acl.KafkaAcls.Workload;
import io.marketplace.payments.ops.token.TokenCommand;
import io.marketplace.payments.processor.PaymentProcessor;
import io.marketplace.payments.processor.PaymentProcessorConfig;
import io.marketplace.payments.refunds.RefundWorker;
import io.marketplace.payments.refunds.RefundWorkerConfig;
import io.marketplace.payments.risk.RiskConfig;
import io.marketplace.payments.risk.RiskService;
import io.marketplace.payments.stripeemulator.StripeEmulator;
import io.marketplace.payments.system.support.Api;
import io.marketplace.payments.system.support.PaidAtStripe;
import io.marketplace.payments.system.support.PaymentEvents;
import io.marketplace.payments.system.support.PaymentEvents.Event;
import io.marketplace.payments.system.support.ServiceEnv;
import io.marketplace.payments.system.support.SignedWebhooks;
import io.marketplace.payments.system.support.Sql;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.marketplace.payments.testsupport.StripeFixtures;
import io.marketplace.payments.testsupport.TestDatabase;
import io.marketplace.payments.testsupport.TestInfra;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The services as deployed on a cluster that authorizes each client by its ACLs: every workload
 * logs in with SCRAM under a principal of its own, through the environment variables production
 * sets, and may do only what {@code ./payments kafka-acls --apply} granted it. What a missing
 * binding would break (a Streams application's internal topics or transactions, a worker's group,
 * the outbox relay, a health check) fails here, not after a deploy. Every service with a database
 * runs an outbox relay, and a relay publishes whichever service's rows it finds: the API's and the
 * expirer's relays are therefore shown at the end each alone, the other services stopped, or
 * another relay would hide a binding they lack. The services connect to PostgreSQL as the
 * deployments do: as a role that may change rows only, granted by {@code ./payments db-grants}, and
 * without migrating ({@code DATABASE_MIGRATE=false}): a statement that role may not run fails here.
 * The broker is this test's own.
 */
class ServicesUnderLeastPrivilegeTest {

  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final String SECRET = "whsec_system_kafka_acls_" + random();
  private static final Topics TOPICS = Topics.withPrefix("acls.");
  private static final int DECLINES_THRESHOLD = 3;

  private static final String JWT_SECRET = "jwt-secret-of-the-system-kafka-acls-" + random();

  /** The services' SCRAM users; the other workloads have principals but log in nowhere here. */
  private static final List<Workload> LOGGING_IN =
      List.of(
          Workload.WEBHOOK_GATEWAY,
          Workload.PAYMENT_PROCESSOR,
          Workload.REFUND_WORKER,
          Workload.CHECKOUT_API,
          Workload.PROMOTION_EXPIRER,
          Workload.PAYMENT_RISK,
          Workload.OPERATORS);

  @TempDir Path brokerDir;
  @TempDir Path riskState;

  private final HttpClient http = HttpClient.newHttpClient();
  private final Map<String, String> passwords = new LinkedHashMap<>();
  private final String servicesRole = "services_" + random().substring(0, 12);
  private final String servicesPassword = random();

  @Test
  void shouldServeEveryPaymentWhenEachServiceHasOnlyTheAccessDerivedForIt() throws Exception {
    // Given a cluster that authorizes by ACLs, its topics, and each workload's principal granted
    // what the operator's command derives for it
    LOGGING_IN.forEach(w -> passwords.put(user(w), random()));
    // and the database's owner having granted the services' role what db-grants derives
    TestDatabase database = TestInfra.freshDatabase();
    Sql db = new Sql(database.url(), database.user(), database.password());
    db.execute("CREATE ROLE " + servicesRole + " LOGIN PASSWORD '" + servicesPassword + "'");
    grantServicesRole(database);
    try (EmbeddedKafka broker = EmbeddedKafka.startAuthorizing(brokerDir, passwords);
        StripeEmulator emulator = StripeEmulator.start(StripeEmulator.Config.defaults());
        KafkaTestClient kafka = new KafkaTestClient(broker.bootstrapServers())) {
      KafkaTopics.createTopics(
          broker.bootstrapServers(),
          TOPICS.all().stream().collect(Collectors.toMap(Topic::name, Topic::partitions)),
          Topics.configs());
      applyAcls(broker);
      StripeClient stripe =
          StripeClient.builder()
              .setApiKey(emulator.secretKey())
              .setApiBase(emulator.baseUrl())
              .setMaxNetworkRetries(0)
              .build();

      PaymentEvents events = new PaymentEvents(kafka, TOPICS.paymentEvents());
      String admin = token(UUID.randomUUID(), List.of("user", "super_admin"));
      UUID tester = user(db);
      UUID testedListing = pendingListing(db, tester);

      // And a listing whose 30 days ended, which the expirer takes down when it starts
      UUID endedListing = activeListing(db, user(db), Instant.now().minus(Duration.ofHours(1)));

      // When each service starts under its own principal
      try (WebhookGateway gateway =
              WebhookGateway.start(
                  GatewayConfig.fromEnv(
                      env(broker, database, emulator, Workload.WEBHOOK_GATEWAY)));
          PaymentProcessor processor =
              PaymentProcessor.start(
                  PaymentProcessorConfig.fromEnv(
                      env(broker, database, emulator, Workload.PAYMENT_PROCESSOR)));
          RefundWorker refunds =
              RefundWorker.start(
                  RefundWorkerConfig.fromEnv(
                      env(broker, database, emulator, Workload.REFUND_WORKER)));
          RiskService risk =
              RiskService.start(
                  RiskConfig.fromEnv(env(broker, database, emulator, Workload.PAYMENT_RISK)),
                  Clock.systemUTC());
          CheckoutApi checkout =
              CheckoutApi.start(
                  CheckoutApiConfig.fromEnv(
                      env(broker, database, emulator, Workload.CHECKOUT_API)))) {
        Await.until(
            WAIT,
            "the workers to be assigned their partitions",
            () -> processor.isAssigned() && refunds.isAssigned());
        SignedWebhooks webhooks = new SignedWebhooks(gateway.webhookUrl(), SECRET);

        // And Stripe tells, through the gateway, of a posting fee paid and then disputed
        UUID seller = user(db);
        UUID listingId = pendingListing(db, seller);
        String pi = PaidAtStripe.withVisa(stripe, seller, listingId, "posting_fee", 500);
        recordPayment(db, pi, seller, listingId);
        post(webhooks, "payment_intent.succeeded", emulator.object(pi).orElseThrow());
        String disputeId = emulator.openDispute(pi);
        post(webhooks, "charge.dispute.created", emulator.object(disputeId).orElseThrow());

        // And of a card tester's declines, as many as the threshold
        for (int i = 0; i < DECLINES_THRESHOLD; i++) {
          String declined =
              StripeFixtures.paymentFailed(
                      StripeFixtures.id("pi"),
                      500,
                      StripeFixtures.metadata(testedListing, tester, 1, "posting_fee"))
                  .created(Instant.now())
                  .json();
          assertThat(webhooks.post(declined).status()).as("decline %d", i).isEqualTo(200);
        }

        // And another service publishes a moderation decision the refund worker cannot read
        kafka.send(TOPICS.moderation(), UUID.randomUUID().toString(), "{not a decision");

        // Then the processor records the payment and tells subscribers it succeeded
        Await.until(
            WAIT,
            "payment " + pi + " succeeded",
            () ->
                db.count("payments WHERE stripe_payment_intent_id = ? AND status = 'succeeded'", pi)
                    == 1);
        Event succeeded = events.await(listingId, "payment.succeeded", WAIT);
        assertThat(succeeded.data().path("paymentIntentId").asText()).isEqualTo(pi);

        // And the refund worker records the chargeback
        Await.until(
            WAIT,
            "the chargeback of " + pi + " recorded",
            () ->
                db.count(
                        "payment_refunds WHERE stripe_payment_intent_id = ? AND stripe_dispute_id = ?"
                            + " AND reason = 'chargeback' AND status = 'processed'",
                        pi,
                        disputeId)
                    == 1);
        events.await(listingId, "chargeback.recorded", WAIT);

        // And the risk service signals the card tester, and its flag worker flags them
        ConsumerRecord<String, byte[]> signal =
            kafka.awaitRecord(
                TOPICS.riskSignals(),
                r -> tester.toString().equals(r.key()),
                Duration.ofSeconds(45));
        JsonNode data = Json.mapper().readTree(signal.value()).path("data");
        assertThat(data.path("signal").asText()).isEqualTo("card_testing_declines");
        assertThat(data.path("count").asInt()).isEqualTo(DECLINES_THRESHOLD);
        events.await(tester, "user.flagged", WAIT);

        // And a listing bought through the API, paid and then partly refunded by an admin
        Api api = new Api(checkout.baseUrl());
        UUID buyer = user(db);
        String buyerToken = token(buyer, List.of("user"));
        Api.Response created =
            api.post(
                "/api/marketplace/listings",
                buyerToken,
                "{\"title\":\"Sofa\",\"categorySlug\":\"housing\"}");
        assertThat(created.status()).as("%s", created).isEqualTo(201);
        UUID bought = UUID.fromString(created.text("id"));
        Api.Response checkedOut =
            api.post("/api/marketplace/listings/" + bought + "/checkout", buyerToken, null);
        assertThat(checkedOut.status()).as("%s", checkedOut).isEqualTo(200);
        String boughtPi = checkedOut.text("paymentIntentId");
        stripe
            .v1()
            .paymentIntents()
            .confirm(
                boughtPi,
                PaymentIntentConfirmParams.builder().setPaymentMethod("pm_card_visa").build());
        post(webhooks, "payment_intent.succeeded", emulator.object(boughtPi).orElseThrow());
        events.await(bought, "listing.activated", WAIT);
        Api.Response refunded =
            api.post(
                "/admin/api/marketplace/payments/" + boughtPi + "/refunds",
                admin,
                "{\"amountCents\":200,\"reason\":\"goodwill\"}");
        assertThat(refunded.status()).as("%s", refunded).isEqualTo(201);
        Await.until(
            WAIT,
            "the admin's refund of " + boughtPi + " processed",
            () ->
                db.count(
                        "payment_refunds WHERE stripe_payment_intent_id = ? AND amount_cents = 200"
                            + " AND status = 'processed'",
                        boughtPi)
                    == 1);

        // And the refund worker dead-letters the unreadable decision
        ConsumerRecord<String, byte[]> dead =
            kafka.awaitRecord(TOPICS.moderation().dlq(), r -> true, WAIT);
        assertThat(KafkaTestClient.text(dead)).isEqualTo("{not a decision");
        assertThat(KafkaTestClient.header(dead, RecordHeaders.CONSUMER))
            .contains(RefundWorker.MODERATION_CONSUMER);

        // And every service says it is ready, and nothing else went to a dead-letter topic
        assertReady(gateway.baseUrl());
        assertReady(processor.adminUrl());
        assertReady(refunds.baseUrl());
        assertReady(risk.adminUrl());
        assertReady(checkout.adminUrl());
        assertThat(processor.isHealthy()).isTrue();
        assertThat(refunds.isHealthy()).isTrue();
        for (Topic topic : TOPICS.all()) {
          if (topic.name().endsWith(".dlq")
              && !topic.name().equals(TOPICS.moderation().dlq().name())) {
            assertThat(kafka.readAll(topic)).as(topic.name()).isEmpty();
          }
        }
      }

      // And an operator, under the operators' principal and the services' database role, lists
      // the dead letter, sends it back once, and rewinds the stopped processor's group
      String dlqList = operator(broker, database, "dlq", "list", "--waiting");
      assertThat(dlqList).contains(RefundWorker.MODERATION_CONSUMER);
      operator(
          broker,
          database,
          "dlq",
          "redrive",
          "--all",
          "--consumer",
          RefundWorker.MODERATION_CONSUMER);
      assertThat(kafka.readAll(TOPICS.moderation()))
          .extracting(KafkaTestClient::text)
          .containsExactly("{not a decision", "{not a decision");
      operator(
          broker,
          database,
          "replay",
          "--consumer",
          PaymentProcessorConfig.SERVICE,
          "--to-earliest");
      assertThat(operator(broker, database, "lag", "--consumer", PaymentProcessorConfig.SERVICE))
          .contains(PaymentProcessorConfig.SERVICE);

      // And, every other relay stopped, the API's own relay announces what an admin decides: the
      // card tester's flag cleared
      try (CheckoutApi checkout =
          CheckoutApi.start(
              CheckoutApiConfig.fromEnv(env(broker, database, emulator, Workload.CHECKOUT_API)))) {
        Api.Response cleared =
            new Api(checkout.baseUrl())
                .post(
                    "/admin/api/marketplace/users/" + tester + "/risk/clear",
                    admin,
                    "{\"reason\":\"the cardholder called\"}");
        assertThat(cleared.status()).as("%s", cleared).isEqualTo(200);
        events.await(tester, "user.risk_cleared", WAIT);
        assertReady(checkout.adminUrl());
      }

      // And the expirer, alone, takes down the listing whose days ended and announces it
      try (PromotionExpirer expirer =
          PromotionExpirer.start(
              ExpirerConfig.fromEnv(env(broker, database, emulator, Workload.PROMOTION_EXPIRER)),
              Clock.systemUTC())) {
        events.await(endedListing, "listing.expired", WAIT);
        assertReady(expirer.baseUrl());
      }
    }
  }

  /** {@code ./payments db-grants --apply}, run by the schema's owner. */
  private void grantServicesRole(TestDatabase database) {
    payments(
        Map.of(
            "DATABASE_URL",
            database.url(),
            "DATABASE_USER",
            database.user(),
            "DATABASE_PASSWORD",
            database.password()),
        "db-grants",
        "--role",
        servicesRole,
        "--apply");
  }

  /**
   * {@code ./payments ARGS} run by an operator: the operators' principal, the services' database
   * role. Returns what it printed.
   */
  private String operator(EmbeddedKafka broker, TestDatabase database, String... args) {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("KAFKA_BOOTSTRAP_SERVERS", broker.saslBootstrapServers());
    env.put("KAFKA_TOPIC_PREFIX", prefix());
    env.put("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT");
    env.put("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512");
    env.put("KAFKA_SASL_JAAS_CONFIG", jaas(Workload.OPERATORS));
    env.put("DATABASE_URL", database.url());
    env.put("DATABASE_USER", servicesRole);
    env.put("DATABASE_PASSWORD", servicesPassword);
    return payments(env, args);
  }

  /** {@code ./payments kafka-acls --apply}, run by the cluster's administrator. */
  private static void applyAcls(EmbeddedKafka broker) {
    List<String> args = new ArrayList<>(List.of("kafka-acls"));
    for (Workload workload : Workload.values()) {
      args.add("--principal-of");
      args.add(workload.key + "=User:" + user(workload));
    }
    args.add("--apply");
    String out =
        payments(
            Map.of(
                "KAFKA_BOOTSTRAP_SERVERS",
                broker.bootstrapServers(),
                "KAFKA_TOPIC_PREFIX",
                prefix()),
            args.toArray(String[]::new));
    assertThat(out).contains("; 0 already present");
  }

  /** {@code ./payments ARGS} with {@code env}; what it printed, once it exited 0. */
  private static String payments(Map<String, String> env, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = PaymentsCli.commandLine(new OpsContext(Env.of(env), Clock.systemUTC()));
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    int exit = cli.execute(args);
    assertThat(exit).as("payments %s: %s %s", String.join(" ", args), out, err).isZero();
    return out.toString();
  }

  /** The JAAS line of {@code workload}'s SCRAM login. */
  private String jaas(Workload workload) {
    String user = user(workload);
    return "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
        + user
        + "\" password=\""
        + passwords.get(user)
        + "\";";
  }

  /** The environment of {@code workload}'s deployment, logging in as its own principal. */
  private Env env(
      EmbeddedKafka broker, TestDatabase database, StripeEmulator emulator, Workload workload) {
    return ServiceEnv.of(
            broker.saslBootstrapServers(), TOPICS, database.url(), servicesRole, servicesPassword)
        .with("DATABASE_MIGRATE", "false")
        .with("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
        .with("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
        .with("KAFKA_SASL_JAAS_CONFIG", jaas(workload))
        .with("STRIPE_WEBHOOK_SECRET", SECRET)
        .with("STRIPE_SECRET_KEY", emulator.secretKey())
        .with("STRIPE_API_BASE", emulator.baseUrl())
        .with("RISK_STATE_DIR", riskState.toString())
        .with("RISK_REPLICATION_FACTOR", "1")
        .with("RISK_DECLINES_THRESHOLD", Integer.toString(DECLINES_THRESHOLD))
        .with("AUTH_JWT_SECRET", JWT_SECRET)
        .with("API_PORT", "0")
        .env();
  }

  private void assertReady(String baseUrl) throws IOException, InterruptedException {
    HttpResponse<String> ready =
        http.send(
            HttpRequest.newBuilder(URI.create(baseUrl + "/health/ready")).GET().build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(ready.statusCode()).as("%s/health/ready: %s", baseUrl, ready.body()).isEqualTo(200);
  }

  private static void post(SignedWebhooks webhooks, String type, Map<String, Object> object) {
    Map<String, Object> event = new LinkedHashMap<>();
    event.put("id", StripeFixtures.id("evt"));
    event.put("object", "event");
    event.put("api_version", StripeFixtures.API_VERSION);
    event.put("created", Instant.now().getEpochSecond());
    event.put("data", Map.of("object", object));
    event.put("livemode", false);
    event.put("pending_webhooks", 1);
    event.put("type", type);
    assertThat(webhooks.post(Json.write(event)).status()).as(type).isEqualTo(200);
  }

  private static UUID user(Sql db) {
    UUID userId = UUID.randomUUID();
    db.execute("INSERT INTO users (id) VALUES (?)", userId);
    return userId;
  }

  private static UUID pendingListing(Sql db, UUID userId) {
    UUID listingId = UUID.randomUUID();
    db.execute(
        "INSERT INTO marketplace_listings (id, user_id, category_id, title, status)"
            + " VALUES (?, ?, 1, 'Room to let', 'pending_payment')",
        listingId,
        userId);
    return listingId;
  }

  private static UUID activeListing(Sql db, UUID userId, Instant expiresAt) {
    UUID listingId = UUID.randomUUID();
    db.execute(
        "INSERT INTO marketplace_listings (id, user_id, category_id, title, status, activated_at,"
            + " expires_at) VALUES (?, ?, 1, 'Bike', 'active', ?, ?)",
        listingId,
        userId,
        expiresAt.minus(Duration.ofDays(30)),
        expiresAt);
    return listingId;
  }

  private static String token(UUID userId, List<String> roles) {
    return TokenCommand.sign(JWT_SECRET, userId, roles, Instant.now(), Duration.ofHours(1));
  }

  /** The row checkout-api writes when it creates the PaymentIntent. */
  private static void recordPayment(Sql db, String pi, UUID userId, UUID listingId) {
    db.execute(
        """
        INSERT INTO payments (stripe_payment_intent_id, listing_id, user_id, payment_type,
                              amount_cents, currency, status)
        VALUES (?, ?, ?, 'posting_fee', 500, 'usd', 'requires_payment')
        """,
        pi,
        listingId,
        userId);
  }

  private static String user(Workload workload) {
    return "payments-" + workload.key;
  }

  private static String prefix() {
    String name = TOPICS.stripeEvents().name();
    return name.substring(0, name.length() - Topics.standard().stripeEvents().name().length());
  }

  private static String random() {
    byte[] bytes = new byte[16];
    ThreadLocalRandom.current().nextBytes(bytes);
    return HexFormat.of().formatHex(bytes);
  }
}
