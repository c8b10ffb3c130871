package io.marketplace.payments.ops.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import com.stripe.StripeClient;
import com.stripe.param.PaymentIntentConfirmParams;
import com.stripe.param.PaymentIntentCreateParams;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.kafka.RecordHeaders;
import io.marketplace.payments.ops.Cli;
import io.marketplace.payments.ops.PaymentsWorld;
import io.marketplace.payments.refunds.RefundWorker;
import io.marketplace.payments.stripeemulator.StripeEmulator;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.marketplace.payments.testsupport.MutableClock;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code payments reconcile} as an operator meets it after an incident. The Stripe emulator runs on
 * a clock the test moves, so PaymentIntents can be created and paid in the past. Each test has an
 * emulator, a database, topics and a processor of its own: a row of another test's PaymentIntent
 * would be one this test's Stripe does not have ({@code not_at_stripe}).
 */
class ReconcileAfterIncidentTest {

  private final PaymentsWorld world = new PaymentsWorld();
  private MutableClock stripeClock;
  private StripeEmulator emulator;
  private StripeClient stripe;
  private Cli cli;

  @BeforeEach
  void startProcessorAndStripe() {
    world.startProcessor();
    stripeClock = new MutableClock(Instant.now());
    emulator = StripeEmulator.start(StripeEmulator.Config.defaults().withClock(stripeClock));
    stripe =
        StripeClient.builder()
            .setApiKey(emulator.secretKey())
            .setApiBase(emulator.baseUrl())
            .build();
    cli = world.cli().stripe(emulator.baseUrl(), emulator.secretKey());
  }

  @AfterEach
  void stopStripeAndProcessor() {
    emulator.close();
    world.close();
  }

  /**
   * The processor takes {@code created} of a {@code payment_intent.succeeded} event as the moment
   * Stripe took the money ({@code payments.succeeded_at}), and the refund worker counts the 24 h of
   * the automatic refund rule from it (SPEC §1). A repair event is dated when Stripe took the
   * money, not when the operator reconciled: a payment taken three days ago and repaired today is
   * refunded on a rejection only after an admin's review, as the rule wants.
   */
  @Test
  void shouldKeepWhenStripeTookTheMoneyWhenRepairingAPaymentWhoseWebhookWasLost() throws Exception {
    // Given a posting fee paid at Stripe three days ago, whose webhook never reached us
    Instant paidAt = Instant.now().minus(Duration.ofDays(3));
    stripeClock.set(paidAt);
    UUID listing = world.pendingListing();
    String pi = world.paidAtStripe(stripe, listing, "posting_fee", 500);
    world.paymentRow(pi, listing, "posting_fee", 500);
    stripeClock.set(Instant.now());

    // When the operator reconciles the last four days and the processor applies the repair
    Cli.Result apply = cli.run(world.reconcileAndApply("4d", "30s"));
    assertThat(apply.exitCode()).as(apply.toString()).isZero();
    world.awaitListingStatus(listing, "active");

    // And the listing is rejected by moderation today, with the refund worker running
    try (RefundWorker refunds = world.startRefundWorker(emulator, stripe)) {
      world.kafka.send(
          world.topics.moderation(),
          listing.toString(),
          Json.write(
              Map.of(
                  "listingId",
                  listing.toString(),
                  "decision",
                  "rejected",
                  "reason",
                  "spam",
                  "decidedAt",
                  Instant.now().toString())));
      Await.until(
          PaymentsWorld.WAIT,
          "a refund record for " + pi,
          () -> refundStatus(pi).isPresent() && !"approved".equals(refundStatus(pi).get()));
    }

    // Then the payment is recorded as taken three days ago, and its refund waits for an admin
    Instant succeededAt = succeededAt(pi);
    SoftAssertions.assertSoftly(
        softly -> {
          softly
              .assertThat(refundStatus(pi))
              .as(
                  "refund of a posting fee paid at %s, rejected at %s (SPEC §1: later than 24 h"
                      + " waits for an admin)",
                  paidAt, Instant.now())
              .contains("pending");
          softly
              .assertThat(succeededAt)
              .as("payments.succeeded_at of %s, paid at Stripe at %s", pi, paidAt)
              .isBefore(Instant.now().minus(Duration.ofDays(2)));
        });
  }

  /**
   * The runbook's fix for webhooks lost during an incident is {@code reconcile --since <start of
   * the incident> --apply}. Checkout creates the PaymentIntent once and hands the same one back
   * while it is unpaid, so a buyer who started checking out before the incident and paid during it
   * has a PaymentIntent created before {@code --since}, which Stripe's list (by creation) does not
   * return: reconcile also asks Stripe about the PaymentIntents the database holds as unpaid.
   */
  @Test
  void shouldFindPaymentThatSucceededDuringTheIncidentOnPaymentIntentCreatedBefore()
      throws Exception {
    // Given a checkout begun three hours ago (the PaymentIntent is created then)
    UUID listing = world.pendingListing();
    String pi = postingFeeCheckedOutThreeHoursAgo(listing);
    world.paymentRow(pi, listing, "posting_fee", 500);

    // And paid ten minutes ago, during an incident that began an hour ago and lost its webhook
    paidTenMinutesAgo(pi);
    assertThat(emulator.object(pi).orElseThrow()).containsEntry("status", "succeeded");

    // When the operator reconciles since the start of the incident, as the runbook says
    Cli.Result report =
        cli.run(
            "reconcile", "--since", "1h", "--dry-run", "--payment-consumer", world.processorGroup);

    // Then the paid, never-applied posting fee is a finding
    assertThat(report.exitCode()).as(report.toString()).isZero();
    assertThat(report.out())
        .as("reconcile --since 1h after a payment made 10 minutes ago that we never recorded")
        .containsPattern("payment_not_recorded\\s+" + pi);
  }

  @Test
  void shouldFindPaymentPaidDuringTheIncidentWhoseRowWasLostWithItsPaymentIntentCreatedBefore()
      throws Exception {
    // Given a checkout begun three hours ago whose payments row the incident lost (the database
    // restored from before it), so that nothing of ours names the PaymentIntent
    UUID listing = world.pendingListing();
    String pi = postingFeeCheckedOutThreeHoursAgo(listing);

    // And paid ten minutes ago, during an incident that began an hour ago and lost its webhook
    paidTenMinutesAgo(pi);

    // When the operator reconciles since the start of the incident, and applies the repairs
    Cli.Result report = cli.run(world.reconcileAndApply("1h", "30s"));

    // Then the money taken since T is found by its charge: the payment is a finding
    assertThat(report.exitCode()).as(report.toString()).isZero();
    assertThat(report.out())
        .as("reconcile --since 1h after a payment made 10 minutes ago that we hold nothing of")
        .containsPattern("payment_not_recorded\\s+" + pi);
    // And its repair delivers it: the processor rebuilds the row at the listing's price (the
    // checkout attempt went with the rest) and activates the listing
    world.awaitListingStatus(listing, "active");
  }

  /**
   * A payment whose row the incident lost, refunded in full from Stripe's dashboard during the
   * incident (the buyer saw the listing stay pending), both webhooks lost. The refund is of one of
   * our payments (the PaymentIntent carries our metadata) though the database holds nothing of it
   * yet: the run that repairs the payment also repairs the refund, which the refund worker keeps
   * until the payment's row exists and counts as money gone back, rather than leaving it for a run
   * after this one, which may never come: this one reports that nothing is left to do.
   */
  @Test
  void shouldRepairARefundOfAPaymentWhoseRowWasLostInTheRunThatRepairsThePayment()
      throws Exception {
    // Given a posting fee paid during the incident, whose payments row the incident lost
    UUID listing = world.pendingListing();
    stripeClock.set(Instant.now().minus(Duration.ofMinutes(5)));
    String pi = world.paidAtStripe(stripe, listing, "posting_fee", 500);
    // And refunded in full from Stripe's dashboard, its events lost too
    String refund = (String) emulator.refundOutsideSystem(pi, null).get("id");
    stripeClock.set(Instant.now());

    // When the operator reconciles since the start of the incident, then applies the repairs
    Cli.Result report =
        cli.run(
            "reconcile", "--since", "1h", "--dry-run", "--payment-consumer", world.processorGroup);
    Cli.Result applied;
    try (RefundWorker refunds = world.startRefundWorker(emulator, stripe)) {
      applied = cli.run(world.reconcileAndApply("1h", "30s"));
      // Then the refund worker records the refund, once the payment's row exists
      Await.until(
          PaymentsWorld.WAIT,
          "refund " + refund + " recorded",
          () -> world.db.count("payment_refunds WHERE stripe_refund_id = ?", refund) == 1);
      // And the listing was not given with the money back, whichever worker applied its repair
      // first: the two consume the repairs in either order
      awaitHeldBack(listing, pi);
    }

    // And the run named it beside the payment
    assertThat(report.exitCode()).as(report.toString()).isZero();
    assertThat(report.out())
        .as(report.toString())
        .containsPattern("payment_not_recorded\\s+" + pi)
        .containsPattern("refund_missing\\s+" + pi + ".*" + refund);
    assertThat(applied.exitCode()).as(applied.toString()).isZero();
  }

  /**
   * The same for a chargeback: the refund worker records it without a user until the row exists.
   */
  @Test
  void shouldRepairADisputeOfAPaymentWhoseRowWasLostInTheRunThatRepairsThePayment()
      throws Exception {
    // Given a posting fee paid during the incident, whose payments row the incident lost
    UUID listing = world.pendingListing();
    stripeClock.set(Instant.now().minus(Duration.ofMinutes(5)));
    String pi = world.paidAtStripe(stripe, listing, "posting_fee", 500);
    // And disputed by its buyer, its events lost too
    String dispute = emulator.openDispute(pi);
    stripeClock.set(Instant.now());

    // When the operator reconciles since the start of the incident, with the workers running
    Cli.Result applied;
    try (RefundWorker refunds = world.startRefundWorker(emulator, stripe)) {
      applied = cli.run(world.reconcileAndApply("1h", "30s"));
      // And the listing was not given with the money back, whichever worker applied its repair
      // first: the two consume the repairs in either order
      awaitHeldBack(listing, pi);
    }

    // Then the run repaired the dispute beside the payment: the refund worker recorded it
    assertThat(applied.exitCode()).as(applied.toString()).isZero();
    assertThat(applied.out())
        .as(applied.toString())
        .containsPattern("dispute_not_recorded\\s+" + pi);
    assertThat(world.db.count("payment_disputes WHERE stripe_dispute_id = ?", dispute))
        .as(applied.toString())
        .isOne();
  }

  /**
   * A second posting fee paid for a listing another PaymentIntent already activated (a double
   * charge): the processor cannot deliver it and asks the refund worker for an automatic refund,
   * through a command that has not become a refund (here: the refund worker is not running; in an
   * incident: the command dead-lettered or lost). Stripe has the money, the database has no refund
   * and nothing was bought. Reconcile reports it for a person, as it reports a promotion paid and
   * neither delivered nor refunded.
   */
  @Test
  void shouldReportPostingFeeChargedTwiceWhenNeitherDeliveredNorRefunded() throws Exception {
    // Given a listing activated by its posting fee
    UUID listing = world.pendingListing();
    String first = world.paidAtStripe(stripe, listing, "posting_fee", 500);
    world.paymentRow(first, listing, "posting_fee", 500);
    world.deliver("payment_intent.succeeded", emulator.object(first).orElseThrow());
    world.awaitListingStatus(listing, "active");

    // And a second posting fee for the same listing, paid and applied by the processor
    String second = world.paidAtStripe(stripe, listing, "posting_fee", 500);
    world.paymentRow(second, listing, "posting_fee", 500);
    world.deliver("payment_intent.succeeded", emulator.object(second).orElseThrow());
    Await.until(
        PaymentsWorld.WAIT,
        "the second payment recorded as succeeded",
        () ->
            "succeeded"
                .equals(
                    world
                        .db
                        .row(
                            "SELECT status FROM payments WHERE stripe_payment_intent_id = ?",
                            second)
                        .orElseThrow()
                        .get("status")));
    assertThat(refundStatus(second)).isEmpty();

    // When the operator reconciles
    Cli.Result report =
        cli.run(
            "reconcile", "--since", "1h", "--dry-run", "--payment-consumer", world.processorGroup);

    // Then the second charge, neither delivered nor refunded, is a finding
    assertThat(report.exitCode()).as(report.toString()).isZero();
    assertThat(report.out())
        .as(
            "reconcile after %s was charged for listing %s already activated by %s",
            second, listing, first)
        .contains(second);
  }

  /**
   * The comparison reads the database inside the loop over Stripe's pages: with PostgreSQL
   * unreachable, the failure names the database, not Stripe.
   */
  @Test
  void shouldBlameTheDatabaseNotStripeWhenPostgresIsUnreachable() throws Exception {
    // Given a payment of ours at Stripe, and a database that does not answer
    UUID listing = world.pendingListing();
    world.paidAtStripe(stripe, listing, "posting_fee", 500);
    Cli unreachable =
        world
            .cli()
            .stripe(emulator.baseUrl(), emulator.secretKey())
            .set("DATABASE_URL", "jdbc:postgresql://127.0.0.1:1/payments")
            .set("DATABASE_CONNECT_TIMEOUT", "1s");

    // When
    Cli.Result report = unreachable.run("reconcile", "--since", "1h", "--dry-run");

    // Then it fails, naming the database, not Stripe
    assertThat(report.exitCode()).as(report.toString()).isEqualTo(1);
    assertThat(report.err()).as(report.toString()).doesNotContain("Stripe failed");
  }

  /**
   * A succeeded PaymentIntent that carries our metadata keys but whose values do not parse (here a
   * listing id that is no UUID) and has no payments row. The processor cannot rebuild a row from it
   * and dead-letters such an event: "that event needs a person" (OurPaymentIntent). So reconcile
   * sends it to a person, not to the workers, whose repair would only add a dead letter.
   */
  @Test
  void shouldSendSucceededPaymentWithUnreadableMetadataToAPersonNotToTheWorkers() throws Exception {
    // Given a payment at Stripe with our metadata keys, unreadable
    Map<String, String> metadata = world.metadata(world.pendingListing(), "posting_fee");
    metadata.put("listing_id", "listing-42");
    String pi =
        stripe
            .v1()
            .paymentIntents()
            .create(
                PaymentIntentCreateParams.builder()
                    .setAmount(500L)
                    .setCurrency("usd")
                    .putAllMetadata(metadata)
                    .setPaymentMethod("pm_card_visa")
                    .setConfirm(true)
                    .build())
            .getId();

    // When the operator reconciles, then applies
    Cli.Result report =
        cli.run(
            "reconcile", "--since", "1h", "--dry-run", "--payment-consumer", world.processorGroup);
    Cli.Result apply = cli.run(world.reconcileAndApply("1h", "10s"));

    // Then the finding goes to a person, and no repair event ends in the dead-letter topic
    String line = report.out().lines().filter(l -> l.contains(pi)).findFirst().orElse(report.out());
    List<String> deadLettered =
        world.kafka.readAll(world.topics.stripeEvents().dlq()).stream()
            .filter(r -> pi.equals(r.key()))
            .map(r -> KafkaTestClient.header(r, RecordHeaders.STRIPE_EVENT_ID).orElse("?"))
            .toList();
    SoftAssertions.assertSoftly(
        softly -> {
          softly.assertThat(line).as(report.toString()).contains("needs a person");
          softly
              .assertThat(deadLettered)
              .as("dead letters of %s after reconcile --apply; apply printed:%n%s", pi, apply)
              .isEmpty();
        });
  }

  /**
   * Succeeded PaymentIntents carrying our metadata, readable, for an amount no checkout of ours
   * priced: one with no payments row, made for 100 cents where the housing posting fee is 500, and
   * one whose amount was changed to 100 cents after checkout priced it 500 (whoever holds the
   * account's keys can do either). The processor delivers neither and dead-letters the event, so a
   * repair would only add a dead letter, and "run reconcile again" would add one more each time:
   * reconcile sends both to a person, and publishes nothing for them.
   */
  @Test
  void shouldSendSucceededPaymentsForAnAmountWeDidNotPriceToAPersonNotToTheWorkers()
      throws Exception {
    // Given a posting fee paid for 100 cents with no row, and one priced 500 but paid for 100
    String unpriced = world.paidAtStripe(stripe, world.pendingListing(), "posting_fee", 100);
    UUID changed = world.pendingListing();
    String changedAmount = world.paidAtStripe(stripe, changed, "posting_fee", 100);
    world.paymentRow(changedAmount, changed, "posting_fee", 500);

    // When the operator reconciles, then applies
    Cli.Result report =
        cli.run(
            "reconcile", "--since", "1h", "--dry-run", "--payment-consumer", world.processorGroup);
    Cli.Result apply = cli.run(world.reconcileAndApply("1h", "10s"));

    // Then each finding goes to a person, no repair event is published, and the run says so
    List<String> published =
        world.kafka.readAll(world.topics.stripeEvents()).stream()
            .filter(r -> r.headers().lastHeader(RepairPublisher.RECONCILED) != null)
            .map(r -> r.key() + " " + KafkaTestClient.header(r, RecordHeaders.STRIPE_EVENT_ID))
            .toList();
    SoftAssertions.assertSoftly(
        softly -> {
          for (String pi : List.of(unpriced, changedAmount)) {
            String line =
                report.out().lines().filter(l -> l.contains(pi)).findFirst().orElse(report.out());
            softly.assertThat(line).as(report.toString()).contains("needs a person");
          }
          softly.assertThat(published).as(apply.toString()).isEmpty();
          softly.assertThat(apply.exitCode()).as(apply.toString()).isEqualTo(1);
          softly.assertThat(apply.err()).as(apply.toString()).contains("need a person");
          // nothing was published, so nothing is awaited from the workers
          softly.assertThat(apply.out()).as(apply.toString()).doesNotContain("repaired");
        });
  }

  // ---- helpers

  private Instant succeededAt(String pi) {
    Object value =
        world
            .db
            .row("SELECT succeeded_at FROM payments WHERE stripe_payment_intent_id = ?", pi)
            .orElseThrow()
            .get("succeeded_at");
    return switch (value) {
      case OffsetDateTime odt -> odt.toInstant();
      case Timestamp ts -> ts.toInstant();
      case Instant i -> i;
      default -> throw new AssertionError("succeeded_at " + value);
    };
  }

  private Optional<String> refundStatus(String pi) {
    return world
        .db
        .row("SELECT status FROM payment_refunds WHERE stripe_payment_intent_id = ?", pi)
        .map(r -> (String) r.get("status"));
  }

  /** The PaymentIntent of a checkout of the listing's posting fee, created three hours ago. */
  private String postingFeeCheckedOutThreeHoursAgo(UUID listing) throws Exception {
    stripeClock.set(Instant.now().minus(Duration.ofHours(3)));
    try {
      return stripe
          .v1()
          .paymentIntents()
          .create(
              PaymentIntentCreateParams.builder()
                  .setAmount(500L)
                  .setCurrency("usd")
                  .putAllMetadata(world.metadata(listing, "posting_fee"))
                  .build())
          .getId();
    } finally {
      stripeClock.set(Instant.now());
    }
  }

  /** Pays {@code pi} at Stripe as of ten minutes ago. */
  private void paidTenMinutesAgo(String pi) throws Exception {
    stripeClock.set(Instant.now().minus(Duration.ofMinutes(10)));
    try {
      stripe
          .v1()
          .paymentIntents()
          .confirm(
              pi, PaymentIntentConfirmParams.builder().setPaymentMethod("pm_card_visa").build());
    } finally {
      stripeClock.set(Instant.now());
    }
  }

  /** The posting fee held back, its money all gone back: the listing waits for payment. */
  private void awaitHeldBack(UUID listing, String pi) {
    Await.until(
        PaymentsWorld.WAIT,
        "the posting fee of " + pi + " held back",
        () ->
            world.db.count(
                        "payments WHERE stripe_payment_intent_id = ? AND status = 'succeeded'"
                            + " AND delivery_withheld_at IS NOT NULL",
                        pi)
                    == 1
                && "pending_payment".equals(world.listingStatus(listing)));
  }
}
