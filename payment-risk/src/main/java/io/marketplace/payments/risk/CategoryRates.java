package io.marketplace.payments.risk;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * The payments of one marketplace category in one hour (event time): succeeded PaymentIntents,
 * declined attempts and distinct refunds ({@code re_} ids). Each is counted once, in the hour of
 * its first event, upstream ({@link StripeObservations}, which remembers each fact it counted in a
 * store of its own, one entry per fact for the dedupe retention): a reconciliation's republished
 * success, an attempt Stripe reports in two events, a refund reported by both {@code
 * refund.created} and {@code charge.refunded}, or listed again by a later {@code charge.refunded},
 * add nothing. So the hour holds three counts, the same size however many refunds it counts: it is
 * rewritten to its changelog at every update, and a list of the refunds' ids grew with each one,
 * its cost with the square of the refunds, toward the broker's 1 MB limit on a record.
 *
 * <p>An hour written before (with the list of its refunds' ids, {@code refundIds}, and no {@code
 * refunds}) counts the refunds of its list. An hour written now also carries an empty {@code
 * refundIds}, so that the version before, if rolled back to, reads a list where it expects one
 * (counting the hour's refunds from then on) instead of failing at every try.
 */
public record CategoryRates(long succeeded, long declined, long refunds) {

  public static CategoryRates empty() {
    return new CategoryRates(0, 0, 0);
  }

  /** An hour as stored, by this version ({@code refunds}) or the one before ({@code refundIds}). */
  @JsonCreator
  static CategoryRates stored(
      @JsonProperty("succeeded") long succeeded,
      @JsonProperty("declined") long declined,
      @JsonProperty("refunds") Long refunds,
      @JsonProperty("refundIds") List<String> refundIds) {
    long counted = refunds != null ? refunds : refundIds == null ? 0 : refundIds.size();
    return new CategoryRates(succeeded, declined, counted);
  }

  /** What the version before read the refunds from; empty: the count is {@link #refunds}. */
  @JsonProperty("refundIds")
  List<String> legacyRefundIds() {
    return List.of();
  }

  public CategoryRates add(Observation observation) {
    return switch (observation.kind()) {
      case SUCCEEDED -> new CategoryRates(succeeded + 1, declined, refunds);
      case DECLINED -> new CategoryRates(succeeded, declined + 1, refunds);
      case REFUNDED -> new CategoryRates(succeeded, declined, refunds + 1);
      case DISPUTE -> this;
    };
  }

  /** declines / (declines + succeeded); 0 without payments. */
  public double declineRatio() {
    long attempts = declined + succeeded;
    return attempts == 0 ? 0 : (double) declined / attempts;
  }

  /** refunds / succeeded; 0 without a succeeded payment. */
  public double refundRatio() {
    return succeeded == 0 ? 0 : (double) refunds / succeeded;
  }
}
