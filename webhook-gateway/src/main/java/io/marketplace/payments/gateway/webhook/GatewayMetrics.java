package io.marketplace.payments.gateway.webhook;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The gateway's meters. {@code homepage.webhooks.received} keeps the name of the system we replace
 * (SPEC §6, scraped as {@code homepage_webhooks_received_total{event_type}}); its tag only ever
 * holds types of verified events, so an attacker cannot grow its cardinality.
 */
public final class GatewayMetrics {

  /** Why a request was refused other than for its signature; the metric tag. */
  public enum Rejection {
    TOO_LARGE("too_large"),
    UNREADABLE("unreadable"),
    NOT_UTF8("not_utf8"),
    NOT_AN_EVENT("not_an_event"),
    OVERLOADED("overloaded"),
    TOO_SLOW("too_slow"),
    TEST_MODE("test_mode");

    private final String tag;

    Rejection(String tag) {
      this.tag = tag;
    }
  }

  /** How a publish ended; the tag of {@code gateway.publish}. */
  public enum Outcome {
    ACKNOWLEDGED("acknowledged"),
    TIMED_OUT("timed_out"),
    FAILED("failed");

    private final String tag;

    Outcome(String tag) {
      this.tag = tag;
    }
  }

  private final MeterRegistry registry;
  private final Map<String, Counter> receivedByType = new ConcurrentHashMap<>();
  private final Map<SignatureVerifier.Failure, Counter> signatureFailures =
      new EnumMap<>(SignatureVerifier.Failure.class);
  private final Map<Rejection, Counter> rejections = new EnumMap<>(Rejection.class);
  private final Map<Outcome, Timer> publishes = new EnumMap<>(Outcome.class);
  private final AtomicInteger inFlight = new AtomicInteger();

  public GatewayMetrics(MeterRegistry registry) {
    this.registry = registry;
    for (SignatureVerifier.Failure failure : SignatureVerifier.Failure.values()) {
      signatureFailures.put(
          failure,
          Counter.builder("gateway.signature.failures")
              .description("webhooks refused for their Stripe-Signature")
              .tag("reason", failure.tag())
              .register(registry));
    }
    for (Rejection rejection : Rejection.values()) {
      rejections.put(
          rejection,
          Counter.builder("gateway.requests.rejected")
              .description("webhooks refused for their body")
              .tag("reason", rejection.tag)
              .register(registry));
    }
    for (Outcome outcome : Outcome.values()) {
      publishes.put(
          outcome,
          Timer.builder("gateway.publish")
              .description("from send to the broker's acknowledgement (acks=all) or giving up")
              .tag("outcome", outcome.tag)
              .publishPercentileHistogram()
              .minimumExpectedValue(Duration.ofMillis(1))
              .maximumExpectedValue(Duration.ofSeconds(15))
              .register(registry));
    }
    Gauge.builder("gateway.requests.inflight", inFlight, AtomicInteger::get)
        .description("webhook requests being verified or waiting for the broker")
        .register(registry);
  }

  /** An event was verified and acknowledged by the broker. */
  void received(String eventType) {
    receivedByType
        .computeIfAbsent(
            eventType,
            type ->
                Counter.builder("homepage.webhooks.received")
                    .description("Stripe events verified and published")
                    .tag("event_type", type)
                    .register(registry))
        .increment();
  }

  void signatureFailure(SignatureVerifier.Failure failure) {
    signatureFailures.get(failure).increment();
  }

  void rejected(Rejection rejection) {
    rejections.get(rejection).increment();
  }

  void published(Outcome outcome, long nanos) {
    publishes.get(outcome).record(nanos, TimeUnit.NANOSECONDS);
  }

  void requestStarted() {
    inFlight.incrementAndGet();
  }

  void requestEnded() {
    inFlight.decrementAndGet();
  }
}
