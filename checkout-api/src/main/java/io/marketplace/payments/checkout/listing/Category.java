package io.marketplace.payments.checkout.listing;

/** A row of {@code categories}: the posting fee of SPEC §1 lives in the database, not in code. */
public record Category(long id, String slug, String name, int postingFeeCents) {

  public boolean isFree() {
    return postingFeeCents == 0;
  }
}
