package io.marketplace.payments.processor.audit;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Which payloads {@code jsonb} takes as they are (stored once, {@code payload_raw} NULL) and which
 * take the way through a tree; what PostgreSQL makes of each is in {@code PaymentEventsTest}.
 */
class StorablePayloadTest {

  @ParameterizedTest
  @ValueSource(
      strings = {
        "{\"note\":\"plain\"}",
        "{\"note\":\"caf\\u00e9 \\ud83d\\ude00 \\uD83D\\uDE00\"}",
        "{\"note\":\"\\u0041\\u00e9\\\\ud8\"}"
      })
  void shouldStoreAsItIsAPayloadJsonbTakes(String payload) {
    assertThat(WebhookEvents.hasUnpairedSurrogateEscape(payload)).isFalse();
    assertThat(WebhookEvents.storable(payload)).isSameAs(payload);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "{\"note\":\"\\ud800\"}",
        "{\"note\":\"\\udc00\"}",
        "{\"note\":\"\\ud83d\\ud83d\\ude00\"}",
        "{\"note\":\"\\ude00\\ud83d\"}",
        "{\"note\":\"\\ud83d\\u0041\"}",
        "{\"note\":\"end \\ud83d\"}"
      })
  void shouldFindAnUnpairedHalf(String payload) {
    assertThat(WebhookEvents.hasUnpairedSurrogateEscape(payload)).isTrue();
    assertThat(WebhookEvents.storable(payload)).isNotEqualTo(payload).contains("\uFFFD");
  }

  @ParameterizedTest
  @ValueSource(strings = {"{\"note\":\"\\\\ud800\"}", "{\"note\":\"\\\\\\\\ud800\"}"})
  void shouldKeepTheTextOfAnEscapedBackslashFollowedByU(String payload) {
    // read as an escape by the quick look, so the payload goes through the tree, which keeps the
    // text as it is: a backslash, then "ud800"
    assertThat(WebhookEvents.storable(payload)).contains("ud800").doesNotContain("\uFFFD");
  }
}
