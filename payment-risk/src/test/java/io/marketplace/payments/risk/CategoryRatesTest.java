package io.marketplace.payments.risk;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.risk.Observation.CategoryKind;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The hour of a category's rates as its store and changelog hold it, across versions. */
class CategoryRatesTest {

  private static final String TOPIC = "payment-risk-risk-category-rates-changelog";

  /** The hour as the version before stored it: the refunds as the list of their ids. */
  record HourBefore(long succeeded, long declined, List<String> refundIds) {}

  @Test
  void shouldCountTheRefundsOfAnHourStoredWithTheirIdsWhenTheServiceIsUpgraded() {
    // Given an hour written by the version before: 3 succeeded, 1 declined, 2 refunds by id
    byte[] before =
        """
        {"succeeded":3,"declined":1,"refundIds":["re_1","re_2"]}"""
            .getBytes(StandardCharsets.UTF_8);

    // When this version reads it, and counts one more refund in it
    CategoryRates read = RiskTopology.RATES.deserializer().deserialize(TOPIC, before);
    CategoryRates next =
        read.add(Observation.ofCategory("7", CategoryKind.REFUNDED, "re_3", Instant.EPOCH));

    // Then the hour keeps its counts, and the new refund adds to them
    assertThat(read).isEqualTo(new CategoryRates(3, 1, 2));
    assertThat(next.refunds()).isEqualTo(3);
    assertThat(next.refundRatio()).isEqualTo(1.0);
  }

  @Test
  void shouldReadItsOwnHourBackWhenItWroteIt() {
    CategoryRates hour = new CategoryRates(201, 17, 2_010);

    byte[] written = RiskTopology.RATES.serializer().serialize(TOPIC, hour);

    assertThat(RiskTopology.RATES.deserializer().deserialize(TOPIC, written)).isEqualTo(hour);
  }

  @Test
  void shouldLeaveTheVersionBeforeAListToReadWhenTheServiceIsRolledBack() throws IOException {
    // Given an hour written by this version
    byte[] written = RiskTopology.RATES.serializer().serialize(TOPIC, new CategoryRates(5, 2, 4));

    // When the version before reads it
    HourBefore read = Json.mapper().readValue(written, HourBefore.class);

    // Then it finds its counts and an empty list (it adds to the list from then on), not a
    // missing one that would fail its stream thread at the hour's next refund
    assertThat(read.succeeded()).isEqualTo(5);
    assertThat(read.declined()).isEqualTo(2);
    assertThat(read.refundIds()).isNotNull().isEmpty();
  }
}
