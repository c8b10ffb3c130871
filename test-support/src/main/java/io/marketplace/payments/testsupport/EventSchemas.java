package io.marketplace.payments.testsupport;

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
 * The JSON Schemas of {@code payments.events.v1} from common's resources ({@code
 * schemas/<type>.json}), with formats ({@code uuid}, {@code date-time}) asserted, not just noted.
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

  /** Whether common ships a schema for {@code type}. */
  public static boolean exists(String type) {
    return EventSchemas.class.getResource(path(type)) != null;
  }

  /** The violations of {@code json} against the schema of {@code type}; empty when it conforms. */
  public static List<String> violations(String type, String json) {
    Schema schema = SCHEMAS.computeIfAbsent(type, EventSchemas::load);
    return schema.validate(json, InputFormat.JSON).stream().map(Object::toString).toList();
  }

  private static Schema load(String type) {
    try (InputStream in = EventSchemas.class.getResourceAsStream(path(type))) {
      if (in == null) {
        throw new IllegalArgumentException("no schema for " + type + " at " + path(type));
      }
      return REGISTRY.getSchema(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String path(String type) {
    return "/schemas/" + type + ".json";
  }
}
