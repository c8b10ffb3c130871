package io.marketplace.payments.common.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.common.config.InvalidConfigException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class HttpConfigTest {

  @Test
  void shouldUseProductionDefaultsWhenNothingIsSet() {
    // Given an environment without HTTP_ variables
    Env env = Env.of(Map.of());

    // When it is read
    HttpConfig config = HttpConfig.fromEnv(env);

    // Then the limits are the defaults
    assertThat(config).isEqualTo(HttpConfig.defaults());
    assertThat(config.maxConnections()).isEqualTo(4096);
    assertThat(config.acceptQueueSize()).isEqualTo(1024);
    assertThat(config.idleTimeout()).isEqualTo(Duration.ofSeconds(30));
    assertThat(config.headerTimeout()).isEqualTo(Duration.ofSeconds(10));
    assertThat(config.bodyTimeout()).isEqualTo(Duration.ofSeconds(10));
  }

  @Test
  void shouldReadEachLimitWhenSet() {
    // Given every HTTP_ variable set
    Env env =
        Env.of(
            Map.of(
                "HTTP_MAX_CONNECTIONS", "500",
                "HTTP_ACCEPT_QUEUE_SIZE", "256",
                "HTTP_IDLE_TIMEOUT", "45s",
                "HTTP_HEADER_TIMEOUT", "5s",
                "HTTP_BODY_TIMEOUT", "7s"));

    // When it is read, then each is as set
    assertThat(HttpConfig.fromEnv(env))
        .isEqualTo(
            new HttpConfig(500, 256, Duration.ofSeconds(45))
                .withHeaderTimeout(Duration.ofSeconds(5))
                .withBodyTimeout(Duration.ofSeconds(7)));
  }

  @Test
  void shouldNameTheVariableWhenALimitIsNotPositive() {
    // Given limits of zero, or a negative or malformed timeout
    for (Map.Entry<String, String> bad :
        Map.of(
                "HTTP_MAX_CONNECTIONS", "0",
                "HTTP_ACCEPT_QUEUE_SIZE", "-1",
                "HTTP_IDLE_TIMEOUT", "0s",
                "HTTP_HEADER_TIMEOUT", "0ms",
                "HTTP_BODY_TIMEOUT", "-1s")
            .entrySet()) {
      Env env = Env.of(Map.of(bad.getKey(), bad.getValue()));

      // When it is read, then the service refuses to start naming the variable
      assertThatThrownBy(() -> HttpConfig.fromEnv(env))
          .isInstanceOf(InvalidConfigException.class)
          .hasMessageContaining(bad.getKey());
    }
    for (String timeout :
        List.of("HTTP_IDLE_TIMEOUT", "HTTP_HEADER_TIMEOUT", "HTTP_BODY_TIMEOUT")) {
      assertThatThrownBy(() -> HttpConfig.fromEnv(Env.of(Map.of(timeout, "soon"))))
          .isInstanceOf(InvalidConfigException.class)
          .hasMessageContaining(timeout);
    }
  }

  @Test
  void shouldListenOnEveryInterfaceUnlessABindAddressIsSet() {
    // Given no HTTP_BIND_ADDRESS, then the server listens on every interface (a container's need)
    assertThat(HttpConfig.fromEnv(Env.of(Map.of())).bindAddress()).isNull();

    // Given the loopback as bind address, then the server listens there, and is reached there
    HttpConfig loopback = HttpConfig.fromEnv(Env.of(Map.of("HTTP_BIND_ADDRESS", "127.0.0.1")));
    assertThat(loopback.bindAddress()).isEqualTo("127.0.0.1");
    assertThat(HttpConfig.urlHost(loopback.bindAddress())).isEqualTo("127.0.0.1");
    assertThat(HttpConfig.urlHost("::1")).isEqualTo("[::1]");
    assertThat(HttpConfig.urlHost("0.0.0.0")).isEqualTo("localhost");
  }

  @Test
  void shouldNameTheVariableWhenTheBindAddressIsNoAddress() {
    // Given a bind address that names no host
    Env env = Env.of(Map.of("HTTP_BIND_ADDRESS", "no-such-host.invalid"));

    // When it is read, then the service refuses to start naming the variable
    assertThatThrownBy(() -> HttpConfig.fromEnv(env))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("HTTP_BIND_ADDRESS");
  }
}
