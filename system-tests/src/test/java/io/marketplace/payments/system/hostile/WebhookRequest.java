package io.marketplace.payments.system.hostile;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * One webhook request as it goes on the wire, with what was done to it and the status it must get.
 *
 * @param kind the mutation (or benign variant) that produced it
 * @param detail which variant of the mutation, for the failure message
 * @param headers every header line in order; a name may repeat
 * @param chunked sent without a Content-Length, in chunks
 * @param expectContinue sent with {@code Expect: 100-continue}: the body follows only if the server
 *     does not answer at once from the headers
 * @param expectedStatus the one status the gateway must answer
 */
record WebhookRequest(
    String kind,
    String detail,
    byte[] body,
    List<Map.Entry<String, String>> headers,
    boolean chunked,
    boolean expectContinue,
    int expectedStatus) {

  WebhookRequest {
    headers = List.copyOf(headers);
  }

  /** What a failure message shows: enough to replay it by hand. */
  String describe() {
    String text = new String(body, StandardCharsets.UTF_8);
    String shown = text.length() > 160 ? text.substring(0, 160) + "..." : text;
    return kind
        + " ("
        + detail
        + "), expected "
        + expectedStatus
        + (chunked ? ", chunked" : "")
        + (expectContinue ? ", Expect: 100-continue" : "")
        + ", headers "
        + headers.stream()
            .map(h -> h.getKey() + ": " + abbreviate(h.getValue()))
            .collect(Collectors.joining(" | ", "[", "]"))
        + ", body ("
        + body.length
        + " bytes) "
        + shown.replace("\n", "\\n").replace("\r", "\\r");
  }

  private static String abbreviate(String value) {
    return value.length() > 200 ? value.substring(0, 200) + "..." : value;
  }
}
