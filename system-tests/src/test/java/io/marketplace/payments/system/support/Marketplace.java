package io.marketplace.payments.system.support;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.local.LocalStack;
import io.marketplace.payments.ops.token.TokenCommand;
import io.marketplace.payments.risk.RiskSignal;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.KafkaTestClient;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Predicate;

/**
 * The running system as its users reach it: sellers and admins call the API with their tokens,
 * buyers' browsers confirm PaymentIntents at Stripe, and the test looks at what a user or an
 * operator would see (the API's JSON, rows in PostgreSQL, events on {@code payments.events.v1},
 * Stripe's records).
 */
public final class Marketplace implements AutoCloseable {

  /** Webhook delivery, the broker and a worker in between, on a busy 2-core machine. */
  public static final Duration WAIT = Duration.ofSeconds(30);

  private final String jwtSecret;
  private final KafkaTestClient kafka;
  public final Api api;
  public final StripeApi stripe;
  public final Sql db;
  public final PaymentEvents events;

  public Marketplace(LocalStack stack) {
    Map<String, String> env = stack.env();
    this.jwtSecret = env.get("AUTH_JWT_SECRET");
    this.api = new Api(env.get("API_URL"));
    this.stripe = new StripeApi(env.get("STRIPE_API_BASE"), env.get("STRIPE_SECRET_KEY"));
    this.db =
        new Sql(env.get("DATABASE_URL"), env.get("DATABASE_USER"), env.get("DATABASE_PASSWORD"));
    this.kafka = new KafkaTestClient(env.get("KAFKA_BOOTSTRAP_SERVERS"));
    this.events =
        new PaymentEvents(
            kafka, Topics.standard().paymentEvents(), () -> db.count("outbox_events") == 0);
  }

  /** Someone signed in, with the token the identity service would give them. */
  public record User(UUID id, String token) {}

  public User newUser() {
    return user(UUID.randomUUID(), List.of("user"));
  }

  public User newAdmin() {
    return user(UUID.randomUUID(), List.of("user", "super_admin"));
  }

  private User user(UUID id, List<String> roles) {
    return new User(
        id, TokenCommand.sign(jwtSecret, id, roles, Instant.now(), Duration.ofHours(1)));
  }

  // ---- sellers

  /** Posts a listing; returns the 201 answer's JSON. */
  public JsonNode createListing(User seller, String categorySlug) {
    Api.Response created =
        api.post(
            "/api/marketplace/listings",
            seller.token(),
            "{\"title\":\"Sunny room near the park\",\"categorySlug\":\"" + categorySlug + "\"}");
    assertThat(created.status()).as("create listing: %s", created).isEqualTo(201);
    return created.json();
  }

  /** Starts the posting-fee checkout; returns the 200 answer's JSON. */
  public JsonNode checkout(User seller, String listingId) {
    Api.Response checkout =
        api.post("/api/marketplace/listings/" + listingId + "/checkout", seller.token(), null);
    assertThat(checkout.status()).as("checkout: %s", checkout).isEqualTo(200);
    return checkout.json();
  }

  /** Buys a promotion ({@code featured} or {@code bump}); returns the raw answer. */
  public Api.Response promote(User seller, String listingId, String type) {
    return api.post(
        "/api/marketplace/listings/" + listingId + "/promote",
        seller.token(),
        "{\"type\":\"" + type + "\"}");
  }

  public JsonNode listing(User viewer, String listingId) {
    Api.Response listing = api.get("/api/marketplace/listings/" + listingId, viewer.token());
    assertThat(listing.status()).as("get listing: %s", listing).isEqualTo(200);
    return listing.json();
  }

  /** Polls the listing as its owner would refresh the page, until it matches. */
  public JsonNode awaitListing(
      User viewer, String listingId, String description, Predicate<JsonNode> condition) {
    return Await.value(
        WAIT,
        "listing " + listingId + " " + description,
        () -> Optional.of(listing(viewer, listingId)).filter(condition));
  }

  // ---- buyers

  /** What the buyer's browser does with the client secret: confirm with a (test) card. */
  public Api.Response pay(String paymentIntentId, String card) {
    return stripe.confirm(paymentIntentId, card);
  }

  /** A listing in {@code housing} (500 cents) whose posting fee was paid with a good card. */
  public String activeListing(User seller) {
    String listingId = createListing(seller, "housing").path("id").asText();
    String pi = checkout(seller, listingId).path("paymentIntentId").asText();
    assertThat(pay(pi, "pm_card_visa").status()).isEqualTo(200);
    awaitListing(seller, listingId, "active", l -> "active".equals(l.path("status").asText()));
    return listingId;
  }

  // ---- admins

  public Api.Response rejectListing(User admin, String listingId, String reason) {
    return api.post(
        "/admin/api/marketplace/listings/" + listingId + "/reject",
        admin.token(),
        "{\"reason\":\"" + reason + "\"}");
  }

  // ---- what the database holds

  public Map<String, Object> payment(String paymentIntentId) {
    return db.row("SELECT * FROM payments WHERE stripe_payment_intent_id = ?", paymentIntentId)
        .orElseThrow(() -> new AssertionError("no payment " + paymentIntentId));
  }

  /** Waits until a refund record of {@code paymentIntentId} matches, and returns it. */
  public Map<String, Object> awaitRefund(
      String paymentIntentId, String description, Predicate<Map<String, Object>> condition) {
    return Await.value(
        WAIT,
        "refund of " + paymentIntentId + " " + description,
        () ->
            db
                .rows(
                    "SELECT * FROM payment_refunds WHERE stripe_payment_intent_id = ?",
                    paymentIntentId)
                .stream()
                .filter(condition)
                .findFirst());
  }

  // ---- the risk service

  /**
   * Puts a risk signal on {@code risk.signals.v1} as the risk service publishes it, keyed by its
   * user: one the service counted earlier and that reaches the flag worker only now (the service or
   * the worker was behind).
   */
  public void publishRiskSignal(RiskSignal signal) {
    kafka.send(Topics.standard().riskSignals(), signal.data().userId(), Json.write(signal));
  }

  @Override
  public void close() {
    kafka.close();
  }
}
