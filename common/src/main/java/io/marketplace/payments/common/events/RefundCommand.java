package io.marketplace.payments.common.events;

import java.time.Instant;
import java.util.Objects;
import java.util.UUID;

/**
 * An internal request for an automatic refund, on {@code payments.internal.refund-commands.v1},
 * keyed by PaymentIntent id. The payment processor sends one when a payment arrives for a listing
 * that can no longer be activated (a technical failure); the refund worker applies the refund rule
 * to it.
 *
 * @param id stable for the fact (the refund worker dedupes on it)
 * @param reason {@code technical_failure} or {@code moderation_rejection}
 */
public record RefundCommand(
    UUID id,
    String paymentIntentId,
    UUID listingId,
    UUID userId,
    String reason,
    String detail,
    Instant requestedAt) {

  public RefundCommand {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(paymentIntentId, "paymentIntentId");
    Objects.requireNonNull(reason, "reason");
    Objects.requireNonNull(requestedAt, "requestedAt");
  }

  public static UUID idFor(String paymentIntentId, String reason) {
    return UUID.nameUUIDFromBytes(
        ("payments.internal.refund-commands.v1/" + reason + "/" + paymentIntentId)
            .getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }
}
