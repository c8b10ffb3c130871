package io.marketplace.payments.common.events;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.common.json.Json;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class PaymentEventTest {

  @Test
  void shouldGiveTheSameIdWhenTheSameFactIsAnnouncedAgain() {
    // Given the activation of one listing by one payment, processed twice at different times
    PaymentEvent first =
        PaymentEvent.of(PaymentEventType.LISTING_ACTIVATED, "L1:pi_1", Instant.EPOCH, Map.of());
    PaymentEvent again =
        PaymentEvent.of(
            PaymentEventType.LISTING_ACTIVATED, "L1:pi_1", Instant.EPOCH.plusSeconds(60), Map.of());

    // Then one id; another fact or another type has another id
    assertThat(again.id()).isEqualTo(first.id());
    assertThat(PaymentEvent.idFor(PaymentEventType.LISTING_ACTIVATED, "L1:pi_2"))
        .isNotEqualTo(first.id());
    assertThat(PaymentEvent.idFor(PaymentEventType.PAYMENT_SUCCEEDED, "L1:pi_1"))
        .isNotEqualTo(first.id());
  }

  @Test
  void shouldSerializeTheSpecEnvelopeWhenWritten() {
    // Given
    PaymentEvent event =
        PaymentEvent.of(
            PaymentEventType.USER_BANNED,
            "u1",
            Instant.parse("2026-01-02T03:04:05Z"),
            Map.of("userId", "u1"));

    // When
    JsonNode json = Json.mapper().valueToTree(event);

    // Then {"id","type","occurredAt","version":1,"data"}
    assertThat(json.fieldNames())
        .toIterable()
        .containsExactly("id", "type", "occurredAt", "version", "data");
    assertThat(json.path("type").asText()).isEqualTo("user.banned");
    assertThat(json.path("occurredAt").asText()).isEqualTo("2026-01-02T03:04:05Z");
    assertThat(json.path("version").asInt()).isEqualTo(1);
    assertThat(json.path("data").path("userId").asText()).isEqualTo("u1");
  }

  record Fact(UUID listingId, String paymentIntentId, long amountCents, Instant at, String note) {}

  @Test
  void shouldWriteTheSameJsonAsTheEventWhenWrittenWithoutItsTree() {
    // Given a fact with every kind of value the services announce (a null among them)
    Fact fact =
        new Fact(
            UUID.fromString("5b0c1e8e-1c1a-4a6e-9d0e-6f1f0d9c2a11"),
            "pi_3Q\"quoted\"",
            12_345_678_901L,
            Instant.parse("2026-01-02T03:04:05.123456Z"),
            null);

    // When it is written in one pass, and as the event of() builds
    PaymentEvent.Written written =
        PaymentEvent.written(PaymentEventType.PAYMENT_SUCCEEDED, "pi_1", Instant.EPOCH, fact);
    PaymentEvent event =
        PaymentEvent.of(PaymentEventType.PAYMENT_SUCCEEDED, "pi_1", Instant.EPOCH, fact);

    // Then the same id, type and bytes
    assertThat(written.id()).isEqualTo(event.id());
    assertThat(written.type()).isEqualTo(event.type());
    assertThat(written.json()).isEqualTo(Json.write(event));
    assertThat(written.json()).contains("\"note\":null", "\"amountCents\":12345678901");
  }
}
