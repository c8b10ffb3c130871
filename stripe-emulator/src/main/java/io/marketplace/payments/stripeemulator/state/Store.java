package io.marketplace.payments.stripeemulator.state;

import io.marketplace.payments.stripeemulator.dispute.Dispute;
import io.marketplace.payments.stripeemulator.http.IdempotencyStore;
import io.marketplace.payments.stripeemulator.http.Listed;
import io.marketplace.payments.stripeemulator.payment.Charge;
import io.marketplace.payments.stripeemulator.payment.PaymentIntent;
import io.marketplace.payments.stripeemulator.payment.PaymentMethod;
import io.marketplace.payments.stripeemulator.refund.Refund;
import io.marketplace.payments.stripeemulator.webhook.Event;
import io.marketplace.payments.stripeemulator.webhook.WebhookDelivery;
import io.marketplace.payments.stripeemulator.webhook.WebhookEndpoint;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * Every Stripe object the emulator holds, in memory. Objects are immutable records replaced whole.
 * A PaymentIntent and everything hanging off it (charges, refunds, disputes) change only under that
 * PaymentIntent's lock, so concurrent confirms, refunds and disputes of one payment serialize while
 * different payments proceed in parallel. Every change also goes to the {@link ChangeLog}, which a
 * locked section syncs before it returns: an API call answers only once its changes are durable.
 */
public final class Store {
  private final Clock clock;
  private final AtomicLong sequence = new AtomicLong();
  private final ConcurrentHashMap<String, ReentrantLock> locks = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, PaymentIntent> paymentIntents = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Charge> charges = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, PaymentMethod> paymentMethods = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Refund> refunds = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Dispute> disputes = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, WebhookEndpoint> webhookEndpoints =
      new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Event> events = new ConcurrentHashMap<>();
  private final Object acknowledgements = new Object();
  private final ChangeLog log;

  public Store(Clock clock, ChangeLog log) {
    this.clock = clock;
    this.log = log;
  }

  public ChangeLog log() {
    return log;
  }

  public long nextSequence() {
    return sequence.incrementAndGet();
  }

  /** Now, in Unix seconds, from the configured clock. */
  public long now() {
    return clock.instant().getEpochSecond();
  }

  public Clock clock() {
    return clock;
  }

  /** Runs {@code work} holding the lock of one PaymentIntent, then syncs its changes to disk. */
  public <T> T locked(String paymentIntentId, Supplier<T> work) {
    ReentrantLock lock = locks.computeIfAbsent(paymentIntentId, id -> new ReentrantLock());
    lock.lock();
    try {
      return work.get();
    } finally {
      lock.unlock();
      log.sync();
    }
  }

  public Optional<PaymentIntent> paymentIntent(String id) {
    return Optional.ofNullable(id).map(paymentIntents::get);
  }

  public Optional<Charge> charge(String id) {
    return Optional.ofNullable(id).map(charges::get);
  }

  public Optional<PaymentMethod> paymentMethod(String id) {
    return Optional.ofNullable(id).map(paymentMethods::get);
  }

  public Optional<Refund> refund(String id) {
    return Optional.ofNullable(id).map(refunds::get);
  }

  public Optional<Dispute> dispute(String id) {
    return Optional.ofNullable(id).map(disputes::get);
  }

  public Optional<Event> event(String id) {
    return Optional.ofNullable(id).map(events::get);
  }

  public Optional<WebhookEndpoint> webhookEndpoint(String id) {
    return Optional.ofNullable(id).map(webhookEndpoints::get);
  }

  public void put(PaymentIntent pi) {
    log.append(Change.of(pi));
    paymentIntents.put(pi.id(), pi);
  }

  public void put(Charge charge) {
    log.append(Change.of(charge));
    charges.put(charge.id(), charge);
  }

  public void put(PaymentMethod pm) {
    log.append(Change.of(pm));
    paymentMethods.put(pm.id(), pm);
  }

  public void put(Refund refund) {
    log.append(Change.of(refund));
    refunds.put(refund.id(), refund);
  }

  public void put(Dispute dispute) {
    log.append(Change.of(dispute));
    disputes.put(dispute.id(), dispute);
  }

  public void put(Event event) {
    log.append(Change.of(event));
    events.put(event.id(), event);
  }

  /**
   * One more endpoint received {@code eventId}: its {@code pending_webhooks} drops by one, durably.
   */
  public void acknowledge(String eventId) {
    synchronized (acknowledgements) {
      Event event = events.get(eventId);
      if (event == null || event.pendingWebhooks() <= 0) {
        return;
      }
      put(event.withPendingWebhooks(event.pendingWebhooks() - 1));
      log.sync();
    }
  }

  /** Configured endpoints come from the configuration at every start and are not journaled. */
  public void put(WebhookEndpoint endpoint) {
    if (!endpoint.configured()) {
      log.append(Change.of(endpoint));
      log.sync();
    }
    webhookEndpoints.put(endpoint.id(), endpoint);
  }

  /**
   * Forgets a PaymentIntent, as Stripe's "delete all test data" does: every call naming it answers
   * 404 from now on. The journal's deletion line names the id, whatever its kind.
   */
  public boolean removePaymentIntent(String id) {
    boolean removed = paymentIntents.remove(id) != null;
    log.append(Change.deleted(id));
    return removed;
  }

  public boolean removeWebhookEndpoint(String id) {
    boolean removed = webhookEndpoints.remove(id) != null;
    log.append(Change.deleted(id));
    log.sync();
    return removed;
  }

  public List<PaymentIntent> paymentIntents() {
    return List.copyOf(paymentIntents.values());
  }

  public List<Charge> charges() {
    return List.copyOf(charges.values());
  }

  public List<PaymentMethod> paymentMethods() {
    return List.copyOf(paymentMethods.values());
  }

  public List<Refund> refunds() {
    return List.copyOf(refunds.values());
  }

  public List<Dispute> disputes() {
    return List.copyOf(disputes.values());
  }

  public List<Event> events() {
    return List.copyOf(events.values());
  }

  public List<WebhookEndpoint> webhookEndpoints() {
    return List.copyOf(webhookEndpoints.values());
  }

  /** Any object by id, for {@code expand[]}: the prefix says which kind. */
  public Optional<Map<String, Object>> findJson(String id) {
    if (id == null) {
      return Optional.empty();
    }
    Optional<? extends Listed> found =
        switch (id.substring(0, Math.max(0, id.indexOf('_')))) {
          case "pi" -> paymentIntent(id);
          case "ch" -> charge(id);
          case "pm" -> paymentMethod(id);
          case "re" -> refund(id);
          case "du", "dp" -> dispute(id);
          case "evt" -> event(id);
          default -> Optional.empty();
        };
    return found.map(Listed::toJson);
  }

  /** Everything but configured webhook endpoints, for the journal's compaction. */
  public StateSnapshot snapshot(
      List<IdempotencyStore.Saved> idempotency, List<WebhookDelivery> deliveries) {
    return new StateSnapshot(
        sequence.get(),
        paymentIntents(),
        charges(),
        paymentMethods(),
        refunds(),
        disputes(),
        webhookEndpoints().stream().filter(e -> !e.configured()).toList(),
        events(),
        idempotency,
        deliveries);
  }

  /** Takes back what a journal replayed, without journaling it again. */
  public void restore(StateSnapshot snapshot) {
    sequence.set(Math.max(sequence.get(), snapshot.sequence()));
    snapshot.paymentIntents().forEach(p -> paymentIntents.put(p.id(), p));
    snapshot.charges().forEach(c -> charges.put(c.id(), c));
    snapshot.paymentMethods().forEach(p -> paymentMethods.put(p.id(), p));
    snapshot.refunds().forEach(r -> refunds.put(r.id(), r));
    snapshot.disputes().forEach(d -> disputes.put(d.id(), d));
    snapshot.webhookEndpoints().forEach(w -> webhookEndpoints.put(w.id(), w));
    snapshot.events().forEach(e -> events.put(e.id(), e));
  }
}
