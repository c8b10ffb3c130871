package io.marketplace.payments.ops.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import com.stripe.StripeClient;
import io.marketplace.payments.ops.PaymentsWorld;
import io.marketplace.payments.refunds.RefundWorker;
import io.marketplace.payments.stripeemulator.StripeEmulator;
import io.marketplace.payments.testsupport.Await;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A payment's success and a full return of its money (a dashboard refund, a chargeback) that Stripe
 * made before we delivered the purchase are applied by two consumer groups, the payment processor
 * and the refund worker, in either order: Stripe does not order its webhooks, and after an incident
 * {@code payments reconcile} publishes both repairs at once. Whatever the order, the purchase ends
 * held back ({@code payments.delivery_withheld_at}, the listing still {@code pending_payment}): the
 * customer has the money back, not both the money and the listing.
 */
class MoneyBackBeforeDeliveryOrderTest {

  private final PaymentsWorld world = new PaymentsWorld();
  private StripeEmulator emulator;
  private StripeClient stripe;

  @BeforeEach
  void startStripe() {
    emulator = StripeEmulator.start(StripeEmulator.Config.defaults());
    stripe =
        StripeClient.builder()
            .setApiKey(emulator.secretKey())
            .setApiBase(emulator.baseUrl())
            .build();
  }

  @AfterEach
  void stop() {
    emulator.close();
    world.close();
  }

  @Test
  void shouldHoldThePostingFeeBackWhenTheDashboardRefundIsRecordedBeforeTheSuccess()
      throws Exception {
    Paid paid = postingFeePaid(true);
    try (RefundWorker refunds = world.startRefundWorker(emulator, stripe)) {
      world.deliver("payment_intent.succeeded", paid.paymentIntent());
      world.deliver("refund.created", fullRefund(paid, paid.paidAt()));
      awaitMoneyBackRecorded(paid);
      world.startProcessor();
      awaitHeldBack(paid);
    }
  }

  @Test
  void shouldHoldThePostingFeeBackWhenTheSuccessIsAppliedBeforeTheDashboardRefund()
      throws Exception {
    Paid paid = postingFeePaid(true);
    world.startProcessor();
    world.deliver("payment_intent.succeeded", paid.paymentIntent());
    world.awaitListingStatus(paid.listing(), "active");
    try (RefundWorker refunds = world.startRefundWorker(emulator, stripe)) {
      world.deliver("refund.created", fullRefund(paid, paid.paidAt()));
      awaitMoneyBackRecorded(paid);
      awaitHeldBack(paid);
    }
  }

  @Test
  void shouldHoldThePostingFeeBackWhenTheChargebackIsRecordedBeforeTheSuccess() throws Exception {
    Paid paid = postingFeePaid(true);
    try (RefundWorker refunds = world.startRefundWorker(emulator, stripe)) {
      world.deliver("payment_intent.succeeded", paid.paymentIntent());
      world.deliver("charge.dispute.created", fullDispute(paid, paid.paidAt()));
      awaitMoneyBackRecorded(paid);
      world.startProcessor();
      awaitHeldBack(paid);
    }
  }

  @Test
  void shouldHoldThePostingFeeBackWhenTheSuccessIsAppliedBeforeTheChargeback() throws Exception {
    Paid paid = postingFeePaid(true);
    world.startProcessor();
    world.deliver("payment_intent.succeeded", paid.paymentIntent());
    world.awaitListingStatus(paid.listing(), "active");
    try (RefundWorker refunds = world.startRefundWorker(emulator, stripe)) {
      world.deliver("charge.dispute.created", fullDispute(paid, paid.paidAt()));
      awaitMoneyBackRecorded(paid);
      awaitHeldBack(paid);
    }
  }

  /**
   * The janitor's path: the payment's row was lost, so the refund waits for it in {@code
   * refunds_awaiting_payment} until the processor rebuilds it from the success.
   */
  @Test
  void shouldHoldThePostingFeeBackWhenTheRefundWaitedForThePaymentsRow() throws Exception {
    Paid paid = postingFeePaid(false);
    try (RefundWorker refunds = world.startRefundWorker(emulator, stripe)) {
      world.deliver("payment_intent.succeeded", paid.paymentIntent());
      world.deliver("refund.created", fullRefund(paid, paid.paidAt()));
      Await.until(
          PaymentsWorld.WAIT,
          "the refund kept until the payment's row exists",
          () ->
              world.db.count(
                      "refunds_awaiting_payment WHERE stripe_payment_intent_id = ?", paid.pi())
                  == 1);
      world.startProcessor();
      awaitMoneyBackRecorded(paid);
      awaitHeldBack(paid);
    }
  }

  @Test
  void shouldHoldThePostingFeeBackWhenItsRowIsRebuiltBeforeTheRefundIsSeen() throws Exception {
    Paid paid = postingFeePaid(false);
    world.startProcessor();
    world.deliver("payment_intent.succeeded", paid.paymentIntent());
    world.awaitListingStatus(paid.listing(), "active");
    try (RefundWorker refunds = world.startRefundWorker(emulator, stripe)) {
      world.deliver("refund.created", fullRefund(paid, paid.paidAt()));
      awaitMoneyBackRecorded(paid);
      awaitHeldBack(paid);
    }
  }

  /**
   * The usual chargeback, weeks after the listing went live: the customer had what they paid for,
   * and the listing stays (SPEC §1: a chargeback is recorded, and counts towards a ban).
   */
  @Test
  void shouldLeaveTheListingActiveWhenItsMoneyWentBackAfterTheActivation() throws Exception {
    Paid paid = postingFeePaid(true);
    world.startProcessor();
    world.deliver("payment_intent.succeeded", paid.paymentIntent());
    world.awaitListingStatus(paid.listing(), "active");
    try (RefundWorker refunds = world.startRefundWorker(emulator, stripe)) {
      world.deliver("charge.dispute.created", fullDispute(paid, Instant.now().plusSeconds(60)));
      awaitMoneyBackRecorded(paid);
      Await.until(
          PaymentsWorld.WAIT,
          "the processor to apply the refund worker's command",
          () -> world.db.count("processed_events WHERE event_key LIKE 'delivery-command:%'") == 1);
    }
    assertThat(world.listingStatus(paid.listing())).isEqualTo("active");
    assertThat(types(paid))
        .containsExactly("payment.succeeded", "listing.activated", "chargeback.recorded");
  }

  /**
   * Taken back, then the dispute is won: the money is ours again, and the listing goes live again,
   * announced as an activation of its own (a subscriber that dedupes on ids would drop one reusing
   * the first activation's id, and keep the listing withdrawn).
   */
  @Test
  void shouldActivateAgainUnderANewIdWhenTheDisputeOfAWithdrawnListingIsWon() throws Exception {
    Paid paid = postingFeePaid(true);
    world.startProcessor();
    world.deliver("payment_intent.succeeded", paid.paymentIntent());
    world.awaitListingStatus(paid.listing(), "active");
    try (RefundWorker refunds = world.startRefundWorker(emulator, stripe)) {
      Map<String, Object> dispute = fullDispute(paid, paid.paidAt());
      world.deliver("charge.dispute.created", dispute);
      awaitHeldBack(paid);
      dispute.put("status", "won");
      world.deliver("charge.dispute.closed", dispute);
      world.awaitListingStatus(paid.listing(), "active");
    }
    assertThat(types(paid))
        .containsExactly(
            "payment.succeeded",
            "listing.activated",
            "chargeback.recorded",
            "listing.withdrawn",
            "listing.activated");
  }

  /**
   * A featured week bought while the listing was live only by an activation made after its posting
   * fee's money had gone back: when that activation is taken back, the week (paid, its money with
   * us) would run on a listing shown nowhere. It ends with the activation, announced once, and its
   * payment is refunded as a purchase that cannot be delivered, as in the other order, where the
   * listing never went live and no week could be bought.
   */
  @Test
  void shouldEndAndRefundAFeaturedWeekWhenTheActivationItWasBoughtOnIsTakenBack() throws Exception {
    Paid paid = postingFeePaid(true);
    world.startProcessor();
    world.deliver("payment_intent.succeeded", paid.paymentIntent());
    world.awaitListingStatus(paid.listing(), "active");
    String featured = world.paidAtStripe(stripe, paid.listing(), "promotion_featured", 500);
    world.paymentRow(featured, paid.listing(), "promotion_featured", 500);
    world.deliver(
        "payment_intent.succeeded",
        PaymentsWorld.paymentIntent(
            featured, "succeeded", 500, world.metadata(paid.listing(), "promotion_featured")));
    Await.until(
        PaymentsWorld.WAIT,
        "the featured week",
        () ->
            world.db.count(
                    "listing_promotions WHERE stripe_payment_intent_id = ? AND expired_at IS NULL",
                    featured)
                == 1);
    try (RefundWorker refunds = world.startRefundWorker(emulator, stripe)) {
      world.deliver("charge.dispute.created", fullDispute(paid, paid.paidAt()));
      world.awaitListingStatus(paid.listing(), "pending_payment");
      Await.until(
          PaymentsWorld.WAIT,
          "the featured week's payment refunded",
          () ->
              world.db.count(
                      "payment_refunds WHERE stripe_payment_intent_id = ?"
                          + " AND reason = 'technical_failure' AND status = 'processed'",
                      featured)
                  == 1);
    }
    assertThat(promotions(paid))
        .singleElement()
        .satisfies(
            week -> {
              assertThat(week.get("ended")).isEqualTo(true);
              assertThat(week.get("end_cause")).isEqualTo("listing_withdrawn");
            });
    assertThat(types(paid))
        .containsSubsequence("listing.withdrawn", "promotion.expired")
        .containsOnlyOnce(
            "listing.activated",
            "listing.withdrawn",
            "promotion.created",
            "promotion.expired",
            "refund.processed");
  }

  /**
   * A featured week whose payment is charged back in full: withdrawn whichever worker learns first.
   * The chargeback recorded first, the week is never created; the success applied first, the week
   * created ends when the chargeback is recorded, announced once each way, and the processor, told
   * by the refund worker, takes nothing else back.
   */
  @Test
  void shouldGiveNoFeaturedWeekWhenTheChargebackIsRecordedBeforeTheSuccess() throws Exception {
    Paid paid = promotionPaid("promotion_featured");
    try (RefundWorker refunds = world.startRefundWorker(emulator, stripe)) {
      world.deliver("payment_intent.succeeded", paid.paymentIntent());
      world.deliver("charge.dispute.created", fullDispute(paid, paid.paidAt()));
      awaitMoneyBackRecorded(paid);
      world.startProcessor();
      awaitWithheld(paid);
    }
    assertThat(promotions(paid)).isEmpty();
    assertThat(types(paid)).containsExactly("chargeback.recorded", "payment.succeeded");
  }

  @Test
  void shouldEndTheFeaturedWeekWhenTheSuccessIsAppliedBeforeTheChargeback() throws Exception {
    Paid paid = promotionPaid("promotion_featured");
    world.startProcessor();
    world.deliver("payment_intent.succeeded", paid.paymentIntent());
    Await.until(PaymentsWorld.WAIT, "the featured week", () -> promotions(paid).size() == 1);
    try (RefundWorker refunds = world.startRefundWorker(emulator, stripe)) {
      world.deliver("charge.dispute.created", fullDispute(paid, paid.paidAt()));
      awaitMoneyBackRecorded(paid);
      awaitWithdrawalCommandApplied();
    }
    assertThat(promotions(paid))
        .singleElement()
        .satisfies(
            week -> {
              assertThat(week.get("ended")).isEqualTo(true);
              assertThat(week.get("end_cause")).isEqualTo("disputed");
            });
    assertThat(
            world.db.count(
                "listing_promotions WHERE listing_id = ? AND expired_at IS NULL", paid.listing()))
        .isZero();
    assertThat(types(paid))
        .containsExactly(
            "payment.succeeded", "promotion.created", "chargeback.recorded", "promotion.expired");
  }

  // ---- helpers

  /** A posting fee paid at Stripe a minute ago, with (or without: lost) its payments row. */
  private record Paid(UUID listing, String pi, Map<String, Object> paymentIntent, Instant paidAt) {}

  private Paid postingFeePaid(boolean withRow) {
    UUID listing = world.pendingListing();
    String pi = "pi_order_" + UUID.randomUUID().toString().replace("-", "").substring(0, 20);
    if (withRow) {
      world.paymentRow(pi, listing, "posting_fee", 500);
    }
    Map<String, Object> intent =
        PaymentsWorld.paymentIntent(pi, "succeeded", 500, world.metadata(listing, "posting_fee"));
    intent.put("latest_charge", "ch_" + pi.substring(3));
    return new Paid(listing, pi, intent, Instant.ofEpochSecond((Long) intent.get("created")));
  }

  /** A promotion of an active listing paid at Stripe a minute ago, with its payments row. */
  private Paid promotionPaid(String paymentType) {
    UUID listing = world.pendingListing();
    world.db.execute(
        """
        UPDATE marketplace_listings
        SET status = 'active', activated_at = now(), expires_at = now() + interval '30 days'
        WHERE id = ?
        """,
        listing);
    String pi = "pi_order_" + UUID.randomUUID().toString().replace("-", "").substring(0, 20);
    long amount = "promotion_featured".equals(paymentType) ? 500 : 200;
    world.paymentRow(pi, listing, paymentType, amount);
    Map<String, Object> intent =
        PaymentsWorld.paymentIntent(pi, "succeeded", amount, world.metadata(listing, paymentType));
    intent.put("latest_charge", "ch_" + pi.substring(3));
    return new Paid(listing, pi, intent, Instant.ofEpochSecond((Long) intent.get("created")));
  }

  /** The listing's promotions: whether each ended, and why. */
  private List<Map<String, Object>> promotions(Paid paid) {
    return world.db.rows(
        "SELECT type, expired_at IS NOT NULL AS ended, end_cause FROM listing_promotions"
            + " WHERE listing_id = ?",
        paid.listing());
  }

  private void awaitWithheld(Paid paid) {
    Await.until(
        PaymentsWorld.WAIT,
        "the purchase of " + paid.pi() + " held back",
        () ->
            world.db.count(
                    "payments WHERE stripe_payment_intent_id = ? AND status = 'succeeded'"
                        + " AND delivery_withheld_at IS NOT NULL",
                    paid.pi())
                == 1);
  }

  private void awaitWithdrawalCommandApplied() {
    Await.until(
        PaymentsWorld.WAIT,
        "the processor to apply the refund worker's command",
        () -> world.db.count("processed_events WHERE event_key LIKE 'delivery-command:%'") == 1);
  }

  /** A refund of all of the payment, made in Stripe's dashboard at {@code at}. */
  private static Map<String, Object> fullRefund(Paid paid, Instant at) {
    Map<String, Object> refund = new LinkedHashMap<>();
    refund.put("id", "re_" + paid.pi().substring(3));
    refund.put("object", "refund");
    refund.put("amount", 500);
    refund.put("charge", "ch_" + paid.pi().substring(3));
    refund.put("created", at.getEpochSecond() + 10);
    refund.put("currency", "usd");
    refund.put("metadata", Map.of());
    refund.put("payment_intent", paid.pi());
    refund.put("reason", "requested_by_customer");
    refund.put("status", "succeeded");
    return refund;
  }

  /** A chargeback of all of the payment (funds withdrawn), opened at {@code at}. */
  private static Map<String, Object> fullDispute(Paid paid, Instant at) {
    Map<String, Object> dispute = new LinkedHashMap<>();
    dispute.put("id", "du_" + paid.pi().substring(3));
    dispute.put("object", "dispute");
    dispute.put("amount", 500);
    dispute.put("charge", "ch_" + paid.pi().substring(3));
    dispute.put("created", at.getEpochSecond() + 10);
    dispute.put("currency", "usd");
    dispute.put("payment_intent", paid.pi());
    dispute.put("reason", "fraudulent");
    dispute.put("status", "needs_response");
    return dispute;
  }

  private void awaitMoneyBackRecorded(Paid paid) {
    Await.until(
        PaymentsWorld.WAIT,
        "the return of " + paid.pi() + " recorded",
        () ->
            world.db.count(
                    "payment_refunds WHERE stripe_payment_intent_id = ? AND status = 'processed'",
                    paid.pi())
                == 1);
  }

  /**
   * The state the refund-first order leaves: the payment succeeded, its purchase held back, the
   * listing waiting for payment, one record of the money gone back.
   */
  private void awaitHeldBack(Paid paid) {
    Await.untilAsserted(
        PaymentsWorld.WAIT,
        "the posting fee of " + paid.pi() + " held back",
        () -> {
          assertThat(
                  world.db.row(
                      "SELECT status, delivery_withheld_at IS NOT NULL AS withheld FROM payments"
                          + " WHERE stripe_payment_intent_id = ?",
                      paid.pi()))
              .as("payments row of %s", paid.pi())
              .hasValueSatisfying(
                  row -> {
                    assertThat(row.get("status")).isEqualTo("succeeded");
                    assertThat(row.get("withheld")).isEqualTo(true);
                  });
          assertThat(world.listingStatus(paid.listing()))
              .as("listing of %s, all of whose money went back before delivery", paid.pi())
              .isEqualTo("pending_payment");
        });
    assertThat(world.db.count("payment_refunds WHERE stripe_payment_intent_id = ?", paid.pi()))
        .isOne();
    // each fact announced once: the success; an activation only together with its withdrawal
    List<String> types = types(paid);
    assertThat(types).containsOnlyOnce("payment.succeeded");
    assertThat(types.stream().filter("listing.activated"::equals).count())
        .as("activations and withdrawals in %s", types)
        .isLessThanOrEqualTo(1)
        .isEqualTo(types.stream().filter("listing.withdrawn"::equals).count());
  }

  /** The types of the events announced about the payment's listing, in order. */
  private List<String> types(Paid paid) {
    List<String> events = world.paymentEvents(paid.listing().toString());
    assertThat(events).as("ids announced").doesNotHaveDuplicates();
    return events.stream().map(e -> e.split(" ")[0]).toList();
  }
}
