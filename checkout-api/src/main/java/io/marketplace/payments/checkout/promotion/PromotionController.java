package io.marketplace.payments.checkout.promotion;

import io.javalin.http.Context;
import io.marketplace.payments.checkout.auth.Caller;
import io.marketplace.payments.checkout.checkout.PaymentType;
import io.marketplace.payments.checkout.checkout.Purchases;
import io.marketplace.payments.checkout.http.PathIds;
import io.marketplace.payments.checkout.http.Reply;
import io.marketplace.payments.checkout.http.RequestBody;
import java.util.Map;
import java.util.UUID;

/**
 * {@code POST /api/marketplace/listings/{id}/promote {"type":"featured"|"bump"}}: buys a promotion
 * of an active listing. The promotion itself is created by the payment processor once Stripe says
 * the payment succeeded.
 */
public final class PromotionController {

  private static final Map<String, PaymentType> TYPES =
      Map.of("featured", PaymentType.PROMOTION_FEATURED, "bump", PaymentType.PROMOTION_BUMP);

  private final Purchases purchases;

  public PromotionController(Purchases purchases) {
    this.purchases = purchases;
  }

  public Reply promote(Context ctx, Caller caller) {
    UUID listingId = PathIds.uuid(ctx, "id", "listing");
    RequestBody body = RequestBody.of(ctx);
    String type = body.requiredChoice("type", TYPES.keySet());
    body.validate();
    return Reply.ok(purchases.purchase(caller, listingId, TYPES.get(type)));
  }
}
