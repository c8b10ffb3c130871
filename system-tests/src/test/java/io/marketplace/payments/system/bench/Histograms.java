package io.marketplace.payments.system.bench;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A service's Prometheus histograms, scraped from its {@code /metrics}: the bench takes one
 * snapshot before and one after a phase and reads quantiles of what happened in between, so it can
 * say where the end-to-end time went (inside the worker, or around it).
 */
final class Histograms {

  private static final Pattern BUCKET =
      Pattern.compile("^([a-z_]+)_bucket\\{(.*)le=\"([^\"]+)\"\\S*\\} (\\S+)$");

  /** Per series (name plus labels other than le), cumulative counts by upper bound in seconds. */
  private final Map<String, TreeMap<Double, Double>> series;

  private Histograms(Map<String, TreeMap<Double, Double>> series) {
    this.series = series;
  }

  static Histograms scrape(HttpClient http, String baseUrl)
      throws IOException, InterruptedException {
    HttpResponse<String> response =
        http.send(
            HttpRequest.newBuilder(URI.create(baseUrl + "/metrics"))
                .timeout(Duration.ofSeconds(10))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    Map<String, TreeMap<Double, Double>> series = new TreeMap<>();
    for (String line : response.body().split("\n")) {
      Matcher m = BUCKET.matcher(line);
      if (m.matches()) {
        double le =
            m.group(3).equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(m.group(3));
        series
            .computeIfAbsent(m.group(1) + "{" + m.group(2) + "}", k -> new TreeMap<>())
            .put(le, Double.parseDouble(m.group(4)));
      }
    }
    return new Histograms(series);
  }

  /**
   * The {@code q} quantile in milliseconds of what was observed since {@code before}, in the first
   * series whose key starts with {@code name} and contains {@code label}: the upper bound of the
   * bucket it falls in, NaN when nothing was observed.
   */
  double quantileMillisSince(Histograms before, String name, String label, double q) {
    for (var entry : series.entrySet()) {
      if (!entry.getKey().startsWith(name + "{") || !entry.getKey().contains(label)) {
        continue;
      }
      TreeMap<Double, Double> earlier = before.series.getOrDefault(entry.getKey(), new TreeMap<>());
      double total =
          entry.getValue().lastEntry().getValue()
              - earlier.getOrDefault(entry.getValue().lastKey(), 0.0);
      if (total <= 0) {
        return Double.NaN;
      }
      for (var bucket : entry.getValue().entrySet()) {
        double count = bucket.getValue() - earlier.getOrDefault(bucket.getKey(), 0.0);
        if (count >= q * total) {
          return bucket.getKey() * 1000;
        }
      }
    }
    return Double.NaN;
  }
}
