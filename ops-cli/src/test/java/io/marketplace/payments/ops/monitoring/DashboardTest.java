package io.marketplace.payments.ops.monitoring;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** {@code ops/grafana/payments-dashboard.json}: importable, and graphing metrics that exist. */
class DashboardTest {

  @Test
  void shouldGraphOnlyExportedMetricsInUniquelyPlacedPanelsWhenParsed() throws IOException {
    // When
    JsonNode dashboard =
        new ObjectMapper()
            .readTree(Monitoring.root().resolve("ops/grafana/payments-dashboard.json").toFile());

    // Then
    assertThat(dashboard.path("uid").asText()).isNotBlank();
    assertThat(dashboard.path("title").asText()).isNotBlank();
    Set<Integer> ids = new HashSet<>();
    List<String> expressions = new ArrayList<>();
    for (JsonNode panel : dashboard.path("panels")) {
      assertThat(ids.add(panel.path("id").asInt())).as("unique panel id").isTrue();
      assertThat(panel.path("gridPos").path("w").asInt()).isBetween(1, 24);
      if (panel.path("type").asText().equals("row")) {
        continue;
      }
      assertThat(panel.path("targets")).as(panel.path("title").asText()).isNotEmpty();
      panel.path("targets").forEach(t -> expressions.add(t.path("expr").asText()));
    }
    assertThat(expressions).isNotEmpty();
    Set<String> graphed = new HashSet<>();
    for (String expression : expressions) {
      assertThat(Monitoring.balanced(expression)).as(expression).isTrue();
      Set<String> metrics = Monitoring.metricsIn(expression);
      assertThat(metrics).as(expression).isNotEmpty().allMatch(Monitoring.METRICS::containsKey);
      graphed.addAll(metrics);
    }
    // the SPEC §6 metrics are all on it
    assertThat(graphed)
        .contains(
            "homepage_payments_intents_created_total",
            "homepage_payments_succeeded_total",
            "homepage_payments_failed_total",
            "homepage_refunds_processed_total",
            "homepage_webhooks_received_total",
            "kafka_consumer_fetch_manager_records_lag_max");
    // and the risk service: its flags by signal, and the health of its Kafka Streams
    assertThat(graphed)
        .contains(
            "payments_risk_flags_total",
            "kafka_stream_client_state",
            "kafka_stream_alive_stream_threads",
            "kafka_stream_thread_process_rate");
  }
}
