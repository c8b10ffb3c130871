package io.marketplace.payments.gateway;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;

/** Posts webhooks to a gateway as Stripe does: the raw body and a {@code Stripe-Signature}. */
public final class WebhookClient implements AutoCloseable {

  private final HttpClient http =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(5))
          .build();
  private final String baseUrl;

  public WebhookClient(String baseUrl) {
    this.baseUrl = baseUrl;
  }

  /** Signs {@code body} with {@code secret} as of now and posts it. */
  public HttpResponse<String> postSigned(byte[] body, String secret) {
    return post(body, StripeSignatures.header(body, Instant.now().getEpochSecond(), secret));
  }

  /** Posts {@code body} with {@code signature} as the header, or without the header when null. */
  public HttpResponse<String> post(byte[] body, String signature) {
    return send(
        request("/webhooks/stripe", signature).POST(HttpRequest.BodyPublishers.ofByteArray(body)));
  }

  public HttpResponse<String> send(HttpRequest.Builder request) {
    try {
      return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  public HttpRequest.Builder request(String path, String signature) {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(baseUrl + path))
            .timeout(Duration.ofSeconds(30))
            .header("Content-Type", "application/json; charset=utf-8")
            .header("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)");
    if (signature != null) {
      request.header("Stripe-Signature", signature);
    }
    return request;
  }

  public HttpResponse<String> get(String path) {
    return send(
        HttpRequest.newBuilder(URI.create(baseUrl + path)).timeout(Duration.ofSeconds(30)).GET());
  }

  @Override
  public void close() {
    http.close();
  }
}
