package io.marketplace.payments.ops.acl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.common.kafka.KafkaConfig;
import io.marketplace.payments.common.kafka.Topic;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.embedded.EmbeddedKafka;
import io.marketplace.payments.embedded.KafkaTopics;
import io.marketplace.payments.ops.Cli;
import io.marketplace.payments.testsupport.Await;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code payments kafka-acls} on a broker of its own that authorizes each principal by its ACLs,
 * its clients logging in with SCRAM as in production: what the command applies is what keeps a
 * worker's credentials from publishing a "Stripe event".
 */
class KafkaAclsCommandTest {

  private static final String PREFIX = "acls.";
  private static final String GATEWAY = "payments-webhook-gateway";
  private static final String PROCESSOR = "payments-payment-processor";
  private static final String OPERATORS = "payments-operators";

  @TempDir Path brokerDir;

  @Test
  void shouldKeepEachPrincipalToItsTopicsWhenTheDerivedAclsAreApplied() throws Exception {
    // Given a cluster that authorizes by ACLs, with the topics and two principals that may do
    // nothing yet, one of which the cluster already grants something the code does not derive
    Map<String, String> passwords = Map.of(GATEWAY, password(), PROCESSOR, password());
    Topics topics = Topics.withPrefix(PREFIX);
    try (EmbeddedKafka broker = EmbeddedKafka.startAuthorizing(brokerDir, passwords);
        Admin admin =
            Admin.create(
                Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()))) {
      Map<String, Integer> partitions = new LinkedHashMap<>();
      for (Topic topic : topics.all()) {
        partitions.put(topic.name(), 1);
      }
      KafkaTopics.createTopics(broker.bootstrapServers(), partitions, Topics.configs());
      AclBinding stray =
          new AclBinding(
              new ResourcePattern(
                  ResourceType.TOPIC, topics.riskSignals().name(), PatternType.LITERAL),
              new AccessControlEntry(
                  "User:" + PROCESSOR, "*", AclOperation.WRITE, AclPermissionType.ALLOW));
      admin.createAcls(List.of(stray)).all().get(30, TimeUnit.SECONDS);
      // the operator's command runs as the cluster's administrator
      Cli operator =
          new Cli()
              .set("KAFKA_BOOTSTRAP_SERVERS", broker.bootstrapServers())
              .set("KAFKA_TOPIC_PREFIX", PREFIX);
      String[] principals = {
        "--principal-of", "webhook-gateway=User:" + GATEWAY,
        "--principal-of", "payment-processor=User:" + PROCESSOR
      };

      // When the operator runs it without --apply, it shows what is missing and changes nothing
      Cli.Result dryRun = operator.run(concat("kafka-acls", principals));
      assertThat(dryRun.exitCode()).as(dryRun.toString()).isZero();
      int derived =
          KafkaAcls.derive(
                  topics,
                  Map.of(
                      KafkaAcls.Workload.WEBHOOK_GATEWAY, "User:" + GATEWAY,
                      KafkaAcls.Workload.PAYMENT_PROCESSOR, "User:" + PROCESSOR))
              .size();
      assertThat(dryRun.out())
          .contains("dry run: " + derived + " bindings missing, nothing changed")
          .contains(topics.riskSignals().name());
      assertThat(acls(admin)).containsExactly(stray);

      // and then with --apply
      Cli.Result applied = operator.run(concat("kafka-acls", principals, "--apply"));
      assertThat(applied.exitCode()).as(applied.toString()).isZero();
      assertThat(applied.out()).contains("created " + derived + " bindings; 0 already present");

      // Then the gateway's principal publishes to stripe.events.v1
      KafkaConfig gateway = login(broker, GATEWAY, passwords);
      send(gateway, topics.stripeEvents(), "evt_from_the_gateway");
      // But the payment-processor's is refused there, and publishes to payments.events.v1
      KafkaConfig processor = login(broker, PROCESSOR, passwords);
      assertThatThrownBy(() -> send(processor, topics.stripeEvents(), "evt_forged"))
          .hasRootCauseInstanceOf(TopicAuthorizationException.class);
      send(processor, topics.paymentEvents(), "payment.succeeded");
      // And it reads stripe.events.v1 in its consumer group
      try (KafkaConsumer<String, byte[]> consumer =
          new KafkaConsumer<>(processor.consumer(KafkaAcls.PROCESSOR_GROUP, "acl-test"))) {
        consumer.subscribe(List.of(topics.stripeEvents().name()));
        String read =
            Await.value(
                Duration.ofSeconds(20),
                "the gateway's event read by the processor's group",
                () -> {
                  for (ConsumerRecord<String, byte[]> record :
                      consumer.poll(Duration.ofMillis(200))) {
                    return Optional.of(new String(record.value(), StandardCharsets.UTF_8));
                  }
                  return Optional.empty();
                });
        assertThat(read).isEqualTo("evt_from_the_gateway");
        consumer.commitSync(Duration.ofSeconds(10));
      }

      // And the binding it does not derive was listed, not deleted
      assertThat(applied.out())
          .contains("1 binding on the cluster for these principals not derived from the code");
      Collection<AclBinding> after = acls(admin);
      assertThat(after).contains(stray).hasSize(derived + 1);

      // When it is applied again, then it creates nothing
      Cli.Result again = operator.run(concat("kafka-acls", principals, "--apply"));
      assertThat(again.exitCode()).as(again.toString()).isZero();
      assertThat(again.out())
          .contains("created 0 bindings; " + derived + " already present")
          .doesNotContain(" created\n");
      assertThat(acls(admin)).containsExactlyInAnyOrderElementsOf(after);
    }
  }

  @Test
  void shouldLetOperatorsSeeTheLagOfTheRiskServiceAndKnowItForAStreamsApplication()
      throws Exception {
    // Given the operators' bindings applied, and the risk service's Kafka Streams group running:
    // it reads stripe.events.v1, payments.events.v1 and its own repartition topic
    Map<String, String> passwords = Map.of(OPERATORS, password());
    Topics topics = Topics.withPrefix(PREFIX);
    String riskGroup = PREFIX + KafkaAcls.RISK_APPLICATION_ID;
    String repartition = riskGroup + "-observations-by-user-repartition";
    try (EmbeddedKafka broker = EmbeddedKafka.startAuthorizing(brokerDir, passwords)) {
      Map<String, Integer> partitions = new LinkedHashMap<>();
      for (Topic topic : topics.all()) {
        partitions.put(topic.name(), 1);
      }
      partitions.put(repartition, 1);
      KafkaTopics.createTopics(broker.bootstrapServers(), partitions, Topics.configs());
      Cli administrator =
          new Cli()
              .set("KAFKA_BOOTSTRAP_SERVERS", broker.bootstrapServers())
              .set("KAFKA_TOPIC_PREFIX", PREFIX);
      Cli.Result applied =
          administrator.run(
              "kafka-acls", "--principal-of", "operators=User:" + OPERATORS, "--apply");
      assertThat(applied.exitCode()).as(applied.toString()).isZero();
      Properties config = new Properties();
      config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
      config.put(ConsumerConfig.GROUP_ID_CONFIG, riskGroup);
      config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
      config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
      config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
      Cli operator = asOperator(broker, passwords);
      try (KafkaConsumer<byte[], byte[]> risk = new KafkaConsumer<>(config)) {
        risk.subscribe(
            List.of(topics.stripeEvents().name(), topics.paymentEvents().name(), repartition));
        Await.until(
            Duration.ofSeconds(20),
            "the risk service's group to be assigned its topics",
            () -> risk.poll(Duration.ofMillis(100)).isEmpty() && risk.assignment().size() == 3);
        risk.commitSync(Duration.ofSeconds(10));
        // and an admin's risk clear it has not read yet
        send(
            KafkaConfig.fromEnv(
                Env.of(
                    Map.of(
                        "KAFKA_BOOTSTRAP_SERVERS",
                        broker.bootstrapServers(),
                        "KAFKA_TOPIC_PREFIX",
                        PREFIX))),
            topics.paymentEvents(),
            "user.risk_cleared");

        // When an operator asks for the lag of every group
        Cli.Result lag = operator.run("lag");

        // Then it shows the risk service's, on each topic it reads, the risk clear as lag
        assertThat(lag.exitCode()).as(lag.toString()).isZero();
        assertThat(lag.out())
            .containsPattern(
                riskGroup + "\\s+" + topics.paymentEvents().name() + "\\s+0\\s+0\\s+1\\s+1")
            .contains(repartition);
      }

      // And a replay of the stopped risk service is refused, naming its repartition topic
      Cli.Result replay = operator.run("replay", "--consumer", riskGroup, "--to-earliest");
      assertThat(replay.exitCode()).as(replay.toString()).isEqualTo(1);
      assertThat(replay.err()).contains("Kafka Streams application", repartition);
    }
  }

  @Test
  void shouldRefuseOnePrincipalForTwoWorkloads() {
    // Given the gateway's principal named for a worker as well
    Cli.Result result =
        new Cli()
            .set("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:" + Cli.closedPort())
            .run(
                "kafka-acls",
                "--principal-of",
                "webhook-gateway=User:payments",
                "--principal-of",
                "refund-worker=User:payments");

    // Then it refuses before it reads the cluster: the worker could publish "Stripe events"
    assertThat(result.exitCode()).isEqualTo(2);
    assertThat(result.err())
        .contains("User:payments is given for both webhook-gateway and refund-worker");
  }

  @Test
  void shouldRefuseOneWorkloadGivenTwoPrincipals() {
    // Given the gateway named twice, with two principals, as typed and in another case
    for (String again : List.of("webhook-gateway", "Webhook-Gateway")) {
      Cli.Result result =
          new Cli()
              .set("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:" + Cli.closedPort())
              .set("KAFKA_COMMAND_TIMEOUT", "2s")
              .run(
                  "kafka-acls",
                  "--principal-of",
                  "webhook-gateway=User:payments-gateway",
                  "--principal-of",
                  again + "=User:payments-gateway-new",
                  "--apply");

      // Then it refuses before it reads the cluster, naming both: which one the gateway logs in
      // as is the operator's to say, and the other would be left without its grants
      assertThat(result.exitCode()).as(result.toString()).isEqualTo(2);
      assertThat(result.err())
          .as(result.toString())
          .contains("webhook-gateway is given twice")
          .contains("User:payments-gateway")
          .contains("User:payments-gateway-new");
    }
  }

  private static Collection<AclBinding> acls(Admin admin) throws Exception {
    return admin.describeAcls(AclBindingFilter.ANY).values().get(30, TimeUnit.SECONDS);
  }

  private static void send(KafkaConfig kafka, Topic topic, String value) throws Exception {
    Properties props = kafka.producer("acl-test");
    props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 10_000);
    try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(props)) {
      producer
          .send(new ProducerRecord<>(topic.name(), "key", value.getBytes(StandardCharsets.UTF_8)))
          .get(20, TimeUnit.SECONDS);
    }
  }

  /** {@code ./payments} as the operators' principal, logging in with SCRAM. */
  private static Cli asOperator(EmbeddedKafka broker, Map<String, String> passwords) {
    return new Cli()
        .set("KAFKA_BOOTSTRAP_SERVERS", broker.saslBootstrapServers())
        .set("KAFKA_TOPIC_PREFIX", PREFIX)
        .set("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
        .set("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
        .set("KAFKA_COMMAND_TIMEOUT", "10s")
        .set(
            "KAFKA_SASL_JAAS_CONFIG",
            "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
                + OPERATORS
                + "\" password=\""
                + passwords.get(OPERATORS)
                + "\";");
  }

  private static KafkaConfig login(
      EmbeddedKafka broker, String user, Map<String, String> passwords) {
    return KafkaConfig.fromEnv(
        Env.of(
            Map.of(
                "KAFKA_BOOTSTRAP_SERVERS",
                broker.saslBootstrapServers(),
                "KAFKA_TOPIC_PREFIX",
                PREFIX,
                "KAFKA_SECURITY_PROTOCOL",
                "SASL_PLAINTEXT",
                "KAFKA_SASL_MECHANISM",
                "SCRAM-SHA-512",
                "KAFKA_SASL_JAAS_CONFIG",
                "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
                    + user
                    + "\" password=\""
                    + passwords.get(user)
                    + "\";")));
  }

  private static String[] concat(String command, String[] options, String... more) {
    List<String> all = new ArrayList<>();
    all.add(command);
    all.addAll(List.of(options));
    all.addAll(List.of(more));
    return all.toArray(String[]::new);
  }

  private static String password() {
    byte[] bytes = new byte[16];
    ThreadLocalRandom.current().nextBytes(bytes);
    return HexFormat.of().formatHex(bytes);
  }
}
