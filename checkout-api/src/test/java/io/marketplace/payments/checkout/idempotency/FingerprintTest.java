package io.marketplace.payments.checkout.idempotency;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class FingerprintTest {

  private static String of(String method, String path, String body) {
    return Fingerprint.of(method, path, body.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void shouldMatchWhenJsonDiffersOnlyInKeyOrderAndWhitespace() {
    // When
    String a = of("POST", "/p", "{\"a\":1,\"b\":{\"y\":2,\"x\":[1,2]}}");
    String b = of("POST", "/p", " { \"b\" : { \"x\" : [1, 2], \"y\" : 2 }, \"a\" : 1 } ");

    // Then
    assertThat(a).isEqualTo(b);
  }

  @Test
  void shouldDifferWhenBodyPathOrMethodDiffers() {
    // Given
    String base = of("POST", "/p", "{\"a\":1}");

    // Then
    assertThat(of("POST", "/p", "{\"a\":2}")).isNotEqualTo(base);
    assertThat(of("POST", "/q", "{\"a\":1}")).isNotEqualTo(base);
    assertThat(of("PUT", "/p", "{\"a\":1}")).isNotEqualTo(base);
    assertThat(of("POST", "/p", "[1,2]")).isNotEqualTo(of("POST", "/p", "[2,1]"));
  }

  @Test
  void shouldDifferWhenJsonIsFollowedByMoreContent() {
    // Then a body with content after its JSON value is not that JSON value
    String json = of("POST", "/p", "{\"a\":1}");
    assertThat(of("POST", "/p", "{\"a\":1} x")).isNotEqualTo(json);
    assertThat(of("POST", "/p", "{\"a\":1}{\"a\":2}")).isNotEqualTo(json);
    assertThat(of("POST", "/p", "{\"a\":1}\n")).isEqualTo(json);
  }

  @Test
  void shouldDifferWhenJsonNamesAFieldTwice() {
    // Then a body naming a field twice, which the routes refuse, is not the body of its last value
    assertThat(of("POST", "/p", "{\"a\":1,\"a\":2}")).isNotEqualTo(of("POST", "/p", "{\"a\":2}"));
  }

  @Test
  void shouldCompareBytesWhenBodyIsNotJson() {
    // Then
    assertThat(of("POST", "/p", "a=1")).isEqualTo(of("POST", "/p", "a=1"));
    assertThat(of("POST", "/p", "a=1")).isNotEqualTo(of("POST", "/p", "a=1 "));
    assertThat(of("POST", "/p", "")).isNotEqualTo(of("POST", "/p", "{}"));
  }
}
