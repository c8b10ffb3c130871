package io.marketplace.payments.stripeemulator.webhook;

import io.marketplace.payments.stripeemulator.http.ApiRequest;
import io.marketplace.payments.stripeemulator.http.ApiResponse;
import io.marketplace.payments.stripeemulator.http.Ids;
import io.marketplace.payments.stripeemulator.http.ListPage;
import io.marketplace.payments.stripeemulator.http.Params;
import io.marketplace.payments.stripeemulator.http.StripeError;
import io.marketplace.payments.stripeemulator.state.Store;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/** {@code /v1/webhook_endpoints} and {@code /v1/events}. */
public final class WebhookEndpointController {
  private final Store store;

  public WebhookEndpointController(Store store) {
    this.store = store;
  }

  /**
   * Adds the {@code position}-th (from 1) endpoint of the emulator's configuration, taking every
   * event. Its id follows from its position, not its URL: as a Stripe endpoint whose URL is
   * updated, one configured at another address after a restart is the same endpoint, and the
   * deliveries journaled to it before the restart go to its new address.
   */
  public WebhookEndpoint addConfigured(int position, String url, String secret) {
    return add(configuredId(position), url, secret, List.of("*"), null, true);
  }

  /** The id of the {@code position}-th configured endpoint. */
  public static String configuredId(int position) {
    return "we_" + hash("configured endpoint " + position);
  }

  /**
   * The id earlier versions gave a configured endpoint, from its URL and how many configured before
   * it had the same URL: deliveries such a version journaled are resumed under the id of today.
   */
  public static String legacyConfiguredId(String url, int occurrence) {
    return "we_" + hash(occurrence + " " + url);
  }

  private static String hash(String text) {
    try {
      byte[] hash =
          MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(hash, 0, 12);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Adds an endpoint; {@code secret} null makes a fresh {@code whsec_...} as Stripe does. */
  public WebhookEndpoint add(
      String url, String secret, List<String> enabledEvents, String description) {
    return add(Ids.newId("we"), url, secret, enabledEvents, description, false);
  }

  private WebhookEndpoint add(
      String id,
      String url,
      String secret,
      List<String> enabledEvents,
      String description,
      boolean configured) {
    try {
      URI uri = URI.create(url);
      if (uri.getScheme() == null || !uri.getScheme().startsWith("http") || uri.getHost() == null) {
        throw new IllegalArgumentException();
      }
    } catch (IllegalArgumentException e) {
      throw StripeError.invalidRequest("Invalid URL: " + url, "url", "url_invalid");
    }
    WebhookEndpoint endpoint =
        new WebhookEndpoint(
            id,
            store.nextSequence(),
            store.now(),
            url,
            secret == null ? Ids.webhookSecret() : secret,
            enabledEvents,
            description,
            Map.of(),
            null,
            configured);
    store.put(endpoint);
    return endpoint;
  }

  public ApiResponse create(ApiRequest request) {
    Params p = request.params();
    String url = p.requireString("url");
    List<String> events = p.stringList("enabled_events");
    if (events.isEmpty()) {
      throw StripeError.missingParam("enabled_events");
    }
    WebhookEndpoint endpoint = add(url, null, events, p.nonEmptyString("description").orElse(null));
    return ApiResponse.ok(endpoint.toJsonWithSecret());
  }

  public ApiResponse retrieve(ApiRequest request) {
    return ApiResponse.ok(endpoint(request.pathParam("id")).toJson());
  }

  public ApiResponse list(ApiRequest request) {
    return ApiResponse.ok(
        ListPage.of(
            "/v1/webhook_endpoints",
            "webhook_endpoint",
            store.webhookEndpoints(),
            request.params()));
  }

  public ApiResponse delete(ApiRequest request) {
    WebhookEndpoint endpoint = endpoint(request.pathParam("id"));
    store.removeWebhookEndpoint(endpoint.id());
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("id", endpoint.id());
    json.put("object", "webhook_endpoint");
    json.put("deleted", true);
    return ApiResponse.ok(json);
  }

  public ApiResponse retrieveEvent(ApiRequest request) {
    String id = request.pathParam("id");
    return ApiResponse.ok(
        store.event(id).orElseThrow(() -> StripeError.noSuch("event", id, "id")).toJson());
  }

  public ApiResponse listEvents(ApiRequest request) {
    Params p = request.params();
    List<String> types = p.stringList("types");
    var events =
        store.events().stream()
            .filter(e -> p.nonEmptyString("type").map(t -> matches(t, e.type())).orElse(true))
            .filter(e -> types.isEmpty() || types.stream().anyMatch(t -> matches(t, e.type())))
            .toList();
    return ApiResponse.ok(ListPage.of("/v1/events", "event", events, p));
  }

  /** Stripe's {@code type} filter takes {@code *} as a wildcard: {@code charge.dispute.*}. */
  private static boolean matches(String pattern, String type) {
    if (!pattern.contains("*")) {
      return pattern.equals(type);
    }
    return type.matches(Pattern.quote(pattern).replace("*", "\\E.*\\Q"));
  }

  private WebhookEndpoint endpoint(String id) {
    return store
        .webhookEndpoint(id)
        .orElseThrow(() -> StripeError.noSuch("webhook_endpoint", id, "webhook_endpoint"));
  }
}
