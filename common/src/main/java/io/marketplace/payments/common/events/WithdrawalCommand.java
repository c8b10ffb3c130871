package io.marketplace.payments.common.events;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Objects;
import java.util.UUID;

/**
 * An internal request to take back a purchase delivered after all of its payment's money had gone
 * back at Stripe, on {@code payments.internal.delivery-commands.v1} beside the {@link
 * DeliveryCommand}s, keyed by PaymentIntent id. The payment processor and the refund worker read
 * {@code stripe.events.v1} from places of their own: when the processor applied the success before
 * the refund worker recorded a dashboard refund or a chargeback that Stripe had made earlier, the
 * purchase went out although the customer already had the money. The refund worker, recording that
 * money gone back, sends one; the processor then holds the purchase back as it would have, had it
 * seen the money gone first, if the purchase went out after {@code returnedAt} and all of the
 * payment's money is still gone.
 *
 * @param id stable for the fact that took the money back (the processor dedupes on it)
 * @param cause that fact, for the logs: {@code refund re_... recorded}, {@code dispute du_...}
 * @param returnedAt when Stripe took the money back (the refund's or the dispute's {@code created})
 * @param requestedAt when the refund worker recorded it
 */
public record WithdrawalCommand(
    UUID id, String paymentIntentId, String cause, Instant returnedAt, Instant requestedAt) {

  /** The {@code event-type} header of the command on the internal topic. */
  public static final String TYPE = "withdrawal.command";

  public WithdrawalCommand {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(paymentIntentId, "paymentIntentId");
    Objects.requireNonNull(cause, "cause");
    Objects.requireNonNull(returnedAt, "returnedAt");
    Objects.requireNonNull(requestedAt, "requestedAt");
  }

  /**
   * The id of the command that {@code cause} gives the payment: one per fact, whatever tells it.
   */
  public static UUID idFor(String paymentIntentId, String cause) {
    return UUID.nameUUIDFromBytes(
        ("payments.internal.delivery-commands.v1/withdrawal/" + paymentIntentId + "/" + cause)
            .getBytes(StandardCharsets.UTF_8));
  }
}
