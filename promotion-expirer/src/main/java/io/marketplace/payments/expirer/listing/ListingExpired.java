package io.marketplace.payments.expirer.listing;

import java.time.Instant;
import java.util.UUID;

/** The data of {@code listing.expired}: an active listing reached its end and is now expired. */
public record ListingExpired(UUID listingId, UUID userId, Instant expiresAt, Instant expiredAt) {}
