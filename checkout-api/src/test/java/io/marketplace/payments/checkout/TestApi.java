package io.marketplace.payments.checkout;

import com.stripe.StripeClient;
import com.stripe.exception.StripeException;
import com.stripe.model.PaymentIntent;
import com.stripe.model.Refund;
import com.stripe.param.PaymentIntentConfirmParams;
import com.stripe.param.PaymentIntentListParams;
import com.stripe.param.RefundListParams;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.common.stripe.StripeConfig;
import io.marketplace.payments.stripeemulator.StripeEmulator;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.KafkaTestClient;
import io.marketplace.payments.testsupport.TestDatabase;
import io.marketplace.payments.testsupport.TestInfra;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.UnaryOperator;

/**
 * checkout-api running for one test class: its own database and topics, the Stripe emulator, the
 * real broker, and an HTTP client. Also the few things other services would do (a payment
 * succeeding, a user being banned), written straight to the tables they own.
 */
public final class TestApi implements AutoCloseable {

  public final TestDatabase db;
  public final Topics topics;
  public final StripeEmulator stripe;
  public final StripeClient stripeClient;
  public final CheckoutApi api;
  public final Http http;

  /** A client of the admin port, as the kubelet and Prometheus reach it. */
  public final Http admin;

  public final KafkaTestClient kafka;

  private TestApi(
      TestDatabase db,
      Topics topics,
      StripeEmulator stripe,
      CheckoutApi api,
      KafkaTestClient kafka) {
    this.db = db;
    this.topics = topics;
    this.stripe = stripe;
    this.stripeClient =
        StripeClient.builder().setApiKey(stripe.secretKey()).setApiBase(stripe.baseUrl()).build();
    this.api = api;
    this.http = new Http(api.baseUrl());
    this.admin = new Http(api.adminUrl());
    this.kafka = kafka;
  }

  private static TestApi shared;

  /**
   * One instance for every test class that needs no special configuration; they keep apart by using
   * their own random user and listing ids. Stopped when the test JVM exits.
   */
  public static synchronized TestApi shared() {
    if (shared == null) {
      TestApi started = start(UnaryOperator.identity());
      Runtime.getRuntime().addShutdownHook(new Thread(started::close, "checkout-api-test-stop"));
      shared = started;
    }
    return shared;
  }

  /** Starts with the test configuration, changed by {@code adjust}. */
  public static TestApi start(UnaryOperator<CheckoutApiConfig> adjust) {
    TestDatabase db = TestInfra.freshDatabase();
    Topics topics = TestInfra.freshTopics();
    StripeEmulator stripe = StripeEmulator.start(StripeEmulator.Config.defaults());
    try {
      CheckoutApi api = CheckoutApi.start(adjust.apply(config(db, topics, stripe)));
      return new TestApi(db, topics, stripe, api, TestInfra.kafkaClient());
    } catch (RuntimeException e) {
      stripe.close();
      throw e;
    }
  }

  private static CheckoutApiConfig config(TestDatabase db, Topics topics, StripeEmulator stripe) {
    return new CheckoutApiConfig(
        db.dbConfig(),
        TestInfra.kafkaConfig(topics),
        new StripeConfig(stripe.secretKey(), stripe.baseUrl()),
        Tokens.SECRET,
        0,
        Duration.ofDays(30),
        1000,
        1000,
        List.of());
  }

  /**
   * Another checkout-api process of the same deployment, as a second replica behind the same
   * Service: this one's database, topics and Stripe, its own port. The caller closes it.
   */
  public CheckoutApi startReplica() {
    return CheckoutApi.start(config(db, topics, stripe));
  }

  // ---- what other services write

  /**
   * A card-testing flag as payment-risk records it: raised at {@code flaggedAt}, holding the user
   * until {@code until}.
   */
  public void flag(UUID userId, Instant flaggedAt, Instant until) {
    db.execute(
        """
        INSERT INTO user_risk_flags (signal_id, user_id, signal, signal_count, threshold,
            window_start, window_end, flagged_at, flagged_until)
        VALUES (?, ?, 'card_testing_declines', 5, 5, ?, ?, ?, ?)
        """,
        UUID.randomUUID(),
        userId,
        Timestamp.from(flaggedAt.minusSeconds(600)),
        Timestamp.from(flaggedAt),
        Timestamp.from(flaggedAt),
        Timestamp.from(until));
  }

  /**
   * The payment processor recording a featured week of {@code listingId} from {@code startsAt}: the
   * listing's row locked and the week inserted in a transaction left open until {@link
   * HeldListing#commit}, so a test can have a purchase wait for the listing meanwhile.
   */
  public HeldListing holdListingAddingAFeaturedWeek(UUID listingId, Instant startsAt) {
    try {
      Connection connection = db.dataSource().getConnection();
      try {
        connection.setAutoCommit(false);
        int backendPid;
        try (PreparedStatement lock =
            connection.prepareStatement(
                "SELECT pg_backend_pid() FROM marketplace_listings WHERE id = ? FOR UPDATE")) {
          lock.setObject(1, listingId);
          try (ResultSet row = lock.executeQuery()) {
            if (!row.next()) {
              throw new IllegalStateException("no listing " + listingId);
            }
            backendPid = row.getInt(1);
          }
        }
        try (PreparedStatement insert =
            connection.prepareStatement(
                """
                INSERT INTO listing_promotions (id, listing_id, type, stripe_payment_intent_id,
                                                amount_cents, starts_at, expires_at)
                VALUES (?, ?, 'featured', ?, 500, ?, ?)
                """)) {
          insert.setObject(1, UUID.randomUUID());
          insert.setObject(2, listingId);
          insert.setString(3, "pi_" + UUID.randomUUID().toString().replace("-", ""));
          insert.setObject(4, startsAt.atOffset(ZoneOffset.UTC));
          insert.setObject(5, startsAt.plus(Duration.ofDays(7)).atOffset(ZoneOffset.UTC));
          insert.executeUpdate();
        }
        return new HeldListing(connection, backendPid);
      } catch (SQLException | RuntimeException e) {
        connection.close();
        throw e;
      }
    } catch (SQLException e) {
      throw new IllegalStateException("could not hold listing " + listingId, e);
    }
  }

  /** A listing's row held by an open transaction; closing it rolls back what was not committed. */
  public final class HeldListing implements AutoCloseable {

    private final Connection connection;
    private final int backendPid;

    private HeldListing(Connection connection, int backendPid) {
      this.connection = connection;
      this.backendPid = backendPid;
    }

    /** Waits until another session waits for a lock this transaction holds. */
    public void awaitWaiter(Duration timeout) {
      Await.until(
          timeout,
          "a session waiting for the held listing",
          () ->
              db.count(
                      "SELECT count(*) FROM pg_stat_activity WHERE ? = ANY(pg_blocking_pids(pid))",
                      backendPid)
                  > 0);
    }

    public void commit() {
      try {
        connection.commit();
      } catch (SQLException e) {
        throw new IllegalStateException("could not commit the held listing", e);
      }
    }

    @Override
    public void close() {
      try {
        connection.rollback();
        connection.close();
      } catch (SQLException e) {
        throw new IllegalStateException("could not release the held listing", e);
      }
    }
  }

  // ---- calls as a user would make them

  /** Creates a listing through the API and returns its id. */
  /** Moves an active listing's end ({@code expires_at}) to {@code endsAt}. */
  public void endListingAt(UUID listingId, Instant endsAt) {
    db.execute("UPDATE marketplace_listings SET expires_at = ? WHERE id = ?", endsAt, listingId);
  }

  public UUID createListing(UUID userId, String categorySlug) {
    Http.Response response =
        http.post("/api/marketplace/listings")
            .token(Tokens.user(userId))
            .json(Map.of("title", "Listing in " + categorySlug, "categorySlug", categorySlug))
            .send();
    if (response.status() != 201) {
      throw new AssertionError("could not create a listing: " + response);
    }
    return UUID.fromString(response.json().get("id").asText());
  }

  /** POSTs a listing's JSON under an Idempotency-Key, as a client that may send it again does. */
  public Http.Response postListing(UUID userId, String idempotencyKey, String json) {
    return http.post("/api/marketplace/listings")
        .token(Tokens.user(userId))
        .idempotencyKey(idempotencyKey)
        .json(json)
        .send();
  }

  public Http.Response checkout(UUID userId, UUID listingId) {
    return http.post("/api/marketplace/listings/" + listingId + "/checkout")
        .token(Tokens.user(userId))
        .send();
  }

  /** A checkout under the client's {@code Idempotency-Key}. */
  public Http.Response checkout(UUID userId, UUID listingId, String idempotencyKey) {
    return http.post("/api/marketplace/listings/" + listingId + "/checkout")
        .token(Tokens.user(userId))
        .idempotencyKey(idempotencyKey)
        .send();
  }

  public Http.Response promote(UUID userId, UUID listingId, String type) {
    return http.post("/api/marketplace/listings/" + listingId + "/promote")
        .token(Tokens.user(userId))
        .json(Map.of("type", type))
        .send();
  }

  // ---- what Stripe and the other services do

  /** Pays a PaymentIntent at Stripe with a card that succeeds. */
  public PaymentIntent payAtStripe(String paymentIntentId) {
    try {
      return stripeClient
          .v1()
          .paymentIntents()
          .confirm(
              paymentIntentId,
              PaymentIntentConfirmParams.builder().setPaymentMethod("pm_card_visa").build());
    } catch (StripeException e) {
      throw new IllegalStateException("could not pay " + paymentIntentId, e);
    }
  }

  /**
   * A listing whose posting fee was paid and applied: checked out through the API, paid at Stripe,
   * and then recorded as the payment processor would (payment succeeded, listing active).
   */
  public PaidListing paidListing(UUID userId) {
    UUID listingId = createListing(userId, "housing");
    String paymentIntentId = checkout(userId, listingId).json().get("paymentIntentId").asText();
    payAtStripe(paymentIntentId);
    Instant now = Instant.now();
    db.execute(
        "UPDATE payments SET status = 'succeeded', succeeded_at = ? WHERE stripe_payment_intent_id = ?",
        now,
        paymentIntentId);
    db.execute(
        "UPDATE marketplace_listings SET status = 'active', activated_at = ?, expires_at = ?"
            + " WHERE id = ?",
        now,
        now.plus(Duration.ofDays(30)),
        listingId);
    db.execute(
        "UPDATE checkout_attempts SET status = 'closed' WHERE stripe_payment_intent_id = ?",
        paymentIntentId);
    return new PaidListing(listingId, paymentIntentId);
  }

  public record PaidListing(UUID listingId, String paymentIntentId) {}

  /**
   * A promotion ({@code featured} or {@code bump}) of an active listing, bought through the API,
   * paid at Stripe and recorded succeeded as the payment processor would. Returns its PaymentIntent
   * id.
   */
  public String paidPromotion(UUID userId, UUID listingId, String type) {
    Http.Response promoted = promote(userId, listingId, type);
    if (promoted.status() != 200) {
      throw new AssertionError("could not promote: " + promoted);
    }
    String paymentIntentId = promoted.json().get("paymentIntentId").asText();
    payAtStripe(paymentIntentId);
    db.execute(
        "UPDATE payments SET status = 'succeeded', succeeded_at = ? WHERE stripe_payment_intent_id = ?",
        Instant.now(),
        paymentIntentId);
    db.execute(
        "UPDATE checkout_attempts SET status = 'closed' WHERE stripe_payment_intent_id = ?",
        paymentIntentId);
    return paymentIntentId;
  }

  /**
   * Leaves {@code refundId} as the refund worker records a refund Stripe failed after creating it
   * (an expired card): {@code failed}, open, its first call to Stripe two days ago.
   */
  public void failedAtStripe(UUID refundId) {
    int changed =
        db.execute(
            """
            UPDATE payment_refunds
            SET status = 'failed', stripe_refund_id = ?, failure_reason = 'expired_or_canceled_card',
                failed_at = now(), first_attempted_at = now() - interval '2 days',
                last_error = 'Stripe reports refund failed'
            WHERE id = ?
            """,
            "re_failed" + refundId.toString().substring(0, 8),
            refundId);
    if (changed != 1) {
      throw new IllegalStateException("no refund " + refundId);
    }
  }

  /** Every refund at the emulator of {@code paymentIntentId}. */
  public List<Refund> refundsAtStripe(String paymentIntentId) {
    try {
      List<Refund> found = new ArrayList<>();
      stripeClient
          .v1()
          .refunds()
          .list(RefundListParams.builder().setPaymentIntent(paymentIntentId).setLimit(100L).build())
          .autoPagingIterable()
          .forEach(found::add);
      return found;
    } catch (StripeException e) {
      throw new IllegalStateException("could not list refunds", e);
    }
  }

  public void ban(UUID userId) {
    db.execute(
        "INSERT INTO users (id, banned_at, ban_reason) VALUES (?, now(), 'chargebacks')"
            + " ON CONFLICT (id) DO UPDATE SET banned_at = now(), ban_reason = 'chargebacks'",
        userId);
  }

  /** Every PaymentIntent at the emulator made for {@code listingId}. */
  public List<PaymentIntent> paymentIntentsOf(UUID listingId) {
    try {
      List<PaymentIntent> found = new ArrayList<>();
      for (PaymentIntent intent :
          stripeClient
              .v1()
              .paymentIntents()
              .list(PaymentIntentListParams.builder().setLimit(100L).build())
              .autoPagingIterable()) {
        if (listingId.toString().equals(intent.getMetadata().get("listing_id"))) {
          found.add(intent);
        }
      }
      return found;
    } catch (StripeException e) {
      throw new IllegalStateException("could not list PaymentIntents", e);
    }
  }

  /** The API's {@code /metrics}, as Prometheus scrapes it: on the admin port. */
  public String metrics() {
    return admin.get("/metrics").send().body();
  }

  @Override
  public void close() {
    kafka.close();
    api.close();
    stripe.close();
  }
}
