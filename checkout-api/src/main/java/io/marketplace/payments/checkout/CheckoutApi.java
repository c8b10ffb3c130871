package io.marketplace.payments.checkout;

import com.stripe.StripeClient;
import io.javalin.Javalin;
import io.javalin.config.JavalinConfig;
import io.javalin.config.RoutesConfig;
import io.marketplace.payments.checkout.admin.AdminPaymentRefundController;
import io.marketplace.payments.checkout.admin.AdminRefundController;
import io.marketplace.payments.checkout.admin.AdminUserController;
import io.marketplace.payments.checkout.admin.ModerationController;
import io.marketplace.payments.checkout.admin.RiskController;
import io.marketplace.payments.checkout.auth.Guard;
import io.marketplace.payments.checkout.auth.JwtAuthenticator;
import io.marketplace.payments.checkout.checkout.CheckoutController;
import io.marketplace.payments.checkout.checkout.IntentMetrics;
import io.marketplace.payments.checkout.checkout.PaymentIntents;
import io.marketplace.payments.checkout.checkout.Purchases;
import io.marketplace.payments.checkout.http.OpenApi;
import io.marketplace.payments.checkout.idempotency.ClaimOwner;
import io.marketplace.payments.checkout.idempotency.Idempotency;
import io.marketplace.payments.checkout.listing.CategoryController;
import io.marketplace.payments.checkout.listing.ListingController;
import io.marketplace.payments.checkout.promotion.PromotionController;
import io.marketplace.payments.checkout.ratelimit.RateLimiter;
import io.marketplace.payments.checkout.refund.RefundRequestController;
import io.marketplace.payments.common.Closer;
import io.marketplace.payments.common.db.Database;
import io.marketplace.payments.common.http.HealthCheck;
import io.marketplace.payments.common.http.HttpServers;
import io.marketplace.payments.common.kafka.KafkaHealth;
import io.marketplace.payments.common.metrics.Metrics;
import io.marketplace.payments.common.outbox.OutboxRelay;
import io.marketplace.payments.common.refund.RefundExecutor;
import io.marketplace.payments.common.time.Clocks;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The API the frontend and the admins call (SPEC §3): listings, posting-fee checkout, promotions,
 * refund requests and the refund and moderation review. It creates PaymentIntents; everything that
 * happens after a payment is the workers' business. Events it announces go through the outbox,
 * published by the relay it runs.
 */
public final class CheckoutApi implements AutoCloseable {

  public static final String SERVICE = "checkout-api";

  private static final Logger log = LoggerFactory.getLogger(CheckoutApi.class);
  private static final Duration OUTBOX_IDLE = Duration.ofMillis(200);
  private static final Duration HOUSEKEEPING_GRACE = Duration.ofSeconds(5);

  private final Javalin app;
  private final Javalin admin;
  private final Closer closer;

  private CheckoutApi(Javalin app, Javalin admin, Closer closer) {
    this.app = app;
    this.admin = admin;
    this.closer = closer;
  }

  public static CheckoutApi start(CheckoutApiConfig config) {
    return start(config, Clocks.systemUtc());
  }

  /** Starts with {@code clock} for every business time (tests move it to check the 24 h rules). */
  public static CheckoutApi start(CheckoutApiConfig config, Clock clock) {
    Closer closer = new Closer();
    try {
      PrometheusMeterRegistry registry = Metrics.newRegistry(SERVICE);
      Database database = closer.add(Database.open(config.db(), SERVICE)).migrate();
      Jdbi jdbi = database.jdbi();
      StripeClient stripe = config.stripe().client(registry);
      KafkaProducer<String, byte[]> producer =
          closer.add(new KafkaProducer<>(OutboxRelay.producerSettings(config.kafka(), SERVICE)));
      KafkaHealth kafkaHealth = closer.add(new KafkaHealth(config.kafka(), SERVICE));
      closer.add(
          new OutboxRelay(jdbi, producer, config.kafka().topics(), OUTBOX_IDLE, registry, SERVICE)
              .start());

      ClaimOwner claimOwner =
          closer.add(
              ClaimOwner.start(() -> database.openSession(ClaimOwner.APPLICATION_NAME), registry));
      Idempotency idempotency = new Idempotency(jdbi, clock, claimOwner, registry);
      RateLimiter rateLimiter =
          new RateLimiter(config.rateLimitPerMinute(), "payment", "payment requests", registry);
      RateLimiter writeLimiter =
          new RateLimiter(
              config.writeRateLimitPerMinute(),
              "write",
              "new listings and refund requests",
              registry);
      Guard guard =
          new Guard(
              new JwtAuthenticator(
                  config.jwtSecret(),
                  config.jwtIssuer(),
                  config.jwtAudience(),
                  config.jwtMaxLifetime(),
                  clock),
              rateLimiter,
              writeLimiter,
              idempotency);
      PaymentIntents paymentIntents = new PaymentIntents(stripe, config.stripe().keyFingerprint());
      Purchases purchases = new Purchases(jdbi, paymentIntents, clock, new IntentMetrics(registry));
      RefundExecutor refunds = new RefundExecutor(jdbi, stripe, clock, registry);
      Controllers controllers =
          new Controllers(
              new CategoryController(jdbi),
              new ListingController(jdbi, clock, config.listingTtl()),
              new CheckoutController(purchases),
              new PromotionController(purchases),
              new RefundRequestController(jdbi, clock),
              new AdminRefundController(jdbi, refunds, clock),
              new AdminPaymentRefundController(jdbi, refunds, clock),
              new ModerationController(jdbi, clock, paymentIntents),
              new RiskController(jdbi, clock),
              new AdminUserController(jdbi, clock),
              OpenApi.load());

      ScheduledExecutorService housekeeping =
          Executors.newSingleThreadScheduledExecutor(
              Thread.ofPlatform().name(SERVICE + "-housekeeping").daemon().factory());
      // a task under way finishes before the database it uses closes (it was closed under it, and
      // logged a failure at every stop that caught it running)
      closer.add(
          () -> {
            housekeeping.shutdown();
            if (!housekeeping.awaitTermination(HOUSEKEEPING_GRACE.toSeconds(), TimeUnit.SECONDS)) {
              housekeeping.shutdownNow();
            }
          });
      housekeeping.scheduleWithFixedDelay(
          () -> safely("purge idempotency keys", idempotency::purgeExpired),
          1,
          60,
          TimeUnit.MINUTES);
      housekeeping.scheduleWithFixedDelay(
          () ->
              safely(
                  "evict rate limit buckets",
                  () -> {
                    rateLimiter.evictIdle();
                    writeLimiter.evictIdle();
                  }),
          1,
          1,
          TimeUnit.MINUTES);
      housekeeping.scheduleWithFixedDelay(
          () -> safely("release idempotency keys", idempotency::retryReleases),
          1,
          1,
          TimeUnit.SECONDS);
      housekeeping.scheduleWithFixedDelay(
          () -> safely("hold the idempotency claim owner's lock", claimOwner::maintain),
          1,
          1,
          TimeUnit.SECONDS);

      List<HealthCheck> readiness =
          List.of(
              new HealthCheck("database", database::isReachable),
              new HealthCheck("kafka", kafkaHealth::isReachable));
      // health and metrics on a port of their own, which only the kubelet and monitoring reach:
      // the frontend's namespace reaches the API port, and must neither read the metrics (payment
      // counts, route latencies) nor, by holding the API's connections up to its limit, make the
      // liveness probe fail and every replica restart. Its own server, so its own connections and
      // threads, with the default limits (as the gateway's admin port)
      Javalin admin =
          HttpServers.createAdmin(
              config.adminPort(), config.http().bindAddress(), registry, readiness);
      closer.add(admin::stop);
      admin.start();
      // the API port serves no metrics (as the gateway's public port); health stays, as there
      Javalin app =
          HttpServers.createPublic(
              config.port(),
              config.http(),
              registry,
              readiness,
              javalin -> {
                cors(javalin, config.corsOrigins());
                routes(javalin.routes, guard, controllers);
              });
      // the API stops first: its requests finish while health and metrics still answer
      closer.add(app::stop);
      app.start();
      log.info("{} listening on port {} (admin port {})", SERVICE, app.port(), admin.port());
      return new CheckoutApi(app, admin, closer);
    } catch (RuntimeException e) {
      closer.close();
      throw e;
    }
  }

  /** The API's table of contents (SPEC §3); {@code /openapi.json} documents each route. */
  static void routes(RoutesConfig routes, Guard guard, Controllers c) {
    routes.get("/openapi.json", c.openApi()::serve);
    routes.get("/api/marketplace/categories", c.categories()::list);
    routes.post("/api/marketplace/listings", guard.write(c.listings()::create));
    routes.get("/api/marketplace/listings/{id}", guard.user(c.listings()::get));
    routes.post("/api/marketplace/listings/{id}/checkout", guard.payment(c.checkout()::checkout));
    routes.post("/api/marketplace/listings/{id}/promote", guard.payment(c.promotions()::promote));
    routes.post(
        "/api/marketplace/listings/{id}/refund-request", guard.write(c.refundRequests()::request));
    routes.get("/admin/api/marketplace/refunds", guard.admin(c.adminRefunds()::list));
    routes.post(
        "/admin/api/marketplace/refunds/{id}/approve", guard.admin(c.adminRefunds()::approve));
    routes.post(
        "/admin/api/marketplace/refunds/{id}/reject", guard.admin(c.adminRefunds()::reject));
    routes.post("/admin/api/marketplace/refunds/{id}/retry", guard.admin(c.adminRefunds()::retry));
    routes.post("/admin/api/marketplace/refunds/{id}/close", guard.admin(c.adminRefunds()::close));
    routes.post(
        "/admin/api/marketplace/payments/{paymentIntentId}/refunds",
        guard.admin(c.adminPaymentRefunds()::refund));
    routes.post("/admin/api/marketplace/listings/{id}/reject", guard.admin(c.moderation()::reject));
    routes.post("/admin/api/marketplace/users/{id}/risk/clear", guard.admin(c.risk()::clear));
    routes.post("/admin/api/marketplace/users/{id}/unban", guard.admin(c.adminUsers()::unban));
  }

  /** Browsers may call from the configured frontend origins only; none by default. */
  private static void cors(JavalinConfig javalin, List<String> origins) {
    if (origins.isEmpty()) {
      return;
    }
    javalin.bundledPlugins.enableCors(
        cors ->
            cors.addRule(
                rule -> {
                  rule.allowHost(
                      origins.getFirst(),
                      origins.subList(1, origins.size()).toArray(String[]::new));
                  rule.exposeHeader("Retry-After");
                  rule.exposeHeader(Idempotency.REPLAYED_HEADER);
                  rule.exposeHeader("Link");
                }));
  }

  private static void safely(String what, Runnable task) {
    try {
      task.run();
    } catch (RuntimeException e) {
      log.warn("could not {}; will try again", what, e);
    }
  }

  record Controllers(
      CategoryController categories,
      ListingController listings,
      CheckoutController checkout,
      PromotionController promotions,
      RefundRequestController refundRequests,
      AdminRefundController adminRefunds,
      AdminPaymentRefundController adminPaymentRefunds,
      ModerationController moderation,
      RiskController risk,
      AdminUserController adminUsers,
      OpenApi openApi) {}

  public int port() {
    return app.port();
  }

  public String baseUrl() {
    return HttpServers.localUrl(app);
  }

  /** The admin port: health and metrics. */
  public int adminPort() {
    return admin.port();
  }

  /** Where Prometheus scrapes {@code /metrics} and the kubelet probes {@code /health/*}. */
  public String adminUrl() {
    return HttpServers.localUrl(admin);
  }

  /** The running server, for tests that inspect its routes. */
  public Javalin javalin() {
    return app;
  }

  @Override
  public void close() {
    closer.close();
  }
}
