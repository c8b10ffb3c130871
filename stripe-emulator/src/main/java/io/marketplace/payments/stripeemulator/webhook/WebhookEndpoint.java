package io.marketplace.payments.stripeemulator.webhook;

import io.marketplace.payments.stripeemulator.http.Listed;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where events go: a URL, the {@code whsec_} secret that signs them, and the event types it takes
 * ({@code *} for all). {@code configured} endpoints come from the emulator's configuration and are
 * not persisted; the others were added at runtime.
 */
public record WebhookEndpoint(
    String id,
    long sequence,
    long created,
    String url,
    String secret,
    List<String> enabledEvents,
    String description,
    Map<String, String> metadata,
    String apiVersion,
    boolean configured)
    implements Listed {

  public WebhookEndpoint {
    enabledEvents = List.copyOf(enabledEvents);
    metadata = metadata == null ? Map.of() : Map.copyOf(metadata);
  }

  public boolean accepts(String eventType) {
    return enabledEvents.contains("*") || enabledEvents.contains(eventType);
  }

  /** As retrieved: Stripe shows the secret only in the answer to the create call. */
  @Override
  public Map<String, Object> toJson() {
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("id", id);
    json.put("object", "webhook_endpoint");
    json.put("api_version", apiVersion);
    json.put("application", null);
    json.put("created", created);
    json.put("description", description);
    json.put("enabled_events", enabledEvents);
    json.put("livemode", false);
    json.put("metadata", new LinkedHashMap<>(metadata));
    json.put("status", "enabled");
    json.put("url", url);
    return json;
  }

  public Map<String, Object> toJsonWithSecret() {
    Map<String, Object> json = toJson();
    json.put("secret", secret);
    return json;
  }
}
