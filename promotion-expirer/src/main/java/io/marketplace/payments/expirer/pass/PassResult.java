package io.marketplace.payments.expirer.pass;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What one attempt at a pass did.
 *
 * @param outcome how it ended
 * @param startedAt the instant the pass ended rows against (its {@code now})
 * @param expired rows ended by {@link Expiry#name()}, in committed batches only
 * @param batches committed batches
 * @param outboxSeqs the outbox sequence numbers of the events it appended, in committed batches:
 *     {@code --once} waits until the relay has published these rows
 * @param lastSuccessStart when the latest successful pass started, fleet-wide (this one if it
 *     completed); null when none ever did or it is unknown
 * @param error why the pass failed or stopped, if it did
 */
public record PassResult(
    Outcome outcome,
    Instant startedAt,
    Map<String, Integer> expired,
    int batches,
    List<Long> outboxSeqs,
    Instant lastSuccessStart,
    Optional<String> error) {

  public enum Outcome {
    /** Every due row is ended. */
    COMPLETED,
    /**
     * Every due row it could lock is ended, but some were held by other transactions and skipped
     * (not waited for); not a success, so the scheduler tries again soon and the next pass ends
     * them.
     */
    INCOMPLETE,
    /** The schedule did not call for a pass (another replica ran it). */
    NOT_DUE,
    /** Another replica holds the pass lock and is running a pass. */
    BUSY,
    /** Asked to stop between batches; the next pass finishes the rest. */
    STOPPED,
    /** A batch failed and was rolled back; the batches before it stay, the next pass goes on. */
    FAILED
  }

  public PassResult {
    expired = Map.copyOf(expired);
    outboxSeqs = List.copyOf(outboxSeqs);
  }

  /** The highest outbox sequence number of the events it appended (0 when none). */
  public long lastOutboxSeq() {
    return outboxSeqs.stream().mapToLong(Long::longValue).max().orElse(0);
  }

  public int expired(String expiry) {
    return expired.getOrDefault(expiry, 0);
  }

  public boolean completed() {
    return outcome == Outcome.COMPLETED;
  }
}
