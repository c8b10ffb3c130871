package io.marketplace.payments.checkout.checkout;

import io.javalin.http.Context;
import io.marketplace.payments.checkout.auth.Caller;
import io.marketplace.payments.checkout.http.PathIds;
import io.marketplace.payments.checkout.http.Reply;
import io.marketplace.payments.checkout.http.RequestBody;
import java.util.UUID;

/**
 * {@code POST /api/marketplace/listings/{id}/checkout}: the posting fee of a {@code
 * pending_payment} listing. Asked again while unpaid, it answers with the same PaymentIntent.
 *
 * <p>It takes no body: the fee is the listing's category's, in usd. A body naming a field (an
 * {@code amountCents}, a {@code currency}) is a 400 that says so, not a PaymentIntent for another
 * amount than the client meant.
 */
public final class CheckoutController {

  private final Purchases purchases;

  public CheckoutController(Purchases purchases) {
    this.purchases = purchases;
  }

  public Reply checkout(Context ctx, Caller caller) {
    UUID listingId = PathIds.uuid(ctx, "id", "listing");
    RequestBody.of(ctx).validate(); // no body: a price sent here is not the price charged
    return Reply.ok(purchases.purchase(caller, listingId, PaymentType.POSTING_FEE));
  }
}
