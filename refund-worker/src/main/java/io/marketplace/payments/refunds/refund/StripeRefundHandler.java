package io.marketplace.payments.refunds.refund;

import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.common.db.PaymentIntentLock;
import io.marketplace.payments.common.refund.RefundDao;
import io.marketplace.payments.common.refund.RefundExecutor;
import io.marketplace.payments.common.refund.RefundRecord;
import io.marketplace.payments.common.refund.RefundStatus;
import io.marketplace.payments.common.stripe.StripeEvent;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Instant;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Consumes Stripe's refund events ({@code refund.created}, {@code refund.updated}, {@code
 * refund.failed}, {@code charge.refund.updated}, and the refunds listed in {@code charge.refunded}
 * when the API version includes them) and keeps {@code payment_refunds} equal to what Stripe did:
 *
 * <ol>
 *   <li>our refund, by {@code metadata.refund_id}: completes the record if the webhook beat our
 *       executor to it (never a second record);
 *   <li>a refund already recorded, by its {@code re_} id: nothing;
 *   <li>a refund Stripe reports {@code failed} or {@code canceled} ({@code refund.failed}, or any
 *       refund event whose refund has that status): applied once per {@code re_} id, whatever event
 *       ids or types carry it. Our record, {@code approved} (the failure beat our executor's
 *       bookkeeping) or {@code processed}, ends {@code failed} with Stripe's {@code
 *       failure_reason}, announced as {@code refund.failed}; a later event that shows the same
 *       refund still pending or succeeded (delivered out of order) changes nothing;
 *   <li>otherwise a refund made outside the system (Stripe's dashboard) on one of our payments:
 *       recorded by {@link ExternalRefunds}, or kept waiting for room there.
 * </ol>
 *
 * A failure gives room back on the payment: it is offered to what waits for it ({@link
 * AwaitingRoom}), a purchase held back while the refund counted as money gone back included.
 */
public final class StripeRefundHandler {

  private static final Logger log = LoggerFactory.getLogger(StripeRefundHandler.class);
  private static final Set<String> FAILED = Set.of("failed", "canceled");

  private final RefundExecutor executor;
  private final ExternalRefunds externalRefunds;
  private final AwaitingRoom awaitingRoom;
  private final Clock clock;
  private final Counter unrecorded;

  public StripeRefundHandler(
      RefundExecutor executor,
      ExternalRefunds externalRefunds,
      AwaitingRoom awaitingRoom,
      Clock clock,
      MeterRegistry registry) {
    this.executor = executor;
    this.externalRefunds = externalRefunds;
    this.awaitingRoom = awaitingRoom;
    this.clock = clock;
    this.unrecorded = unrecordedCounter(registry);
  }

  /** Stripe refunds we could not record as Stripe made them; the alert RefundNotRecorded. */
  static Counter unrecordedCounter(MeterRegistry registry) {
    return Counter.builder("payments.refunds.unrecorded")
        .description("Stripe refunds not recorded: no amount, or a second one for a record")
        .register(registry);
  }

  /** {@code refund.*} and {@code charge.refund.updated}: the event's object is the refund. */
  public void onRefund(Handle tx, StripeEvent event) {
    apply(tx, event.object());
  }

  /**
   * {@code charge.refunded}: the object is the charge. API versions since 2022-11-15 no longer list
   * the refunds in it, and each refund also arrives as {@code refund.created}; so this applies the
   * listed refunds when present and otherwise only compares totals, for the logs.
   */
  public void onChargeRefunded(Handle tx, StripeEvent event) {
    JsonNode listed = event.field("refunds.data");
    if (listed.isArray() && !listed.isEmpty()) {
      for (JsonNode refund : listed) {
        apply(tx, refund);
      }
      return;
    }
    event
        .paymentIntentId()
        .ifPresent(
            pi -> {
              long stripeTotal = event.field("amount_refunded").asLong(0);
              long ours = tx.attach(RefundStore.class).processedCents(pi);
              if (stripeTotal != ours) {
                log.info(
                    "{}: Stripe has refunded {} cents, our records {} so far;"
                        + " the refund events settle it",
                    pi,
                    stripeTotal,
                    ours);
              }
            });
  }

  private void apply(Handle tx, JsonNode refund) {
    String stripeRefundId = refund.path("id").asText("");
    String paymentIntentId = refund.path("payment_intent").asText("");
    if (!stripeRefundId.startsWith("re_") && !stripeRefundId.startsWith("pyr_")) {
      throw new IllegalArgumentException("not a refund object: " + stripeRefundId);
    }
    if (paymentIntentId.isEmpty()) {
      log.info("refund {} has no PaymentIntent: not one of our payments", stripeRefundId);
      return;
    }
    String status = refund.path("status").asText("");
    RefundStore store = tx.attach(RefundStore.class);
    RefundDao dao = tx.attach(RefundDao.class);
    if (FAILED.contains(status)) {
      applyFailure(tx, refund, stripeRefundId, paymentIntentId, status);
      return;
    }
    if (dao.stripeRefundFailed(stripeRefundId)) {
      // an earlier snapshot of a refund whose failure was applied already (events out of order)
      log.info("refund {} is {} in this event but failed at Stripe before", stripeRefundId, status);
      return;
    }
    Optional<RefundRecord> ours = ourRecord(store, refund, stripeRefundId, paymentIntentId);
    if (ours.isPresent()) {
      applyToRecord(tx, ours.get(), stripeRefundId, status, refund);
      return;
    }
    externalRefunds.record(tx, refund, stripeRefundId, paymentIntentId);
  }

  /**
   * Our record of a Stripe refund: by {@code metadata.refund_id} when the refund belongs to the
   * record's current attempt (a refund of an earlier, failed attempt is not the record's), else by
   * its {@code re_} id.
   */
  private static Optional<RefundRecord> ourRecord(
      RefundStore store, JsonNode refund, String stripeRefundId, String paymentIntentId) {
    String attempt = refund.path("metadata").path(RefundExecutor.METADATA_ATTEMPT).asText("0");
    return ourRefundId(refund)
        .flatMap(store::lock)
        .filter(r -> r.paymentIntentId().equals(paymentIntentId))
        .filter(
            r ->
                stripeRefundId.equals(r.stripeRefundId())
                    || Integer.toString(r.attempt()).equals(attempt))
        .or(() -> store.lockByStripeRefundId(stripeRefundId));
  }

  /**
   * Stripe failed or canceled refund {@code stripeRefundId}: no money went back. Applied once per
   * {@code re_} id; our record, if the refund is its current one, ends {@code failed}.
   */
  private void applyFailure(
      Handle tx, JsonNode refund, String stripeRefundId, String paymentIntentId, String status) {
    RefundStore store = tx.attach(RefundStore.class);
    // the payment's lock first, as every path that records a refund of it takes it: the janitor
    // recording this refund now that the payment's row exists either finishes first, and its
    // record is found below and ends failed, or finds this failure and records nothing. With no
    // row to lock, the PaymentIntent's lock, under which the processor builds the row, as
    // ExternalRefunds#record takes it: else a row built now would let the janitor record the
    // refund while this failure, which saw no row, finds nothing to end
    if (store.lockPayment(paymentIntentId).isEmpty()) {
      PaymentIntentLock.lock(tx, paymentIntentId);
      store.lockPayment(paymentIntentId);
    }
    Optional<RefundRecord> ours = ourRecord(store, refund, stripeRefundId, paymentIntentId);
    String reason =
        refund.path("failure_reason").isTextual() ? refund.path("failure_reason").asText() : status;
    int noted =
        tx.attach(RefundDao.class)
            .noteStripeFailure(
                stripeRefundId, ours.map(RefundRecord::id).orElse(null), reason, clock.instant());
    if (noted == 0) {
      log.info("failure of refund {} applied before", stripeRefundId);
      // perhaps by our executor, which found the refund failed before this webhook came and offers
      // no room itself: the money of the failed refund is the payment's again (idempotent)
      awaitingRoom.offer(tx, paymentIntentId, failed(stripeRefundId));
      return;
    }
    if (store.unpark(stripeRefundId) > 0) {
      log.info("refund {} that waited for room is {}: no money moved", stripeRefundId, status);
    }
    boolean countedBeforeTheRow = store.unparkFromPayment(stripeRefundId) > 0;
    if (ours.isEmpty()) {
      log.info("refund {} outside the system is {}: no money moved", stripeRefundId, status);
      if (countedBeforeTheRow) {
        // it counted as money gone back on a payment whose row came after it
        awaitingRoom.offer(tx, paymentIntentId, failed(stripeRefundId));
      }
      return;
    }
    RefundRecord record = ours.get();
    if (record.stripeRefundId() != null && !record.stripeRefundId().equals(stripeRefundId)) {
      log.warn(
          "refund {} of record {} is {}, but the record is settled by {}: nothing to change",
          stripeRefundId,
          record.id(),
          status,
          record.stripeRefundId());
      return;
    }
    String detail = "Stripe reports refund " + stripeRefundId + " " + status + " (" + reason + ")";
    if (!executor.markFailed(tx, record, stripeRefundId, reason, detail)) {
      log.info(
          "refund {} is {}: Stripe's failure of {} changes nothing",
          record.id(),
          record.status(),
          stripeRefundId);
      return;
    }
    // the money of the failed refund is the payment's again
    awaitingRoom.offer(tx, paymentIntentId, failed(stripeRefundId));
  }

  /** What gave money back, for {@link AwaitingRoom#offer(Handle, String, String)}. */
  private static String failed(String stripeRefundId) {
    return "refund " + stripeRefundId + " failed";
  }

  private void applyToRecord(
      Handle tx, RefundRecord record, String stripeRefundId, String status, JsonNode refund) {
    if (record.stripeRefundId() != null && !record.stripeRefundId().equals(stripeRefundId)) {
      // only possible if Stripe forgot our idempotency key (kept 24 h), or a new key round's
      // look-up missed the refund of the round before, and Stripe refunded again
      String error = "Stripe made a second refund " + stripeRefundId + " for this record";
      tx.attach(RefundStore.class).flag(record.id(), error, clock.instant());
      tx.afterCommit(unrecorded::increment);
      log.error("refund {}: {}; an operator must reconcile it", record.id(), error);
      return;
    }
    if (record.status() == RefundStatus.APPROVED) {
      // Stripe's webhook arrived before our executor stored the answer: complete it here; the
      // executor then finds it processed and does nothing.
      long created = refund.path("created").asLong(0);
      executor.markProcessed(
          tx,
          record,
          stripeRefundId,
          created > 0 ? Instant.ofEpochSecond(created) : clock.instant());
      return;
    }
    if (record.status() != RefundStatus.PROCESSED) {
      log.error(
          "Stripe refunded {} for refund record {} which is {}: an operator must look at it",
          stripeRefundId,
          record.id(),
          record.status());
    }
  }

  private static Optional<UUID> ourRefundId(JsonNode refund) {
    String value = refund.path("metadata").path(RefundExecutor.METADATA_REFUND_ID).asText("");
    try {
      return value.isEmpty() ? Optional.empty() : Optional.of(UUID.fromString(value));
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }
}
