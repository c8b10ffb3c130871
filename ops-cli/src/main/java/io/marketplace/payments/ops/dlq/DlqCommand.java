package io.marketplace.payments.ops.dlq;

import io.marketplace.payments.common.config.ConfigException;
import io.marketplace.payments.common.db.Database;
import io.marketplace.payments.common.kafka.KafkaConfig;
import io.marketplace.payments.common.kafka.Topic;
import io.marketplace.payments.ops.ConsumerOption;
import io.marketplace.payments.ops.OperatorError;
import io.marketplace.payments.ops.OpsContext;
import io.marketplace.payments.ops.Table;
import io.marketplace.payments.ops.Text;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Callable;
import org.jdbi.v3.core.JdbiException;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code payments dlq}: the records the workers gave up on ({@code <topic>.dlq}), and sending them
 * back once the cause is fixed.
 */
@Command(
    name = "dlq",
    mixinStandardHelpOptions = true,
    synopsisSubcommandLabel = "(list | redrive)",
    description = "Shows dead letters and sends them back to be processed again.")
public final class DlqCommand implements Runnable {

  @Spec CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "list or redrive?");
  }

  public static CommandLine commandLine(OpsContext context) {
    return new CommandLine(new DlqCommand())
        .addSubcommand(new ListCommand(context))
        .addSubcommand(new RedriveCommand(context));
  }

  @Command(
      name = "list",
      mixinStandardHelpOptions = true,
      description = "Lists dead letters: when, which consumer, why, the event id and type.")
  static final class ListCommand implements Callable<Integer> {

    private final OpsContext context;

    @Spec CommandSpec spec;

    @Option(
        names = "--topic",
        paramLabel = "T",
        description = "one source or dead-letter topic (default: all)")
    String topic;

    @Option(names = "--waiting", description = "only those not redriven yet")
    boolean waitingOnly;

    @Option(
        names = "--consumer",
        paramLabel = "NAME",
        description = "only those this consumer group gave up on (the CONSUMER column)")
    String consumer;

    ListCommand(OpsContext context) {
      this.context = context;
    }

    @Override
    public Integer call() {
      ConsumerOption.check(consumer);
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      KafkaConfig kafka = context.kafka();
      DeadLetters reader = new DeadLetters(kafka, context.kafkaTimeout());
      List<Topic> topics = topic == null ? reader.dlqTopics() : List.of(reader.dlqTopic(topic));
      List<DeadLetter> letters =
          ConsumerFilter.of(consumer, reader.read(topics, err), kafka, context.kafkaTimeout());
      Redrives.Marks redriven = redrivenOrNull(topics, err);
      Table table =
          new Table(
              "FAILED AT", "CONSUMER", "DEAD LETTER", "EVENT ID", "TYPE", "REDRIVEN", "ERROR");
      int waiting = 0;
      for (DeadLetter letter : letters) {
        Instant when = redriven == null ? null : redriven.of(letter);
        if (when == null) {
          waiting++;
        } else if (waitingOnly) {
          continue;
        }
        table.row(
            letter.failedAt(),
            letter.consumer(),
            letter.coordinates(),
            letter.eventId(),
            letter.eventType(),
            redriven == null ? "?" : when == null ? "no" : when.toString(),
            letter.error()
                + (letter.redriveOf() == null
                    ? ""
                    : " (again, after redrive of " + letter.redriveOf() + ")"));
      }
      String ofConsumer = consumer == null ? "" : " of consumer " + consumer;
      if (letters.isEmpty()) {
        out.println(
            "no dead letters" + ofConsumer + " in " + topics.stream().map(Topic::name).toList());
      } else {
        table.print(out);
        out.println(
            letters.size()
                + " dead letters"
                + ofConsumer
                + (redriven == null ? "" : ", " + waiting + " not redriven"));
      }
      out.flush();
      failIfUnknown();
      return 0;
    }

    /**
     * The redrive marks, or null when the database cannot tell: the list still shows, with "?", and
     * the command then fails ({@link #failIfUnknown}). A missing variable is a usage error.
     */
    private Redrives.Marks redrivenOrNull(List<Topic> topics, PrintWriter err) {
      try (Database database = context.openDatabase()) {
        return new Redrives(database.jdbi()).redriven(topics.stream().map(Topic::name).toList());
      } catch (ConfigException e) {
        throw e;
      } catch (RuntimeException e) {
        unknownBecause = e;
        if (waitingOnly) {
          throw new OperatorError(
              "cannot tell which dead letters wait: the database failed: " + e.getMessage(), e);
        }
        err.println("redrive status unknown (" + e.getMessage() + ")");
        err.flush();
        return null;
      }
    }

    private RuntimeException unknownBecause;

    private void failIfUnknown() {
      if (unknownBecause != null) {
        throw new OperatorError(
            "listed without redrive status (REDRIVEN ?): the database failed: "
                + unknownBecause.getMessage(),
            unknownBecause);
      }
    }
  }

  @Command(
      name = "redrive",
      mixinStandardHelpOptions = true,
      description = {
        "Sends dead letters back to their source topic to be processed again, each once.",
        "Fix the cause first: a record that fails again is dead-lettered again."
      })
  static final class RedriveCommand implements Callable<Integer> {

    private final OpsContext context;

    @Spec CommandSpec spec;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Which which;

    static final class Which {
      @Option(
          names = "--event-id",
          paramLabel = "ID",
          description = "the dead letters of this event (Stripe event id, or event id)")
      String eventId;

      @Option(names = "--all", description = "every dead letter not redriven yet")
      boolean all;
    }

    @Option(names = "--topic", paramLabel = "T", description = "only this source or dlq topic")
    String topic;

    @Option(
        names = "--consumer",
        paramLabel = "NAME",
        description =
            "only those this consumer group gave up on (the CONSUMER column of dlq list): the"
                + " payment processor and the refund worker share the dead letters of"
                + " stripe.events.v1")
    String consumer;

    @Option(names = "--dry-run", description = "show what would be redriven, send nothing")
    boolean dryRun;

    RedriveCommand(OpsContext context) {
      this.context = context;
    }

    @Override
    public Integer call() {
      ConsumerOption.check(consumer);
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      KafkaConfig kafka = context.kafka();
      DeadLetters reader = new DeadLetters(kafka, context.kafkaTimeout());
      List<Topic> topics = topic == null ? reader.dlqTopics() : List.of(reader.dlqTopic(topic));
      try (Database database = context.openDatabase()) {
        List<DeadLetter> letters = reader.read(topics, err);
        Redrives.Marks redriven =
            new Redrives(database.jdbi()).redriven(topics.stream().map(Topic::name).toList());
        List<DeadLetter> ofEvent =
            letters.stream().filter(l -> which.all || which.eventId.equals(l.eventId())).toList();
        List<DeadLetter> matching =
            ConsumerFilter.of(consumer, ofEvent, kafka, context.kafkaTimeout());
        List<DeadLetter> waiting = matching.stream().filter(l -> redriven.of(l) == null).toList();
        String ofConsumer = consumer == null ? "" : " of consumer " + consumer;
        // what the filter leaves waiting, so that the operator knows it is there
        List<DeadLetter> othersWaiting =
            ofEvent.stream()
                .filter(l -> !matching.contains(l))
                .filter(l -> redriven.of(l) == null)
                .toList();
        String othersLeft =
            othersWaiting.isEmpty()
                ? ""
                : othersWaiting.size()
                    + " of other consumers left waiting: "
                    + ConsumerFilter.consumersOf(othersWaiting);
        if (waiting.isEmpty()) {
          if (which.all) {
            out.println("no dead letters" + ofConsumer + " waiting to be redriven");
            if (!othersLeft.isEmpty()) {
              out.println(othersLeft);
            }
            out.flush();
            return 0;
          }
          throw new OperatorError(
              matching.isEmpty()
                  ? "no dead letter of event "
                      + which.eventId
                      + ofConsumer
                      + (othersLeft.isEmpty() ? "" : " (" + othersLeft + ")")
                  : "the dead letters of event "
                      + which.eventId
                      + ofConsumer
                      + " were all redriven before ("
                      + String.join(", ", matching.stream().map(DeadLetter::coordinates).toList())
                      + ")");
        }
        // a letter that may not go back is named and left; the others are not held back by it
        List<String> refusals =
            waiting.stream().flatMap(l -> Redriver.refusal(kafka, l).stream()).toList();
        List<DeadLetter> sendable =
            waiting.stream().filter(l -> Redriver.refusal(kafka, l).isEmpty()).toList();
        refusals.forEach(refusal -> err.println("refused: " + refusal));
        err.flush();
        int exitCode = refusals.isEmpty() ? 0 : 1;
        Redriver redriver =
            new Redriver(kafka, context.kafkaTimeout(), database.jdbi(), operator());
        if (dryRun) {
          redriver.requireSources(sendable, "dry run: nothing sent");
          sendable.forEach(
              l ->
                  out.println(
                      "would redrive "
                          + l.coordinates()
                          + " ("
                          + Text.printable(l.eventId())
                          + ") to "
                          + l.sourceTopic()));
          if (!othersLeft.isEmpty()) {
            out.println(othersLeft);
          }
          out.println("dry run: nothing sent");
          out.flush();
          return exitCode;
        }
        Redriver.Outcome done = redriver.redrive(sendable, out, err);
        out.println(
            "redriven "
                + done.sent()
                + " dead letters"
                + ofConsumer
                + "; check with: ./payments dlq list, and the worker's lag");
        if (!othersLeft.isEmpty()) {
          out.println(othersLeft);
        }
        if (!refusals.isEmpty()) {
          out.println(refusals.size() + " refused (see above): not sent, and still listed");
        }
        if (done.busy() > 0) {
          out.println(
              done.busy()
                  + " being sent by another redrive (see above): not sent by this one; run"
                  + " again once it ended");
          exitCode = 1;
        }
        out.flush();
        return exitCode;
      } catch (JdbiException e) {
        out.flush();
        throw new OperatorError(
            "the database failed ("
                + firstLine(e)
                + "): is DATABASE_URL right, and is PostgreSQL running? What is listed above as"
                + " redriven was sent and recorded; nothing else was sent",
            e);
      }
    }

    private static String firstLine(Throwable e) {
      Throwable root = e;
      while (root.getCause() != null) {
        root = root.getCause();
      }
      return String.valueOf(root.getMessage()).lines().findFirst().orElse("");
    }

    private static String operator() {
      return System.getProperty("user.name", "unknown");
    }
  }
}
