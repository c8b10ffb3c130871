package io.marketplace.payments.processor.batch;

import io.marketplace.payments.common.db.PaymentIntentLock;
import io.marketplace.payments.common.db.Writes;
import io.marketplace.payments.common.events.PaymentEvent;
import io.marketplace.payments.common.json.Json;
import io.marketplace.payments.common.outbox.Destination;
import io.marketplace.payments.common.pricing.Pricing;
import io.marketplace.payments.common.refund.RefundDao;
import io.marketplace.payments.common.stripe.StripeEvent;
import io.marketplace.payments.processor.audit.WebhookEvents;
import io.marketplace.payments.processor.listing.ListingRow;
import io.marketplace.payments.processor.payment.OurPaymentIntent;
import io.marketplace.payments.processor.payment.Payment;
import io.marketplace.payments.processor.payment.PaymentRow;
import io.marketplace.payments.processor.payment.PaymentType;
import io.marketplace.payments.processor.promotion.PromotionRow;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.jdbi.v3.core.Handle;

/**
 * The rows one worker transaction works on (a unit of work): the payments of its events'
 * PaymentIntents, their listings and those listings' promotions are read and locked once, in a
 * fixed order; the handlers then apply the events one after the other to these rows in memory, each
 * seeing what the ones before it did; at the end every changed row, new promotion, outbox message
 * and audit row is written in one statement, a clause per table. A batch of 500 events thus costs
 * about six round trips to PostgreSQL instead of several per event, and commits all or nothing.
 */
public final class PaymentBatch {

  private final Handle tx;
  private final Map<String, PaymentRow> payments;
  private final Map<String, Instant> rebuiltCreatedAt;
  private final Map<UUID, ListingRow> listings;
  private final Map<UUID, Instant> featuredUntil;
  private final Set<String> promotedPaymentIntents;
  private final Set<String> announcedFailures = new HashSet<>();
  private final List<FailedAttempt> newFailures = new ArrayList<>();
  private final List<PromotionRow> newPromotions = new ArrayList<>();
  private final List<OutboxRows.Row> outbox = new ArrayList<>();
  private final Map<String, WebhookEvents.Row> audit = new LinkedHashMap<>();

  private PaymentBatch(
      Handle tx,
      Map<String, PaymentRow> payments,
      Map<String, Instant> rebuiltCreatedAt,
      Map<UUID, ListingRow> listings,
      Map<UUID, Instant> featuredUntil,
      Set<String> promotedPaymentIntents) {
    this.tx = tx;
    this.payments = payments;
    this.rebuiltCreatedAt = rebuiltCreatedAt;
    this.listings = listings;
    this.featuredUntil = featuredUntil;
    this.promotedPaymentIntents = promotedPaymentIntents;
  }

  /**
   * Reads and locks what {@code events} (PaymentIntent events, in order) concern. A PaymentIntent
   * we have no row for but whose metadata is ours (we created it; the API's insert is not visible
   * yet, or was lost) gets a row rebuilt from it, inserted at the end, unless the row is there once
   * the PaymentIntent's lock is held (see {@link #rebuildMissing}).
   */
  public static PaymentBatch load(Handle tx, List<StripeEvent> events) {
    Map<String, PaymentRow> payments = lockPayments(tx, paymentIntents(events));
    Map<String, Payment> purchases = new HashMap<>();
    Map<String, Instant> createdAt = new HashMap<>();
    for (StripeEvent event : events) {
      String pi = event.paymentIntentId().orElseThrow();
      if (!payments.containsKey(pi) && !purchases.containsKey(pi)) {
        OurPaymentIntent.from(event)
            .ifPresent(
                purchase -> {
                  purchases.put(pi, purchase);
                  createdAt.put(pi, OurPaymentIntent.createdAt(event));
                });
      }
    }
    Map<String, Instant> rebuilt = rebuildMissing(tx, payments, purchases, createdAt);
    PaymentBatch batch = withTheirListings(tx, payments, rebuilt);
    batch.readAnnouncedFailures(
        events.stream()
            .filter(e -> PAYMENT_FAILED.equals(e.type()))
            .map(StripeEvent::failedAttempt)
            .distinct()
            .toList());
    return batch;
  }

  /**
   * Rebuilds the rows of {@code purchases} (PaymentIntents of ours we read no row for) from their
   * metadata, each under its PaymentIntent's {@link PaymentIntentLock}, taken in order; returns
   * when each rebuilt one was created ({@code createdAt}), for its insert.
   *
   * <p>With the lock held, the row is read again, and locked: another worker transaction applying
   * another event of the same PaymentIntent at the same time (Stripe's twin of a success, a
   * reconcile repair or a redriven dead letter read by another consumer) read it missing too,
   * rebuilt it under the same lock and committed before this one got the lock. Its row, not one
   * rebuilt again as {@code requires_payment}, is what this batch's events apply to: a second
   * success then changes nothing, as a success delivered again does, instead of finding its twin's
   * activation and sending a delivered purchase for refund.
   *
   * <p>The money of each rebuilt payment that went back before its row existed (refunds Stripe made
   * and chargebacks of disputes, which the refund worker keeps until the row is there, {@link
   * RefundDao#RETURNED_CENTS}) is read under the same lock, which the refund worker takes before it
   * keeps one, so that a refund or dispute kept while this batch builds the row is either seen here
   * or finds the row once this batch commits, and is recorded against it.
   */
  private static Map<String, Instant> rebuildMissing(
      Handle tx,
      Map<String, PaymentRow> payments,
      Map<String, Payment> purchases,
      Map<String, Instant> createdAt) {
    Map<String, Instant> rebuilt = new HashMap<>();
    if (purchases.isEmpty()) {
      return rebuilt;
    }
    List<String> pis = List.copyOf(new TreeSet<>(purchases.keySet()));
    for (String pi : pis) {
      PaymentIntentLock.lock(tx, pi);
    }
    payments.putAll(lockPayments(tx, pis));
    Map<String, PaymentRow> rows = new HashMap<>();
    for (String pi : pis) {
      if (payments.containsKey(pi)) {
        continue; // committed meanwhile by a transaction that held the lock before this one
      }
      Payment purchase = purchases.get(pi);
      requirePricedByACheckout(tx, purchase);
      PaymentRow row = new PaymentRow(purchase, "requires_payment", null, null, null, null, true);
      payments.put(pi, row);
      rows.put(pi, row);
      rebuilt.put(pi, createdAt.get(pi));
    }
    readReturnedCents(tx, rows);
    return rebuilt;
  }

  private static final String PAYMENT_FAILED = "payment_intent.payment_failed";

  /** A declined attempt announced by this batch, kept in {@code payment_failed_attempts}. */
  private record FailedAttempt(String attempt, String paymentIntentId, Instant failedAt) {}

  /**
   * Which of {@code attempts} (the batch's declined attempts) were announced before; the rows are
   * the payments', locked above, so no other transaction announces one of them meanwhile. No
   * statement when the batch has none, as most have not.
   */
  private void readAnnouncedFailures(List<String> attempts) {
    if (attempts.isEmpty()) {
      return;
    }
    announcedFailures.addAll(
        tx.createQuery(
                "SELECT attempt FROM payment_failed_attempts"
                    + " WHERE attempt = ANY(CAST(:attempts AS text[]))")
            .bind("attempts", attempts.toArray(String[]::new))
            .mapTo(String.class)
            .list());
  }

  /**
   * Reads and locks our payments of {@code paymentIntentIds} with their listings and promotions, as
   * {@link #load} does, for work that is not a Stripe event (a command of another service about a
   * payment); a PaymentIntent we have no row for is not in the batch. The caller {@link #write
   * writes} the batch before its transaction commits.
   */
  public static PaymentBatch lock(Handle tx, List<String> paymentIntentIds) {
    return withTheirListings(
        tx, lockPayments(tx, paymentIntentIds.stream().distinct().sorted().toList()), Map.of());
  }

  private static PaymentBatch withTheirListings(
      Handle tx, Map<String, PaymentRow> payments, Map<String, Instant> rebuilt) {
    Set<UUID> listingIds =
        payments.values().stream()
            .map(p -> p.purchase().listingId())
            .collect(Collectors.toCollection(TreeSet::new));
    Map<UUID, ListingRow> listings = lockListings(tx, listingIds);
    Map<UUID, Instant> featuredUntil = new HashMap<>();
    Set<String> promoted = new HashSet<>();
    List<Payment> promotions =
        payments.values().stream()
            .map(PaymentRow::purchase)
            .filter(p -> p.type() != PaymentType.POSTING_FEE)
            .toList();
    if (!promotions.isEmpty()) {
      readPromotions(
          tx,
          promotions.stream().map(Payment::paymentIntentId).collect(Collectors.toSet()),
          promotions.stream().map(Payment::listingId).collect(Collectors.toSet()),
          featuredUntil,
          promoted);
    }
    return new PaymentBatch(tx, payments, rebuilt, listings, featuredUntil, promoted);
  }

  // ---- what handlers read and change

  /** Our payment of a PaymentIntent (read, or rebuilt from its metadata); empty if not ours. */
  public Optional<PaymentRow> payment(String paymentIntentId) {
    return Optional.ofNullable(payments.get(paymentIntentId));
  }

  /** The listing, or null when it does not exist (deleted). */
  public ListingRow listing(UUID id) {
    return listings.get(id);
  }

  /** The end of the listing's running featured promotions, counting those of this batch. */
  public Optional<Instant> featuredUntil(UUID listingId) {
    return Optional.ofNullable(featuredUntil.get(listingId));
  }

  /**
   * Whether the declined {@code attempt} is announced now for the first time: true once per
   * attempt, whatever the order in which Stripe reports it and however many events report it; the
   * attempt is kept as announced when the batch is written.
   */
  public boolean firstAnnouncementOfFailure(
      String attempt, String paymentIntentId, Instant failedAt) {
    if (!announcedFailures.add(attempt)) {
      return false;
    }
    newFailures.add(new FailedAttempt(attempt, paymentIntentId, failedAt));
    return true;
  }

  /** Whether the PaymentIntent already bought a promotion (one per payment). */
  public boolean hasPromotion(String paymentIntentId) {
    return promotedPaymentIntents.contains(paymentIntentId);
  }

  public void addPromotion(PromotionRow promotion) {
    newPromotions.add(promotion);
    promotedPaymentIntents.add(promotion.paymentIntentId());
    if (promotion.expiresAt() != null) {
      featuredUntil.merge(promotion.listingId(), promotion.expiresAt(), PaymentBatch::later);
    }
  }

  /**
   * Announces a {@code payments.events.v1} event (see {@link PaymentEvent#written}), keyed by
   * listing (or user) id.
   */
  public void publish(PaymentEvent.Written event, String key) {
    outbox.add(
        new OutboxRows.Row(
            event.id(), Destination.PAYMENT_EVENTS, key, event.type().wireName(), event.json()));
  }

  /** Sends any message with a stable id to another destination through the outbox. */
  public void send(Destination destination, UUID id, String key, String type, Object message) {
    outbox.add(new OutboxRows.Row(id, destination, key, type, Json.write(message)));
  }

  /**
   * The batch's transaction, for a statement on rows the batch does not hold: a listing's featured
   * weeks bought by other payments, ended when its activation is taken back. Written at once, not
   * at {@link #write}.
   */
  public Handle handle() {
    return tx;
  }

  /** Runs {@code action} once the batch committed (never when it rolled back). */
  public void afterCommit(Runnable action) {
    tx.afterCommit(action);
  }

  void audit(WebhookEvents.Row row) {
    audit.put(row.eventId(), row);
  }

  // ---- reading

  private static List<String> paymentIntents(List<StripeEvent> events) {
    return events.stream()
        .map(
            e ->
                e.paymentIntentId()
                    .orElseThrow(
                        () -> new IllegalArgumentException(e.type() + " names no PaymentIntent")))
        .distinct()
        .sorted()
        .toList();
  }

  /**
   * A row is rebuilt from metadata only for a purchase priced as we price it ({@link
   * Pricing#pricedByACheckout}). Metadata is whatever the PaymentIntent's creator wrote; anything
   * else throws, and the event goes to the dead-letter topic for a person.
   */
  private static void requirePricedByACheckout(Handle tx, Payment purchase) {
    boolean priced =
        Pricing.pricedByACheckout(
            tx,
            purchase.paymentIntentId(),
            purchase.listingId(),
            purchase.userId(),
            purchase.type().wire(),
            purchase.amountCents(),
            purchase.currency());
    if (!priced) {
      throw new IllegalArgumentException(
          "PaymentIntent %s names listing %s, user %s, %s for %d %s, which no checkout of ours priced: not delivered"
              .formatted(
                  purchase.paymentIntentId(),
                  purchase.listingId(),
                  purchase.userId(),
                  purchase.type().wire(),
                  purchase.amountCents(),
                  purchase.currency()));
    }
  }

  private static Map<String, PaymentRow> lockPayments(Handle tx, List<String> pis) {
    Map<String, PaymentRow> rows = new HashMap<>();
    if (pis.isEmpty()) {
      return rows;
    }
    tx.createQuery(
            """
            SELECT p.stripe_payment_intent_id, p.listing_id, p.user_id, p.payment_type,
                   p.amount_cents, p.currency, p.status, p.succeeded_at, p.failure_message,
                   p.failed_attempt, p.failed_at, p.delivery_withheld_at, p.activation_withdrawn_at,
                   p.delivery_refused_at
            FROM payments p WHERE p.stripe_payment_intent_id = ANY(CAST(:pis AS text[]))
            ORDER BY p.stripe_payment_intent_id
            FOR UPDATE OF p
            """)
        .bind("pis", pis.toArray(String[]::new))
        .map(
            (rs, ctx) ->
                new PaymentRow(
                    new Payment(
                        rs.getString("stripe_payment_intent_id"),
                        rs.getObject("listing_id", UUID.class),
                        rs.getObject("user_id", UUID.class),
                        PaymentType.fromWire(rs.getString("payment_type")),
                        rs.getLong("amount_cents"),
                        rs.getString("currency")),
                    rs.getString("status"),
                    instant(rs, "succeeded_at"),
                    rs.getString("failure_message"),
                    rs.getString("failed_attempt"),
                    instant(rs, "failed_at"),
                    instant(rs, "delivery_withheld_at"),
                    instant(rs, "activation_withdrawn_at"),
                    instant(rs, "delivery_refused_at"),
                    false))
        .forEach(row -> rows.put(row.purchase().paymentIntentId(), row));
    readReturnedCents(tx, rows);
    return rows;
  }

  /**
   * The money of each locked payment that went back ({@link RefundDao#RETURNED_CENTS}), read by a
   * statement of its own once the rows are locked: a statement sees what was committed when it
   * began, so one that waited for a payment's lock while the refund worker recorded a chargeback
   * under it would not see that chargeback. The refund worker records under the same lock, so what
   * this reads stands until the batch commits.
   */
  private static void readReturnedCents(Handle tx, Map<String, PaymentRow> rows) {
    if (rows.isEmpty()) {
      return;
    }
    tx.createQuery(
            """
            SELECT p.pi, (%s) AS returned_cents FROM unnest(CAST(:pis AS text[])) AS p(pi)
            """
                .formatted(RefundDao.returnedCentsOf("p.pi")))
        .bind("pis", rows.keySet().toArray(String[]::new))
        .map((rs, ctx) -> Map.entry(rs.getString("pi"), rs.getLong("returned_cents")))
        .forEach(returned -> rows.get(returned.getKey()).returned(returned.getValue()));
  }

  private static Map<UUID, ListingRow> lockListings(Handle tx, Set<UUID> ids) {
    Map<UUID, ListingRow> rows = new HashMap<>();
    if (ids.isEmpty()) {
      return rows;
    }
    tx.createQuery(
            """
            SELECT id, user_id, status, activated_at, expires_at, payment_intent_id, last_bumped_at
            FROM marketplace_listings WHERE id = ANY(CAST(:ids AS uuid[]))
            ORDER BY id
            FOR UPDATE
            """)
        .bind("ids", strings(ids, UUID::toString))
        .map(
            (rs, ctx) ->
                new ListingRow(
                    rs.getObject("id", UUID.class),
                    rs.getObject("user_id", UUID.class),
                    rs.getString("status"),
                    instant(rs, "activated_at"),
                    instant(rs, "expires_at"),
                    rs.getString("payment_intent_id"),
                    instant(rs, "last_bumped_at")))
        .forEach(row -> rows.put(row.id(), row));
    return rows;
  }

  /**
   * Which of the batch's promotion payments already have their promotion, and until when each of
   * their listings is featured. With the statistics of a live table the planner looks each listing
   * up in {@code promotions_featured_running_by_listing} (V12): one probe of an index of running
   * featured promotions, whatever the listing's history (through {@code promotions_by_listing} a
   * probe fetched every promotion the listing ever had); when the statistics say that few run, it
   * hashes them all instead. {@code max()} inside the subquery would let it walk the running
   * promotions in expiry order until one of the listing's came up instead: the whole index for a
   * listing that has none.
   */
  private static void readPromotions(
      Handle tx,
      Set<String> pis,
      Set<UUID> listingIds,
      Map<UUID, Instant> featuredUntil,
      Set<String> promoted) {
    promoted.addAll(
        tx.createQuery(
                """
                SELECT p.stripe_payment_intent_id
                FROM unnest(CAST(:pis AS text[])) AS paid(pi)
                JOIN listing_promotions p ON p.stripe_payment_intent_id = paid.pi
                """)
            .bind("pis", pis.toArray(String[]::new))
            .mapTo(String.class)
            .list());
    tx.createQuery(
            """
            SELECT promoted.id AS listing_id, max(running.expires_at) AS featured_until
            FROM unnest(CAST(:ids AS uuid[])) AS promoted(id)
            CROSS JOIN LATERAL (
                SELECT p.expires_at FROM listing_promotions p
                WHERE p.listing_id = promoted.id AND p.type = 'featured' AND p.expired_at IS NULL
            ) AS running
            GROUP BY promoted.id
            """)
        .bind("ids", strings(listingIds, UUID::toString))
        .map(
            (rs, ctx) ->
                Map.entry(rs.getObject("listing_id", UUID.class), instant(rs, "featured_until")))
        .forEach(e -> featuredUntil.put(e.getKey(), e.getValue()));
  }

  // ---- writing

  /**
   * Writes every change of the batch: payments rebuilt from metadata first (the update must see
   * them), then one statement for the rest, each table in a clause of its own.
   */
  public void write() {
    insertRebuiltPayments();
    Writes writes = new Writes();
    updatePayments(writes);
    updateListings(writes);
    insertPromotions(writes);
    insertFailedAttempts(writes);
    OutboxRows.insert(outbox).ifPresent(writes::add);
    WebhookEvents.upsert(List.copyOf(audit.values())).ifPresent(writes::add);
    writes.execute(tx);
  }

  private void insertRebuiltPayments() {
    List<PaymentRow> rows = payments.values().stream().filter(PaymentRow::rebuilt).toList();
    if (rows.isEmpty()) {
      return;
    }
    // ON CONFLICT: a row the API inserted meanwhile wins; the update below then moves it.
    tx.createUpdate(
            """
            INSERT INTO payments (stripe_payment_intent_id, listing_id, user_id, payment_type,
                                  amount_cents, currency, status, created_at)
            SELECT pi, listing, payer, type, amount, currency, 'requires_payment', created
            FROM unnest(CAST(:pis AS text[]), CAST(:listings AS uuid[]), CAST(:users AS uuid[]),
                        CAST(:types AS text[]), CAST(:amounts AS integer[]),
                        CAST(:currencies AS text[]), CAST(:created AS timestamptz[]))
                 AS r(pi, listing, payer, type, amount, currency, created)
            ON CONFLICT (stripe_payment_intent_id) DO NOTHING
            """)
        .bind("pis", strings(rows, r -> r.purchase().paymentIntentId()))
        .bind("listings", strings(rows, r -> r.purchase().listingId().toString()))
        .bind("users", strings(rows, r -> r.purchase().userId().toString()))
        .bind("types", strings(rows, r -> r.purchase().type().wire()))
        .bind("amounts", strings(rows, r -> Long.toString(r.purchase().amountCents())))
        .bind("currencies", strings(rows, r -> r.purchase().currency()))
        .bind(
            "created",
            strings(rows, r -> rebuiltCreatedAt.get(r.purchase().paymentIntentId()).toString()))
        .execute();
  }

  private void updatePayments(Writes writes) {
    List<PaymentRow> rows = payments.values().stream().filter(PaymentRow::changed).toList();
    if (rows.isEmpty()) {
      return;
    }
    writes.add(
        new Writes.Part(
            """
            UPDATE payments p
            SET status = u.status, succeeded_at = u.succeeded_at,
                failure_message = u.failure_message, failed_attempt = u.failed_attempt,
                failed_at = u.failed_at, delivery_withheld_at = u.withheld_at,
                activation_withdrawn_at = u.withdrawn_at, delivery_refused_at = u.refused_at,
                updated_at = now()
            FROM unnest(CAST(:payment_pis AS text[]), CAST(:payment_statuses AS text[]),
                        CAST(:payment_succeeded AS timestamptz[]),
                        CAST(:payment_messages AS text[]), CAST(:payment_attempts AS text[]),
                        CAST(:payment_failed AS timestamptz[]),
                        CAST(:payment_withheld AS timestamptz[]),
                        CAST(:payment_withdrawn AS timestamptz[]),
                        CAST(:payment_refused AS timestamptz[]))
                 AS u(pi, status, succeeded_at, failure_message, failed_attempt, failed_at,
                      withheld_at, withdrawn_at, refused_at)
            WHERE p.stripe_payment_intent_id = u.pi
            """,
            update ->
                update
                    .bind("payment_pis", strings(rows, r -> r.purchase().paymentIntentId()))
                    .bind("payment_statuses", strings(rows, PaymentRow::status))
                    .bind("payment_succeeded", strings(rows, r -> text(r.succeededAt())))
                    .bind("payment_messages", strings(rows, PaymentRow::failureMessage))
                    .bind("payment_attempts", strings(rows, PaymentRow::failedAttempt))
                    .bind("payment_failed", strings(rows, r -> text(r.failedAt())))
                    .bind("payment_withheld", strings(rows, r -> text(r.deliveryWithheldAt())))
                    .bind("payment_withdrawn", strings(rows, r -> text(r.activationWithdrawnAt())))
                    .bind("payment_refused", strings(rows, r -> text(r.deliveryRefusedAt())))));
  }

  private void updateListings(Writes writes) {
    List<ListingRow> rows = listings.values().stream().filter(ListingRow::changed).toList();
    if (rows.isEmpty()) {
      return;
    }
    writes.add(
        new Writes.Part(
            """
            UPDATE marketplace_listings l
            SET status = u.status, activated_at = u.activated_at, expires_at = u.expires_at,
                payment_intent_id = u.pi, last_bumped_at = u.bumped_at, updated_at = now()
            FROM unnest(CAST(:listing_ids AS uuid[]), CAST(:listing_statuses AS text[]),
                        CAST(:listing_activated AS timestamptz[]),
                        CAST(:listing_expires AS timestamptz[]), CAST(:listing_pis AS text[]),
                        CAST(:listing_bumped AS timestamptz[]))
                 AS u(id, status, activated_at, expires_at, pi, bumped_at)
            WHERE l.id = u.id
            """,
            update ->
                update
                    .bind("listing_ids", strings(rows, r -> r.id().toString()))
                    .bind("listing_statuses", strings(rows, ListingRow::status))
                    .bind("listing_activated", strings(rows, r -> text(r.activatedAt())))
                    .bind("listing_expires", strings(rows, r -> text(r.expiresAt())))
                    .bind("listing_pis", strings(rows, ListingRow::paymentIntentId))
                    .bind("listing_bumped", strings(rows, r -> text(r.lastBumpedAt())))));
  }

  private void insertPromotions(Writes writes) {
    if (newPromotions.isEmpty()) {
      return;
    }
    List<PromotionRow> rows = List.copyOf(newPromotions);
    writes.add(
        new Writes.Part(
            """
            INSERT INTO listing_promotions
                (id, listing_id, type, stripe_payment_intent_id, amount_cents, starts_at, expires_at)
            SELECT * FROM unnest(CAST(:promotion_ids AS uuid[]),
                                 CAST(:promotion_listings AS uuid[]),
                                 CAST(:promotion_types AS text[]), CAST(:promotion_pis AS text[]),
                                 CAST(:promotion_amounts AS integer[]),
                                 CAST(:promotion_starts AS timestamptz[]),
                                 CAST(:promotion_expires AS timestamptz[]))
            ON CONFLICT (stripe_payment_intent_id) DO NOTHING
            """,
            update ->
                update
                    .bind("promotion_ids", strings(rows, r -> r.id().toString()))
                    .bind("promotion_listings", strings(rows, r -> r.listingId().toString()))
                    .bind("promotion_types", strings(rows, PromotionRow::type))
                    .bind("promotion_pis", strings(rows, PromotionRow::paymentIntentId))
                    .bind("promotion_amounts", strings(rows, r -> Long.toString(r.amountCents())))
                    .bind("promotion_starts", strings(rows, r -> text(r.startsAt())))
                    .bind("promotion_expires", strings(rows, r -> text(r.expiresAt())))));
  }

  private void insertFailedAttempts(Writes writes) {
    if (newFailures.isEmpty()) {
      return;
    }
    List<FailedAttempt> rows = List.copyOf(newFailures);
    writes.add(
        new Writes.Part(
            """
            INSERT INTO payment_failed_attempts (attempt, stripe_payment_intent_id, failed_at)
            SELECT * FROM unnest(CAST(:failed_attempts AS text[]),
                                 CAST(:failed_pis AS text[]),
                                 CAST(:failed_ats AS timestamptz[]))
            ON CONFLICT (attempt) DO NOTHING
            """,
            update ->
                update
                    .bind("failed_attempts", strings(rows, FailedAttempt::attempt))
                    .bind("failed_pis", strings(rows, FailedAttempt::paymentIntentId))
                    .bind("failed_ats", strings(rows, r -> text(r.failedAt())))));
  }

  // ---- helpers

  private static <T> String[] strings(java.util.Collection<T> rows, Function<T, String> field) {
    return rows.stream().map(field).toArray(String[]::new);
  }

  private static String text(Instant instant) {
    return instant == null ? null : instant.toString();
  }

  private static Instant instant(ResultSet rs, String column) throws SQLException {
    OffsetDateTime time = rs.getObject(column, OffsetDateTime.class);
    return time == null ? null : time.toInstant();
  }

  private static Instant later(Instant a, Instant b) {
    return Objects.requireNonNull(a).isAfter(b) ? a : b;
  }
}
