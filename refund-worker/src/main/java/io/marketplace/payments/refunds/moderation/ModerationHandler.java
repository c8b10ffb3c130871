package io.marketplace.payments.refunds.moderation;

import io.marketplace.payments.common.events.ModerationDecision;
import io.marketplace.payments.common.events.PaymentEvent;
import io.marketplace.payments.common.events.PaymentEventType;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.logging.Mdc;
import io.marketplace.payments.common.outbox.Outbox;
import io.marketplace.payments.common.promotion.FeaturedPromotions;
import io.marketplace.payments.common.refund.RefundReason;
import io.marketplace.payments.common.stripe.PaymentIntentsToCancel;
import io.marketplace.payments.common.worker.RecordHandler;
import io.marketplace.payments.refunds.refund.Payment;
import io.marketplace.payments.refunds.refund.RefundDecisions;
import io.marketplace.payments.refunds.refund.RefundStore;
import java.io.IOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Optional;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.jdbi.v3.core.Handle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Consumes {@code marketplace.moderation.v1} (from our admin route or from other services): a
 * rejected listing is marked rejected if it is not yet (announcing {@code listing.rejected} under
 * the same stable id as checkout-api would), its featured weeks still to run are ended and each
 * announced as {@code promotion.expired} ({@link FeaturedPromotions#endForRejectedListing}), and
 * its PaymentIntents that could still be paid are recorded for the janitor to cancel at Stripe
 * ({@link PaymentIntentsToCancel}), and every succeeded payment of the listing (its posting fee and
 * any promotions) gets the refund rule: refunded at once within 24 h of that payment, recorded
 * {@code pending} for review after. A decision made at or after the listing's end ({@code
 * expires_at}, whether or not the expirer has marked it {@code expired} yet) changes nothing, as
 * checkout-api's reject route refuses it with 409: the listing ran its time. A decision made before
 * the end counts, however late it arrives.
 *
 * <p>Dedupe key: {@code moderation:<listingId>:<decision>:<decidedAt>}; a message without {@code
 * decidedAt} uses the SHA-256 of its bytes instead. The refund itself is once per payment anyway
 * (one automatic refund record per payment), so two decisions about one listing refund once.
 */
public final class ModerationHandler implements RecordHandler {

  private static final Logger log = LoggerFactory.getLogger(ModerationHandler.class);

  private final RefundDecisions decisions;
  private final Clock clock;

  public ModerationHandler(RefundDecisions decisions, Clock clock) {
    this.decisions = decisions;
    this.clock = clock;
  }

  /** The data of {@code listing.rejected}. */
  public record ListingRejected(UUID listingId, UUID userId, String reason, Instant rejectedAt) {}

  @Override
  public String dedupeKey(ConsumerRecord<String, byte[]> record) {
    ModerationDecision decision = parse(record);
    String when =
        decision.decidedAt() != null
            ? decision.decidedAt().toString()
            : "sha256:" + sha256(record.value());
    return "moderation:" + decision.listingId() + ":" + decision.decision() + ":" + when;
  }

  @Override
  public void apply(Handle tx, ConsumerRecord<String, byte[]> record) {
    ModerationDecision decision = parse(record);
    try (var mdc = Mdc.put(Mdc.LISTING_ID, decision.listingId().toString())) {
      if (!ModerationDecision.REJECTED.equals(decision.decision())) {
        log.info("moderation decision {} needs nothing from payments", decision.decision());
        return;
      }
      Instant decidedAt = decision.decidedAt() != null ? decision.decidedAt() : clock.instant();
      Optional<Listing> listing = tx.attach(ListingStore.class).lock(decision.listingId());
      if (listing.isEmpty()) {
        log.warn("moderation rejected listing {}, which we do not know", decision.listingId());
        return;
      }
      if (!listing.get().isRejected() && listing.get().endedBy(decidedAt)) {
        // as checkout-api's reject route answers 409 "already expired": the listing ran the time
        // it was paid for, so its payments are not a rejection's to give back
        log.info(
            "moderation rejected listing {} at {}, after its end at {}: it ran its time, so"
                + " nothing is rejected or refunded",
            decision.listingId(),
            decidedAt,
            listing.get().expiresAt());
        return;
      }
      reject(tx, listing.get(), decision.reason(), decidedAt);
      // its featured weeks end with it (rejected by checkout-api's route, they ended then)
      FeaturedPromotions.endForRejectedListing(tx, decision.listingId(), clock.instant());
      for (Payment payment :
          tx.attach(RefundStore.class).succeededPaymentsOf(decision.listingId())) {
        decisions.decide(
            tx,
            payment,
            RefundReason.MODERATION_REJECTION,
            decidedAt,
            "listing rejected: "
                + (decision.reason() == null ? "no reason given" : decision.reason()));
      }
    }
  }

  private void reject(Handle tx, Listing listing, String reason, Instant decidedAt) {
    if (listing.isRejected()) {
      return; // rejected by checkout-api's admin route, which announced it
    }
    tx.attach(ListingStore.class).reject(listing.id(), reason, decidedAt, clock.instant());
    // what could still be paid for it, canceled at Stripe by the janitor (checkout-api's route
    // cancels its own rejection's at once)
    PaymentIntentsToCancel.ofRejectedListing(tx, listing.id(), clock.instant());
    Outbox.append(
        tx,
        PaymentEvent.of(
            PaymentEventType.LISTING_REJECTED,
            listing.id().toString(),
            decidedAt,
            new ListingRejected(listing.id(), listing.userId(), reason, decidedAt)),
        listing.id().toString());
    log.info("listing {} rejected by moderation", listing.id());
  }

  static ModerationDecision parse(ConsumerRecord<String, byte[]> record) {
    ModerationDecision decision;
    try {
      decision = Json.mapper().readValue(record.value(), ModerationDecision.class);
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException("not a moderation decision: " + e.getMessage(), e);
    }
    if (decision == null || decision.listingId() == null || decision.decision() == null) {
      throw new IllegalArgumentException("a moderation decision needs listingId and decision");
    }
    return decision;
  }

  private static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
