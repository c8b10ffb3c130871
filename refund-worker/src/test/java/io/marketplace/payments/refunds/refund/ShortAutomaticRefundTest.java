package io.marketplace.payments.refunds.refund;

import static org.assertj.core.api.Assertions.assertThat;

import com.stripe.model.Refund;
import io.marketplace.payments.common.refund.RefundDao;
import io.marketplace.payments.refunds.Harness;
import io.marketplace.payments.testsupport.Await;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A rejection owes the customer all of the payment that did not go back otherwise. Decided after an
 * admin's refund of part of it, the automatic refund is that much short of the payment; if the card
 * network later returns the admin's refund (Stripe fails it after making it), that part has not
 * gone back after all, and the rejection owes it too, under the same 24 h rule as the rest.
 */
class ShortAutomaticRefundTest {

  private static Harness h;

  @BeforeAll
  static void start() {
    h = new Harness();
  }

  @AfterAll
  static void stop() {
    h.close();
  }

  @ParameterizedTest(name = "paid {0} hours before the rejection: {1}")
  @CsvSource({"2, processed", "72, pending"})
  void shouldOweTheRestOfThePaymentWhenARefundCountedAtTheRejectionFailsLater(
      long hoursAgo, String status) {
    // Given a payment of 1000 of which an admin refunded 300, then a rejection of its listing,
    // whose refund is the 700 left
    var paid = h.paidListing(UUID.randomUUID(), Duration.ofHours(hoursAgo), 1000);
    String pi = paid.paymentIntentId();
    UUID adminRefund = h.approvedRefund(paid, 300);
    h.executor().execute(adminRefund);
    assertThat(h.awaitRefund(pi, "processed")).containsEntry("id", adminRefund);
    h.reject(paid.listingId(), h.now());
    h.awaitModerationApplied(paid.listingId(), 1);
    awaitRejectionRefunds(pi, status, List.of(700));

    // When the card network returns the admin's refund
    String adminStripeRefund =
        (String)
            h.db()
                .row("SELECT stripe_refund_id FROM payment_refunds WHERE id = ?", adminRefund)
                .orElseThrow()
                .get("stripe_refund_id");
    h.emulator().failRefund(adminStripeRefund);
    h.awaitRefund(pi, "failed");

    // Then the rejection owes the 300 too, decided as the 700 was
    awaitRejectionRefunds(pi, status, List.of(700, 300));
    if (status.equals("processed")) {
      assertThat(h.stripeRefunds(pi))
          .filteredOn(r -> "succeeded".equals(r.getStatus()))
          .extracting(Refund::getAmount)
          .containsExactlyInAnyOrder(700L, 300L);
    }
    // and the admin's failed refund is closed, its money owed by the rejection: nothing of the
    // payment is claimed twice, so an admin can approve what is pending, and retry nothing twice
    assertThat(
            h.db()
                .row(
                    "SELECT closed_at, close_reason FROM payment_refunds WHERE id = ?", adminRefund)
                .orElseThrow())
        .satisfies(r -> assertThat(r.get("closed_at")).isNotNull())
        .satisfies(
            r -> assertThat((String) r.get("close_reason")).contains("moderation_rejection"));
    long claimed = h.db().jdbi().withHandle(x -> x.attach(RefundDao.class).claimedCents(pi));
    assertThat(claimed).isEqualTo(1000L);
    // and owes it once, however often the room is offered again
    h.awaitStripeEventsApplied();
    h.retryNow();
    assertThat(rejectionRefunds(pi)).extracting(r -> r.get("amount_cents")).hasSize(2);
  }

  @Test
  void shouldNotOweWhatTheCustomerGotBackAnotherWay() {
    // Given a payment of 1000 of which an admin refunded 300, failed by the card network, paid back
    // by bank transfer and closed so
    var paid = h.paidListing(UUID.randomUUID(), Duration.ofHours(2), 1000);
    String pi = paid.paymentIntentId();
    UUID adminRefund = h.approvedRefund(paid, 300);
    h.executor().execute(adminRefund);
    String stripeRefund = (String) h.awaitRefund(pi, "processed").get("stripe_refund_id");
    h.emulator().failRefund(stripeRefund);
    h.awaitRefund(pi, "failed");
    int closed =
        h.db()
            .jdbi()
            .withHandle(
                x ->
                    x.attach(RefundDao.class)
                        .closeFailed(adminRefund, "bank transfer", "refunded_elsewhere", h.now()));
    assertThat(closed).isEqualTo(1);

    // When its listing is rejected
    h.reject(paid.listingId(), h.now());
    h.awaitModerationApplied(paid.listingId(), 1);

    // Then the rejection refunds the 700 left, not the 300 the customer has already
    awaitRejectionRefunds(pi, "processed", List.of(700));
    assertThat(h.stripeRefunds(pi))
        .filteredOn(r -> "succeeded".equals(r.getStatus()))
        .extracting(Refund::getAmount)
        .containsExactly(700L);
  }

  @Test
  void shouldStillOweWhatComesBackWhenAPartWasPaidBackAnotherWay() {
    // Given a payment of 1000 of which an admin refunded 400, then a rejection refunding the 600
    // left, which the card network failed and support paid by bank transfer instead
    var paid = h.paidListing(UUID.randomUUID(), Duration.ofHours(2), 1000);
    String pi = paid.paymentIntentId();
    UUID adminRefund = h.approvedRefund(paid, 400);
    h.executor().execute(adminRefund);
    String adminStripeRefund = (String) h.awaitRefund(pi, "processed").get("stripe_refund_id");
    h.reject(paid.listingId(), h.now());
    h.awaitModerationApplied(paid.listingId(), 1);
    awaitRejectionRefunds(pi, "processed", List.of(600));
    Map<String, Object> part0 = rejectionRefunds(pi).getFirst();
    h.emulator().failRefund((String) part0.get("stripe_refund_id"));
    awaitRejectionRefunds(pi, "failed", List.of(600));
    h.db()
        .jdbi()
        .useHandle(
            x ->
                x.attach(RefundDao.class)
                    .closeFailed(
                        (UUID) part0.get("id"), "bank transfer", "refunded_elsewhere", h.now()));

    // When the card network returns the admin's 400 too
    h.emulator().failRefund(adminStripeRefund);

    // Then the rejection owes those 400, once: the 600 paid by bank transfer are not owed again
    Await.untilAsserted(
        Harness.WAIT,
        "a second part of 400 of the rejection's refund of " + pi,
        () ->
            assertThat(rejectionRefunds(pi))
                .extracting(r -> r.get("amount_cents"), r -> r.get("status"))
                .containsExactlyInAnyOrder(
                    org.assertj.core.groups.Tuple.tuple(600, "failed"),
                    org.assertj.core.groups.Tuple.tuple(400, "processed")));
    assertThat(h.stripeRefunds(pi))
        .filteredOn(r -> "succeeded".equals(r.getStatus()))
        .extracting(Refund::getAmount)
        .containsExactly(400L);
  }

  private static void awaitRejectionRefunds(String pi, String status, List<Integer> amounts) {
    Await.untilAsserted(
        Harness.WAIT,
        "moderation_rejection refunds " + amounts + " of " + pi + ", " + status,
        () ->
            assertThat(rejectionRefunds(pi))
                .allSatisfy(r -> assertThat(r).containsEntry("status", status))
                .extracting(r -> r.get("amount_cents"))
                .containsExactlyInAnyOrderElementsOf(amounts));
  }

  private static List<Map<String, Object>> rejectionRefunds(String pi) {
    return h.refunds(pi).stream()
        .filter(r -> "moderation_rejection".equals(r.get("reason")))
        .toList();
  }
}
