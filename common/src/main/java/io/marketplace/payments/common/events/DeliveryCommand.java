package io.marketplace.payments.common.events;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Objects;
import java.util.UUID;

/**
 * An internal request to deliver a purchase that was held back, on {@code
 * payments.internal.delivery-commands.v1}, keyed by PaymentIntent id. The payment processor holds
 * back what a payment bought when all of its money went back before its success was applied (a
 * chargeback or a dashboard refund the refund worker recorded first); the refund worker sends one
 * when that money comes back to us (a dispute won, a refund Stripe failed). The processor then
 * delivers the purchase, or asks for its refund when it can no longer be delivered, if it is still
 * held back and its money did not all go back meanwhile.
 *
 * @param id stable for the fact that gave the money back (the processor dedupes on it)
 * @param cause what gave it back, for the logs: {@code dispute du_... won}, {@code refund re_...
 *     failed}
 * @param requestedAt when the refund worker applied that fact
 */
public record DeliveryCommand(UUID id, String paymentIntentId, String cause, Instant requestedAt) {

  /** The {@code event-type} header of the command on the internal topic. */
  public static final String TYPE = "delivery.command";

  public DeliveryCommand {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(paymentIntentId, "paymentIntentId");
    Objects.requireNonNull(cause, "cause");
    Objects.requireNonNull(requestedAt, "requestedAt");
  }

  /**
   * The id of the command that {@code cause} gives the payment: one per fact that gave money back,
   * whatever events tell of it, and a new one for the next such fact.
   */
  public static UUID idFor(String paymentIntentId, String cause) {
    return UUID.nameUUIDFromBytes(
        ("payments.internal.delivery-commands.v1/" + paymentIntentId + "/" + cause)
            .getBytes(StandardCharsets.UTF_8));
  }
}
