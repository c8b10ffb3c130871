package io.marketplace.payments.ops.reconcile;

import io.marketplace.payments.common.refund.RefundExecutor;
import io.marketplace.payments.ops.reconcile.Finding.Kind;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.function.Predicate;

/**
 * Compares what Stripe says with what the database says, one PaymentIntent or refund at a time, and
 * names what is missing and which event would let the workers apply it. Stripe is the truth about
 * money; the database about what the money bought.
 */
public final class Reconciler {

  /**
   * The part of a PaymentIntent the comparison needs.
   *
   * @param amount the cents it asks for
   * @param amountReceived the cents Stripe took, or null when the object does not say (then its
   *     amount)
   * @param currency in lower case
   */
  public record StripePayment(
      String id,
      String status,
      Map<String, String> metadata,
      long amount,
      Long amountReceived,
      String currency) {

    /** What Stripe took: {@code amount_received}, or the amount when it is not stated. */
    long received() {
      return amountReceived == null ? amount : amountReceived;
    }

    /** "100 usd (100 received)". */
    String charged() {
      return amount + " " + currency + " (" + received() + " received)";
    }

    /** Created by checkout-api: it carries our metadata. */
    boolean carriesOurMetadata() {
      return metadata != null
          && metadata.containsKey("listing_id")
          && metadata.containsKey("user_id")
          && metadata.containsKey("payment_type");
    }

    /** Carries our metadata, readable as checkout-api writes it. */
    boolean readsAsOurs() {
      return carriesOurMetadata() && unreadableMetadata().isEmpty();
    }

    /**
     * Why our metadata cannot be read as checkout-api writes it, or empty when it can. The payment
     * processor rebuilds a missing row only from readable metadata and sends any other event to the
     * dead-letter topic, so a repair event would only add a dead letter.
     */
    Optional<String> unreadableMetadata() {
      for (String key : List.of("listing_id", "user_id")) {
        try {
          UUID.fromString(metadata.get(key));
        } catch (IllegalArgumentException e) {
          return Optional.of(key + " " + metadata.get(key) + " is not a UUID");
        }
      }
      String type = metadata.get("payment_type");
      return PAYMENT_TYPES.contains(type)
          ? Optional.empty()
          : Optional.of("payment_type " + type + " is none of " + PAYMENT_TYPES);
    }
  }

  /** The {@code payment_type} values checkout-api writes. */
  private static final List<String> PAYMENT_TYPES =
      List.of("posting_fee", "promotion_featured", "promotion_bump");

  /** The part of a refund the comparison needs. */
  public record StripeRefund(
      String id, String paymentIntentId, String status, Map<String, String> metadata) {}

  /**
   * The part of a dispute the comparison needs.
   *
   * @param amount the cents the dispute is for now: the card network may change it after it opened
   */
  public record StripeDispute(String id, String paymentIntentId, String status, long amount) {}

  /** The statuses of a dispute Stripe has closed. */
  private static final Set<String> DISPUTE_CLOSED =
      Set.of("won", "lost", "warning_closed", "prevented");

  /** Refunds in these states moved no money. */
  private static final Set<String> NO_MONEY_MOVED = Set.of("failed", "canceled");

  private final Records records;
  private final String paymentConsumer;
  private final String refundConsumer;
  private final Predicate<String> carriesOurMetadata;

  /**
   * @param paymentConsumer the consumer group that applies payment facts (the payment processor)
   * @param refundConsumer the consumer group that applies Stripe refunds (the refund worker)
   * @param carriesOurMetadata whether the PaymentIntent of an id carries our metadata at Stripe,
   *     readable: one of ours, though the database may hold no row of it (lost with an incident)
   */
  public Reconciler(
      Records records,
      String paymentConsumer,
      String refundConsumer,
      Predicate<String> carriesOurMetadata) {
    this.records = records;
    this.paymentConsumer = paymentConsumer;
    this.refundConsumer = refundConsumer;
    this.carriesOurMetadata = carriesOurMetadata;
  }

  /** Whether the PaymentIntent is one of ours: we have its row, or it carries our metadata. */
  public boolean isOurs(StripePayment pi) {
    return pi.carriesOurMetadata() || records.payment(pi.id()).isPresent();
  }

  /**
   * What the database missed of a PaymentIntent that Stripe says succeeded. Like every check, it
   * reads the database in one snapshot ({@link Records#inOneSnapshot}).
   */
  public List<Finding> check(StripePayment pi) {
    return records.inOneSnapshot(() -> checkInSnapshot(pi));
  }

  private List<Finding> checkInSnapshot(StripePayment pi) {
    if (!"succeeded".equals(pi.status())) {
      return List.of();
    }
    Repair repair = Repair.paymentSucceeded(pi.id());
    Optional<Records.PaymentState> found = records.payment(pi.id());
    if (found.isEmpty()) {
      if (!pi.carriesOurMetadata()) {
        return List.of();
      }
      Optional<String> unreadable = pi.unreadableMetadata();
      if (unreadable.isPresent()) {
        return List.of(
            new Finding(
                Kind.PAYMENT_NOT_RECORDED,
                pi.id(),
                pi.metadata().get("listing_id"),
                "Stripe: succeeded; we have no payment row, and its metadata does not read as"
                    + " ours ("
                    + unreadable.get()
                    + "): a person must look",
                null));
      }
      if (!pricedByACheckout(pi)) {
        // the processor rebuilds a row only for what a checkout of ours priced, and dead-letters
        // anything else: a repair would only add a dead letter, one more on every run
        return List.of(
            new Finding(
                Kind.PAYMENT_NOT_RECORDED,
                pi.id(),
                pi.metadata().get("listing_id"),
                "Stripe: succeeded for "
                    + pi.charged()
                    + "; we have no payment row, and no checkout of ours priced "
                    + pi.metadata().get("payment_type")
                    + " of this listing and user so: not delivered; a person must look",
                null));
      }
      // the processor rebuilds a missing payments row from our metadata, then delivers
      return withGeneration(
          List.of(
              new Finding(
                  Kind.PAYMENT_NOT_RECORDED,
                  pi.id(),
                  pi.metadata().get("listing_id"),
                  "Stripe: succeeded; we have no payment row ("
                      + pi.metadata().get("payment_type")
                      + ")",
                  repair)));
    }
    Records.PaymentState state = found.get();
    String listing = String.valueOf(state.listingId());
    if (pi.amount() != state.amountCents()
        || pi.received() != state.amountCents()
        || !pi.currency().equals(state.currency())) {
      // changed after checkout priced it (or captured in part): the processor delivers no payment
      // that is not what we priced, and dead-letters its events, a repair's included
      return List.of(
          new Finding(
              Kind.PAYMENT_NOT_RECORDED,
              pi.id(),
              listing,
              "Stripe: succeeded for "
                  + pi.charged()
                  + "; we priced its "
                  + state.paymentType()
                  + " "
                  + state.amountCents()
                  + " "
                  + state.currency()
                  + ": not delivered; a person must look",
              null));
    }
    List<Finding> findings = new ArrayList<>();
    if (!"succeeded".equals(state.status())) {
      findings.add(
          new Finding(
              Kind.PAYMENT_NOT_RECORDED,
              pi.id(),
              listing,
              "Stripe: succeeded; our payment: " + state.status(),
              repair));
    }
    switch (state.paymentType()) {
      case "posting_fee" -> {
        if (state.listingStatus() == null) {
          findings.add(
              new Finding(
                  Kind.LISTING_MISSING,
                  pi.id(),
                  listing,
                  "posting fee paid for a listing that does not exist: a person must look",
                  null));
        } else if (state.heldBackWithItsMoneyGone()) {
          // settled: the money went back before the fee activated anything, whichever worker
          // learnt it first (a processor that activated first takes the activation back)
        } else if ("pending_payment".equals(state.listingStatus())) {
          findings.add(
              new Finding(
                  Kind.LISTING_NOT_ACTIVE,
                  pi.id(),
                  listing,
                  "posting fee paid; the listing is still pending_payment" + refundedNote(state),
                  state.refundedInFull() ? null : repair));
        } else if ("succeeded".equals(state.status())
            && !state.activatedListing(pi.id())
            && !state.hasAutomaticRefund()) {
          // paid twice, or for a listing rejected before it was paid: the processor cannot deliver
          // it and asks for an automatic refund, and that request never became a refund.
          // Publishing the payment again would not help: the processor delivers only what is
          // missing and asks for no second refund. A success it has not applied yet is not that:
          // the repair above has it applied, and the processor then asks for the refund itself
          findings.add(
              new Finding(
                  Kind.PAYMENT_NOT_DELIVERED,
                  pi.id(),
                  listing,
                  "posting fee paid; it did not activate the listing ("
                      + state.listingStatus()
                      + (state.listingActivated()
                          ? ", activated by " + state.listingPaymentIntentId()
                          : "")
                      + ") and has no automatic refund: look for its refund command"
                      + " (./payments dlq list) or refund it (POST"
                      + " /admin/api/marketplace/payments/"
                      + pi.id()
                      + "/refunds)",
                  null));
        }
      }
      case "promotion_featured", "promotion_bump" -> {
        if (!state.hasPromotion()
            && !state.hasAutomaticRefund()
            && !state.heldBackWithItsMoneyGone()) {
          findings.add(
              new Finding(
                  Kind.PROMOTION_MISSING,
                  pi.id(),
                  listing,
                  state.paymentType()
                      + " paid; no promotion and no automatic refund"
                      + refundedNote(state),
                  state.refundedInFull() ? null : repair));
        }
      }
      default -> {}
    }
    return withGeneration(findings);
  }

  /**
   * Whether the processor would rebuild the missing row of {@code pi} from its metadata (readable):
   * what Stripe took is the whole amount, and a checkout of ours priced it so.
   */
  private boolean pricedByACheckout(StripePayment pi) {
    return pi.received() == pi.amount()
        && records.pricedByACheckout(
            pi.id(),
            UUID.fromString(pi.metadata().get("listing_id")),
            UUID.fromString(pi.metadata().get("user_id")),
            pi.metadata().get("payment_type"),
            pi.amount(),
            pi.currency());
  }

  /**
   * A payment whose money all went back (an admin refunded the missing purchase, a chargeback) is
   * not delivered again, or the customer would have both: a person decides.
   */
  private static String refundedNote(Records.PaymentState state) {
    return state.refundedInFull()
        ? "; its money went back in full, so it is not delivered again: a person must look"
        : "";
  }

  public List<Finding> check(StripeRefund refund) {
    return records.inOneSnapshot(() -> checkInSnapshot(refund));
  }

  private List<Finding> checkInSnapshot(StripeRefund refund) {
    if (refund.paymentIntentId() == null) {
      return List.of();
    }
    if (NO_MONEY_MOVED.contains(refund.status())) {
      return checkFailed(refund);
    }
    if (records.refundByStripeId(refund.id()).isPresent()
        || records.refundAwaitingPayment(refund.id())) {
      // recorded; or kept by the refund worker until its payment's row exists, counted as money
      // gone back meanwhile, and recorded then
      return List.of();
    }
    Repair repair = Repair.refundCreated(refund.id(), refund.paymentIntentId());
    Optional<Records.RefundState> ours =
        ourRefundId(refund).flatMap(records::refundById).filter(r -> isRefundOf(refund, r));
    Optional<Records.PaymentState> payment = records.payment(refund.paymentIntentId());
    String listing = payment.map(p -> String.valueOf(p.listingId())).orElse(null);
    if (ours.isPresent()) {
      Records.RefundState record = ours.get();
      boolean approved = "approved".equals(record.status());
      return withGeneration(
          List.of(
              new Finding(
                  Kind.REFUND_NOT_RECORDED,
                  refund.paymentIntentId(),
                  listing,
                  "Stripe refunded "
                      + refund.id()
                      + " for our refund "
                      + record.id()
                      + ", which is "
                      + record.status()
                      + (approved ? "" : ": a person must look"),
                  approved ? repair : null)));
    }
    if (payment.isEmpty() && !carriesOurMetadata.test(refund.paymentIntentId())) {
      // a refund on someone else's PaymentIntent; one on ours whose row the database lost (which
      // the payment's own repair rebuilds) is repaired too: the refund worker keeps it until the
      // row exists
      return List.of();
    }
    return withGeneration(
        List.of(
            new Finding(
                Kind.REFUND_MISSING,
                refund.paymentIntentId(),
                listing,
                "Stripe has refund "
                    + refund.id()
                    + " ("
                    + refund.status()
                    + "); we have no record"
                    + (payment.isEmpty() ? ", nor a payment row" : ""),
                repair)));
  }

  /**
   * A dispute of one of our payments: our record of it (by its {@code du_} id) must exist, once
   * Stripe closed it, say how, and, for a chargeback whose money is gone, hold the amount Stripe
   * has now. Each is repaired by the dispute as Stripe has it now, which the refund worker applies
   * like any of its events: the chargeback recorded and counted toward a ban, the outcome recorded,
   * the money of a dispute won offered to what waited for it, the amount the card network changed
   * the chargeback to recorded as what went back.
   */
  public List<Finding> check(StripeDispute dispute) {
    return records.inOneSnapshot(() -> checkInSnapshot(dispute));
  }

  private List<Finding> checkInSnapshot(StripeDispute dispute) {
    if (dispute.paymentIntentId() == null) {
      return List.of();
    }
    Optional<Records.PaymentState> payment = records.payment(dispute.paymentIntentId());
    if (payment.isEmpty() && !carriesOurMetadata.test(dispute.paymentIntentId())) {
      return List.of(); // a dispute of someone else's payment
    }
    // of one of ours whose row the database lost: the refund worker records it without a user,
    // counted as money gone back, and counts it toward a ban once the payment's repair rebuilt it
    String listing = payment.map(p -> String.valueOf(p.listingId())).orElse(null);
    boolean closed = DISPUTE_CLOSED.contains(dispute.status());
    Repair repair =
        Repair.dispute(dispute.id(), dispute.paymentIntentId(), dispute.status(), closed);
    Optional<Records.DisputeState> record = records.dispute(dispute.id());
    Optional<String> ours = record.map(Records.DisputeState::status);
    if (ours.isEmpty()) {
      return withGeneration(
          List.of(
              new Finding(
                  Kind.DISPUTE_NOT_RECORDED,
                  dispute.paymentIntentId(),
                  listing,
                  "Stripe has dispute "
                      + dispute.id()
                      + " ("
                      + dispute.status()
                      + "); we have none",
                  repair)));
    }
    if (!closed && isInquiry(ours.get()) && !isInquiry(dispute.status())) {
      // open at Stripe, so no outcome differs: the inquiry became a chargeback, which took the
      // money back (an inquiry closed without one may still escalate under the same id)
      return withGeneration(
          List.of(
              new Finding(
                  Kind.DISPUTE_ESCALATION_NOT_RECORDED,
                  dispute.paymentIntentId(),
                  listing,
                  "Stripe: inquiry "
                      + dispute.id()
                      + " escalated to a chargeback ("
                      + dispute.status()
                      + "); ours is still the inquiry ("
                      + ours.get()
                      + ")",
                  repair)));
    }
    if (closed && !dispute.status().equals(ours.get())) {
      return withGeneration(
          List.of(
              new Finding(
                  Kind.DISPUTE_OUTCOME_NOT_RECORDED,
                  dispute.paymentIntentId(),
                  listing,
                  "Stripe: dispute "
                      + dispute.id()
                      + " is "
                      + dispute.status()
                      + "; ours is "
                      + ours.get(),
                  repair)));
    }
    if (tookMoneyBack(dispute.status())
        && dispute.amount() > 0
        && !record.get().holdsAmount(dispute.amount())) {
      // the events that changed the chargeback's amount were lost: what counts as gone back of
      // the payment is the old amount. Repaired under a fact of its own, which names the amount:
      // the status-only repair may have been applied already, and each amount it changes to is
      // a fact of its own (500, then 300, then 500 again)
      Records.DisputeState state = record.get();
      return withGeneration(
          List.of(
              new Finding(
                  Kind.DISPUTE_AMOUNT_DIFFERS,
                  dispute.paymentIntentId(),
                  listing,
                  "Stripe: dispute "
                      + dispute.id()
                      + " ("
                      + dispute.status()
                      + ") is for "
                      + dispute.amount()
                      + " cents; ours for "
                      + state.amountCents()
                      + (state.chargebackCents() == null
                          ? ""
                          : ", its chargeback record " + state.chargebackCents()),
                  Repair.disputeAmount(
                      dispute.id(),
                      dispute.paymentIntentId(),
                      dispute.status(),
                      dispute.amount(),
                      closed))));
    }
    return List.of();
  }

  /**
   * A chargeback whose amount counts as gone back of its payment: not an inquiry (no money moved,
   * and an escalation takes the chargeback's own amount), not prevented (no chargeback), not won
   * (the money came back).
   */
  private static boolean tookMoneyBack(String disputeStatus) {
    return !isInquiry(disputeStatus)
        && !"prevented".equals(disputeStatus)
        && !"won".equals(disputeStatus);
  }

  /** An inquiry ({@code warning_*}): no money moved, and it counts toward no ban. */
  private static boolean isInquiry(String disputeStatus) {
    return disputeStatus != null && disputeStatus.startsWith("warning_");
  }

  /**
   * A refund Stripe failed or canceled: our record of it (by its {@code re_} id) must say {@code
   * failed}; if it still says money went back, or is on its way, the refund worker records the
   * failure from the refund as Stripe has it now.
   */
  private List<Finding> checkFailed(StripeRefund refund) {
    Optional<Records.RefundState> record = records.refundByStripeId(refund.id());
    if (record.isEmpty() || !Set.of("approved", "processed").contains(record.get().status())) {
      return List.of();
    }
    String listing =
        records
            .payment(refund.paymentIntentId())
            .map(p -> String.valueOf(p.listingId()))
            .orElse(null);
    return withGeneration(
        List.of(
            new Finding(
                Kind.REFUND_FAILED_NOT_RECORDED,
                refund.paymentIntentId(),
                listing,
                "Stripe: refund "
                    + refund.id()
                    + " "
                    + refund.status()
                    + "; our refund "
                    + record.get().id()
                    + " is "
                    + record.get().status(),
                Repair.refundFailed(refund.id(), refund.paymentIntentId()))));
  }

  /**
   * Refunds that failed at Stripe since {@code since} and that no admin has retried or closed: the
   * customer has not got the money back and nobody decided what to do.
   */
  public List<Finding> openFailedRefunds(java.time.Instant since) {
    return records.openFailedRefunds(since).stream()
        .map(
            r ->
                new Finding(
                    Kind.REFUND_FAILED_OPEN,
                    r.paymentIntentId(),
                    r.listingId() == null ? null : r.listingId().toString(),
                    "our refund "
                        + r.id()
                        + " of "
                        + r.amountCents()
                        + " cents failed at Stripe ("
                        + r.failureReason()
                        + "): retry or close it (POST /admin/api/marketplace/refunds/"
                        + r.id()
                        + "/retry or /close)",
                    null))
        .toList();
  }

  /**
   * Gives each repair the generation after those already applied, and says so in the finding: a
   * fact missing again after its repair was applied deserves a look at the worker too. Read in the
   * snapshot in which the check found the fact missing: what was applied after it does not count,
   * or a repair applied between the two reads would look ineffective and a needless next generation
   * be published.
   */
  private List<Finding> withGeneration(List<Finding> findings) {
    List<Finding> resolved = new ArrayList<>(findings.size());
    for (Finding finding : findings) {
      if (finding.repair() == null) {
        resolved.add(finding);
        continue;
      }
      Repair repair = finding.repair();
      List<String> applied =
          records.appliedRepairs(
              repair, repair.appliedByRefundWorker() ? refundConsumer : paymentConsumer);
      Repair next = repair.after(applied);
      String detail =
          applied.isEmpty()
              ? finding.detail()
              : finding.detail()
                  + " (again: "
                  + new Repair(
                          next.objectId(),
                          next.fact(),
                          next.eventType(),
                          next.key(),
                          next.generation() - 1)
                      .eventId()
                  + " was applied before)";
      resolved.add(
          new Finding(
              finding.kind(), finding.paymentIntentId(), finding.listingId(), detail, next));
    }
    return resolved;
  }

  /**
   * Whether Stripe's refund is the one our record asked for, as the refund worker decides it: of
   * the record's own PaymentIntent, and the record's refund or of its current attempt. Its metadata
   * alone does not say so: anyone who can make a refund can write any metadata on it, and a refund
   * of another payment naming our record is recorded as a refund of the payment it was made on.
   */
  private static boolean isRefundOf(StripeRefund refund, Records.RefundState record) {
    String attempt =
        refund.metadata() == null
            ? "0"
            : refund.metadata().getOrDefault(RefundExecutor.METADATA_ATTEMPT, "0");
    return refund.paymentIntentId().equals(record.paymentIntentId())
        && (refund.id().equals(record.stripeRefundId())
            || Integer.toString(record.attempt()).equals(attempt));
  }

  private static Optional<UUID> ourRefundId(StripeRefund refund) {
    String value = refund.metadata() == null ? null : refund.metadata().get("refund_id");
    if (value == null || value.isBlank()) {
      return Optional.empty();
    }
    try {
      return Optional.of(UUID.fromString(value));
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }
}
