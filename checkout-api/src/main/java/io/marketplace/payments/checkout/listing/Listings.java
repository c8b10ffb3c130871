package io.marketplace.payments.checkout.listing;

import io.marketplace.payments.checkout.auth.Caller;
import io.marketplace.payments.common.http.ProblemException;
import java.time.Instant;
import java.util.UUID;
import org.jdbi.v3.core.Handle;

/** Finding a listing for a caller: 404 when it does not exist, 403 when it is not theirs. */
public final class Listings {

  private Listings() {}

  /** The caller's own listing, locked for the rest of {@code tx}. */
  public static Listing lockOwned(Handle tx, Caller caller, UUID id, Instant now) {
    Listing listing = tx.attach(ListingDao.class).lock(id, now).orElseThrow(() -> notFound(id));
    if (!caller.owns(listing.userId())) {
      throw ProblemException.forbidden("this listing belongs to another user");
    }
    return listing;
  }

  public static ProblemException notFound(UUID id) {
    return ProblemException.notFound("no listing " + id);
  }
}
