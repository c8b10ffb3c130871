package io.marketplace.payments.common.stripe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class StripeEventTest {

  private static byte[] bytes(String json) {
    return json.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void shouldKeyByThePaymentIntentWhenTheObjectIsAPaymentIntent() {
    // Given a payment_intent.succeeded event in a newer API version, with fields we do not know
    StripeEvent event =
        StripeEvent.parse(
            bytes(
                """
                {"id":"evt_1","object":"event","api_version":"2099-01-01.future","created":1700000000,
                 "type":"payment_intent.succeeded","brand_new_field":{"x":1},
                 "data":{"object":{"id":"pi_1","object":"payment_intent","amount":500,
                   "metadata":{"listing_id":"L1","payment_type":"posting_fee"}}}}
                """));

    // Then
    assertThat(event.id()).isEqualTo("evt_1");
    assertThat(event.paymentIntentId()).contains("pi_1");
    assertThat(event.partitionKey()).isEqualTo("pi_1");
    assertThat(event.metadata("listing_id")).contains("L1");
    assertThat(event.field("amount").asInt()).isEqualTo(500);
    assertThat(event.created().getEpochSecond()).isEqualTo(1700000000L);
  }

  @Test
  void shouldKeyByItsPaymentIntentWhenTheObjectIsADisputeWithoutMetadata() {
    // Given a dispute: no metadata of ours, only the PaymentIntent it belongs to
    StripeEvent event =
        StripeEvent.parse(
            bytes(
                """
                {"id":"evt_2","object":"event","type":"charge.dispute.created","created":1,
                 "data":{"object":{"id":"du_1","object":"dispute","charge":"ch_1",
                   "payment_intent":"pi_9","metadata":{}}}}
                """));

    // Then
    assertThat(event.partitionKey()).isEqualTo("pi_9");
    assertThat(event.objectId()).isEqualTo("du_1");
    assertThat(event.metadata("listing_id")).isEmpty();
  }

  @Test
  void shouldKeyByTheObjectIdWhenNoPaymentIntentIsConcerned() {
    StripeEvent event =
        StripeEvent.parse(
            bytes(
                """
                {"id":"evt_3","object":"event","type":"customer.created","created":1,
                 "data":{"object":{"id":"cus_1","object":"customer"}}}
                """));

    assertThat(event.partitionKey()).isEqualTo("cus_1");
  }

  @ParameterizedTest(name = "created {0}")
  @ValueSource(strings = {"", "\"created\":0,", "\"created\":\"2026-03-02T10:00:00Z\","})
  void shouldStateNoCreationTimeWhenTheBodyHasNoCountOfSeconds(String created) {
    // Given an event whose created is absent, zero, or a date written as text
    StripeEvent event =
        StripeEvent.parse(
            bytes(
                "{\"id\":\"evt_4\",\"object\":\"event\",\"type\":\"payment_intent.succeeded\","
                    + created
                    + "\"data\":{\"object\":{\"id\":\"pi_1\",\"object\":\"payment_intent\"}}}"));

    // Then it has no creation time, rather than one in 1970
    assertThat(event.created()).isNull();
  }

  @Test
  void shouldRefuseWhenTheBodyIsNotAStripeEvent() {
    assertThatThrownBy(() -> StripeEvent.parse(bytes("not json")))
        .isInstanceOf(InvalidStripeEventException.class);
    assertThatThrownBy(() -> StripeEvent.parse(bytes("[1,2]")))
        .isInstanceOf(InvalidStripeEventException.class);
    assertThatThrownBy(() -> StripeEvent.parse(bytes("{\"object\":\"charge\",\"id\":\"ch_1\"}")))
        .hasMessageContaining("event");
    assertThatThrownBy(
            () ->
                StripeEvent.parse(
                    bytes(
                        "{\"object\":\"event\",\"id\":\"x\",\"type\":\"a\",\"data\":{\"object\":{}}}")))
        .hasMessageContaining("event id");
    assertThatThrownBy(
            () ->
                StripeEvent.parse(bytes("{\"object\":\"event\",\"id\":\"evt_1\",\"type\":\"a\"}")))
        .hasMessageContaining("data.object");
  }
}
