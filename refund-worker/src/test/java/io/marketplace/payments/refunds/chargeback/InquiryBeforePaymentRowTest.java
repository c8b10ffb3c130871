package io.marketplace.payments.refunds.chargeback;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.refunds.Harness;
import io.marketplace.payments.refunds.StripeFixtures;
import io.marketplace.payments.testsupport.Await;
import java.time.Duration;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code payments_disputes_inquiries_total} counts an inquiry once, when it is applied: also one
 * whose events all came before its payment's row (Stripe does not order its deliveries, and the
 * payment processor may rebuild the row after this worker saw the inquiry), once the row exists. (A
 * harness of its own: the tests read the worker's counter.)
 */
class InquiryBeforePaymentRowTest {

  private static Harness h;

  @BeforeAll
  static void start() {
    h = new Harness();
  }

  @AfterAll
  static void stop() {
    h.close();
  }

  @Test
  void shouldCountAnInquiryOnceWhenItsNextEventFindsThePaymentRow() {
    // Given a payment succeeded at Stripe whose payments row is not there yet, and an inquiry on it
    // that this worker applied before the row existed
    Inquiry given = inquiryBeforeItsPayment();
    assertThat(inquiries()).as("nothing counted without the payment").isEqualTo(given.before());

    // When the row is rebuilt and Stripe tells of the inquiry again, twice
    given.recordPayment();
    h.webhooks().publish(StripeFixtures.withNewEventId(given.created(), "charge.dispute.updated"));
    h.webhooks().publish(StripeFixtures.withNewEventId(given.created(), "charge.dispute.updated"));
    h.awaitStripeEventsApplied();

    // Then the inquiry is the user's, and counted once
    given.assertTheUsers();
    Await.until(Harness.WAIT, "the inquiry counted", () -> inquiries() >= given.before() + 1);
    assertThat(inquiries()).isEqualTo(given.before() + 1);
  }

  @Test
  void shouldCountAnInquiryOnceWhenTheJanitorFindsItsPaymentRow() {
    // Given an inquiry applied before its payment's row existed
    Inquiry given = inquiryBeforeItsPayment();

    // When the row is rebuilt, the janitor passes twice, and Stripe then tells of it again
    given.recordPayment();
    h.retryNow();
    h.retryNow();
    h.webhooks().publish(StripeFixtures.withNewEventId(given.created(), "charge.dispute.updated"));
    h.awaitStripeEventsApplied();

    // Then the inquiry is the user's, and counted once
    given.assertTheUsers();
    assertThat(inquiries()).isEqualTo(given.before() + 1);
  }

  /**
   * An inquiry on a payment of {@code user}'s, applied by the worker while the payment's row was
   * not there, with the counter as it was before it.
   *
   * @param created the inquiry's {@code charge.dispute.created}, as forwarded
   */
  private record Inquiry(
      UUID user,
      UUID listing,
      String paymentIntentId,
      String disputeId,
      String created,
      double before) {

    /** The payment's row, rebuilt as the payment processor would. */
    void recordPayment() {
      h.recordPayment(
          paymentIntentId, user, listing, 500, "posting_fee", h.now().minus(Duration.ofHours(1)));
    }

    void assertTheUsers() {
      assertThat(
              h.db()
                  .row(
                      "SELECT user_id FROM payment_disputes WHERE stripe_dispute_id = ?", disputeId)
                  .orElseThrow())
          .containsEntry("user_id", user);
    }
  }

  private static Inquiry inquiryBeforeItsPayment() {
    UUID user = UUID.randomUUID();
    UUID listing = UUID.randomUUID();
    h.db().execute("INSERT INTO users (id) VALUES (?)", user);
    String pi = h.charge(user, listing, 500, "posting_fee");
    double before = inquiries();
    String inquiry = h.emulator().openDisputeInquiry(pi);
    String created = awaitForwarded("charge.dispute.created", inquiry);
    h.awaitStripeEventsApplied();
    return new Inquiry(user, listing, pi, inquiry, created, before);
  }

  /** {@code payments_disputes_inquiries_total}, as the worker's {@code /metrics} serves it. */
  private static double inquiries() {
    Matcher value =
        Pattern.compile("(?m)^payments_disputes_inquiries_total(?:\\{[^}]*})? (\\S+)$")
            .matcher(h.metrics());
    assertThat(value.find()).as("payments_disputes_inquiries_total served").isTrue();
    return Double.parseDouble(value.group(1));
  }

  private static String awaitForwarded(String type, String objectId) {
    return Await.value(
        Harness.WAIT,
        type + " of " + objectId,
        () -> h.webhooks().forwarded(type, objectId).stream().findFirst());
  }
}
