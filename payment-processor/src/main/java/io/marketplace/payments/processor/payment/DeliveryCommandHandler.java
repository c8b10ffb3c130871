package io.marketplace.payments.processor.payment;

import io.marketplace.payments.common.events.DeliveryCommand;
import io.marketplace.payments.common.events.WithdrawalCommand;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.kafka.RecordHeaders;
import io.marketplace.payments.common.logging.Mdc;
import io.marketplace.payments.common.worker.RecordHandler;
import io.marketplace.payments.processor.audit.Outcome;
import io.marketplace.payments.processor.batch.PaymentBatch;
import java.io.IOException;
import java.util.List;
import java.util.UUID;
import java.util.function.Function;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.jdbi.v3.core.Handle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Consumes {@code payments.internal.delivery-commands.v1}, where the refund worker tells what money
 * of a payment did after its success: a {@link DeliveryCommand} when money of a payment whose
 * purchase was held back came back to us ({@link PaymentSucceededHandler#deliverWithheld} delivers
 * it, or asks for its refund), a {@link WithdrawalCommand} when all of it went back before a
 * purchase that went out anyway ({@link PaymentSucceededHandler#withdrawDelivered} takes it back).
 * The {@code event-type} header says which; both travel keyed by PaymentIntent, so they are applied
 * in the order the refund worker sent them. Applied under the payment's lock, with its listing's,
 * as a Stripe event is; dedupes on the command's stable id. Publishes {@code listing.activated},
 * {@code promotion.created} or {@code listing.withdrawn}, or a refund command.
 */
public final class DeliveryCommandHandler implements RecordHandler {

  private static final Logger log = LoggerFactory.getLogger(DeliveryCommandHandler.class);

  private final PaymentSucceededHandler succeeded;

  public DeliveryCommandHandler(PaymentSucceededHandler succeeded) {
    this.succeeded = succeeded;
  }

  @Override
  public String dedupeKey(ConsumerRecord<String, byte[]> record) {
    return "delivery-command:"
        + (withdrawal(record) ? parseWithdrawal(record).id() : parse(record).id());
  }

  @Override
  public void apply(Handle tx, ConsumerRecord<String, byte[]> record) {
    if (withdrawal(record)) {
      WithdrawalCommand command = parseWithdrawal(record);
      apply(
          tx,
          "withdrawal command",
          command.id(),
          command.paymentIntentId(),
          command.cause(),
          batch -> succeeded.withdrawDelivered(batch, command));
    } else {
      DeliveryCommand command = parse(record);
      apply(
          tx,
          "delivery command",
          command.id(),
          command.paymentIntentId(),
          command.cause(),
          batch -> succeeded.deliverWithheld(batch, command));
    }
  }

  private static void apply(
      Handle tx,
      String kind,
      UUID id,
      String paymentIntentId,
      String cause,
      Function<PaymentBatch, Outcome> handler) {
    try (var mdc = Mdc.put(Mdc.PAYMENT_INTENT_ID, paymentIntentId)) {
      PaymentBatch batch = PaymentBatch.lock(tx, List.of(paymentIntentId));
      Outcome outcome = handler.apply(batch);
      batch.write();
      log.info(
          "{} {} ({}): {}{}",
          kind,
          id,
          cause,
          outcome.status().wire(),
          outcome.note() == null ? "" : ": " + outcome.note());
    }
  }

  /** Whether the record is a {@link WithdrawalCommand}; any other is a {@link DeliveryCommand}. */
  private static boolean withdrawal(ConsumerRecord<String, byte[]> record) {
    return RecordHeaders.get(record.headers(), RecordHeaders.EVENT_TYPE)
        .filter(WithdrawalCommand.TYPE::equals)
        .isPresent();
  }

  static DeliveryCommand parse(ConsumerRecord<String, byte[]> record) {
    try {
      return Json.mapper().readValue(record.value(), DeliveryCommand.class);
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException("not a delivery command: " + e.getMessage(), e);
    }
  }

  static WithdrawalCommand parseWithdrawal(ConsumerRecord<String, byte[]> record) {
    try {
      return Json.mapper().readValue(record.value(), WithdrawalCommand.class);
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException("not a withdrawal command: " + e.getMessage(), e);
    }
  }
}
