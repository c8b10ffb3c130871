package io.marketplace.payments.risk;

import io.marketplace.payments.common.json.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;

/**
 * A serde of a record as JSON, with the system's Jackson configuration (unknown fields ignored).
 */
final class JsonSerde {

  private JsonSerde() {}

  static <T> Serde<T> of(Class<T> type) {
    return Serdes.serdeFrom(
        (topic, value) -> value == null ? null : Json.bytes(value),
        (topic, bytes) -> {
          if (bytes == null) {
            return null;
          }
          try {
            return Json.mapper().readValue(bytes, type);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        });
  }
}
