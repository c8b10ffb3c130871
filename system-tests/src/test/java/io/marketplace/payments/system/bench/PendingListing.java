package io.marketplace.payments.system.bench;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A listing waiting for its posting fee, as checkout-api leaves it (a {@code pending_payment}
 * listing and its {@code requires_payment} payments row), and the {@code payment_intent.succeeded}
 * Stripe sends once it is paid: what the benchmarks feed the system.
 */
record PendingListing(UUID listingId, UUID userId, String paymentIntentId) {

  static PendingListing random() {
    return new PendingListing(UUID.randomUUID(), UUID.randomUUID(), "pi_3P" + randomId(24));
  }

  /** Inserts the users, listings and payments rows of {@code listings}, in one transaction. */
  static void seed(Connection db, List<PendingListing> listings) throws SQLException {
    boolean autoCommit = db.getAutoCommit();
    db.setAutoCommit(false);
    long category;
    try (PreparedStatement query =
            db.prepareStatement("SELECT id FROM categories WHERE slug = 'housing'");
        ResultSet rows = query.executeQuery()) {
      rows.next();
      category = rows.getLong(1);
    }
    try (PreparedStatement users = db.prepareStatement("INSERT INTO users (id) VALUES (?)");
        PreparedStatement inserts =
            db.prepareStatement(
                "INSERT INTO marketplace_listings (id, user_id, category_id, title, status)"
                    + " VALUES (?, ?, ?, 'Bench listing', 'pending_payment')");
        PreparedStatement payments =
            db.prepareStatement(
                "INSERT INTO payments (stripe_payment_intent_id, listing_id, user_id, payment_type,"
                    + " amount_cents, currency, status)"
                    + " VALUES (?, ?, ?, 'posting_fee', 500, 'usd', 'requires_payment')")) {
      int batch = 0;
      for (PendingListing listing : listings) {
        users.setObject(1, listing.userId);
        users.addBatch();
        inserts.setObject(1, listing.listingId);
        inserts.setObject(2, listing.userId);
        inserts.setLong(3, category);
        inserts.addBatch();
        payments.setString(1, listing.paymentIntentId);
        payments.setObject(2, listing.listingId);
        payments.setObject(3, listing.userId);
        payments.addBatch();
        if (++batch % 2_000 == 0) {
          users.executeBatch();
          inserts.executeBatch();
          payments.executeBatch();
        }
      }
      users.executeBatch();
      inserts.executeBatch();
      payments.executeBatch();
    }
    db.commit();
    db.setAutoCommit(autoCommit);
  }

  /** Its {@code payment_intent.succeeded} as Stripe sends it (API version 2024-06-20, pretty). */
  String succeededEvent(long created) {
    return """
        {
          "id": "evt_3P%s",
          "object": "event",
          "api_version": "2024-06-20",
          "created": %d,
          "data": {
            "object": {
              "id": "%s",
              "object": "payment_intent",
              "amount": 500,
              "amount_capturable": 0,
              "amount_received": 500,
              "application": null,
              "capture_method": "automatic",
              "client_secret": "%s_secret_%s",
              "confirmation_method": "automatic",
              "created": %d,
              "currency": "usd",
              "customer": null,
              "description": null,
              "latest_charge": "ch_3P%s",
              "livemode": false,
              "metadata": {
                "category_id": "1",
                "listing_id": "%s",
                "payment_type": "posting_fee",
                "user_id": "%s"
              },
              "payment_method": "pm_1P%s",
              "payment_method_types": [
                "card"
              ],
              "status": "succeeded"
            }
          },
          "livemode": false,
          "pending_webhooks": 1,
          "request": {
            "id": null,
            "idempotency_key": "%s"
          },
          "type": "payment_intent.succeeded"
        }
        """
        .formatted(
            randomId(24),
            created,
            paymentIntentId,
            paymentIntentId,
            randomId(24),
            created - 2,
            randomId(24),
            listingId,
            userId,
            randomId(24),
            UUID.randomUUID());
  }

  static String randomId(int length) {
    String alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    StringBuilder id = new StringBuilder(length);
    for (int i = 0; i < length; i++) {
      id.append(alphabet.charAt(ThreadLocalRandom.current().nextInt(alphabet.length())));
    }
    return id.toString();
  }
}
