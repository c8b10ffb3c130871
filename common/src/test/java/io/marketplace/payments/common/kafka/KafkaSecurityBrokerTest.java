package io.marketplace.payments.common.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.embedded.EmbeddedKafka;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.errors.AuthenticationException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The security settings reach a real client: one that must authenticate is refused by a broker. */
class KafkaSecurityBrokerTest {

  @TempDir static Path dataDir;

  private static EmbeddedKafka broker;

  @BeforeAll
  static void start() {
    broker = EmbeddedKafka.start(dataDir, 0);
  }

  @AfterAll
  static void stop() {
    broker.close();
  }

  @Test
  void shouldFailWithAnAuthenticationErrorWhenSaslIsConfiguredAgainstAPlaintextBroker() {
    // Given a client told to authenticate with SCRAM, and a broker that speaks only PLAINTEXT
    KafkaConfig sasl =
        KafkaConfig.fromEnv(
            Env.of(
                Map.of(
                    "KAFKA_BOOTSTRAP_SERVERS",
                    broker.bootstrapServers(),
                    "KAFKA_SECURITY_PROTOCOL",
                    "SASL_PLAINTEXT",
                    "KAFKA_SASL_MECHANISM",
                    "SCRAM-SHA-512",
                    "KAFKA_SASL_JAAS_CONFIG",
                    "org.apache.kafka.common.security.scram.ScramLoginModule required"
                        + " username=\"gateway\" password=\"5e1c9a7f3b2d8e04a61f7c3d92b8e5a0\";")));
    KafkaConfig plain =
        KafkaConfig.fromEnv(Env.of(Map.of("KAFKA_BOOTSTRAP_SERVERS", broker.bootstrapServers())));

    // When each asks the broker for its cluster id
    try (Admin refused = Admin.create(sasl.admin("sasl-client"));
        Admin accepted = Admin.create(plain.admin("plain-client"))) {

      // Then the SASL client fails with an authentication error, not a silent hang
      assertThatThrownBy(() -> refused.describeCluster().clusterId().get(30, TimeUnit.SECONDS))
          .isInstanceOf(ExecutionException.class)
          .hasCauseInstanceOf(AuthenticationException.class);
      // And the plaintext client, as configured by default, is answered
      assertThat(accepted.describeCluster().clusterId().get(30, TimeUnit.SECONDS)).isNotBlank();
      refused.close(Duration.ofSeconds(2));
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }
}
