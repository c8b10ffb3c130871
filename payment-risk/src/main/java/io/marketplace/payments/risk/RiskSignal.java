package io.marketplace.payments.risk;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.UUID;

/**
 * A risk signal. A user's is a record of {@code risk.signals.v1}, keyed by user id: {@code
 * {"id","type","occurredAt","version":1,"data":{"userId","signal","count","threshold","windowStart","windowEnd"}}}
 * (SPEC §4; no {@code scope}). A marketplace category's ({@code scope} {@code category}, {@code
 * categoryId}, no {@code userId}) stays inside the service: a metric and its alert. The id is
 * derived from the key, signal and window (and, for a signal raised again after an admin's clear,
 * the time of that clear), so re-processing never announces a new one.
 */
public record RiskSignal(UUID id, String type, Instant occurredAt, int version, Data data) {

  public static final String TYPE = "risk.signal";
  public static final int VERSION = 1;
  public static final String SCOPE_CATEGORY = "category";

  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Data(
      String userId,
      Signal signal,
      long count,
      int threshold,
      Instant windowStart,
      Instant windowEnd,
      String scope,
      String categoryId) {

    /** Whether the signal is of a marketplace category, not of a user. */
    public boolean categoryScoped() {
      return SCOPE_CATEGORY.equals(scope);
    }
  }

  public static RiskSignal of(
      String userId,
      Signal signal,
      long count,
      int threshold,
      Instant windowStart,
      Instant windowEnd,
      Instant occurredAt) {
    return of(userId, signal, count, threshold, windowStart, windowEnd, occurredAt, null);
  }

  /**
   * A user's signal raised by the members counted since {@code countedSince}, a super_admin's clear
   * of the user in the window (null: since the window began).
   */
  public static RiskSignal of(
      String userId,
      Signal signal,
      long count,
      int threshold,
      Instant windowStart,
      Instant windowEnd,
      Instant occurredAt,
      Instant countedSince) {
    return new RiskSignal(
        idFor(userId, signal, windowStart, countedSince),
        TYPE,
        occurredAt,
        VERSION,
        new Data(userId, signal, count, threshold, windowStart, windowEnd, null, null));
  }

  public static RiskSignal ofCategory(
      String categoryId,
      Signal signal,
      long count,
      int threshold,
      Instant windowStart,
      Instant windowEnd,
      Instant occurredAt) {
    return new RiskSignal(
        idFor(categoryKey(categoryId), signal, windowStart),
        TYPE,
        occurredAt,
        VERSION,
        new Data(
            null, signal, count, threshold, windowStart, windowEnd, SCOPE_CATEGORY, categoryId));
  }

  /** The Kafka key of a category's signals. */
  public static String categoryKey(String categoryId) {
    return "category:" + categoryId;
  }

  /** The id of a signal of a user (by user id) or a category (by {@link #categoryKey}). */
  public static UUID idFor(String key, Signal signal, Instant windowStart) {
    return UUID.nameUUIDFromBytes(
        idName(key, signal, windowStart).getBytes(StandardCharsets.UTF_8));
  }

  /**
   * The id of a signal of a user raised by what was counted after a super_admin's clear made at
   * {@code clearedAt} (the id of {@link #idFor(String, Signal, Instant)} when null): one more per
   * clear and window, the same however often it is re-processed.
   */
  public static UUID idFor(String key, Signal signal, Instant windowStart, Instant clearedAt) {
    if (clearedAt == null) {
      return idFor(key, signal, windowStart);
    }
    return UUID.nameUUIDFromBytes(
        (idName(key, signal, windowStart) + "/cleared/" + clearedAt)
            .getBytes(StandardCharsets.UTF_8));
  }

  /** What a signal's id is derived from: its key, its signal and its window. */
  private static String idName(String key, Signal signal, Instant windowStart) {
    return "risk.signals.v1/" + key + "/" + signal.wireName() + "/" + windowStart;
  }
}
