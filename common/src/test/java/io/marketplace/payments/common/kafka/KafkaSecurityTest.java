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
    env.put("KAFKA_SSL_KEYSTORE_PASSWORD", "Vb8Kq3Xw7Nz2Lp6Rt9Hm4Jc1Fd5Gs0Ya");

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
          .containsEntry("ssl.keystore.password", "Vb8Kq3Xw7Nz2Lp6Rt9Hm4Jc1Fd5Gs0Ya");
    }
    // And the configuration, as printed, names neither the JAAS line nor a password
    assertThat(config.toString())
        .contains("SASL_SSL", "SCRAM-SHA-512")
        .doesNotContain("9c1f4e7a2b8d3f60e5a71c94b02d6f83")
        .doesNotContain("ScramLoginModule")
        .doesNotContain("trust-3e9a1c7f")
        .doesNotContain("Vb8Kq3Xw7Nz2Lp6Rt9Hm4Jc1Fd5Gs0Ya");
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

  @Test
  void shouldRefuseToStartWhenABrokerOrTlsSettingIsAPlaceholderOrAKeyPasswordIsGuessable() {
    // Given mutual TLS over SASL, every value real
    Map<String, String> real = base();
    real.put("KAFKA_SECURITY_PROTOCOL", "SASL_SSL");
    real.put("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512");
    real.put("KAFKA_SASL_JAAS_CONFIG", JAAS);
    real.put("KAFKA_SSL_TRUSTSTORE_LOCATION", "/etc/kafka-tls/truststore.p12");
    real.put("KAFKA_SSL_TRUSTSTORE_PASSWORD", "changeit");
    real.put("KAFKA_SSL_TRUSTSTORE_TYPE", "PKCS12");
    real.put("KAFKA_SSL_KEYSTORE_LOCATION", "/etc/kafka-tls/keystore.p12");
    real.put("KAFKA_SSL_KEYSTORE_PASSWORD", "Qm7v2XkR9pL4tWz8Hs3NcB6yFd1Jg5Ae");
    real.put("KAFKA_SSL_KEYSTORE_TYPE", "PKCS12");
    real.put("KAFKA_SSL_KEY_PASSWORD", "Zt4Wq8Lm2Rv6Xn9Bp3Kc7Hd1Fs5Gj0Ya");
    assertThat(KafkaConfig.fromEnv(Env.of(real)).producer("p").get("ssl.key.password"))
        .isEqualTo("Zt4Wq8Lm2Rv6Xn9Bp3Kc7Hd1Fs5Gj0Ya");

    // When any one of them is copied from an example, or a key password is guessable
    Map<String, List<String>> bad = new java.util.TreeMap<>();
    bad.put("KAFKA_BOOTSTRAP_SERVERS", List.of("CHANGE_ME:9092", "kafka.example.com:9093"));
    bad.put("KAFKA_SSL_TRUSTSTORE_LOCATION", List.of("/etc/kafka-tls/CHANGE_ME.p12"));
    bad.put("KAFKA_SSL_TRUSTSTORE_PASSWORD", List.of("CHANGE_ME", "dummy"));
    bad.put("KAFKA_SSL_TRUSTSTORE_TYPE", List.of("CHANGE_ME"));
    bad.put("KAFKA_SSL_KEYSTORE_LOCATION", List.of("/etc/kafka-tls/example.p12"));
    bad.put("KAFKA_SSL_KEYSTORE_TYPE", List.of("CHANGE_ME"));
    bad.put("KAFKA_SSL_KEYSTORE_PASSWORD", List.of("CHANGE_ME", "s3cr3t", "key-5b2d8e0a"));
    bad.put("KAFKA_SSL_KEY_PASSWORD", List.of("changeme", "aaaaaaaaaaaaaaaaaaaa"));
    for (Map.Entry<String, List<String>> variable : bad.entrySet()) {
      for (String value : variable.getValue()) {
        Map<String, String> env = new HashMap<>(real);
        env.put(variable.getKey(), value);

        // Then the service refuses to start, naming the variable and never the value
        assertThatThrownBy(() -> KafkaConfig.fromEnv(Env.of(env)))
            .as("%s=%s", variable.getKey(), value)
            .isInstanceOf(InvalidConfigException.class)
            .hasMessageStartingWith("invalid environment variable " + variable.getKey() + ":")
            .hasMessageNotContaining(value);
      }
    }
  }
}
