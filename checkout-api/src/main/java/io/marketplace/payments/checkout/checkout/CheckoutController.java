package io.marketplace.payments.checkout.checkout;

import io.javalin.http.Context;
import io.marketplace.payments.checkout.auth.Caller;
import io.marketplace.payments.checkout.http.PathIds;
import io.marketplace.payments.checkout.http.Reply;

/**
 * {@code POST /api/marketplace/listings/{id}/checkout}: the posting fee of a {@code
 * pending_payment} listing. Asked again while unpaid, it answers with the same PaymentIntent.
 */
public final class CheckoutController {

  private final Purchases purchases;

  public CheckoutController(Purchases purchases) {
    this.purchases = purchases;
  }

  public Reply checkout(Context ctx, Caller caller) {
    return Reply.ok(
        purchases.purchase(caller, PathIds.uuid(ctx, "id", "listing"), PaymentType.POSTING_FEE));
  }
}
