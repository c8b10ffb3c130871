package io.marketplace.payments.gateway.webhook;

import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import io.marketplace.payments.common.http.ProblemException;
import io.marketplace.payments.common.logging.Mdc;
import io.marketplace.payments.common.stripe.InvalidStripeEventException;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /webhooks/stripe} (SPEC §3): the only door Stripe knocks on. Consumes a signed raw
 * event; produces it, unchanged, on {@code stripe.events.v1}, and answers 200 only once the broker
 * acknowledged it. Nothing else happens here (no database, no parsing beyond the envelope), so
 * Stripe gets its answer fast and the workers do the business.
 */
public final class WebhookController {

  public static final String PATH = "/webhooks/stripe";
  public static final String SIGNATURE_HEADER = "Stripe-Signature";

  /** Stripe ignores it, but SPEC §3 asks for it, and other callers may read it. */
  static final long RETRY_AFTER_SECONDS = 10;

  /** Bodies held at once, at most: 64 bodies of the largest size, or some 20,000 real events. */
  static final long BODY_BUDGET_BYTES = 64L * RawBody.MAX_BYTES;

  /** What the unfinished bodies of one client address hold at most: a quarter of the budget. */
  static final long BODY_BUDGET_BYTES_PER_ADDRESS = BODY_BUDGET_BYTES / 4;

  private static final Logger log = LoggerFactory.getLogger(WebhookController.class);
  private static final byte[] RECEIVED = "{\"received\":true}".getBytes(StandardCharsets.UTF_8);

  private final SignatureVerifier verifier;
  private final EventPublisher publisher;
  private final GatewayMetrics metrics;
  private final Clock clock;
  private final boolean liveModeOnly;
  private final BodyBudget bodies =
      new BodyBudget(BODY_BUDGET_BYTES, BODY_BUDGET_BYTES_PER_ADDRESS);

  public WebhookController(
      SignatureVerifier verifier, EventPublisher publisher, GatewayMetrics metrics, Clock clock) {
    this(verifier, publisher, metrics, clock, false);
  }

  /**
   * {@code liveModeOnly}: refuse events of Stripe's test mode (production). How long a body may
   * take to arrive is the server's deadline ({@code GATEWAY_BODY_TIMEOUT}, see {@link
   * io.marketplace.payments.gateway.WebhookGateway}): a body past it fails to read, answered 408.
   */
  public WebhookController(
      SignatureVerifier verifier,
      EventPublisher publisher,
      GatewayMetrics metrics,
      Clock clock,
      boolean liveModeOnly) {
    this.verifier = verifier;
    this.publisher = publisher;
    this.metrics = metrics;
    this.clock = clock;
    this.liveModeOnly = liveModeOnly;
  }

  public void routes(JavalinConfig config) {
    config.routes.post(PATH, this::receive);
  }

  /**
   * Reads, verifies, parses, publishes, in that order: each step refuses what the previous one let
   * through, and nothing reaches Kafka that was not signed by Stripe within the tolerance. The
   * broker's 10 s start only when the event is handed to it (SPEC §3 bounds Kafka, not the client):
   * the time the body took to arrive has its own deadline ({@code GATEWAY_BODY_TIMEOUT}, kept by
   * the server).
   */
  void receive(Context ctx) {
    Instant receivedAt = clock.instant();
    metrics.requestStarted();
    try (BodyBudget.Reservation room = bodies.open(ctx.req().getRemoteAddr())) {
      byte[] body = body(ctx, room);
      Optional<SignatureVerifier.Failure> failure = verify(ctx, body);
      if (failure.isPresent()) {
        metrics.signatureFailure(failure.get());
        log.debug("refused a webhook: {}", failure.get().tag());
        throw ProblemException.badRequest(failure.get().detail());
      }
      EventEnvelope event = event(body);
      if (liveModeOnly && !event.livemode()) {
        // signed, but by a test-mode endpoint's secret: a test card's "payment" moved no money
        metrics.rejected(GatewayMetrics.Rejection.TEST_MODE);
        throw ProblemException.badRequest(
            "a test-mode event (livemode false) is refused: this gateway takes live events only");
      }
      publish(event, body, receivedAt);
      metrics.received(event.type());
      received(ctx);
    } finally {
      metrics.requestEnded();
    }
  }

  /**
   * The 200, written straight to the response: as a Javalin result it would be copied through a
   * stream and a buffer of its own on every request.
   */
  private static void received(Context ctx) {
    HttpServletResponse response = ctx.res();
    response.setStatus(200);
    response.setContentType("application/json");
    response.setContentLength(RECEIVED.length);
    try {
      response.getOutputStream().write(RECEIVED);
    } catch (IOException e) {
      // the client went away after the broker acknowledged: the event is stored, nobody to tell
      log.debug("could not write the 200: {}", e.toString());
    }
  }

  /**
   * Reads the body, holding room in the budget only for the bytes that arrived; refuses one
   * declared too large before reading a byte. The server cuts off a body still arriving at its
   * deadline: the read fails, answered 408 on a connection already closed (the metric is what
   * remains).
   */
  private byte[] body(Context ctx, BodyBudget.Reservation room) {
    if (ctx.req().getContentLengthLong() > RawBody.MAX_BYTES) {
      metrics.rejected(GatewayMetrics.Rejection.TOO_LARGE);
      throw RawBody.tooLarge();
    }
    try {
      return RawBody.read(ctx.req(), room);
    } catch (ProblemException e) {
      metrics.rejected(
          switch (e.status()) {
            case 408 -> GatewayMetrics.Rejection.TOO_SLOW;
            case 413 -> GatewayMetrics.Rejection.TOO_LARGE;
            case 503 -> GatewayMetrics.Rejection.OVERLOADED;
            default -> GatewayMetrics.Rejection.UNREADABLE;
          });
      throw e;
    }
  }

  /**
   * Checks the body's signature. Anyone can make the gateway verify, and the copies verification
   * makes are several times the body: they take room of the whole budget for as long as it runs, or
   * a flood of large unsigned bodies would hold several times the budget in memory.
   */
  private Optional<SignatureVerifier.Failure> verify(Context ctx, byte[] body) {
    Optional<BodyBudget.Loan> loan = bodies.lend(verifier.workingBytes(body.length));
    if (loan.isEmpty()) {
      metrics.rejected(GatewayMetrics.Rejection.OVERLOADED);
      throw RawBody.overloaded();
    }
    try (BodyBudget.Loan verifying = loan.get()) {
      return verifier.verify(text(body), ctx.header(SIGNATURE_HEADER));
    }
  }

  private String text(byte[] body) {
    try {
      return RawBody.utf8(body);
    } catch (ProblemException e) {
      metrics.rejected(GatewayMetrics.Rejection.NOT_UTF8);
      throw e;
    }
  }

  /** A body Stripe signed but that is no event (SPEC §3: 400, nothing published). */
  private EventEnvelope event(byte[] body) {
    try {
      return EventEnvelope.parse(body);
    } catch (InvalidStripeEventException e) {
      metrics.rejected(GatewayMetrics.Rejection.NOT_AN_EVENT);
      throw ProblemException.badRequest("the body is not a Stripe event: " + e.getMessage());
    }
  }

  private void publish(EventEnvelope event, byte[] body, Instant receivedAt) {
    try {
      publisher.publish(event, body, receivedAt);
      log.debug("published {} {}", event.type(), event.id());
    } catch (EventPublisher.NotAcknowledgedException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      // the event's fields go to the log line that needs them, not around every request
      try (Mdc.Scope eventId = Mdc.put(Mdc.STRIPE_EVENT_ID, event.id());
          Mdc.Scope eventType = Mdc.put(Mdc.STRIPE_EVENT_TYPE, event.type())) {
        log.warn(
            "Kafka did not acknowledge {} {}: {} ({}); answering 503 so Stripe retries",
            event.type(),
            event.id(),
            e.getMessage(),
            cause.getClass().getSimpleName());
      }
      throw ProblemException.unavailable(
          "the event could not be stored durably within "
              + EventPublisher.ACK_TIMEOUT.toSeconds()
              + " s; retry later",
          RETRY_AFTER_SECONDS);
    }
  }
}
