package io.marketplace.payments.gateway.webhook;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.util.JsonRecyclerPools;
import io.marketplace.payments.common.stripe.InvalidStripeEventException;
import io.marketplace.payments.common.stripe.StripeEvent;
import java.io.IOException;

/**
 * What the gateway needs of an event to publish it: its id, its type and its Kafka key (SPEC §4).
 * Read with one streaming pass of Jackson over the body, keeping only these fields: the workers
 * parse the whole event, the gateway only routes it. The pass still reads to the end of the body,
 * so a body that {@link StripeEvent#parse} refuses is refused here too, for the same reason, and
 * the fields found are the ones it finds (the last of duplicated names, as a tree keeps them).
 *
 * @param key the PaymentIntent id, else {@code data.object.id}, else the event id
 */
public record EventEnvelope(String id, String type, String key, boolean livemode) {

  /**
   * Jackson keeps a parser's buffers per thread by default; every request runs on a virtual thread
   * of its own, so they would be allocated anew for each body. A shared pool passes them on.
   */
  private static final JsonFactory JSON =
      JsonFactory.builder().recyclerPool(JsonRecyclerPools.newConcurrentDequePool()).build();

  /** Reads the envelope of an event body; throws {@link InvalidStripeEventException} if none. */
  public static EventEnvelope parse(byte[] body) {
    Fields fields = new Fields();
    try (JsonParser parser = JSON.createParser(body)) {
      if (parser.nextToken() != JsonToken.START_OBJECT) {
        throw new InvalidStripeEventException("body is not a JSON object");
      }
      readRoot(parser, fields);
      if (parser.nextToken() != null) {
        // more after the object: not one JSON document, as StripeEvent#parse refuses it
        throw new InvalidStripeEventException("body is not JSON");
      }
    } catch (IOException e) {
      throw new InvalidStripeEventException("body is not JSON");
    }
    if (!"event".equals(fields.object)) {
      throw new InvalidStripeEventException("object is not \"event\"");
    }
    String id = fields.id == null ? "" : fields.id;
    String type = fields.type == null ? "" : fields.type;
    if (!id.startsWith("evt_")) {
      throw new InvalidStripeEventException("id is not an event id");
    }
    if (type.isBlank()) {
      throw new InvalidStripeEventException("type is missing");
    }
    if (!fields.dataObject) {
      throw new InvalidStripeEventException("data.object is missing");
    }
    return new EventEnvelope(id, type, key(id, type, fields), fields.livemode);
  }

  /** {@link StripeEvent#partitionKey()}, falling back to the event id when it is blank. */
  private static String key(String id, String type, Fields fields) {
    String paymentIntent =
        "payment_intent".equals(fields.objectType) || type.startsWith("payment_intent.")
            ? fields.objectIdText
            : fields.objectPaymentIntent;
    String key =
        paymentIntent != null && !paymentIntent.isBlank()
            ? paymentIntent
            : fields.objectId == null ? "" : fields.objectId;
    return key.isBlank() ? id : key;
  }

  /** The fields kept, as {@code JsonNode.asText} would give them; null when absent. */
  private static final class Fields {
    String id;
    String type;
    String object;
    boolean dataObject;
    String objectType;
    String objectId; // data.object.id as asText("") reads it: also a number's digits
    String objectIdText; // data.object.id only when it is a JSON string
    String objectPaymentIntent; // only when it is a JSON string
    boolean livemode; // true only for JSON true: an event of live mode, real money
  }

  /** The root object, from after its START_OBJECT to its END_OBJECT. */
  private static void readRoot(JsonParser parser, Fields fields) throws IOException {
    for (String name = parser.nextFieldName(); name != null; name = parser.nextFieldName()) {
      JsonToken value = parser.nextToken();
      switch (name) {
        case "id" -> fields.id = scalar(parser, value);
        case "type" -> fields.type = scalar(parser, value);
        case "object" -> fields.object = scalar(parser, value);
        case "livemode" -> {
          fields.livemode = value == JsonToken.VALUE_TRUE;
          parser.skipChildren();
        }
        case "data" -> readData(parser, value, fields);
        default -> parser.skipChildren();
      }
    }
    if (parser.currentToken() != JsonToken.END_OBJECT) {
      throw new IOException("unexpected " + parser.currentToken());
    }
  }

  /** {@code data}: a later {@code data} replaces an earlier one, as in a tree. */
  private static void readData(JsonParser parser, JsonToken value, Fields fields)
      throws IOException {
    clearObject(fields);
    if (value != JsonToken.START_OBJECT) {
      parser.skipChildren();
      return;
    }
    for (String name = parser.nextFieldName(); name != null; name = parser.nextFieldName()) {
      JsonToken token = parser.nextToken();
      if ("object".equals(name)) {
        readObject(parser, token, fields);
      } else {
        parser.skipChildren();
      }
    }
  }

  /** {@code data.object}: only its id, its type and the PaymentIntent it names. */
  private static void readObject(JsonParser parser, JsonToken value, Fields fields)
      throws IOException {
    clearObject(fields);
    if (value != JsonToken.START_OBJECT) {
      parser.skipChildren();
      return;
    }
    fields.dataObject = true;
    for (String name = parser.nextFieldName(); name != null; name = parser.nextFieldName()) {
      JsonToken token = parser.nextToken();
      switch (name) {
        case "id" -> {
          fields.objectId = scalar(parser, token);
          fields.objectIdText = token == JsonToken.VALUE_STRING ? fields.objectId : null;
        }
        case "object" -> fields.objectType = scalar(parser, token);
        case "payment_intent" -> {
          String paymentIntent = scalar(parser, token);
          fields.objectPaymentIntent = token == JsonToken.VALUE_STRING ? paymentIntent : null;
        }
        default -> parser.skipChildren();
      }
    }
  }

  private static void clearObject(Fields fields) {
    fields.dataObject = false;
    fields.objectType = null;
    fields.objectId = null;
    fields.objectIdText = null;
    fields.objectPaymentIntent = null;
  }

  /**
   * A scalar as {@code JsonNode.asText("")} reads it (a string's text, a number's or boolean's
   * digits or word); null for JSON null, an object or an array, which are skipped.
   */
  private static String scalar(JsonParser parser, JsonToken value) throws IOException {
    if (value == null) {
      throw new IOException("unexpected end of input");
    }
    if (value.isStructStart()) {
      parser.skipChildren();
      return null;
    }
    return value == JsonToken.VALUE_NULL ? null : parser.getText();
  }
}
