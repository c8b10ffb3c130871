package io.marketplace.payments.refunds.refund;

import io.marketplace.payments.common.events.RefundCommand;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.logging.Mdc;
import io.marketplace.payments.common.refund.RefundReason;
import io.marketplace.payments.common.worker.RecordHandler;
import java.io.IOException;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.jdbi.v3.core.Handle;

/**
 * Consumes {@code payments.internal.refund-commands.v1}: the payment processor asks for the
 * automatic refund of a payment it could not apply (a technical failure). Applies the refund rule;
 * dedupes on the command's stable id.
 */
public final class RefundCommandHandler implements RecordHandler {

  private final RefundDecisions decisions;

  public RefundCommandHandler(RefundDecisions decisions) {
    this.decisions = decisions;
  }

  @Override
  public String dedupeKey(ConsumerRecord<String, byte[]> record) {
    return "refund-command:" + parse(record).id();
  }

  @Override
  public void apply(Handle tx, ConsumerRecord<String, byte[]> record) {
    RefundCommand command = parse(record);
    RefundReason reason = RefundReason.fromWire(command.reason());
    try (var mdc = Mdc.put(Mdc.PAYMENT_INTENT_ID, command.paymentIntentId())) {
      Payment payment =
          tx.attach(RefundStore.class)
              .lockPayment(command.paymentIntentId())
              .orElseThrow(
                  () ->
                      new IllegalStateException(
                          "refund command for unknown payment " + command.paymentIntentId()));
      decisions.decide(tx, payment, reason, command.requestedAt(), command.detail());
    }
  }

  static RefundCommand parse(ConsumerRecord<String, byte[]> record) {
    try {
      return Json.mapper().readValue(record.value(), RefundCommand.class);
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException("not a refund command: " + e.getMessage(), e);
    }
  }
}
