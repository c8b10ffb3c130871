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

  private static StripeEvent decline(String id, String request, String created, String error) {
    return StripeEvent.parse(
        bytes(
            ("{\"id\":\"%s\",\"object\":\"event\",\"type\":\"payment_intent.payment_failed\","
                    + "%s%s\"data\":{\"object\":{\"id\":\"pi_1\",\"object\":\"payment_intent\","
                    + "\"last_payment_error\":%s}}}")
                .formatted(id, request, created, error)));
  }

  @Test
  void shouldNameADeclinedAttemptByWhatTheEventsReportingItShare() {
    String withCharge = "{\"charge\":\"ch_1\",\"code\":\"card_declined\"}";
    String withoutCharge = "{\"code\":\"payment_intent_authentication_failure\"}";
    String request = "\"request\":{\"id\":\"req_1\",\"idempotency_key\":null},";
    String noRequest = "\"request\":{\"id\":null,\"idempotency_key\":null},";

    // a charge: the charge, whatever else the events say
    assertThat(decline("evt_1", request, "\"created\":1,", withCharge).failedAttempt())
        .isEqualTo("ch_1");
    // no charge: two events of one request name one attempt, even a second apart
    assertThat(decline("evt_1", request, "\"created\":1,", withoutCharge).failedAttempt())
        .isEqualTo(decline("evt_2", request, "\"created\":2,", withoutCharge).failedAttempt())
        .isEqualTo("pi_1/req_1/payment_intent_authentication_failure/-");
    // another request (a confirmation of its own) is another attempt, however alike
    assertThat(
            decline("evt_3", request.replace("req_1", "req_2"), "\"created\":1,", withoutCharge)
                .failedAttempt())
        .isEqualTo("pi_1/req_2/payment_intent_authentication_failure/-");
    // an API version before 2017-05-25 states the request as its id
    assertThat(decline("evt_4", "\"request\":\"req_1\",", "", withoutCharge).failedAttempt())
        .isEqualTo("pi_1/req_1/payment_intent_authentication_failure/-");
    // no request: the second the change happened
    assertThat(decline("evt_5", noRequest, "\"created\":7,", withoutCharge).failedAttempt())
        .isEqualTo(decline("evt_6", "", "\"created\":7,", withoutCharge).failedAttempt())
        .isEqualTo("pi_1/at-7/payment_intent_authentication_failure/-");
    // neither a request nor a time: only the event itself
    assertThat(decline("evt_7", noRequest, "", withoutCharge).failedAttempt()).isEqualTo("evt_7");
  }

  @Test
  void shouldRefuseWhenTheBodyIsNotAStripeEvent() {
    assertThatThrownBy(() -> StripeEvent.parse(bytes("not json")))
        .isInstanceOf(InvalidStripeEventException.class);
    assertThatThrownBy(() -> StripeEvent.parse(bytes("[1,2]")))
        .isInstanceOf(InvalidStripeEventException.class);
    // an event followed by more text is not one JSON document (PostgreSQL's jsonb refuses it too)
    String event =
        "{\"object\":\"event\",\"id\":\"evt_1\",\"type\":\"a\",\"data\":{\"object\":{}}}";
    assertThatThrownBy(() -> StripeEvent.parse(bytes(event + " {\"id\":\"evt_2\"}")))
        .hasMessage("body is not JSON");
    assertThatThrownBy(() -> StripeEvent.parse(bytes(event + " trailing")))
        .hasMessage("body is not JSON");
    assertThat(StripeEvent.parse(bytes(event + " \n")).id()).isEqualTo("evt_1");
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
