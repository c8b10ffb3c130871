package io.marketplace.payments.gateway.webhook;

import com.stripe.exception.SignatureVerificationException;
import com.stripe.net.Webhook;
import java.time.Clock;
import java.util.List;
import java.util.Optional;

/**
 * Checks {@code Stripe-Signature} with stripe-java against every configured secret, so a secret
 * rotation needs no downtime: during it Stripe signs with the new secret while we still accept the
 * old one. The tolerance is Stripe's default of 300 s (SPEC §3).
 */
public final class SignatureVerifier {

  public static final long TOLERANCE_SECONDS = 300;

  private final List<String> secrets;
  private final Clock clock;

  public SignatureVerifier(List<String> secrets, Clock clock) {
    if (secrets.isEmpty()) {
      throw new IllegalArgumentException("at least one secret is needed");
    }
    this.secrets = List.copyOf(secrets);
    this.clock = clock;
  }

  /**
   * What verifying a body of {@code bodyBytes} allocates beyond the body, at most: its text (the
   * body decoded; twice its size when not Latin-1), and for each secret the text formatted again
   * with the timestamp (a growing buffer) and encoded once more, as stripe-java does.
   */
  public long workingBytes(int bodyBytes) {
    return (long) bodyBytes * (2 + 6L * secrets.size());
  }

  /** Why a signature was refused; the name is the metric tag, the detail is told to the caller. */
  public enum Failure {
    MISSING_HEADER("missing_header", "the Stripe-Signature header is missing"),
    MALFORMED_HEADER("malformed_header", "the Stripe-Signature header cannot be read"),
    NO_MATCHING_SIGNATURE(
        "no_matching_signature", "no signature in Stripe-Signature matches the body"),
    STALE_TIMESTAMP(
        "stale_timestamp",
        "the Stripe-Signature timestamp is older than " + TOLERANCE_SECONDS + " s");

    private final String tag;
    private final String detail;

    Failure(String tag, String detail) {
      this.tag = tag;
      this.detail = detail;
    }

    public String tag() {
      return tag;
    }

    public String detail() {
      return detail;
    }
  }

  /**
   * Verifies {@code payload} (the raw body as UTF-8, which is what Stripe signs) against {@code
   * header}; empty when a secret signed it within the tolerance.
   */
  public Optional<Failure> verify(String payload, String header) {
    if (header == null || header.isBlank()) {
      return Optional.of(Failure.MISSING_HEADER);
    }
    Failure worst = null;
    for (String secret : secrets) {
      Failure failure = verifyWith(payload, header, secret);
      if (failure == null) {
        return Optional.empty();
      }
      // a stale timestamp means a secret did match: report that rather than "no match"
      if (worst == null || failure.ordinal() > worst.ordinal()) {
        worst = failure;
      }
    }
    return Optional.of(worst);
  }

  private Failure verifyWith(String payload, String header, String secret) {
    try {
      Webhook.Signature.verifyHeader(payload, header, secret, TOLERANCE_SECONDS, clock);
      return null;
    } catch (SignatureVerificationException e) {
      return classify(e.getMessage());
    } catch (RuntimeException e) {
      // stripe-java reads "t=" with Long.parseLong and splits on "=": garbage headers throw here
      return Failure.MALFORMED_HEADER;
    }
  }

  private static Failure classify(String message) {
    String text = message == null ? "" : message;
    if (text.contains("tolerance")) {
      return Failure.STALE_TIMESTAMP;
    }
    if (text.contains("matching the expected signature")) {
      return Failure.NO_MATCHING_SIGNATURE;
    }
    return Failure.MALFORMED_HEADER;
  }
}
