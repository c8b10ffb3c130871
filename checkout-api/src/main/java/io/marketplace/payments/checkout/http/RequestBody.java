package io.marketplace.payments.checkout.http;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import io.javalin.http.Context;
import io.marketplace.payments.common.http.ProblemException;
import io.marketplace.payments.common.json.Json;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A JSON object request body, read field by field. Every wrong field is collected and {@link
 * #validate()} answers one 400 naming each of them, so a client fixes all at once. A field the
 * route does not read is one of them: {@code {"amountCents":100}} sent where no amount is taken
 * would otherwise act on everything while the caller meant a part.
 */
public final class RequestBody {

  /**
   * One JSON value and nothing after it ("{...}garbage" is not a body we understood), whose objects
   * name each field once: with a field given twice, which value counts depends on who reads it (a
   * proxy, a log, an audit tool may take the first; Jackson takes the last), so such a body is
   * refused rather than acted on with one of its values.
   */
  private static final ObjectReader READER =
      Json.mapper()
          .reader()
          .with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .with(StreamReadFeature.STRICT_DUPLICATE_DETECTION);

  /** Jackson's words for a field given twice. */
  private static final Pattern DUPLICATE = Pattern.compile("^Duplicate field '(.{1,100})'");

  private static final int MAX_NAMED_FIELDS = 10;
  private static final int MAX_FIELD_NAME = 100;

  private final JsonNode root;
  private final Map<String, String> errors = new LinkedHashMap<>();
  private final Set<String> taken = new TreeSet<>();

  private RequestBody(JsonNode root) {
    this.root = root;
  }

  /**
   * Refuses (415) a request whose body is not sent as JSON ({@code application/json} or a {@code
   * +json} type, any parameters): a form or plain text that happens to parse as JSON is not what
   * the client meant to send us, and is refused before anything acts on it. A request without a
   * body needs no type.
   */
  public static void requireJson(Context ctx) {
    if (ctx.bodyAsBytes().length == 0 || isJson(ctx.contentType())) {
      return;
    }
    throw new ProblemException(
        415,
        "Unsupported Media Type",
        "the body must be sent as application/json (Content-Type: application/json)");
  }

  static boolean isJson(String contentType) {
    if (contentType == null) {
      return false;
    }
    int parameters = contentType.indexOf(';');
    String type =
        (parameters < 0 ? contentType : contentType.substring(0, parameters))
            .strip()
            .toLowerCase(Locale.ROOT);
    return type.equals("application/json")
        || (type.startsWith("application/") && type.endsWith("+json"));
  }

  /** The body as a JSON object; an empty body counts as {@code {}}. */
  public static RequestBody of(Context ctx) {
    byte[] bytes = ctx.bodyAsBytes();
    if (bytes.length == 0) {
      return new RequestBody(Json.mapper().createObjectNode());
    }
    JsonNode root;
    try {
      root = READER.readTree(bytes);
    } catch (JsonParseException e) {
      Matcher duplicate = DUPLICATE.matcher(String.valueOf(e.getOriginalMessage()));
      if (duplicate.find()) {
        throw ProblemException.invalidFields(Map.of(duplicate.group(1), "is given more than once"));
      }
      throw ProblemException.badRequest("the body is not valid JSON");
    } catch (IOException e) {
      throw ProblemException.badRequest("the body is not valid JSON");
    }
    if (root == null || !root.isObject()) {
      throw ProblemException.badRequest("the body must be a JSON object");
    }
    return new RequestBody(root);
  }

  /** A required string, trimmed, of 1 to {@code maxLength} characters. */
  public String requiredText(String field, int maxLength) {
    return text(field, maxLength, true).orElse(null);
  }

  /**
   * An optional string, trimmed, of at most {@code maxLength} characters; blank counts as absent.
   */
  public Optional<String> optionalText(String field, int maxLength) {
    return text(field, maxLength, false);
  }

  /**
   * An optional string, trimmed, of 1 to {@code maxLength} characters: absent or {@code null} is
   * absent, but a blank one is refused, for a field whose absence means something of its own (a
   * refund request without {@code paymentIntentId} asks for the posting fee): an empty value is a
   * choice the client left unmade, not that one.
   */
  public Optional<String> optionalNonBlankText(String field, int maxLength) {
    JsonNode node = root.get(field);
    if (node == null || node.isNull()) {
      taken.add(field);
      return Optional.empty();
    }
    return text(field, maxLength, true);
  }

  /**
   * A required whole number from 1 to {@code max}, given as a JSON integer ({@code 150}, not {@code
   * "150"} nor {@code 150.0}).
   */
  public long requiredPositiveWholeNumber(String field, long max) {
    taken.add(field);
    JsonNode node = root.get(field);
    if (node == null || node.isNull()) {
      errors.put(field, "is required");
      return 0;
    }
    if (!node.isIntegralNumber() || !node.canConvertToLong()) {
      errors.put(field, "must be a whole number");
      return 0;
    }
    long value = node.asLong();
    if (value < 1 || value > max) {
      errors.put(field, "must be from 1 to " + max);
      return 0;
    }
    return value;
  }

  /** A required string that must be one of {@code allowed}. */
  public String requiredChoice(String field, Set<String> allowed) {
    String value = text(field, 100, true).orElse(null);
    if (value != null && !allowed.contains(value)) {
      errors.put(field, "must be one of " + String.join(", ", allowed.stream().sorted().toList()));
      return null;
    }
    return value;
  }

  /** Records a problem with a field found by the caller's own checks. */
  public void reject(String field, String problem) {
    errors.putIfAbsent(field, problem);
  }

  /** Throws one 400 naming every wrong field, if any, and every field the route did not read. */
  public void validate() {
    String notTaken =
        taken.isEmpty()
            ? "is not taken here: this request has no body"
            : "is not taken here: this request takes " + String.join(", ", taken);
    // named as sent, but a few and short: the answer does not echo a body built to be large
    root.fieldNames()
        .forEachRemaining(
            field -> {
              if (!taken.contains(field) && errors.size() < MAX_NAMED_FIELDS) {
                errors.putIfAbsent(
                    field.length() > MAX_FIELD_NAME
                        ? field.substring(0, MAX_FIELD_NAME) + "…"
                        : field,
                    notTaken);
              }
            });
    if (!errors.isEmpty()) {
      throw ProblemException.invalidFields(errors);
    }
  }

  /**
   * PostgreSQL text cannot hold U+0000 (the insert fails: a 500), and an unpaired surrogate is no
   * character at all (it would be stored as '?'): both are refused as the client's mistake.
   */
  static boolean isStorableText(String value) {
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c == 0) {
        return false;
      }
      if (Character.isHighSurrogate(c)) {
        if (i + 1 >= value.length() || !Character.isLowSurrogate(value.charAt(i + 1))) {
          return false;
        }
        i++; // the pair is one character
      } else if (Character.isLowSurrogate(c)) {
        return false;
      }
    }
    return true;
  }

  private Optional<String> text(String field, int maxLength, boolean required) {
    taken.add(field);
    JsonNode node = root.get(field);
    if (node == null || node.isNull()) {
      if (required) {
        errors.put(field, "is required");
      }
      return Optional.empty();
    }
    if (!node.isTextual()) {
      errors.put(field, "must be a string");
      return Optional.empty();
    }
    String value = node.asText().strip();
    if (!isStorableText(value)) {
      errors.put(field, "must be text without NUL characters or unpaired surrogates");
      return Optional.empty();
    }
    if (value.isEmpty()) {
      if (required) {
        errors.put(field, "must not be blank");
      }
      return Optional.empty();
    }
    if (value.length() > maxLength) {
      errors.put(field, "must be at most " + maxLength + " characters");
      return Optional.empty();
    }
    return Optional.of(value);
  }
}
