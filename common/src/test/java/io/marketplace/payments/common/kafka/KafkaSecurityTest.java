package io.marketplace.payments.common.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.marketplace.payments.common.config.ConfigException;
import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.common.config.InvalidConfigException;
import io.marketplace.payments.common.config.MissingConfigException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class KafkaSecurityTest {

  private static final String JAAS =
      "org.apache.kafka.common.security.scram.ScramLoginModule required"
          + " username=\"payment-processor\" password=\"9c1f4e7a2b8d3f60e5a71c94b02d6f83\";";

  private static Map<String, String> base() {
    Map<String, String> env = new HashMap<>();
    env.put("KAFKA_BOOTSTRAP_SERVERS", "kafka-0:9093");
    return env;
  }

  private static List<Properties> everyClient(KafkaConfig config) {
    return List.of(config.producer("p"), config.consumer("g", "c"), config.admin("a"));
  }

  @Test
  void shouldSpeakPlaintextWhenNoSecurityIsConfigured() {
    // Given only the brokers
    KafkaConfig config = KafkaConfig.fromEnv(Env.of(base()));

    // When the clients' properties are built
    // Then they speak PLAINTEXT and carry no SASL or TLS setting
    for (Properties props : everyClient(config)) {
      assertThat(props.get("security.protocol")).isEqualTo("PLAINTEXT");
      assertThat(props.stringPropertyNames())
          .noneMatch(key -> key.startsWith("sasl.") || key.startsWith("ssl."));
    }
  }

  @Test
  void shouldGiveEveryClientSaslAndTlsSettingsWhenSaslSslIsConfigured() {
    // Given SCRAM over TLS with a trust store and a client key store
    Map<String, String> env = base();
    env.put("KAFKA_SECURITY_PROTOCOL", "sasl_ssl");
    env.put("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512");
    env.put("KAFKA_SASL_JAAS_CONFIG", JAAS);
    env.put("KAFKA_SSL_TRUSTSTORE_LOCATION", "/etc/kafka/truststore.p12");
    env.put("KAFKA_SSL_TRUSTSTORE_PASSWORD", "trust-3e9a1c7f");
    env.put("KAFKA_SSL_TRUSTSTORE_TYPE", "PKCS12");
    env.put("KAFKA_SSL_KEYSTORE_LOCATION", "/etc/kafka/keystore.p12");
    env.put("KAFKA_SSL_KEYSTORE_PASSWORD", "key-5b2d8e0a");

    // When the configuration is read and the clients' properties are built
    KafkaConfig config = KafkaConfig.fromEnv(Env.of(env));

    // Then producer, consumer and admin client all carry them
    for (Properties props : everyClient(config)) {
      assertThat(props)
          .containsEntry("bootstrap.servers", "kafka-0:9093")
          .containsEntry("security.protocol", "SASL_SSL")
          .containsEntry("sasl.mechanism", "SCRAM-SHA-512")
          .containsEntry("sasl.jaas.config", JAAS)
          .containsEntry("ssl.truststore.location", "/etc/kafka/truststore.p12")
          .containsEntry("ssl.truststore.password", "trust-3e9a1c7f")
          .containsEntry("ssl.truststore.type", "PKCS12")
          .containsEntry("ssl.keystore.location", "/etc/kafka/keystore.p12")
          .containsEntry("ssl.keystore.password", "key-5b2d8e0a");
    }
    // And the configuration, as printed, names neither the JAAS line nor a password
    assertThat(config.toString())
        .contains("SASL_SSL", "SCRAM-SHA-512")
        .doesNotContain("9c1f4e7a2b8d3f60e5a71c94b02d6f83")
        .doesNotContain("ScramLoginModule")
        .doesNotContain("trust-3e9a1c7f")
        .doesNotContain("key-5b2d8e0a");
  }

  @Test
  void shouldRefuseToStartWhenTheCombinationCannotWork() {
    // Given combinations Kafka would refuse later or silently ignore, by the variable to blame
    Map<String, Map<String, String>> invalid =
        Map.of(
            "KAFKA_SASL_JAAS_CONFIG",
            Map.of("KAFKA_SECURITY_PROTOCOL", "SASL_SSL", "KAFKA_SASL_MECHANISM", "SCRAM-SHA-512"),
            "KAFKA_SASL_MECHANISM",
            Map.of("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT", "KAFKA_SASL_JAAS_CONFIG", JAAS),
            "KAFKA_SECURITY_PROTOCOL",
            Map.of("KAFKA_SECURITY_PROTOCOL", "TLS"),
            "KAFKA_SSL_TRUSTSTORE_LOCATION",
            Map.of("KAFKA_SSL_TRUSTSTORE_LOCATION", "/etc/kafka/truststore.p12"),
            "KAFKA_SSL_KEYSTORE_PASSWORD",
            Map.of(
                "KAFKA_SECURITY_PROTOCOL", "SSL",
                "KAFKA_SSL_KEYSTORE_LOCATION", "/etc/kafka/keystore.p12"));

    // When a service reads each, then it refuses with one line naming the variable
    invalid.forEach(
        (variable, settings) -> {
          Map<String, String> env = base();
          env.putAll(settings);
          assertThatThrownBy(() -> KafkaConfig.fromEnv(Env.of(env)))
              .as(variable)
              .isInstanceOf(ConfigException.class)
              .hasMessageContaining(variable)
              .hasMessageNotContaining("9c1f4e7a2b8d3f60e5a71c94b02d6f83");
        });
    // And PLAIN without TLS is refused: it would send the password in clear text
    Map<String, String> plainOverPlaintext = base();
    plainOverPlaintext.putAll(
        Map.of(
            "KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT",
            "KAFKA_SASL_MECHANISM", "PLAIN",
            "KAFKA_SASL_JAAS_CONFIG", JAAS));
    assertThatThrownBy(() -> KafkaConfig.fromEnv(Env.of(plainOverPlaintext)))
        .hasMessageContaining("KAFKA_SASL_MECHANISM")
        .hasMessageContaining("clear text");
    Map<String, String> noJaas = base();
    noJaas.putAll(Map.of("KAFKA_SECURITY_PROTOCOL", "SASL_SSL", "KAFKA_SASL_MECHANISM", "PLAIN"));
    assertThatThrownBy(() -> KafkaConfig.fromEnv(Env.of(noJaas)))
        .isInstanceOf(MissingConfigException.class)
        .hasMessage("missing required environment variable KAFKA_SASL_JAAS_CONFIG");
  }

  @Test
  void shouldRefuseToStartWhenTheJaasLineCarriesAPlaceholderPassword() {
    // Given SASL credentials copied from an example, or guessable, inside the JAAS line
    for (String password : List.of("CHANGE_ME", "changeme", "kafka-password", "aaaaaaaaaaaa")) {
      Map<String, String> env = base();
      env.put("KAFKA_SECURITY_PROTOCOL", "SASL_SSL");
      env.put("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512");
      env.put(
          "KAFKA_SASL_JAAS_CONFIG",
          "org.apache.kafka.common.security.scram.ScramLoginModule required"
              + " username=\"payment-processor\" password=\""
              + password
              + "\";");

      // When a service reads its configuration
      // Then it refuses to start, naming the variable and never the value
      assertThatThrownBy(() -> KafkaConfig.fromEnv(Env.of(env)))
          .as(password)
          .isInstanceOf(InvalidConfigException.class)
          .hasMessageStartingWith("invalid environment variable KAFKA_SASL_JAAS_CONFIG:")
          .hasMessageNotContaining(password);
    }
  }
}
