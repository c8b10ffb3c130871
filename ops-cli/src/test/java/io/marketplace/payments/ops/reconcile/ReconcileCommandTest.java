package io.marketplace.payments.ops.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import com.stripe.StripeClient;
import com.stripe.param.PaymentIntentCreateParams;
import com.stripe.param.RefundCreateParams;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.kafka.RecordHeaders;
import io.marketplace.payments.common.stripe.StripeEvent;
import io.marketplace.payments.ops.Cli;
import io.marketplace.payments.ops.PaymentsWorld;
import io.marketplace.payments.refunds.RefundWorker;
import io.marketplace.payments.stripeemulator.StripeEmulator;
import io.marketplace.payments.stripeemulator.http.ApiFaults;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.marketplace.payments.testsupport.TestInfra;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code payments reconcile} against the Stripe emulator, the real database and broker, and the
 * real payment processor applying the repairs. Each test has an emulator, a database, topics and a
 * processor of its own, so what Stripe lists and what the database holds are that test's: a row of
 * another test's PaymentIntent is one this test's Stripe does not have ({@code not_at_stripe}).
 */
class ReconcileCommandTest {

  private final PaymentsWorld world = new PaymentsWorld();
  private StripeEmulator emulator;
  private StripeClient stripe;
  private Cli cli;

  @BeforeEach
  void startProcessorAndStripe() {
    world.startProcessor();
    emulator = StripeEmulator.start(StripeEmulator.Config.defaults());
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

  @Test
  void shouldReportAndRestoreListingActivationDeletedBehindTheSystemsBack() throws Exception {
    // Given a posting fee paid and applied: the listing is active and announced
    UUID listing = world.pendingListing();
    String pi = world.paidAtStripe(stripe, listing, "posting_fee", 500);
    world.paymentRow(pi, listing, "posting_fee", 500);
    world.deliver("payment_intent.succeeded", emulator.object(pi).orElseThrow());
    world.awaitListingStatus(listing, "active");
    List<String> announced = awaitAnnouncements(listing, 2);

    // And its activation deleted from the database behind the system's back
    world.db.execute(
        "UPDATE marketplace_listings SET status = 'pending_payment', activated_at = NULL,"
            + " expires_at = NULL WHERE id = ?",
        listing);

    // When the operator reconciles
    Cli.Result report =
        cli.run(
            "reconcile", "--since", "1h", "--dry-run", "--payment-consumer", world.processorGroup);

    // Then it reports the listing, and repairs nothing by itself
    assertThat(report.exitCode()).as(report.toString()).isZero();
    assertThat(lineOf(report.out(), pi))
        .contains("listing_not_active")
        .contains(listing.toString())
        .contains("evt_reconcile_" + pi + "_succeeded");
    assertThat(report.out()).contains("run again without --dry-run");
    assertThat(reconciledRecords(pi)).isEmpty();
    assertThat(world.listingStatus(listing)).isEqualTo("pending_payment");

    // When it applies the repair
    Cli.Result apply = cli.run(world.reconcileAndApply("1h", "30s"));

    // Then the processor restores the activation, and announces no new event id
    assertThat(apply.exitCode()).as(apply.toString()).isZero();
    assertThat(apply.out()).contains("published evt_reconcile_" + pi + "_succeeded");
    world.awaitListingStatus(listing, "active");
    // (the repair may announce the activation again, under its first id)
    assertThat(world.paymentEvents(listing.toString()).stream().distinct())
        .containsExactlyInAnyOrderElementsOf(announced);
    Cli.Result after =
        cli.run(
            "reconcile", "--since", "1h", "--dry-run", "--payment-consumer", world.processorGroup);
    assertThat(after.out()).doesNotContain(pi);
  }

  @Test
  void shouldLeaveToAPersonAMissingActivationWhosePaymentWentBackInFull() throws Exception {
    // Given a posting fee paid and applied, its activation lost, and the fee refunded in full
    // since (the owner complained that the listing never went live)
    UUID listing = world.pendingListing();
    String pi = world.paidAtStripe(stripe, listing, "posting_fee", 500);
    world.paymentRow(pi, listing, "posting_fee", 500);
    world.deliver("payment_intent.succeeded", emulator.object(pi).orElseThrow());
    world.awaitListingStatus(listing, "active");
    world.db.execute(
        "UPDATE marketplace_listings SET status = 'pending_payment', activated_at = NULL,"
            + " expires_at = NULL WHERE id = ?",
        listing);
    String refund = (String) emulator.refundOutsideSystem(pi, null).get("id");
    world.db.execute(
        """
        INSERT INTO payment_refunds
            (id, user_id, listing_id, stripe_payment_intent_id, stripe_refund_id, amount_cents,
             reason, status, processed_at)
        VALUES (?, ?, ?, ?, ?, 500, 'user_request', 'processed', now())
        """,
        UUID.randomUUID(),
        world.ownerOf(listing),
        listing,
        pi,
        refund);

    // When the operator reconciles and applies
    Cli.Result apply =
        cli.run("reconcile", "--since", "1h", "--payment-consumer", world.processorGroup);

    // Then the listing is named for a person, nothing is published, it stays unpaid-for, and the
    // command does not say it is done
    assertThat(apply.exitCode()).as(apply.toString()).isEqualTo(1);
    assertThat(apply.err()).contains("1 findings need a person");
    assertThat(lineOf(apply.out(), pi))
        .contains("listing_not_active")
        .contains("went back in full")
        .contains("needs a person");
    assertThat(apply.out()).doesNotContain("published evt_reconcile_" + pi);
    assertThat(world.listingStatus(listing)).isEqualTo("pending_payment");
  }

  /**
   * A dashboard refund recorded before the payment's success was applied: the processor held the
   * posting fee back, the customer has the money. That is where the payment ends whichever worker
   * learnt of the money first (the processor takes back an activation made after it), not a listing
   * for a person.
   */
  @Test
  void shouldReportNothingForAPostingFeeHeldBackWhileAllOfItsMoneyIsGone() throws Exception {
    // Given a posting fee refunded in full from Stripe's dashboard, the refund recorded by the
    // refund worker before the processor applied the payment's success
    UUID listing = world.pendingListing();
    String pi = world.paidAtStripe(stripe, listing, "posting_fee", 500);
    world.paymentRow(pi, listing, "posting_fee", 500);
    String refund = (String) emulator.refundOutsideSystem(pi, null).get("id");
    world.db.execute(
        """
        INSERT INTO payment_refunds
            (id, user_id, listing_id, stripe_payment_intent_id, stripe_refund_id, amount_cents,
             reason, status, processed_at)
        VALUES (?, ?, ?, ?, ?, 500, 'user_request', 'processed', now())
        """,
        UUID.randomUUID(),
        world.ownerOf(listing),
        listing,
        pi,
        refund);
    world.deliver("payment_intent.succeeded", emulator.object(pi).orElseThrow());
    Await.until(
        PaymentsWorld.WAIT,
        "the posting fee of " + pi + " held back",
        () ->
            world.db.count(
                    "payments WHERE stripe_payment_intent_id = ? AND status = 'succeeded'"
                        + " AND delivery_withheld_at IS NOT NULL",
                    pi)
                == 1);

    // When the operator reconciles and applies
    Cli.Result apply =
        cli.run("reconcile", "--since", "1h", "--payment-consumer", world.processorGroup);

    // Then nothing is left to do: the listing waits for payment, the customer has the money
    assertThat(apply.exitCode()).as(apply.toString()).isZero();
    assertThat(apply.out()).as(apply.toString()).doesNotContain(pi);
    assertThat(world.listingStatus(listing)).isEqualTo("pending_payment");
  }

  @Test
  void shouldFindTheMissingDeliveryOfAPaymentIntentCreatedBeforeTAndPaidSince() throws Exception {
    // Given a PaymentIntent created three hours ago (an emulator whose clock runs three hours
    // behind) and paid since, recorded succeeded by a release that did not activate the listing
    try (StripeEmulator earlier = threeHoursBehind()) {
      StripeClient earlierStripe = clientOf(earlier);
      UUID listing = world.pendingListing();
      String pi = world.paidAtStripe(earlierStripe, listing, "posting_fee", 500);
      world.paymentRow(pi, listing, "posting_fee", 500);
      world.db.execute(
          "UPDATE payments SET status = 'succeeded', succeeded_at = now()"
              + " WHERE stripe_payment_intent_id = ?",
          pi);

      // When the operator reconciles from the bad release on, an hour ago
      Cli.Result report =
          world
              .cli()
              .stripe(earlier.baseUrl(), earlier.secretKey())
              .run(
                  "reconcile",
                  "--since",
                  "1h",
                  "--dry-run",
                  "--payment-consumer",
                  world.processorGroup);

      // Then the listing is a finding, with its repair
      assertThat(report.exitCode()).as(report.toString()).isZero();
      assertThat(lineOf(report.out(), pi))
          .contains("listing_not_active")
          .contains("evt_reconcile_" + pi + "_succeeded");
    }
  }

  /**
   * A featured week paid for a listing that expired meanwhile is refused, and the processor asks
   * the refund worker for an automatic refund. When that ask is lost (deleted by the internal
   * topic's retention while the refund worker was down), reconcile finds a paid promotion with
   * neither its week nor its refund, and its repair has the processor ask for the refund again, as
   * the runbook says: the customer, who got nothing, gets the money back.
   */
  @Test
  void shouldHaveTheRefundOfAFeaturedWeekRefusedOnAnExpiredListingAskedAgainWhenItsAskWasLost()
      throws Exception {
    // Given a listing that expired yesterday, and a featured week its owner paid for since
    UUID listing = world.pendingListing();
    world.db.execute(
        "UPDATE marketplace_listings SET status = 'expired', activated_at = ?, expires_at = ?"
            + " WHERE id = ?",
        Instant.now().minus(Duration.ofDays(31)),
        Instant.now().minus(Duration.ofDays(1)),
        listing);
    String pi = world.paidAtStripe(stripe, listing, "promotion_featured", 500);
    world.paymentRow(pi, listing, "promotion_featured", 500);

    // And the processor refused the week and asked for its refund, an ask the refund worker
    // never read: retention deleted it while the worker was down
    world.deliver("payment_intent.succeeded", emulator.object(pi).orElseThrow());
    ConsumerRecord<String, byte[]> ask =
        world.kafka.awaitRecord(
            world.topics.refundCommands(), r -> pi.equals(r.key()), PaymentsWorld.WAIT);
    deleteRecordsUpTo(ask);

    // When the operator reconciles, with the refund worker running
    try (RefundWorker refunds = world.startRefundWorker(emulator, stripe)) {
      Cli.Result apply =
          cli.run("reconcile", "--since", "1h", "--payment-consumer", world.processorGroup);
      assertThat(apply.exitCode()).as(apply.toString()).isZero();
      assertThat(lineOf(apply.out(), pi)).contains("promotion_missing");

      // Then the paid, undelivered week is refunded in full, as a technical failure
      Await.until(
          PaymentsWorld.WAIT,
          "a refund record of " + pi + ", whose featured week went out to nobody",
          () -> world.db.count("payment_refunds WHERE stripe_payment_intent_id = ?", pi) > 0);
    }
    assertThat(
            world
                .db
                .row(
                    "SELECT reason, amount_cents FROM payment_refunds"
                        + " WHERE stripe_payment_intent_id = ?",
                    pi)
                .orElseThrow())
        .containsEntry("reason", "technical_failure")
        .containsEntry("amount_cents", 500);
    // And the week is still not delivered, and reconcile finds nothing left to do
    assertThat(world.db.count("listing_promotions WHERE stripe_payment_intent_id = ?", pi))
        .isZero();
    Cli.Result after =
        cli.run(
            "reconcile", "--since", "1h", "--dry-run", "--payment-consumer", world.processorGroup);
    assertThat(after.out()).as(after.toString()).doesNotContain(pi);
  }

  /**
   * A posting fee paid while its listing was being rejected, whose success never reached us: the
   * repair has the processor apply it, find the listing rejected and ask for its automatic refund.
   * Nothing is left to a person: told to refund it by hand, an operator would do the refund
   * worker's work, and the run would fail for a difference its own repair settles.
   */
  @Test
  void shouldLeaveToItsRepairNotToAPersonAPostingFeeNotYetAppliedForAListingRejectedMeanwhile()
      throws Exception {
    // Given a posting fee paid at Stripe, its webhook lost, and its listing rejected meanwhile
    UUID listing = world.pendingListing();
    String pi = world.paidAtStripe(stripe, listing, "posting_fee", 500);
    world.paymentRow(pi, listing, "posting_fee", 500);
    world.db.execute("UPDATE marketplace_listings SET status = 'rejected' WHERE id = ?", listing);

    // When the operator reconciles, with the refund worker running
    try (RefundWorker refunds = world.startRefundWorker(emulator, stripe)) {
      Cli.Result apply =
          cli.run("reconcile", "--since", "1h", "--payment-consumer", world.processorGroup);

      // Then it publishes the payment's success, and names nothing for a person
      assertThat(apply.exitCode()).as(apply.toString()).isZero();
      assertThat(apply.out())
          .contains("published evt_reconcile_" + pi + "_succeeded")
          .doesNotContain("needs a person");

      // And the processor, finding the listing rejected, has the payment refunded
      Await.until(
          PaymentsWorld.WAIT,
          "a refund record of " + pi,
          () -> world.db.count("payment_refunds WHERE stripe_payment_intent_id = ?", pi) > 0);
    }
    assertThat(
            world
                .db
                .row(
                    "SELECT reason, amount_cents FROM payment_refunds"
                        + " WHERE stripe_payment_intent_id = ?",
                    pi)
                .orElseThrow())
        .containsEntry("reason", "technical_failure")
        .containsEntry("amount_cents", 500);
    Cli.Result after =
        cli.run(
            "reconcile", "--since", "1h", "--dry-run", "--payment-consumer", world.processorGroup);
    assertThat(after.out()).as(after.toString()).doesNotContain(pi);
  }

  /**
   * {@code --wait} waits until the workers applied the repairs, and some repairs take two of them:
   * the processor applies a success it cannot deliver and asks the refund worker for the refund.
   * Between the two, the payment looks delivered to nobody and refunded by nobody; that is no
   * difference for a person, nor a repair that failed, while the refund worker has yet to act.
   */
  @Test
  void shouldWaitForTheRefundWorkerToRefundAPaymentTheProcessorCouldNotDeliver() throws Exception {
    // Given a posting fee paid at Stripe, its webhook lost, and its listing rejected meanwhile
    UUID listing = world.pendingListing();
    String pi = world.paidAtStripe(stripe, listing, "posting_fee", 500);
    world.paymentRow(pi, listing, "posting_fee", 500);
    world.db.execute("UPDATE marketplace_listings SET status = 'rejected' WHERE id = ?", listing);

    // When the operator reconciles and waits, while the refund worker is still starting: it
    // starts once the processor applied the repair
    CompletableFuture<Cli.Result> apply =
        CompletableFuture.supplyAsync(() -> cli.run(world.reconcileAndApply("1h", "30s")));
    Await.until(
        PaymentsWorld.WAIT,
        "the processor to apply the success of " + pi,
        () ->
            world.db.count(
                    "payments WHERE stripe_payment_intent_id = ? AND status = 'succeeded'", pi)
                > 0);
    Cli.Result result;
    try (RefundWorker refunds = world.startRefundWorker(emulator, stripe)) {
      result = apply.get(60, TimeUnit.SECONDS);
    }

    // Then the run waits for the refund and ends done, naming nothing for a person
    assertThat(result.exitCode()).as(result.toString()).isZero();
    assertThat(result.out()).doesNotContain("needs a person");
    assertThat(world.db.count("payment_refunds WHERE stripe_payment_intent_id = ?", pi))
        .isEqualTo(1);
  }

  @Test
  void shouldSayInOneLineThatKafkaDidNotAnswerWhenPublishingRepairs() throws Exception {
    // Given a payment whose webhook never arrived, and a Kafka that does not answer, waited for
    // 3 s
    UUID listing = world.pendingListing();
    String pi = world.paidAtStripe(stripe, listing, "posting_fee", 500);
    world.paymentRow(pi, listing, "posting_fee", 500);
    String kafka = "127.0.0.1:" + Cli.closedPort();

    // When the operator reconciles
    Cli.Result apply =
        cli.set("KAFKA_BOOTSTRAP_SERVERS", kafka)
            .set("KAFKA_COMMAND_TIMEOUT", "3s")
            .run("reconcile", "--since", "1h", "--payment-consumer", world.processorGroup);

    // Then it reports what it found, and says in one line that nothing was published, and why
    assertThat(apply.exitCode()).as(apply.toString()).isEqualTo(1);
    assertThat(apply.out()).containsPattern("payment_not_recorded\\s+" + pi);
    assertThat(apply.err().strip().lines().toList().getLast())
        .isEqualTo(
            "payments reconcile: Kafka at "
                + kafka
                + " did not answer within 3 s (nothing published): is KAFKA_BOOTSTRAP_SERVERS"
                + " right, and is Kafka running?");
    assertThat(apply.err()).doesNotContain("Exception");
  }

  @Test
  void shouldApplyPaymentWhoseWebhookNeverArrived() throws Exception {
    // Given a PaymentIntent that succeeded at Stripe, whose event never reached us
    UUID listing = world.pendingListing();
    String pi = world.paidAtStripe(stripe, listing, "posting_fee", 500);
    world.paymentRow(pi, listing, "posting_fee", 500);

    // When
    Cli.Result apply = cli.run(world.reconcileAndApply("1h", "30s"));

    // Then both findings are repaired by one Stripe-shaped event through the processor
    assertThat(apply.exitCode()).as(apply.toString()).isZero();
    assertThat(apply.out())
        .containsPattern("payment_not_recorded\\s+" + pi)
        .containsPattern("listing_not_active\\s+" + pi);
    world.awaitListingStatus(listing, "active");
    assertThat(
            world
                .db
                .row("SELECT status FROM payments WHERE stripe_payment_intent_id = ?", pi)
                .orElseThrow())
        .containsEntry("status", "succeeded");
    List<ConsumerRecord<String, byte[]>> published = reconciledRecords(pi);
    assertThat(published).hasSize(1);
    ConsumerRecord<String, byte[]> record = published.getFirst();
    assertThat(record.key()).isEqualTo(pi);
    assertThat(KafkaTestClient.headers(record))
        .containsEntry(RecordHeaders.STRIPE_EVENT_ID, "evt_reconcile_" + pi + "_succeeded")
        .containsEntry(RecordHeaders.STRIPE_EVENT_TYPE, "payment_intent.succeeded")
        .containsKey(RecordHeaders.RECEIVED_AT)
        .containsEntry("reconciled", "true");
    StripeEvent event = StripeEvent.parse(record.value());
    assertThat(event.type()).isEqualTo("payment_intent.succeeded");
    assertThat(event.paymentIntentId()).contains(pi);
    assertThat(event.metadata("listing_id")).contains(listing.toString());
    assertThat(event.field("status").asText()).isEqualTo("succeeded");
  }

  @Test
  void shouldHaveRefundWorkerRecordRefundThatStripeHasAndWeLack() throws Exception {
    // Given a paid, applied posting fee, refunded in Stripe's dashboard while its event was lost
    UUID listing = world.pendingListing();
    String pi = world.paidAtStripe(stripe, listing, "posting_fee", 500);
    world.paymentRow(pi, listing, "posting_fee", 500);
    world.deliver("payment_intent.succeeded", emulator.object(pi).orElseThrow());
    world.awaitListingStatus(listing, "active");
    String refund = (String) emulator.refundOutsideSystem(pi, null).get("id");

    // When the operator reconciles, then applies with the refund worker running
    Cli.Result report = cli.run("reconcile", "--since", "1h", "--dry-run");
    Cli.Result apply;
    try (RefundWorker refunds = world.startRefundWorker(emulator, stripe)) {
      apply = cli.run("reconcile", "--since", "1h", "--wait", "30s");
    }

    // Then the report names the refund, and the refund worker records it from the published event
    assertThat(report.exitCode()).as(report.toString()).isZero();
    assertThat(lineOf(report.out(), refund))
        .contains("refund_missing")
        .contains(pi)
        .contains("evt_reconcile_" + refund + "_refund");
    assertThat(apply.exitCode()).as(apply.toString()).isZero();
    assertThat(
            world
                .db
                .row(
                    "SELECT status, amount_cents, stripe_payment_intent_id FROM payment_refunds"
                        + " WHERE stripe_refund_id = ?",
                    refund)
                .orElseThrow())
        .containsEntry("status", "processed")
        .containsEntry("amount_cents", 500)
        .containsEntry("stripe_payment_intent_id", pi);
    ConsumerRecord<String, byte[]> record =
        world.kafka.awaitRecord(
            world.topics.stripeEvents(),
            r ->
                KafkaTestClient.header(r, RecordHeaders.STRIPE_EVENT_ID)
                    .orElse("")
                    .equals("evt_reconcile_" + refund + "_refund"),
            PaymentsWorld.WAIT);
    assertThat(record.key()).isEqualTo(pi);
    StripeEvent event = StripeEvent.parse(record.value());
    assertThat(event.type()).isEqualTo("refund.created");
    assertThat(event.objectId()).isEqualTo(refund);
    assertThat(event.paymentIntentId()).contains(pi);
  }

  /**
   * A refund made at Stripe on one payment whose metadata names our refund record of another
   * payment (metadata copied from another refund, or written by hand in the dashboard). The refund
   * worker takes a refund for our record only when it is of the record's own PaymentIntent, and
   * records this one as a refund of the payment it was made on: reconcile repairs it so, and does
   * not send it to a person as our record's refund.
   */
  @Test
  void shouldHaveRefundWorkerRecordARefundWhoseMetadataNamesOurRefundOfAnotherPayment()
      throws Exception {
    // Given two paid, applied posting fees; the owner of the first asked for a refund, which an
    // admin rejected; the second is refunded at Stripe under the metadata of that request, and its
    // event is lost
    UUID first = world.pendingListing();
    String firstPi = world.paidAtStripe(stripe, first, "posting_fee", 500);
    world.paymentRow(firstPi, first, "posting_fee", 500);
    world.deliver("payment_intent.succeeded", emulator.object(firstPi).orElseThrow());
    UUID second = world.pendingListing();
    String secondPi = world.paidAtStripe(stripe, second, "posting_fee", 500);
    world.paymentRow(secondPi, second, "posting_fee", 500);
    world.deliver("payment_intent.succeeded", emulator.object(secondPi).orElseThrow());
    world.awaitListingStatus(first, "active");
    world.awaitListingStatus(second, "active");
    UUID request = UUID.randomUUID();
    world.db.execute(
        """
        INSERT INTO payment_refunds
            (id, user_id, listing_id, stripe_payment_intent_id, amount_cents, reason, status)
        VALUES (?, ?, ?, ?, 500, 'user_request', 'rejected')
        """,
        request,
        world.ownerOf(first),
        first,
        firstPi);
    String refund =
        stripe
            .v1()
            .refunds()
            .create(
                RefundCreateParams.builder()
                    .setPaymentIntent(secondPi)
                    .putMetadata("refund_id", request.toString())
                    .build())
            .getId();

    // When the operator reconciles with the refund worker running
    Cli.Result apply;
    try (RefundWorker refunds = world.startRefundWorker(emulator, stripe)) {
      apply = cli.run("reconcile", "--since", "1h", "--wait", "30s");
    }

    // Then the refund is repaired as one of the second payment, and the rejected request stays
    assertThat(apply.exitCode()).as(apply.toString()).isZero();
    assertThat(lineOf(apply.out(), refund)).contains("refund_missing").contains(secondPi);
    assertThat(
            world
                .db
                .row(
                    "SELECT status, stripe_payment_intent_id FROM payment_refunds"
                        + " WHERE stripe_refund_id = ?",
                    refund)
                .orElseThrow())
        .containsEntry("status", "processed")
        .containsEntry("stripe_payment_intent_id", secondPi);
    assertThat(
            world
                .db
                .row("SELECT status, stripe_refund_id FROM payment_refunds WHERE id = ?", request)
                .orElseThrow())
        .containsEntry("status", "rejected")
        .containsEntry("stripe_refund_id", null);
  }

  @Test
  void shouldFindTheLostFailureOfARefundMadeBeforeT() throws Exception {
    // Given a refund Stripe made three hours ago, recorded processed, which the card network
    // failed since, its refund.failed lost (an emulator whose clock runs three hours behind)
    try (StripeEmulator earlier = threeHoursBehind()) {
      StripeClient earlierStripe = clientOf(earlier);
      UUID listing = world.pendingListing();
      String pi = world.paidAtStripe(earlierStripe, listing, "posting_fee", 500);
      String refund =
          earlierStripe
              .v1()
              .refunds()
              .create(RefundCreateParams.builder().setPaymentIntent(pi).setAmount(200L).build())
              .getId();
      world.db.execute(
          """
          INSERT INTO payment_refunds
              (id, user_id, listing_id, stripe_payment_intent_id, stripe_refund_id, amount_cents,
               reason, status, processed_at)
          VALUES (?, ?, ?, ?, ?, 200, 'user_request', 'processed', now())
          """,
          UUID.randomUUID(),
          world.ownerOf(listing),
          listing,
          pi,
          refund);
      earlier.failRefund(refund);

      // When the operator reconciles the last hour, as the runbook says for a lost failure
      Cli.Result report =
          world
              .cli()
              .stripe(earlier.baseUrl(), earlier.secretKey())
              .run("reconcile", "--since", "1h", "--dry-run");

      // Then the failure is a finding, with its repair, though Stripe made the refund before T
      assertThat(report.exitCode()).as(report.toString()).isZero();
      assertThat(lineOf(report.out(), refund))
          .contains("refund_failed_not_recorded")
          .contains("evt_reconcile_" + refund + "_refund_failed");
    }
  }

  @Test
  void shouldHaveRefundWorkerRecordADisputeAndItsOutcomeWhoseEventsWereLost() throws Exception {
    // Given a paid, applied posting fee whose customer disputed it, the dispute's events lost
    UUID listing = world.pendingListing();
    String pi = world.paidAtStripe(stripe, listing, "posting_fee", 500);
    world.paymentRow(pi, listing, "posting_fee", 500);
    world.deliver("payment_intent.succeeded", emulator.object(pi).orElseThrow());
    world.awaitListingStatus(listing, "active");
    String dispute = emulator.openDispute(pi);

    // When the operator reconciles, then applies with the refund worker running
    Cli.Result report = cli.run("reconcile", "--since", "1h", "--dry-run");
    Cli.Result opened;
    Cli.Result closed;
    try (RefundWorker refunds = world.startRefundWorker(emulator, stripe)) {
      opened = cli.run("reconcile", "--since", "1h", "--wait", "30s");
      // and again once the dispute is won, its closing event lost too
      emulator.closeDispute(dispute, "won");
      closed = cli.run("reconcile", "--since", "1h", "--wait", "30s");
    }

    // Then the report names the dispute, and the refund worker records it, then its outcome
    assertThat(report.exitCode()).as(report.toString()).isZero();
    assertThat(lineOf(report.out(), dispute))
        .contains("dispute_not_recorded")
        .contains(pi)
        .contains("evt_reconcile_" + dispute + "_dispute_needs_response");
    assertThat(opened.exitCode()).as(opened.toString()).isZero();
    assertThat(closed.exitCode()).as(closed.toString()).isZero();
    assertThat(lineOf(closed.out(), dispute))
        .contains("dispute_outcome_not_recorded")
        .contains("evt_reconcile_" + dispute + "_dispute_won");
    assertThat(
            world
                .db
                .row(
                    "SELECT status, stripe_payment_intent_id FROM payment_disputes"
                        + " WHERE stripe_dispute_id = ?",
                    dispute)
                .orElseThrow())
        .containsEntry("status", "won")
        .containsEntry("stripe_payment_intent_id", pi);
    assertThat(
            world.db.count(
                "payment_refunds WHERE stripe_dispute_id = ? AND reason = 'chargeback'", dispute))
        .isOne();
  }

  /**
   * An inquiry moves no money and counts toward no ban; the issuer may escalate it to a chargeback
   * under the same dispute id. Our record of the inquiry exists, so when the escalation's events
   * are lost, what differs is not the dispute's existence nor an outcome (it is open) but that the
   * money went back: reconcile must repair that too.
   */
  @Test
  void shouldHaveRefundWorkerRecordTheChargebackAnInquiryEscalatedToWhoseEventsWereLost()
      throws Exception {
    // Given a paid, applied posting fee whose inquiry the refund worker recorded
    UUID listing = world.pendingListing();
    String pi = world.paidAtStripe(stripe, listing, "posting_fee", 500);
    world.paymentRow(pi, listing, "posting_fee", 500);
    world.deliver("payment_intent.succeeded", emulator.object(pi).orElseThrow());
    world.awaitListingStatus(listing, "active");
    String dispute = emulator.openDisputeInquiry(pi);
    Cli.Result inquiry;
    Cli.Result escalated;
    try (RefundWorker refunds = world.startRefundWorker(emulator, stripe)) {
      inquiry = cli.run("reconcile", "--since", "1h", "--wait", "30s");
      assertThat(inquiry.exitCode()).as(inquiry.toString()).isZero();
      assertThat(disputeRow(dispute)).containsEntry("is_inquiry", true);

      // When the issuer escalates it to a chargeback, its events lost too, and the operator
      // reconciles
      emulator.escalateDispute(dispute);
      escalated = cli.run("reconcile", "--since", "1h", "--wait", "30s");
    }

    // Then the report names the escalation, and the refund worker records the chargeback: the
    // money gone back, counted once
    assertThat(escalated.exitCode()).as(escalated.toString()).isZero();
    assertThat(lineOf(escalated.out(), dispute))
        .contains("dispute_escalation_not_recorded")
        .contains("evt_reconcile_" + dispute + "_dispute_needs_response");
    assertThat(disputeRow(dispute))
        .containsEntry("is_inquiry", false)
        .containsEntry("status", "needs_response");
    assertThat(
            world.db.count(
                "payment_refunds WHERE stripe_dispute_id = ? AND reason = 'chargeback'"
                    + " AND amount_cents = 500",
                dispute))
        .isOne();
  }

  /**
   * An inquiry closed without a chargeback may still escalate to one under the same id. Closed in
   * our records and opened before T, it is neither listed by Stripe since T nor open in the
   * database, yet the escalation took the money back.
   */
  @Test
  void shouldRepairTheEscalationOfAnInquiryClosedBeforeT() throws Exception {
    // Given a paid, applied posting fee whose inquiry was opened and closed, both recorded
    UUID listing = world.pendingListing();
    String pi = world.paidAtStripe(stripe, listing, "posting_fee", 500);
    world.paymentRow(pi, listing, "posting_fee", 500);
    world.deliver("payment_intent.succeeded", emulator.object(pi).orElseThrow());
    world.awaitListingStatus(listing, "active");
    String dispute = emulator.openDisputeInquiry(pi);
    emulator.closeDispute(dispute, "warning_closed");
    Instant since =
        Instant.ofEpochSecond(stripe.v1().disputes().retrieve(dispute).getCreated() + 1);
    Cli.Result escalated;
    try (RefundWorker refunds = world.startRefundWorker(emulator, stripe)) {
      Cli.Result recorded = cli.run("reconcile", "--since", "1h", "--wait", "30s");
      assertThat(recorded.exitCode()).as(recorded.toString()).isZero();
      assertThat(disputeRow(dispute)).containsEntry("status", "warning_closed");

      // When the issuer escalates it, its events lost, and the operator reconciles since a time
      // after the inquiry was opened
      emulator.escalateDispute(dispute);
      Await.until(Duration.ofSeconds(5), () -> Instant.now().isAfter(since));
      escalated = cli.run("reconcile", "--since", since.toString(), "--wait", "30s");
    }

    // Then the chargeback is repaired and recorded
    assertThat(escalated.exitCode()).as(escalated.toString()).isZero();
    assertThat(lineOf(escalated.out(), dispute)).contains("dispute_escalation_not_recorded");
    assertThat(disputeRow(dispute))
        .containsEntry("is_inquiry", false)
        .containsEntry("status", "needs_response");
    assertThat(
            world.db.count(
                "payment_refunds WHERE stripe_dispute_id = ? AND reason = 'chargeback'", dispute))
        .isOne();
  }

  /**
   * The card network may change a chargeback's amount after it opened, told by the dispute's later
   * events; the refund worker records the new amount as what went back. When those events are lost,
   * the status matches and only the amount differs: reconcile must repair it, under an id of its
   * own (the status-only repair was applied already), and an inquiry's amount, which counts for
   * nothing, is no difference.
   */
  @Test
  void shouldHaveRefundWorkerRecordTheAmountAChargebackWasCutToWhoseEventsWereLost()
      throws Exception {
    // Given a paid, applied posting fee charged back, and another under inquiry, both recorded
    // by reconcile's status repairs
    UUID listing = world.pendingListing();
    String pi = world.paidAtStripe(stripe, listing, "posting_fee", 500);
    world.paymentRow(pi, listing, "posting_fee", 500);
    world.deliver("payment_intent.succeeded", emulator.object(pi).orElseThrow());
    world.awaitListingStatus(listing, "active");
    String dispute = emulator.openDispute(pi);
    UUID asked = world.pendingListing();
    String askedPi = world.paidAtStripe(stripe, asked, "posting_fee", 500);
    world.paymentRow(askedPi, asked, "posting_fee", 500);
    world.deliver("payment_intent.succeeded", emulator.object(askedPi).orElseThrow());
    world.awaitListingStatus(asked, "active");
    String inquiry = emulator.openDisputeInquiry(askedPi);
    Cli.Result report;
    Cli.Result applied;
    Cli.Result again;
    try (RefundWorker refunds = world.startRefundWorker(emulator, stripe)) {
      Cli.Result recorded = cli.run("reconcile", "--since", "1h", "--wait", "30s");
      assertThat(recorded.exitCode()).as(recorded.toString()).isZero();
      assertThat(chargebackCents(dispute)).isEqualTo(500);

      // When the card network cuts the chargeback to 300 and the inquiry to 200, their events
      // lost, and the operator reconciles, then reconciles again
      emulator.changeDisputeAmount(dispute, 300);
      emulator.changeDisputeAmount(inquiry, 200);
      report = cli.run("reconcile", "--since", "1h", "--dry-run");
      applied = cli.run("reconcile", "--since", "1h", "--wait", "30s");
      again = cli.run("reconcile", "--since", "1h", "--wait", "30s");
    }

    // Then the report names the chargeback's amount, and the refund worker records it, once
    assertThat(report.exitCode()).as(report.toString()).isZero();
    assertThat(lineOf(report.out(), dispute))
        .contains("dispute_amount_differs")
        .contains(pi)
        .contains("evt_reconcile_" + dispute + "_dispute_needs_response_amount_300")
        .contains("300 cents; ours for 500");
    assertThat(report.out()).doesNotContain(inquiry).doesNotContain(askedPi);
    assertThat(applied.exitCode()).as(applied.toString()).isZero();
    assertThat(applied.out())
        .contains(
            "published evt_reconcile_"
                + dispute
                + "_dispute_needs_response_amount_300 (charge.dispute.updated)");
    assertThat(chargebackCents(dispute)).isEqualTo(300);
    assertThat(disputeCents(dispute)).isEqualTo(300);
    assertThat(again.exitCode()).as(again.toString()).isZero();
    assertThat(again.out()).contains("no differences").doesNotContain("published");
    assertThat(
            reconciledRecords(pi).stream()
                .filter(
                    r ->
                        KafkaTestClient.header(r, RecordHeaders.STRIPE_EVENT_ID)
                            .orElse("")
                            .contains("_amount_"))
                .count())
        .isOne();
  }

  /**
   * A lost chargeback's amount may change too; each amount it changes to is a fact of its own, so
   * an amount it comes back to after a repair is repaired again, under the next generation.
   */
  @Test
  void shouldRepairEachAmountALostChargebackIsChangedToWhoseEventsWereLost() throws Exception {
    // Given a paid, applied posting fee charged back and lost, recorded by reconcile
    UUID listing = world.pendingListing();
    String pi = world.paidAtStripe(stripe, listing, "posting_fee", 500);
    world.paymentRow(pi, listing, "posting_fee", 500);
    world.deliver("payment_intent.succeeded", emulator.object(pi).orElseThrow());
    world.awaitListingStatus(listing, "active");
    String dispute = emulator.openDispute(pi);
    emulator.closeDispute(dispute, "lost");
    Cli.Result cut;
    Cli.Result back;
    Cli.Result cutAgain;
    try (RefundWorker refunds = world.startRefundWorker(emulator, stripe)) {
      Cli.Result recorded = cli.run("reconcile", "--since", "1h", "--wait", "30s");
      assertThat(recorded.exitCode()).as(recorded.toString()).isZero();
      assertThat(disputeRow(dispute)).containsEntry("status", "lost");

      // When the card network changes its amount to 300, back to 500, and to 300 again, each
      // change's events lost, and the operator reconciles after each
      emulator.changeDisputeAmount(dispute, 300);
      cut = cli.run("reconcile", "--since", "1h", "--wait", "30s");
      assertThat(chargebackCents(dispute)).isEqualTo(300);
      emulator.changeDisputeAmount(dispute, 500);
      back = cli.run("reconcile", "--since", "1h", "--wait", "30s");
      assertThat(chargebackCents(dispute)).isEqualTo(500);
      emulator.changeDisputeAmount(dispute, 300);
      cutAgain = cli.run("reconcile", "--since", "1h", "--wait", "30s");
    }

    // Then each is repaired by the dispute closed as it is now, the third as the next generation
    // of the first, and the books hold the last amount
    assertThat(cut.exitCode()).as(cut.toString()).isZero();
    assertThat(cut.out())
        .contains(
            "published evt_reconcile_"
                + dispute
                + "_dispute_lost_amount_300 (charge.dispute.closed)");
    assertThat(back.exitCode()).as(back.toString()).isZero();
    assertThat(back.out())
        .contains("published evt_reconcile_" + dispute + "_dispute_lost_amount_500 ");
    assertThat(cutAgain.exitCode()).as(cutAgain.toString()).isZero();
    assertThat(lineOf(cutAgain.out(), "dispute_amount_differs"))
        .contains("evt_reconcile_" + dispute + "_dispute_lost_amount_300_2");
    assertThat(chargebackCents(dispute)).isEqualTo(300);
    assertThat(disputeCents(dispute)).isEqualTo(300);
    assertThat(disputeRow(dispute)).containsEntry("status", "lost");
  }

  private long chargebackCents(String dispute) {
    return ((Number)
            world
                .db
                .row(
                    "SELECT amount_cents FROM payment_refunds"
                        + " WHERE stripe_dispute_id = ? AND reason = 'chargeback'",
                    dispute)
                .orElseThrow()
                .get("amount_cents"))
        .longValue();
  }

  private long disputeCents(String dispute) {
    return ((Number)
            world
                .db
                .row(
                    "SELECT amount_cents FROM payment_disputes WHERE stripe_dispute_id = ?",
                    dispute)
                .orElseThrow()
                .get("amount_cents"))
        .longValue();
  }

  private Map<String, Object> disputeRow(String dispute) {
    return world
        .db
        .row("SELECT is_inquiry, status FROM payment_disputes WHERE stripe_dispute_id = ?", dispute)
        .orElseThrow();
  }

  /**
   * Stripe names disputes {@code du_...} now and named them {@code dp_...} before, and still gives
   * many that form; the refund worker takes both. A repair carries the dispute as Stripe has it
   * now, which reconcile must fetch as a dispute whatever the form of its id.
   */
  @Test
  void shouldRepairADisputeWhoseIdIsOfTheOlderForm() throws Exception {
    // Given a paid, applied posting fee disputed under an id of the older form, its events lost
    UUID listing = world.pendingListing();
    String pi = world.paidAtStripe(stripe, listing, "posting_fee", 500);
    world.paymentRow(pi, listing, "posting_fee", 500);
    world.deliver("payment_intent.succeeded", emulator.object(pi).orElseThrow());
    world.awaitListingStatus(listing, "active");
    String dispute = emulator.openDisputeWithOlderId(pi);
    assertThat(dispute).startsWith("dp_");

    // When the operator reconciles with the refund worker running
    Cli.Result applied;
    try (RefundWorker refunds = world.startRefundWorker(emulator, stripe)) {
      applied = cli.run("reconcile", "--since", "1h", "--wait", "30s");
    }

    // Then the dispute's repair is published and the refund worker records it
    assertThat(applied.exitCode()).as(applied.toString()).isZero();
    assertThat(applied.out()).contains("published evt_reconcile_" + dispute + "_dispute_");
    assertThat(
            world.db.count(
                "payment_disputes WHERE stripe_dispute_id = ? AND stripe_payment_intent_id = ?",
                dispute,
                pi))
        .isOne();
  }

  @Test
  void shouldNameRefundsThatFailedAtStripeAndAwaitAnAdmin() throws Exception {
    // Given a refund that failed at Stripe an hour ago, neither retried nor closed, and one closed
    UUID open = UUID.randomUUID();
    UUID closed = UUID.randomUUID();
    for (UUID id : java.util.List.of(open, closed)) {
      world.db.execute(
          """
          INSERT INTO payment_refunds
              (id, user_id, stripe_payment_intent_id, amount_cents, reason, status,
               failure_reason, failed_at, closed_at, close_outcome)
          VALUES (?, ?, ?, 500, 'moderation_rejection', 'failed', 'expired_or_canceled_card',
                  now() - interval '1 hour', CASE WHEN ? THEN now() END,
                  CASE WHEN ? THEN 'not_owed' END)
          """,
          id,
          UUID.randomUUID(),
          "pi_failed_" + id.toString().substring(0, 8),
          id.equals(closed),
          id.equals(closed));
    }

    // When the operator reconciles the last day
    Cli.Result report = cli.run("reconcile", "--since", "1d", "--dry-run");

    // Then the open failed refund is a finding for a person, the closed one is not
    assertThat(report.exitCode()).as(report.toString()).isZero();
    assertThat(lineOf(report.out(), open.toString()))
        .contains("refund_failed_open")
        .contains("needs a person")
        .contains("expired_or_canceled_card");
    assertThat(report.out()).doesNotContain(closed.toString());
  }

  @Test
  void shouldPageThroughEveryPaymentIntentAndSkipThoseNotOurs() throws Exception {
    // Given more PaymentIntents than one page holds, one of them paid and not ours
    for (int i = 0; i < 100; i++) {
      stripe
          .v1()
          .paymentIntents()
          .create(
              PaymentIntentCreateParams.builder().setAmount(100L + i).setCurrency("usd").build());
    }
    String foreign =
        stripe
            .v1()
            .paymentIntents()
            .create(
                PaymentIntentCreateParams.builder()
                    .setAmount(4200L)
                    .setCurrency("usd")
                    .setPaymentMethod("pm_card_visa")
                    .setConfirm(true)
                    .build())
            .getId();

    // When
    Cli.Result report = cli.run("reconcile", "--since", "1h", "--dry-run");

    // Then
    assertThat(report.exitCode()).as(report.toString()).isZero();
    assertThat(report.err()).contains("100 PaymentIntents checked");
    assertThat(report.out())
        .containsPattern("checked 1\\d\\d PaymentIntents")
        .contains("succeeded not ours");
    assertThat(report.out()).doesNotContain(foreign);
  }

  @Test
  void shouldWaitOutStripesRateLimitsInsteadOfFailingTheRun() throws Exception {
    // Given a payment whose success the database lacks, and Stripe holding the reconcile's reads
    // off a few times (the account's rate limit is shared with the services at work beside it)
    UUID listing = world.pendingListing();
    String pi = world.paidAtStripe(stripe, listing, "posting_fee", 500);
    world.paymentRow(pi, listing, "posting_fee", 500);
    emulator.failNextApiCalls("GET /v1/payment_intents", 2, ApiFaults.Kind.RATE_LIMIT);
    emulator.failNextApiCalls("GET /v1/charges", 1, ApiFaults.Kind.LOCK_TIMEOUT);
    emulator.failNextApiCalls("GET /v1/refunds", 1, ApiFaults.Kind.RATE_LIMIT);

    // When the operator reconciles
    Cli.Result report = cli.run("reconcile", "--since", "1h", "--dry-run");

    // Then the run waits them out and reports the payment, rather than failing on the first 429
    assertThat(report.exitCode()).as(report.toString()).isZero();
    assertThat(report.err()).doesNotContain("Stripe failed");
    assertThat(lineOf(report.out(), pi)).contains("payment_not_recorded");
  }

  @Test
  void shouldSayInOneLineThatStripeKeptRateLimitingWhenItDoesNotLetUp() throws Exception {
    // Given Stripe holding every listing of PaymentIntents off for longer than the run waits
    emulator.failNextApiCalls("GET /v1/payment_intents", 20, ApiFaults.Kind.RATE_LIMIT);

    // When the operator reconciles
    Cli.Result report = cli.run("reconcile", "--since", "1h", "--dry-run");

    // Then it fails, saying why and what to do, after asking again a few times, not forever
    assertThat(report.exitCode()).as(report.toString()).isOne();
    assertThat(report.err())
        .contains("Stripe kept answering 429 (rate_limit) while listing PaymentIntents")
        .contains("run it again later");
    assertThat(armedApiFailures()).isEqualTo(20 - 6);
  }

  /** How many of the armed API failures the emulator has not answered yet. */
  private int armedApiFailures() throws Exception {
    try (HttpClient http = HttpClient.newHttpClient()) {
      String body =
          http.send(
                  HttpRequest.newBuilder(URI.create(emulator.baseUrl() + "/_emulator/api_failures"))
                      .build(),
                  HttpResponse.BodyHandlers.ofString())
              .body();
      return Json.mapper().readTree(body).path("armed").asInt();
    }
  }

  @Test
  void shouldRefuseTimeInTheFutureInsteadOfReportingNoDifferences() throws Exception {
    // Given a payment that succeeded at Stripe, of which the database has no row at all
    UUID listing = world.pendingListing();
    world.paidAtStripe(stripe, listing, "posting_fee", 500);
    String tomorrow = java.time.Instant.now().plus(java.time.Duration.ofDays(1)).toString();

    // When the operator types a time in the future (a wrong year, a day too far)
    Cli.Result result =
        cli.run(
            "reconcile",
            "--since",
            tomorrow,
            "--dry-run",
            "--payment-consumer",
            world.processorGroup);

    // Then it says so, instead of "no differences" for a database that misses a payment
    assertThat(result.exitCode()).as(result.toString()).isEqualTo(1);
    assertThat(result.err()).contains(tomorrow).contains("in the future");
    assertThat(result.out()).doesNotContain("no differences");
  }

  @Test
  void shouldRepairByDefaultAndRefuseAWrongTopicPrefixOrANegativeLookback() throws Exception {
    // Given a posting fee paid at Stripe whose webhook never reached the processor
    UUID listing = world.pendingListing();
    String pi = world.paidAtStripe(stripe, listing, "posting_fee", 500);
    world.paymentRow(pi, listing, "posting_fee", 500);

    // When the operator types a lookback with a sign, a time that is not one, or runs the
    // command with a topic prefix the workers do not use
    Cli.Result negative = cli.run("reconcile", "--since", "1h", "--refund-lookback", "-90d");
    Cli.Result notATime = cli.run("reconcile", "--since", "yesterday");
    Cli.Result wrongPrefix =
        cli.set("KAFKA_TOPIC_PREFIX", "not-ours.")
            .run("reconcile", "--since", "1h", "--payment-consumer", world.processorGroup);

    // Then each is refused, naming what is wrong, and nothing is repaired
    assertThat(negative.exitCode()).as(negative.toString()).isEqualTo(2);
    assertThat(negative.err()).contains("'-90d' is a negative duration");
    assertThat(notATime.exitCode()).as(notATime.toString()).isEqualTo(2);
    assertThat(notATime.err()).contains("'yesterday' is not a time");
    assertThat(wrongPrefix.exitCode()).as(wrongPrefix.toString()).isEqualTo(1);
    assertThat(wrongPrefix.err())
        .contains("the cluster has no topic not-ours.stripe.events.v1")
        .contains("nothing published");
    assertThat(reconciledRecords(pi)).isEmpty();
    assertThat(world.listingStatus(listing)).isEqualTo("pending_payment");

    // When it runs as SPEC §7 has it: --since only
    Cli.Result repair =
        world
            .cli()
            .stripe(emulator.baseUrl(), emulator.secretKey())
            .run("reconcile", "--since", "1h", "--payment-consumer", world.processorGroup);

    // Then it repairs: the processor applies the payment it missed
    assertThat(repair.exitCode()).as(repair.toString()).isZero();
    assertThat(repair.out()).contains("published evt_reconcile_" + pi + "_succeeded");
    world.awaitListingStatus(listing, "active");
  }

  /**
   * A dry run is the operator's rehearsal: it refuses what the run that publishes would refuse, a
   * topic prefix under which the cluster has no topic for the repairs, and says in one line when
   * Kafka does not answer, after the report.
   */
  @Test
  void shouldRefuseInADryRunTheTopicPrefixTheRepairWouldRefuse() throws Exception {
    // Given a posting fee paid at Stripe whose webhook never reached the processor
    UUID listing = world.pendingListing();
    String pi = world.paidAtStripe(stripe, listing, "posting_fee", 500);
    world.paymentRow(pi, listing, "posting_fee", 500);

    // When the operator rehearses with a topic prefix the workers do not use, and with a Kafka
    // that does not answer
    Cli.Result wrongPrefix =
        world
            .cli()
            .stripe(emulator.baseUrl(), emulator.secretKey())
            .set("KAFKA_TOPIC_PREFIX", "not-ours.")
            .run(
                "reconcile",
                "--since",
                "1h",
                "--dry-run",
                "--payment-consumer",
                world.processorGroup);
    String nobody = "127.0.0.1:" + Cli.closedPort();
    Cli.Result unreachable =
        world
            .cli()
            .stripe(emulator.baseUrl(), emulator.secretKey())
            .set("KAFKA_BOOTSTRAP_SERVERS", nobody)
            .set("KAFKA_COMMAND_TIMEOUT", "2s")
            .run("reconcile", "--since", "1h", "--dry-run");

    // Then each reports what it found, and fails as the run that publishes would, naming the topic
    // and the prefix, or the address Kafka did not answer at, in one line
    assertThat(wrongPrefix.exitCode()).as(wrongPrefix.toString()).isEqualTo(1);
    assertThat(lineOf(wrongPrefix.out(), pi)).contains("evt_reconcile_" + pi + "_succeeded");
    assertThat(wrongPrefix.out()).doesNotContain("run again without --dry-run");
    assertThat(wrongPrefix.err())
        .contains("the cluster has no topic not-ours.stripe.events.v1")
        .contains("KAFKA_TOPIC_PREFIX is \"not-ours.\"")
        .contains("without --dry-run nothing would be published");
    assertThat(unreachable.exitCode()).as(unreachable.toString()).isEqualTo(1);
    assertThat(lineOf(unreachable.out(), pi)).contains("evt_reconcile_" + pi + "_succeeded");
    assertThat(unreachable.err().lines().filter(l -> l.contains("Kafka")).toList())
        .as(unreachable.toString())
        .singleElement()
        .asString()
        .contains("Kafka at " + nobody + " did not answer within 2 s");
    assertThat(unreachable.err()).doesNotContain("\tat ").doesNotContain("Exception");
    assertThat(reconciledRecords(pi)).isEmpty();
  }

  /**
   * {@code --payment-consumer} names the group whose applied repairs reconcile reads: a name no
   * group of the cluster reading the repairs' topic has is a typo, refused before Stripe is read
   * and anything published, naming the groups that read it. The world's own processor group, a
   * custom name, is one of them and works (the other tests use it).
   */
  @Test
  void shouldRefuseUpFrontAConsumerGroupThatDoesNotReadTheRepairsTopic() throws Exception {
    // Given a posting fee paid at Stripe whose webhook never reached the processor
    UUID listing = world.pendingListing();
    String pi = world.paidAtStripe(stripe, listing, "posting_fee", 500);
    world.paymentRow(pi, listing, "posting_fee", 500);
    String typo = world.processorGroup + "x";

    // When the operator mistypes the processor's group, for a repair, a rehearsal, or the refund
    // worker's
    Cli.Result repair =
        cli.run("reconcile", "--since", "1h", "--wait", "30s", "--payment-consumer", typo);
    Cli.Result dryRun =
        cli.run("reconcile", "--since", "1h", "--dry-run", "--payment-consumer", typo);
    Cli.Result refunds =
        cli.run(
            "reconcile",
            "--since",
            "1h",
            "--payment-consumer",
            world.processorGroup,
            "--refund-consumer",
            "refund-wroker");

    // Then each is refused before Stripe is read, naming the group and the groups that read the
    // topic, and nothing is published
    for (Cli.Result result : List.of(repair, dryRun)) {
      assertThat(result.exitCode()).as(result.toString()).isEqualTo(1);
      assertThat(result.err())
          .contains("--payment-consumer " + typo + ": no consumer group " + typo)
          .contains(world.topics.stripeEvents().name())
          .contains(world.processorGroup)
          .contains("nothing read or published");
      assertThat(result.out()).doesNotContain("checked").doesNotContain("published");
    }
    assertThat(refunds.exitCode()).as(refunds.toString()).isEqualTo(1);
    assertThat(refunds.err())
        .contains("--refund-consumer refund-wroker: no consumer group refund-wroker")
        .contains(world.processorGroup);
    assertThat(reconciledRecords(pi)).isEmpty();
    assertThat(world.listingStatus(listing)).isEqualTo("pending_payment");
  }

  @Test
  void shouldNameWhatStripeDoesNotKnowAndFailWhenTheKeyIsOfAnotherAccount() throws Exception {
    // Given a PaymentIntent checkout-api created an hour ago, a refund made and a dispute opened,
    // all under an account other than the one the operator's key opens (a test key against live
    // data, or another account's key)
    UUID listing = world.pendingListing();
    String suffix = UUID.randomUUID().toString().substring(0, 8);
    String pi = "pi_other_account_" + suffix;
    String refund = "re_other_account_" + suffix;
    String dispute = "dp_other_account_" + suffix;
    world.paymentRow(pi, listing, "posting_fee", 500);
    world.db.execute(
        "UPDATE payments SET created_at = now() - interval '1 hour'"
            + " WHERE stripe_payment_intent_id = ?",
        pi);
    world.db.execute(
        """
        INSERT INTO payment_refunds
            (id, user_id, listing_id, stripe_payment_intent_id, stripe_refund_id, amount_cents,
             reason, status, processed_at)
        VALUES (?, ?, ?, ?, ?, 200, 'user_request', 'processed', now() - interval '1 hour')
        """,
        UUID.randomUUID(),
        world.ownerOf(listing),
        listing,
        pi,
        refund);
    world.db.execute(
        """
        INSERT INTO payment_disputes
            (stripe_dispute_id, stripe_payment_intent_id, user_id, amount_cents, status,
             is_inquiry, created_at)
        VALUES (?, ?, ?, 500, 'needs_response', false, now() - interval '1 hour')
        """,
        dispute,
        pi,
        world.ownerOf(listing));

    // and, at the account the key opens, a payment that looks like a missed one of ours (the
    // other account's copy of a listing id, as a staging account's may be)
    UUID foreignListing = world.pendingListing();
    String foreign = world.paidAtStripe(stripe, foreignListing, "posting_fee", 500);

    // When the operator reconciles the last two hours, and previews it
    Cli.Result repair =
        cli.run("reconcile", "--since", "2h", "--payment-consumer", world.processorGroup);
    Cli.Result dryRun =
        cli.run(
            "reconcile", "--since", "2h", "--dry-run", "--payment-consumer", world.processorGroup);

    // Then neither gives an all-clear: each names what Stripe does not know, suspects the key,
    // and fails
    for (Cli.Result result : List.of(repair, dryRun)) {
      assertThat(result.exitCode()).as(result.toString()).isEqualTo(1);
      assertThat(result.out())
          .doesNotContain("no differences")
          .contains(pi)
          .contains(refund)
          .contains(dispute);
      assertThat(result.err()).contains("STRIPE_SECRET_KEY").contains("3 ");
    }
    // and nothing that key shows is published as a repair: under a key no report can be trusted,
    // the listing stays unpaid and the workers were sent nothing
    assertThat(repair.out()).contains(foreign).contains("nothing published");
    assertThat(reconciledRecords(foreign)).isEmpty();
    assertThat(world.db.row("SELECT status FROM marketplace_listings WHERE id = ?", foreignListing))
        .contains(Map.of("status", "pending_payment"));
  }

  @Test
  void shouldExitTwoAndPublishNothingWhenAConsumerGroupIsEmpty() throws Exception {
    // Given a posting fee paid at Stripe whose webhook never reached the processor
    UUID listing = world.pendingListing();
    String pi = world.paidAtStripe(stripe, listing, "posting_fee", 500);
    world.paymentRow(pi, listing, "posting_fee", 500);

    // When a consumer group is given empty (an unset shell variable: --payment-consumer "$GROUP")
    Cli.Result payments = cli.run("reconcile", "--since", "1h", "--payment-consumer", "");
    Cli.Result refunds = cli.run("reconcile", "--since", "1h", "--refund-consumer", " ");

    // Then it is told as wrong usage, and nothing is published
    assertThat(payments.exitCode()).as(payments.toString()).isEqualTo(2);
    assertThat(payments.err()).contains("--payment-consumer is empty");
    assertThat(refunds.exitCode()).as(refunds.toString()).isEqualTo(2);
    assertThat(refunds.err()).contains("--refund-consumer is empty");
    assertThat(reconciledRecords(pi)).isEmpty();
    assertThat(world.listingStatus(listing)).isEqualTo("pending_payment");
  }

  @Test
  void shouldExitTwoNamingTheVariableWhenStripeKeyMissing() {
    // When
    Cli.Result result = world.cli().run("reconcile", "--since", "1h", "--dry-run");

    // Then
    assertThat(result.exitCode()).isEqualTo(2);
    assertThat(result.err()).contains("STRIPE_SECRET_KEY");
  }

  // ---- helpers

  private List<String> awaitAnnouncements(UUID listing, int count) {
    return Await.value(
        PaymentsWorld.WAIT,
        count + " announcements of " + listing,
        () -> {
          List<String> events = world.paymentEvents(listing.toString());
          return events.size() >= count
              ? java.util.Optional.of(events)
              : java.util.Optional.empty();
        });
  }

  private List<ConsumerRecord<String, byte[]>> reconciledRecords(String pi) {
    return world.kafka.readAll(world.topics.stripeEvents()).stream()
        .filter(r -> pi.equals(r.key()))
        .filter(r -> KafkaTestClient.header(r, "reconciled").isPresent())
        .toList();
  }

  /** An emulator whose clock runs three hours behind: what it makes is dated before T = 1h. */
  private static StripeEmulator threeHoursBehind() {
    return StripeEmulator.start(
        StripeEmulator.Config.defaults()
            .withClock(Clock.offset(Clock.systemUTC(), Duration.ofHours(-3))));
  }

  private static StripeClient clientOf(StripeEmulator emulator) {
    return StripeClient.builder()
        .setApiKey(emulator.secretKey())
        .setApiBase(emulator.baseUrl())
        .build();
  }

  /** Deletes {@code record} and what comes before it on its partition, as retention does. */
  private static void deleteRecordsUpTo(ConsumerRecord<String, byte[]> record) {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, TestInfra.kafka().bootstrapServers());
    try (Admin admin = Admin.create(props)) {
      admin
          .deleteRecords(
              Map.of(
                  new TopicPartition(record.topic(), record.partition()),
                  RecordsToDelete.beforeOffset(record.offset() + 1)))
          .all()
          .get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static String lineOf(String output, String text) {
    return output
        .lines()
        .filter(l -> l.contains(text))
        .findFirst()
        .orElse("(no line with " + text + ")\n" + output);
  }
}
