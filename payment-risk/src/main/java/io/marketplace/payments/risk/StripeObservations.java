package io.marketplace.payments.risk;

import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.common.stripe.InvalidStripeEventException;
import io.marketplace.payments.common.stripe.StripeEvent;
import io.marketplace.payments.risk.Observation.CategoryKind;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.WindowStore;
import org.apache.kafka.streams.state.WindowStoreIterator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Consumes raw Stripe events (keyed by PaymentIntent id) and produces the {@link Observation}s they
 * hold, keyed by user id and stamped with the event's own time (never later than its arrival:
 * {@link #eventTime}). Runs on the PaymentIntent's partition, where all events of one PaymentIntent
 * meet: so a re-delivered event id is recognised here ({@link #SEEN_EVENTS}), and a dispute, which
 * carries no metadata, finds the user of its PaymentIntent ({@link #PAYMENT_INTENT_USERS}, filled
 * from {@code payment_intent.*} events), and a dispute or refund its category ({@link
 * #PAYMENT_INTENT_CATEGORIES}, likewise: a store of its own, so the users' store keeps its format).
 * Observations of a category are keyed by category id. Both are kept for {@code
 * RISK_PAYMENT_INTENT_RETENTION} after the PaymentIntent was last confirmed ({@link
 * PaymentIntentMemory}, event time), and swept every {@link #SWEEP_INTERVAL}, at most {@link
 * #SWEEP_BATCH} entries of each a time; a dispute of a PaymentIntent forgotten by then is one whose
 * PaymentIntent nobody knows: parked, as below.
 *
 * <p>Stripe does not guarantee the order of delivery: a dispute may arrive before every {@code
 * payment_intent.*} event of its PaymentIntent, when neither its user nor its category is known. It
 * is then parked ({@link #PARKED_DISPUTES}, keyed by PaymentIntent id, at the dispute's event time)
 * and observed, stamped with its own time, when a later {@code payment_intent.*} event makes the
 * PaymentIntent's user or category known; it leaves the store then, so it counts once. A parked
 * dispute is kept for the dedupe retention (event time: the latest this task processed), after
 * which it expires uncounted.
 *
 * <p>The payments of a category's rates count once per fact, not per event: a declined attempt once
 * (Stripe may report one in two events), a PaymentIntent's success once (a reconciliation
 * republishes one as {@code evt_reconcile_<pi>_succeeded} besides Stripe's event), a refund once
 * (reported by {@code refund.created}, and listed again by every later {@code charge.refunded} of
 * its charge, which lists all its refunds so far), remembered in {@link #COUNTED_PAYMENTS} for the
 * dedupe retention, so the fact counts in the window of its first event. A listed refund created
 * longer ago than that is skipped: whether it was counted is forgotten.
 */
final class StripeObservations implements Processor<String, byte[], String, Observation> {

  static final String SEEN_EVENTS = "risk-seen-events";
  static final String PAYMENT_INTENT_USERS = "risk-payment-intent-users";
  static final String PAYMENT_INTENT_CATEGORIES = "risk-payment-intent-categories";
  static final String PARKED_DISPUTES = "risk-parked-disputes";
  static final String COUNTED_PAYMENTS = "risk-category-counted";

  /** How often the PaymentIntents' user and category stores are swept of expired entries. */
  static final Duration SWEEP_INTERVAL = Duration.ofSeconds(10);

  /**
   * The entries of each store a sweep looks at, at most: a few milliseconds of the stream thread,
   * within its transaction. Up to 360,000 an hour per store and task: the few million entries a
   * busy partition holds over the retention are looked at several times a day.
   */
  static final int SWEEP_BATCH = 1_000;

  private static final Logger log = LoggerFactory.getLogger(StripeObservations.class);

  /**
   * How far Stripe's clock may run ahead of the one that stamped the record (and {@code created} is
   * whole seconds) before an event dated after its arrival is logged; it is dated by its arrival
   * either way.
   */
  static final Duration CLOCK_SKEW = Duration.ofMinutes(1);

  /**
   * The events in which a card is tried: only these count its fingerprint. A refund or a dispute of
   * an old payment shows the card it was paid with, but nobody tried it now.
   */
  private static final Set<String> ATTEMPTS =
      Set.of(
          "payment_intent.succeeded",
          "payment_intent.payment_failed",
          "payment_intent.processing",
          "payment_intent.requires_action",
          "charge.succeeded",
          "charge.failed",
          "charge.pending");

  private final Duration dedupeRetention;
  private final Duration paymentIntentRetention;
  private ProcessorContext<String, Observation> context;
  private WindowStore<String, Long> seen;
  private PaymentIntentMemory users;
  private PaymentIntentMemory categories;
  private WindowStore<String, ParkedDisputes> parked;
  private WindowStore<String, Long> counted;

  /** The latest event time this task processed since it started; none yet when negative. */
  private long latestEventTime = -1;

  StripeObservations(Duration dedupeRetention, Duration paymentIntentRetention) {
    this.dedupeRetention = dedupeRetention;
    this.paymentIntentRetention = paymentIntentRetention;
  }

  @Override
  public void init(ProcessorContext<String, Observation> context) {
    this.context = context;
    this.seen = context.getStateStore(SEEN_EVENTS);
    this.users =
        new PaymentIntentMemory(
            context.getStateStore(PAYMENT_INTENT_USERS), paymentIntentRetention);
    this.categories =
        new PaymentIntentMemory(
            context.getStateStore(PAYMENT_INTENT_CATEGORIES), paymentIntentRetention);
    this.parked = context.getStateStore(PARKED_DISPUTES);
    this.counted = context.getStateStore(COUNTED_PAYMENTS);
    context.schedule(SWEEP_INTERVAL, PunctuationType.WALL_CLOCK_TIME, this::sweep);
  }

  /**
   * Forgets the PaymentIntents last confirmed longer than the retention ago, in event time: the
   * latest this task processed, never later than the wall clock ({@link PaymentIntentMemory}).
   */
  private void sweep(long wallClock) {
    if (latestEventTime < 0) {
      return; // no event since the start: nothing tells how old the entries are
    }
    long now = Math.min(latestEventTime, wallClock);
    int forgotten = users.sweep(now, SWEEP_BATCH) + categories.sweep(now, SWEEP_BATCH);
    if (forgotten > 0) {
      log.debug("forgot {} PaymentIntents' users or categories", forgotten);
    }
  }

  @Override
  public void process(Record<String, byte[]> record) {
    if (record.value() == null) {
      return;
    }
    StripeEvent event;
    try {
      event = StripeEvent.parse(record.value());
    } catch (InvalidStripeEventException | DateTimeException e) {
      // DateTimeException: a "created" past any date a clock can read
      log.warn("skipping a record that is not a Stripe event: {}", e.getMessage());
      return;
    }
    long at = eventTime(event, record.timestamp());
    if (alreadySeen(event.id(), at)) {
      return;
    }
    seen.put(event.id(), at, at);
    latestEventTime = Math.max(latestEventTime, at);

    Optional<String> paymentIntent = event.paymentIntentId();
    Optional<String> metadataUser = event.metadata("user_id");
    Optional<String> metadataCategory = event.metadata("category_id");
    boolean madeKnown = false;
    if (event.type().startsWith("payment_intent.")
        && paymentIntent.isPresent()
        && (metadataUser.isPresent() || metadataCategory.isPresent())) {
      // a dispute is parked only while neither is known: only the event that makes one known
      // can find parked disputes
      madeKnown = unknown(paymentIntent.get());
      metadataUser.ifPresent(user -> users.remember(paymentIntent.get(), user, at));
      metadataCategory.ifPresent(
          category -> categories.remember(paymentIntent.get(), category, at));
    }
    // any event of the PaymentIntent keeps it remembered: a dispute's escalation may come weeks
    // after the dispute, which may come months after the payment
    paymentIntent.ifPresent(
        pi -> {
          users.confirm(pi, at);
          categories.confirm(pi, at);
        });
    Optional<String> user = metadataUser.or(() -> paymentIntent.map(users::get));
    // a refund's metadata is the refund's own: its category is its PaymentIntent's
    Optional<String> category =
        (event.type().startsWith("payment_intent.") ? metadataCategory : Optional.<String>empty())
            .or(() -> paymentIntent.map(categories::get));
    Instant occurredAt = Instant.ofEpochMilli(at);
    if (madeKnown) {
      releaseParkedDisputes(paymentIntent.get(), user, category);
    }
    category.ifPresent(c -> observeCategory(event, c, occurredAt, at));

    switch (event.type()) {
      // a declined attempt is its charge: Stripe may report one in two events, whose times may
      // fall either side of a window's boundary; it counts once, in the window of its first
      case "payment_intent.payment_failed" ->
          user.ifPresent(
              u ->
                  emitOnce(
                      Observation.ofUser(
                          u, Signal.CARD_TESTING_DECLINES, event.failedAttempt(), occurredAt),
                      at));
      case "charge.dispute.created", "charge.dispute.updated", "charge.dispute.funds_withdrawn" ->
          dispute(event, paymentIntent, user, category, occurredAt, at);
      default -> {}
    }
    // a card counts where it was tried, not where an old payment of it is refunded or disputed
    if (user.isPresent() && ATTEMPTS.contains(event.type())) {
      for (String fingerprint : fingerprints(event.object())) {
        emit(
            Observation.ofUser(
                user.get(), Signal.CARD_TESTING_FINGERPRINTS, fingerprint, occurredAt),
            at);
      }
    }
  }

  /**
   * When an event happened: its {@code created}, but never after its record reached the topic
   * ({@code arrived}, the record's timestamp, which the broker held within its bounds and which a
   * replay reads again as it was), else that arrival. Dated ahead of its arrival (a sender's clock
   * far ahead, a record written by hand), an event would move the stream time of its partitions
   * ahead, so that the events that follow in real time are dropped as late, and date a flag's
   * cool-down from then; over an hour ahead of the broker's clock its observation is refused on the
   * repartition topic, and past the milliseconds a {@code long} holds it cannot be dated at all:
   * either failed the stream thread at every try, and nothing more was counted.
   */
  static long eventTime(StripeEvent event, long arrived) {
    Instant created = event.created();
    if (created == null) {
      return arrived;
    }
    Instant arrivedAt = Instant.ofEpochMilli(arrived);
    if (!created.isAfter(arrivedAt)) {
      return created.toEpochMilli();
    }
    if (created.isAfter(arrivedAt.plus(CLOCK_SKEW))) {
      log.warn(
          "event {} ({}) is dated {}, after it reached the topic at {}: counted as of its arrival",
          event.id(),
          event.type(),
          created,
          arrivedAt);
    }
    return arrived;
  }

  /**
   * A dispute counts once, by its {@code du_} id, from the event in which it is a chargeback: its
   * creation, or an inquiry's escalation ({@code charge.dispute.updated} from a {@code warning_*}
   * status, with {@code charge.dispute.funds_withdrawn}), as the refund worker counts it toward a
   * ban. Its later events (evidence, closing) are not a new chargeback.
   */
  private void dispute(
      StripeEvent event,
      Optional<String> paymentIntent,
      Optional<String> user,
      Optional<String> category,
      Instant occurredAt,
      long at) {
    if (!isChargeback(event)) {
      return; // an inquiry, or prevented before it was a chargeback
    }
    if ("charge.dispute.updated".equals(event.type()) && !escalated(event)) {
      return;
    }
    if (user.isEmpty() && category.isEmpty() && paymentIntent.isPresent()) {
      park(paymentIntent.get(), event.objectId(), at);
      return;
    }
    category.ifPresent(
        c ->
            emitOnce(
                Observation.ofCategory(c, CategoryKind.DISPUTE, event.objectId(), occurredAt), at));
    if (user.isEmpty()) {
      log.warn(
          "dispute {} of PaymentIntent {} has no known user; not counted",
          event.objectId(),
          paymentIntent.orElse("?"));
      return;
    }
    emitOnce(
        Observation.ofUser(user.get(), Signal.CHARGEBACK_SPIKE, event.objectId(), occurredAt), at);
  }

  /** Whether an update moved an inquiry ({@code warning_*}) on to a chargeback. */
  private static boolean escalated(StripeEvent event) {
    return event
        .raw()
        .path("data")
        .path("previous_attributes")
        .path("status")
        .asText("")
        .startsWith("warning_");
  }

  /** The category observations of an event whose PaymentIntent's category is known. */
  private void observeCategory(StripeEvent event, String category, Instant occurredAt, long at) {
    switch (event.type()) {
      // once per PaymentIntent: a reconciliation republishes a success Stripe may also deliver
      // (evt_reconcile_<pi>_succeeded)
      case "payment_intent.succeeded" ->
          emitOnce(
              Observation.ofCategory(
                  category, CategoryKind.SUCCEEDED, event.objectId(), occurredAt),
              at);
      // once per declined attempt, as toward card testing: Stripe may report one in two events
      case "payment_intent.payment_failed" ->
          emitOnce(
              Observation.ofCategory(
                  category, CategoryKind.DECLINED, event.failedAttempt(), occurredAt),
              at);
      // the same refund may come as refund.created and listed in charge.refunded (older API
      // versions), and charge.refunded lists every refund of the charge so far: counted by its
      // re_ id, once, in the hour of its first event
      case "refund.created" -> refund(category, event.object(), occurredAt, at);
      case "charge.refunded" -> {
        for (JsonNode refund : event.object().path("refunds").path("data")) {
          refund(category, refund, occurredAt, at);
        }
      }
      default -> {}
    }
  }

  private void refund(String category, JsonNode refund, Instant occurredAt, long at) {
    String id = refund.path("id").asText("");
    if (!id.startsWith("re_") && !id.startsWith("pyr_")) {
      return;
    }
    long created = refund.path("created").asLong(0);
    if (created > 0 && created * 1000 < at - dedupeRetention.toMillis()) {
      return; // older than what is remembered of counted refunds: it was counted when it was new
    }
    emitOnce(Observation.ofCategory(category, CategoryKind.REFUNDED, id, occurredAt), at);
  }

  /**
   * Whether a dispute is a chargeback: not an inquiry ({@code warning_*}: no money moved), nor one
   * Stripe's dispute prevention resolved before it became one ({@code prevented}), as the refund
   * worker counts them toward a ban.
   */
  private static boolean isChargeback(StripeEvent event) {
    String status = event.object().path("status").asText("");
    return !status.startsWith("warning_") && !"prevented".equals(status);
  }

  private boolean unknown(String paymentIntent) {
    return users.get(paymentIntent) == null && categories.get(paymentIntent) == null;
  }

  /** Keeps a dispute whose PaymentIntent nobody knows yet, at its own event time. */
  private void park(String paymentIntent, String disputeId, long at) {
    ParkedDisputes already = parked.fetch(paymentIntent, at);
    parked.put(
        paymentIntent,
        already == null ? ParkedDisputes.of(disputeId) : already.with(disputeId),
        at);
    log.info(
        "dispute {} of PaymentIntent {} arrived before the PaymentIntent's events; parked until"
            + " they make its user known",
        disputeId,
        paymentIntent);
  }

  /**
   * Observes the disputes parked for a PaymentIntent whose user or category just became known, each
   * in its own event time (so in the window it would have counted in had it come in order), and
   * forgets them. Those parked longer than the dedupe retention ago (event time: the latest this
   * task processed) had expired: forgotten uncounted. The parked store's own clock moves only when
   * a dispute is parked, so its retention alone could keep one for months, and its observation,
   * older than any window still open, would be dropped as late (and alert as such).
   */
  private void releaseParkedDisputes(
      String paymentIntent, Optional<String> user, Optional<String> category) {
    List<KeyValue<Long, ParkedDisputes>> found = new ArrayList<>();
    try (WindowStoreIterator<ParkedDisputes> hits =
        parked.fetch(paymentIntent, 0L, Long.MAX_VALUE)) {
      hits.forEachRemaining(found::add);
    }
    long expired = latestEventTime - dedupeRetention.toMillis();
    for (KeyValue<Long, ParkedDisputes> entry : found) {
      long at = entry.key;
      if (at < expired) {
        parked.put(paymentIntent, null, at);
        log.info(
            "disputes {} of PaymentIntent {}, parked at {}, expired uncounted: its user or category"
                + " became known longer than {} after",
            entry.value.disputeIds(),
            paymentIntent,
            Instant.ofEpochMilli(at),
            dedupeRetention);
        continue;
      }
      Instant occurredAt = Instant.ofEpochMilli(at);
      for (String disputeId : entry.value.disputeIds()) {
        user.ifPresent(
            u ->
                emitOnce(
                    Observation.ofUser(u, Signal.CHARGEBACK_SPIKE, disputeId, occurredAt), at));
        category.ifPresent(
            c ->
                emitOnce(
                    Observation.ofCategory(c, CategoryKind.DISPUTE, disputeId, occurredAt), at));
      }
      parked.put(paymentIntent, null, at);
    }
  }

  /**
   * Emits an observation unless its fact (a category's kind, or a user's signal, and the member)
   * was counted within the dedupe retention, and remembers it: a fact counts once, in the window of
   * its first event.
   */
  private void emitOnce(Observation observation, long at) {
    String fact =
        (observation.categoryScoped() ? observation.kind().name() : observation.signal().name())
            + ":"
            + observation.member();
    long span = dedupeRetention.toMillis();
    try (WindowStoreIterator<Long> hits = counted.fetch(fact, at - span, at + span)) {
      if (hits.hasNext()) {
        return;
      }
    }
    counted.put(fact, at, at);
    emit(observation, at);
  }

  private boolean alreadySeen(String eventId, long at) {
    long span = dedupeRetention.toMillis();
    try (WindowStoreIterator<Long> hits = seen.fetch(eventId, at - span, at + span)) {
      return hits.hasNext();
    }
  }

  private void emit(Observation observation, long at) {
    String key = observation.categoryScoped() ? observation.categoryId() : observation.userId();
    context.forward(new Record<>(key, observation, at));
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
