package io.marketplace.payments.processor;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.common.kafka.RecordHeaders;
import io.marketplace.payments.processor.support.ProcessorFixture;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.marketplace.payments.testsupport.StripeFixtures;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** An event that keeps failing goes to the dead-letter topic; its partition moves on. */
class DeadLetterTest {

  private static ProcessorFixture world;

  @BeforeAll
  static void start() {
    world = new ProcessorFixture();
    world.start();
  }

  @AfterAll
  static void stop() {
    world.close();
  }

  @Test
  void shouldDeadLetterPoisonEventAndApplyTheEventsBehindIt() {
    // Given a record that is not a Stripe event at all, followed on the same partition by a good
    // one
    UUID listing = world.listing("pending_payment");
    String pi = world.payment(listing, "posting_fee", 500);
    String poisonId = "evt_3PpoisonPoisonPoison00001";
    sendRaw(
        pi,
        poisonId,
        "{\"id\": \"evt_3PpoisonPoisonPoison00001\", \"object\": \"event\", truncated");
    var good = StripeFixtures.succeeded(pi, 500, world.metadataFor(listing, "posting_fee"));

    // When both are consumed
    world.deliver(good);

    // Then the poison record is on the dead-letter topic, as it was, with the SPEC §4 headers
    ConsumerRecord<String, byte[]> dead =
        world.kafka.awaitRecord(
            world.topics.stripeEvents().dlq(), r -> pi.equals(r.key()), ProcessorFixture.WAIT);
    assertThat(KafkaTestClient.text(dead)).endsWith("truncated");
    assertThat(KafkaTestClient.headers(dead))
        .containsEntry(RecordHeaders.CONSUMER, "payment-processor")
        .containsEntry(RecordHeaders.STRIPE_EVENT_ID, poisonId)
        .containsEntry(RecordHeaders.FAILED_AT, ProcessorFixture.NOW.toString())
        .containsKeys(RecordHeaders.ERROR_CLASS, RecordHeaders.ERROR_MESSAGE);
    // And it is audited as failed, with the error
    Map<String, Object> outcome = world.awaitOutcome(poisonId);
    assertThat(outcome).containsEntry("status", "failed");
    assertThat((String) outcome.get("error_message")).isNotBlank();
    // And the event behind it was applied
    assertThat(world.awaitOutcome(good.eventId())).containsEntry("status", "processed");
    assertThat(world.listingRow(listing)).containsEntry("status", "active");
  }

  @Test
  void shouldAuditARecordSeparatorInAPoisonEventWithoutShiftingThePayloadsBehindIt() {
    // Given a record that is not JSON because it holds a raw U+001E (the character that separates
    // payloads on their way to PostgreSQL), then two good events on the same partition
    UUID listing = world.listing("pending_payment");
    String pi = world.payment(listing, "posting_fee", 500);
    String poisonId = "evt_3PseparatorSeparator00001";
    sendRaw(pi, poisonId, "{\"id\": \"evt_3PseparatorSeparator00001\", \"note\": \"a\u001eb\"}");
    var good = StripeFixtures.succeeded(pi, 500, world.metadataFor(listing, "posting_fee"));
    var twin = StripeFixtures.succeeded(pi, 500, world.metadataFor(listing, "posting_fee"));

    // When they are consumed
    world.deliver(good);
    world.deliver(twin);

    // Then the poison record is audited as failed, its text kept whole as a JSON string
    assertThat(world.awaitOutcome(poisonId)).containsEntry("status", "failed");
    assertThat(
            world
                .db
                .row(
                    "SELECT payload #>> '{}' AS text FROM webhook_events WHERE event_id = ?",
                    poisonId)
                .orElseThrow())
        .containsEntry(
            "text", "{\"id\": \"evt_3PseparatorSeparator00001\", \"note\": \"a\u001eb\"}");
    // And each good event's audit row holds its own payload (the twin changes nothing)
    assertThat(world.awaitOutcome(good.eventId())).containsEntry("status", "processed");
    assertThat(world.awaitOutcome(twin.eventId())).containsEntry("status", "ignored");
    for (var event : java.util.List.of(good, twin)) {
      assertThat(
              world
                  .db
                  .row(
                      "SELECT payload ->> 'id' AS id FROM webhook_events WHERE event_id = ?",
                      event.eventId())
                  .orElseThrow())
          .containsEntry("id", event.eventId());
    }
    assertThat(world.listingRow(listing)).containsEntry("status", "active");
  }

  @Test
  void shouldDeadLetterTheWholeRecordWhenAPoisonEventIsAsLargeAsTheGatewayTakes() {
    // Given a record of 1 MiB, the largest body the gateway accepts, that is no event: random
    // printable text that does not compress, with the gateway's headers
    String pi = StripeFixtures.id("pi");
    String poisonId = "evt_3PlargePoisonPoison00001";
    StringBuilder text =
        new StringBuilder("{\"id\": \"" + poisonId + "\", \"object\": \"event\", ");
    Random random = new Random(1_048_576);
    while (text.length() < 1024 * 1024) {
      text.append((char) ('!' + random.nextInt('~' - '!' + 1)));
    }
    byte[] poison = text.toString().getBytes(StandardCharsets.UTF_8);
    world.kafka.send(
        world.topics.stripeEvents(),
        pi,
        poison,
        Map.of(
            RecordHeaders.STRIPE_EVENT_ID,
            poisonId,
            RecordHeaders.STRIPE_EVENT_TYPE,
            "payment_intent.succeeded",
            RecordHeaders.RECEIVED_AT,
            Instant.now().toString()));

    // When it is consumed and fails

    // Then it is on the dead-letter topic whole, with the dead-letter headers added
    ConsumerRecord<String, byte[]> dead =
        world.kafka.awaitRecord(
            world.topics.stripeEvents().dlq(), r -> pi.equals(r.key()), ProcessorFixture.WAIT);
    assertThat(dead.value()).isEqualTo(poison);
    assertThat(KafkaTestClient.headers(dead))
        .containsEntry(RecordHeaders.CONSUMER, "payment-processor")
        .containsEntry(RecordHeaders.STRIPE_EVENT_ID, poisonId)
        .containsKeys(RecordHeaders.ERROR_CLASS, RecordHeaders.ERROR_MESSAGE);
    // And it is audited as failed
    assertThat(world.awaitOutcome(poisonId)).containsEntry("status", "failed");
  }

  @Test
  void shouldDeadLetterEventWhoseMetadataOfOursDoesNotParse() {
    // Given a PaymentIntent with our metadata keys but a listing id that is no id, and no row
    String pi = StripeFixtures.id("pi");
    var broken =
        StripeFixtures.succeeded(
            pi,
            500,
            Map.of(
                "listing_id", "not-a-uuid",
                "user_id", UUID.randomUUID().toString(),
                "payment_type", "posting_fee"));
    UUID listing = world.listing("active");
    var after = StripeFixtures.paymentIntent("payment_intent.processing", pi).status("processing");

    // When it is consumed, with another event of the same PaymentIntent behind it
    world.deliver(broken);
    world.deliver(after);

    // Then it is dead-lettered and audited as failed, and the partition went on
    world.kafka.awaitRecord(
        world.topics.stripeEvents().dlq(), r -> pi.equals(r.key()), ProcessorFixture.WAIT);
    assertThat(world.awaitOutcome(broken.eventId())).containsEntry("status", "failed");
    assertThat(world.awaitOutcome(after.eventId())).containsEntry("status", "ignored");
    assertThat(world.listingRow(listing)).containsEntry("status", "active");
  }

  @Test
  void shouldAuditEachDeadLetterWithABlankEventIdHeaderUnderItsBodysId() {
    // Given two successes charged otherwise than their rows say, in records whose stripe-event-id
    // header is blank (the worker then takes the id from the body)
    UUID first = world.listing("pending_payment");
    String firstPi = world.payment(first, "posting_fee", 500);
    var firstPaid = StripeFixtures.succeeded(firstPi, 400, world.metadataFor(first, "posting_fee"));
    UUID second = world.listing("pending_payment");
    String secondPi = world.payment(second, "posting_fee", 500);
    var secondPaid =
        StripeFixtures.succeeded(secondPi, 300, world.metadataFor(second, "posting_fee"));

    // When both are dead-lettered
    sendRaw(firstPi, " ", firstPaid.json());
    sendRaw(secondPi, " ", secondPaid.json());
    world.kafka.awaitRecord(
        world.topics.stripeEvents().dlq(), r -> secondPi.equals(r.key()), ProcessorFixture.WAIT);

    // Then each is audited as failed under its own id, with its own body, where an operator
    // looks for it
    Map<String, Object> firstOutcome = world.awaitOutcome(firstPaid.eventId());
    assertThat(firstOutcome).containsEntry("status", "failed");
    assertThat((String) firstOutcome.get("error_message")).contains("400");
    Map<String, Object> secondOutcome = world.awaitOutcome(secondPaid.eventId());
    assertThat(secondOutcome).containsEntry("status", "failed");
    assertThat((String) secondOutcome.get("error_message")).contains("300");
    assertThat(
            world.db.count(
                "webhook_events WHERE event_id = ? AND payload ->> 'id' = ?",
                secondPaid.eventId(),
                secondPaid.eventId()))
        .isEqualTo(1);
    assertThat(world.db.count("webhook_events WHERE btrim(event_id) = ''")).isZero();
  }

  @Test
  void shouldAuditAPoisonEventWhoseJsonIsFollowedByMoreText() {
    // Given a success whose body goes on after its JSON object: Jackson reads the object and stops
    // there, PostgreSQL's jsonb refuses the whole text
    UUID listing = world.listing("pending_payment");
    String pi = world.payment(listing, "posting_fee", 500);
    var success = StripeFixtures.succeeded(pi, 500, world.metadataFor(listing, "posting_fee"));
    sendRaw(pi, success.eventId(), success.json() + " trailing");

    // When it is consumed and fails

    // Then it is dead-lettered, nothing is applied, and it is audited as failed under its id,
    // its text kept as a JSON string
    world.kafka.awaitRecord(
        world.topics.stripeEvents().dlq(), r -> pi.equals(r.key()), ProcessorFixture.WAIT);
    assertThat(world.awaitOutcome(success.eventId())).containsEntry("status", "failed");
    assertThat(
            world
                .db
                .row(
                    "SELECT payload #>> '{}' AS text FROM webhook_events WHERE event_id = ?",
                    success.eventId())
                .orElseThrow())
        .containsEntry("text", success.json() + " trailing");
    assertThat(world.listingRow(listing)).containsEntry("status", "pending_payment");
  }

  /** Sends a record as the gateway would, with its headers, whatever the body holds. */
  @Test
  void shouldDeadLetterARecordWhoseHeaderNamesAnotherEventThanItsBody() {
    // Given a success whose record says, in its header, that it is another event (not a record the
    // gateway wrote: it takes the id from the body it verified)
    UUID listing = world.listing("pending_payment");
    String pi = world.payment(listing, "posting_fee", 500);
    var success = StripeFixtures.succeeded(pi, 500, world.metadataFor(listing, "posting_fee"));
    String otherId = StripeFixtures.id("evt");
    sendRaw(pi, otherId, success.json());

    // Then it is dead-lettered saying so, and nothing is applied under either id
    ConsumerRecord<String, byte[]> dead =
        world.kafka.awaitRecord(
            world.topics.stripeEvents().dlq(), r -> pi.equals(r.key()), ProcessorFixture.WAIT);
    assertThat(KafkaTestClient.headers(dead).get(RecordHeaders.ERROR_MESSAGE))
        .contains(otherId, success.eventId());
    assertThat(world.listingRow(listing)).containsEntry("status", "pending_payment");
    assertThat(
            world.db.count(
                "processed_events WHERE event_key IN (?, ?)", otherId, success.eventId()))
        .isZero();

    // And the same record with a blank header is applied under its body's id
    sendRaw(pi, " ", success.json());
    io.marketplace.payments.testsupport.Await.until(
        ProcessorFixture.WAIT,
        "the success applied under its body's id",
        () ->
            world.db.count(
                    "webhook_events WHERE event_id = ? AND status = 'processed'", success.eventId())
                == 1);
    assertThat(world.listingRow(listing)).containsEntry("status", "active");
  }

  private static void sendRaw(String paymentIntentId, String eventId, String body) {
    world.kafka.send(
        world.topics.stripeEvents(),
        paymentIntentId,
        body,
        Map.of(
            RecordHeaders.STRIPE_EVENT_ID,
            eventId,
            RecordHeaders.STRIPE_EVENT_TYPE,
            "payment_intent.succeeded",
            RecordHeaders.RECEIVED_AT,
            Instant.now().toString()));
  }
}
