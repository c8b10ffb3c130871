package io.marketplace.payments.gateway;

import static io.marketplace.payments.testsupport.KafkaTestClient.header;
import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.common.kafka.KafkaConfig;
import io.marketplace.payments.common.kafka.Topic;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.embedded.EmbeddedKafka;
import io.marketplace.payments.embedded.KafkaTopics;
import io.marketplace.payments.gateway.StripeEvents.Sample;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.KafkaTestClient;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gateway when the cluster refuses its producer an id (a fatal error for the batches the
 * producer held), then lets it in again: on a broker of its own that authorizes each principal by
 * its ACLs, as production's does. The Kafka client starts over with a new producer id on the next
 * send, so the gateway needs no restart; this holds it to that, whatever a later client does.
 */
class RefusedProducerTest {

  private static final String SECRET = "whsec_refusedproducer_5b4a39281706f5e4";
  private static final String PRINCIPAL = "webhook-gateway";

  @TempDir Path brokerDir;

  @Test
  void shouldPublishAgainWhenItsAclsAreBackAfterTheClusterRefusedItsProducer() throws Exception {
    // Given a gateway logging in as its own principal, which may see stripe.events.v1 but not
    // write anything yet (its ACLs half-applied during a change): the cluster refuses its
    // producer an id (ClusterAuthorizationException)
    String password = HexFormat.of().formatHex(randomBytes());
    Topics topics = Topics.withPrefix("fatal.");
    try (EmbeddedKafka broker =
            EmbeddedKafka.startAuthorizing(brokerDir, Map.of(PRINCIPAL, password));
        Admin admin =
            Admin.create(
                Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()))) {
      Map<String, Integer> partitions = new LinkedHashMap<>();
      for (Topic topic : topics.all()) {
        partitions.put(topic.name(), topic.partitions());
      }
      KafkaTopics.createTopics(broker.bootstrapServers(), partitions, Topics.configs());
      allow(admin, AclOperation.DESCRIBE, topics.stripeEvents());
      KafkaConfig kafka =
          KafkaConfig.fromEnv(
              Env.of(
                  Map.of(
                      "KAFKA_BOOTSTRAP_SERVERS", broker.saslBootstrapServers(),
                      "KAFKA_TOPIC_PREFIX", "fatal.",
                      "KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT",
                      "KAFKA_SASL_MECHANISM", "SCRAM-SHA-512",
                      "KAFKA_SASL_JAAS_CONFIG",
                          "org.apache.kafka.common.security.scram.ScramLoginModule required"
                              + " username=\""
                              + PRINCIPAL
                              + "\" password=\""
                              + password
                              + "\";")));
      try (WebhookGateway gateway =
              WebhookGateway.start(new GatewayConfig(0, List.of(SECRET), kafka));
          WebhookClient stripe = new WebhookClient(gateway.baseUrl())) {
        Sample refused = StripeEvents.paymentIntentSucceeded();
        assertThat(stripe.postSigned(refused.body(), SECRET).statusCode()).isEqualTo(503);

        // When its ACLs are complete (Write on the topic, which implies idempotent writes)
        allow(admin, AclOperation.WRITE, topics.stripeEvents());

        // Then Stripe's retries are accepted again, without a restart of the gateway
        AtomicReference<Sample> accepted = new AtomicReference<>();
        Await.until(
            Duration.ofSeconds(40),
            "a webhook accepted after the ACLs were granted",
            () -> {
              Sample event = StripeEvents.paymentIntentSucceeded();
              HttpResponse<String> response = stripe.postSigned(event.body(), SECRET);
              if (response.statusCode() == 200) {
                accepted.set(event);
                return true;
              }
              assertThat(response.statusCode()).isEqualTo(503);
              return false;
            });
        // And the accepted event is on the topic
        try (KafkaTestClient reader = new KafkaTestClient(broker.bootstrapServers())) {
          assertThat(
                  reader.readAll(topics.stripeEvents()).stream()
                      .map(record -> header(record, "stripe-event-id").orElseThrow()))
              .contains(accepted.get().id());
        }
      }
    }
  }

  private static void allow(Admin admin, AclOperation operation, Topic topic) throws Exception {
    admin
        .createAcls(
            List.of(
                new AclBinding(
                    new ResourcePattern(ResourceType.TOPIC, topic.name(), PatternType.LITERAL),
                    new AccessControlEntry(
                        "User:" + PRINCIPAL, "*", operation, AclPermissionType.ALLOW))))
        .all()
        .get(30, TimeUnit.SECONDS);
  }

  private static byte[] randomBytes() {
    byte[] bytes = new byte[16];
    ThreadLocalRandom.current().nextBytes(bytes);
    return bytes;
  }
}
