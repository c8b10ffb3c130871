package io.marketplace.payments.risk;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.UUID;

/**
 * A record of {@code risk.signals.v1}, keyed by user id: {@code
 * {"id","type","occurredAt","version":1,"data":{"userId","signal","count","threshold","windowStart","windowEnd"}}}.
 * The id is derived from user, signal and window, so re-processing never announces a new one.
 */
public record RiskSignal(UUID id, String type, Instant occurredAt, int version, Data data) {

  public static final String TYPE = "risk.signal";
  public static final int VERSION = 1;

  public record Data(
      String userId,
      Signal signal,
      long count,
      int threshold,
      Instant windowStart,
      Instant windowEnd) {}

  public static RiskSignal of(
      String userId,
      Signal signal,
      long count,
      int threshold,
      Instant windowStart,
      Instant windowEnd,
      Instant occurredAt) {
    return new RiskSignal(
        idFor(userId, signal, windowStart),
        TYPE,
        occurredAt,
        VERSION,
        new Data(userId, signal, count, threshold, windowStart, windowEnd));
  }

  public static UUID idFor(String userId, Signal signal, Instant windowStart) {
    return UUID.nameUUIDFromBytes(
        ("risk.signals.v1/" + userId + "/" + signal.wireName() + "/" + windowStart)
            .getBytes(StandardCharsets.UTF_8));
  }
}
