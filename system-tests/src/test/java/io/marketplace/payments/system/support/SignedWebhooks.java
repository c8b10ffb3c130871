package io.marketplace.payments.system.support;

import io.marketplace.payments.stripeemulator.WebhookSigner;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;

/** Posts webhooks to the gateway the way Stripe does: the raw body, signed with the secret. */
public final class SignedWebhooks {

  /** What Stripe saw: the status, how long the answer took, and its {@code Retry-After}. */
  public record Answer(int status, Duration took, String retryAfter) {}

  private final HttpClient http =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(5))
          .build();
  private final URI url;
  private final String secret;

  public SignedWebhooks(String webhookUrl, String secret) {
    this.url = URI.create(webhookUrl);
    this.secret = secret;
  }

  /** Posts {@code body}; a connection failure is answered as status 0. */
  public Answer post(String body) {
    long started = System.nanoTime();
    HttpRequest request =
        HttpRequest.newBuilder(url)
            .timeout(Duration.ofSeconds(30))
            .header("Content-Type", "application/json")
            .header(
                WebhookSigner.HEADER,
                WebhookSigner.signatureHeader(body, Instant.now().getEpochSecond(), secret))
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build();
    try {
      HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
      return new Answer(
          response.statusCode(),
          Duration.ofNanos(System.nanoTime() - started),
          response.headers().firstValue("Retry-After").orElse(""));
    } catch (IOException e) {
      return new Answer(0, Duration.ofNanos(System.nanoTime() - started), "");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
