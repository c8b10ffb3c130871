package io.marketplace.payments.checkout.idempotency;

import io.javalin.http.Context;
import io.marketplace.payments.checkout.http.Reply;
import io.marketplace.payments.common.http.ProblemException;
import io.marketplace.payments.common.json.Json;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.IntFunction;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code Idempotency-Key} on POST (SPEC §3), scoped to the calling user. The first request with a
 * key claims it in its own committed transaction, runs, and stores its answer; within 24 h the same
 * key with the same method, path and body gets that answer again (with {@code Idempotent-Replayed:
 * true}), and with anything else a 422.
 *
 * <p>Concurrency: while the first request with a key is still running, another one with the same
 * key is answered 409 "in progress" with {@code Retry-After: 1} at once rather than held waiting,
 * so no server thread or database connection is tied up by a client that double-submits; its retry
 * then gets the stored answer. A claim whose process is gone (killed mid-request: its {@link
 * ClaimOwner} lock is free) is taken over at once by a request with the same fingerprint; one whose
 * owner is unknown (made before owners were recorded), after {@link #ABANDONED_AFTER}. While this
 * process has lost the session that holds its lock, its claims would look abandoned too, so it
 * makes none: a request with a key is answered 503 with {@code Retry-After: 1} until the lock is
 * held again (within a second of the database answering).
 *
 * <p>A rate limit is taken before a new key is claimed ({@link #handle(Context, UUID, Runnable,
 * Work)}), so a request it refuses leaves no trace here, while a replay never counts against it.
 *
 * <p>A request that fails releases its claim; when the database is what failed, the release cannot
 * be written either. Such claims are kept here and released again every second ({@link
 * #retryReleases}) until the database answers, so a client retrying after PostgreSQL comes back
 * runs again within seconds instead of being told "in progress" until the claim lapses.
 *
 * <p>What is stored: every answer below 500, errors included (a 409 stays a 409 on replay, as
 * Stripe does), except 429, any refusal with {@code Retry-After} (a risk flag's 403) and a ban's
 * 403: those say "not now" or "until an admin lifts it", and release the key as a 5xx or an
 * unexpected failure does, so the retry runs again: every route here is safe to re-run (a checkout
 * reaches the same PaymentIntent, a new listing the same listing, a refund the same record).
 */
public final class Idempotency {

  public static final String HEADER = "Idempotency-Key";
  public static final String REPLAYED_HEADER = "Idempotent-Replayed";
  public static final Duration RETENTION = Duration.ofHours(24);
  public static final Duration ABANDONED_AFTER = Duration.ofMinutes(5);
  private static final int MAX_KEY_LENGTH = 255;

  /** Claims kept for a second release at most; beyond that they lapse after ABANDONED_AFTER. */
  static final int MAX_UNRELEASED = 10_000;

  private static final Logger log = LoggerFactory.getLogger(Idempotency.class);

  /** The request's own work. */
  @FunctionalInterface
  public interface Work {
    Reply run() throws Exception;
  }

  private final Jdbi jdbi;
  private final Clock clock;
  private final ClaimOwner owner;
  private final Counter takeovers;
  private final Set<Claim> unreleased = ConcurrentHashMap.newKeySet();

  /** A claim on a key, as {@link IdempotencyKeyDao#release} names it. */
  private record Claim(UUID userId, String key, Instant claimedAt) {}

  public Idempotency(Jdbi jdbi, Clock clock, ClaimOwner owner, MeterRegistry registry) {
    this.jdbi = jdbi;
    this.clock = clock;
    this.owner = owner;
    this.takeovers =
        Counter.builder("payments.idempotency.takeovers")
            .description("Idempotency-Key claims taken over from a process that is gone")
            .register(registry);
    Gauge.builder("payments.idempotency.unreleased.claims", unreleased, Set::size)
        .description("Idempotency-Key claims whose release waits for the database")
        .register(registry);
  }

  /** Runs {@code work} once per key and body, or answers as the first run did. */
  public Reply handle(Context ctx, UUID userId, Work work) throws Exception {
    return handle(ctx, userId, () -> {}, work);
  }

  /**
   * {@link #handle(Context, UUID, Work)} for a request that {@code admit} (a rate limit) may refuse
   * when it is to run, never when it is answered from its key: a stored answer is replayed, and
   * another request's key refused (422) or found in progress (409), without it. A key no request
   * holds is admitted before it is claimed, so a request refused claims nothing (no row written,
   * then deleted). The one key found held and then claimed anyway (its first request abandoned, and
   * taken over) is admitted once claimed, and given back when refused. Of two requests that race
   * for a new key, the one that loses may have been admitted for nothing.
   */
  public Reply handle(Context ctx, UUID userId, Runnable admit, Work work) throws Exception {
    String key = ctx.header(HEADER);
    if (key == null) {
      admit.run();
      return work.run();
    }
    requireOne(ctx);
    validate(key);
    if (!owner.held()) {
      // a claim made now would look abandoned to every other process, which could run it twice
      throw ownerLockLost();
    }
    String fingerprint = Fingerprint.of(ctx.method().name(), ctx.path(), ctx.bodyAsBytes());
    IdempotencyKeyDao dao = jdbi.onDemand(IdempotencyKeyDao.class);
    Runnable admitOnClaim = admit;
    Instant expiredBefore = clock.instant().minus(RETENTION);
    if (dao.find(userId, key).filter(held -> !held.createdAt().isBefore(expiredBefore)).isEmpty()) {
      admit.run(); // a key no request holds: this request runs
      admitOnClaim = () -> {};
    }
    for (int round = 0; round < 3; round++) {
      Instant now = clock.instant();
      Optional<Instant> claim =
          dao.claim(
              userId,
              key,
              fingerprint,
              now,
              now.minus(RETENTION),
              now.minus(ABANDONED_AFTER),
              owner.id());
      if (claim.isPresent()) {
        return runClaimed(dao, userId, key, claim.get(), admitOnClaim, work);
      }
      Optional<IdempotencyKeyDao.StoredKey> stored = dao.find(userId, key);
      if (stored.isEmpty()) {
        continue; // the holder released it meanwhile: claim it again
      }
      IdempotencyKeyDao.StoredKey first = stored.get();
      if (!first.requestFingerprint().equals(fingerprint)) {
        throw ProblemException.unprocessable(
            "this Idempotency-Key was used for another request within 24 hours; use a new key for"
                + " a different request");
      }
      if (first.completed()) {
        ctx.header(REPLAYED_HEADER, "true");
        return new Reply(first.responseStatus(), first.responseBody());
      }
      if (ownerIsGone(dao, first)) {
        Optional<Instant> taken =
            dao.takeOver(userId, key, fingerprint, first.createdAt(), now, owner.id());
        if (taken.isPresent()) {
          takeovers.increment();
          log.info(
              "took over an Idempotency-Key claim of process {}, which is gone", first.claimedBy());
          return runClaimed(dao, userId, key, taken.get(), admitOnClaim, work);
        }
        continue; // another retry took it, or its owner finished: look again
      }
      throw inProgress();
    }
    throw inProgress();
  }

  private Reply runClaimed(
      IdempotencyKeyDao dao, UUID userId, String key, Instant claimedAt, Runnable admit, Work work)
      throws Exception {
    Reply reply;
    try {
      admit.run();
      reply = work.run();
    } catch (ProblemException e) {
      if (stored(e)) {
        complete(dao, userId, key, claimedAt, e.status(), Json.write(e.problem()));
      } else {
        release(dao, userId, key, claimedAt);
      }
      throw e;
    } catch (Exception | Error e) {
      release(dao, userId, key, claimedAt);
      throw e;
    }
    if (reply.status() >= 500) {
      release(dao, userId, key, claimedAt);
    } else {
      complete(dao, userId, key, claimedAt, reply.status(), reply.json());
    }
    return reply;
  }

  /**
   * Whether a refusal is the request's answer, stored for the key's 24 hours: an error below 500,
   * except one that says "not now" ({@code 429}, or any answer with {@code Retry-After}, such as
   * the 403 of a user flagged by a risk signal until its cool-down ends or an admin clears it) or
   * "until lifted" (the 403 of a ban, {@link ProblemException#untilLifted()}). Storing one of those
   * would answer the client's retry under the same key, the very retry Retry-After invites, with
   * the same refusal for 24 hours after it stopped holding (and without its Retry-After, which is
   * not stored).
   */
  private static boolean stored(ProblemException e) {
    return e.status() < 500
        && e.status() != 429
        && !e.headers().containsKey("Retry-After")
        && e.lasting();
  }

  /**
   * Whether the claim's process is gone: another process's, and its lock free. This process's own
   * claims are its running requests (or releases waiting for the database), never abandoned.
   */
  private boolean ownerIsGone(IdempotencyKeyDao dao, IdempotencyKeyDao.StoredKey claim) {
    Integer claimedBy = claim.claimedBy();
    return claimedBy != null
        && claimedBy != owner.id()
        && !dao.ownerAlive(ClaimOwner.LOCK_CLASS, claimedBy);
  }

  /** Stores the answer; if that fails the request fails, and its claim is given back. */
  private void complete(
      IdempotencyKeyDao dao, UUID userId, String key, Instant claimedAt, int status, String body) {
    try {
      dao.complete(userId, key, claimedAt, status, body, clock.instant());
    } catch (RuntimeException e) {
      release(dao, userId, key, claimedAt);
      throw e;
    }
  }

  /**
   * The id of what a request under an Idempotency-Key creates, given {@code idOf} its generation: 0
   * for the key's first request, 1 for the key reused after its 24 hours, and so on. Every run of
   * one request reaches the same id: a run that created the record and then failed (a 5xx releases
   * the key) is retried under the key and must find that record rather than create a second. A
   * record created more than 24 h before {@code now} is an earlier request's, whose key bound it no
   * longer. {@code createdAt} tells when the record of an id was created, if it exists.
   */
  public static UUID recordId(
      IntFunction<UUID> idOf, Function<UUID, Optional<Instant>> createdAt, Instant now) {
    Instant bindsSince = now.minus(RETENTION);
    for (int generation = 0; ; generation++) {
      UUID id = idOf.apply(generation);
      Optional<Instant> created = createdAt.apply(id);
      if (created.isEmpty() || created.get().isAfter(bindsSince)) {
        return id;
      }
    }
  }

  /** Deletes keys past their 24 hours; run periodically. */
  public int purgeExpired() {
    return jdbi.onDemand(IdempotencyKeyDao.class).purgeOlderThan(clock.instant().minus(RETENTION));
  }

  /**
   * Releases the claims whose release failed, oldest first; run every second. A claim past {@link
   * #ABANDONED_AFTER} is dropped: a retry takes it over anyway. Stops at the first failure (the
   * database is still away). Returns how many claims still wait.
   */
  public int retryReleases() {
    if (unreleased.isEmpty()) {
      return 0;
    }
    IdempotencyKeyDao dao = jdbi.onDemand(IdempotencyKeyDao.class);
    Instant lapsed = clock.instant().minus(ABANDONED_AFTER);
    List<Claim> waiting =
        unreleased.stream().sorted(Comparator.comparing(Claim::claimedAt)).toList();
    for (Claim claim : waiting) {
      if (claim.claimedAt().isBefore(lapsed)) {
        unreleased.remove(claim);
        continue;
      }
      try {
        dao.release(claim.userId(), claim.key(), claim.claimedAt());
      } catch (RuntimeException e) {
        log.debug("idempotency keys still to release: {}; {}", unreleased.size(), e.toString());
        break;
      }
      unreleased.remove(claim);
    }
    return unreleased.size();
  }

  private void release(IdempotencyKeyDao dao, UUID userId, String key, Instant claimedAt) {
    try {
      dao.release(userId, key, claimedAt);
    } catch (RuntimeException e) {
      if (unreleased.size() < MAX_UNRELEASED) {
        unreleased.add(new Claim(userId, key, claimedAt));
        log.warn("could not release an idempotency key; retrying every second", e);
      } else {
        log.warn("could not release an idempotency key; it lapses on its own", e);
      }
    }
  }

  /**
   * Refuses a request with more than one {@code Idempotency-Key} header: which key it runs under
   * would depend on who reads it (this server takes the first), and a proxy that joins them into
   * one line ({@code a, b}) makes a key {@link #validate} refuses.
   */
  private static void requireOne(Context ctx) {
    var values = ctx.req().getHeaders(HEADER);
    values.nextElement();
    if (values.hasMoreElements()) {
      throw ProblemException.invalidFields(Map.of(HEADER, "must be sent once"));
    }
  }

  private static void validate(String key) {
    if (key.isEmpty()
        || key.length() > MAX_KEY_LENGTH
        || !key.chars().allMatch(c -> c >= 0x21 && c <= 0x7e)) {
      throw ProblemException.invalidFields(
          Map.of(
              HEADER,
              "must be 1 to " + MAX_KEY_LENGTH + " visible ASCII characters (a UUID is ideal)"));
    }
  }

  private static ProblemException ownerLockLost() {
    return new ProblemException(
        503,
        "Service Unavailable",
        "this server lost its database session for Idempotency-Key claims; retry shortly",
        Map.of(),
        Map.of("Retry-After", "1"));
  }

  private static ProblemException inProgress() {
    return new ProblemException(
        409,
        "Conflict",
        "a request with this Idempotency-Key is still in progress; retry shortly",
        Map.of(),
        Map.of("Retry-After", "1"));
  }
}
