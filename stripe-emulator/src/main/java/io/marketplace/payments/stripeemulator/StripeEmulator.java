package io.marketplace.payments.stripeemulator;

import io.javalin.Javalin;
import io.marketplace.payments.stripeemulator.control.ControlController;
import io.marketplace.payments.stripeemulator.control.Controls;
import io.marketplace.payments.stripeemulator.dispute.Dispute;
import io.marketplace.payments.stripeemulator.dispute.DisputeController;
import io.marketplace.payments.stripeemulator.dispute.DisputeService;
import io.marketplace.payments.stripeemulator.http.ApiFaults;
import io.marketplace.payments.stripeemulator.http.HttpApi;
import io.marketplace.payments.stripeemulator.http.IdempotencyStore;
import io.marketplace.payments.stripeemulator.payment.PaymentController;
import io.marketplace.payments.stripeemulator.payment.PaymentIntentFaults;
import io.marketplace.payments.stripeemulator.payment.PaymentIntentService;
import io.marketplace.payments.stripeemulator.refund.Refund;
import io.marketplace.payments.stripeemulator.refund.RefundController;
import io.marketplace.payments.stripeemulator.refund.RefundFaults;
import io.marketplace.payments.stripeemulator.refund.RefundService;
import io.marketplace.payments.stripeemulator.state.Change;
import io.marketplace.payments.stripeemulator.state.ChangeLog;
import io.marketplace.payments.stripeemulator.state.Journal;
import io.marketplace.payments.stripeemulator.state.StateSnapshot;
import io.marketplace.payments.stripeemulator.state.Store;
import io.marketplace.payments.stripeemulator.webhook.DeliveryQuirks;
import io.marketplace.payments.stripeemulator.webhook.EventPublisher;
import io.marketplace.payments.stripeemulator.webhook.WebhookDeliverer;
import io.marketplace.payments.stripeemulator.webhook.WebhookEndpointController;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Stands in for Stripe: the part of its API this system uses, over HTTP at {@link #baseUrl()}, so
 * that stripe-java pointed there ({@code StripeClient.builder().setApiBase(baseUrl())}) works
 * unchanged; every change is delivered as a signed webhook to the configured endpoints. State is in
 * memory (optionally kept in a file across restarts).
 *
 * <pre>{@code
 * try (StripeEmulator stripe = StripeEmulator.start(
 *     StripeEmulator.Config.defaults().withWebhookEndpoint(url, "whsec_test"))) {
 *   StripeClient client = StripeClient.builder()
 *       .setApiKey(stripe.secretKey()).setApiBase(stripe.baseUrl()).build();
 *   ...
 * }
 * }</pre>
 */
public final class StripeEmulator implements AutoCloseable {
  /** The API version stripe-java 33.x pins: events in it deserialize to typed objects. */
  public static final String DEFAULT_API_VERSION = "2026-07-29.dahlia";

  /**
   * The API key an emulator accepts unless told another: a random {@code sk_test_} key per process,
   * since the services refuse a guessable {@code STRIPE_SECRET_KEY}.
   */
  public static final String DEFAULT_SECRET_KEY = randomSecretKey();

  /** Where events are delivered, and the {@code whsec_...} secret that signs them. */
  public record WebhookEndpoint(String url, String secret) {
    public WebhookEndpoint {
      Objects.requireNonNull(url, "url");
      Objects.requireNonNull(secret, "secret");
    }
  }

  /**
   * How the emulator runs.
   *
   * @param port the HTTP port, 0 for a free one
   * @param secretKey the only API key accepted
   * @param webhookEndpoints endpoints that receive every event
   * @param webhookRetryBaseDelay the first retry's delay; each next one doubles
   * @param webhookMaxAttempts tries per event and endpoint, the first included
   * @param clock for {@code created} and webhook signature timestamps
   * @param disputeDelay how long after a payment a dispute test card opens its dispute, and after a
   *     refund the refund-fail test card fails it
   * @param dataDir where state is journaled, to survive restarts and crashes (objects, idempotency
   *     keys, events and their pending deliveries); null keeps it in memory only
   * @param apiVersion the {@code api_version} of events
   * @param host the address to listen on; null listens on every interface (a container), {@code
   *     127.0.0.1} on the loopback only (the local stack: the test controls need no key)
   */
  public record Config(
      int port,
      String secretKey,
      List<WebhookEndpoint> webhookEndpoints,
      Duration webhookRetryBaseDelay,
      int webhookMaxAttempts,
      Clock clock,
      Duration disputeDelay,
      Path dataDir,
      String apiVersion,
      String host) {

    public Config {
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port must be 0..65535: " + port);
      }
      Objects.requireNonNull(secretKey, "secretKey");
      webhookEndpoints = webhookEndpoints == null ? List.of() : List.copyOf(webhookEndpoints);
      webhookRetryBaseDelay =
          webhookRetryBaseDelay == null ? Duration.ofSeconds(1) : webhookRetryBaseDelay;
      if (webhookMaxAttempts < 1) {
        throw new IllegalArgumentException("webhookMaxAttempts must be at least 1");
      }
      clock = clock == null ? Clock.systemUTC() : clock;
      disputeDelay = disputeDelay == null ? Duration.ofSeconds(1) : disputeDelay;
      apiVersion = apiVersion == null ? DEFAULT_API_VERSION : apiVersion;
    }

    /** A free port, {@link #DEFAULT_SECRET_KEY}, no endpoints, 1 s retry base, 12 tries. */
    public static Config defaults() {
      return new Config(
          0,
          DEFAULT_SECRET_KEY,
          List.of(),
          Duration.ofSeconds(1),
          12,
          Clock.systemUTC(),
          Duration.ofSeconds(1),
          null,
          DEFAULT_API_VERSION,
          null);
    }

    public Config withPort(int newPort) {
      return copy(c -> c.port = newPort);
    }

    public Config withSecretKey(String newSecretKey) {
      return copy(c -> c.secretKey = newSecretKey);
    }

    public Config withWebhookEndpoint(String url, String secret) {
      return copy(
          c -> {
            c.webhookEndpoints = new ArrayList<>(c.webhookEndpoints);
            c.webhookEndpoints.add(new WebhookEndpoint(url, secret));
          });
    }

    public Config withWebhookRetries(Duration baseDelay, int maxAttempts) {
      return copy(
          c -> {
            c.webhookRetryBaseDelay = baseDelay;
            c.webhookMaxAttempts = maxAttempts;
          });
    }

    public Config withClock(Clock newClock) {
      return copy(c -> c.clock = newClock);
    }

    public Config withDisputeDelay(Duration newDisputeDelay) {
      return copy(c -> c.disputeDelay = newDisputeDelay);
    }

    public Config withHost(String newHost) {
      return copy(c -> c.host = newHost);
    }

    public Config withDataDir(Path newDataDir) {
      return copy(c -> c.dataDir = newDataDir);
    }

    /** This configuration with {@code change} made to a copy of its fields, checked again. */
    private Config copy(Consumer<Copy> change) {
      Copy copy = new Copy(this);
      change.accept(copy);
      return copy.build();
    }

    /** The fields of a {@link Config} being changed by one of its {@code with} methods. */
    private static final class Copy {
      int port;
      String secretKey;
      List<WebhookEndpoint> webhookEndpoints;
      Duration webhookRetryBaseDelay;
      int webhookMaxAttempts;
      Clock clock;
      Duration disputeDelay;
      Path dataDir;
      String apiVersion;
      String host;

      Copy(Config from) {
        port = from.port;
        secretKey = from.secretKey;
        webhookEndpoints = from.webhookEndpoints;
        webhookRetryBaseDelay = from.webhookRetryBaseDelay;
        webhookMaxAttempts = from.webhookMaxAttempts;
        clock = from.clock;
        disputeDelay = from.disputeDelay;
        dataDir = from.dataDir;
        apiVersion = from.apiVersion;
        host = from.host;
      }

      Config build() {
        return new Config(
            port,
            secretKey,
            webhookEndpoints,
            webhookRetryBaseDelay,
            webhookMaxAttempts,
            clock,
            disputeDelay,
            dataDir,
            apiVersion,
            host);
      }
    }
  }

  private final Config config;
  private final Javalin app;
  private final WebhookDeliverer deliverer;
  private final ScheduledExecutorService timer;
  private final RefundFaults faults;
  private final Journal journal;
  private final WebhookEndpointController webhookEndpoints;
  private final Controls controls;
  private final Store store;

  private StripeEmulator(
      Config config,
      Javalin app,
      WebhookDeliverer deliverer,
      ScheduledExecutorService timer,
      RefundFaults faults,
      Journal journal,
      WebhookEndpointController webhookEndpoints,
      Controls controls,
      Store store) {
    this.config = config;
    this.app = app;
    this.deliverer = deliverer;
    this.timer = timer;
    this.faults = faults;
    this.journal = journal;
    this.webhookEndpoints = webhookEndpoints;
    this.controls = controls;
    this.store = store;
  }

  /** Wires everything by hand and starts serving; returns once the port is bound. */
  public static StripeEmulator start(Config config) {
    return start(config, false);
  }

  /**
   * As {@link #start}, but webhook deliveries (those resumed from the data directory included) are
   * held until {@link #resumeWebhooks()}: for a stack whose webhook receiver starts after the
   * emulator, so a restart does not spend the resumed deliveries' tries on a receiver not yet up.
   */
  public static StripeEmulator startHoldingWebhooks(Config config) {
    return start(config, true);
  }

  private static StripeEmulator start(Config config, boolean holdWebhooks) {
    Journal journal = config.dataDir() == null ? null : Journal.open(config.dataDir());
    StateSnapshot restored = journal == null ? StateSnapshot.EMPTY : journal.replayed();
    ChangeLog log = journal == null ? ChangeLog.NONE : journal;
    Store store = new Store(config.clock(), log);
    store.restore(restored);
    IdempotencyStore idempotency = new IdempotencyStore(config.clock());
    idempotency.restore(restored.idempotency());
    if (journal != null) {
      journal.rewrite(store.snapshot(idempotency.snapshot(), restored.deliveries()));
      idempotency.onKept(
          saved -> {
            log.append(Change.of(saved));
            log.sync();
          });
    }
    ScheduledExecutorService timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "stripe-emulator-timer");
              t.setDaemon(true);
              return t;
            });
    timer.scheduleAtFixedRate(idempotency::purgeExpired, 1, 1, TimeUnit.HOURS);

    DeliveryQuirks quirks = new DeliveryQuirks();
    WebhookDeliverer deliverer =
        new WebhookDeliverer(
            config.webhookRetryBaseDelay(),
            config.webhookMaxAttempts(),
            config.clock(),
            store,
            quirks);
    EventPublisher events = new EventPublisher(store, deliverer, config.apiVersion(), quirks);
    DisputeService disputes = new DisputeService(store, events, timer, config.disputeDelay());
    PaymentIntentService payments = new PaymentIntentService(store, events, disputes);
    RefundService refunds = new RefundService(store, events, timer, config.disputeDelay());
    RefundFaults faults = new RefundFaults();
    PaymentIntentFaults creationFaults = new PaymentIntentFaults();
    ApiFaults apiFaults = new ApiFaults();
    Controls controls =
        new Controls(
            payments, refunds, faults, creationFaults, apiFaults, disputes, deliverer, quirks);
    WebhookEndpointController webhookEndpoints = new WebhookEndpointController(store);
    Map<String, String> legacyEndpointIds = new HashMap<>();
    Map<String, Integer> occurrences = new HashMap<>();
    for (int i = 0; i < config.webhookEndpoints().size(); i++) {
      WebhookEndpoint endpoint = config.webhookEndpoints().get(i);
      String id = webhookEndpoints.addConfigured(i + 1, endpoint.url(), endpoint.secret()).id();
      int occurrence = occurrences.merge(endpoint.url(), 1, Integer::sum);
      legacyEndpointIds.put(
          WebhookEndpointController.legacyConfiguredId(endpoint.url(), occurrence), id);
    }
    if (holdWebhooks) {
      deliverer.pause();
    }
    deliverer.resumePending(restored.deliveries(), legacyEndpointIds);

    HttpApi api =
        new HttpApi(
            config.secretKey(),
            config.apiVersion(),
            idempotency,
            apiFaults,
            store::findJson,
            new PaymentController(payments, creationFaults),
            new RefundController(refunds, faults),
            new DisputeController(store),
            webhookEndpoints,
            new ControlController(controls));
    Javalin app = api.create();
    try {
      if (config.host() == null) {
        app.start(config.port());
      } else {
        app.start(config.host(), config.port());
      }
    } catch (RuntimeException e) {
      deliverer.close();
      timer.shutdownNow();
      if (journal != null) {
        journal.close();
      }
      throw e;
    }
    return new StripeEmulator(
        config, app, deliverer, timer, faults, journal, webhookEndpoints, controls, store);
  }

  /**
   * The API base for stripe-java's {@code setApiBase}, e.g. {@code http://localhost:12111}: the
   * address the emulator listens on when it was given one ({@code http://127.0.0.1:12111}), since
   * {@code localhost} may name {@code ::1} first, which a client that does not fall back to IPv4
   * would then fail to reach.
   */
  public String baseUrl() {
    String host = config.host();
    if (host == null || host.equals("0.0.0.0") || host.equals("::")) {
      return "http://localhost:" + port();
    }
    return "http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port();
  }

  public int port() {
    return app.port();
  }

  public String secretKey() {
    return config.secretKey();
  }

  public Config config() {
    return config;
  }

  /** Adds an endpoint that receives every event from now on; returns its {@code we_...} id. */
  public String addWebhookEndpoint(String url, String secret) {
    return webhookEndpoints.add(url, secret, List.of("*"), null).id();
  }

  // ---- test controls (also over HTTP under /_emulator) ----

  /** The next {@code count} refund calls answer 500 without doing anything. */
  public void failNextRefunds(int count) {
    controls.failNextRefunds(count, RefundFaults.Mode.ERROR, Duration.ZERO);
  }

  /**
   * The next {@code count} refund calls are held for {@code hold} and then carried out: a caller
   * with a shorter timeout sees a timeout although the refund happened.
   */
  public void hangNextRefunds(int count, Duration hold) {
    controls.failNextRefunds(count, RefundFaults.Mode.HANG, hold);
  }

  /**
   * The next {@code count} refund calls answer 500 from inside the endpoint, which is kept for
   * their Idempotency-Key and replayed to every retry with it; with {@code afterCreating} the
   * refund is made first, so money went back although no answer names the refund.
   */
  public void failNextRefundsKept(int count, boolean afterCreating) {
    controls.failNextRefunds(
        count,
        afterCreating ? RefundFaults.Mode.ERROR_AFTER_CREATE : RefundFaults.Mode.ERROR_KEPT,
        Duration.ZERO);
  }

  /** Disarms refund failures not yet used. */
  public void clearRefundFailures() {
    controls.clearRefundFailures();
  }

  /**
   * The next {@code count} PaymentIntent creations answer 500 from inside the endpoint, which is
   * kept for their Idempotency-Key and replayed to every retry with it; with {@code afterCreating}
   * the PaymentIntent is made first, so it exists although no answer names it.
   */
  public void failNextPaymentIntentCreations(int count, boolean afterCreating) {
    controls.failNextPaymentIntentCreations(
        count,
        afterCreating
            ? PaymentIntentFaults.Mode.ERROR_AFTER_CREATE
            : PaymentIntentFaults.Mode.ERROR);
  }

  /**
   * The next {@code count} PaymentIntent creations answer 400 from inside the endpoint (the account
   * cannot take charges for now), nothing made; the answer is kept for their Idempotency-Key and
   * replayed to every retry with it.
   */
  public void refuseNextPaymentIntentCreations(int count) {
    controls.failNextPaymentIntentCreations(count, PaymentIntentFaults.Mode.REFUSED);
  }

  /** Disarms PaymentIntent creation failures not yet used. */
  public void clearPaymentIntentFailures() {
    controls.clearPaymentIntentFailures();
  }

  /**
   * The next {@code count} calls of {@code operation} ({@code POST /v1/refunds}, {@code GET
   * /v1/payment_intents/{id}}: a method and a route as the API names it) answer {@code kind}'s
   * error before anything is done: a 429 as Stripe sends when it holds a caller off, a 403 for a
   * restricted key, a 401 for an expired key. Nothing is kept for the Idempotency-Key.
   */
  public void failNextApiCalls(String operation, int count, ApiFaults.Kind kind) {
    controls.failNextApiCalls(operation, count, kind);
  }

  /** Disarms API failures not yet used. */
  public void clearApiFailures() {
    controls.clearApiFailures();
  }

  /** How many armed API failures are not used yet. */
  public int armedApiFailures() {
    return controls.armedApiFailures();
  }

  /**
   * Refunds a PaymentIntent as if from Stripe's dashboard, outside the system; {@code amount} null
   * refunds what is left. Returns the refund's JSON.
   */
  public Map<String, Object> refundOutsideSystem(String paymentIntentId, Long amount) {
    Refund refund = controls.refundOutsideSystem(paymentIntentId, amount, null);
    return refund.toJson();
  }

  /**
   * Fails a succeeded refund now, as the card network may days after Stripe made it: its amount is
   * no longer refunded on the charge, and {@code charge.refund.updated}, {@code refund.updated} and
   * {@code refund.failed} are sent. Returns the refund's JSON.
   */
  public Map<String, Object> failRefund(String refundId) {
    return controls.failRefund(refundId).toJson();
  }

  /**
   * Deletes a PaymentIntent, as Stripe's "delete all test data" does: every call naming it answers
   * 404 {@code resource_missing} from now on, as it would to a key of another account or mode.
   */
  public void deletePaymentIntent(String paymentIntentId) {
    controls.deletePaymentIntent(paymentIntentId);
  }

  /**
   * Starts paying a PaymentIntent not yet paid with Stripe's succeeding test card, its outcome not
   * known yet ({@code processing}): Stripe refuses to confirm or cancel it until {@link
   * #failProcessing} ends it. Returns its JSON.
   */
  public Map<String, Object> holdProcessing(String paymentIntentId) {
    return controls.holdProcessing(paymentIntentId, "pm_card_visa").toJson();
  }

  /**
   * Fails the payment of a PaymentIntent {@code processing}, as its network answers: back in {@code
   * requires_payment_method}, payable and cancelable again. Returns its JSON.
   */
  public Map<String, Object> failProcessing(String paymentIntentId) {
    return controls.failProcessing(paymentIntentId).toJson();
  }

  /** Opens a chargeback ({@code needs_response}, reason fraudulent) now; returns its id. */
  public String openDispute(String paymentIntentId) {
    return controls.openDispute(paymentIntentId, false, "fraudulent").id();
  }

  /**
   * {@link #openDispute}, with an id of the older form Stripe still gives many disputes, {@code
   * dp_...} rather than {@code du_...}; returns its id.
   */
  public String openDisputeWithOlderId(String paymentIntentId) {
    return controls.openDispute(paymentIntentId, false, "fraudulent", "dp").id();
  }

  /** Opens an inquiry ({@code warning_needs_response}) now; returns its id. */
  public String openDisputeInquiry(String paymentIntentId) {
    return controls.openDispute(paymentIntentId, true, "fraudulent").id();
  }

  /** Closes a dispute {@code won} or {@code lost} (an inquiry: {@code warning_closed}). */
  public Map<String, Object> closeDispute(String disputeId, String outcome) {
    Dispute dispute = controls.closeDispute(disputeId, outcome);
    return dispute.toJson();
  }

  /**
   * Escalates an inquiry to a chargeback ({@code needs_response}) under the same dispute id, open
   * or closed ({@code warning_closed}), as the card network may.
   */
  public Map<String, Object> escalateDispute(String disputeId) {
    return controls.escalateDispute(disputeId).toJson();
  }

  /**
   * Changes a dispute's amount (cents, at most its charge's), as the card network may after it
   * opened, told by {@code charge.dispute.updated}. Returns the dispute's JSON.
   */
  public Map<String, Object> changeDisputeAmount(String disputeId, long amount) {
    return controls.changeDisputeAmount(disputeId, amount).toJson();
  }

  /** Every webhook delivery try so far, oldest first. */
  public List<WebhookAttempt> webhookAttempts() {
    return controls.webhookAttempts();
  }

  /** Holds webhook deliveries until {@link #resumeWebhooks()}. */
  public void pauseWebhooks() {
    controls.pauseWebhooks();
  }

  /** Sends the held deliveries, in the order set by {@link #resumeWebhooksIn}. */
  public void resumeWebhooks() {
    controls.resumeWebhooks();
  }

  /**
   * Delivers every event published from now on {@code extra} more times to each endpoint after its
   * first 2xx there, as Stripe may; 0 (the default) delivers once.
   */
  public void redeliverWebhooks(int extra) {
    controls.redeliverWebhooks(extra);
  }

  /**
   * Publishes every change from now on twice, as two events of the same type and {@code
   * data.object} with different ids, as Stripe may; off by default.
   */
  public void sendTwinEvents(boolean on) {
    controls.sendTwinEvents(on);
  }

  /**
   * The order in which {@link #resumeWebhooks()} releases what was held: {@link
   * DeliveryQuirks.ResumeOrder#reverse()} or {@link DeliveryQuirks.ResumeOrder#shuffled} send them
   * one after another; {@link DeliveryQuirks.ResumeOrder#arrival()} (the default) all at once.
   */
  public void resumeWebhooksIn(DeliveryQuirks.ResumeOrder order) {
    controls.resumeWebhooksIn(order);
  }

  /** Turns every delivery quirk off again. */
  public void clearDeliveryQuirks() {
    controls.clearDeliveryQuirks();
  }

  /** The JSON of any object by id ({@code pi_}, {@code ch_}, {@code re_}, {@code du_}, ...). */
  public Optional<Map<String, Object>> object(String id) {
    return store.findJson(id);
  }

  @Override
  public void close() {
    faults.close();
    app.stop();
    timer.shutdownNow();
    deliverer.close();
    if (journal != null) {
      journal.close();
    }
  }

  private static String randomSecretKey() {
    byte[] bytes = new byte[24];
    new java.security.SecureRandom().nextBytes(bytes);
    return "sk_test_" + java.util.HexFormat.of().formatHex(bytes);
  }
}
