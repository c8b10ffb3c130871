package io.marketplace.payments.stripeemulator.http;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Stripe's idempotency layer: the first answer to a key is kept for 24 hours and replayed for the
 * same endpoint and parameters; other parameters are a 400 idempotency_error. A request that
 * arrives while the first is still running gets Stripe's 409 {@code idempotency_key_in_use} at once
 * (nothing kept for it: the client retries, and then gets the first answer), as Stripe answers it:
 * stripe-java raises it as an {@code ApiException}, not an {@code IdempotencyException}.
 */
public final class IdempotencyStore {
  static final Duration RETENTION = Duration.ofHours(24);

  /** A kept answer; also the form in which answers are persisted. */
  public record Saved(
      String key,
      String endpoint,
      String fingerprint,
      long savedAtEpochSecond,
      int status,
      String body,
      String requestId) {}

  /** What to send back: a fresh answer or a replay of the kept one. */
  public record Outcome(int status, String body, String originalRequestId, boolean replayed) {}

  /** A fresh answer, and whether it may be kept for replays. */
  public record Fresh(int status, String body, boolean keep) {}

  private sealed interface Slot permits Pending, Kept {}

  /** A first request still running; compared by identity, so only its own run replaces it. */
  private static final class Pending implements Slot {
    private final String endpoint;
    private final String fingerprint;

    Pending(String endpoint, String fingerprint) {
      this.endpoint = endpoint;
      this.fingerprint = fingerprint;
    }

    String endpoint() {
      return endpoint;
    }

    String fingerprint() {
      return fingerprint;
    }
  }

  private record Kept(Saved saved) implements Slot {}

  private final ConcurrentHashMap<String, Slot> slots = new ConcurrentHashMap<>();
  private final Clock clock;
  private volatile Consumer<Saved> onKept = saved -> {};

  public IdempotencyStore(Clock clock) {
    this.clock = clock;
  }

  /** Told of each answer kept, before it is sent: the journal makes it durable there. */
  public void onKept(Consumer<Saved> listener) {
    this.onKept = listener;
  }

  public Outcome execute(
      String key, String endpoint, String fingerprint, String requestId, Supplier<Fresh> work) {
    while (true) {
      Pending mine = new Pending(endpoint, fingerprint);
      Slot current = slots.compute(key, (k, slot) -> slot == null || expired(slot) ? mine : slot);
      if (current == mine) {
        return runFirst(key, mine, requestId, work);
      }
      String firstEndpoint =
          current instanceof Kept kept ? kept.saved().endpoint() : ((Pending) current).endpoint();
      String firstFingerprint =
          current instanceof Kept kept
              ? kept.saved().fingerprint()
              : ((Pending) current).fingerprint();
      if (!firstEndpoint.equals(endpoint)) {
        throw StripeError.idempotency(
            400,
            "Keys for idempotent requests can only be used for the same endpoint they were first"
                + " used for ('"
                + firstEndpoint
                + "' vs '"
                + endpoint
                + "'). Try using a key other than '"
                + key
                + "' if you meant to execute a different request.");
      }
      if (!firstFingerprint.equals(fingerprint)) {
        throw StripeError.idempotency(
            400,
            "Keys for idempotent requests can only be used with the same parameters they were"
                + " first used with. Try using a key other than '"
                + key
                + "' if you meant to execute a different request.");
      }
      if (current instanceof Kept kept) {
        return replay(kept.saved());
      }
      throw inUse(key);
    }
  }

  public List<Saved> snapshot() {
    List<Saved> result = new ArrayList<>();
    slots
        .values()
        .forEach(
            slot -> {
              if (slot instanceof Kept kept) {
                result.add(kept.saved());
              }
            });
    return result;
  }

  public void restore(List<Saved> saved) {
    saved.forEach(s -> slots.put(s.key(), new Kept(s)));
    purgeExpired();
  }

  /** Forgets answers older than 24 hours, as Stripe prunes keys. */
  public void purgeExpired() {
    slots.entrySet().removeIf(e -> expired(e.getValue()));
  }

  private Outcome runFirst(String key, Pending mine, String requestId, Supplier<Fresh> work) {
    Fresh fresh;
    try {
      fresh = work.get();
    } catch (RuntimeException | Error e) {
      slots.remove(key, mine);
      throw e;
    }
    if (fresh.keep()) {
      Saved saved =
          new Saved(
              key,
              mine.endpoint(),
              mine.fingerprint(),
              clock.instant().getEpochSecond(),
              fresh.status(),
              fresh.body(),
              requestId);
      try {
        onKept.accept(saved);
      } catch (RuntimeException e) {
        slots.remove(key, mine);
        throw e;
      }
      slots.replace(key, mine, new Kept(saved));
    } else {
      slots.remove(key, mine);
    }
    return new Outcome(fresh.status(), fresh.body(), requestId, false);
  }

  private static StripeError inUse(String key) {
    return StripeError.idempotency(
        409,
        "idempotency_key_in_use",
        "There is currently another in-progress request using this Idempotent Key (that"
            + " probably means you submitted twice, and the other request is still going"
            + " through): "
            + key
            + ". Please try again later.");
  }

  private static Outcome replay(Saved saved) {
    return new Outcome(saved.status(), saved.body(), saved.requestId(), true);
  }

  private boolean expired(Slot slot) {
    return slot instanceof Kept kept
        && kept.saved().savedAtEpochSecond() + RETENTION.toSeconds()
            < clock.instant().getEpochSecond();
  }
}
