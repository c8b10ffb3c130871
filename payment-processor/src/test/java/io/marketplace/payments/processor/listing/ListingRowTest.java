package io.marketplace.payments.processor.listing;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** What a payment may do to a listing, without I/O. */
class ListingRowTest {

  private static final Instant NOW = Instant.parse("2026-03-02T10:00:00Z");

  @Test
  void shouldActivateOnlyWhenTheListingWaitsForPayment() {
    for (String status : new String[] {"active", "rejected", "expired"}) {
      // Given a listing that no longer waits for its fee
      ListingRow listing = listing(status, null);

      // When a posting fee tries to activate it
      // Then nothing changes
      assertThat(listing.activate("pi_3Plate", NOW, NOW.plus(Duration.ofDays(30)))).isFalse();
      assertThat(listing.status()).isEqualTo(status);
      assertThat(listing.changed()).isFalse();
    }
    ListingRow waiting = listing("pending_payment", null);
    assertThat(waiting.activate("pi_3Pok", NOW, NOW.plus(Duration.ofDays(30)))).isTrue();
    assertThat(waiting.status()).isEqualTo("active");
    assertThat(waiting.expiresAt()).isEqualTo(NOW.plus(Duration.ofDays(30)));
  }

  @Test
  void shouldKeepTheLatestBumpWhenAnOlderOneIsProcessedLate() {
    // Given a listing bumped at NOW
    ListingRow listing = listing("active", NOW);

    // When an older bump payment is applied after it
    listing.bump(NOW.minusSeconds(3600));

    // Then the listing keeps its latest bump
    assertThat(listing.lastBumpedAt()).isEqualTo(NOW);
    assertThat(listing.changed()).isFalse();
  }

  @Test
  void shouldDescribeWhyAPurchaseCannotBeDelivered() {
    UUID id = UUID.fromString("3f6a1c2e-8b7d-4e21-9a55-0c1d2e3f4a5b");
    assertThat(ListingRow.describe(id, null)).isEqualTo("listing " + id + " does not exist");
    assertThat(ListingRow.describe(id, listing("rejected", null))).endsWith(" is rejected");
  }

  private static ListingRow listing(String status, Instant bumpedAt) {
    boolean active = "active".equals(status);
    return new ListingRow(
        UUID.randomUUID(),
        UUID.randomUUID(),
        status,
        active ? NOW.minus(Duration.ofDays(1)) : null,
        active ? NOW.plus(Duration.ofDays(29)) : null,
        null,
        bumpedAt);
  }
}
