package io.marketplace.payments.common.refund;

/**
 * What {@link RefundExecutor#execute} did, with the refund as it is now.
 *
 * @param result see {@link Result}
 * @param refund the record after the call
 * @param error why Stripe did not refund, for {@link Result#FAILED}; else null
 */
public record RefundOutcome(Result result, RefundRecord refund, String error) {

  public enum Result {
    /** This call moved the refund from approved to processed: Stripe refunded it. */
    PROCESSED,
    /**
     * Nothing to do: the refund is not approved (already processed, by this caller earlier or by a
     * concurrent one, or still pending, or rejected). See {@code refund().status()}.
     */
    UNCHANGED,
    /**
     * Stripe did not refund: the record stays approved with {@code last_error}, and the refund
     * worker's janitor tries again (soon when {@link #retryable()}, rarely when Stripe refused).
     */
    FAILED,
    /**
     * Stripe refused the refund for good, or created it failed: the record is now {@code failed}
     * with its reason and {@code refund.failed} is announced; only an admin's retry goes on.
     */
    ENDED_FAILED
  }

  static RefundOutcome processed(RefundRecord refund) {
    return new RefundOutcome(Result.PROCESSED, refund, null);
  }

  static RefundOutcome unchanged(RefundRecord refund) {
    return new RefundOutcome(Result.UNCHANGED, refund, null);
  }

  static RefundOutcome failed(RefundRecord refund, String error) {
    return new RefundOutcome(Result.FAILED, refund, error);
  }

  static RefundOutcome endedFailed(RefundRecord refund, String error) {
    return new RefundOutcome(Result.ENDED_FAILED, refund, error);
  }

  /** True when the refund is processed, whoever processed it. */
  public boolean isProcessed() {
    return refund.status() == RefundStatus.PROCESSED;
  }

  /** For a failure: true unless Stripe refused the request itself (retrying soon will not help). */
  public boolean retryable() {
    return result == Result.FAILED && !RefundExecutor.isRefusal(error);
  }
}
