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
 * @param earliest the partition's log start offset, above {@code committed}
 */
public record BelowTheLogStart(
    String group, TopicPartition partition, long committed, long earliest) {

  /**
   * The partition's offsets, when {@code committed} is below its log start; empty when it is not,
   * or none is committed.
   */
  static Optional<BelowTheLogStart> of(
      String group, TopicPartition partition, Long committed, long earliest) {
    return committed != null && committed < earliest
        ? Optional.of(new BelowTheLogStart(group, partition, committed, earliest))
        : Optional.empty();
  }

  /** The records deleted before the group read them. */
  public long deleted() {
    return earliest - committed;
  }

  /**
   * Where the group resumes, naming both offsets and the loss: "4 (committed 1, below the log start
   * 4: 3 records deleted unread)".
   */
  public String offsets() {
    return earliest
        + " (committed "
        + committed
        + ", below the log start "
        + earliest
        + ": "
        + deleted()
        + " records deleted unread)";
  }

  /** One line on the partition: what was lost, and where the group resumes. */
  public String explained() {
    return partition
        + ": committed offset "
        + committed
        + " of "
        + group
        + " is below the log start offset "
        + earliest
        + ": "
        + deleted()
        + " records were deleted (retention) before the group read them, and will never be"
        + " applied; it resumes at "
        + earliest;
  }
}
