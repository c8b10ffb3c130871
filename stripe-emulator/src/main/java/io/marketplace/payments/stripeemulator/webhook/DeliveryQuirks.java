package io.marketplace.payments.stripeemulator.webhook;

import java.util.Objects;

/**
 * Delivery behaviours real Stripe exhibits that receivers must survive, each off by default and
 * switched on by tests: an event delivered again after it was acknowledged ({@link
 * #redeliveries()}), one change sent as two events with different ids ({@link #twinEvents()}), and
 * deliveries held while paused released out of order ({@link #resumeOrder()}). Settings are not
 * journaled: an emulator starts with all of them off.
 */
public final class DeliveryQuirks {

  /** The order in which {@code resume} releases the deliveries held while paused. */
  public record ResumeOrder(Kind kind, long seed) {
    public enum Kind {
      /** All at once, as they were held (the default): the pool's threads race. */
      ARRIVAL,
      /** One after another, the latest event first. */
      REVERSE,
      /** One after another, in an order shuffled by {@code seed}. */
      SHUFFLE
    }

    public ResumeOrder {
      Objects.requireNonNull(kind, "kind");
    }

    public static ResumeOrder arrival() {
      return new ResumeOrder(Kind.ARRIVAL, 0);
    }

    public static ResumeOrder reverse() {
      return new ResumeOrder(Kind.REVERSE, 0);
    }

    public static ResumeOrder shuffled(long seed) {
      return new ResumeOrder(Kind.SHUFFLE, seed);
    }
  }

  private volatile int redeliveries;
  private volatile boolean twinEvents;
  private volatile ResumeOrder resumeOrder = ResumeOrder.arrival();

  /**
   * How many more times each event is delivered to an endpoint after its first 2xx there, as Stripe
   * may deliver an event more than once. Applies to events published from now on.
   */
  public int redeliveries() {
    return redeliveries;
  }

  public void redeliveries(int extra) {
    if (extra < 0) {
      throw new IllegalArgumentException("redeliveries must be 0 or more: " + extra);
    }
    this.redeliveries = extra;
  }

  /**
   * Whether each change is also published as a second event of the same type and {@code
   * data.object} under another {@code evt_} id, as Stripe may announce one change twice.
   */
  public boolean twinEvents() {
    return twinEvents;
  }

  public void twinEvents(boolean on) {
    this.twinEvents = on;
  }

  public ResumeOrder resumeOrder() {
    return resumeOrder;
  }

  public void resumeOrder(ResumeOrder order) {
    this.resumeOrder = Objects.requireNonNull(order, "order");
  }

  /** Everything off again. */
  public void clear() {
    redeliveries = 0;
    twinEvents = false;
    resumeOrder = ResumeOrder.arrival();
  }
}
