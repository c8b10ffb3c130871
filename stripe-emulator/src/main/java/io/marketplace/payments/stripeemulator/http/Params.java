package io.marketplace.payments.stripeemulator.http;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Request parameters in Stripe's form encoding, where brackets nest: {@code metadata[listing_id]=x}
 * is a hash, {@code expand[]=a} and {@code expand[0]=a} (stripe-java's spelling) are arrays. Values
 * are strings, nested {@code Params}-shaped maps, or lists.
 */
public final class Params {
  private static final Params EMPTY = new Params(Map.of());

  private final Map<String, Object> values;

  private Params(Map<String, Object> values) {
    this.values = values;
  }

  public static Params empty() {
    return EMPTY;
  }

  /** Parses an {@code application/x-www-form-urlencoded} body or query string. */
  public static Params parse(String encoded) {
    if (encoded == null || encoded.isBlank()) {
      return EMPTY;
    }
    Map<String, Object> root = new LinkedHashMap<>();
    for (String pair : encoded.split("&")) {
      if (pair.isEmpty()) {
        continue;
      }
      int eq = pair.indexOf('=');
      String key = decode(eq < 0 ? pair : pair.substring(0, eq));
      String value = eq < 0 ? "" : decode(pair.substring(eq + 1));
      put(root, segments(key), value);
    }
    return new Params(listify(root));
  }

  /** Both sets of parameters, the second winning on the same top-level name. */
  public Params merge(Params other) {
    Map<String, Object> merged = new LinkedHashMap<>(values);
    merged.putAll(other.values);
    return new Params(merged);
  }

  public boolean has(String name) {
    return values.containsKey(name);
  }

  public Optional<String> string(String name) {
    Object value = values.get(name);
    if (value == null) {
      return Optional.empty();
    }
    if (value instanceof String s) {
      return Optional.of(s);
    }
    throw StripeError.invalidRequest("Invalid string: " + name, name, "parameter_invalid_string");
  }

  /** A string that is present and not empty. */
  public Optional<String> nonEmptyString(String name) {
    return string(name).filter(s -> !s.isEmpty());
  }

  public String requireString(String name) {
    return nonEmptyString(name).orElseThrow(() -> StripeError.missingParam(name));
  }

  public Optional<Long> integer(String name) {
    Optional<String> raw = nonEmptyString(name);
    if (raw.isEmpty()) {
      return Optional.empty();
    }
    try {
      return Optional.of(Long.parseLong(raw.get()));
    } catch (NumberFormatException e) {
      throw StripeError.invalidRequest(
          "Invalid integer: " + raw.get(), name, "parameter_invalid_integer");
    }
  }

  public Optional<Boolean> bool(String name) {
    Optional<String> raw = nonEmptyString(name);
    if (raw.isEmpty()) {
      return Optional.empty();
    }
    return switch (raw.get()) {
      case "true" -> Optional.of(true);
      case "false" -> Optional.of(false);
      default -> throw StripeError.invalidRequest("Invalid boolean: " + raw.get(), name, null);
    };
  }

  /** A hash of strings, as {@code metadata}; an empty string stands for an empty hash. */
  public Map<String, String> stringMap(String name) {
    Object value = values.get(name);
    if (value == null || "".equals(value)) {
      return Map.of();
    }
    Map<String, String> result = new LinkedHashMap<>();
    if (value instanceof Map<?, ?> map) {
      map.forEach((k, v) -> result.put(String.valueOf(k), requireScalar(name, v)));
    } else if (value instanceof List<?> list) {
      for (int i = 0; i < list.size(); i++) {
        result.put(String.valueOf(i), requireScalar(name, list.get(i)));
      }
    } else {
      throw StripeError.invalidRequest("Invalid hash", name, null);
    }
    return result;
  }

  /** An array such as {@code expand[]} or {@code enabled_events[]}; a lone string counts as one. */
  public List<String> stringList(String name) {
    Object value = values.get(name);
    if (value == null || "".equals(value)) {
      return List.of();
    }
    if (value instanceof String s) {
      return List.of(s);
    }
    if (value instanceof List<?> list) {
      List<String> result = new ArrayList<>();
      list.forEach(v -> result.add(requireScalar(name, v)));
      return result;
    }
    throw StripeError.invalidRequest("Invalid array", name, null);
  }

  @SuppressWarnings("unchecked")
  public Params nested(String name) {
    Object value = values.get(name);
    if (value == null || "".equals(value)) {
      return EMPTY;
    }
    if (value instanceof Map<?, ?> map) {
      return new Params((Map<String, Object>) map);
    }
    throw StripeError.invalidRequest("Invalid hash", name, null);
  }

  public Map<String, Object> asMap() {
    return Collections.unmodifiableMap(values);
  }

  /** Equal for equal parameters whatever their order: what idempotency compares. */
  public String fingerprint() {
    return Json.canonical(values);
  }

  @Override
  public String toString() {
    return values.toString();
  }

  private static String requireScalar(String name, Object value) {
    if (value instanceof String s) {
      return s;
    }
    throw StripeError.invalidRequest("Invalid value for " + name, name, null);
  }

  private static boolean isIndex(String key) {
    return !key.isEmpty() && key.length() < 7 && key.chars().allMatch(Character::isDigit);
  }

  private static String decode(String s) {
    return URLDecoder.decode(s, StandardCharsets.UTF_8);
  }

  /** {@code a[b][]} becomes {@code ["a", "b", ""]}. */
  private static List<String> segments(String key) {
    List<String> result = new ArrayList<>();
    int open = key.indexOf('[');
    if (open <= 0 || !key.endsWith("]")) {
      result.add(key);
      return result;
    }
    result.add(key.substring(0, open));
    int i = open;
    while (i < key.length() && key.charAt(i) == '[') {
      int close = key.indexOf(']', i);
      if (close < 0) {
        break;
      }
      result.add(key.substring(i + 1, close));
      i = close + 1;
    }
    return result;
  }

  @SuppressWarnings("unchecked")
  private static void put(Map<String, Object> root, List<String> path, String value) {
    Map<String, Object> node = root;
    for (int i = 0; i < path.size(); i++) {
      String segment = path.get(i);
      if (segment.isEmpty()) {
        // "[]" appends: key it by position so listify() keeps the order
        segment = String.valueOf(node.size());
      }
      boolean last = i == path.size() - 1;
      if (last) {
        node.put(segment, value);
      } else {
        Object child = node.get(segment);
        if (!(child instanceof Map)) {
          child = new LinkedHashMap<String, Object>();
          node.put(segment, child);
        }
        node = (Map<String, Object>) child;
      }
    }
  }

  /** Turns every hash whose keys are all indices into a list, ordered by index. */
  @SuppressWarnings("unchecked")
  private static Map<String, Object> listify(Map<String, Object> node) {
    Map<String, Object> result = new LinkedHashMap<>();
    node.forEach(
        (k, v) -> result.put(k, v instanceof Map<?, ?> m ? convert((Map<String, Object>) m) : v));
    return result;
  }

  private static Object convert(Map<String, Object> node) {
    Map<String, Object> converted = listify(node);
    if (converted.isEmpty() || !converted.keySet().stream().allMatch(Params::isIndex)) {
      return converted;
    }
    TreeMap<Integer, Object> byIndex = new TreeMap<>();
    converted.forEach((k, v) -> byIndex.put(Integer.parseInt(k), v));
    return new ArrayList<>(byIndex.values());
  }
}
