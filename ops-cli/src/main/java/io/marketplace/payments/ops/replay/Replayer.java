package io.marketplace.payments.ops.replay;

import io.marketplace.payments.common.kafka.KafkaConfig;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.ops.CommandKafka;
import io.marketplace.payments.ops.OperatorError;
import io.marketplace.payments.ops.UsageError;
import io.marketplace.payments.ops.acl.KafkaAcls;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.TopicPartition;

/**
 * Plans and applies the rewind of a worker's consumer group. A replay only ever moves offsets back:
 * the workers apply each record once (dedupe on the Stripe event id in the same transaction as the
 * effect), so re-reading is safe, whereas moving forward would skip records never applied.
 */
public final class Replayer {

  private final ConsumerGroups groups;
  private final Topics topics;
  private final PrintWriter progress;

  public Replayer(ConsumerGroups groups, Topics topics, PrintWriter progress) {
    this.groups = groups;
    this.topics = topics;
    this.progress = progress;
  }

  /**
   * The group's live members, described ("2 live members (a on host, b on host)"), or empty when it
   * has none. Offsets of a live group are the members' to commit: a replay refuses then, a dry run
   * says so.
   */
  public Optional<String> liveMembers(String group) {
    step("describing consumer group " + group);
    List<MemberDescription> members = groups.liveMembers(group);
    if (members.isEmpty()) {
      return Optional.empty();
    }
    String who =
        members.stream()
            .map(m -> m.clientId() + " on " + m.host())
            .sorted()
            .collect(Collectors.joining(", "));
    return Optional.of(
        members.size()
            + (members.size() == 1 ? " live member" : " live members")
            + " ("
            + who
            + ")");
  }

  /** What a replay of {@code group} to {@code target} would move, from its committed offsets. */
  public ReplayPlan plan(String group, ReplayTarget target) {
    Map<TopicPartition, Long> committed =
        groups.requireCommitted(
            group,
            "there is nothing to rewind (how far they are: ./payments lag --consumer "
                + group
                + ")");
    Set<String> groupTopics = new TreeSet<>();
    committed.keySet().forEach(p -> groupTopics.add(p.topic()));
    refuseStreamsApplication(group, groupTopics);
    refuseOtherThanWorkers(group, groupTopics);
    List<TopicPartition> partitions = groups.partitionsOf(groupTopics);
    step("reading offsets of " + partitions.size() + " partitions of " + groupTopics);
    Map<TopicPartition, Long> earliest = groups.offsets(partitions, OffsetSpec.earliest());
    Map<TopicPartition, Long> end = groups.offsets(partitions, OffsetSpec.latest());
    Map<TopicPartition, Long> wanted = targets(target, partitions, groupTopics, earliest, end);

    List<String> notReReadable = new ArrayList<>();
    if (target instanceof ReplayTarget.AtTime t) {
      for (TopicPartition partition : partitions) {
        long first = earliest.get(partition);
        if (first > 0 && wanted.get(partition) == first) {
          // the first record it holds is at or after the time, and records before it are gone:
          // some of those may have been written at or after the time too
          notReReadable.add(
              partition
                  + ": its records before offset "
                  + first
                  + " were deleted (retention): any of them written at or after "
                  + t.time()
                  + " cannot be re-read");
        }
      }
      String stripeEvents = topics.stripeEvents().name();
      if (notReReadable.stream().anyMatch(n -> n.startsWith(stripeEvents + "-"))) {
        notReReadable.add(
            "what Stripe has since then, the database compares with: ./payments reconcile --since "
                + t.time());
      }
    }
    List<ReplayPlan.Row> rows = new ArrayList<>();
    List<String> pastTheEnd = new ArrayList<>();
    for (TopicPartition partition : partitions) {
      Long commit = committed.get(partition);
      long first = earliest.get(partition);
      // past the end, the consumer finds its offset out of range and resets it as its policy says
      Optional<PastTheLogEnd> pastEnd =
          PastTheLogEnd.of(partition, commit, first, end.get(partition));
      long current =
          pastEnd
              .map(PastTheLogEnd::resumeAt)
              .orElse(commit == null ? first : Math.max(commit, first));
      pastEnd.ifPresent(p -> pastTheEnd.add(p.explained() + " whether rewound or not"));
      Long goal = wanted.get(partition);
      long resolved = goal == null ? current : Math.min(goal, current);
      if (target instanceof ReplayTarget.Offsets && goal != null && goal > current) {
        throw new OperatorError(
            partition
                + ": offset "
                + goal
                + " is after where "
                + group
                + " resumes ("
                + current
                + pastEnd
                    .map(
                        p ->
                            ", as its committed offset "
                                + p.committed()
                                + " is past the log end "
                                + p.end()
                                + " and the workers reset to the "
                                + KafkaConfig.AUTO_OFFSET_RESET)
                    .orElse("")
                + "); replay only rewinds, since moving forward would skip records never applied");
      }
      rows.add(new ReplayPlan.Row(partition, commit, current, resolved, pastEnd.orElse(null)));
    }
    return new ReplayPlan(group, rows, notReReadable, pastTheEnd);
  }

  /**
   * A Kafka Streams application (the risk service, {@code payment-risk}) also reads its own
   * repartition topics ({@code <application id>-...-repartition}) into state stores that are not
   * rebuilt by a rewind: re-reading them counts again what the stores already counted, and
   * rewinding its input alone leaves the two out of step. Its state is its changelogs; it is reset
   * with Kafka's streams application reset tool, as the runbook says, not with this.
   *
   * <p>The risk service's group is refused by its name too: the broker leaves out of a group's
   * offsets those of the topics the caller may not describe, and the operators' ACLs let them read
   * its group on {@code stripe.events.v1} but not its repartition topics, so to an operator it
   * looks like a group that reads {@code stripe.events.v1} alone.
   */
  private void refuseStreamsApplication(String group, Set<String> groupTopics) {
    List<String> internal =
        groupTopics.stream()
            .filter(t -> t.startsWith(group + "-") && t.endsWith("-repartition"))
            .toList();
    boolean risk = group.equals(CommandKafka.topicPrefix(topics) + KafkaAcls.RISK_APPLICATION_ID);
    if (!internal.isEmpty() || risk) {
      throw new OperatorError(
          "consumer group "
              + group
              + " is a Kafka Streams application ("
              + (internal.isEmpty()
                  ? "the risk service's"
                  : "it reads " + String.join(", ", internal))
              + "): a rewind would count again what its state stores already hold; reset it"
              + " with Kafka's streams application reset tool into fresh state instead (runbook,"
              + " \"Replay after a bad deploy\")");
    }
  }

  /**
   * Only the workers of this deployment skip, on re-reading, what they applied before: each records
   * an event as applied in the transaction that applies it. A group that reads another topic is not
   * one of them (a downstream service's on the payment events, say, or a worker of a deployment
   * under another {@code KAFKA_TOPIC_PREFIX}): rewound, it would act again on what it already did.
   */
  private void refuseOtherThanWorkers(String group, Set<String> groupTopics) {
    Set<String> read = new TreeSet<>();
    Set<String> all = new TreeSet<>();
    topics.all().forEach(t -> all.add(t.name()));
    topics.all().stream()
        .filter(t -> !t.name().endsWith(".dlq") && all.contains(t.dlq().name()))
        .forEach(t -> read.add(t.name()));
    List<String> others = groupTopics.stream().filter(t -> !read.contains(t)).toList();
    if (!others.isEmpty()) {
      throw new OperatorError(
          "consumer group "
              + group
              + " reads "
              + String.join(", ", others)
              + ", which no worker of this deployment reads (they read "
              + String.join(", ", read)
              + "): it is no worker's group, and a rewind would make it act again on what it"
              + " already did; nothing changed. "
              + CommandKafka.prefixQuestion(topics));
    }
  }

  public void apply(ReplayPlan plan, String note) {
    Map<TopicPartition, Long> offsets = plan.offsetsToCommit();
    if (offsets.isEmpty()) {
      return;
    }
    step("moving the offsets of " + offsets.size() + " partitions of " + plan.group());
    groups.rewind(plan.group(), offsets, note);
  }

  private Map<TopicPartition, Long> targets(
      ReplayTarget target,
      List<TopicPartition> partitions,
      Set<String> groupTopics,
      Map<TopicPartition, Long> earliest,
      Map<TopicPartition, Long> end) {
    return switch (target) {
      case ReplayTarget.Earliest e -> earliest;
      case ReplayTarget.AtTime t -> {
        step("finding the first record at or after " + t.time() + " on each partition");
        Map<TopicPartition, Long> atTime =
            groups.offsets(partitions, OffsetSpec.forTimestamp(t.time().toEpochMilli()));
        Map<TopicPartition, Long> resolved = new HashMap<>();
        // no record at or after the time: nothing on that partition to re-read
        atTime.forEach((p, offset) -> resolved.put(p, offset < 0 ? end.get(p) : offset));
        yield resolved;
      }
      case ReplayTarget.Offsets o -> explicit(o, partitions, groupTopics, earliest, end);
    };
  }

  private Map<TopicPartition, Long> explicit(
      ReplayTarget.Offsets target,
      List<TopicPartition> partitions,
      Set<String> groupTopics,
      Map<TopicPartition, Long> earliest,
      Map<TopicPartition, Long> end) {
    Map<TopicPartition, Long> resolved = new HashMap<>();
    for (ReplayTarget.PartitionOffset wanted : target.offsets()) {
      String topic = topicOf(wanted, groupTopics);
      TopicPartition partition = new TopicPartition(topic, wanted.partition());
      if (!partitions.contains(partition)) {
        throw new OperatorError(topic + " has no partition " + wanted.partition());
      }
      if (wanted.offset() < earliest.get(partition) || wanted.offset() > end.get(partition)) {
        throw new OperatorError(
            partition
                + ": offset "
                + wanted.offset()
                + " is outside the records it holds ("
                + earliest.get(partition)
                + " to "
                + end.get(partition)
                + ")");
      }
      Long before = resolved.put(partition, wanted.offset());
      if (before != null) {
        throw new UsageError(
            partition
                + " is given twice ("
                + before
                + " and "
                + wanted.offset()
                + "): give it once");
      }
    }
    return resolved;
  }

  private String topicOf(ReplayTarget.PartitionOffset wanted, Set<String> groupTopics) {
    if (wanted.topic() == null) {
      if (groupTopics.size() != 1) {
        throw new OperatorError(
            "the group reads " + groupTopics + ": name the topic, as TOPIC:PARTITION:OFFSET");
      }
      return groupTopics.iterator().next();
    }
    if (groupTopics.contains(wanted.topic())) {
      return wanted.topic();
    }
    String prefixed = prefix() + wanted.topic();
    if (groupTopics.contains(prefixed)) {
      return prefixed;
    }
    throw new OperatorError(
        "the group does not read " + wanted.topic() + "; it reads " + groupTopics);
  }

  private String prefix() {
    String name = topics.stripeEvents().name();
    return name.substring(0, name.length() - "stripe.events.v1".length());
  }

  private void step(String message) {
    progress.println(message + " ...");
    progress.flush();
  }
}
