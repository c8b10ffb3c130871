package io.marketplace.payments.ops;

import io.marketplace.payments.common.config.ConfigException;
import io.marketplace.payments.ops.acl.KafkaAclsCommand;
import io.marketplace.payments.ops.db.DbGrantsCommand;
import io.marketplace.payments.ops.db.MigrateCommand;
import io.marketplace.payments.ops.dlq.DlqCommand;
import io.marketplace.payments.ops.reconcile.ReconcileCommand;
import io.marketplace.payments.ops.replay.LagCommand;
import io.marketplace.payments.ops.replay.ReplayCommand;
import io.marketplace.payments.ops.token.TokenCommand;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.UUID;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code ./payments}: the operators' command line (SPEC §7). Each subcommand reads the SPEC §2
 * environment variables it needs, so it runs against any deployment, the local stack included.
 *
 * <p>Exit status: 0 done, 1 refused or failed (the message says why and what to do), 2 wrong usage
 * or missing configuration.
 */
@Command(
    name = "payments",
    mixinStandardHelpOptions = true,
    versionProvider = PaymentsCli.Version.class,
    synopsisSubcommandLabel = "COMMAND",
    description =
        "Operates marketplace payments: tokens, replays, dead letters, reconciliation, Kafka ACLs,"
            + " the schema and its grants.")
public final class PaymentsCli implements Runnable {

  public static final int REFUSED = 1;
  public static final int USAGE = 2;

  private static final Pattern CANONICAL_UUID =
      Pattern.compile(
          "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

  @Spec CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "a command is required");
  }

  /**
   * The whole command line. {@code extraSubcommands} are added first (picocli-annotated objects or
   * {@link CommandLine}s): the local stack adds {@code up} and {@code demo} this way.
   */
  public static CommandLine commandLine(OpsContext context, Object... extraSubcommands) {
    CommandLine cli = new CommandLine(new PaymentsCli());
    for (Object extra : extraSubcommands) {
      cli.addSubcommand(extra);
    }
    cli.addSubcommand(new TokenCommand(context));
    cli.addSubcommand(new ReplayCommand(context));
    cli.addSubcommand(new LagCommand(context));
    cli.addSubcommand(DlqCommand.commandLine(context));
    cli.addSubcommand(new ReconcileCommand(context));
    cli.addSubcommand(new KafkaAclsCommand(context));
    cli.addSubcommand(new MigrateCommand(context));
    cli.addSubcommand(new DbGrantsCommand(context));
    versionEverywhere(cli, new Version());
    cli.registerConverter(UUID.class, PaymentsCli::uuid);
    cli.setExecutionExceptionHandler((error, command, parsed) -> handle(error, command, context));
    cli.setParameterExceptionHandler(unknownFirst(cli.getParameterExceptionHandler()));
    return cli;
  }

  /**
   * A UUID in its canonical form only: {@link UUID#fromString} also takes {@code 1-1-1-1-1}, which
   * is not the id the operator meant; the refusal says what is expected, without Java's exception.
   */
  private static UUID uuid(String value) {
    if (!CANONICAL_UUID.matcher(value).matches()) {
      throw new CommandLine.TypeConversionException(
          "'" + Text.printable(value) + "' is not a UUID (32 hex digits as 8-4-4-4-12)");
    }
    return UUID.fromString(value);
  }

  /**
   * Names a mistyped option before the required one it hid: {@code token --usr 1} says "Unknown
   * options: '--usr', '1'" and suggests {@code --user}, where picocli would only say that {@code
   * --user} is missing.
   */
  private static CommandLine.IParameterExceptionHandler unknownFirst(
      CommandLine.IParameterExceptionHandler standard) {
    return (error, args) -> {
      CommandLine command = error.getCommandLine();
      List<String> unknown = command.getUnmatchedArguments();
      if (error instanceof CommandLine.MissingParameterException && !unknown.isEmpty()) {
        return standard.handleParseException(
            new CommandLine.UnmatchedArgumentException(command, unknown), args);
      }
      return standard.handleParseException(error, args);
    };
  }

  /** Every command's {@code --version} prints the project's, as {@code payments --version}. */
  private static void versionEverywhere(CommandLine command, Version version) {
    command.getCommandSpec().versionProvider(version);
    command.getSubcommands().values().forEach(sub -> versionEverywhere(sub, version));
  }

  /** The project's version, which the build writes into {@value #VERSION_FILE}. */
  static final class Version implements CommandLine.IVersionProvider {

    static final String VERSION_FILE = "payments-cli-version.properties";

    @Override
    public String[] getVersion() throws IOException {
      Properties build = new Properties();
      try (InputStream in = PaymentsCli.class.getResourceAsStream("/" + VERSION_FILE)) {
        if (in != null) {
          build.load(in);
        }
      }
      return new String[] {
        "marketplace payments " + build.getProperty("version", "(version unknown)")
      };
    }
  }

  /**
   * One line for what the operator can act on; a stack trace only for the unexpected. Kafka not
   * answering is told the same way whichever client call gave up waiting.
   */
  private static int handle(Exception error, CommandLine command, OpsContext context) {
    String name = command.getCommandSpec().qualifiedName();
    if (!(error instanceof OperatorError) && OperatorError.isKafkaTimeout(error)) {
      String servers = context.env().optional("KAFKA_BOOTSTRAP_SERVERS", "(none set)");
      return handle(OperatorError.kafkaDidNotAnswer(servers, null, "", error), command, context);
    }
    Optional<org.apache.kafka.common.config.ConfigException> kafkaConfig =
        OperatorError.kafkaConfigRefused(error);
    if (kafkaConfig.isPresent()) {
      // a client that cannot even be built: a host name that resolves to nothing, a bad setting
      String servers = context.env().optional("KAFKA_BOOTSTRAP_SERVERS", "(none set)");
      command
          .getErr()
          .println(
              name
                  + ": KAFKA_BOOTSTRAP_SERVERS ("
                  + servers
                  + ") or another Kafka setting is not usable: "
                  + kafkaConfig.get().getMessage());
      command.getErr().flush();
      return USAGE;
    }
    if (error instanceof ConfigException || error instanceof UsageError) {
      command.getErr().println(name + ": " + error.getMessage());
      command.getErr().flush();
      return USAGE;
    }
    if (error instanceof OperatorError || error instanceof IllegalArgumentException) {
      command.getErr().println(name + ": " + error.getMessage());
      command.getErr().flush();
      return REFUSED;
    }
    command.getErr().println(name + ": failed: " + error);
    error.printStackTrace(command.getErr());
    command.getErr().flush();
    return REFUSED;
  }
}
