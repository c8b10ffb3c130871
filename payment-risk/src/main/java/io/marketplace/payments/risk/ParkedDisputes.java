package io.marketplace.payments.risk;

import java.util.ArrayList;
import java.util.List;

/**
 * The disputes of one PaymentIntent, opened at one time, that arrived before any {@code
 * payment_intent.*} event of it: nobody knew yet whose payment, or which category's, they dispute.
 * Kept in {@link StripeObservations#PARKED_DISPUTES} (keyed by PaymentIntent id, at the disputes'
 * event time) until the PaymentIntent's user and category become known.
 *
 * @param disputeIds the {@code du_} ids
 */
public record ParkedDisputes(List<String> disputeIds) {

  public ParkedDisputes {
    disputeIds = disputeIds == null ? List.of() : List.copyOf(disputeIds);
  }

  static ParkedDisputes of(String disputeId) {
    return new ParkedDisputes(List.of(disputeId));
  }

  /** These and {@code disputeId}, once. */
  ParkedDisputes with(String disputeId) {
    if (disputeIds.contains(disputeId)) {
      return this;
    }
    List<String> more = new ArrayList<>(disputeIds);
    more.add(disputeId);
    return new ParkedDisputes(more);
  }
}
