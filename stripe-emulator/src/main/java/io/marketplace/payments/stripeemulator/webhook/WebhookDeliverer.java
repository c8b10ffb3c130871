package io.marketplace.payments.stripeemulator.webhook;

import io.marketplace.payments.stripeemulator.WebhookAttempt;
import io.marketplace.payments.stripeemulator.WebhookSigner;
import io.marketplace.payments.stripeemulator.http.Json;
import io.marketplace.payments.stripeemulator.state.Change;
import io.marketplace.payments.stripeemulator.state.Store;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers events as Stripe does: an HTTP POST of the JSON event, signed in {@code
 * Stripe-Signature} with a fresh timestamp on every try, from a small pool of threads, so the order
 * of arrival is not the order of events. A non-2xx answer or no answer is retried with exponential
 * backoff ({@code baseDelay * 2^(n-1)}, at most a day apart) up to {@code maxAttempts} tries. While
 * paused, due deliveries are held and go out on resume.
 *
 * <p>Each delivery's progress is journaled ({@link WebhookDelivery}): nothing is sent before the
 * event and its pending delivery are durable, and a 2xx is recorded (and the event's {@code
 * pending_webhooks} lowered) durably, so a restarted emulator resumes exactly the deliveries not
 * yet acknowledged, at their due time, and does not resend the others (a crash between an
 * endpoint's 2xx and its record can still resend one: at least once, as Stripe).
 *
 * <p>{@link DeliveryQuirks} may make it harsher, as Stripe can be: an acknowledged event delivered
 * again ({@link DeliveryQuirks#redeliveries()}), and held deliveries released one after another in
 * reverse or shuffled order ({@link DeliveryQuirks#resumeOrder()}). A redelivery is a copy of a
 * delivery already recorded as succeeded: it is neither journaled nor acknowledged, so a restarted
 * emulator neither resends it nor counts it against {@code pending_webhooks}.
 */
public final class WebhookDeliverer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(WebhookDeliverer.class);
  private static final Duration MAX_DELAY = Duration.ofDays(1);
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);
  private static final int KEPT_ATTEMPTS = 10_000;
  private static final String USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)";

  /**
   * One try of an event to an endpoint: {@code redeliveriesLeft} copies still to send after it
   * succeeds; {@code redelivery} marks a copy of one already acknowledged.
   */
  private record Delivery(
      Event event,
      String payload,
      WebhookEndpoint endpoint,
      int attempt,
      int redeliveriesLeft,
      boolean redelivery) {
    Delivery next() {
      return new Delivery(event, payload, endpoint, attempt + 1, redeliveriesLeft, redelivery);
    }

    Delivery redeliver() {
      return new Delivery(event, payload, endpoint, attempt + 1, redeliveriesLeft - 1, true);
    }
  }

  private final Duration baseDelay;
  private final int maxAttempts;
  private final Clock clock;
  private final Store store;
  private final DeliveryQuirks quirks;
  private final HttpClient http;
  private final ScheduledExecutorService executor;
  private final AtomicBoolean paused = new AtomicBoolean();
  private final ConcurrentLinkedQueue<Delivery> held = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<WebhookAttempt> attempts = new ConcurrentLinkedQueue<>();
  private final AtomicInteger attemptCount = new AtomicInteger();

  public WebhookDeliverer(Duration baseDelay, int maxAttempts, Clock clock, Store store) {
    this(baseDelay, maxAttempts, clock, store, new DeliveryQuirks());
  }

  public WebhookDeliverer(
      Duration baseDelay, int maxAttempts, Clock clock, Store store, DeliveryQuirks quirks) {
    this.baseDelay = baseDelay;
    this.maxAttempts = maxAttempts;
    this.clock = clock;
    this.store = store;
    this.quirks = quirks;
    this.http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .followRedirects(HttpClient.Redirect.NEVER)
            .build();
    AtomicInteger threads = new AtomicInteger();
    this.executor =
        Executors.newScheduledThreadPool(
            2,
            r -> {
              Thread t = new Thread(r, "stripe-emulator-webhooks-" + threads.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
  }

  public void deliver(Event event, List<WebhookEndpoint> endpoints) {
    if (endpoints.isEmpty()) {
      return;
    }
    String payload = Json.pretty(event.json());
    long now = System.currentTimeMillis();
    int redeliveries = quirks.redeliveries();
    for (WebhookEndpoint endpoint : endpoints) {
      store
          .log()
          .append(
              Change.of(
                  new WebhookDelivery(
                      event.id(), endpoint.id(), 0, now, WebhookDelivery.Status.PENDING)));
      sendOrHold(new Delivery(event, payload, endpoint, 1, redeliveries, false));
    }
  }

  /**
   * A new event's first delivery: held at once while paused, so that a resume right after releases
   * it with the others in the order asked for, rather than racing it from the pool.
   */
  private void sendOrHold(Delivery delivery) {
    synchronized (held) {
      if (paused.get()) {
        held.add(delivery);
        return;
      }
    }
    schedule(delivery, 0);
  }

  /**
   * Resumes deliveries a previous run left pending, each at its due time (wall clock) and counting
   * its earlier tries; one whose event or endpoint no longer exists is dropped. {@code
   * endpointAliases} maps endpoint ids an earlier version journaled to today's.
   */
  public void resumePending(List<WebhookDelivery> pending, Map<String, String> endpointAliases) {
    long now = System.currentTimeMillis();
    for (WebhookDelivery d : pending) {
      Optional<Event> event = store.event(d.eventId());
      Optional<WebhookEndpoint> endpoint =
          store
              .webhookEndpoint(d.endpointId())
              .or(() -> store.webhookEndpoint(endpointAliases.get(d.endpointId())));
      if (event.isEmpty() || endpoint.isEmpty()) {
        LOG.warn("Dropping the pending delivery of {}: its event or endpoint is gone", d.key());
        store.log().append(Change.of(withStatus(d, WebhookDelivery.Status.ABANDONED)));
        continue;
      }
      // what was owed, without copies: the quirks of a run before are not kept
      schedule(
          new Delivery(
              event.get(),
              Json.pretty(event.get().json()),
              endpoint.get(),
              d.attempts() + 1,
              0,
              false),
          Math.max(0, d.nextAttemptAt() - now));
    }
    store.log().sync();
  }

  public void pause() {
    synchronized (held) {
      paused.set(true);
    }
  }

  /**
   * Sends every held delivery now: all at once by default, or one after another in the order {@link
   * DeliveryQuirks#resumeOrder()} says (by their events' creation, the latest first, or shuffled by
   * its seed), each sent once the one before it was answered.
   */
  public void resume() {
    List<Delivery> released = new ArrayList<>();
    synchronized (held) {
      paused.set(false);
      Delivery d;
      while ((d = held.poll()) != null) {
        released.add(d);
      }
    }
    DeliveryQuirks.ResumeOrder order = quirks.resumeOrder();
    if (order.kind() == DeliveryQuirks.ResumeOrder.Kind.ARRIVAL) {
      released.forEach(d -> schedule(d, 0));
      return;
    }
    released.sort(
        Comparator.comparingLong((Delivery d) -> d.event().sequence())
            .thenComparing(d -> d.endpoint().id())
            .thenComparingInt(Delivery::attempt));
    if (order.kind() == DeliveryQuirks.ResumeOrder.Kind.REVERSE) {
      Collections.reverse(released);
    } else {
      Collections.shuffle(released, new Random(order.seed()));
    }
    try {
      executor.execute(
          () -> {
            for (Delivery d : released) {
              if (Thread.currentThread().isInterrupted()) {
                return; // closing: dropped, as on any other close
              }
              attempt(d);
            }
          });
    } catch (RejectedExecutionException e) {
      // closing: the deliveries stay pending in the journal
    }
  }

  public boolean paused() {
    return paused.get();
  }

  /** Every try so far, oldest first (the last 10,000). */
  public List<WebhookAttempt> attempts() {
    return new ArrayList<>(attempts);
  }

  @Override
  public void close() {
    executor.shutdownNow();
    http.shutdownNow();
    try {
      // a try cut short journals nothing; one that finished journals before the journal closes
      executor.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void schedule(Delivery delivery, long delayMillis) {
    try {
      executor.schedule(() -> attempt(delivery), delayMillis, TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException e) {
      // closing: the delivery is dropped, as a stopped Stripe account would drop it
    }
  }

  private void attempt(Delivery delivery) {
    synchronized (held) {
      if (paused.get()) {
        held.add(delivery);
        return;
      }
    }
    try {
      // never announce an event a crash could still make the emulator forget
      store.log().sync();
    } catch (RuntimeException e) {
      LOG.warn("Could not sync the journal before delivering {}", delivery.event().id(), e);
      schedule(delivery, backoff(delivery.attempt()).toMillis());
      return;
    }
    // Signed at the later of the wall clock and the configured one: receivers reject only old
    // timestamps (Stripe's tolerance check), so one on either clock accepts it.
    long timestamp = Math.max(clock.millis(), System.currentTimeMillis()) / 1000;
    HttpRequest request =
        HttpRequest.newBuilder(URI.create(delivery.endpoint().url()))
            .timeout(REQUEST_TIMEOUT)
            .header("Content-Type", "application/json; charset=utf-8")
            .header("User-Agent", USER_AGENT)
            .header("Cache-Control", "no-cache")
            .header(
                WebhookSigner.HEADER,
                WebhookSigner.signatureHeader(
                    delivery.payload(), timestamp, delivery.endpoint().secret()))
            .POST(HttpRequest.BodyPublishers.ofString(delivery.payload()))
            .build();
    int status = 0;
    String error = null;
    try {
      HttpResponse<Void> response = http.send(request, HttpResponse.BodyHandlers.discarding());
      status = response.statusCode();
    } catch (IOException e) {
      error = e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return;
    }
    boolean succeeded = status >= 200 && status < 300;
    record(delivery, status, error, succeeded);
    if (delivery.redelivery()) {
      // a copy of an acknowledged event: nothing to journal; retried as Stripe retries any event
      if (succeeded) {
        redeliver(delivery);
      } else if (delivery.attempt() < maxAttempts) {
        schedule(delivery.next(), backoff(delivery.attempt()).toMillis());
      }
      return;
    }
    try {
      journal(delivery, succeeded);
    } catch (RuntimeException e) {
      LOG.warn("Could not journal the delivery of {}", delivery.event().id(), e);
    }
    if (succeeded) {
      redeliver(delivery);
      return;
    }
    if (delivery.attempt() >= maxAttempts) {
      LOG.warn(
          "Giving up on {} {} to {} after {} attempts",
          delivery.event().type(),
          delivery.event().id(),
          delivery.endpoint().url(),
          delivery.attempt());
      return;
    }
    schedule(delivery.next(), backoff(delivery.attempt()).toMillis());
  }

  /** Sends the next copy of an acknowledged event, if {@link DeliveryQuirks} asked for one. */
  private void redeliver(Delivery delivered) {
    if (delivered.redeliveriesLeft() > 0) {
      schedule(delivered.redeliver(), 0);
    }
  }

  private void journal(Delivery delivery, boolean succeeded) {
    String eventId = delivery.event().id();
    String endpointId = delivery.endpoint().id();
    int attempt = delivery.attempt();
    if (succeeded) {
      store
          .log()
          .append(
              Change.of(
                  new WebhookDelivery(
                      eventId, endpointId, attempt, 0, WebhookDelivery.Status.SUCCEEDED)));
      store.acknowledge(eventId);
      store.log().sync();
    } else if (attempt >= maxAttempts) {
      store
          .log()
          .append(
              Change.of(
                  new WebhookDelivery(
                      eventId, endpointId, attempt, 0, WebhookDelivery.Status.ABANDONED)));
    } else {
      long next = System.currentTimeMillis() + backoff(attempt).toMillis();
      store
          .log()
          .append(
              Change.of(
                  new WebhookDelivery(
                      eventId, endpointId, attempt, next, WebhookDelivery.Status.PENDING)));
    }
  }

  private static WebhookDelivery withStatus(WebhookDelivery d, WebhookDelivery.Status status) {
    return new WebhookDelivery(d.eventId(), d.endpointId(), d.attempts(), 0, status);
  }

  private Duration backoff(int attempt) {
    Duration delay = baseDelay.multipliedBy(1L << Math.min(attempt - 1, 30));
    return delay.compareTo(MAX_DELAY) > 0 ? MAX_DELAY : delay;
  }

  private void record(Delivery delivery, int status, String error, boolean succeeded) {
    attempts.add(
        new WebhookAttempt(
            delivery.event().id(),
            delivery.event().type(),
            delivery.endpoint().id(),
            delivery.endpoint().url(),
            delivery.attempt(),
            status,
            error,
            succeeded,
            clock.instant()));
    if (attemptCount.incrementAndGet() > KEPT_ATTEMPTS) {
      attempts.poll();
      attemptCount.decrementAndGet();
    }
  }
}
