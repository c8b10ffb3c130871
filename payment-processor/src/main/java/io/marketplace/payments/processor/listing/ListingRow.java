package io.marketplace.payments.processor.listing;

import java.time.Instant;
import java.util.UUID;

/** A {@code marketplace_listings} row inside a batch, changed by its events, written back once. */
public final class ListingRow {

  private final UUID id;
  private final UUID userId;
  private String status;
  private Instant activatedAt;
  private Instant expiresAt;
  private String paymentIntentId;
  private Instant lastBumpedAt;
  private boolean changed;

  public ListingRow(
      UUID id,
      UUID userId,
      String status,
      Instant activatedAt,
      Instant expiresAt,
      String paymentIntentId,
      Instant lastBumpedAt) {
    this.id = id;
    this.userId = userId;
    this.status = status;
    this.activatedAt = activatedAt;
    this.expiresAt = expiresAt;
    this.paymentIntentId = paymentIntentId;
    this.lastBumpedAt = lastBumpedAt;
  }

  public UUID id() {
    return id;
  }

  public UUID userId() {
    return userId;
  }

  public String status() {
    return status;
  }

  public Instant activatedAt() {
    return activatedAt;
  }

  public Instant expiresAt() {
    return expiresAt;
  }

  public String paymentIntentId() {
    return paymentIntentId;
  }

  public Instant lastBumpedAt() {
    return lastBumpedAt;
  }

  public boolean changed() {
    return changed;
  }

  public boolean isActive() {
    return "active".equals(status);
  }

  /**
   * Active and not past its {@code expires_at} at {@code now}: a listing whose time is up is dead
   * even before the daily expirer marks it {@code expired}.
   */
  public boolean isLiveAt(Instant now) {
    return isActive() && (expiresAt == null || expiresAt.isAfter(now));
  }

  /** Activates a listing that waits for its posting fee; false for any other. */
  public boolean activate(String paymentIntentId, Instant at, Instant until) {
    if (!"pending_payment".equals(status)) {
      return false;
    }
    this.status = "active";
    this.activatedAt = at;
    this.expiresAt = until;
    this.paymentIntentId = paymentIntentId;
    this.changed = true;
    return true;
  }

  /**
   * Takes back the activation by {@code paymentIntentId}: the listing waits for payment again, as
   * it would had that payment's success been held back; false unless that payment activated it and
   * it is still active. The PaymentIntent stays the listing's, as checkout left it.
   */
  public boolean withdrawActivation(String paymentIntentId) {
    if (!isActive() || !paymentIntentId.equals(this.paymentIntentId)) {
      return false;
    }
    this.status = "pending_payment";
    this.activatedAt = null;
    this.expiresAt = null;
    this.changed = true;
    return true;
  }

  /** Moves the listing up as of {@code at}; an older bump processed late never moves it back. */
  public void bump(Instant at) {
    if (lastBumpedAt == null || at.isAfter(lastBumpedAt)) {
      lastBumpedAt = at;
      changed = true;
    }
  }

  /** Why a purchase cannot be delivered to this listing, for the audit trail and the refund. */
  public static String describe(UUID id, ListingRow listing) {
    return listing == null
        ? "listing " + id + " does not exist"
        : "listing " + id + " is " + listing.status();
  }

  /** Why a purchase cannot be delivered to this listing at {@code now}. */
  public static String describe(UUID id, ListingRow listing, Instant now) {
    if (listing != null && listing.isActive() && !listing.isLiveAt(now)) {
      return "listing " + id + " expired at " + listing.expiresAt();
    }
    return describe(id, listing);
  }
}
