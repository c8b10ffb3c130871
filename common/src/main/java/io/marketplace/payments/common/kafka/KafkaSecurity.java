package io.marketplace.payments.common.kafka;

import io.marketplace.payments.common.config.Deployment;
import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.common.config.InvalidConfigException;
import io.marketplace.payments.common.config.MissingConfigException;
import io.marketplace.payments.common.config.SecretCheck;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.config.SslConfigs;

/**
 * How every Kafka client of a service authenticates to the brokers and checks them: the security
 * protocol, SASL (mechanism and JAAS line) and TLS trust and key stores, from the environment. The
 * same settings go to producers, consumers and admin clients. A combination Kafka would ignore or
 * refuse later (SASL without a JAAS line, a trust store over plaintext) is refused at start. The
 * JAAS line and the passwords never appear in {@link #toString()}.
 */
public record KafkaSecurity(
    String protocol,
    String saslMechanism,
    String saslJaasConfig,
    String truststoreLocation,
    String truststorePassword,
    String truststoreType,
    String keystoreLocation,
    String keystorePassword,
    String keystoreType,
    String keyPassword) {

  public static final List<String> PROTOCOLS =
      List.of("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL");

  public static final List<String> MECHANISMS =
      List.of("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER", "GSSAPI");

  /** No authentication, no encryption: a broker on a trusted network (compose, the local stack). */
  public static KafkaSecurity plaintext() {
    return new KafkaSecurity("PLAINTEXT", "", "", "", "", "", "", "", "", "");
  }

  public static KafkaSecurity fromEnv(Env env) {
    String protocol = env.optional("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT").toUpperCase(Locale.ROOT);
    if (!PROTOCOLS.contains(protocol)) {
      throw new InvalidConfigException(
          "KAFKA_SECURITY_PROTOCOL", "must be one of " + String.join(", ", PROTOCOLS));
    }
    boolean sasl = protocol.startsWith("SASL_");
    boolean tls = protocol.endsWith("SSL");
    if (!tls && Deployment.fromEnv(env).isProduction()) {
      throw new InvalidConfigException(
          "KAFKA_SECURITY_PROTOCOL",
          Deployment.inProduction(
              "must be SASL_SSL or SSL: every pod can reach the brokers, and without TLS and"
                  + " authentication any of them could write Stripe events"));
    }
    String mechanism = env.optional("KAFKA_SASL_MECHANISM", "").toUpperCase(Locale.ROOT);
    String jaas = env.optional("KAFKA_SASL_JAAS_CONFIG", "");
    if (sasl) {
      if (mechanism.isEmpty()) {
        throw new MissingConfigException("KAFKA_SASL_MECHANISM");
      }
      if (!MECHANISMS.contains(mechanism)) {
        throw new InvalidConfigException(
            "KAFKA_SASL_MECHANISM", "must be one of " + String.join(", ", MECHANISMS));
      }
      if (jaas.isEmpty()) {
        throw new MissingConfigException("KAFKA_SASL_JAAS_CONFIG");
      }
      refuseGuessableCredentials(jaas);
      if (mechanism.equals("PLAIN") && !tls) {
        throw new InvalidConfigException(
            "KAFKA_SASL_MECHANISM",
            "PLAIN over SASL_PLAINTEXT sends the password in clear text; use SASL_SSL");
      }
    } else {
      refuseUnless(false, env, protocol, "KAFKA_SASL_MECHANISM", "KAFKA_SASL_JAAS_CONFIG");
    }
    refuseUnless(
        tls,
        env,
        protocol,
        "KAFKA_SSL_TRUSTSTORE_LOCATION",
        "KAFKA_SSL_TRUSTSTORE_PASSWORD",
        "KAFKA_SSL_TRUSTSTORE_TYPE",
        "KAFKA_SSL_KEYSTORE_LOCATION",
        "KAFKA_SSL_KEYSTORE_PASSWORD",
        "KAFKA_SSL_KEYSTORE_TYPE",
        "KAFKA_SSL_KEY_PASSWORD");
    refusePlaceholders(
        env,
        "KAFKA_SSL_TRUSTSTORE_LOCATION",
        "KAFKA_SSL_TRUSTSTORE_PASSWORD",
        "KAFKA_SSL_TRUSTSTORE_TYPE",
        "KAFKA_SSL_KEYSTORE_LOCATION",
        "KAFKA_SSL_KEYSTORE_TYPE");
    String truststore = env.optional("KAFKA_SSL_TRUSTSTORE_LOCATION", "");
    String truststorePassword = env.optional("KAFKA_SSL_TRUSTSTORE_PASSWORD", "");
    if (truststore.isEmpty() && !truststorePassword.isEmpty()) {
      throw new MissingConfigException("KAFKA_SSL_TRUSTSTORE_LOCATION");
    }
    String keystore = env.optional("KAFKA_SSL_KEYSTORE_LOCATION", "");
    // the key store's passwords guard the client's private key: secrets, checked as every other
    String keystorePassword = env.optionalSecret("KAFKA_SSL_KEYSTORE_PASSWORD");
    String keyPassword = env.optionalSecret("KAFKA_SSL_KEY_PASSWORD");
    if (!keystore.isEmpty() && keystorePassword.isEmpty()) {
      throw new MissingConfigException("KAFKA_SSL_KEYSTORE_PASSWORD");
    }
    if (keystore.isEmpty() && !keystorePassword.isEmpty()) {
      throw new MissingConfigException("KAFKA_SSL_KEYSTORE_LOCATION");
    }
    if (!sasl && keystore.isEmpty() && Deployment.fromEnv(env).isProduction()) {
      // SSL alone encrypts, but a client without a certificate is anonymous to the brokers' ACLs
      throw new InvalidConfigException(
          "KAFKA_SSL_KEYSTORE_LOCATION",
          Deployment.inProduction(
              "is required with KAFKA_SECURITY_PROTOCOL=SSL: without a client certificate the"
                  + " brokers cannot tell this service from any other pod"));
    }
    return new KafkaSecurity(
        protocol,
        sasl ? mechanism : "",
        sasl ? jaas : "",
        truststore,
        truststorePassword,
        env.optional("KAFKA_SSL_TRUSTSTORE_TYPE", ""),
        keystore,
        keystorePassword,
        env.optional("KAFKA_SSL_KEYSTORE_TYPE", ""),
        keyPassword);
  }

  /**
   * Settings copied from an example ({@code CHANGE_ME}, {@code example}) are refused as secrets
   * are, naming the variable and never the value. A trust store's password guards no secret (the
   * JDK's own is {@code changeit}), so it is held to that only.
   */
  private static void refusePlaceholders(Env env, String... names) {
    for (String name : names) {
      if (SecretCheck.isPlaceholder(env.optional(name, "x"))) {
        throw new InvalidConfigException(name, "is a placeholder, not a real value");
      }
    }
  }

  /**
   * The secrets a JAAS line carries ({@code password="..."} of PLAIN and SCRAM, {@code
   * clientSecret="..."} of OAuth client credentials) are checked as every other secret is: a
   * placeholder copied from an example ({@code CHANGE_ME}) or a guessable value is refused at
   * start, naming the variable and never the value.
   */
  private static void refuseGuessableCredentials(String jaas) {
    Matcher credential = JAAS_SECRET.matcher(jaas);
    while (credential.find()) {
      String value = credential.group(2) != null ? credential.group(2) : credential.group(3);
      SecretCheck.weakness(value)
          .ifPresent(
              problem -> {
                throw new InvalidConfigException(
                    "KAFKA_SASL_JAAS_CONFIG", "its " + credential.group(1) + " " + problem);
              });
    }
  }

  /** {@code password="..."} or {@code clientSecret=...} in a JAAS line, quoted or not. */
  private static final Pattern JAAS_SECRET =
      Pattern.compile(
          "\\b(password|clientSecret|clientsecret)\\s*=\\s*(?:\"([^\"]*)\"|([^\\s;\"]+))");

  /** Settings Kafka would silently ignore under {@code protocol} are a mistake: refuse them. */
  private static void refuseUnless(boolean allowed, Env env, String protocol, String... names) {
    if (allowed) {
      return;
    }
    for (String name : names) {
      if (!env.optional(name, "").isEmpty()) {
        throw new InvalidConfigException(
            name, "has no effect with KAFKA_SECURITY_PROTOCOL=" + protocol);
      }
    }
  }

  /** The client settings, for producers, consumers and admin clients alike. */
  public Properties properties() {
    Properties props = new Properties();
    props.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, protocol);
    putIfSet(props, SaslConfigs.SASL_MECHANISM, saslMechanism);
    putIfSet(props, SaslConfigs.SASL_JAAS_CONFIG, saslJaasConfig);
    putIfSet(props, SslConfigs.SSL_TRUSTSTORE_LOCATION_CONFIG, truststoreLocation);
    putIfSet(props, SslConfigs.SSL_TRUSTSTORE_PASSWORD_CONFIG, truststorePassword);
    putIfSet(props, SslConfigs.SSL_TRUSTSTORE_TYPE_CONFIG, truststoreType);
    putIfSet(props, SslConfigs.SSL_KEYSTORE_LOCATION_CONFIG, keystoreLocation);
    putIfSet(props, SslConfigs.SSL_KEYSTORE_PASSWORD_CONFIG, keystorePassword);
    putIfSet(props, SslConfigs.SSL_KEYSTORE_TYPE_CONFIG, keystoreType);
    putIfSet(props, SslConfigs.SSL_KEY_PASSWORD_CONFIG, keyPassword);
    return props;
  }

  private static void putIfSet(Properties props, String key, String value) {
    if (value != null && !value.isEmpty()) {
      props.put(key, value);
    }
  }

  /** The protocol, mechanism and store paths; never the JAAS line or a password. */
  @Override
  public String toString() {
    return "KafkaSecurity[protocol="
        + protocol
        + (saslMechanism.isEmpty() ? "" : ", saslMechanism=" + saslMechanism + ", jaas=(redacted)")
        + (truststoreLocation.isEmpty() ? "" : ", truststore=" + truststoreLocation)
        + (keystoreLocation.isEmpty() ? "" : ", keystore=" + keystoreLocation)
        + "]";
  }
}
