package io.marketplace.payments.risk;

import java.util.ArrayList;
import java.util.List;

/**
 * The payments of one marketplace category in one hour (event time): succeeded PaymentIntents (each
 * once, in the hour of its first event: a reconciliation's republished success is dropped
 * upstream), declined attempts (each once, in the hour of its first event: an attempt Stripe
 * reports in two events is dropped upstream) and distinct refunds (by {@code re_} id, so a refund
 * reported by both {@code charge.refunded} and {@code refund.created} counts once).
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
