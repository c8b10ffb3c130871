package io.marketplace.payments.processor.payment;

import io.marketplace.payments.common.stripe.StripeEvent;
import java.time.Instant;
import java.util.Locale;
import java.util.Optional;
import java.util.UUID;

/**
 * Reads the purchase from a PaymentIntent's metadata, the way checkout-api wrote it: only used to
 * rebuild a missing {@code payments} row, never to overrule one.
 */
public final class OurPaymentIntent {

  private OurPaymentIntent() {}

  /**
   * The payment the PaymentIntent of {@code event} stands for, or empty when it carries none of our
   * metadata (someone else's PaymentIntent on the account). Metadata of ours that does not parse
   * throws: that event needs a person, so it goes to the dead-letter topic.
   */
  public static Optional<Payment> from(StripeEvent event) {
    Optional<String> listing = event.metadata("listing_id");
    Optional<String> user = event.metadata("user_id");
    Optional<String> type = event.metadata("payment_type");
    if (listing.isEmpty() || user.isEmpty() || type.isEmpty()) {
      return Optional.empty();
    }
    long amount = event.field("amount").asLong(0);
    if (amount <= 0) {
      throw new IllegalArgumentException("PaymentIntent of ours without a positive amount");
    }
    return Optional.of(
        new Payment(
            event.paymentIntentId().orElseThrow(),
            UUID.fromString(listing.get()),
            UUID.fromString(user.get()),
            PaymentType.fromWire(type.get()),
            amount,
            event.field("currency").asText("usd").toLowerCase(Locale.ROOT)));
  }

  /** When the PaymentIntent was created, for a rebuilt row. */
  public static Instant createdAt(StripeEvent event) {
    long created = event.field("created").asLong(0);
    return created > 0 ? Instant.ofEpochSecond(created) : event.created();
  }
}
