package io.marketplace.payments.gateway.webhook;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.marketplace.payments.common.stripe.InvalidStripeEventException;
import io.marketplace.payments.common.stripe.StripeEvent;
import io.marketplace.payments.gateway.StripeEvents;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The gateway reads only an event's envelope, in one streaming pass; the workers read the whole
 * event as a tree ({@link StripeEvent#parse}). Both must agree on every body: the same refusal, or
 * the same id, type and Kafka key.
 */
class EventEnvelopeTest {

  @Test
  void shouldReadTheIdTypeAndKeyOfEveryEventShapeAsTheWorkersDo() {
    // Given events of every shape Stripe sends us
    for (String type :
        List.of(
            "payment_intent.succeeded",
            "charge.succeeded",
            "charge.refunded",
            "charge.dispute.created",
            "customer.created")) {
      StripeEvents.Sample sample = StripeEvents.of(type);

      // When the envelope is read
      EventEnvelope envelope = EventEnvelope.parse(sample.body());

      // Then it names the event, and keys it by its PaymentIntent, else by its object
      assertThat(envelope.id()).isEqualTo(sample.id());
      assertThat(envelope.type()).isEqualTo(type);
      assertThat(envelope.key())
          .isEqualTo(
              sample.paymentIntentId() != null ? sample.paymentIntentId() : sample.objectId());
      assertSameAsTree(sample.body());
    }
  }

  @Test
  void shouldAgreeWithTheTreeOnOddAndBrokenBodies() {
    // Given bodies that are odd, wrong or broken in the ways a signed body can be
    String valid = StripeEvents.of("charge.succeeded").text();
    List<String> bodies = new ArrayList<>();
    bodies.addAll(
        List.of(
            "",
            "   ",
            "{}",
            "[]",
            "\"evt_1\"",
            "null",
            "42",
            "{",
            "{\"id\":\"evt_1\"",
            "{\"id\":\"evt_1\",}",
            "{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"x\",\"data\":{\"object\":{}}} trailing",
            "{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"x\",\"data\":{\"object\":{}}}",
            "{\"id\":\"evt_1\",\"object\":\"charge\",\"type\":\"x\",\"data\":{\"object\":{}}}",
            "{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"charge.succeeded\"}",
            "{\"id\":\"evt_1\",\"object\":\"event\",\"data\":{\"object\":{\"id\":\"ch_1\"}}}",
            "{\"id\":\"ch_1\",\"object\":\"event\",\"type\":\"x\",\"data\":{\"object\":{\"id\":\"ch_1\"}}}",
            "{\"id\":7,\"object\":\"event\",\"type\":\"x\",\"data\":{\"object\":{\"id\":\"ch_1\"}}}",
            "{\"id\":\"evt_1\",\"object\":\"event\",\"type\":null,\"data\":{\"object\":{}}}",
            "{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"  \",\"data\":{\"object\":{}}}",
            "{\"id\":\"evt_1\",\"object\":\"event\",\"type\":{\"a\":1},\"data\":{\"object\":{}}}",
            "{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"x\",\"data\":{\"object\":[]}}",
            "{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"x\",\"data\":[{\"object\":{}}]}",
            // duplicated names: the last one counts, as in a tree
            "{\"id\":\"evt_1\",\"id\":\"evt_2\",\"object\":\"event\",\"type\":\"x\","
                + "\"data\":{\"object\":{\"id\":\"ch_1\"}}}",
            "{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"x\","
                + "\"data\":{\"object\":{\"id\":\"ch_1\"}},\"data\":{\"object\":{\"id\":\"ch_2\"}}}",
            "{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"x\","
                + "\"data\":{\"object\":{\"id\":\"ch_1\"}},\"data\":{\"previous\":{}}}",
            "{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"x\","
                + "\"data\":{\"object\":{\"id\":\"ch_1\",\"payment_intent\":\"pi_1\"},"
                + "\"object\":{\"id\":\"ch_2\"}}}",
            // keys: nested ids, a PaymentIntent named elsewhere, ids that are no strings
            "{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"charge.succeeded\",\"data\":{"
                + "\"object\":{\"metadata\":{\"id\":\"x\",\"payment_intent\":\"pi_9\"},"
                + "\"id\":\"ch_1\",\"payment_intent\":\"pi_1\"}}}",
            "{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"charge.succeeded\",\"data\":{"
                + "\"object\":{\"id\":\"ch_1\",\"payment_intent\":null}}}",
            "{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"charge.succeeded\",\"data\":{"
                + "\"object\":{\"id\":\"ch_1\",\"payment_intent\":{\"id\":\"pi_1\"}}}}",
            "{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"charge.succeeded\",\"data\":{"
                + "\"object\":{\"id\":12,\"payment_intent\":\" \"}}}",
            "{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"payment_intent.created\",\"data\":{"
                + "\"object\":{\"id\":12}}}",
            "{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"x\",\"data\":{"
                + "\"object\":{\"object\":\"payment_intent\",\"id\":\"pi_3\","
                + "\"payment_intent\":\"pi_4\"}}}",
            "{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"x\",\"data\":{\"object\":{}}}",
            // not JSON deep inside, where only a full pass notices
            valid.substring(0, valid.length() - 2),
            mangled(valid, "\"currency\": \"usd\"", "\"currency\": usd"),
            mangled(valid, "\"livemode\": false", "\"livemode\": fals"),
            mangled(valid, "\"currency\": \"usd\"", "\"currency\": \"u\tsd\"")));

    for (String body : bodies) {
      // When the envelope is read, then it agrees with the tree
      assertSameAsTree(body.getBytes(StandardCharsets.UTF_8));
    }
  }

  private static String mangled(String body, String what, String with) {
    assertThat(body).contains(what);
    return body.replace(what, with);
  }

  /** The same refusal as the tree, or the same id, type and key (the event id when blank). */
  private static void assertSameAsTree(byte[] body) {
    String text = new String(body, StandardCharsets.UTF_8);
    StripeEvent tree;
    try {
      tree = StripeEvent.parse(body);
    } catch (InvalidStripeEventException refused) {
      assertThatThrownBy(() -> EventEnvelope.parse(body))
          .as("refusal of %s", text)
          .isInstanceOf(InvalidStripeEventException.class)
          .hasMessage(refused.getMessage());
      return;
    }
    EventEnvelope envelope = EventEnvelope.parse(body);
    String treeKey = tree.partitionKey().isBlank() ? tree.id() : tree.partitionKey();
    assertThat(envelope)
        .as("envelope of %s", text)
        .isEqualTo(
            new EventEnvelope(
                tree.id(), tree.type(), treeKey, tree.raw().path("livemode").asBoolean(false)));
  }
}
