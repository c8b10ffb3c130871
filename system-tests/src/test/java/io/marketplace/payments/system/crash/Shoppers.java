package io.marketplace.payments.system.crash;

import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.ops.token.TokenCommand;
import io.marketplace.payments.system.support.Sql;
import io.marketplace.payments.system.support.StripeApi;
import io.marketplace.payments.testsupport.Await;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Sellers paying posting fees at a steady rate, as the frontend and the buyer's browser do it: a
 * listing created through checkout-api, its checkout, the PaymentIntent confirmed at Stripe with a
 * test card. A call that finds the API down (killed, restarting, or its database or broker away) is
 * retried with the same {@code Idempotency-Key}, as a client does, for as long as the scenario
 * lasts.
 *
 * <p>The mix, drawn from a seeded {@link Random}: most pay at once; some are declined first and pay
 * with another card; some are rejected by moderation once active, which refunds the fee through
 * Stripe.
 */
final class Shoppers implements AutoCloseable {

  /** What a seller does, and so what the system must end with. */
  enum Kind {
    PAID,
    DECLINED_THEN_PAID,
    REJECTED
  }

  /** One seller's purchase, filled in as it goes. */
  static final class Purchase {
    final int number;
    final Kind kind;
    final UUID userId = UUID.randomUUID();
    volatile String listingId;
    volatile String paymentIntentId;
    volatile boolean done;

    Purchase(int number, Kind kind) {
      this.number = number;
      this.kind = kind;
    }

    @Override
    public String toString() {
      return "purchase " + number + " (" + kind + ", listing " + listingId + ")";
    }
  }

  /** A client gives up on a call after this long: far beyond any restart. */
  private static final Duration PATIENCE = Duration.ofSeconds(150);

  /**
   * An {@code Idempotency-Key} whose request died with the API is taken over by the next retry once
   * the killed process's database session is gone (at once, for a killed process); should it stay
   * claimed longer than this, the client looks at what the first try left and goes on without the
   * key.
   */
  private static final Duration STALE_CLAIM = Duration.ofSeconds(10);

  /**
   * How often a seller's client tries a call again, and looks whether a listing went live: the pace
   * of a real client, not of a test's tight poll. Sellers stuck behind a killed process, each
   * retrying every 50 ms and each status look a new database session (35 to 45 new sessions a
   * second), kept two cores saturated and starved the restarting processes of CPU.
   */
  private static final Duration RETRY_EVERY = Duration.ofMillis(250);

  private static final Duration LOOK_EVERY = Duration.ofMillis(500);

  private final String apiUrl;
  private final String jwtSecret;
  private final StripeApi stripe;
  private final Sql db;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final ExecutorService sellers = Executors.newVirtualThreadPerTaskExecutor();
  private final ScheduledExecutorService clock = Executors.newSingleThreadScheduledExecutor();
  private final List<Purchase> purchases = new CopyOnWriteArrayList<>();
  private final AtomicInteger started = new AtomicInteger();
  private final ConcurrentLinkedQueue<String> retries = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<AssertionError> failures = new ConcurrentLinkedQueue<>();

  Shoppers(String apiUrl, String jwtSecret, StripeApi stripe, Sql db) {
    this.apiUrl = apiUrl;
    this.jwtSecret = jwtSecret;
    this.stripe = stripe;
    this.db = db;
  }

  /**
   * Starts a purchase every {@code every} until {@link #stop()}, their kinds drawn in order from
   * {@code random}.
   */
  void start(Random random, Duration every) {
    clock.scheduleAtFixedRate(
        () -> {
          int draw = random.nextInt(100);
          Kind kind = draw < 60 ? Kind.PAID : draw < 80 ? Kind.DECLINED_THEN_PAID : Kind.REJECTED;
          Purchase purchase = new Purchase(purchases.size(), kind);
          purchases.add(purchase);
          running(purchase);
        },
        0,
        every.toMillis(),
        TimeUnit.MILLISECONDS);
  }

  /** No purchase starts from now on; those started go on. */
  void stop() {
    clock.shutdown();
    try {
      if (!clock.awaitTermination(10, TimeUnit.SECONDS)) {
        throw new IllegalStateException("the sellers' clock does not stop");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Purchases started so far. */
  int started() {
    return started.get();
  }

  List<Purchase> purchases() {
    return purchases;
  }

  /** Waits until every purchase has gone through every step, and fails with the first error. */
  void awaitDone(Duration timeout) {
    Await.until(
        timeout,
        "every purchase through",
        () -> !failures.isEmpty() || purchases.stream().allMatch(p -> p.done));
    if (!failures.isEmpty()) {
      throw failures.peek();
    }
  }

  /** Calls that had to be retried, one line each: what the sellers saw of the crashes. */
  int retried() {
    return retries.size();
  }

  private void running(Purchase purchase) {
    started.incrementAndGet();
    sellers.submit(
        () -> {
          try {
            buy(purchase);
          } catch (RuntimeException | AssertionError e) {
            failures.add(new AssertionError(purchase + " failed: " + e, e));
          }
        });
  }

  private void buy(Purchase purchase) {
    String seller = token(purchase.userId, List.of("user"));
    purchase.listingId = createListing(purchase, seller);
    purchase.paymentIntentId =
        call(
                "checkout of " + purchase,
                seller,
                "/api/marketplace/listings/" + purchase.listingId + "/checkout",
                null,
                200,
                () -> Optional.empty())
            .path("paymentIntentId")
            .asText();
    if (purchase.kind == Kind.DECLINED_THEN_PAID) {
      confirm(purchase, "pm_card_chargeDeclined", 402);
    }
    confirm(purchase, "pm_card_visa", 200);
    if (purchase.kind == Kind.REJECTED) {
      Await.until(
          PATIENCE,
          LOOK_EVERY,
          purchase + " active before moderation looks at it",
          () -> "active".equals(status(purchase)));
      String admin = token(UUID.randomUUID(), List.of("user", "super_admin"));
      call(
          "rejection of " + purchase,
          admin,
          "/admin/api/marketplace/listings/" + purchase.listingId + "/reject",
          "{\"reason\":\"prohibited item\"}",
          200,
          () -> Optional.of("rejected").filter(s -> s.equals(status(purchase))).map(s -> s));
    }
    purchase.done = true;
  }

  /** A listing in housing (a 500-cent fee); a first try that died with the API is looked up. */
  private String createListing(Purchase purchase, String seller) {
    return call(
            "listing of " + purchase,
            seller,
            "/api/marketplace/listings",
            "{\"title\":\"Sunny room near the park\",\"categorySlug\":\"housing\"}",
            201,
            () ->
                db.row(
                        "SELECT id::text AS id FROM marketplace_listings WHERE user_id = ?",
                        purchase.userId)
                    .map(row -> row.get("id")))
        .path("id")
        .asText();
  }

  private void confirm(Purchase purchase, String card, int expected) {
    var answer = stripe.confirm(purchase.paymentIntentId, card);
    if (answer.status() != expected) {
      throw new AssertionError(
          "confirming " + purchase + " with " + card + " at Stripe: " + answer);
    }
  }

  private String status(Purchase purchase) {
    return db.row("SELECT status FROM marketplace_listings WHERE id = ?::uuid", purchase.listingId)
        .map(row -> (String) row.get("status"))
        .orElse(null);
  }

  /**
   * POSTs {@code json} with an {@code Idempotency-Key} until it is answered {@code expected}: a
   * refused connection, a 5xx, a 429 or a 409 "in progress" is tried again with the same key. When
   * the key stays claimed by a request that died with the API, {@code firstTry} says what that
   * request left (the id of what it created): then that is the answer; otherwise the call goes on
   * with a new key.
   */
  private JsonNode call(
      String what,
      String token,
      String path,
      String json,
      int expected,
      java.util.function.Supplier<Optional<Object>> firstTry) {
    String[] key = {UUID.randomUUID().toString()};
    long[] claimedSince = {0};
    int[] tries = {0};
    return Await.value(
        PATIENCE,
        RETRY_EVERY,
        what + " answered " + expected,
        () -> {
          tries[0]++;
          HttpResponse<String> answer = post(path, token, key[0], json);
          int status = answer == null ? 0 : answer.statusCode();
          if (status == expected) {
            if (tries[0] > 1) {
              retries.add(what + " after " + tries[0] + " tries");
            }
            return Optional.of(parse(answer.body()));
          }
          boolean inProgress =
              status == 409 && answer.headers().firstValue("Retry-After").isPresent();
          if (inProgress) {
            long now = System.nanoTime();
            if (claimedSince[0] == 0) {
              claimedSince[0] = now;
            } else if (now - claimedSince[0] > STALE_CLAIM.toNanos()) {
              Optional<Object> left = firstTry.get();
              if (left.isPresent()) {
                retries.add(what + ": the first try's answer was lost, found " + left.get());
                return Optional.of(
                    Json.mapper().createObjectNode().put("id", left.get().toString()));
              }
              key[0] = UUID.randomUUID().toString();
              claimedSince[0] = 0;
            }
            return Optional.empty();
          }
          claimedSince[0] = 0;
          if (status == 0 || status >= 500 || status == 429) {
            return Optional.empty();
          }
          // an answer that is final but not the expected one: maybe a lost first answer did it
          Optional<Object> left = firstTry.get();
          if (left.isPresent()) {
            retries.add(what + ": answered " + status + " after the first try did it");
            return Optional.of(Json.mapper().createObjectNode().put("id", left.get().toString()));
          }
          throw new AssertionError(what + ": HTTP " + status + " " + answer.body());
        });
  }

  private HttpResponse<String> post(String path, String token, String key, String json) {
    HttpRequest request =
        HttpRequest.newBuilder(URI.create(apiUrl + path))
            .timeout(Duration.ofSeconds(30))
            .header("Authorization", "Bearer " + token)
            .header("Idempotency-Key", key)
            .header("Content-Type", "application/json")
            .POST(
                json == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(json))
            .build();
    try {
      return http.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static JsonNode parse(String body) {
    try {
      return Json.mapper().readTree(body);
    } catch (IOException e) {
      throw new AssertionError("not JSON: " + body, e);
    }
  }

  private String token(UUID user, List<String> roles) {
    return TokenCommand.sign(jwtSecret, user, roles, Instant.now(), Duration.ofHours(1));
  }

  @Override
  public void close() {
    clock.shutdownNow();
    sellers.shutdownNow();
  }
}
