package io.marketplace.payments.ops.replay;

import io.marketplace.payments.ops.ConsumerOption;
import io.marketplace.payments.ops.OperatorError;
import io.marketplace.payments.ops.OpsContext;
import io.marketplace.payments.ops.Table;
import io.marketplace.payments.ops.Times;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.TopicPartition;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code payments lag}: how far each worker is behind its topics, from committed offsets. After a
 * replay, {@code --wait} follows the re-reading until the lag is 0. A partition whose committed
 * offset is below its log start lost records to retention before the group read them: it is named
 * with their number, and the command exits 1, as it does for any problem an operator must act on.
 * Records below the log start the group had applied before a replay rewound it ({@code
 * worker_positions} in the database) are not lost: they are named apart, and do not fail it.
 */
@Command(
    name = "lag",
    mixinStandardHelpOptions = true,
    description = "Shows how many records each consumer group has yet to apply.")
public final class LagCommand implements Callable<Integer> {

  private static final Duration PROGRESS_EVERY = Duration.ofSeconds(2);

  private final OpsContext context;

  @Spec CommandSpec spec;

  @Option(
      names = "--consumer",
      paramLabel = "NAME",
      description = "one consumer group (default: every group)")
  String consumer;

  @Option(names = "--wait", description = "print the lag every 2 s until it is 0")
  boolean await;

  @Option(
      names = "--timeout",
      paramLabel = "DURATION",
      defaultValue = "30m",
      description = "give up waiting after this long (default: ${DEFAULT-VALUE})")
  String timeout;

  public LagCommand(OpsContext context) {
    this.context = context;
  }

  /**
   * @param resumeAt where the group's worker resumes: its committed offset, or where its reset
   *     policy sends it when it has none, retention deleted it, or it is past the end of the log
   * @param markersOnly what lies between {@code resumeAt} and {@code end} are the markers of
   *     transactions, no record to apply
   * @param pastTheLogEnd the offsets when the committed one is past the end of the log, else null
   * @param belowTheLogStart the offsets when the committed one is below the start of the log (the
   *     records in between deleted unread), else null
   */
  record Lag(
      String group,
      TopicPartition partition,
      long resumeAt,
      long end,
      boolean markersOnly,
      PastTheLogEnd pastTheLogEnd,
      BelowTheLogStart belowTheLogStart) {
    long lag() {
      return markersOnly ? 0 : Math.max(0, end - resumeAt);
    }

    /**
     * COMMITTED as the table shows it: past the end, both offsets are named; below the start, both
     * and the records deleted unread.
     */
    String committed() {
      if (pastTheLogEnd != null) {
        return pastTheLogEnd.offsets();
      }
      return belowTheLogStart == null ? String.valueOf(resumeAt) : belowTheLogStart.offsets();
    }
  }

  @Override
  public Integer call() throws InterruptedException {
    PrintWriter out = spec.commandLine().getOut();
    // read before Kafka is asked anything: a value that is no duration is told as wrong usage
    ConsumerOption.check(consumer);
    Duration waitAtMost = Times.parseDuration(timeout);
    try (ConsumerGroups groups = new ConsumerGroups(context.kafka(), context.kafkaTimeout());
        AppliedPositions applied = new AppliedPositions(context, spec.commandLine().getErr())) {
      List<String> names = consumer == null ? List.copyOf(groups.knownGroups()) : List.of(consumer);
      if (consumer != null && groups.topicsRead(consumer).isEmpty()) {
        // lag 0 for a group that read nothing would tell the operator a replay was re-read
        groups.requireCommitted(
            consumer, "no member reads a topic now, so there is no lag to count");
      }
      if (!await) {
        Table table = new Table("CONSUMER", "TOPIC", "PARTITION", "COMMITTED", "END", "LAG");
        List<Lag> lags = lags(groups, names, applied);
        for (Lag lag : lags) {
          table.row(
              lag.group(),
              lag.partition().topic(),
              lag.partition().partition(),
              lag.committed(),
              lag.end(),
              lag.lag());
        }
        table.print(out);
        pastTheLogEnd(lags).forEach(out::println);
        belowTheLogStart(lags).forEach(out::println);
        appliedBeforeAReplay(lags).forEach(out::println);
        if (lags.stream().anyMatch(Lag::markersOnly)) {
          out.println(
              "LAG counts records to apply: where it is 0 below END, what is left are the markers"
                  + " of transactions");
        }
        return recordsLost(lags);
      }
      long deadline = System.nanoTime() + waitAtMost.toNanos();
      boolean first = true;
      int status = 0;
      while (true) {
        List<Lag> lags = lags(groups, names, applied);
        if (first) {
          // once: why a total counts records behind an offset the group committed past them
          pastTheLogEnd(lags).forEach(out::println);
          appliedBeforeAReplay(lags).forEach(out::println);
          first = false;
        }
        // each partition that lost records, once it is seen: the worker resuming it moves its
        // committed offset past the log start, and the loss would not be seen again
        List<String> lost = belowTheLogStart(lags);
        lost.stream().filter(told::add).forEach(out::println);
        if (status == 0) {
          status = recordsLost(lags);
        }
        long total = lags.stream().mapToLong(Lag::lag).sum();
        out.println(context.clock().instant() + " lag " + total);
        out.flush();
        if (total == 0) {
          return status;
        }
        if (System.nanoTime() - deadline >= 0) {
          throw new OperatorError("the lag is still " + total + " after " + timeout);
        }
        Thread.sleep(PROGRESS_EVERY);
      }
    }
  }

  /** The lines already printed by {@code --wait} on partitions that lost records. */
  private final Set<String> told = new HashSet<>();

  private static List<String> belowTheLogStart(List<Lag> lags) {
    return lags.stream()
        .map(Lag::belowTheLogStart)
        .filter(Objects::nonNull)
        .flatMap(b -> b.explained().stream())
        .toList();
  }

  /** The records below the log start that the group had applied before a replay rewound it. */
  private static List<String> appliedBeforeAReplay(List<Lag> lags) {
    return lags.stream()
        .map(Lag::belowTheLogStart)
        .filter(Objects::nonNull)
        .flatMap(b -> b.appliedBefore().stream())
        .toList();
  }

  /**
   * 1, and why on the error stream, when some partition lost records before its group read them;
   * else 0.
   */
  private int recordsLost(List<Lag> lags) {
    List<BelowTheLogStart> below =
        lags.stream()
            .map(Lag::belowTheLogStart)
            .filter(Objects::nonNull)
            .filter(b -> b.deleted() > 0)
            .toList();
    if (below.isEmpty()) {
      return 0;
    }
    long deleted = below.stream().mapToLong(BelowTheLogStart::deleted).sum();
    PrintWriter err = spec.commandLine().getErr();
    err.println(
        deleted
            + " records were deleted (retention) before their consumer group read them, in "
            + below.size()
            + (below.size() == 1 ? " partition" : " partitions")
            + " (see above): Stripe events never applied. Repair from Stripe with ./payments"
            + " reconcile --since <a time before they were written> (runbook: \"Records lost to"
            + " retention\")");
    err.flush();
    return 1;
  }

  private static List<String> pastTheLogEnd(List<Lag> lags) {
    return lags.stream()
        .map(Lag::pastTheLogEnd)
        .filter(Objects::nonNull)
        .map(PastTheLogEnd::explained)
        .toList();
  }

  /**
   * The lag of each partition of {@code names}. Where a committed offset is below the log start,
   * {@code applied} tells how far the group had got before a replay rewound it.
   */
  private static List<Lag> lags(
      ConsumerGroups groups, List<String> names, AppliedPositions applied) {
    List<Lag> lags = new ArrayList<>();
    for (String group : names) {
      Map<TopicPartition, Long> committed = groups.committed(group);
      // a running worker stuck on its first record has committed nothing: it resumes at the
      // earliest record of what its members are assigned, and all of it is lag
      Set<String> topics = groups.topicsRead(group);
      if (topics.isEmpty()) {
        continue;
      }
      List<TopicPartition> partitions = groups.partitionsOf(topics);
      Map<TopicPartition, Long> earliest = groups.offsets(partitions, OffsetSpec.earliest());
      Map<TopicPartition, Long> end = groups.offsets(partitions, OffsetSpec.latest());
      Map<TopicPartition, Long> resumeAt = new HashMap<>();
      Map<TopicPartition, PastTheLogEnd> pastTheLogEnd = new HashMap<>();
      Map<TopicPartition, BelowTheLogStart> belowTheLogStart = new HashMap<>();
      for (TopicPartition partition : partitions) {
        long first = earliest.get(partition);
        Optional<PastTheLogEnd> pastEnd =
            PastTheLogEnd.of(partition, committed.get(partition), first, end.get(partition));
        pastEnd.ifPresent(p -> pastTheLogEnd.put(partition, p));
        BelowTheLogStart.of(group, partition, committed.get(partition), first)
            .ifPresent(b -> belowTheLogStart.put(partition, b));
        resumeAt.put(
            partition,
            pastEnd
                .map(PastTheLogEnd::resumeAt)
                .orElse(Math.max(committed.getOrDefault(partition, 0L), first)));
      }
      Map<TopicPartition, Long> appliedUpTo = applied.of(group, belowTheLogStart.keySet());
      belowTheLogStart.replaceAll((partition, b) -> b.applied(appliedUpTo.get(partition)));
      Set<TopicPartition> markersOnly = groups.withoutRecords(resumeAt, end);
      for (TopicPartition partition : partitions) {
        lags.add(
            new Lag(
                group,
                partition,
                resumeAt.get(partition),
                end.get(partition),
                markersOnly.contains(partition),
                pastTheLogEnd.get(partition),
                belowTheLogStart.get(partition)));
      }
    }
    return lags;
  }
}
