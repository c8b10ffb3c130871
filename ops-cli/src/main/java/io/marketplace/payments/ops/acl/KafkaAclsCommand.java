package io.marketplace.payments.ops.acl;

import io.marketplace.payments.common.kafka.KafkaConfig;
import io.marketplace.payments.ops.OperatorError;
import io.marketplace.payments.ops.OpsContext;
import io.marketplace.payments.ops.Table;
import io.marketplace.payments.ops.UsageError;
import io.marketplace.payments.ops.acl.KafkaAcls.Workload;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.acl.AccessControlEntryFilter;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.ResourcePatternFilter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code payments kafka-acls}: the ACLs of docs/security.md for the principals the cluster gives
 * each workload, derived from the code ({@link KafkaAcls}); shows which the cluster lacks and, with
 * {@code --apply}, creates them. Running it again creates nothing. It never deletes: a binding the
 * cluster has for one of these principals beyond the derived set is listed for a person to judge.
 */
@Command(
    name = "kafka-acls",
    mixinStandardHelpOptions = true,
    description = {
      "Shows, and with --apply creates, the Kafka ACLs each workload needs.",
      "They are those of docs/security.md, derived from the code: topic names",
      "(KAFKA_TOPIC_PREFIX), consumer groups, the risk service's application id.",
      "Creates only what is missing and deletes nothing: it lists what the cluster grants"
          + " these principals beyond the derived set. Runs as a principal that may describe"
          + " and create ACLs."
    })
public final class KafkaAclsCommand implements Callable<Integer> {

  private final OpsContext context;

  @Spec CommandSpec spec;

  @Option(
      names = "--principal-of",
      required = true,
      paramLabel = "WORKLOAD=PRINCIPAL",
      description =
          "the principal a workload logs in as, such as"
              + " webhook-gateway=User:payments-webhook-gateway; repeat for each. Workloads:"
              + " webhook-gateway, payment-processor, refund-worker, checkout-api,"
              + " promotion-expirer, payment-risk, topics (the topics Job), operators")
  List<String> principalOf;

  @Option(names = "--apply", description = "create the missing bindings")
  boolean apply;

  @Option(names = "--dry-run", description = "show what is missing, change nothing (the default)")
  boolean dryRun;

  public KafkaAclsCommand(OpsContext context) {
    this.context = context;
  }

  @Override
  public Integer call() {
    if (apply && dryRun) {
      throw new UsageError("--apply and --dry-run do not go together: choose one");
    }
    Map<Workload, String> principals = principals();
    KafkaConfig kafka = context.kafka();
    Duration timeout = context.kafkaTimeout();
    Set<AclBinding> derived = KafkaAcls.derive(kafka.topics(), principals);
    PrintWriter out = spec.commandLine().getOut();
    String prefix = KafkaAcls.prefix(kafka.topics());
    out.println(
        bindings(derived.size())
            + " for "
            + principals.size()
            + " principals, topics with KAFKA_TOPIC_PREFIX '"
            + prefix
            + "'");
    Admin admin = Admin.create(kafka.admin("payments-cli-acls"));
    try {
      Set<AclBinding> present = new LinkedHashSet<>();
      for (String principal : principals.values()) {
        present.addAll(
            await(
                admin
                    .describeAcls(
                        new AclBindingFilter(
                            ResourcePatternFilter.ANY,
                            new AccessControlEntryFilter(
                                principal, null, AclOperation.ANY, AclPermissionType.ANY)))
                    .values(),
                kafka,
                timeout,
                "nothing changed"));
      }
      List<AclBinding> missing = derived.stream().filter(b -> !present.contains(b)).toList();
      if (apply && !missing.isEmpty()) {
        await(
            admin.createAcls(missing).all(),
            kafka,
            timeout,
            "some of the " + missing.size() + " missing bindings may be created: run it again");
      }
      Table table =
          new Table("WORKLOAD", "PRINCIPAL", "RESOURCE", "PATTERN", "NAME", "OPERATION", "STATE");
      for (Map.Entry<Workload, String> entry : principals.entrySet()) {
        for (AclBinding binding : KafkaAcls.of(entry.getKey(), entry.getValue(), kafka.topics())) {
          String state = !missing.contains(binding) ? "present" : apply ? "created" : "missing";
          table.row(
              entry.getKey().key,
              entry.getValue(),
              binding.pattern().resourceType(),
              binding.pattern().patternType(),
              binding.pattern().name(),
              binding.entry().operation(),
              state);
        }
      }
      table.print(out);
      List<AclBinding> extra = present.stream().filter(b -> !derived.contains(b)).toList();
      if (!extra.isEmpty()) {
        out.println(
            bindings(extra.size())
                + " on the cluster for these principals not derived from the code;"
                + " left as they are (this command deletes nothing): remove those a workload"
                + " should not have with kafka-acls.sh --remove");
        Table others =
            new Table(
                "PRINCIPAL", "RESOURCE", "PATTERN", "NAME", "OPERATION", "PERMISSION", "HOST");
        for (AclBinding binding : extra) {
          others.row(
              binding.entry().principal(),
              binding.pattern().resourceType(),
              binding.pattern().patternType(),
              binding.pattern().name(),
              binding.entry().operation(),
              binding.entry().permissionType(),
              binding.entry().host());
        }
        others.print(out);
      }
      if (apply) {
        out.println(
            "created "
                + bindings(missing.size())
                + "; "
                + (derived.size() - missing.size())
                + " already present");
      } else {
        out.println(
            "dry run: "
                + bindings(missing.size())
                + " missing, nothing changed"
                + (missing.isEmpty() ? "" : "; run again with --apply to create them"));
      }
      out.flush();
      return 0;
    } finally {
      admin.close(Duration.ZERO);
    }
  }

  /**
   * The workloads named, in the order given. Refuses an unknown workload, a principal without its
   * type, one principal for two workloads (the gateway's right to write {@code stripe.events.v1}
   * would then be every such workload's), and one workload given twice (kept as the last, the
   * principal given first would silently go without the grants its workload needs).
   */
  private Map<Workload, String> principals() {
    Map<Workload, String> principals = new LinkedHashMap<>();
    Map<String, Workload> byPrincipal = new LinkedHashMap<>();
    principalOf.forEach(
        pair -> {
          int equals = pair.indexOf('=');
          if (equals < 0) {
            throw new UsageError(
                "'" + pair + "' is not WORKLOAD=PRINCIPAL, such as webhook-gateway=User:payments");
          }
          String key = pair.substring(0, equals);
          String principal = pair.substring(equals + 1);
          Workload workload =
              Workload.of(key)
                  .orElseThrow(
                      () ->
                          new UsageError(
                              "no workload '"
                                  + key
                                  + "': name one of "
                                  + String.join(", ", Workload.keys())));
          String name = principal.strip();
          int colon = name.indexOf(':');
          if (colon <= 0 || colon == name.length() - 1) {
            throw new UsageError(
                "'"
                    + principal
                    + "' for "
                    + key
                    + " is not a principal: write its type, such as User:"
                    + (name.isEmpty() ? "payments-" + key : name));
          }
          Workload other = byPrincipal.putIfAbsent(name, workload);
          if (other != null && other != workload) {
            throw new UsageError(
                name
                    + " is given for both "
                    + other.key
                    + " and "
                    + workload.key
                    + ": each workload needs a principal of its own (docs/security.md)");
          }
          String before = principals.put(workload, name);
          if (before != null && !before.equals(name)) {
            throw new UsageError(
                workload.key
                    + " is given twice, as "
                    + before
                    + " and as "
                    + name
                    + ": give each workload the one principal it logs in as");
          }
        });
    return principals;
  }

  private static String bindings(int count) {
    return count + (count == 1 ? " binding" : " bindings");
  }

  private static <T> T await(
      KafkaFuture<T> future, KafkaConfig kafka, Duration timeout, String outcome) {
    try {
      return future.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw new OperatorError(
          "Kafka refused ("
              + outcome
              + "): "
              + e.getCause().getMessage()
              + "; run it as a principal that may describe and create ACLs, on a cluster with an"
              + " authorizer",
          e.getCause());
    } catch (TimeoutException e) {
      throw OperatorError.kafkaDidNotAnswer(kafka.bootstrapServers(), timeout, outcome, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new OperatorError("interrupted: " + outcome, e);
    }
  }
}
