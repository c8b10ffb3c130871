package io.marketplace.payments.risk;

import java.util.ArrayList;
import java.util.List;

/**
 * The payments of one marketplace category in one hour (event time): succeeded PaymentIntents,
 * declined attempts and distinct refunds ({@code re_} ids). Each is counted once, in the hour of
 * its first event, upstream ({@link StripeObservations}): a reconciliation's republished success,
 * an attempt Stripe reports in two events, a refund reported by both {@code refund.created} and
 * {@code charge.refunded} or listed again by a later {@code charge.refunded} add nothing. The
 * refund ids are kept as well, so a refund counts once in its hour on its own too.
 */
public record CategoryRates(long succeeded, long declined, List<String> refundIds) {

  public static CategoryRates empty() {
    return new CategoryRates(0, 0, List.of());
  }

  public CategoryRates add(Observation observation) {
    return switch (observation.kind()) {
      case SUCCEEDED -> new CategoryRates(succeeded + 1, declined, refundIds);
      case DECLINED -> new CategoryRates(succeeded, declined + 1, refundIds);
      case REFUNDED -> {
        if (refundIds.contains(observation.member())) {
          yield this;
        }
        List<String> more = new ArrayList<>(refundIds);
        more.add(observation.member());
        yield new CategoryRates(succeeded, declined, List.copyOf(more));
      }
      case DISPUTE -> this;
    };
  }

  public long refunds() {
    return refundIds.size();
  }

  /** declines / (declines + succeeded); 0 without payments. */
  public double declineRatio() {
    long attempts = declined + succeeded;
    return attempts == 0 ? 0 : (double) declined / attempts;
  }

  /** refunds / succeeded; 0 without a succeeded payment. */
  public double refundRatio() {
    return succeeded == 0 ? 0 : (double) refunds() / succeeded;
  }
}
