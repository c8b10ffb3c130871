package io.marketplace.payments.processor.payment;

import java.util.UUID;

/** Our record of a PaymentIntent ({@code payments}): what it pays for, for whom, how much. */
public record Payment(
    String paymentIntentId,
    UUID listingId,
    UUID userId,
    PaymentType type,
    long amountCents,
    String currency) {}
