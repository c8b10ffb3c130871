package io.marketplace.payments.expirer.pass;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.common.metrics.Metrics;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** What Prometheus scrapes of the last successful pass, the series the expirer alerts read. */
class ExpirerMetricsTest {

  private static final Instant T = Instant.parse("2026-03-10T03:16:00Z");

  @Test
  void shouldExportNoLastSuccessWhenNoSuccessfulPassIsKnown() {
    // Given a replica that has not yet passed nor read the last pass from the database
    PrometheusMeterRegistry registry = Metrics.newRegistry("promotion-expirer");
    new ExpirerMetrics(registry);

    // When Prometheus scrapes it
    String scrape = registry.scrape();

    // Then there is no series, rather than a 0 that would read as a pass in 1970
    assertThat(scrape).doesNotContain("payments_expirer_last_success");
    assertThat(scrape).contains("payments_expirer_promotions_expired_total");
  }

  @Test
  void shouldExportTheLatestSuccessOnlyWhenPassesAreReportedInAnyOrder() {
    // Given a replica that learns of a pass, then of an older one (read late from the database)
    PrometheusMeterRegistry registry = Metrics.newRegistry("promotion-expirer");
    ExpirerMetrics metrics = new ExpirerMetrics(registry);
    metrics.lastSuccess(T);
    metrics.lastSuccess(T.minusSeconds(86_400));

    // When Prometheus scrapes it
    String scrape = registry.scrape();

    // Then it sees one series, the epoch second of the latest, tagged with the service
    assertThat(scrape.lines().filter(l -> l.startsWith("payments_expirer_last_success{")))
        .singleElement()
        .satisfies(
            line -> {
              assertThat(line).contains("service=\"promotion-expirer\"");
              assertThat(Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)))
                  .isEqualTo((double) T.getEpochSecond());
            });
  }
}
