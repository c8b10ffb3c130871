package io.marketplace.payments.checkout;

import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.testsupport.Await;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/** A plain HTTP client for the API under test, as the frontend would call it. */
public final class Http {

  private final String baseUrl;
  private final HttpClient client =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  public Http(String baseUrl) {
    this.baseUrl = baseUrl;
  }

  /** What came back. */
  public record Response(int status, String body, HttpResponseHeaders headers) {

    public JsonNode json() {
      try {
        return Json.mapper().readTree(body);
      } catch (IOException e) {
        throw new UncheckedIOException("not JSON: " + body, e);
      }
    }

    public Optional<String> header(String name) {
      return headers.first(name);
    }

    public String contentType() {
      return header("Content-Type").orElse("");
    }

    @Override
    public String toString() {
      return status + " " + body;
    }
  }

  /** The response headers, case-insensitively. */
  public record HttpResponseHeaders(java.net.http.HttpHeaders headers) {
    public Optional<String> first(String name) {
      return headers.firstValue(name);
    }
  }

  /** A request being built. */
  public final class Call {
    private final String method;
    private final String path;
    private final Map<String, String> headers = new LinkedHashMap<>();
    private String body;

    private Call(String method, String path) {
      this.method = method;
      this.path = path;
    }

    public Call token(String token) {
      headers.put("Authorization", "Bearer " + token);
      return this;
    }

    public Call header(String name, String value) {
      headers.put(name, value);
      return this;
    }

    public Call idempotencyKey(String key) {
      return header("Idempotency-Key", key);
    }

    public Call json(String json) {
      this.body = json;
      headers.put("Content-Type", "application/json");
      return this;
    }

    public Call json(Object value) {
      return json(Json.write(value));
    }

    /**
     * Sends again while the answer says to ({@code Retry-After}: 409 while a request with the same
     * Idempotency-Key is in progress, 503 while the server cannot take the key), as a client
     * following {@code Retry-After} does, for at most {@code within}.
     */
    public Response sendWhileInProgress(Duration within) {
      return Await.value(
          within,
          "an answer to " + method + " " + path + " that does not say to retry",
          () -> {
            Response response = send();
            return response.header("Retry-After").isPresent()
                    && (response.status() == 409 || response.status() == 503)
                ? Optional.empty()
                : Optional.of(response);
          });
    }

    public Response send() {
      HttpRequest.Builder request =
          HttpRequest.newBuilder(URI.create(baseUrl + path))
              .timeout(Duration.ofSeconds(30))
              .method(
                  method,
                  body == null
                      ? HttpRequest.BodyPublishers.noBody()
                      : HttpRequest.BodyPublishers.ofString(body));
      headers.forEach(request::header);
      try {
        HttpResponse<String> response =
            client.send(request.build(), HttpResponse.BodyHandlers.ofString());
        return new Response(
            response.statusCode(), response.body(), new HttpResponseHeaders(response.headers()));
      } catch (IOException e) {
        throw new UncheckedIOException(method + " " + path + " failed", e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted", e);
      }
    }
  }

  public Call get(String path) {
    return new Call("GET", path);
  }

  public Call post(String path) {
    return new Call("POST", path);
  }

  public Call options(String path) {
    return new Call("OPTIONS", path);
  }
}
