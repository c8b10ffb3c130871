package io.marketplace.payments.stripeemulator;

import java.time.Instant;

/**
 * One try at delivering an event to an endpoint: {@code statusCode} is 0 when no HTTP answer came
 * (connection refused, timeout), with {@code error} saying why.
 */
public record WebhookAttempt(
    String eventId,
    String eventType,
    String endpointId,
    String url,
    int attempt,
    int statusCode,
    String error,
    boolean succeeded,
    Instant attemptedAt) {}
