package io.marketplace.payments.processor.listing;

import java.util.UUID;
import org.jdbi.v3.core.Handle;

/** Reads about listings that the purchase handlers share. */
public final class Listings {

  private Listings() {}

  /** Says why a listing cannot take a purchase, for the audit trail and the refund. */
  public static String describe(Handle tx, UUID listingId) {
    return tx.createQuery("SELECT status FROM marketplace_listings WHERE id = :id")
        .bind("id", listingId)
        .mapTo(String.class)
        .findOne()
        .map(status -> "listing " + listingId + " is " + status)
        .orElse("listing " + listingId + " does not exist");
  }
}
