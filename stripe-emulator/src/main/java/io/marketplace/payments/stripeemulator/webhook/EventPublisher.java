package io.marketplace.payments.stripeemulator.webhook;

import io.marketplace.payments.stripeemulator.http.Ids;
import io.marketplace.payments.stripeemulator.http.RequestOrigin;
import io.marketplace.payments.stripeemulator.state.Store;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns each change into a Stripe Event, keeps it for {@code /v1/events}, and hands it to the
 * deliverer for every endpoint that takes its type. Never blocks on delivery. With {@link
 * DeliveryQuirks#twinEvents()} each change is also published as a twin: a second event of the same
 * type and {@code data.object}, under its own id, kept, journaled and delivered as any other.
 */
public final class EventPublisher {
  private final Store store;
  private final WebhookDeliverer deliverer;
  private final String apiVersion;
  private final DeliveryQuirks quirks;

  public EventPublisher(Store store, WebhookDeliverer deliverer, String apiVersion) {
    this(store, deliverer, apiVersion, new DeliveryQuirks());
  }

  public EventPublisher(
      Store store, WebhookDeliverer deliverer, String apiVersion, DeliveryQuirks quirks) {
    this.store = store;
    this.deliverer = deliverer;
    this.apiVersion = apiVersion;
    this.quirks = quirks;
  }

  /**
   * Publishes {@code type} about {@code object}, a snapshot taken now. {@code previousAttributes}
   * (the changed fields' former values) may be null.
   */
  public Event publish(
      String type,
      Map<String, Object> object,
      Map<String, Object> previousAttributes,
      RequestOrigin origin) {
    boolean twin = quirks.twinEvents();
    Event event = publishOne(type, object, previousAttributes, origin);
    if (twin) {
      publishOne(type, object, previousAttributes, origin);
    }
    return event;
  }

  private Event publishOne(
      String type,
      Map<String, Object> object,
      Map<String, Object> previousAttributes,
      RequestOrigin origin) {
    List<WebhookEndpoint> targets =
        store.webhookEndpoints().stream().filter(e -> e.accepts(type)).toList();
    String id = Ids.newId("evt");
    long created = store.now();

    Map<String, Object> data = new LinkedHashMap<>();
    data.put("object", object);
    if (previousAttributes != null && !previousAttributes.isEmpty()) {
      data.put("previous_attributes", previousAttributes);
    }
    Map<String, Object> request = new LinkedHashMap<>();
    request.put("id", origin.id());
    request.put("idempotency_key", origin.idempotencyKey());

    Map<String, Object> json = new LinkedHashMap<>();
    json.put("id", id);
    json.put("object", "event");
    json.put("api_version", apiVersion);
    json.put("created", created);
    json.put("data", data);
    json.put("livemode", false);
    json.put("pending_webhooks", targets.size());
    json.put("request", request);
    json.put("type", type);

    Event event = new Event(id, store.nextSequence(), created, type, json);
    store.put(event);
    deliverer.deliver(event, targets);
    return event;
  }
}
