package io.marketplace.payments.common.http;

import java.util.LinkedHashMap;
import java.util.Map;

/** Thrown by a handler to answer with a problem; the shared exception mapper renders it. */
public class ProblemException extends RuntimeException {

  private final int status;
  private final String title;
  private final Map<String, String> fieldErrors;
  private final Map<String, String> headers;
  private final boolean lasting;

  public ProblemException(int status, String title, String detail) {
    this(status, title, detail, Map.of(), Map.of());
  }

  public ProblemException(
      int status,
      String title,
      String detail,
      Map<String, String> fieldErrors,
      Map<String, String> headers) {
    this(status, title, detail, fieldErrors, headers, true);
  }

  private ProblemException(
      int status,
      String title,
      String detail,
      Map<String, String> fieldErrors,
      Map<String, String> headers,
      boolean lasting) {
    super(detail, null, false, false);
    this.status = status;
    this.title = title;
    this.fieldErrors = Map.copyOf(fieldErrors);
    this.headers = Map.copyOf(headers);
    this.lasting = lasting;
  }

  /**
   * The same refusal, as one that holds only until someone decides otherwise (a ban an admin may
   * lift): not an answer to keep for the request's Idempotency-Key, which would refuse the client's
   * retry after the decision.
   */
  public ProblemException untilLifted() {
    return new ProblemException(status, title, getMessage(), fieldErrors, headers, false);
  }

  /** False for a refusal that holds only until lifted ({@link #untilLifted()}). */
  public boolean lasting() {
    return lasting;
  }

  public static ProblemException badRequest(String detail) {
    return new ProblemException(400, "Bad Request", detail);
  }

  /** 400 naming each wrong field of the request body. */
  public static ProblemException invalidFields(Map<String, String> fieldErrors) {
    var ordered = new LinkedHashMap<>(fieldErrors);
    String detail =
        ordered.entrySet().stream()
            .map(e -> e.getKey() + ": " + e.getValue())
            .reduce((a, b) -> a + "; " + b)
            .orElse("invalid request");
    return new ProblemException(400, "Invalid request", detail, ordered, Map.of());
  }

  public static ProblemException unauthorized(String detail) {
    return new ProblemException(401, "Unauthorized", detail);
  }

  public static ProblemException forbidden(String detail) {
    return new ProblemException(403, "Forbidden", detail);
  }

  public static ProblemException notFound(String detail) {
    return new ProblemException(404, "Not Found", detail);
  }

  public static ProblemException conflict(String detail) {
    return new ProblemException(409, "Conflict", detail);
  }

  public static ProblemException unprocessable(String detail) {
    return new ProblemException(422, "Unprocessable Content", detail);
  }

  public static ProblemException unavailable(String detail, long retryAfterSeconds) {
    return new ProblemException(
        503,
        "Service Unavailable",
        detail,
        Map.of(),
        Map.of("Retry-After", Long.toString(retryAfterSeconds)));
  }

  public int status() {
    return status;
  }

  public Map<String, String> headers() {
    return headers;
  }

  public Problem problem() {
    return new Problem(Problem.typeFor(status), title, status, getMessage(), fieldErrors);
  }
}
