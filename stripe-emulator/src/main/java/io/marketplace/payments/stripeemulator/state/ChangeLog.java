package io.marketplace.payments.stripeemulator.state;

/**
 * Where changes go besides memory: nowhere ({@link #NONE}) or a {@link Journal} on disk. {@link
 * #append} may buffer; {@link #sync} returns once every change appended before it is durable.
 */
public interface ChangeLog {
  ChangeLog NONE =
      new ChangeLog() {
        @Override
        public void append(Change change) {}

        @Override
        public void sync() {}
      };

  void append(Change change);

  void sync();
}
