package io.marketplace.payments.ops;

/**
 * Text others wrote, made safe to print on an operator's terminal: a dead letter's key, body and
 * error come from whoever published the source record (another service may publish moderation
 * decisions, SPEC §4). Printed as they are, an escape sequence would act on the terminal (retitle
 * it, erase or rewrite what the command printed), and a line break or a bidirectional override
 * would forge rows of a listing. Each such character is shown as its {@code \}{@code uXXXX} escape.
 */
public final class Text {

  private Text() {}

  /** {@code text} with every control and bidirectional formatting character escaped. */
  public static String printable(String text) {
    if (text == null || text.chars().noneMatch(Text::unsafe)) {
      return text;
    }
    StringBuilder safe = new StringBuilder(text.length() + 16);
    text.chars()
        .forEach(
            c -> {
              if (unsafe(c)) {
                safe.append(String.format("\\u%04x", c));
              } else {
                safe.append((char) c);
              }
            });
    return safe.toString();
  }

  /**
   * C0 and C1 controls and DEL (escape sequences, line breaks, tabs), and the characters that
   * reorder how a line is displayed.
   */
  private static boolean unsafe(int c) {
    return Character.isISOControl(c)
        || (c >= 0x202a && c <= 0x202e)
        || (c >= 0x2066 && c <= 0x2069)
        || c == 0x200e
        || c == 0x200f
        || c == 0x061c;
  }
}
