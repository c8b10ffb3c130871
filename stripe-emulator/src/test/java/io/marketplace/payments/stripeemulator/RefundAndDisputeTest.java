package io.marketplace.payments.stripeemulator;

import static io.marketplace.payments.stripeemulator.WebhookReceiver.event;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.stripe.StripeClient;
import com.stripe.exception.InvalidRequestException;
import com.stripe.exception.StripeException;
import com.stripe.model.Charge;
import com.stripe.model.Dispute;
import com.stripe.model.Event;
import com.stripe.model.PaymentIntent;
import com.stripe.model.Refund;
import com.stripe.net.RequestOptions;
import com.stripe.net.Webhook;
import com.stripe.param.PaymentIntentCreateParams;
import com.stripe.param.RefundCreateParams;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Refunds and disputes through stripe-java, and the webhooks they cause, verified as Stripe's. */
class RefundAndDisputeTest {
  private static final String WEBHOOK_SECRET = "whsec_refundAndDisputeTest";
  private static final Duration WAIT = Duration.ofSeconds(10);

  private static WebhookReceiver receiver;
  private static StripeEmulator emulator;
  private static StripeClient stripe;

  @BeforeAll
  static void start() {
    receiver = WebhookReceiver.start();
    emulator =
        StripeEmulator.start(
            StripeEmulator.Config.defaults()
                .withWebhookEndpoint(receiver.url(), WEBHOOK_SECRET)
                .withWebhookRetries(Duration.ofMillis(50), 5)
                .withDisputeDelay(Duration.ofMillis(100)));
    stripe =
        StripeClient.builder()
            .setApiKey(emulator.secretKey())
            .setApiBase(emulator.baseUrl())
            .build();
  }

  @AfterAll
  static void stop() {
    emulator.close();
    receiver.close();
  }

  @Test
  void shouldRefundPartlyThenTheRestWhenAmountsFit() throws StripeException {
    // Given
    PaymentIntent paid = pay("pm_card_visa", 1000);

    // When
    Refund partial =
        stripe
            .v1()
            .refunds()
            .create(
                RefundCreateParams.builder()
                    .setPaymentIntent(paid.getId())
                    .setAmount(300L)
                    .setReason(RefundCreateParams.Reason.REQUESTED_BY_CUSTOMER)
                    .putMetadata("refund_id", "r-1")
                    .build());
    Charge afterPartial = stripe.v1().charges().retrieve(paid.getLatestCharge());
    Refund rest =
        stripe
            .v1()
            .refunds()
            .create(RefundCreateParams.builder().setPaymentIntent(paid.getId()).build());
    Charge afterRest = stripe.v1().charges().retrieve(paid.getLatestCharge());

    // Then
    assertThat(partial.getId()).startsWith("re_");
    assertThat(partial.getStatus()).isEqualTo("succeeded");
    assertThat(partial.getAmount()).isEqualTo(300L);
    assertThat(partial.getCharge()).isEqualTo(paid.getLatestCharge());
    assertThat(partial.getPaymentIntent()).isEqualTo(paid.getId());
    assertThat(partial.getMetadata()).containsEntry("refund_id", "r-1");
    assertThat(afterPartial.getAmountRefunded()).isEqualTo(300L);
    assertThat(afterPartial.getRefunded()).isFalse();
    assertThat(rest.getAmount()).isEqualTo(700L);
    assertThat(afterRest.getAmountRefunded()).isEqualTo(1000L);
    assertThat(afterRest.getRefunded()).isTrue();
    assertThat(stripe.v1().refunds().retrieve(partial.getId()).getAmount()).isEqualTo(300L);
    receiver.awaitCount(event("refund.created", paid.getId()), 2, WAIT);
    receiver.awaitCount(event("charge.refunded", paid.getId()), 2, WAIT);
  }

  @Test
  void shouldRejectRefundWhenAmountExceedsWhatIsLeft() throws StripeException {
    // Given
    PaymentIntent paid = pay("pm_card_visa", 500);
    stripe
        .v1()
        .refunds()
        .create(
            RefundCreateParams.builder().setPaymentIntent(paid.getId()).setAmount(200L).build());

    // When
    InvalidRequestException error =
        catchThrowableOfType(
            InvalidRequestException.class,
            () ->
                stripe
                    .v1()
                    .refunds()
                    .create(
                        RefundCreateParams.builder()
                            .setPaymentIntent(paid.getId())
                            .setAmount(400L)
                            .build()));

    // Then
    assertThat(error.getStatusCode()).isEqualTo(400);
    assertThat(error.getStripeError().getType()).isEqualTo("invalid_request_error");
    assertThat(error.getParam()).isEqualTo("amount");
    assertThat(error.getStripeError().getMessage())
        .isEqualTo("Refund amount ($4.00) is greater than unrefunded amount on charge ($3.00)");
  }

  @Test
  void shouldRejectRefundWhenChargeIsFullyRefunded() throws StripeException {
    // Given
    PaymentIntent paid = pay("pm_card_visa", 500);
    stripe
        .v1()
        .refunds()
        .create(RefundCreateParams.builder().setCharge(paid.getLatestCharge()).build());

    // When
    InvalidRequestException error =
        catchThrowableOfType(
            InvalidRequestException.class,
            () ->
                stripe
                    .v1()
                    .refunds()
                    .create(RefundCreateParams.builder().setPaymentIntent(paid.getId()).build()));

    // Then
    assertThat(error.getCode()).isEqualTo("charge_already_refunded");
  }

  @Test
  void shouldDeliverWebhooksThatStripeJavaVerifies() throws Exception {
    // Given
    PaymentIntent paid = pay("pm_card_visa", 500);

    // When
    WebhookReceiver.Received received =
        receiver.await(event("payment_intent.succeeded", paid.getId()), WAIT);
    Event event = Webhook.constructEvent(received.payload(), received.signature(), WEBHOOK_SECRET);

    // Then
    assertThat(received.signature()).matches("t=\\d+,v1=[0-9a-f]{64}");
    assertThat(received.contentType()).isEqualTo("application/json; charset=utf-8");
    assertThat(received.userAgent()).isEqualTo("Stripe/1.0 (+https://stripe.com/docs/webhooks)");
    assertThat(event.getId()).startsWith("evt_");
    assertThat(event.getType()).isEqualTo("payment_intent.succeeded");
    assertThat(event.getLivemode()).isFalse();
    assertThat(event.getPendingWebhooks()).isEqualTo(1L);
    assertThat(event.getRequest().getId()).startsWith("req_");
    assertThat(event.getRequest().getIdempotencyKey()).isNotBlank();
    assertThat(event.getDataObjectDeserializer().getObject())
        .get()
        .isInstanceOfSatisfying(
            PaymentIntent.class, pi -> assertThat(pi.getStatus()).isEqualTo("succeeded"));
  }

  @Test
  void shouldOpenChargebackWithoutPaymentIntentMetadataWhenPaidWithDisputeCard() throws Exception {
    // Given
    PaymentIntent paid = pay("pm_card_createDispute", 500);
    Charge charge = stripe.v1().charges().retrieve(paid.getLatestCharge());

    // When
    WebhookReceiver.Received created =
        receiver.await(event("charge.dispute.created", paid.getId()), WAIT);

    // Then
    assertThat(paid.getStatus()).isEqualTo("succeeded");
    assertThat(charge.getMetadata()).containsEntry("listing_id", "listing-dispute");
    Event event = Webhook.constructEvent(created.payload(), created.signature(), WEBHOOK_SECRET);
    Dispute dispute = (Dispute) event.getDataObjectDeserializer().getObject().orElseThrow();
    assertThat(dispute.getId()).startsWith("du_");
    assertThat(dispute.getStatus()).isEqualTo("needs_response");
    assertThat(dispute.getReason()).isEqualTo("fraudulent");
    assertThat(dispute.getCharge()).isEqualTo(paid.getLatestCharge());
    assertThat(dispute.getPaymentIntent()).isEqualTo(paid.getId());
    assertThat(dispute.getAmount()).isEqualTo(500L);
    assertThat(dispute.getMetadata()).isEmpty();
    assertThat(event.getRequest().getId()).isNull();
    assertThat(stripe.v1().charges().retrieve(paid.getLatestCharge()).getDisputed()).isTrue();
    assertThat(stripe.v1().disputes().retrieve(dispute.getId()).getStatus())
        .isEqualTo("needs_response");
    // And the money taken back is told again in an event of its own, about the same dispute
    WebhookReceiver.Received withdrawn =
        receiver.await(event("charge.dispute.funds_withdrawn", paid.getId()), WAIT);
    assertThat(withdrawn.object().path("id").asText()).isEqualTo(dispute.getId());
    assertThat(withdrawn.json().path("id").asText()).isNotEqualTo(event.getId());
  }

  @Test
  void shouldOpenInquiryAndCloseItWhenPaidWithDisputeInquiryCard() throws Exception {
    // Given
    PaymentIntent paid = pay("pm_card_createDisputeInquiry", 500);
    WebhookReceiver.Received created =
        receiver.await(event("charge.dispute.created", paid.getId()), WAIT);
    String disputeId = created.object().path("id").asText();

    // When
    emulator.closeDispute(disputeId, "won");

    // Then
    assertThat(created.object().path("status").asText()).isEqualTo("warning_needs_response");
    assertThat(
            created.object().path("payment_method_details").path("card").path("case_type").asText())
        .isEqualTo("inquiry");
    WebhookReceiver.Received closed =
        receiver.await(event("charge.dispute.closed", paid.getId()), WAIT);
    Event event = Webhook.constructEvent(closed.payload(), closed.signature(), WEBHOOK_SECRET);
    assertThat(((Dispute) event.getDataObjectDeserializer().getObject().orElseThrow()).getStatus())
        .isEqualTo("warning_closed");
    assertThat(closed.json().path("data").path("previous_attributes").path("status").asText())
        .isEqualTo(
            "warning_needs_response"); // And no money moved for an inquiry: neither withdrawn nor
    // reinstated
    assertThat(receiver.all())
        .noneMatch(event("charge.dispute.funds_withdrawn", paid.getId()))
        .noneMatch(event("charge.dispute.funds_reinstated", paid.getId()));
  }

  @Test
  void shouldEscalateAnInquiryToAChargebackUnderTheSameIdWhenTold() throws StripeException {
    // Given an inquiry
    PaymentIntent paid = pay("pm_card_visa", 500);
    String disputeId = emulator.openDisputeInquiry(paid.getId());

    // When the issuer escalates it
    emulator.escalateDispute(disputeId);

    // Then it is a chargeback under the same id, its money withdrawn, told in two events
    Dispute dispute = stripe.v1().disputes().retrieve(disputeId);
    assertThat(dispute.getStatus()).isEqualTo("needs_response");
    assertThat(dispute.getBalanceTransactions()).hasSize(1);
    WebhookReceiver.Received updated =
        receiver.await(event("charge.dispute.updated", paid.getId()), WAIT);
    assertThat(updated.object().path("id").asText()).isEqualTo(disputeId);
    assertThat(updated.object().path("status").asText()).isEqualTo("needs_response");
    assertThat(updated.json().path("data").path("previous_attributes").path("status").asText())
        .isEqualTo("warning_needs_response");
    assertThat(
            receiver
                .await(event("charge.dispute.funds_withdrawn", paid.getId()), WAIT)
                .object()
                .path("id")
                .asText())
        .isEqualTo(disputeId);
  }

  @Test
  void shouldChangeTheAmountOfAChargebackWhenTheNetworkDoes() throws StripeException {
    // Given a chargeback of the whole payment
    PaymentIntent paid = pay("pm_card_visa", 500);
    String disputeId = emulator.openDispute(paid.getId());

    // When the card network cuts it to a part, then asks for more than was charged
    emulator.changeDisputeAmount(disputeId, 300);
    Throwable tooMuch = catchThrowable(() -> emulator.changeDisputeAmount(disputeId, 501));

    // Then Stripe has the new amount, told by charge.dispute.updated naming the old one, and
    // refuses an amount over the charge's
    assertThat(stripe.v1().disputes().retrieve(disputeId).getAmount()).isEqualTo(300L);
    WebhookReceiver.Received updated =
        receiver.await(event("charge.dispute.updated", paid.getId()), WAIT);
    assertThat(updated.object().path("amount").asLong()).isEqualTo(300);
    assertThat(updated.object().path("status").asText()).isEqualTo("needs_response");
    assertThat(updated.json().path("data").path("previous_attributes").path("amount").asLong())
        .isEqualTo(500);
    assertThat(tooMuch).hasMessageContaining("Invalid amount");
    assertThat(stripe.v1().disputes().retrieve(disputeId).getAmount()).isEqualTo(300L);
  }

  @Test
  void shouldCloseChargebackAsLostWhenTold() throws StripeException {
    // Given
    PaymentIntent paid = pay("pm_card_visa", 500);
    String disputeId = emulator.openDispute(paid.getId());

    // When
    emulator.closeDispute(disputeId, "lost");

    // Then
    assertThat(stripe.v1().disputes().retrieve(disputeId).getStatus()).isEqualTo("lost");
    WebhookReceiver.Received closed =
        receiver.await(event("charge.dispute.closed", paid.getId()), WAIT);
    assertThat(closed.object().path("status").asText()).isEqualTo("lost");
  }

  @Test
  void shouldRefuseToRefundAChargedBackChargeUntilItsChargebackIsWon() throws StripeException {
    // Given two charged back payments
    PaymentIntent won = pay("pm_card_visa", 500);
    PaymentIntent lost = pay("pm_card_visa", 500);
    String wonDispute = emulator.openDispute(won.getId());
    String lostDispute = emulator.openDispute(lost.getId());

    // Then neither can be refunded while its chargeback is open
    assertThat(refundRefusal(won).getCode()).isEqualTo("charge_disputed");

    // When one chargeback is lost and the other won
    emulator.closeDispute(lostDispute, "lost");
    emulator.closeDispute(wonDispute, "won");

    // Then the lost one still cannot be refunded, and the won one, whose money came back to the
    // merchant, can
    assertThat(refundRefusal(lost).getCode()).isEqualTo("charge_disputed");
    Refund refund =
        stripe
            .v1()
            .refunds()
            .create(RefundCreateParams.builder().setPaymentIntent(won.getId()).build());
    assertThat(refund.getStatus()).isEqualTo("succeeded");
    assertThat(refund.getAmount()).isEqualTo(500L);
  }

  @Test
  void shouldReplayARefusalByTheChargesStateToItsIdempotencyKeyAsStripeDoes()
      throws StripeException {
    // Given a refund refused under a key while the charge's chargeback is open
    PaymentIntent paid = pay("pm_card_visa", 500);
    String dispute = emulator.openDispute(paid.getId());
    RequestOptions key = RequestOptions.builder().setIdempotencyKey("refund-kept-400").build();
    RefundCreateParams params = RefundCreateParams.builder().setPaymentIntent(paid.getId()).build();
    InvalidRequestException first =
        catchThrowableOfType(
            InvalidRequestException.class, () -> stripe.v1().refunds().create(params, key));

    // When the chargeback is won, and the refund is asked again under the same key, then another
    emulator.closeDispute(dispute, "won");
    InvalidRequestException again =
        catchThrowableOfType(
            InvalidRequestException.class, () -> stripe.v1().refunds().create(params, key));
    Refund underANewKey =
        stripe
            .v1()
            .refunds()
            .create(
                params, RequestOptions.builder().setIdempotencyKey("refund-kept-400-1").build());

    // Then the same key gets the first refusal replayed, as Stripe keeps it for the key once the
    // endpoint began; a new key is asked afresh
    assertThat(first.getCode()).isEqualTo("charge_disputed");
    assertThat(again.getCode()).isEqualTo("charge_disputed");
    assertThat(again.getStripeError().getLastResponse().headers().firstValue("Idempotent-Replayed"))
        .contains("true");
    assertThat(underANewKey.getStatus()).isEqualTo("succeeded");
  }

  private static InvalidRequestException refundRefusal(PaymentIntent paid) {
    return catchThrowableOfType(
        InvalidRequestException.class,
        () ->
            stripe
                .v1()
                .refunds()
                .create(RefundCreateParams.builder().setPaymentIntent(paid.getId()).build()));
  }

  @Test
  void shouldReinstateTheFundsWhenAChargebackIsWon() throws StripeException {
    // Given a chargeback
    PaymentIntent paid = pay("pm_card_visa", 500);
    String disputeId = emulator.openDispute(paid.getId());

    // When the card network decides it for us
    emulator.closeDispute(disputeId, "won");

    // Then it is closed won, and the money coming back is told in an event of its own
    assertThat(stripe.v1().disputes().retrieve(disputeId).getStatus()).isEqualTo("won");
    assertThat(
            receiver
                .await(event("charge.dispute.closed", paid.getId()), WAIT)
                .object()
                .path("status")
                .asText())
        .isEqualTo("won");
    WebhookReceiver.Received reinstated =
        receiver.await(event("charge.dispute.funds_reinstated", paid.getId()), WAIT);
    assertThat(reinstated.object().path("id").asText()).isEqualTo(disputeId);
    assertThat(reinstated.object().path("status").asText()).isEqualTo("won");
  }

  @Test
  void shouldFailTheRefundAfterCreatingItWhenPaidWithTheRefundFailCard() throws Exception {
    // Given a payment with Stripe's test card whose refunds fail after creation
    PaymentIntent paid = pay("pm_card_refundFail", 800);

    // When it is refunded
    Refund refund =
        stripe
            .v1()
            .refunds()
            .create(
                RefundCreateParams.builder()
                    .setPaymentIntent(paid.getId())
                    .putMetadata("refund_id", "r-fail")
                    .build());

    // Then the refund starts succeeded, as in Stripe's test mode
    assertThat(paid.getStatus()).isEqualTo("succeeded");
    assertThat(refund.getStatus()).isEqualTo("succeeded");
    // and then fails: refund.failed (and refund.updated, charge.refund.updated) carry it failed,
    // with its reason
    WebhookReceiver.Received failed = receiver.await(event("refund.failed", paid.getId()), WAIT);
    Event event = Webhook.constructEvent(failed.payload(), failed.signature(), WEBHOOK_SECRET);
    Refund failedRefund = (Refund) event.getDataObjectDeserializer().getObject().orElseThrow();
    assertThat(failedRefund.getId()).isEqualTo(refund.getId());
    assertThat(failedRefund.getStatus()).isEqualTo("failed");
    assertThat(failedRefund.getFailureReason()).isNotBlank();
    assertThat(failedRefund.getMetadata()).containsEntry("refund_id", "r-fail");
    WebhookReceiver.Received updated = receiver.await(event("refund.updated", paid.getId()), WAIT);
    assertThat(updated.object().path("status").asText()).isEqualTo("failed");
    assertThat(updated.json().path("data").path("previous_attributes").path("status").asText())
        .isEqualTo("succeeded");
    WebhookReceiver.Received chargeRefund =
        receiver.await(event("charge.refund.updated", paid.getId()), WAIT);
    assertThat(chargeRefund.object().path("id").asText()).isEqualTo(refund.getId());
    assertThat(chargeRefund.object().path("status").asText()).isEqualTo("failed");
    assertThat(chargeRefund.object().path("failure_reason").asText()).isNotBlank();
    // and Stripe has it failed, the money back on the charge
    assertThat(stripe.v1().refunds().retrieve(refund.getId()).getStatus()).isEqualTo("failed");
    Charge charge = stripe.v1().charges().retrieve(paid.getLatestCharge());
    assertThat(charge.getAmountRefunded()).isZero();
    assertThat(charge.getRefunded()).isFalse();
  }

  private static PaymentIntent pay(String paymentMethod, long amount) throws StripeException {
    return stripe
        .v1()
        .paymentIntents()
        .create(
            PaymentIntentCreateParams.builder()
                .setAmount(amount)
                .setCurrency("usd")
                .putMetadata("listing_id", "listing-dispute")
                .putMetadata("user_id", "user-1")
                .setPaymentMethod(paymentMethod)
                .setConfirm(true)
                .build());
  }
}
