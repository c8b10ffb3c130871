package io.marketplace.payments.risk;

import static org.assertj.core.api.Assertions.assertThat;

import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SchemaRegistryConfig;
import com.networknt.schema.SpecificationVersion;
import io.marketplace.payments.common.json.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** What the risk service publishes conforms to the documented schema of risk.signals.v1. */
class RiskSignalSchemaTest {

  private static final Path SCHEMA = Path.of("..", "docs", "schemas", "risk.signals.v1.json");

  @Test
  void shouldConformToTheDocumentedSchemaWhenASignalIsSerialized() throws IOException {
    // Given the schema of docs/ with formats asserted
    Schema schema =
        SchemaRegistry.withDefaultDialect(
                SpecificationVersion.DRAFT_2020_12,
                builder ->
                    builder.schemaRegistryConfig(
                        SchemaRegistryConfig.builder().formatAssertionsEnabled(true).build()))
            .getSchema(Files.readString(SCHEMA));

    // When each kind of signal is serialized as the service publishes it
    for (Signal signal : Signal.values()) {
      Instant start = Instant.parse("2026-12-01T10:00:00Z");
      RiskSignal value =
          RiskSignal.of(
              UUID.randomUUID().toString(),
              signal,
              5,
              5,
              start,
              start.plusSeconds(600),
              start.plusSeconds(480));
      String json = new String(Json.bytes(value));

      // Then it conforms
      assertThat(schema.validate(json, InputFormat.JSON)).as(json).isEmpty();
    }
    // And a marketplace category's chargeback spike conforms, without a userId
    Instant day = Instant.parse("2026-12-01T00:00:00Z");
    String category =
        new String(
            Json.bytes(
                RiskSignal.ofCategory(
                    "42",
                    Signal.CHARGEBACK_SPIKE,
                    10,
                    10,
                    day,
                    day.plusSeconds(86_400),
                    day.plusSeconds(3600))));
    assertThat(category).doesNotContain("userId");
    assertThat(schema.validate(category, InputFormat.JSON)).as(category).isEmpty();
    // And a signal published before scopes existed still conforms
    String before =
        """
        {"id":"%s","type":"risk.signal","occurredAt":"2026-12-01T10:08:00Z","version":1,
         "data":{"userId":"u","signal":"chargeback_spike","count":2,"threshold":2,
                 "windowStart":"2026-12-01T00:00:00Z","windowEnd":"2026-12-02T00:00:00Z"}}"""
            .formatted(UUID.randomUUID());
    assertThat(schema.validate(before, InputFormat.JSON)).as(before).isEmpty();
  }

  @Test
  void shouldBeRejectedBySchemaWhenACategorySignalHasNoCategoryId() throws IOException {
    Schema schema =
        SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12)
            .getSchema(Files.readString(SCHEMA));
    String json =
        """
        {"id":"%s","type":"risk.signal","occurredAt":"2026-12-01T10:08:00Z","version":1,
         "data":{"scope":"category","userId":"u","signal":"chargeback_spike","count":2,
                 "threshold":2,"windowStart":"2026-12-01T00:00:00Z",
                 "windowEnd":"2026-12-02T00:00:00Z"}}"""
            .formatted(UUID.randomUUID());

    assertThat(schema.validate(json, InputFormat.JSON)).isNotEmpty();
  }

  @Test
  void shouldBeRejectedBySchemaWhenAFieldIsMissing() throws IOException {
    // Given the schema, and a signal without its window end
    Schema schema =
        SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12)
            .getSchema(Files.readString(SCHEMA));
    String json =
        """
        {"id":"%s","type":"risk.signal","occurredAt":"2026-12-01T10:08:00Z","version":1,
         "data":{"userId":"u","signal":"chargeback_spike","count":2,"threshold":2,
                 "windowStart":"2026-12-01T00:00:00Z"}}"""
            .formatted(UUID.randomUUID());

    // Then it does not conform
    assertThat(schema.validate(json, InputFormat.JSON)).isNotEmpty();
  }
}
