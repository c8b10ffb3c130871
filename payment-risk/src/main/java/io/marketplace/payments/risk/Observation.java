package io.marketplace.payments.risk;

import java.time.Instant;

/**
 * One fact the risk service counts, keyed by what it is counted per.
 *
 * <ul>
 *   <li>Of a user ({@code kind} null): a decline (member: the declined attempt, Stripe's charge of
 *       it, else the Stripe event id), a card (member: its fingerprint) or a dispute (member: the
 *       dispute id), toward {@code signal}.
 *   <li>Of a marketplace category ({@code kind} set, {@code categoryId} the PaymentIntent's {@code
 *       metadata[category_id]}): a dispute (member: the dispute id), a succeeded payment (member:
 *       the PaymentIntent id), a declined one (member: the attempt, as above) or a refund (member:
 *       the {@code re_} id).
 *   <li>A super_admin's clear of a user's risk flags ({@code clear} true, {@code occurredAt} when
 *       it was made, no {@code signal} or {@code member}): counting toward each of the user's
 *       signals restarts from it, in the window it falls in ({@link Tally}).
 * </ul>
 *
 * Counts are of distinct members.
 */
public record Observation(
    String userId,
    Signal signal,
    String member,
    Instant occurredAt,
    String categoryId,
    CategoryKind kind,
    boolean clear) {

  /** What a category observation is. */
  public enum CategoryKind {
    DISPUTE,
    SUCCEEDED,
    DECLINED,
    REFUNDED
  }

  static Observation ofUser(String userId, Signal signal, String member, Instant occurredAt) {
    return new Observation(userId, signal, member, occurredAt, null, null, false);
  }

  /** A super_admin's clear of the user's risk flags, made at {@code clearedAt}. */
  static Observation cleared(String userId, Instant clearedAt) {
    return new Observation(userId, null, null, clearedAt, null, null, true);
  }

  static Observation ofCategory(
      String categoryId, CategoryKind kind, String member, Instant occurredAt) {
    return new Observation(null, null, member, occurredAt, categoryId, kind, false);
  }

  /** Whether this counts toward a category rather than a user. */
  boolean categoryScoped() {
    return kind != null;
  }
}
