package io.marketplace.payments.ops.replay;

import io.marketplace.payments.common.kafka.KafkaConfig;
import java.util.Optional;
import org.apache.kafka.common.TopicPartition;

/**
 * A group's committed offset past the end of its partition's log (records lost in an unclean leader
 * election, or the topic truncated or recreated). A worker does not resume there: it finds the
 * offset out of range and resets it as {@link KafkaConfig#AUTO_OFFSET_RESET} says, and reads from
 * there. {@code lag} and {@code replay} count from where it resumes, and tell it alike.
 *
 * @param earliest the partition's earliest offset
 * @param end the end of the partition's log, before {@code committed}
 */
public record PastTheLogEnd(TopicPartition partition, long committed, long earliest, long end) {

  /**
   * The partition's offsets, when {@code committed} is past its end; empty when it is not, or none
   * is committed.
   */
  static Optional<PastTheLogEnd> of(
      TopicPartition partition, Long committed, long earliest, long end) {
    return committed != null && committed > end
        ? Optional.of(new PastTheLogEnd(partition, committed, earliest, end))
        : Optional.empty();
  }

  /** Where the workers resume the partition. */
  public long resumeAt() {
    return resetsToLatest() ? end : earliest;
  }

  /** Where the workers resume, naming both offsets: "0 (committed 10, past the log end 3)". */
  public String offsets() {
    return resumeAt() + " (committed " + committed + ", past the log end " + end + ")";
  }

  /**
   * One line on the partition: why the offset is not where the workers resume, and what they read.
   */
  public String explained() {
    return partition
        + ": committed offset "
        + committed
        + " is past the log end "
        + end
        + " (records lost in an unclean leader election, or the topic truncated or recreated):"
        + " the workers resume at its "
        + (resetsToLatest() ? "end, " : "earliest record, ")
        + resumeAt()
        + ", and read its "
        + (end - resumeAt())
        + " records";
  }

  /** Whether the workers, finding their offset out of range, resume at the end of the log. */
  private static boolean resetsToLatest() {
    return "latest".equals(KafkaConfig.AUTO_OFFSET_RESET);
  }
}
