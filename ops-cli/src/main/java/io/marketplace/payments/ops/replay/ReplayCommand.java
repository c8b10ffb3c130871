package io.marketplace.payments.ops.replay;

import io.marketplace.payments.common.kafka.KafkaConfig;
import io.marketplace.payments.ops.ConsumerOption;
import io.marketplace.payments.ops.OperatorError;
import io.marketplace.payments.ops.OpsContext;
import io.marketplace.payments.ops.Table;
import io.marketplace.payments.ops.Times;
import java.io.PrintWriter;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code payments replay}: rewinds a stopped worker's consumer group so that, once started again,
 * it re-reads its topics. Re-reading changes no state and publishes no new event id: each effect is
 * recorded as applied under its Stripe event id in the transaction that applies it.
 */
@Command(
    name = "replay",
    mixinStandardHelpOptions = true,
    description = {
      "Rewinds a worker's consumer group so it re-reads; re-reading changes no state.",
      "The worker must be stopped first. Shows, per partition, where the group resumes now,"
          + " where it will resume, and how many records it will re-read."
    })
public final class ReplayCommand implements Callable<Integer> {

  private final OpsContext context;

  @Spec CommandSpec spec;

  @Option(
      names = "--consumer",
      required = true,
      paramLabel = "NAME",
      description = "the worker's consumer group: payment-processor, refund-worker, ...")
  String consumer;

  @ArgGroup(exclusive = true, multiplicity = "1")
  Target target;

  @Option(names = "--dry-run", description = "show the plan, change nothing")
  boolean dryRun;

  static final class Target {
    @Option(
        names = "--to-datetime",
        paramLabel = "T",
        description =
            "the first record at or after T (2026-03-01T10:00:00Z, 2026-03-01, 24h ago as 24h)")
    String datetime;

    @Option(names = "--to-earliest", description = "the oldest record each partition holds")
    boolean earliest;

    @Option(
        names = "--to-offset",
        arity = "1..*",
        split = ",",
        paramLabel = "[TOPIC:]P:O",
        description = "explicit offsets per partition; the others keep theirs")
    List<String> offsets;
  }

  public ReplayCommand(OpsContext context) {
    this.context = context;
  }

  @Override
  public Integer call() {
    ConsumerOption.check(consumer);
    ReplayTarget wanted = target();
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    KafkaConfig kafka = context.kafka();
    try (ConsumerGroups groups = new ConsumerGroups(kafka, context.kafkaTimeout())) {
      Replayer replayer = new Replayer(groups, kafka.topics(), err);
      Optional<String> live = replayer.liveMembers(consumer);
      if (live.isPresent() && !dryRun) {
        throw new OperatorError(
            "consumer group "
                + consumer
                + " has "
                + live.get()
                + ": stop "
                + consumer
                + " (every replica), then run replay again");
      }
      ReplayPlan plan = replayer.plan(consumer, wanted);
      out.println(
          live.map(
                  members ->
                      "consumer group "
                          + consumer
                          + " has "
                          + members
                          + ": the plan is from the offsets it has committed so far; stop it"
                          + " (every replica) before replaying")
              .orElse("consumer group " + consumer + " has no live members"));
      Table table = new Table("TOPIC", "PARTITION", "CURRENT", "TARGET", "TO RE-READ");
      plan.rows()
          .forEach(
              row ->
                  table.row(
                      row.partition().topic(),
                      row.partition().partition(),
                      current(row),
                      row.target(),
                      row.toReread()));
      table.print(out);
      plan.pastTheEnd().forEach(out::println);
      plan.notReReadable().forEach(out::println);
      out.println(
          "total: "
              + plan.totalToReread()
              + " records to re-read on "
              + plan.rows().size()
              + " partitions");
      if (dryRun) {
        out.println("dry run: nothing changed");
        out.flush();
        return 0;
      }
      if (plan.totalToReread() == 0) {
        // where no record is to be re-read, a commit would change nothing the worker reads
        out.println(
            "nothing to re-read: "
                + consumer
                + " already resumes at or before the target on every partition; nothing changed."
                + " Start it again; if records were to be re-read, check the target (a time too"
                + " late?) with --dry-run");
        out.flush();
        return 0;
      }
      replayer.apply(plan, "replay by payments command line at " + context.clock().instant());
      out.println(
          "rewound "
              + consumer
              + ": start it again; it re-reads "
              + plan.totalToReread()
              + " records and applies only what it had not applied before");
      out.println("follow it with: ./payments lag --consumer " + consumer + " --wait");
      out.flush();
      return 0;
    }
  }

  private static String current(ReplayPlan.Row row) {
    if (row.committed() == null) {
      return row.current() + " (none committed)";
    }
    if (row.pastTheEnd()) {
      return row.pastTheLogEnd().offsets();
    }
    return String.valueOf(row.current());
  }

  private ReplayTarget target() {
    if (target.earliest) {
      return new ReplayTarget.Earliest();
    }
    if (target.datetime != null) {
      return new ReplayTarget.AtTime(Times.parsePast(target.datetime, context.clock()));
    }
    return new ReplayTarget.Offsets(
        target.offsets.stream().map(ReplayTarget.PartitionOffset::parse).toList());
  }
}
