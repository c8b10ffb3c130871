package io.marketplace.payments.refunds.refund;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.refunds.Harness;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.EventSchemas;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A user's request for a payment, pending review when a moderation rejection of the listing is
 * applied within 24 h of the payment: the rejection's automatic refund gives back all of the
 * payment that had not gone back (a pending request does not count for it), so the request can no
 * longer be approved (its approval is refused as more than is left). It must not wait for an admin
 * forever: it is closed as owed by the automatic refund, naming it, and announced.
 */
class PendingRequestOwedByRejectionTest {

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
  void shouldCloseAPendingRequestAsNotOwedWhenTheRejectionRefundsThePaymentAtOnce() {
    // Given a posting fee paid an hour ago whose owner asked for it back (as checkout-api's route
    // records it: pending, for what is left of the payment)
    var paid = h.paidListing(Duration.ofHours(1));
    UUID request = h.pendingRequest(paid, 500);

    // When moderation rejects the listing
    h.reject(paid.listingId(), h.now());

    // Then the rejection refunds the whole fee at Stripe, once
    Map<String, Object> automatic = h.awaitRefund(paid.paymentIntentId(), "processed");
    assertThat(automatic)
        .containsEntry("reason", "moderation_rejection")
        .containsEntry("amount_cents", 500);
    assertThat(h.stripeRefunds(paid.paymentIntentId())).hasSize(1);
    // and the user's request no longer waits for an admin: it is closed as not owed, for the
    // rejection's refund, which it names
    Map<String, Object> closed =
        Await.value(
            Harness.WAIT,
            "the user's request closed",
            () ->
                h.db()
                    .row(
                        "SELECT status, rejection_reason, closed_at, close_reason, close_outcome,"
                            + " closed_for FROM payment_refunds WHERE id = ? AND status <> 'pending'",
                        request));
    String why =
        "owed by automatic moderation_rejection refund " + automatic.get("id") + " (part 0)";
    assertThat(closed)
        .containsEntry("status", "rejected")
        .containsEntry("rejection_reason", why)
        .containsEntry("close_reason", why)
        .containsEntry("close_outcome", "not_owed")
        .containsEntry("closed_for", automatic.get("id"));
    assertThat(closed.get("closed_at")).isNotNull();
    // and the user is told, as for an admin's rejection, with the reason and no admin named
    JsonNode rejected = h.awaitPaymentEvent("refund.rejected", request.toString());
    assertThat(rejected.path("data").path("rejectionReason").asText()).isEqualTo(why);
    assertThat(rejected.path("data").path("status").asText()).isEqualTo("rejected");
    assertThat(rejected.path("data").path("rejectedBy").isNull()).isTrue();
    assertThat(EventSchemas.violations("refund.rejected", rejected.toString())).isEmpty();
    // and only the rejection's refund went back
    assertThat(h.stripeRefunds(paid.paymentIntentId())).hasSize(1);
  }
}
