package io.marketplace.payments.expirer;

import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SchemaRegistryConfig;
import com.networknt.schema.SpecificationVersion;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The published JSON Schemas of {@code payments.events.v1} (common's {@code schemas/<type>.json}),
 * with formats ({@code uuid}, {@code date-time}) asserted: what the expirer publishes is checked
 * against what subscribers were promised.
 */
public final class EventSchemas {

  private static final SchemaRegistry REGISTRY =
      SchemaRegistry.withDefaultDialect(
          SpecificationVersion.DRAFT_2020_12,
          builder ->
              builder.schemaRegistryConfig(
                  SchemaRegistryConfig.builder().formatAssertionsEnabled(true).build()));

  private static final Map<String, Schema> SCHEMAS = new ConcurrentHashMap<>();

  private EventSchemas() {}

  /** The violations of {@code json} against the schema of {@code type}; empty when it conforms. */
  public static List<String> violations(String type, String json) {
    Schema schema = SCHEMAS.computeIfAbsent(type, EventSchemas::load);
    return schema.validate(json, InputFormat.JSON).stream().map(Object::toString).toList();
  }

  private static Schema load(String type) {
    String path = "/schemas/" + type + ".json";
    try (InputStream in = EventSchemas.class.getResourceAsStream(path)) {
      if (in == null) {
        throw new IllegalArgumentException("no schema for " + type + " at " + path);
      }
      return REGISTRY.getSchema(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
