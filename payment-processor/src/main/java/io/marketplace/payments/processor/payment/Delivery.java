package io.marketplace.payments.processor.payment;

/**
 * Whether what a payment bought could be given: a paid listing that meanwhile was rejected or
 * deleted cannot be activated, nor can a promotion run on a listing that is no longer active. Such
 * a payment is a technical failure, refunded automatically.
 */
public record Delivery(boolean delivered, String problem) {

  private static final Delivery DONE = new Delivery(true, null);

  public static Delivery done() {
    return DONE;
  }

  public static Delivery impossible(String problem) {
    return new Delivery(false, problem);
  }
}
