package io.marketplace.payments.ops.monitoring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** {@code ops/prometheus/alerts.yml}, parsed: well-formed rules on metrics the services export. */
class AlertRulesTest {

  private static final Path RULES = Monitoring.root().resolve("ops/prometheus/alerts.yml");

  @Test
  void shouldGiveEveryRuleAlertExprForSeverityAndAnnotationsWhenParsed() throws IOException {
    // When
    List<JsonNode> rules = rules();

    // Then
    assertThat(rules).isNotEmpty();
    for (JsonNode rule : rules) {
      String name = rule.path("alert").asText();
      assertThat(name).as("alert name").matches("[A-Z][A-Za-z0-9]+");
      assertThat(rule.path("expr").asText()).as(name + " expr").isNotBlank();
      assertThat(Monitoring.balanced(rule.path("expr").asText())).as(name + " brackets").isTrue();
      assertThat(rule.path("for").asText()).as(name + " for").matches("\\d+[smhd]");
      assertThat(rule.path("labels").path("severity").asText())
          .as(name + " severity")
          .isIn("warning", "critical");
      assertThat(rule.path("annotations").path("summary").asText())
          .as(name + " summary")
          .isNotBlank();
      assertThat(rule.path("annotations").path("description").asText())
          .as(name + " description")
          .isNotBlank();
    }
  }

  @Test
  void shouldCoverEveryAlertTheOperationsIssueAsksForWhenParsed() throws IOException {
    // When
    List<String> names = rules().stream().map(r -> r.path("alert").asText()).toList();

    // Then: success rate, refund rate, signatures, lag, dead letters, the expirer
    assertThat(names)
        .contains(
            "PaymentSuccessRateLow",
            "RefundRateHigh",
            "WebhookSignatureFailures",
            "ConsumerLagHigh",
            "DeadLettersGrowing",
            "DisputeCreated",
            "ExpirerNotRun")
        .doesNotHaveDuplicates();
    assertThat(expressionOf("PaymentSuccessRateLow")).contains("< 0.95");
    assertThat(expressionOf("RefundRateHigh")).contains("> 0.10");
    assertThat(expressionOf("ExpirerNotRun")).contains("26 * 3600");
  }

  @Test
  void shouldReferenceOnlyMetricsTheServicesExportWhenParsed() throws IOException {
    for (JsonNode rule : rules()) {
      assertThat(Monitoring.metricsIn(rule.path("expr").asText()))
          .as(rule.path("alert").asText() + " metrics")
          .isNotEmpty()
          .allMatch(Monitoring.METRICS::containsKey);
    }
  }

  @Test
  void shouldFindEveryKnownMetricRegisteredInTheServicesCode() {
    assumeTrue(
        Files.isDirectory(Monitoring.root().resolve("common/src/main/java")),
        "the services' sources are beside this module");
    for (String micrometerName : Monitoring.METRICS.values()) {
      assertThat(
              Monitoring.inMainSources("\"" + micrometerName + "\"")
                  || Monitoring.inMainSources(micrometerName + "("))
          .as(micrometerName + " registered in some service")
          .isTrue();
    }
  }

  @Test
  void shouldLinkEachAlertToAnExistingRunbookSection() throws IOException {
    var anchors = Monitoring.runbookAnchors();
    for (JsonNode rule : rules()) {
      String runbook = rule.path("annotations").path("runbook").asText();
      assertThat(runbook).as(rule.path("alert").asText()).startsWith("docs/runbook.md#");
      assertThat(anchors)
          .as("runbook anchors")
          .contains(runbook.substring(runbook.indexOf('#') + 1));
    }
  }

  @Test
  void shouldPassPromtoolCheckAndUnitTestsWhenPromtoolInstalled() throws Exception {
    assumeTrue(onPath("promtool"), "promtool is installed");
    for (List<String> command :
        List.of(
            List.of("promtool", "check", "rules", "ops/prometheus/alerts.yml"),
            List.of("promtool", "test", "rules", "ops/prometheus/alerts.test.yml"))) {
      Process process =
          new ProcessBuilder(command)
              .directory(Monitoring.root().toFile())
              .redirectErrorStream(true)
              .start();
      // promtool's unit tests take about 20 s of CPU: minutes on a machine busy with other suites
      assertThat(process.waitFor(5, TimeUnit.MINUTES)).as(String.join(" ", command)).isTrue();
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(process.exitValue()).as(String.join(" ", command) + "\n" + output).isZero();
    }
  }

  private static List<JsonNode> rules() throws IOException {
    JsonNode root = new ObjectMapper(new YAMLFactory()).readTree(RULES.toFile());
    List<JsonNode> rules = new ArrayList<>();
    for (JsonNode group : root.path("groups")) {
      assertThat(group.path("name").asText()).as("group name").isNotBlank();
      group.path("rules").forEach(rules::add);
    }
    return rules;
  }

  private static String expressionOf(String alert) throws IOException {
    return rules().stream()
        .filter(r -> r.path("alert").asText().equals(alert))
        .findFirst()
        .orElseThrow()
        .path("expr")
        .asText();
  }

  private static boolean onPath(String program) {
    String path = System.getenv("PATH");
    if (path == null) {
      return false;
    }
    for (String dir : path.split(java.io.File.pathSeparator)) {
      if (Files.isExecutable(Path.of(dir, program))) {
        return true;
      }
    }
    return false;
  }
}
