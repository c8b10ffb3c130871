package io.marketplace.payments.common.db;

import java.util.Arrays;
import java.util.List;

/**
 * Many JSON texts as one SQL text parameter, separated by U+001E (record separator), which JSON
 * text never holds unescaped (RFC 8259 requires control characters in strings to be escaped, and
 * allows only space, tab and line breaks between tokens). PostgreSQL splits it with {@code
 * string_to_table(text, E'\x1e')}, a plain search, where a {@code text[]} parameter would go
 * through the array-literal parser character by character, every quote of the JSON escaped.
 */
public final class RecordSeparated {

  /** The separator, for SQL: {@code E'\x1e'}. */
  public static final char SEPARATOR = '\u001e';

  private RecordSeparated() {}

  /**
   * Joins JSON texts, at least one.
   *
   * @throws IllegalArgumentException when a text holds the separator: it is not valid JSON, and
   *     would split into two
   */
  public static String join(List<String> jsonTexts) {
    if (jsonTexts.isEmpty()) {
      throw new IllegalArgumentException("nothing to join: an empty text would read as one");
    }
    StringBuilder joined = new StringBuilder(jsonTexts.size() * 1024);
    for (int i = 0; i < jsonTexts.size(); i++) {
      String text = jsonTexts.get(i);
      if (text.indexOf(SEPARATOR) >= 0) {
        throw new IllegalArgumentException("not JSON text: it holds an unescaped U+001E");
      }
      if (i > 0) {
        joined.append(SEPARATOR);
      }
      joined.append(text);
    }
    return joined.toString();
  }

  /** The texts {@link #join} joined, in order. */
  public static List<String> split(String joined) {
    return Arrays.asList(joined.split(String.valueOf(SEPARATOR), -1));
  }
}
