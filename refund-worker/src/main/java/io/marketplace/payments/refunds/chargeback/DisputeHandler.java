package io.marketplace.payments.refunds.chargeback;

import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.common.events.PaymentEvent;
import io.marketplace.payments.common.events.PaymentEventType;
import io.marketplace.payments.common.outbox.Outbox;
import io.marketplace.payments.common.refund.RefundEvents;
import io.marketplace.payments.common.stripe.StripeEvent;
import io.marketplace.payments.refunds.refund.Payment;
import io.marketplace.payments.refunds.refund.RefundStore;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Consumes Stripe's dispute events ({@code charge.dispute.created}, {@code .updated}, {@code
 * .closed}, {@code .funds_withdrawn}, {@code .funds_reinstated}). Each carries the whole Dispute,
 * so each is applied the same way, in whatever order they arrive:
 *
 * <ul>
 *   <li>the dispute is recorded once in {@code payment_disputes}, keyed by its {@code du_} id, so
 *       one dispute reaching us under several event ids counts once;
 *   <li>an inquiry ({@code warning_*}) is recorded with {@code is_inquiry}, and nothing else;
 *   <li>a chargeback is recorded as a refund ({@code reason=chargeback, status=processed}) with
 *       {@code chargeback.recorded}; its user, found through the PaymentIntent (a Dispute carries
 *       none of our metadata), is banned at 2 distinct chargebacks not closed as {@code won}; the
 *       ban is decided only when a dispute is first counted ({@code counted_at}), never on a later
 *       event about it, so an admin's unban stands until the next new dispute; each ban is
 *       announced by {@code user.banned};
 *   <li>a closed dispute records its outcome ({@code won}, {@code lost}, {@code warning_closed}).
 * </ul>
 */
public final class DisputeHandler {

  private static final Logger log = LoggerFactory.getLogger(DisputeHandler.class);

  private final Clock clock;
  private final Counter chargebacks;
  private final Counter inquiries;
  private final Counter bans;

  public DisputeHandler(Clock clock, MeterRegistry registry) {
    this.clock = clock;
    this.chargebacks =
        Counter.builder("payments.chargebacks.recorded")
            .description("distinct chargebacks recorded")
            .register(registry);
    this.inquiries =
        Counter.builder("payments.disputes.inquiries")
            .description("dispute inquiries recorded; not chargebacks")
            .register(registry);
    this.bans =
        Counter.builder("payments.users.banned")
            .description("users banned for chargebacks")
            .register(registry);
  }

  /** The data of {@code chargeback.recorded}. */
  public record ChargebackRecorded(
      String disputeId,
      UUID refundId,
      UUID userId,
      UUID listingId,
      String paymentIntentId,
      String chargeId,
      long amountCents,
      String currency,
      String disputeReason,
      String disputeStatus,
      int chargebackCount,
      Instant recordedAt) {}

  /** The data of {@code user.banned}. */
  public record UserBanned(
      UUID userId, String reason, int chargebackCount, List<String> disputeIds, Instant bannedAt) {}

  public void onDispute(Handle tx, StripeEvent event) {
    JsonNode dispute = event.object();
    String disputeId = dispute.path("id").asText("");
    if (!disputeId.startsWith("du_") && !disputeId.startsWith("dp_")) {
      throw new IllegalArgumentException("not a dispute object: " + disputeId);
    }
    String status = dispute.path("status").asText("");
    boolean inquiry = BanPolicy.isInquiry(status);
    Instant now = clock.instant();
    Instant closedAt = BanPolicy.isClosed(status) ? now : null;
    Optional<String> paymentIntentId = event.paymentIntentId();
    Optional<Payment> payment =
        paymentIntentId.flatMap(pi -> tx.attach(RefundStore.class).lockPayment(pi));
    DisputeStore store = tx.attach(DisputeStore.class);
    if (payment.isEmpty()) {
      log.warn(
          "dispute {} is on {}, not one of our payments: recorded without a user",
          disputeId,
          paymentIntentId.orElse("no PaymentIntent"));
      if (paymentIntentId.isPresent()) {
        recordDispute(store, dispute, paymentIntentId.get(), null, status, inquiry, now, closedAt);
      }
      return;
    }
    UUID userId = payment.get().userId();
    // user first, then the dispute: one lock order for every dispute of this user
    store.ensureUser(userId);
    store.lockUser(userId);
    boolean newDispute =
        recordDispute(
            store, dispute, paymentIntentId.get(), userId, status, inquiry, now, closedAt);
    if (newDispute && inquiry) {
      tx.afterCommit(inquiries::increment);
      log.info("inquiry {} on {} recorded; not a chargeback", disputeId, paymentIntentId.get());
    }
    // counted once, when it is first a chargeback not won: only then is a ban decided
    boolean newlyCounted = store.markCounted(disputeId, now) == 1;
    if (!inquiry && !BanPolicy.isPrevented(status)) {
      recordChargeback(tx, store, dispute, payment.get(), status, now);
    }
    if (newlyCounted) {
      banIfDue(tx, store, userId, disputeId, now);
    }
    if (closedAt != null) {
      store.noteOutcome(disputeId, "dispute closed: " + status, now);
      log.info("dispute {} closed: {}", disputeId, status);
    }
  }

  /** Inserts or updates the dispute row; true when it was new. */
  private static boolean recordDispute(
      DisputeStore store,
      JsonNode dispute,
      String paymentIntentId,
      UUID userId,
      String status,
      boolean inquiry,
      Instant now,
      Instant closedAt) {
    String disputeId = dispute.path("id").asText();
    Optional<DisputeRow> existing = store.lock(disputeId);
    if (existing.isEmpty()) {
      return store.insert(
              disputeId,
              paymentIntentId,
              text(dispute.path("charge")),
              userId,
              dispute.path("amount").asLong(0),
              text(dispute.path("reason")),
              status,
              inquiry,
              now,
              closedAt)
          == 1;
    }
    if (existing.get().closedAt() == null || closedAt != null) {
      // an event about an open dispute arriving after the closing one does not reopen it
      store.update(disputeId, status, inquiry, closedAt, now);
    }
    if (userId != null && store.attachUser(disputeId, userId, now) == 1) {
      // its first events came before the payment's row: it counts from this event on
      log.info("dispute {} on {} is of user {}", disputeId, paymentIntentId, userId);
    }
    return false;
  }

  private void recordChargeback(
      Handle tx,
      DisputeStore store,
      JsonNode dispute,
      Payment payment,
      String status,
      Instant now) {
    String disputeId = dispute.path("id").asText();
    long amount = dispute.path("amount").asLong(0);
    UUID refundId = chargebackRecordId(disputeId);
    if (amount > 0
        && store.insertChargeback(
                refundId,
                payment.userId(),
                payment.listingId(),
                payment.paymentIntentId(),
                disputeId,
                amount,
                "dispute " + text(dispute.path("reason")),
                now)
            == 1) {
      List<String> userChargebacks = store.chargebacksOf(payment.userId());
      Outbox.append(
          tx,
          PaymentEvent.of(
              PaymentEventType.CHARGEBACK_RECORDED,
              disputeId,
              now,
              new ChargebackRecorded(
                  disputeId,
                  refundId,
                  payment.userId(),
                  payment.listingId(),
                  payment.paymentIntentId(),
                  text(dispute.path("charge")),
                  amount,
                  RefundEvents.CURRENCY,
                  text(dispute.path("reason")),
                  status,
                  userChargebacks.size(),
                  now)),
          payment.listingId().toString());
      tx.afterCommit(chargebacks::increment);
      log.warn(
          "chargeback {} on {} recorded: user {} has {} chargebacks",
          disputeId,
          payment.paymentIntentId(),
          payment.userId(),
          userChargebacks.size());
    }
  }

  /** Decided once per newly counted dispute: {@code disputeId} is the one that just counted. */
  private void banIfDue(Handle tx, DisputeStore store, UUID userId, String disputeId, Instant now) {
    List<String> disputes = store.chargebacksOf(userId);
    if (!BanPolicy.shouldBan(disputes.size())) {
      return;
    }
    String reason =
        disputes.size() + " chargebacks (" + String.join(", ", disputes) + "), policy P3";
    if (store.ban(userId, reason, now) == 0) {
      return; // banned already, and announced then
    }
    Outbox.append(
        tx,
        PaymentEvent.of(
            PaymentEventType.USER_BANNED,
            userId + "/" + disputeId,
            now,
            new UserBanned(userId, reason, disputes.size(), disputes, now)),
        userId.toString());
    tx.afterCommit(bans::increment);
    log.warn("user {} banned: {}", userId, reason);
  }

  /** The refund record id of a chargeback: the same for every event about the dispute. */
  static UUID chargebackRecordId(String disputeId) {
    return UUID.nameUUIDFromBytes(("stripe-dispute/" + disputeId).getBytes(StandardCharsets.UTF_8));
  }

  private static String text(JsonNode node) {
    return node.isTextual() ? node.asText() : null;
  }
}
