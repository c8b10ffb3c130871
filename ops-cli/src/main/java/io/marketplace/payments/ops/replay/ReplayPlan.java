package io.marketplace.payments.ops.replay;

import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.kafka.common.TopicPartition;

/**
 * What a replay does to each partition of a consumer group: from where it would read now to where
 * it will read after the rewind.
 */
public record ReplayPlan(
    String group, List<Row> rows, List<String> notReReadable, List<String> pastTheEnd) {

  /**
   * @param notReReadable what the replay cannot re-read although the target asks for it, one line
   *     per partition: records at or after the time that retention deleted
   * @param pastTheEnd one line per partition whose committed offset is past the end of its log:
   *     where the workers resume it instead
   */
  public ReplayPlan {
    rows = List.copyOf(rows);
    notReReadable = List.copyOf(notReReadable);
    pastTheEnd = List.copyOf(pastTheEnd);
  }

  /**
   * @param committed the group's committed offset, or null when it has none on this partition
   * @param current where the group would resume: the committed offset; or, where the workers' reset
   *     policy sends them, when there is none, or it was deleted by retention, or it is past the
   *     end of the log
   * @param target where it resumes after the replay; never after {@code current}
   * @param pastTheLogEnd the offsets when {@code committed} is past the end of the log, else null
   */
  public record Row(
      TopicPartition partition,
      Long committed,
      long current,
      long target,
      PastTheLogEnd pastTheLogEnd) {

    public Row {
      if (target > current) {
        throw new IllegalArgumentException(partition + ": target after current");
      }
    }

    /** The offset committed is past the end of the log: the workers do not resume there. */
    public boolean pastTheEnd() {
      return pastTheLogEnd != null;
    }

    public long toReread() {
      return current - target;
    }

    boolean changes() {
      return committed == null || committed != target;
    }
  }

  public long totalToReread() {
    return rows.stream().mapToLong(Row::toReread).sum();
  }

  /** The offsets to commit: every partition whose committed offset differs from its target. */
  public Map<TopicPartition, Long> offsetsToCommit() {
    return rows.stream()
        .filter(Row::changes)
        .collect(Collectors.toMap(Row::partition, Row::target));
  }
}
