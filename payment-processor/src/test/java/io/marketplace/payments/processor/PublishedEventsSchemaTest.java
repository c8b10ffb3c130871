package io.marketplace.payments.processor;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.common.events.PaymentEventType;
import io.marketplace.payments.processor.support.ProcessorFixture;
import io.marketplace.payments.testsupport.EventSchemas;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.marketplace.payments.testsupport.StripeFixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/** Every event the processor publishes, and every documented example, conforms to its schema. */
class PublishedEventsSchemaTest {

  private static final Path EVENTS_DOC = Path.of("..", "docs", "events.md");

  @Test
  void shouldPublishOnlyEventsThatConformToTheirSchemas() {
    try (ProcessorFixture world = new ProcessorFixture()) {
      // Given every kind of purchase the processor handles, and a declined attempt
      world.start();
      UUID posting = world.listing("pending_payment");
      UUID featured = world.listing("active");
      UUID bumped = world.listing("active");
      UUID rejected = world.listing("rejected");
      List<StripeFixtures.Builder> events =
          List.of(
              succeeded(world, posting, "posting_fee", 500),
              succeeded(world, featured, "promotion_featured", 500),
              succeeded(world, bumped, "promotion_bump", 200),
              succeeded(world, rejected, "posting_fee", 500),
              StripeFixtures.paymentFailed(
                  world.payment(posting, "posting_fee", 500),
                  500,
                  world.metadataFor(posting, "posting_fee")));

      // When they are applied and published
      events.forEach(world::deliver);
      events.forEach(e -> world.awaitOutcome(e.eventId()));
      world.awaitOutboxPublished();
      List<ConsumerRecord<String, byte[]>> published =
          world.kafka.readAll(world.topics.paymentEvents());

      // Then each conforms to the schema of its type, and every type the processor owns was seen
      assertThat(published).hasSize(8);
      for (ConsumerRecord<String, byte[]> record : published) {
        String type = KafkaTestClient.header(record, "event-type").orElseThrow();
        assertThat(EventSchemas.violations(type, KafkaTestClient.text(record)))
            .as("violations of %s", KafkaTestClient.text(record))
            .isEmpty();
      }
      assertThat(published)
          .extracting(r -> KafkaTestClient.header(r, "event-type").orElseThrow())
          .contains(
              "payment.succeeded", "payment.failed", "listing.activated", "promotion.created");
    }
  }

  @Test
  void shouldDocumentEveryTypeWithAnExampleThatConforms() throws IOException {
    // Given docs/events.md
    Map<String, String> examples = examples(Files.readString(EVENTS_DOC));

    // Then every type of payments.events.v1 has a schema and a documented example that conforms
    for (PaymentEventType type : PaymentEventType.values()) {
      assertThat(EventSchemas.exists(type.wireName())).as("schema of %s", type).isTrue();
      assertThat(examples).as("example of %s", type).containsKey(type.wireName());
      assertThat(EventSchemas.violations(type.wireName(), examples.get(type.wireName())))
          .as("violations of the example of %s", type)
          .isEmpty();
    }
    assertThat(examples.keySet())
        .containsExactlyInAnyOrderElementsOf(
            Arrays.stream(PaymentEventType.values()).map(PaymentEventType::wireName).toList());
  }

  @Test
  void shouldRejectAnEventThatBreaksItsSchema() {
    // Given a listing.activated without its listing id and with a time that is no time
    String broken =
        """
        {"id": "9d828d2c-522b-3e44-9902-e428a6416012", "type": "listing.activated",
         "occurredAt": "yesterday", "version": 1,
         "data": {"userId": "9b2c4d6e-1f3a-4b5c-8d7e-6f5a4b3c2d1e",
                  "paymentIntentId": "pi_3PcLUbIqnMN1wWwO1x2y3z4a",
                  "activatedAt": "2026-03-02T10:00:00Z", "expiresAt": "2026-04-01T10:00:00Z"}}
        """;

    // When / Then both faults are reported
    List<String> violations = EventSchemas.violations("listing.activated", broken);
    assertThat(violations).hasSizeGreaterThanOrEqualTo(2);
    assertThat(String.join("\n", violations)).contains("listingId", "occurredAt");
  }

  private static StripeFixtures.Builder succeeded(
      ProcessorFixture world, UUID listing, String type, long amount) {
    return StripeFixtures.succeeded(
        world.payment(listing, type, amount), amount, world.metadataFor(listing, type));
  }

  /** The JSON example under each {@code ## `type`} heading. */
  private static Map<String, String> examples(String markdown) {
    Map<String, String> examples = new LinkedHashMap<>();
    Matcher section = Pattern.compile("(?m)^## `([a-z._]+)`$").matcher(markdown);
    List<int[]> bounds = new ArrayList<>();
    List<String> names = new ArrayList<>();
    while (section.find()) {
      names.add(section.group(1));
      bounds.add(new int[] {section.end()});
    }
    for (int i = 0; i < names.size(); i++) {
      int end = i + 1 < bounds.size() ? bounds.get(i + 1)[0] : markdown.length();
      Matcher json =
          Pattern.compile("(?s)```json\\n(.*?)\\n```")
              .matcher(markdown.substring(bounds.get(i)[0], end));
      if (json.find()) {
        examples.put(names.get(i), json.group(1));
      }
    }
    return examples;
  }
}
