package io.marketplace.payments.ops.acceptance;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.ops.Cli;
import io.marketplace.payments.ops.PaymentsWorld;
import io.marketplace.payments.testsupport.Await;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * Acceptance: a poison event dead-lettered by the real payment processor shows in {@code dlq list};
 * once the cause is fixed, {@code dlq redrive} has it applied, once.
 */
class DeadLetterAcceptanceTest {

  @Test
  void shouldShowPoisonEventAndApplyItOnceWhenRedrivenAfterTheFix() {
    try (PaymentsWorld world = new PaymentsWorld()) {
      world.startProcessor();
      Cli cli = world.cli();

      // Given a payment whose row checkout-api lost, and whose metadata is corrupt: the processor
      // can neither find nor rebuild the purchase, and dead-letters the event
      UUID listing = world.pendingListing();
      Map<String, String> corrupt = new LinkedHashMap<>(world.metadata(listing, "posting_fee"));
      corrupt.put("listing_id", "not-a-uuid");
      String eventId =
          world.deliver(
              "payment_intent.succeeded",
              PaymentsWorld.paymentIntent("pi_poison_1", "succeeded", 500, corrupt));
      Await.until(
          PaymentsWorld.WAIT,
          "the event dead-lettered",
          () -> !world.kafka.readAll(world.topics.stripeEvents().dlq()).isEmpty());

      // When the operator lists dead letters
      Cli.Result list = cli.run("dlq", "list", "--topic", "stripe.events.v1");

      // Then it says when, which consumer, why, and which Stripe event
      assertThat(list.exitCode()).as(list.toString()).isZero();
      assertThat(list.out())
          .contains(world.processorGroup)
          .contains(eventId)
          .contains("payment_intent.succeeded")
          .contains("IllegalArgumentException")
          .contains("1 dead letters, 1 not redriven");
      assertThat(world.listingStatus(listing)).isEqualTo("pending_payment");

      // When the cause is fixed (the lost payment row restored) and the dead letter redriven
      world.paymentRow("pi_poison_1", listing, "posting_fee", 500);
      Cli.Result redrive = cli.run("dlq", "redrive", "--event-id", eventId);

      // Then the processor applies it, once
      assertThat(redrive.exitCode()).as(redrive.toString()).isZero();
      world.awaitListingStatus(listing, "active");
      Await.until(
          PaymentsWorld.WAIT,
          "the activation announced",
          () ->
              world.paymentEvents(listing.toString()).stream()
                  .anyMatch(e -> e.startsWith("listing.activated")));
      assertThat(
              world
                  .db
                  .row("SELECT status FROM webhook_events WHERE event_id = ?", eventId)
                  .orElseThrow())
          .containsEntry("status", "processed");
      assertThat(world.paymentEvents(listing.toString()))
          .filteredOn(e -> e.startsWith("listing.activated"))
          .hasSize(1);
      Cli.Result again = cli.run("dlq", "redrive", "--event-id", eventId);
      assertThat(again.exitCode()).isEqualTo(1);
      assertThat(cli.run("dlq", "list").out()).contains("1 dead letters, 0 not redriven");
    }
  }
}
