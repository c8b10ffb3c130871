package io.marketplace.payments.ops.reconcile;

import com.fasterxml.jackson.databind.JsonNode;
import com.stripe.StripeClient;
import com.stripe.exception.StripeException;
import com.stripe.model.PaymentIntent;
import com.stripe.model.Refund;
import com.stripe.model.StripeObject;
import com.stripe.param.PaymentIntentListParams;
import com.stripe.param.RefundListParams;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.ops.OperatorError;
import java.io.IOException;
import java.time.Instant;
import java.util.Map;
import java.util.function.Consumer;

/** What Stripe holds: PaymentIntents and refunds by creation time, and single objects raw. */
public final class StripeLedger {

  private static final long PAGE = 100;

  private final StripeClient client;

  public StripeLedger(StripeClient client) {
    this.client = client;
  }

  /** Every PaymentIntent created at or after {@code since}, newest first, page by page. */
  public void paymentIntentsSince(Instant since, Consumer<Reconciler.StripePayment> each) {
    var params =
        PaymentIntentListParams.builder()
            .setCreated(
                PaymentIntentListParams.Created.builder().setGte(since.getEpochSecond()).build())
            .setLimit(PAGE)
            .build();
    try {
      for (PaymentIntent pi : client.v1().paymentIntents().list(params).autoPagingIterable()) {
        each.accept(
            new Reconciler.StripePayment(
                pi.getId(),
                pi.getStatus(),
                pi.getMetadata() == null ? Map.of() : pi.getMetadata()));
      }
    } catch (StripeException | RuntimeException e) {
      throw unreachable("listing PaymentIntents", e);
    }
  }

  /** Every refund created at or after {@code since}. */
  public void refundsSince(Instant since, Consumer<Reconciler.StripeRefund> each) {
    var params =
        RefundListParams.builder()
            .setCreated(RefundListParams.Created.builder().setGte(since.getEpochSecond()).build())
            .setLimit(PAGE)
            .build();
    try {
      for (Refund refund : client.v1().refunds().list(params).autoPagingIterable()) {
        each.accept(
            new Reconciler.StripeRefund(
                refund.getId(),
                refund.getPaymentIntent(),
                refund.getStatus(),
                refund.getMetadata() == null ? Map.of() : refund.getMetadata()));
      }
    } catch (StripeException | RuntimeException e) {
      throw unreachable("listing refunds", e);
    }
  }

  /** The object as Stripe returns it now, every field kept: what a repair event carries. */
  public JsonNode raw(String objectId) {
    try {
      StripeObject object =
          objectId.startsWith("pi_")
              ? client.v1().paymentIntents().retrieve(objectId)
              : client.v1().refunds().retrieve(objectId);
      return Json.mapper().readTree(object.getLastResponse().body());
    } catch (StripeException | IOException | RuntimeException e) {
      throw unreachable("retrieving " + objectId, e);
    }
  }

  private static OperatorError unreachable(String doing, Exception e) {
    if (e instanceof OperatorError operatorError) {
      return operatorError;
    }
    return new OperatorError("Stripe failed while " + doing + ": " + e.getMessage(), e);
  }
}
