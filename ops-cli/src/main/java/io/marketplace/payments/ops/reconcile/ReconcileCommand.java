package io.marketplace.payments.ops.reconcile;

import com.fasterxml.jackson.databind.JsonNode;
import io.marketplace.payments.common.db.Database;
import io.marketplace.payments.common.kafka.KafkaConfig;
import io.marketplace.payments.common.stripe.StripeConfig;
import io.marketplace.payments.ops.CommandKafka;
import io.marketplace.payments.ops.ConsumerOption;
import io.marketplace.payments.ops.OperatorError;
import io.marketplace.payments.ops.OpsContext;
import io.marketplace.payments.ops.Table;
import io.marketplace.payments.ops.Text;
import io.marketplace.payments.ops.Times;
import io.marketplace.payments.ops.UsageError;
import io.marketplace.payments.ops.acl.KafkaAcls;
import io.marketplace.payments.ops.replay.ConsumerGroups;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.jdbi.v3.core.JdbiException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code payments reconcile} (SPEC §7): lists PaymentIntents, refunds and disputes from Stripe
 * since a time, compares them with the database and repairs what it missed, by publishing each
 * missing fact as a Stripe-shaped event for the workers to apply; it never writes the database
 * itself. {@code --dry-run} only reports.
 *
 * <p>Exit status 0: nothing left to do (no differences, or every repair published, and applied when
 * waited for; failed refunds awaiting an admin are listed, not counted). 1: a difference needs a
 * person, a repair was not applied in time, or a failure. A dry run exits 0 whatever it finds,
 * except objects the database holds that Stripe does not have ({@code not_at_stripe}): a key of
 * another account, under which no report can be trusted, fails dry run or not, and publishes none
 * of the repairs found under that key. A dry run that found repairs also fails where the run that
 * publishes would refuse them: the cluster has no topic for them, or Kafka does not answer.
 */
@Command(
    name = "reconcile",
    mixinStandardHelpOptions = true,
    description = {
      "Repairs what the database missed of Stripe's PaymentIntents, refunds, disputes.",
      "Lists them from Stripe, reports what the database missed, and repairs it by publishing"
          + " each missing fact for the workers to apply. With --dry-run, only reports."
    })
public final class ReconcileCommand implements Callable<Integer> {

  private static final int PROGRESS_EVERY = 100;
  private static final Duration RECHECK_EVERY = Duration.ofSeconds(1);

  private final OpsContext context;

  @Spec CommandSpec spec;

  @Option(
      names = "--since",
      required = true,
      paramLabel = "T",
      description = "objects created at or after T (2026-03-01T00:00:00Z, 2026-03-01, or 48h)")
  String since;

  @Option(
      names = "--unpaid-lookback",
      paramLabel = "DURATION",
      defaultValue = "30d",
      description =
          "also check the PaymentIntents created this long before T that the database holds as"
              + " unpaid: checkout hands the same one back until it is paid (default:"
              + " ${DEFAULT-VALUE})")
  String unpaidLookback;

  @Option(
      names = "--refund-lookback",
      paramLabel = "DURATION",
      defaultValue = "90d",
      description =
          "also check the refunds made, and the disputes opened, this long before T that the"
              + " database holds as made or open: Stripe may fail a refund days after making it,"
              + " and closes a dispute weeks after opening it (default: ${DEFAULT-VALUE})")
  String refundLookback;

  @Option(names = "--dry-run", description = "only report: publish no repair")
  boolean dryRun;

  /** Repairing is the default (SPEC §7); accepted so that scripts written for it keep working. */
  @Option(names = "--apply", hidden = true)
  boolean apply;

  @Option(
      names = "--wait",
      paramLabel = "DURATION",
      description = "wait up to this long for the workers to apply the repairs, e.g. 2m")
  String await;

  /** Null unless typed: a name typed is checked against the cluster, the workers' own is not. */
  @Option(
      names = "--payment-consumer",
      paramLabel = "NAME",
      description =
          "consumer group of the payment processor (default: "
              + KafkaAcls.PROCESSOR_GROUP
              + "); one the cluster has reading stripe.events.v1")
  String paymentConsumer;

  @Option(
      names = "--refund-consumer",
      paramLabel = "NAME",
      description =
          "consumer group applying Stripe refunds (default: "
              + KafkaAcls.REFUND_STRIPE_GROUP
              + "); one the cluster has reading stripe.events.v1")
  String refundConsumer;

  public ReconcileCommand(OpsContext context) {
    this.context = context;
  }

  /** A Stripe object found to differ, kept to check it again after the repair. */
  private record Checked(List<Finding> findings, Supplier<List<Finding>> recheck) {}

  @Override
  public Integer call() throws InterruptedException {
    ConsumerOption.check("--payment-consumer", paymentConsumer);
    ConsumerOption.check("--refund-consumer", refundConsumer);
    Instant from = Times.parsePast(since, context.clock());
    Duration wait = await == null ? null : Times.parseDuration(await);
    Duration lookback = Times.parseDuration(unpaidLookback);
    Duration refundsBefore = Times.parseDuration(refundLookback);
    if (dryRun && (wait != null || apply)) {
      throw new UsageError((apply ? "--apply" : "--wait") + " does not go with --dry-run");
    }
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    StripeConfig stripeConfig = context.stripe();
    StripeLedger stripe = new StripeLedger(stripeConfig.readingClient(), stripeConfig.apiBase());
    // refused now, not once Stripe and the database have been read; a dry run checks the topic the
    // repairs would be published to as well, so that it refuses what the repair would
    KafkaConfig kafka = context.kafka();
    context.kafkaTimeout();
    boolean consumersChecked = requireTypedConsumers(kafka, true);
    try (Database database = context.openDatabase()) {
      return reconcile(
          database, from, lookback, refundsBefore, wait, stripe, kafka, consumersChecked, out, err);
    } catch (JdbiException e) {
      throw new OperatorError("the database failed: " + e.getMessage(), e);
    }
  }

  private int reconcile(
      Database database,
      Instant from,
      Duration lookback,
      Duration refundsBefore,
      Duration wait,
      StripeLedger stripe,
      KafkaConfig kafka,
      boolean consumersChecked,
      PrintWriter out,
      PrintWriter err)
      throws InterruptedException {
    Records records = new Records(database.jdbi());
    // whether a PaymentIntent this run checked carries our metadata, readable: a refund or dispute
    // of one the database holds no row of is ours when it is, and its payment is repaired by this
    // run; one of a PaymentIntent this run did not check is left as before, costing Stripe no call
    Map<String, Boolean> readsAsOurs = new HashMap<>();
    Reconciler reconciler =
        new Reconciler(
            records,
            paymentConsumer == null ? KafkaAcls.PROCESSOR_GROUP : paymentConsumer,
            refundConsumer == null ? KafkaAcls.REFUND_STRIPE_GROUP : refundConsumer,
            id -> readsAsOurs.getOrDefault(id, false));
    List<Checked> differing = new ArrayList<>();
    int[] counts = new int[4]; // PaymentIntents, succeeded, not ours, refunds

    Set<String> seen = new HashSet<>();
    Consumer<Reconciler.StripePayment> check =
        pi -> {
          seen.add(pi.id());
          readsAsOurs.put(pi.id(), pi.readsAsOurs());
          counts[0]++;
          if (counts[0] % PROGRESS_EVERY == 0) {
            err.println("  " + counts[0] + " PaymentIntents checked ...");
            err.flush();
          }
          if (!"succeeded".equals(pi.status())) {
            return;
          }
          if (!reconciler.isOurs(pi)) {
            counts[2]++;
            return;
          }
          counts[1]++;
          List<Finding> findings = reconciler.check(pi);
          if (!findings.isEmpty()) {
            differing.add(new Checked(findings, () -> reconciler.check(pi)));
          }
        };
    err.println("listing PaymentIntents created since " + from + " from Stripe ...");
    err.flush();
    stripe.paymentIntentsSince(from, check);
    // Stripe lists PaymentIntents by creation; one created before T may have been paid after it
    List<String> unpaid =
        records.unpaidSince(from.minus(lookback), from).stream()
            .filter(id -> !seen.contains(id))
            .toList();
    err.println(
        "retrieving "
            + unpaid.size()
            + " PaymentIntents from Stripe that the database holds as unpaid, or paid since T,"
            + " created before "
            + from
            + " (and since "
            + from.minus(lookback)
            + ") ...");
    err.flush();
    for (String id : unpaid) {
      stripe
          .paymentIntent(id)
          .ifPresentOrElse(
              check,
              () ->
                  differing.add(
                      notAtStripe(
                          id,
                          "PaymentIntent "
                              + id
                              + ": the database holds it as unpaid, or paid since T")));
    }
    // and one created before T (and before the lookback) and paid since, that the database does
    // not hold at all (its row lost with the incident): its charge was created since T
    err.println("listing charges since " + from + " for PaymentIntents created before it ...");
    err.flush();
    Set<String> paidSince = new LinkedHashSet<>();
    stripe.paidSince(
        from,
        id -> {
          if (!seen.contains(id)) {
            paidSince.add(id);
          }
        });
    for (String id : paidSince) {
      if (!seen.contains(id)) {
        stripe.paymentIntent(id).ifPresent(check);
      }
    }
    err.println("listing refunds created since " + from + " from Stripe ...");
    err.flush();
    Set<String> seenRefunds = new HashSet<>();
    Consumer<Reconciler.StripeRefund> checkRefund =
        refund -> {
          seenRefunds.add(refund.id());
          counts[3]++;
          if (counts[3] % PROGRESS_EVERY == 0) {
            err.println("  " + counts[3] + " refunds checked ...");
            err.flush();
          }
          List<Finding> findings = reconciler.check(refund);
          if (!findings.isEmpty()) {
            differing.add(new Checked(findings, () -> reconciler.check(refund)));
          }
        };
    stripe.refundsSince(from, checkRefund);
    // Stripe lists refunds by creation; one made before T may have failed after it
    List<String> made =
        records.madeRefundsSince(from.minus(refundsBefore)).stream()
            .filter(id -> !seenRefunds.contains(id))
            .toList();
    err.println(
        "retrieving "
            + made.size()
            + " refunds from Stripe that the database holds as made, since "
            + from.minus(refundsBefore)
            + " ...");
    err.flush();
    for (String id : made) {
      stripe
          .refund(id)
          .ifPresentOrElse(
              checkRefund,
              () ->
                  differing.add(
                      notAtStripe(null, "refund " + id + ": the database holds it as made")));
    }

    err.println("listing disputes created since " + from + " from Stripe ...");
    err.flush();
    Set<String> seenDisputes = new HashSet<>();
    Consumer<Reconciler.StripeDispute> checkDispute =
        dispute -> {
          seenDisputes.add(dispute.id());
          List<Finding> findings = reconciler.check(dispute);
          if (!findings.isEmpty()) {
            differing.add(new Checked(findings, () -> reconciler.check(dispute)));
          }
        };
    stripe.disputesSince(from, checkDispute);
    // a dispute opened before T may have been closed after it, an inquiry escalated after it
    List<String> open =
        records.openDisputesSince(from.minus(refundsBefore)).stream()
            .filter(id -> !seenDisputes.contains(id))
            .toList();
    for (String id : open) {
      stripe
          .dispute(id)
          .ifPresentOrElse(
              checkDispute,
              () ->
                  differing.add(
                      notAtStripe(
                          null,
                          "dispute " + id + ": the database holds it as open or an inquiry")));
    }
    int disputes = seenDisputes.size();

    List<Finding> openFailed = reconciler.openFailedRefunds(from);
    if (!openFailed.isEmpty()) {
      differing.add(new Checked(openFailed, () -> reconciler.openFailedRefunds(from)));
    }

    out.println(
        "checked "
            + counts[0]
            + " PaymentIntents ("
            + unpaid.size()
            + " of them created before and unpaid in the database; "
            + counts[1]
            + " of ours succeeded"
            + (counts[2] > 0 ? ", " + counts[2] + " succeeded not ours" : "")
            + ") and "
            + counts[3]
            + " refunds and "
            + disputes
            + " disputes created since "
            + from);
    List<Finding> findings = differing.stream().flatMap(c -> c.findings().stream()).toList();
    if (findings.isEmpty()) {
      out.println("no differences: the database has every fact Stripe has");
      out.flush();
      return 0;
    }
    print(findings, out);
    Map<String, Repair> repairs = repairsOf(findings);
    long needPerson = findings.stream().filter(f -> !f.repairable()).count();
    out.println(
        findings.size()
            + " findings: "
            + repairs.size()
            + " repair events for the workers"
            + (needPerson > 0 ? ", " + needPerson + " need a person" : ""));
    long notAtStripe =
        findings.stream().filter(f -> f.kind() == Finding.Kind.NOT_AT_STRIPE).count();
    if (dryRun) {
      out.flush();
      if (!repairs.isEmpty() && notAtStripe == 0) {
        // what the run that publishes would refuse before publishing anything
        requireStripeEvents(kafka, "without --dry-run nothing would be published");
        if (!consumersChecked) {
          requireTypedConsumers(kafka, false);
        }
      }
      if (!repairs.isEmpty()) {
        out.println("run again without --dry-run to publish the repairs to the workers");
      }
      out.flush();
      failIfNotAtStripe(notAtStripe, 0);
      return 0;
    }
    if (notAtStripe > 0) {
      // what this key shows may be another account's: repairing by it could deliver a purchase
      // nobody paid us for
      if (!repairs.isEmpty()) {
        out.println(
            "nothing published: the "
                + repairs.size()
                + " repairs above come from a key that does not see what the database holds");
      }
      out.flush();
      failIfNotAtStripe(
          notAtStripe, findings.stream().filter(Finding::needsPerson).count() - notAtStripe);
    }
    if (!repairs.isEmpty()) {
      requireStripeEvents(kafka, "nothing published");
      if (!consumersChecked) {
        requireTypedConsumers(kafka, false);
      }
      publish(repairs, stripe, kafka, out);
    }
    long left = findings.stream().filter(Finding::needsPerson).count();
    if (wait != null) {
      left = awaitRepairs(differing, repairs.keySet(), records, wait, out);
    } else if (!repairs.isEmpty()) {
      out.println("the workers apply them like any Stripe event; run reconcile again to check");
    }
    out.flush();
    if (left > 0) {
      throw new OperatorError(
          left + " findings need a person: see the runbook for each kind (FINDING above)");
    }
    return 0;
  }

  /**
   * An object the database holds that Stripe does not have. No worker can repair it, and its check
   * stays as it is: a person must look (first at the key).
   */
  private static Checked notAtStripe(String paymentIntentId, String what) {
    List<Finding> findings =
        List.of(
            new Finding(
                Finding.Kind.NOT_AT_STRIPE,
                paymentIntentId,
                null,
                what + "; Stripe has no such object under this key",
                null));
    return new Checked(findings, () -> findings);
  }

  /**
   * Fails, dry run or not, when Stripe does not have what the database holds: under a key of
   * another account or mode every list comes back empty or foreign, so this run shows nothing about
   * whether the database has every fact, whatever else it found or repaired.
   */
  private static void failIfNotAtStripe(long notAtStripe, long otherNeedPerson) {
    if (notAtStripe == 0) {
      return;
    }
    throw new OperatorError(
        notAtStripe
            + " PaymentIntents, refunds or disputes the database holds are not at Stripe"
            + " (not_at_stripe above): is STRIPE_SECRET_KEY the key of the account, and the mode"
            + " (live or test), that checkout-api and the workers use? Under another account's"
            + " key nothing can be reconciled"
            + (otherNeedPerson > 0
                ? "; and " + otherNeedPerson + " other findings need a person"
                : ""));
  }

  private static void print(List<Finding> findings, PrintWriter out) {
    Table table = new Table("FINDING", "PAYMENT INTENT", "LISTING", "REPAIR", "DETAIL");
    for (Finding finding : findings) {
      table.row(
          finding.kind().label(),
          finding.paymentIntentId(),
          finding.listingId(),
          finding.repairable() ? finding.repair().eventId() : "needs a person",
          finding.detail());
    }
    table.print(out);
  }

  /** One event per missing fact, however many findings it explains. */
  private static Map<String, Repair> repairsOf(List<Finding> findings) {
    Map<String, Repair> repairs = new LinkedHashMap<>();
    findings.stream()
        .filter(Finding::repairable)
        .forEach(f -> repairs.putIfAbsent(f.repair().eventId(), f.repair()));
    return repairs;
  }

  /**
   * Refuses a {@code --payment-consumer} or {@code --refund-consumer} that no consumer group of the
   * cluster reading the repairs' topic has: a typo, under which the repairs the worker applied
   * would go unseen (and the next generation of a repair, once applied, be published as the first
   * again, which the worker skips), until {@code --wait} gave up. A group of another name that
   * reads the topic (a worker deployed under a name of its own) is taken. The workers' own names,
   * the defaults, are not checked: they are not typed.
   *
   * <p>{@code early}, before Stripe is read: returns false, leaving the check to be made again
   * before anything is published, when it cannot tell yet: Kafka did not answer, or the cluster has
   * no topic under this prefix. Those are told then, after the report, as without a name typed.
   */
  private boolean requireTypedConsumers(KafkaConfig kafka, boolean early) {
    Map<String, String> typed = new LinkedHashMap<>();
    if (paymentConsumer != null) {
      typed.put("--payment-consumer", paymentConsumer);
    }
    if (refundConsumer != null) {
      typed.put("--refund-consumer", refundConsumer);
    }
    if (typed.isEmpty()) {
      return true;
    }
    String topic = kafka.topics().stripeEvents().name();
    try (ConsumerGroups groups = new ConsumerGroups(kafka, context.kafkaTimeout())) {
      for (Map.Entry<String, String> option : typed.entrySet()) {
        String group = option.getValue();
        if (groups.reads(group, topic)) {
          continue;
        }
        if (early && !groups.hasTopic(topic)) {
          return false;
        }
        Set<String> readers = groups.readersOf(topic);
        throw new OperatorError(
            option.getKey()
                + " "
                + Text.printable(group)
                + ": no consumer group "
                + Text.printable(group)
                + " reads "
                + topic
                + " on the cluster, so no worker applies the repairs under that name. The groups"
                + " that read it: "
                + (readers.isEmpty() ? "none" : String.join(", ", readers))
                + " (the workers' own: "
                + KafkaAcls.PROCESSOR_GROUP
                + " for payments, "
                + KafkaAcls.REFUND_STRIPE_GROUP
                + " for refunds and disputes); nothing "
                + (early ? "read or " : "")
                + "published");
      }
      return true;
    } catch (OperatorError e) {
      if (early && ConsumerGroups.noAnswer(e)) {
        return false;
      }
      throw e;
    }
  }

  /** Refuses when the cluster has no topic for the repairs: {@code outcome} says what follows. */
  private void requireStripeEvents(KafkaConfig kafka, String outcome) {
    CommandKafka.requireTopics(
        kafka, List.of(kafka.topics().stripeEvents().name()), context.kafkaTimeout(), outcome);
  }

  private void publish(
      Map<String, Repair> repairs, StripeLedger stripe, KafkaConfig kafka, PrintWriter out) {
    try (Producer<String, byte[]> producer =
        new KafkaProducer<>(
            CommandKafka.producer(kafka, "payments-cli-reconcile", context.kafkaTimeout()))) {
      RepairPublisher publisher =
          new RepairPublisher(
              producer,
              kafka.bootstrapServers(),
              kafka.topics().stripeEvents(),
              context.kafkaTimeout(),
              context.clock());
      for (Repair repair : repairs.values()) {
        JsonNode object = stripe.raw(repair);
        RecordMetadata where =
            publisher.publish(
                repair, object, stripe.occurredAt(repair, object, context.clock().instant()));
        out.println(
            "published "
                + repair.eventId()
                + " ("
                + repair.eventType()
                + ") to "
                + where.topic()
                + "/"
                + where.partition()
                + "/"
                + where.offset());
        out.flush();
      }
    }
  }

  /**
   * Checks the differing objects again until the workers repaired them, or the time is up. Some
   * repairs take two workers: the payment processor applies a success it cannot deliver and asks
   * the refund worker for its refund. Until the refund worker has acted, the payment looks like a
   * difference for a person, or like a repair applied without effect; either is reported only once
   * the time is up, as it may be settled before. What needed a person before anything was published
   * ends the wait at once. Returns how many findings are left for a person.
   */
  private long awaitRepairs(
      List<Checked> differing,
      Set<String> published,
      Records records,
      Duration wait,
      PrintWriter out)
      throws InterruptedException {
    long deadline = System.nanoTime() + wait.toNanos();
    // the findings a repair was published for: those for a person are counted apart, at the end
    long total =
        differing.stream().flatMap(c -> c.findings().stream()).filter(Finding::repairable).count();
    Set<String> forAPersonBefore =
        differing.stream()
            .flatMap(c -> c.findings().stream())
            .filter(Finding::needsPerson)
            .map(ReconcileCommand::whatAndWhere)
            .collect(Collectors.toSet());
    long reported = -1;
    while (true) {
      List<Finding> left = differing.stream().flatMap(c -> c.recheck().get().stream()).toList();
      List<Finding> waiting = left.stream().filter(Finding::repairable).toList();
      long repaired = Math.max(0, total - waiting.size());
      if (total > 0 && repaired != reported) {
        out.println("waiting for the workers: " + repaired + " of " + total + " repaired");
        out.flush();
        reported = repaired;
      }
      // for a person since a repair was applied: perhaps until another worker applies what the
      // first one asked of it
      boolean arisen =
          left.stream()
              .filter(Finding::needsPerson)
              .anyMatch(f -> !forAPersonBefore.contains(whatAndWhere(f)));
      boolean timeIsUp = System.nanoTime() - deadline >= 0;
      if (waiting.isEmpty() && (!arisen || timeIsUp)) {
        if (!left.isEmpty()) {
          out.println(left.size() + " findings need a person:");
          print(left, out);
        }
        return left.stream().filter(Finding::needsPerson).count();
      }
      // the next generation is proposed once the published one was applied: a check reads the
      // state and the repairs applied in one snapshot, so a repair applied meanwhile is either
      // seen with its effect or not seen at all, never applied yet ineffective by accident
      List<Finding> ineffective =
          waiting.stream().filter(f -> !published.contains(f.repair().eventId())).toList();
      if (!ineffective.isEmpty() && timeIsUp) {
        print(ineffective, out);
        for (String eventId : published) {
          records.outcome(eventId).ifPresent(o -> out.println(eventId + ": " + o));
        }
        throw new OperatorError(
            ineffective.size()
                + " findings remain although the workers applied their repair events: look at"
                + " the worker's logs (its outcome for the event is in webhook_events)");
      }
      if (timeIsUp) {
        print(left, out);
        throw new OperatorError(
            waiting.size()
                + " findings not repaired within "
                + await
                + ": is the worker running? see ./payments lag and ./payments dlq list");
      }
      Thread.sleep(RECHECK_EVERY);
    }
  }

  /** A finding's kind and PaymentIntent: what a later check of it finds again. */
  private static String whatAndWhere(Finding finding) {
    return finding.kind() + " " + finding.paymentIntentId();
  }
}
