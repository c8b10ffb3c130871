package io.marketplace.payments.processor.payment;

import io.marketplace.payments.common.events.DeliveryCommand;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.logging.Mdc;
import io.marketplace.payments.common.worker.RecordHandler;
import io.marketplace.payments.processor.audit.Outcome;
import io.marketplace.payments.processor.batch.PaymentBatch;
import java.io.IOException;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.jdbi.v3.core.Handle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Consumes {@code payments.internal.delivery-commands.v1}: the refund worker says that money of a
 * payment whose purchase was held back came back to us; {@link
 * PaymentSucceededHandler#deliverWithheld} delivers it, or asks for its refund. Applied under the
 * payment's lock, with its listing's, as a Stripe event is; dedupes on the command's stable id.
 * Publishes {@code listing.activated} or {@code promotion.created}, or a refund command.
 */
public final class DeliveryCommandHandler implements RecordHandler {

  private static final Logger log = LoggerFactory.getLogger(DeliveryCommandHandler.class);

  private final PaymentSucceededHandler succeeded;

  public DeliveryCommandHandler(PaymentSucceededHandler succeeded) {
    this.succeeded = succeeded;
  }

  @Override
  public String dedupeKey(ConsumerRecord<String, byte[]> record) {
    return "delivery-command:" + parse(record).id();
  }

  @Override
  public void apply(Handle tx, ConsumerRecord<String, byte[]> record) {
    DeliveryCommand command = parse(record);
    try (var mdc = Mdc.put(Mdc.PAYMENT_INTENT_ID, command.paymentIntentId())) {
      PaymentBatch batch = PaymentBatch.lock(tx, List.of(command.paymentIntentId()));
      Outcome outcome = succeeded.deliverWithheld(batch, command);
      batch.write();
      log.info(
          "delivery command {} ({}): {}{}",
          command.id(),
          command.cause(),
          outcome.status().wire(),
          outcome.note() == null ? "" : ": " + outcome.note());
    }
  }

  static DeliveryCommand parse(ConsumerRecord<String, byte[]> record) {
    try {
      return Json.mapper().readValue(record.value(), DeliveryCommand.class);
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException("not a delivery command: " + e.getMessage(), e);
    }
  }
}
