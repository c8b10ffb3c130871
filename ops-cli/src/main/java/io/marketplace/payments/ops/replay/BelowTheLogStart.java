package io.marketplace.payments.ops.replay;

import java.util.Optional;
import org.apache.kafka.common.TopicPartition;

/**
 * A group's committed offset below the start of its partition's log: retention deleted records the
 * group had not read (its worker down, or behind, for longer than the topic keeps them). Those
 * records can never be read again; a worker resuming there tells it in an ERROR line, counts them
 * in {@code payments_worker_records_lost_total} and goes on from the log start. {@code lag} counts
 * from there, and says how many were deleted unread.
 *
 * <p>A replay rewinds the group in Kafka only: the records between the committed offset and how far
 * the group had applied or passed over them ({@code worker_positions}, which the worker also reads)
 * were applied before the replay, so retention deleting them lost nothing. They are told apart, as
 * the worker tells them apart, and only the others are deleted unread.
 *
 * @param earliest the partition's log start offset, above {@code committed}
 * @param applied how far the group had applied or passed over the partition, as the database says;
 *     null when it does not say (no row, or not asked)
 */
public record BelowTheLogStart(
    String group, TopicPartition partition, long committed, long earliest, Long applied) {

  /**
   * The partition's offsets, when {@code committed} is below its log start; empty when it is not,
   * or none is committed.
   */
  static Optional<BelowTheLogStart> of(
      String group, TopicPartition partition, Long committed, long earliest) {
    return committed != null && committed < earliest
        ? Optional.of(new BelowTheLogStart(group, partition, committed, earliest, null))
        : Optional.empty();
  }

  /** The same, knowing how far the group had applied the partition ({@code applied}, or null). */
  BelowTheLogStart applied(Long applied) {
    return new BelowTheLogStart(group, partition, committed, earliest, applied);
  }

  /** How far the group had got: its committed offset, or further as the database says. */
  private long reached() {
    return applied == null ? committed : Math.max(committed, applied);
  }

  /** The records deleted before the group read them: never applied. */
  public long deleted() {
    return Math.max(0, earliest - reached());
  }

  /** The records deleted that the group had applied or passed over before a replay rewound it. */
  public long deletedAfterApplied() {
    return Math.min(reached(), earliest) - committed;
  }

  /**
   * Where the group resumes, naming both offsets and the loss: "4 (committed 1, below the log start
   * 4: 3 records deleted unread)", or "... 4: none unread)" when the group had applied them all.
   */
  public String offsets() {
    return earliest
        + " (committed "
        + committed
        + ", below the log start "
        + earliest
        + ": "
        + (deleted() == 0 ? "none" : deleted() + " records") // number of records never applied
        + " deleted unread)";
  }

  /** One line on the partition: what was lost, and where the group resumes; empty if none was. */
  public Optional<String> explained() {
    if (deleted() == 0) {
      return Optional.empty();
    }
    return Optional.of(
        partition
            + ": committed offset "
            + committed
            + " of "
            + group
            + " is below the log start offset "
            + earliest
            + (deletedAfterApplied() > 0
                ? " (the group had applied or passed over up to offset " + reached() + ")"
                : "")
            + ": "
            + deleted()
            + " records were deleted (retention) before the group read them, and will never be"
            + " applied; it resumes at "
            + earliest);
  }

  /**
   * One line on the records the group had applied before a replay rewound it and retention deleted
   * since: not lost, but not re-read either; empty if there are none.
   */
  public Optional<String> appliedBefore() {
    if (deletedAfterApplied() <= 0) {
      return Optional.empty();
    }
    return Optional.of(
        partition
            + ": "
            + deletedAfterApplied()
            + " records (offsets "
            + committed
            + " to "
            + (committed + deletedAfterApplied() - 1)
            + ") were deleted (retention) after "
            + group
            + " had applied or passed over them (up to offset "
            + reached()
            + "), as after a replay: not lost, but not re-read; what a release passed over among"
            + " them is repaired from Stripe with ./payments reconcile --since <the replay's"
            + " target time>");
  }
}
