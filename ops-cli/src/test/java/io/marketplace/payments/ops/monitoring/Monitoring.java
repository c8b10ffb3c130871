package io.marketplace.payments.ops.monitoring;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the alert rules and the dashboard may refer to: every metric the services export, by its
 * Prometheus name, with the Micrometer name that appears in the code that registers it (for those
 * Micrometer's Kafka binders register, not our code: the binder's class, which our code binds).
 */
final class Monitoring {

  static final Map<String, String> METRICS =
      Map.ofEntries(
          // SPEC §6, kept from the system we replace
          Map.entry("homepage_payments_intents_created_total", "homepage.payments.intents.created"),
          Map.entry("homepage_payments_succeeded_total", "homepage.payments.succeeded"),
          Map.entry("homepage_payments_failed_total", "homepage.payments.failed"),
          Map.entry("homepage_refunds_processed_total", "homepage.refunds.processed"),
          Map.entry("homepage_webhooks_received_total", "homepage.webhooks.received"),
          // webhook-gateway
          Map.entry("gateway_signature_failures_total", "gateway.signature.failures"),
          Map.entry("gateway_publish_seconds_bucket", "gateway.publish"),
          // common: the worker loop and the outbox relay, in every worker
          Map.entry("payments_worker_records_total", "payments.worker.records"),
          Map.entry("payments_worker_waiting_seconds", "payments.worker.waiting"),
          Map.entry("payments_worker_records_lost_total", "payments.worker.records.lost"),
          Map.entry(
              "payments_worker_event_latency_seconds_bucket", "payments.worker.event.latency"),
          Map.entry("payments_outbox_backlog", "payments.outbox.backlog"),
          Map.entry("payments_outbox_stalled_seconds", "payments.outbox.stalled"),
          Map.entry("payments_idempotency_owner_lock", "payments.idempotency.owner.lock"),
          // refund-worker
          Map.entry("payments_refunds_awaiting_stripe", "payments.refunds.awaiting_stripe"),
          Map.entry("payments_refunds_janitor_failures_total", "payments.refunds.janitor.failures"),
          Map.entry("payments_refunds_oldest_age_seconds", "payments.refunds.oldest.age"),
          Map.entry("payments_refunds_failed_total", "payments.refunds.failed"),
          Map.entry("payments_refunds_unrecorded_total", "payments.refunds.unrecorded"),
          Map.entry(
              "payments_refunds_awaiting_room_overdue", "payments.refunds.awaiting_room_overdue"),
          Map.entry("payments_chargebacks_recorded_total", "payments.chargebacks.recorded"),
          Map.entry("payments_users_banned_total", "payments.users.banned"),
          Map.entry("payments_disputes_inquiries_total", "payments.disputes.inquiries"),
          // common: every call to Stripe, every HTTP request served
          Map.entry("payments_stripe_requests_seconds_count", "payments.stripe.requests"),
          Map.entry("payments_stripe_requests_seconds_bucket", "payments.stripe.requests"),
          Map.entry("http_server_requests_seconds_count", "http.server.requests"),
          Map.entry("http_server_requests_seconds_bucket", "http.server.requests"),
          // payment-risk
          Map.entry("payments_risk_flags_total", "payments.risk.flags"),
          Map.entry("payments_risk_signals_stale_total", "payments.risk.signals.stale"),
          Map.entry("payments_risk_category_signals_total", "payments.risk.category.signals"),
          Map.entry("payments_risk_category_decline_ratio", "payments.risk.category.decline.ratio"),
          Map.entry("payments_risk_category_refund_ratio", "payments.risk.category.refund.ratio"),
          Map.entry("payments_risk_category_events", "payments.risk.category.events"),
          // promotion-expirer
          Map.entry("payments_expirer_last_success", "payments.expirer.last.success"),
          Map.entry("payments_expirer_clock_ahead_seconds", "payments.expirer.clock.ahead"),
          // Micrometer's KafkaClientMetrics, bound to every worker's consumer in StreamWorker (and
          // Kafka Streams' own consumers report it too, through the binder below)
          Map.entry("kafka_consumer_fetch_manager_records_lag_max", "KafkaClientMetrics"),
          // Micrometer's KafkaStreamsMetrics, bound to the risk service's Kafka Streams in
          // RiskService: the client's state (the ordinal of KafkaStreams.State, RUNNING = 2), its
          // threads, and each stream thread's rates
          Map.entry("kafka_stream_client_state", "KafkaStreamsMetrics"),
          Map.entry("kafka_stream_alive_stream_threads", "KafkaStreamsMetrics"),
          Map.entry("kafka_stream_failed_stream_threads_total", "KafkaStreamsMetrics"),
          Map.entry("kafka_stream_thread_process_rate", "KafkaStreamsMetrics"),
          Map.entry("kafka_stream_thread_commit_latency_max", "KafkaStreamsMetrics"),
          // each task's records dropped: late for their window, or unreadable
          Map.entry("kafka_stream_task_dropped_records_total", "KafkaStreamsMetrics"));

  private static final Pattern METRIC =
      Pattern.compile("\\b(?:homepage|gateway|payments|kafka|http)_[a-z0-9_]+\\b");
  private static final Pattern QUOTED = Pattern.compile("\"[^\"]*\"|'[^']*'");

  private Monitoring() {}

  /** The repository root: tests run in the module's directory. */
  static Path root() {
    return Path.of("").toAbsolutePath().getParent();
  }

  /** The metric names an expression refers to (label values in quotes are not names). */
  static Set<String> metricsIn(String expression) {
    Set<String> names = new LinkedHashSet<>();
    Matcher matcher = METRIC.matcher(QUOTED.matcher(expression).replaceAll("\"\""));
    while (matcher.find()) {
      names.add(matcher.group());
    }
    return names;
  }

  /** Whether (), [] and {} pair up, outside quotes: the most common typo in a rule. */
  static boolean balanced(String expression) {
    String text = QUOTED.matcher(expression).replaceAll("\"\"");
    StringBuilder open = new StringBuilder();
    for (char c : text.toCharArray()) {
      switch (c) {
        case '(', '[', '{' -> open.append(c);
        case ')', ']', '}' -> {
          if (open.isEmpty()) {
            return false;
          }
          char last = open.charAt(open.length() - 1);
          if ((c == ')' && last != '(') || (c == ']' && last != '[') || (c == '}' && last != '{')) {
            return false;
          }
          open.setLength(open.length() - 1);
        }
        default -> {}
      }
    }
    return open.isEmpty();
  }

  /** The anchors of the runbook's headings, as Markdown renderers make them. */
  static Set<String> runbookAnchors() {
    Set<String> anchors = new LinkedHashSet<>();
    for (String line : read(root().resolve("docs/runbook.md")).lines().toList()) {
      if (line.startsWith("#")) {
        String title = line.replaceFirst("^#+\\s*", "").strip().toLowerCase(Locale.ROOT);
        String plain = Normalizer.normalize(title, Normalizer.Form.NFKD);
        anchors.add(plain.replaceAll("[^a-z0-9 -]", "").replace(' ', '-'));
      }
    }
    return anchors;
  }

  /** Whether {@code text} appears in the main Java sources of some other module. */
  static boolean inMainSources(String text) {
    return mainSources().stream().anyMatch(source -> source.contains(text));
  }

  private static List<String> sources;

  private static synchronized List<String> mainSources() {
    if (sources == null) {
      List<String> found = new ArrayList<>();
      try {
        Files.walkFileTree(
            root(),
            new SimpleFileVisitor<>() {
              @Override
              public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                String name = dir.getFileName() == null ? "" : dir.getFileName().toString();
                boolean skip =
                    name.startsWith(".") && !dir.equals(root())
                        || name.equals("target")
                        || name.equals("test")
                        || name.equals("ops-cli");
                return skip ? FileVisitResult.SKIP_SUBTREE : FileVisitResult.CONTINUE;
              }

              @Override
              public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                if (file.toString().endsWith(".java")
                    && file.toString().contains("/src/main/java/")) {
                  found.add(read(file));
                }
                return FileVisitResult.CONTINUE;
              }
            });
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      sources = found;
    }
    return sources;
  }

  static String read(Path path) {
    try {
      return Files.readString(path);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
