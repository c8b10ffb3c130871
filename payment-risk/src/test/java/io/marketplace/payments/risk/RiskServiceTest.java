package io.marketplace.payments.risk;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.risk.RiskConfig.RiskRules;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.marketplace.payments.testsupport.TestDatabase;
import io.marketplace.payments.testsupport.TestInfra;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.regex.MatchResult;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The risk service on the real broker and database: Stripe events in, a flagged user out, and the
 * metrics its dashboard panels graph on its {@code /metrics}.
 */
class RiskServiceTest {

  private static final Duration WAIT = Duration.ofSeconds(90);
  private static final Set<String> CATEGORY_METRICS =
      Set.of(
          "payments_risk_category_decline_ratio",
          "payments_risk_category_refund_ratio",
          "payments_risk_category_events",
          "payments_risk_category_signals_total");

  @TempDir Path stateDir;

  @Test
  void shouldFlagTheUserWhenTheirDeclinesReachTheThreshold() throws Exception {
    // Given the risk service on its own topics and database, ready
    TestDatabase db = TestInfra.freshDatabase();
    Topics topics = TestInfra.freshTopics();
    KafkaTestClient kafka = TestInfra.kafkaClient();
    RiskConfig config =
        new RiskConfig(
            TestInfra.kafkaConfig(topics),
            0,
            stateDir,
            0,
            // a single dispute is a spike of its category, so the category signal's metric shows
            RiskRules.fromEnv(
                io.marketplace.payments.common.config.Env.of(
                    Map.of("RISK_CATEGORY_DISPUTES_THRESHOLD", "1"))),
            db.dbConfig(),
            Duration.ofHours(1));
    try (RiskService service = RiskService.start(config, Clock.systemUTC())) {
      HttpClient http = HttpClient.newHttpClient();
      URI ready = URI.create("http://localhost:" + service.adminPort() + "/health/ready");
      Await.until(WAIT, "the service is ready", () -> RiskEvents.status(http, ready) == 200);

      // When a user's payment is declined five times within a minute, one event twice
      String user = UUID.randomUUID().toString();
      Instant start =
          RiskEvents.inOneWindow(Instant.now().minusSeconds(60), config.rules().declines(), 10);
      String firstPi = null;
      for (int i = 0; i < 5; i++) {
        String pi = "pi_3Pservice" + UUID.randomUUID().toString().replace("-", "");
        firstPi = firstPi == null ? pi : firstPi;
        String event =
            RiskEvents.declined(
                "evt_3Pservice" + i + user.substring(0, 8), pi, user, start.plusSeconds(i));
        kafka.send(topics.stripeEvents(), pi, event);
        if (i == 0) {
          kafka.send(topics.stripeEvents(), pi, event);
        }
      }

      // Then one signal is published on risk.signals.v1, keyed by the user
      ConsumerRecord<String, byte[]> signal =
          kafka.awaitRecord(topics.riskSignals(), r -> user.equals(r.key()), WAIT);
      JsonNode value = Json.mapper().readTree(signal.value());
      assertThat(value.path("data").path("signal").asText()).isEqualTo("card_testing_declines");
      assertThat(value.path("data").path("count").asLong()).isEqualTo(5);
      // And the user is flagged in the database, and user.flagged is published
      Await.until(
          WAIT,
          "the user is flagged",
          () -> db.count("user_risk_flags WHERE user_id = ?::uuid", user) == 1);
      kafka.awaitRecord(
          topics.paymentEvents(),
          r ->
              user.equals(r.key())
                  && "user.flagged".equals(KafkaTestClient.header(r, "event-type").orElse("")),
          WAIT);

      // When one of the payments is disputed (a spike of its category at threshold 1)
      kafka.send(topics.stripeEvents(), firstPi, disputed(firstPi, start.plusSeconds(10)));

      // Then /metrics serves the category's rates and its signal, for the alerts
      URI scrape = URI.create("http://localhost:" + service.adminPort() + "/metrics");
      Await.until(
          WAIT,
          "the category metrics are served",
          () ->
              CATEGORY_METRICS.stream()
                  .allMatch(
                      name ->
                          Pattern.compile("(?m)^" + name + "\\{[^}]*category=\"3\"")
                              .matcher(body(http, scrape))
                              .find()));
      // And every metric the dashboard's risk panels graph, the flag by signal
      String metrics = body(http, scrape);
      assertThat(metrics)
          .contains(
              "payments_risk_flags_total{service=\"payment-risk\",signal=\"card_testing_declines\"} 1.0");
      Set<String> graphed = riskPanelMetrics();
      assertThat(graphed)
          .contains("payments_risk_flags_total", "kafka_stream_client_state")
          .containsAll(CATEGORY_METRICS);
      for (String name : graphed) {
        assertThat(metrics).as(name + " on /metrics").containsPattern("(?m)^" + name + "\\{");
      }
      // And the records its tasks dropped (none here), which RiskEventsDroppedAsLate watches:
      // registered once the binder looks again (RiskService.METRICS_REFRESH) after assignment
      Pattern dropped =
          Pattern.compile("(?m)^kafka_stream_task_dropped_records_total\\{.*\\} 0\\.0$");
      Await.until(
          WAIT,
          "the tasks' dropped records are served",
          () -> dropped.matcher(body(http, scrape)).find());
      // And every store's block cache is the one budget all stores share (RISK_STORE_MEMORY_MB),
      // not a cache of its own each (a window store with no segment open yet has none: 0)
      Pattern capacity =
          Pattern.compile("(?m)^kafka_stream_state_block_cache_capacity\\{[^}]*\\} (\\S+)$");
      double budget = config.storeMemoryBytes();
      Await.until(
          WAIT,
          "a store's block cache is served",
          () -> capacity.matcher(body(http, scrape)).results().anyMatch(m -> value(m) == budget));
      capacity
          .matcher(body(http, scrape))
          .results()
          .forEach(m -> assertThat(value(m)).as(m.group()).isIn(0.0, budget));
    }
  }

  /**
   * The metric names in the expressions of the dashboard's risk row (ops/grafana), as Prometheus
   * would look them up on this service.
   */
  private static Set<String> riskPanelMetrics() throws java.io.IOException {
    Path dashboard =
        Path.of("").toAbsolutePath().getParent().resolve("ops/grafana/payments-dashboard.json");
    JsonNode root = Json.mapper().readTree(dashboard.toFile());
    Pattern metric = Pattern.compile("\\b(?:payments|kafka)_[a-z0-9_]+\\b");
    Set<String> names = new TreeSet<>();
    boolean inRiskRow = false;
    for (JsonNode panel : root.path("panels")) {
      if (panel.path("type").asText().equals("row")) {
        inRiskRow = panel.path("title").asText().equals("Risk");
        continue;
      }
      if (!inRiskRow) {
        continue;
      }
      for (JsonNode target : panel.path("targets")) {
        Matcher matcher =
            metric.matcher(target.path("expr").asText().replaceAll("\"[^\"]*\"", "\"\""));
        while (matcher.find()) {
          names.add(matcher.group());
        }
      }
    }
    return names;
  }

  private static String body(HttpClient http, URI uri) {
    try {
      return http.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString())
          .body();
    } catch (java.io.IOException e) {
      return "";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "";
    }
  }

  private static String disputed(String pi, Instant created) {
    return Json.write(
        Map.of(
            "id",
            "evt_3Pservicedispute" + pi,
            "object",
            "event",
            "created",
            created.getEpochSecond(),
            "type",
            "charge.dispute.created",
            "data",
            Map.of(
                "object",
                Map.of(
                    "id",
                    "du_" + pi,
                    "object",
                    "dispute",
                    "payment_intent",
                    pi,
                    "status",
                    "needs_response",
                    "metadata",
                    Map.of()))));
  }

  private static double value(MatchResult metric) {
    return Double.parseDouble(metric.group(1));
  }
}
