package io.marketplace.payments.risk;

import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.common.stripe.InvalidStripeEventException;
import io.marketplace.payments.common.stripe.StripeEvent;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashSet;
import java.util.Optional;
import java.util.Set;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.WindowStore;
import org.apache.kafka.streams.state.WindowStoreIterator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Consumes raw Stripe events (keyed by PaymentIntent id) and produces the {@link Observation}s they
 * hold, keyed by user id and stamped with the event's own time. Runs on the PaymentIntent's
 * partition, where all events of one PaymentIntent meet: so a re-delivered event id is recognised
 * here ({@link #SEEN_EVENTS}), and a dispute, which carries no metadata, finds the user of its
 * PaymentIntent ({@link #PAYMENT_INTENT_USERS}, filled from {@code payment_intent.*} events).
 */
final class StripeObservations implements Processor<String, byte[], String, Observation> {

  static final String SEEN_EVENTS = "risk-seen-events";
  static final String PAYMENT_INTENT_USERS = "risk-payment-intent-users";

  private static final Logger log = LoggerFactory.getLogger(StripeObservations.class);

  private final Duration dedupeRetention;
  private ProcessorContext<String, Observation> context;
  private WindowStore<String, Long> seen;
  private KeyValueStore<String, String> users;

  StripeObservations(Duration dedupeRetention) {
    this.dedupeRetention = dedupeRetention;
  }

  @Override
  public void init(ProcessorContext<String, Observation> context) {
    this.context = context;
    this.seen = context.getStateStore(SEEN_EVENTS);
    this.users = context.getStateStore(PAYMENT_INTENT_USERS);
  }

  @Override
  public void process(Record<String, byte[]> record) {
    if (record.value() == null) {
      return;
    }
    StripeEvent event;
    try {
      event = StripeEvent.parse(record.value());
    } catch (InvalidStripeEventException e) {
      log.warn("skipping a record that is not a Stripe event: {}", e.getMessage());
      return;
    }
    long at =
        event.created().getEpochSecond() > 0 ? event.created().toEpochMilli() : record.timestamp();
    if (alreadySeen(event.id(), at)) {
      return;
    }
    seen.put(event.id(), at, at);

    Optional<String> paymentIntent = event.paymentIntentId();
    Optional<String> metadataUser = event.metadata("user_id");
    if (event.type().startsWith("payment_intent.") && paymentIntent.isPresent()) {
      metadataUser.ifPresent(user -> users.put(paymentIntent.get(), user));
    }
    Optional<String> user = metadataUser.or(() -> paymentIntent.map(users::get));
    Instant occurredAt = Instant.ofEpochMilli(at);

    switch (event.type()) {
      case "payment_intent.payment_failed" ->
          user.ifPresent(
              u ->
                  emit(
                      new Observation(u, Signal.CARD_TESTING_DECLINES, event.id(), occurredAt),
                      at));
      case "charge.dispute.created" -> {
        String status = event.object().path("status").asText("");
        if (status.startsWith("warning_")) {
          return; // an inquiry, not a chargeback
        }
        if (user.isEmpty()) {
          log.warn(
              "dispute {} of PaymentIntent {} has no known user; not counted",
              event.objectId(),
              paymentIntent.orElse("?"));
          return;
        }
        emit(
            new Observation(user.get(), Signal.CHARGEBACK_SPIKE, event.objectId(), occurredAt), at);
      }
      default -> {}
    }
    if (user.isPresent()) {
      for (String fingerprint : fingerprints(event.object())) {
        emit(
            new Observation(user.get(), Signal.CARD_TESTING_FINGERPRINTS, fingerprint, occurredAt),
            at);
      }
    }
  }

  private boolean alreadySeen(String eventId, long at) {
    long span = dedupeRetention.toMillis();
    try (WindowStoreIterator<Long> hits = seen.fetch(eventId, at - span, at + span)) {
      return hits.hasNext();
    }
  }

  private void emit(Observation observation, long at) {
    context.forward(new Record<>(observation.userId(), observation, at));
  }

  /**
   * The card fingerprints an event shows, wherever the API version puts them: the declined card of
   * a PaymentIntent, a charge's card, a PaymentIntent's expanded or legacy embedded charges.
   */
  static Set<String> fingerprints(JsonNode object) {
    Set<String> found = new LinkedHashSet<>();
    add(found, object.path("last_payment_error").path("payment_method"));
    add(found, object.path("payment_method"));
    addCharge(found, object);
    addCharge(found, object.path("latest_charge"));
    for (JsonNode charge : object.path("charges").path("data")) {
      addCharge(found, charge);
    }
    return found;
  }

  private static void addCharge(Set<String> found, JsonNode charge) {
    JsonNode fingerprint = charge.path("payment_method_details").path("card").path("fingerprint");
    if (fingerprint.isTextual() && !fingerprint.asText().isBlank()) {
      found.add(fingerprint.asText());
    }
  }

  private static void add(Set<String> found, JsonNode paymentMethod) {
    JsonNode fingerprint = paymentMethod.path("card").path("fingerprint");
    if (fingerprint.isTextual() && !fingerprint.asText().isBlank()) {
      found.add(fingerprint.asText());
    }
  }
}
