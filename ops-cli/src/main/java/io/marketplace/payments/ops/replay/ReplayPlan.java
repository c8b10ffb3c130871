package io.marketplace.payments.ops.replay;

import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.kafka.common.TopicPartition;

/**
 * What a replay does to each partition of a consumer group: from where it would read now to where
 * it will read after the rewind.
 */
public record ReplayPlan(String group, List<Row> rows, List<String> notReReadable) {

  /**
   * @param notReReadable what the replay cannot re-read although the target asks for it, one line
   *     per partition: records at or after the time that retention deleted
   */
  public ReplayPlan {
    rows = List.copyOf(rows);
    notReReadable = List.copyOf(notReReadable);
  }

  /**
   * @param committed the group's committed offset, or null when it has none on this partition
   * @param current where the group would resume: the committed offset, or the earliest record when
   *     there is none or the committed one was deleted by retention
   * @param target where it resumes after the replay; never after {@code current}
   */
  public record Row(TopicPartition partition, Long committed, long current, long target) {

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
