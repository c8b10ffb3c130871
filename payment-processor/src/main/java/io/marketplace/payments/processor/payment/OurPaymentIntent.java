package io.marketplace.payments.processor.payment;

import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.common.stripe.StripeEvent;
import java.time.Instant;
import java.util.Locale;
import java.util.Optional;
import java.util.UUID;

/**
 * Reads the purchase from a PaymentIntent's metadata, the way checkout-api wrote it: only used to
 * rebuild a missing {@code payments} row, never to overrule one, and only for a purchase a checkout
 * of ours priced ({@code checkout_attempts}, written before the PaymentIntent is created).
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

  /**
   * Checks that the PaymentIntent of {@code event} is for what our row says was priced: the same
   * amount in the same currency. Whoever holds the account's keys can change a PaymentIntent's
   * amount before it is confirmed, or make one with our metadata; a payment that does not match
   * what we charge is not delivered and throws, so that the event goes to the dead-letter topic for
   * a person to look at, with the money untouched at Stripe. What Stripe took counts too: {@code
   * amount_received}, when the object states it, must be the whole amount (a PaymentIntent switched
   * to manual capture before it was confirmed succeeds once captured in part, still asking for the
   * whole amount).
   */
  public static void requireChargedAsPriced(Payment payment, StripeEvent event) {
    long amount = event.field("amount").asLong(-1);
    String currency = event.field("currency").asText("").toLowerCase(Locale.ROOT);
    JsonNode stated = event.field("amount_received");
    long received = stated.isNumber() ? stated.asLong() : amount;
    if (amount != payment.amountCents()
        || received != payment.amountCents()
        || !currency.equals(payment.currency())) {
      throw new IllegalArgumentException(
          "PaymentIntent %s is for %d %s (%d received), but its %s was priced %d %s: not delivered"
              .formatted(
                  payment.paymentIntentId(),
                  amount,
                  currency,
                  received,
                  payment.type().wire(),
                  payment.amountCents(),
                  payment.currency()));
    }
  }

  /** When the PaymentIntent was created, for a rebuilt row. */
  public static Instant createdAt(StripeEvent event) {
    long created = event.field("created").asLong(0);
    return created > 0 ? Instant.ofEpochSecond(created) : event.created();
  }
}
