package io.marketplace.payments.common.http;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.Map;

/**
 * An error answer in {@code application/problem+json} (RFC 9457), as SPEC §3 asks of every service.
 * {@code errors} names the fields of a request that are wrong, when there are any.
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public record Problem(
    String type, String title, int status, String detail, Map<String, String> errors) {

  public static final String CONTENT_TYPE = "application/problem+json";

  public static Problem of(int status, String title, String detail) {
    return new Problem(typeFor(status), title, status, detail, Map.of());
  }

  static String typeFor(int status) {
    return switch (status) {
      case 400 -> "https://payments.marketplace/problems/bad-request";
      case 401 -> "https://payments.marketplace/problems/unauthenticated";
      case 403 -> "https://payments.marketplace/problems/forbidden";
      case 404 -> "https://payments.marketplace/problems/not-found";
      case 409 -> "https://payments.marketplace/problems/conflict";
      case 413 -> "https://payments.marketplace/problems/payload-too-large";
      case 415 -> "https://payments.marketplace/problems/unsupported-media-type";
      case 422 -> "https://payments.marketplace/problems/unprocessable";
      case 429 -> "https://payments.marketplace/problems/rate-limited";
      case 503 -> "https://payments.marketplace/problems/unavailable";
      default -> status >= 500 ? "https://payments.marketplace/problems/internal" : "about:blank";
    };
  }
}
