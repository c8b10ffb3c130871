package io.marketplace.payments.common.worker;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.jdbi.v3.core.Handle;

/** What a worker does with one record, inside the transaction that also records it as applied. */
public interface RecordHandler {

  /**
   * The key under which this consumer applies the record once: the Stripe event id for Stripe
   * events. A record that cannot yield one should throw; it is dead-lettered.
   */
  String dedupeKey(ConsumerRecord<String, byte[]> record);

  /**
   * Applies the record's effect and appends its outbox rows, all through {@code tx}. Throwing rolls
   * everything back; the record is retried and, if it keeps failing, dead-lettered. Use {@code ON
   * CONFLICT} rather than catching SQL errors: a failed statement aborts the whole transaction.
   */
  void apply(Handle tx, ConsumerRecord<String, byte[]> record) throws Exception;

  /**
   * False when the record is, from its headers alone, known to have no effect here: the worker then
   * neither opens a transaction for it nor records it, and moves past it. Having no effect, it is
   * as well skipped again as applied once. True (the default) when in doubt.
   */
  default boolean handles(ConsumerRecord<String, byte[]> record) {
    return true;
  }

  /** Called in its own transaction after a record went to the dead-letter topic. */
  default void onDeadLetter(Handle tx, ConsumerRecord<String, byte[]> record, Exception error) {}
}
