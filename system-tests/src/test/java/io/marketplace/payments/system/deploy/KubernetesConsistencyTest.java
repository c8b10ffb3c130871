package io.marketplace.payments.system.deploy;

import static io.marketplace.payments.system.deploy.Manifests.at;
import static io.marketplace.payments.system.deploy.Manifests.byKind;
import static io.marketplace.payments.system.deploy.Manifests.list;
import static io.marketplace.payments.system.deploy.Manifests.map;
import static io.marketplace.payments.system.deploy.Manifests.strings;
import static io.marketplace.payments.system.deploy.Manifests.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.marketplace.payments.common.config.Env;
import io.marketplace.payments.common.config.InvalidConfigException;
import io.marketplace.payments.common.config.SecretCheck;
import io.marketplace.payments.common.db.DbConfig;
import io.marketplace.payments.common.kafka.Topic;
import io.marketplace.payments.common.kafka.Topics;
import io.marketplace.payments.expirer.ExpirerConfig;
import io.marketplace.payments.expirer.schedule.Schedule;
import io.marketplace.payments.gateway.webhook.EventPublisher;
import io.marketplace.payments.ops.OpsContext;
import io.marketplace.payments.ops.acl.KafkaAcls;
import io.marketplace.payments.processor.PaymentProcessorConfig;
import io.marketplace.payments.refunds.RefundWorker;
import io.marketplace.payments.risk.RiskConfig;
import io.marketplace.payments.risk.RiskService;
import io.marketplace.payments.risk.flag.RiskFlagWorker;
import io.marketplace.payments.testsupport.Await;
import io.marketplace.payments.testsupport.TestDatabase;
import io.marketplace.payments.testsupport.TestInfra;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Kubernetes base and the production overlay against the code: each workload, given the
 * environment its manifest builds (literal values, the {@code payments-config} ConfigMap, the
 * Secrets), reads its configuration without a missing variable and listens on its container port;
 * probes, security settings, scaling and network policies are where the services need them; every
 * service is a scraped Deployment, the expirer too: it passes on the schedule its manifest gives,
 * exports what its alerts read, and runs a real {@code --once} pass when one is started by hand.
 */
class KubernetesConsistencyTest {

  private static final Set<String> PROBES =
      Set.of("startupProbe", "livenessProbe", "readinessProbe");

  private static final String EXAMPLE_SECRETS = "k8s/secrets.example.yaml";

  private static final String BASE = "k8s/base/kustomization.yaml";

  private static final String OVERLAY = "k8s/overlays/production/kustomization.yaml";

  /** The variables that carry a secret, each refused when it is a placeholder. */
  private static final Set<String> SECRET_VARIABLES =
      Set.of("AUTH_JWT_SECRET", "STRIPE_WEBHOOK_SECRET", "STRIPE_SECRET_KEY", "DATABASE_PASSWORD");

  private static final SecureRandom RANDOM = new SecureRandom();

  /** PostgreSQL's {@code max_connections} unless the server sets it. */
  private static final int DEFAULT_MAX_CONNECTIONS = 100;

  /** Of those, the ones {@code superuser_reserved_connections} keeps for superusers by default. */
  private static final int SUPERUSER_RESERVED_CONNECTIONS = 3;

  /** Connections a pool has beyond what its service's threads hold at once. */
  private static final int POOL_MARGIN = 1;

  /** The psql sessions operators may open at once, in the room kept for them. */
  private static final int PSQL_SESSIONS = 3;

  /**
   * The memory a service's JVM holds beside its heap: metaspace, code cache, the garbage
   * collector's structures, thread stacks, the JVM's own libraries. Measured with native memory
   * tracking, each service started from its manifest's environment under its pod's limit and ready,
   * idle: 154 MB (checkout-api) to 191 MB (payment-risk, RocksDB's share not yet full) beside the
   * committed heap, counted as the process's resident memory. The rest is for the code cache as the
   * JIT compiles under load, and for request threads.
   */
  private static final long JVM_BESIDE_HEAP = 256L << 20;

  private static List<Map<String, Object>> objects;

  @BeforeAll
  static void readBase() {
    objects = Manifests.kubernetesBase();
  }

  /** The pod template of a service's Deployment, with its one container. */
  record Workload(String name, Map<String, Object> template) {

    Map<String, Object> pod() {
      return map(template.get("spec"));
    }

    Map<String, Object> container() {
      List<Object> containers = list(pod().get("containers"));
      assertThat(containers).as("%s: containers", name).hasSize(1);
      return map(containers.getFirst());
    }

    /** The container port named {@code http}, or null. */
    Integer httpPort() {
      return containerPort("http");
    }

    /**
     * The container port a probe or a Service's targetPort names: a number as is, a name as the
     * container declares it; null when the container declares no such port.
     */
    Integer containerPort(Object port) {
      if (port instanceof Integer number) {
        return number;
      }
      return list(container().get("ports")).stream()
          .map(Manifests::map)
          .filter(declared -> String.valueOf(port).equals(declared.get("name")))
          .map(declared -> (Integer) declared.get("containerPort"))
          .findFirst()
          .orElse(null);
    }

    /** The container port the kubelet sends {@code probe} to. */
    Integer probePort(String probe) {
      return containerPort(at(container(), probe + ".httpGet.port"));
    }
  }

  /** The pod template of every Deployment and every Job of the base. */
  private static List<Workload> podTemplates() {
    List<Workload> templates = new ArrayList<>();
    for (String kind : List.of("Deployment", "Job")) {
      byKind(objects, kind)
          .forEach(
              (name, object) ->
                  templates.add(new Workload(name, map(at(object, "spec.template")))));
    }
    assertThat(templates).extracting(Workload::name).contains("payments-create-topics");
    return templates;
  }

  private static Workload workload(Deployable deployable) {
    Map<String, Object> deployment = byKind(objects, "Deployment").get(deployable.module);
    assertThat(deployment).as("a Deployment named %s", deployable.module).isNotNull();
    return new Workload(deployable.module, map(at(deployment, "spec.template")));
  }

  @Test
  void shouldMigrateAsTheSchemasOwnerAloneWhileEveryServiceRunsAsARoleThatChangesRowsOnly()
      throws Exception {
    Map<String, String> ownerSecretOf = new LinkedHashMap<>();
    for (Workload workload : podTemplates()) {
      Map<String, Object> variables = new LinkedHashMap<>();
      for (Object entry : list(workload.container().get("env"))) {
        variables.put(text(map(entry).get("name")), map(entry));
      }
      if (!variables.containsKey("DATABASE_USER")) {
        continue;
      }
      ownerSecretOf.put(
          workload.name(),
          text(at(map(variables.get("DATABASE_USER")), "valueFrom.secretKeyRef.name")));
      if (workload.name().equals("payments-migrate")) {
        // Then the Job runs a main its image holds, as the schema's owner
        String mainClass = text(map(variables.get("MAIN_CLASS")).get("value"));
        assertThat(Class.forName(mainClass).getMethod("main", String[].class)).isNotNull();
        assertThat(ownerSecretOf.get(workload.name())).isEqualTo("payments-database-owner");
      } else {
        // And every service with a database runs as the services' role, and does not migrate
        assertThat(ownerSecretOf.get(workload.name()))
            .as("%s: DATABASE_USER", workload.name())
            .isEqualTo("payments-database");
        assertThat(variables.get("DATABASE_MIGRATE"))
            .as("%s: DATABASE_MIGRATE", workload.name())
            .isNotNull();
        assertThat(text(map(variables.get("DATABASE_MIGRATE")).get("value")))
            .as("%s: DATABASE_MIGRATE", workload.name())
            .isEqualTo("false");
      }
    }
    assertThat(ownerSecretOf)
        .containsKeys(
            "payments-migrate",
            "checkout-api",
            "payment-processor",
            "refund-worker",
            "promotion-expirer",
            "payment-risk");
    // And the example Secrets name two different roles
    Map<String, Map<String, String>> examples = exampleSecrets();
    assertThat(examples.get("payments-database").get("user"))
        .isNotEqualTo(examples.get("payments-database-owner").get("user"));
  }

  @Test
  void shouldConfigureEachWorkloadWhenItsConfigMapAndSecretReferencesResolve() {
    for (Deployable deployable : Deployable.values()) {
      // Given the environment the manifest gives the container, references resolved
      Workload workload = workload(deployable);
      Map<String, String> env = environment(workload);
      RecordingEnv recording = new RecordingEnv(env);

      // When the service reads its configuration as its Main does
      int[] port = new int[2];
      assertThatCode(
              () -> {
                port[0] = deployable.configuredPort(recording.env());
                port[1] = deployable.metricsPort(recording.env());
              })
          .as("%s with its manifest's environment %s", deployable.module, env.keySet())
          .doesNotThrowAnyException();

      // Then every variable is read, and it is the same set compose gives the service
      assertThat(recording.unread())
          .as("%s: variables set but never read", deployable.module)
          .isEmpty();
      assertThat(new TreeSet<>(env.keySet()))
          .as("%s: the same variables as in docker-compose.yml", deployable.module)
          .isEqualTo(new TreeSet<>(composeEnvironment(deployable.module).keySet()));
      // And it serves on its container port, and Prometheus is told to scrape the port of its
      // metrics (the admin port: for the gateway and the API, not the public one), declared by the
      // container
      Map<String, String> annotations = strings(at(workload.template(), "metadata.annotations"));
      assertThat(workload.httpPort())
          .as("%s: containerPort http", deployable.module)
          .isEqualTo(port[0]);
      assertThat(annotations.get("prometheus.io/scrape"))
          .as("%s: prometheus.io/scrape", deployable.module)
          .isEqualTo("true");
      assertThat(annotations.get("prometheus.io/port"))
          .as("%s: prometheus.io/port", deployable.module)
          .isEqualTo(Integer.toString(port[1]));
      assertThat(list(workload.container().get("ports")))
          .as("%s: container ports", deployable.module)
          .anySatisfy(p -> assertThat(map(p).get("containerPort")).isEqualTo(port[1]));
      assertThat(annotations.get("prometheus.io/path"))
          .as("%s: prometheus.io/path", deployable.module)
          .isEqualTo("/metrics");
    }
  }

  @Test
  void shouldProbeEachDeploymentOnItsAdminPortWhenTheKubeletChecksIt() {
    for (Deployable deployable : Deployable.values()) {
      // Given each Deployment's probes, and the admin port its service reads from the manifest's
      // environment (health and metrics: for the workers the one port they listen on, for the
      // gateway and the API not their public one)
      Workload workload = workload(deployable);
      Map<String, Object> container = workload.container();
      int adminPort = deployable.metricsPort(Env.of(environment(workload)));

      // When the kubelet reads them
      // Then it has all three, on the paths every service serves, on that port
      assertThat(container.keySet()).as("%s: probes", deployable.module).containsAll(PROBES);
      for (String probe : PROBES) {
        Map<String, Object> get = map(at(container, probe + ".httpGet"));
        String expected = probe.equals("readinessProbe") ? "/health/ready" : "/health/live";
        assertThat(text(get.get("path")))
            .as("%s %s path", deployable.module, probe)
            .isEqualTo(expected);
        assertThat(workload.probePort(probe))
            .as("%s %s port %s", deployable.module, probe, get.get("port"))
            .isEqualTo(adminPort);
        // And waits for an answer longer than the kubelet's default second: readiness asks Kafka
        // (up to 2 s) and PostgreSQL, and a probe that times out counts as failed
        assertThat(at(container, probe + ".timeoutSeconds"))
            .as("%s %s timeoutSeconds", deployable.module, probe)
            .isInstanceOf(Integer.class);
        assertThat((Integer) at(container, probe + ".timeoutSeconds"))
            .as("%s %s timeoutSeconds", deployable.module, probe)
            .isGreaterThanOrEqualTo(probe.equals("readinessProbe") ? 5 : 3);
      }
    }
  }

  @Test
  void shouldProbeNoPortOpenToAnyoneWhenAFloodOfConnectionsHitsAPublicService() {
    Map<String, Map<String, Object>> deployments = byKind(objects, "Deployment");
    Map<String, Set<Integer>> publicPorts = new TreeMap<>();
    for (Map<String, Object> deployment : deployments.values()) {
      // Given each Deployment's pods and the ports of theirs that a Service exposes and a
      // NetworkPolicy opens to anyone but monitoring (the internet through the ingress, the
      // frontend's namespace), where a flood of slow connections, or pods holding connections,
      // can fill the server's connection limit
      Workload workload =
          new Workload(text(at(deployment, "metadata.name")), map(at(deployment, "spec.template")));
      Map<String, String> labels = strings(at(workload.template(), "metadata.labels"));
      Set<Integer> open = new TreeSet<>();
      for (Map<String, Object> policy : byKind(objects, "NetworkPolicy").values()) {
        if (selects(map(at(policy, "spec.podSelector")), labels)) {
          for (Object rule : list(at(policy, "spec.ingress"))) {
            if (!fromMonitoringOnly(map(rule))) {
              list(map(rule).get("ports")).forEach(p -> open.add((Integer) map(p).get("port")));
            }
          }
        }
      }
      Set<Integer> exposed = new TreeSet<>();
      for (Map<String, Object> service : byKind(objects, "Service").values()) {
        if (selects(Map.of("matchLabels", at(service, "spec.selector")), labels)) {
          list(at(service, "spec.ports"))
              .forEach(p -> exposed.add(workload.containerPort(map(p).get("targetPort"))));
        }
      }
      exposed.retainAll(open);
      publicPorts.put(workload.name(), exposed);

      // When the kubelet probes the pod
      // Then no probe goes to such a port: a flood there must not fail liveness and restart every
      // replica at once, nor take them all out of the Service
      for (String probe : PROBES) {
        assertThat(workload.probePort(probe))
            .as("%s %s on a public port %s", workload.name(), probe, exposed)
            .isNotNull()
            .isNotIn(exposed);
      }
    }
    // And the gateway and the API have such a port, so the check above holds for them
    assertThat(publicPorts.get(Deployable.WEBHOOK_GATEWAY.module))
        .containsExactly(workload(Deployable.WEBHOOK_GATEWAY).httpPort());
    assertThat(publicPorts.get(Deployable.CHECKOUT_API.module))
        .containsExactly(workload(Deployable.CHECKOUT_API).httpPort());
  }

  @Test
  void shouldOpenOnlyEachPodsScrapedPortToMonitoringWhenPrometheusScrapes() {
    for (Deployable deployable : Deployable.values()) {
      // Given each service's pods, the port Prometheus scrapes, and the ports they listen on
      Workload workload = workload(deployable);
      Map<String, String> labels = strings(at(workload.template(), "metadata.labels"));
      Integer scraped =
          Integer.valueOf(
              strings(at(workload.template(), "metadata.annotations")).get("prometheus.io/port"));
      Set<Integer> listening = new TreeSet<>();
      list(workload.container().get("ports"))
          .forEach(port -> listening.add((Integer) map(port).get("containerPort")));

      // When the ports the policies open to the monitoring namespace are gathered
      Set<Integer> fromMonitoring = new TreeSet<>();
      for (Map<String, Object> policy : byKind(objects, "NetworkPolicy").values()) {
        if (selects(map(at(policy, "spec.podSelector")), labels)) {
          for (Object rule : list(at(policy, "spec.ingress"))) {
            if (fromMonitoringOnly(map(rule))) {
              list(map(rule).get("ports"))
                  .forEach(port -> fromMonitoring.add((Integer) map(port).get("port")));
            }
          }
        }
      }
      fromMonitoring.retainAll(listening);

      // Then monitoring reaches the scraped port alone: the API's port (8081) takes tokens and
      // payments, and nothing in the monitoring namespace has any business there
      assertThat(fromMonitoring)
          .as("%s ports open to monitoring", deployable.module)
          .containsExactly(scraped);
    }
  }

  /** Whether an ingress rule admits the {@code monitoring} namespace's pods and no one else. */
  private static boolean fromMonitoringOnly(Map<String, Object> rule) {
    List<Object> from = list(rule.get("from"));
    return !from.isEmpty()
        && from.stream()
            .map(Manifests::map)
            .allMatch(
                peer ->
                    peer.keySet().equals(Set.of("namespaceSelector"))
                        && strings(at(peer, "namespaceSelector.matchLabels"))
                            .equals(Map.of("kubernetes.io/metadata.name", "monitoring")));
  }

  @Test
  void shouldServeTheProbePathsWhenEachDeploymentRunsWithItsManifestConfig() throws Exception {
    TestDatabase db = TestInfra.freshDatabase();
    Topics topics = TestInfra.freshTopics();
    try (HttpClient http = HttpClient.newHttpClient()) {
      for (Deployable deployable : Deployable.values()) {
        Workload workload = workload(deployable);
        // Given the manifest's environment, with this test's broker, database and a free port in
        // place of the cluster's
        Map<String, String> env = runnableHere(workload, db, topics);

        // When the service starts from it
        try (Deployable.Running running = deployable.start(new RecordingEnv(env).env())) {
          // Then every probe path of its manifest answers 200 on the port the probe names
          for (String probe : PROBES) {
            String path = text(at(workload.container(), probe + ".httpGet.path"));
            int port =
                workload.probePort(probe).equals(workload.httpPort())
                    ? running.port()
                    : running.adminPort();
            URI uri = URI.create("http://127.0.0.1:" + port + path);
            Await.until(
                Duration.ofSeconds(30),
                deployable.module + " " + probe + " " + path + " answering 200",
                () -> status(http, uri) == 200);
          }
        }
      }
    }
  }

  @Test
  void shouldRunEveryPodAsNonRootWithResourcesWhenScheduled() {
    int imageUser = DockerfileConsistencyTest.imageUser();
    for (Workload workload : podTemplates()) {
      // Given each pod of the base: every Deployment's and every Job's
      Map<String, Object> pod = workload.pod();
      Map<String, Object> container = workload.container();

      // When it is scheduled
      // Then it runs as a non-root user: for the services, the image's
      assertThat(at(pod, "securityContext.runAsNonRoot"))
          .as("%s runAsNonRoot", workload.name())
          .isEqualTo(true);
      assertThat(at(pod, "securityContext.runAsUser"))
          .as("%s runAsUser", workload.name())
          .isInstanceOf(Integer.class)
          .isNotEqualTo(0);
      if (byKind(objects, "Deployment").containsKey(workload.name())) {
        assertThat(at(pod, "securityContext.runAsUser"))
            .as("%s runAsUser", workload.name())
            .isEqualTo(imageUser);
      }
      assertThat(at(pod, "securityContext.seccompProfile.type"))
          .as("%s seccompProfile", workload.name())
          .isEqualTo("RuntimeDefault");
      // And holds no token for the Kubernetes API, which nothing of ours calls
      assertThat(pod.get("automountServiceAccountToken"))
          .as("%s automountServiceAccountToken", workload.name())
          .isEqualTo(false);
      // And cannot gain privileges or write to its image; the JVM gets a writable /tmp
      assertThat(at(container, "securityContext.allowPrivilegeEscalation"))
          .as("%s allowPrivilegeEscalation", workload.name())
          .isEqualTo(false);
      assertThat(at(container, "securityContext.readOnlyRootFilesystem"))
          .as("%s readOnlyRootFilesystem", workload.name())
          .isEqualTo(true);
      assertThat(list(at(container, "securityContext.capabilities.drop")))
          .as("%s capabilities dropped", workload.name())
          .containsExactly("ALL");
      assertThat(list(container.get("volumeMounts")).stream().map(Manifests::map))
          .as("%s mounts a writable /tmp", workload.name())
          .anyMatch(mount -> "/tmp".equals(mount.get("mountPath")));
      // And asks for CPU and memory, with a memory limit
      assertThat(at(container, "resources.requests.cpu"))
          .as("%s cpu request", workload.name())
          .isNotNull();
      assertThat(at(container, "resources.requests.memory"))
          .as("%s memory request", workload.name())
          .isNotNull();
      assertThat(at(container, "resources.limits.memory"))
          .as("%s memory limit", workload.name())
          .isNotNull();
    }
  }

  @Test
  void shouldLeaveTheJvmRoomBesideItsHeapWhenAPodReachesItsMemoryLimit() {
    // Given the share of a container's memory the image gives the Java heap
    Matcher percentage =
        Pattern.compile("-XX:MaxRAMPercentage=(\\d+(?:\\.\\d+)?)")
            .matcher(Manifests.read("Dockerfile"));
    assertThat(percentage.find()).as("-XX:MaxRAMPercentage in the Dockerfile").isTrue();
    double share = Double.parseDouble(percentage.group(1)) / 100;
    Set<String> checked = new TreeSet<>();
    for (Workload workload : podTemplates()) {
      // and each pod of the base that runs one of our images (the services, the migration Job),
      // with its memory limit
      if (!text(workload.container().get("image")).contains("/marketplace-payments/")) {
        continue;
      }
      long limit = memoryBytes(text(at(workload.container(), "resources.limits.memory")));

      // When its heap has grown to the most the JVM allows it, and the risk service's RocksDB
      // stores to their budget (native memory, outside the heap)
      long heap = (long) (limit * share);
      long besideHeap = JVM_BESIDE_HEAP;
      if (workload.name().equals(Deployable.PAYMENT_RISK.module)) {
        besideHeap +=
            RiskConfig.fromEnv(new RecordingEnv(environment(workload)).env()).storeMemoryBytes();
      }

      // Then heap and the rest fit within the limit: past it the kernel kills the process
      // (OOMKilled) before the heap is full, with no OutOfMemoryError, heap dump or log line
      assertThat(heap + besideHeap)
          .as(
              "%s: a heap of %d MiB (%s of %s) and %d MiB beside it",
              workload.name(),
              heap >> 20,
              percentage.group(1) + "%",
              at(workload.container(), "resources.limits.memory"),
              besideHeap >> 20)
          .isLessThanOrEqualTo(limit);
      checked.add(workload.name());
    }
    assertThat(checked)
        .contains("payments-migrate")
        .containsAll(Stream.of(Deployable.values()).map(d -> d.module).toList());
  }

  /** A Kubernetes memory quantity in bytes (Ki, Mi, Gi; k, M, G; or plain bytes). */
  private static long memoryBytes(String quantity) {
    Matcher matcher = Pattern.compile("^(\\d+)(Ki|Mi|Gi|k|M|G)?$").matcher(quantity);
    assertThat(matcher.matches()).as("memory quantity %s", quantity).isTrue();
    long value = Long.parseLong(matcher.group(1));
    return switch (matcher.group(2) == null ? "" : matcher.group(2)) {
      case "Ki" -> value << 10;
      case "Mi" -> value << 20;
      case "Gi" -> value << 30;
      case "k" -> value * 1_000;
      case "M" -> value * 1_000_000;
      case "G" -> value * 1_000_000_000;
      default -> value;
    };
  }

  @Test
  void shouldKeepEveryWritableVolumeWithinItsSizeWhenAPodWritesToIt() throws IOException {
    // Given the native library the risk service's JVM extracts to /tmp at every start (RocksDB's,
    // from the jar the service runs with); a container restarted after being killed keeps its
    // emptyDir, and the copies its earlier starts left there
    long rocksDbLibrary;
    try (java.util.zip.ZipFile jar =
        new java.util.zip.ZipFile(
            Path.of(
                    org.rocksdb.RocksDB.class
                        .getProtectionDomain()
                        .getCodeSource()
                        .getLocation()
                        .getPath())
                .toFile())) {
      rocksDbLibrary = jar.getEntry("librocksdbjni-linux64.so").getSize();
    }
    Set<String> checked = new TreeSet<>();
    for (Workload workload : podTemplates()) {
      Map<String, String> mountedAt = new TreeMap<>();
      for (Object mount : list(workload.container().get("volumeMounts"))) {
        mountedAt.put(text(map(mount).get("name")), text(map(mount).get("mountPath")));
      }
      for (Object entry : list(at(workload.template(), "spec.volumes"))) {
        Map<String, Object> volume = map(entry);
        if (!volume.containsKey("emptyDir")) {
          continue;
        }
        // When the pod writes to each of its emptyDir volumes
        String name = workload.name() + " volume " + volume.get("name");
        Map<String, Object> emptyDir = map(volume.get("emptyDir"));
        String limit = text(emptyDir.get("sizeLimit"));

        // Then the volume has a size, past which the kubelet evicts the pod rather than let it
        // fill the node's disk (a disk shared with every other pod of the node, and its logs)
        assertThat(limit).as("%s sizeLimit", name).isNotNull();
        long bytes = memoryBytes(limit);
        if ("/tmp".equals(mountedAt.get(text(volume.get("name"))))) {
          // And /tmp holds what a JVM writes there, a few starts over, and no more
          assertThat(bytes).as("%s sizeLimit", name).isBetween(16L << 20, 256L << 20);
          if (workload.name().equals(Deployable.PAYMENT_RISK.module)) {
            assertThat(bytes).as("%s sizeLimit", name).isGreaterThanOrEqualTo(4 * rocksDbLibrary);
          }
        }
        // And a file holding a secret (the topics Job's client settings, with its SASL password)
        // is written to memory, never to the node's disk; within the container's memory limit
        if (workload.name().equals("payments-create-topics")) {
          assertThat(emptyDir.get("medium")).as("%s medium", name).isEqualTo("Memory");
        }
        if ("Memory".equals(emptyDir.get("medium"))) {
          assertThat(bytes)
              .as("%s in memory", name)
              .isLessThanOrEqualTo(
                  memoryBytes(text(at(workload.container(), "resources.limits.memory"))) / 8);
        }
        checked.add(name);
      }
    }
    assertThat(checked).contains("payment-risk volume state", "payments-migrate volume tmp");
  }

  @Test
  void shouldKeepServingUntilRoutedAwayWhenAPodBehindAServiceStops() {
    // Given the Deployments a Service routes requests to
    Set<String> served = new TreeSet<>();
    for (Map<String, Object> service : byKind(objects, "Service").values()) {
      byKind(objects, "Deployment")
          .forEach(
              (name, deployment) -> {
                if (selects(
                    Map.of("matchLabels", at(service, "spec.selector")),
                    strings(at(deployment, "spec.template.metadata.labels")))) {
                  served.add(name);
                }
              });
    }
    assertThat(served).contains(Deployable.WEBHOOK_GATEWAY.module, Deployable.CHECKOUT_API.module);
    // and the gateway's close: requests that wait for the broker get up to ACK_TIMEOUT and a
    // second, then the producer flushes for up to ACK_TIMEOUT
    long close =
        EventPublisher.ACK_TIMEOUT.plusSeconds(1).plus(EventPublisher.ACK_TIMEOUT).toSeconds();
    for (String name : served) {
      Workload workload =
          new Workload(name, map(at(byKind(objects, "Deployment").get(name), "spec.template")));

      // When one of its pods is deleted, while the endpoints and the proxies still route to it
      List<Object> command = list(at(workload.container(), "lifecycle.preStop.exec.command"));

      // Then it keeps serving a few seconds before the SIGTERM that closes its server
      assertThat(command).as("%s preStop", name).hasSize(2).first().isEqualTo("sleep");
      int pause = Integer.parseInt(text(command.get(1)));
      assertThat(pause).as("%s preStop sleep", name).isBetween(3, 15);
      // And its grace period covers the pause and the close
      assertThat((Integer) at(workload.pod(), "terminationGracePeriodSeconds"))
          .as("%s terminationGracePeriodSeconds", name)
          .isGreaterThan((int) (pause + close));
    }
    // And the image has sleep: its base is eclipse-temurin's JRE (Ubuntu), not a distroless one
    assertThat(Manifests.read("Dockerfile"))
        .containsPattern("ARG JRE_IMAGE=docker.io/library/eclipse-temurin:\\d+-jre\\n")
        .doesNotContain("distroless");
  }

  @Test
  void shouldLetEachServiceReachOnlyWhatItCallsWhenEgressIsFiltered() {
    // Given the network policies of the base
    List<Map<String, Object>> policies = List.copyOf(byKind(objects, "NetworkPolicy").values());

    // When the egress allowed to each service's pods is gathered
    // Then egress is denied by default
    assertThat(policies)
        .anyMatch(
            p ->
                map(at(p, "spec.podSelector")).isEmpty()
                    && list(at(p, "spec.policyTypes")).contains("Egress")
                    && !map(p.get("spec")).containsKey("egress"));
    Set<String> callStripe = Set.of("checkout-api", "refund-worker");
    for (Deployable deployable : Deployable.values()) {
      Map<String, String> labels = strings(at(workload(deployable).template(), "metadata.labels"));
      List<Integer> ports = new ArrayList<>();
      boolean internet = false;
      for (Map<String, Object> policy : policies) {
        if (!selects(map(at(policy, "spec.podSelector")), labels)) {
          continue;
        }
        for (Object rule : list(at(policy, "spec.egress"))) {
          for (Object port : list(map(rule).get("ports"))) {
            ports.add((Integer) map(port).get("port"));
          }
          internet |=
              list(map(rule).get("to")).stream().anyMatch(to -> map(to).containsKey("ipBlock"));
        }
      }
      // And every service resolves names and reaches Kafka
      assertThat(ports).as("%s egress ports", deployable.module).contains(53, 9092);
      // And only the services with a database reach PostgreSQL
      boolean database = names(workload(deployable)).contains("DATABASE_URL");
      assertThat(ports.contains(5432))
          .as("%s reaches PostgreSQL", deployable.module)
          .isEqualTo(database);
      // And only the services that call Stripe leave the cluster, on HTTPS
      boolean stripe = callStripe.contains(deployable.module);
      assertThat(internet).as("%s leaves the cluster", deployable.module).isEqualTo(stripe);
      assertThat(ports.contains(443)).as("%s reaches HTTPS", deployable.module).isEqualTo(stripe);
      assertThat(stripe)
          .as("%s has STRIPE_SECRET_KEY", deployable.module)
          .isEqualTo(names(workload(deployable)).contains("STRIPE_SECRET_KEY"));
      // And its Kafka clients take SASL and TLS settings from its own optional Secrets: a principal
      // of its own, whose ACLs allow its topics only
      assertThat(kafkaSecret(workload(deployable)))
          .as("%s Kafka credentials", deployable.module)
          .isEqualTo("payments-kafka-" + deployable.module);
      assertThat(kafkaTlsSecret(workload(deployable)))
          .as("%s Kafka stores", deployable.module)
          .isEqualTo("payments-kafka-tls-" + deployable.module);
      assertThat(list(workload(deployable).container().get("envFrom")))
          .as("%s envFrom", deployable.module)
          .anyMatch(from -> Boolean.TRUE.equals(at(map(from), "secretRef.optional")));
    }
  }

  @Test
  void shouldLetEveryPodReachOnlyWhatItsEnvironmentNamesWhenEgressIsFiltered() {
    // Given every pod of the base, the Jobs' too (the migration holds the schema owner's password),
    // and the network policies
    List<Map<String, Object>> policies = List.copyOf(byKind(objects, "NetworkPolicy").values());
    for (Workload workload : podTemplates()) {
      Map<String, String> labels = strings(at(workload.template(), "metadata.labels"));
      Set<String> variables = names(workload);

      // When the egress ports its policies allow are gathered
      Set<Integer> ports = new TreeSet<>();
      for (Map<String, Object> policy : policies) {
        if (selects(map(at(policy, "spec.podSelector")), labels)) {
          for (Object rule : list(at(policy, "spec.egress"))) {
            list(map(rule).get("ports")).forEach(p -> ports.add((Integer) map(p).get("port")));
          }
        }
      }

      // Then it resolves names, and reaches Kafka, PostgreSQL and HTTPS outside the cluster only
      // when its environment says it talks to them
      assertThat(ports).as("%s egress ports", workload.name()).contains(53);
      assertThat(ports.contains(9092))
          .as("%s reaches Kafka", workload.name())
          .isEqualTo(variables.contains("KAFKA_BOOTSTRAP_SERVERS"));
      assertThat(ports.contains(5432))
          .as("%s reaches PostgreSQL", workload.name())
          .isEqualTo(variables.contains("DATABASE_URL"));
      assertThat(ports.contains(443))
          .as("%s reaches HTTPS", workload.name())
          .isEqualTo(variables.contains("STRIPE_SECRET_KEY"));
    }
  }

  @Test
  void shouldReachKafkaOnlyOnTheBootstrapPortsWhenEgressIsFiltered() {
    // Given where the clients find the brokers, in the base (staging) and in production: the
    // namespaces and ports of KAFKA_BOOTSTRAP_SERVERS (<service>.<namespace>.svc:<port>)
    for (Map<String, String> config : List.of(configMap(), productionConfigMap())) {
      String bootstrap = config.get("KAFKA_BOOTSTRAP_SERVERS");
      Set<String> namespaces = new TreeSet<>();
      Set<Integer> bootstrapPorts = new TreeSet<>();
      for (String server : bootstrap.split(",")) {
        Matcher address =
            Pattern.compile("^[a-z0-9-]+\\.([a-z0-9-]+)\\.svc[a-z.]*:(\\d+)$")
                .matcher(server.strip());
        assertThat(address.matches()).as("bootstrap server %s", server).isTrue();
        namespaces.add(address.group(1));
        bootstrapPorts.add(Integer.parseInt(address.group(2)));
      }

      // When the egress the payments pods are allowed into the brokers' namespace is gathered
      Set<Integer> kafkaPorts = new TreeSet<>();
      for (Map<String, Object> policy : byKind(objects, "NetworkPolicy").values()) {
        for (Object rule : list(at(policy, "spec.egress"))) {
          boolean toBrokers =
              list(map(rule).get("to")).stream()
                  .anyMatch(
                      peer ->
                          namespaces.contains(
                              strings(at(map(peer), "namespaceSelector.matchLabels"))
                                  .getOrDefault("kubernetes.io/metadata.name", "")));
          if (!toBrokers) {
            continue;
          }
          List<Object> ports = list(map(rule).get("ports"));
          assertThat(ports)
              .as(
                  "%s: a rule into %s without ports opens every port",
                  at(policy, "metadata.name"), namespaces)
              .isNotEmpty();
          ports.forEach(p -> kafkaPorts.add((Integer) map(p).get("port")));
        }
      }

      // Then it is the brokers' client ports alone: any pod of ours may be an attacker's, and
      // another port of that namespace is another listener (9093 is the KRaft controllers' in
      // Kafka's own example configuration and in docker-compose.yml), which the clients never use
      assertThat(kafkaPorts)
          .as("egress ports into %s, for bootstrap servers %s", namespaces, bootstrap)
          .isEqualTo(bootstrapPorts);
    }
  }

  @Test
  void shouldReachOnlyTheDatabaseItsEnvironmentNamesWhenEgressIsFiltered() {
    // Given each environment's DATABASE_URL and the egress it allows to PostgreSQL: the base's
    // (staging) and production's, which the overlay sets itself rather than inherit the base's
    Map<String, Object> basePolicy = byKind(objects, "NetworkPolicy").get(DATABASE_POLICY);
    Map<String, Object> productionPolicy = productionObject("NetworkPolicy", DATABASE_POLICY);
    assertThat(list(Manifests.yaml(OVERLAY).get("patches")))
        .as("the production overlay sets the egress to its own database")
        .anyMatch(
            patch ->
                "NetworkPolicy".equals(at(map(patch), "target.kind"))
                    && DATABASE_POLICY.equals(at(map(patch), "target.name")));

    // When the policy's destination and ports are held to the server DATABASE_URL names
    // Then each admits that server alone, on its port alone
    assertThat(databaseEgressProblems(configMap().get("DATABASE_URL"), basePolicy))
        .as("base")
        .isEmpty();
    assertThat(databaseEgressProblems(productionConfigMap().get("DATABASE_URL"), productionPolicy))
        .as("production")
        .isEmpty();

    // And a managed PostgreSQL outside the cluster is told from one inside it: a namespace's pods
    // never include it, and it is admitted by its addresses (ipBlock), narrowly
    String managed =
        "jdbc:postgresql://payments.cluster-c9x2.eu-west-1.rds.amazonaws.com:6432/payments"
            + "?sslmode=verify-full";
    assertThat(databaseEgressProblems(managed, productionPolicy)).isNotEmpty();
    Map<String, Object> managedPolicy =
        databasePolicy(
            "payments.cluster-c9x2.eu-west-1.rds.amazonaws.com:6432",
            List.of(Map.of("ipBlock", Map.of("cidr", "10.40.3.0/24"))),
            6432);
    assertThat(databaseEgressProblems(managed, managedPolicy)).isEmpty();
    assertThat(
            databaseEgressProblems(
                managed,
                databasePolicy(
                    "payments.cluster-c9x2.eu-west-1.rds.amazonaws.com:6432",
                    List.of(Map.of("ipBlock", Map.of("cidr", "0.0.0.0/0"))),
                    6432)))
        .as("every address")
        .isNotEmpty();
    assertThat(
            databaseEgressProblems(
                "jdbc:postgresql://10.40.3.17/payments?sslmode=verify-full", managedPolicy))
        .as("another port")
        .isNotEmpty();
    assertThat(
            databaseEgressProblems(
                "jdbc:postgresql://10.40.9.17:6432/payments?sslmode=verify-full",
                databasePolicy(
                    "10.40.9.17:6432",
                    List.of(Map.of("ipBlock", Map.of("cidr", "10.40.3.0/24"))),
                    6432)))
        .as("an address outside the block")
        .isNotEmpty();
  }

  private static final String DATABASE_POLICY = "payments-to-postgresql";

  /** The annotation of payments-to-postgresql naming the server(s) it admits, as host:port. */
  private static final String DATABASE_ANNOTATION = "marketplace.io/database";

  /** A payments-to-postgresql policy admitting {@code peers} on {@code port}. */
  private static Map<String, Object> databasePolicy(
      String annotation, List<Object> peers, int port) {
    return Map.of(
        "metadata",
        Map.of("name", DATABASE_POLICY, "annotations", Map.of(DATABASE_ANNOTATION, annotation)),
        "spec",
        Map.of("egress", List.of(Map.of("to", peers, "ports", List.of(Map.of("port", port))))));
  }

  /**
   * Why {@code policy} does not admit exactly the PostgreSQL servers {@code databaseUrl} names, on
   * their ports alone: empty when it does. A server in the cluster ({@code
   * <service>.<namespace>.svc}) is admitted by its namespace; one named by an address, by an
   * ipBlock that holds it; one outside the cluster named by a DNS name, by ipBlocks (its addresses,
   * which only the operator knows). Every ipBlock is narrow: a /24 at most (IPv6: /120).
   */
  private static List<String> databaseEgressProblems(
      String databaseUrl, Map<String, Object> policy) {
    List<String> problems = new ArrayList<>();
    Matcher url = Pattern.compile("^jdbc:postgresql://([^/?]+)(?:[/?].*)?$").matcher(databaseUrl);
    if (!url.matches()) {
      return List.of("DATABASE_URL is not jdbc:postgresql://<host>[:<port>]/...");
    }
    Map<String, Integer> servers = new LinkedHashMap<>();
    for (String server : url.group(1).split(",")) {
      Matcher address = Pattern.compile("^(\\[[0-9a-fA-F:.]+]|[^:]+)(?::(\\d+))?$").matcher(server);
      if (!address.matches()) {
        return List.of("DATABASE_URL names a server that is not <host>[:<port>]: " + server);
      }
      servers.put(
          address.group(1), address.group(2) == null ? 5432 : Integer.parseInt(address.group(2)));
    }
    String named =
        servers.entrySet().stream()
            .map(server -> server.getKey() + ":" + server.getValue())
            .collect(Collectors.joining(","));
    String annotated = strings(at(policy, "metadata.annotations")).get(DATABASE_ANNOTATION);
    if (!named.equals(annotated)) {
      problems.add(
          "annotation %s is %s, DATABASE_URL names %s"
              .formatted(DATABASE_ANNOTATION, annotated, named));
    }
    List<Object> rules = list(at(policy, "spec.egress"));
    if (rules.size() != 1) {
      problems.add("egress has " + rules.size() + " rules, not one");
      return problems;
    }
    Map<String, Object> rule = map(rules.getFirst());
    Set<Integer> ports = new TreeSet<>();
    for (Object entry : list(rule.get("ports"))) {
      Map<String, Object> port = map(entry);
      if (port.containsKey("endPort") || !"TCP".equals(port.getOrDefault("protocol", "TCP"))) {
        problems.add("port " + port + " is more than one TCP port");
      }
      ports.add((Integer) port.get("port"));
    }
    if (!ports.equals(new TreeSet<>(servers.values()))) {
      problems.add("ports " + ports + ", DATABASE_URL's " + new TreeSet<>(servers.values()));
    }
    List<Map<String, Object>> peers = list(rule.get("to")).stream().map(Manifests::map).toList();
    if (peers.isEmpty()) {
      problems.add("a rule without `to` admits every destination");
    }
    Pattern inCluster = Pattern.compile("^[a-z0-9-]+\\.([a-z0-9-]+)\\.svc(?:\\.cluster\\.local)?$");
    Set<String> namespaces = new TreeSet<>();
    for (String host : servers.keySet()) {
      Matcher service = inCluster.matcher(host);
      if (service.matches()) {
        namespaces.add(service.group(1));
      }
    }
    for (Map<String, Object> peer : peers) {
      if (peer.containsKey("ipBlock")) {
        String cidr = text(at(peer, "ipBlock.cidr"));
        int prefix = Integer.parseInt(cidr.substring(cidr.indexOf('/') + 1));
        if (prefix < (cidr.contains(":") ? 120 : 24)) {
          problems.add("ipBlock " + cidr + " is wider than one server's subnet");
        }
        if (namespaces.size() == servers.size()) {
          problems.add("ipBlock " + cidr + " for a server inside the cluster");
        }
      } else {
        String namespace =
            strings(at(peer, "namespaceSelector.matchLabels")).get("kubernetes.io/metadata.name");
        if (!namespaces.contains(namespace)
            || strings(at(peer, "namespaceSelector.matchLabels")).size() != 1
            || at(peer, "namespaceSelector.matchExpressions") != null) {
          problems.add("peer " + peer + " is no namespace of DATABASE_URL's " + namespaces);
        }
      }
    }
    for (String host : servers.keySet()) {
      Matcher service = inCluster.matcher(host);
      boolean admitted;
      if (service.matches()) {
        admitted =
            peers.stream()
                .anyMatch(
                    peer ->
                        service
                            .group(1)
                            .equals(
                                strings(at(peer, "namespaceSelector.matchLabels"))
                                    .get("kubernetes.io/metadata.name")));
      } else if (host.matches("^[0-9.]+$") || host.startsWith("[")) {
        admitted =
            peers.stream()
                .filter(peer -> peer.containsKey("ipBlock"))
                .anyMatch(peer -> holds(text(at(peer, "ipBlock.cidr")), host));
      } else {
        // a name outside the cluster: its addresses cannot be known here
        admitted = peers.stream().anyMatch(peer -> peer.containsKey("ipBlock"));
      }
      if (!admitted) {
        problems.add("no peer admits " + host);
      }
    }
    return problems;
  }

  /** Whether the block {@code cidr} holds the address {@code host}. */
  private static boolean holds(String cidr, String host) {
    try {
      byte[] block =
          java.net.InetAddress.getByName(cidr.substring(0, cidr.indexOf('/'))).getAddress();
      byte[] address = java.net.InetAddress.getByName(host.replaceAll("^\\[|]$", "")).getAddress();
      int prefix = Integer.parseInt(cidr.substring(cidr.indexOf('/') + 1));
      if (block.length != address.length) {
        return false;
      }
      for (int bit = 0; bit < prefix; bit++) {
        int mask = 0x80 >> (bit % 8);
        if ((block[bit / 8] & mask) != (address[bit / 8] & mask)) {
          return false;
        }
      }
      return true;
    } catch (java.net.UnknownHostException e) {
      return false;
    }
  }

  /**
   * Whether a label selector (matchLabels; matchExpressions with In, NotIn, Exists, DoesNotExist)
   * selects pods with these labels.
   */
  private static boolean selects(Map<String, Object> selector, Map<String, String> labels) {
    for (Map.Entry<String, String> label : strings(selector.get("matchLabels")).entrySet()) {
      if (!label.getValue().equals(labels.get(label.getKey()))) {
        return false;
      }
    }
    for (Object expression : list(selector.get("matchExpressions"))) {
      Map<String, Object> e = map(expression);
      String value = labels.get(text(e.get("key")));
      boolean matches =
          switch (text(e.get("operator"))) {
            case "In" -> list(e.get("values")).contains(value);
            case "NotIn" -> !list(e.get("values")).contains(value);
            case "Exists" -> value != null;
            case "DoesNotExist" -> value == null;
            default -> throw new AssertionError("unexpected selector " + e);
          };
      if (!matches) {
        return false;
      }
    }
    return true;
  }

  @Test
  void shouldCreateNoSecretWhenTheBaseOrTheOverlayIsApplied() {
    // Given the files the base and the production overlay build from
    List<Object> overlayResources = list(Manifests.yaml(OVERLAY).get("resources"));

    // When their objects are listed
    // Then none is a Secret: a placeholder can never be applied over a real value
    assertThat(byKind(objects, "Secret")).as("Secrets created by the base").isEmpty();
    assertThat(overlayResources).containsExactly("../../base");
    assertThat(Manifests.read(OVERLAY))
        .doesNotContain("secretGenerator")
        .doesNotContain("kind: Secret");
    // And the example of the Secrets lies outside every build
    assertThat(list(Manifests.yaml("k8s/base/kustomization.yaml").get("resources")))
        .noneMatch(file -> text(file).contains("secret"));
  }

  @Test
  void shouldRefuseToStartWhenAServiceIsGivenTheExampleSecrets() {
    // Given the example file's placeholder values
    Map<String, Map<String, String>> examples = exampleSecrets();
    for (Deployable deployable : Deployable.values()) {
      Workload workload = workload(deployable);
      Map<String, String> env = environment(workload);
      for (Object entry : list(workload.container().get("env"))) {
        Map<String, Object> variable = map(entry);
        Object secretRef = at(variable, "valueFrom.secretKeyRef");
        String name = text(variable.get("name"));
        if (secretRef == null) {
          continue;
        }
        // (every Secret and key the base references is in the example)
        Map<String, String> example = examples.get(text(map(secretRef).get("name")));
        assertThat(example)
            .as("%s %s: Secret in %s", deployable.module, name, EXAMPLE_SECRETS)
            .isNotNull();
        String placeholder = example.get(text(map(secretRef).get("key")));
        assertThat(placeholder)
            .as("%s %s: key in %s", deployable.module, name, EXAMPLE_SECRETS)
            .isNotNull();
        if (!SECRET_VARIABLES.contains(name)) {
          continue;
        }
        // When the service reads its configuration with that one placeholder in place
        Map<String, String> withPlaceholder = new LinkedHashMap<>(env);
        withPlaceholder.put(name, placeholder);

        // Then it refuses to start with one line naming the variable, never the value
        assertThat(SecretCheck.weakness(placeholder)).as("%s is a placeholder", name).isPresent();
        assertThatThrownBy(() -> deployable.configuredPort(Env.of(withPlaceholder)))
            .as("%s with the example %s", deployable.module, name)
            .isInstanceOf(InvalidConfigException.class)
            .hasMessageStartingWith("invalid environment variable " + name + ":")
            .hasMessageNotContaining(placeholder);
      }
    }
  }

  @Test
  void shouldRefuseToStartWhenAClusterServiceIsGivenTheSecretsComposePublishes() {
    // Given the secrets docker-compose.yml gives each service: random, so that compose starts, but
    // anyone who reads the repository has them (a gateway open to the internet on that webhook
    // secret takes forged events; an API on that JWT key, anyone's super_admin token)
    Map<String, String> production = productionConfigMap();
    for (Deployable deployable : Deployable.values()) {
      Map<String, String> compose = composeEnvironment(deployable.module);
      Workload productionWorkload =
          new Workload(
              deployable.module, map(at(productionDeployment(deployable.module), "spec.template")));
      Map<String, String> productionEnv =
          new LinkedHashMap<>(environment(productionWorkload, production));
      productionEnv.putAll(productionKafkaCredentials());
      // and the environments of a cluster: the base's (staging) and the production overlay's
      for (Map<String, String> env : List.of(environment(workload(deployable)), productionEnv)) {
        for (String name : SECRET_VARIABLES) {
          if (!env.containsKey(name)) {
            continue;
          }
          String published = compose.get(name);
          assertThat(published)
              .as("%s %s in docker-compose.yml", deployable.module, name)
              .isNotNull();
          Map<String, String> withPublished = new LinkedHashMap<>(env);
          withPublished.put(name, published);

          // When the service reads its configuration with that one value in place
          Throwable refusal =
              catchThrowable(() -> deployable.configuredPort(Env.of(withPublished)));

          // Then it refuses to start with one line naming the variable, never the value
          assertThat(refusal)
              .as(
                  "%s (PAYMENTS_ENVIRONMENT=%s) with compose's %s",
                  deployable.module, env.get("PAYMENTS_ENVIRONMENT"), name)
              .isInstanceOf(InvalidConfigException.class)
              .hasMessageStartingWith("invalid environment variable " + name + ":")
              .hasMessageNotContaining(published);
        }
      }
    }
  }

  @Test
  void shouldReadStripeCredentialsFromTheSecretOfTheSystemWeReplaceWhenServicesStart() {
    // Given the Secrets the base references
    Map<String, Map<String, String>> secrets = secrets();

    // When the services' references into them are resolved
    // Then the Stripe secret keeps its name and keys
    assertThat(secrets).containsKey("homepage-stripe-credentials");
    assertThat(secrets.get("homepage-stripe-credentials").keySet())
        .containsExactlyInAnyOrder("secret-key", "webhook-secret");
    // And the services read their Stripe credentials from it, never from a plain value
    Map<String, String> expected =
        Map.of("STRIPE_WEBHOOK_SECRET", "webhook-secret", "STRIPE_SECRET_KEY", "secret-key");
    for (Deployable deployable : Deployable.values()) {
      for (Object entry : list(workload(deployable).container().get("env"))) {
        Map<String, Object> variable = map(entry);
        String name = text(variable.get("name"));
        if (expected.containsKey(name)) {
          assertThat(text(at(variable, "valueFrom.secretKeyRef.name")))
              .as("%s %s", deployable.module, name)
              .isEqualTo("homepage-stripe-credentials");
          assertThat(text(at(variable, "valueFrom.secretKeyRef.key")))
              .isEqualTo(expected.get(name));
        }
      }
    }
    assertThat(names(workload(Deployable.WEBHOOK_GATEWAY))).contains("STRIPE_WEBHOOK_SECRET");
    assertThat(names(workload(Deployable.CHECKOUT_API))).contains("STRIPE_SECRET_KEY");
    assertThat(names(workload(Deployable.REFUND_WORKER))).contains("STRIPE_SECRET_KEY");
    // And the gateway gets no credential it does not need
    assertThat(names(workload(Deployable.WEBHOOK_GATEWAY)))
        .doesNotContain(
            "DATABASE_USER", "DATABASE_PASSWORD", "STRIPE_SECRET_KEY", "AUTH_JWT_SECRET");
  }

  @Test
  void shouldScaleAndExposeOnlyTheGatewayWhenAutoscalerAndPoliciesApply() {
    Map<String, Map<String, Object>> deployments = byKind(objects, "Deployment");
    int gatewayPort = workload(Deployable.WEBHOOK_GATEWAY).httpPort();
    int apiPort = workload(Deployable.CHECKOUT_API).httpPort();

    // Given the Deployments, autoscalers, policies, budgets and Services of the base
    // When they are matched by name, labels and ports
    // Then an autoscaler scales the gateway Deployment
    Map<String, Map<String, Object>> autoscalers = byKind(objects, "HorizontalPodAutoscaler");
    assertThat(autoscalers.values())
        .anyMatch(
            hpa ->
                "Deployment".equals(at(hpa, "spec.scaleTargetRef.kind"))
                    && "webhook-gateway".equals(at(hpa, "spec.scaleTargetRef.name"))
                    && (Integer) at(hpa, "spec.minReplicas") >= 2
                    && (Integer) at(hpa, "spec.maxReplicas")
                        > (Integer) at(hpa, "spec.minReplicas"));
    autoscalers
        .values()
        .forEach(
            hpa -> assertThat(deployments).containsKey(text(at(hpa, "spec.scaleTargetRef.name"))));
    // And a Deployment an autoscaler scales leaves its count to it: no replicas in the base, none
    // set by the production overlay, so that an apply never resets what the autoscaler chose
    for (Map<String, Object> hpa : autoscalers.values()) {
      String target = text(at(hpa, "spec.scaleTargetRef.name"));
      assertThat(map(at(deployments.get(target), "spec")))
          .as("%s, scaled by its autoscaler, sets replicas", target)
          .doesNotContainKey("replicas");
      assertThat(map(at(productionDeployment(target), "spec")))
          .as("%s in production", target)
          .doesNotContainKey("replicas");
    }
    // And every disruption budget lets a drain take one pod at a time, whatever the replica count
    for (Map<String, Object> pdb : byKind(objects, "PodDisruptionBudget").values()) {
      assertThat(map(pdb.get("spec")))
          .as("PodDisruptionBudget %s", at(pdb, "metadata.name"))
          .containsEntry("maxUnavailable", 1)
          .doesNotContainKey("minAvailable");
    }

    // And ingress is denied by default, open from anywhere to the gateway's port only
    Map<String, Map<String, Object>> policies = byKind(objects, "NetworkPolicy");
    assertThat(policies.values())
        .anyMatch(
            p ->
                map(at(p, "spec.podSelector")).isEmpty()
                    && !map(p.get("spec")).containsKey("ingress"));
    List<Map<String, Object>> open = new ArrayList<>();
    for (Map<String, Object> policy : policies.values()) {
      for (Object rule : list(at(policy, "spec.ingress"))) {
        if (!map(rule).containsKey("from")) {
          open.add(policy);
        }
      }
    }
    assertThat(open).as("policies open to anyone").hasSize(1);
    assertThat(strings(at(open.getFirst(), "spec.podSelector.matchLabels")))
        .isEqualTo(strings(at(deployments.get("webhook-gateway"), "spec.selector.matchLabels")));
    assertThat(ports(open.getFirst())).containsExactly(gatewayPort);
    // And the API is reachable on its own port, every admin port from monitoring
    assertThat(policies.values())
        .anyMatch(
            p ->
                strings(at(p, "spec.podSelector.matchLabels"))
                        .equals(
                            strings(
                                at(deployments.get("checkout-api"), "spec.selector.matchLabels")))
                    && ports(p).contains(apiPort));
    // And the frontend's namespace reaches the API's port only, not the admin port its metrics
    // (payment counts, route latencies) and probes are on
    Map<String, String> apiLabels =
        strings(at(workload(Deployable.CHECKOUT_API).template(), "metadata.labels"));
    Set<Integer> fromFrontend = new TreeSet<>();
    for (Map<String, Object> policy : policies.values()) {
      if (!selects(map(at(policy, "spec.podSelector")), apiLabels)) {
        continue;
      }
      for (Object rule : list(at(policy, "spec.ingress"))) {
        boolean frontend =
            list(map(rule).get("from")).stream()
                .anyMatch(
                    peer ->
                        "true"
                            .equals(
                                strings(at(map(peer), "namespaceSelector.matchLabels"))
                                    .get("marketplace.io/frontend")));
        if (frontend) {
          list(map(rule).get("ports")).forEach(p -> fromFrontend.add((Integer) map(p).get("port")));
        }
      }
    }
    assertThat(fromFrontend).as("checkout-api ports the frontend reaches").containsExactly(apiPort);
    Set<Integer> scrapedPorts =
        Stream.of(Deployable.values())
            .map(KubernetesConsistencyTest::workload)
            .map(
                workload ->
                    Integer.valueOf(
                        strings(at(workload.template(), "metadata.annotations"))
                            .get("prometheus.io/port")))
            .collect(Collectors.toSet());
    assertThat(policies.values()).anyMatch(p -> new TreeSet<>(ports(p)).containsAll(scrapedPorts));

    // And every disruption budget and Service selects the pods of a Deployment, on a named port
    for (String kind : List.of("PodDisruptionBudget", "Service")) {
      for (Map<String, Object> object : byKind(objects, kind).values()) {
        Map<String, Object> selector =
            kind.equals("Service")
                ? Map.of("matchLabels", at(object, "spec.selector"))
                : map(at(object, "spec.selector"));
        assertThat(deployments.values())
            .as("%s %s selects a Deployment's pods", kind, at(object, "metadata.name"))
            .anyMatch(d -> selects(selector, strings(at(d, "spec.template.metadata.labels"))));
      }
    }
    for (Map<String, Object> service : byKind(objects, "Service").values()) {
      for (Object port : list(at(service, "spec.ports"))) {
        assertThat(map(port).get("targetPort")).isEqualTo("http");
      }
    }
  }

  @Test
  void shouldSpreadEachDeploymentsPodsOverNodesAndZonesWhenTheSchedulerPlacesThem() {
    Map<String, Map<String, Object>> deployments = byKind(objects, "Deployment");

    // Given every Deployment of the base and of the production overlay
    // When the scheduler places its replicas
    // Then it spreads them one by one over nodes and over zones, counting that Deployment's pods
    // alone (the scheduler's default allows three of them on one node), softly so that a cluster
    // of one node or zone still runs them all
    assertThat(deployments).isNotEmpty();
    for (String name : deployments.keySet()) {
      for (Map<String, Object> deployment :
          List.of(deployments.get(name), productionDeployment(name))) {
        Map<String, String> ownLabels = strings(at(deployment, "spec.template.metadata.labels"));
        Map<String, Map<String, Object>> byTopology = new TreeMap<>();
        for (Object constraint :
            list(at(deployment, "spec.template.spec.topologySpreadConstraints"))) {
          byTopology.put(text(map(constraint).get("topologyKey")), map(constraint));
        }
        assertThat(byTopology)
            .as("%s spreads over", name)
            .containsKeys("kubernetes.io/hostname", "topology.kubernetes.io/zone");
        for (Map<String, Object> constraint : byTopology.values()) {
          assertThat(constraint)
              .as("%s spread over %s", name, constraint.get("topologyKey"))
              .containsEntry("maxSkew", 1)
              .containsEntry("whenUnsatisfiable", "ScheduleAnyway");
          Map<String, Object> selector = map(constraint.get("labelSelector"));
          assertThat(selects(selector, ownLabels)).as("%s counts its own pods", name).isTrue();
          for (String other : deployments.keySet()) {
            if (!other.equals(name)) {
              assertThat(
                      selects(
                          selector,
                          strings(at(deployments.get(other), "spec.template.metadata.labels"))))
                  .as("%s counts the pods of %s", name, other)
                  .isFalse();
            }
          }
        }
      }
    }
  }

  @Test
  void shouldPassOnItsOwnScheduleWhenTheExpirerRunsAsADeployment() {
    // Given the expirer's Deployment and the ExpirerNotRun alert's threshold
    Workload expirer = workload(Deployable.PROMOTION_EXPIRER);
    Map<String, String> env = environment(expirer);
    Matcher threshold =
        Pattern.compile("> (\\d+) \\* 3600").matcher(expirerAlerts().get("ExpirerNotRun"));
    assertThat(threshold.find()).as("ExpirerNotRun's threshold in hours").isTrue();
    Duration alertAfter = Duration.ofHours(Integer.parseInt(threshold.group(1)));

    // When the expirer reads its configuration as its Main does
    Schedule schedule = ExpirerConfig.fromEnv(new RecordingEnv(env).env()).schedule();

    // Then it runs as the service that keeps its own schedule, not as a pass that exits: no
    // arguments, and no CronJob in the base (a pod that passes and exits is never scraped, so the
    // expirer alerts could not see it)
    assertThat(list(expirer.container().get("command"))).isEmpty();
    assertThat(list(expirer.container().get("args"))).isEmpty();
    assertThat(byKind(objects, "CronJob")).isEmpty();
    // And its manifest sets the schedule, with passes close enough together that a late or retried
    // pass still comes before ExpirerNotRun fires
    assertThat(env.keySet()).containsAnyOf(Schedule.TIME_VARIABLE, Schedule.INTERVAL_VARIABLE);
    Instant day = Instant.parse("2026-03-10T00:00:00Z");
    for (int minute = 0; minute < 24 * 60; minute += 15) {
      Instant lastStart = day.plus(Duration.ofMinutes(minute));
      assertThat(Duration.between(lastStart, schedule.nextDue(lastStart)))
          .as("%s: time to the pass after one that started at %s", schedule, lastStart)
          .isPositive()
          .isLessThanOrEqualTo(alertAfter.minusHours(2));
    }
    // And a disruption budget keeps one replica passing while nodes are drained
    assertThat(byKind(objects, "PodDisruptionBudget").values())
        .anyMatch(
            pdb ->
                selects(
                    map(at(pdb, "spec.selector")),
                    strings(at(expirer.template(), "metadata.labels"))));
  }

  @Test
  void shouldExportWhatItsAlertsReadWhenTheExpirerRunsFromItsManifest() throws Exception {
    // Given the series the expirer's alerts read
    Set<String> alerted = new TreeSet<>();
    for (String expression : expirerAlerts().values()) {
      Matcher metric = Pattern.compile("\\bpayments_[a-z0-9_]+\\b").matcher(expression);
      while (metric.find()) {
        alerted.add(metric.group());
      }
    }
    assertThat(alerted).isNotEmpty();
    // and the expirer started from its Deployment's environment, on a database where no pass ever
    // ran (so one is due at once)
    Workload expirer = workload(Deployable.PROMOTION_EXPIRER);
    Map<String, String> env =
        runnableHere(expirer, TestInfra.freshDatabase(), TestInfra.freshTopics());
    String path = strings(at(expirer.template(), "metadata.annotations")).get("prometheus.io/path");
    try (HttpClient http = HttpClient.newHttpClient();
        Deployable.Running running =
            Deployable.PROMOTION_EXPIRER.start(new RecordingEnv(env).env())) {
      URI metrics = URI.create("http://127.0.0.1:" + running.port() + path);

      // When Prometheus scrapes it where the annotations say, after its first pass
      // Then every one of those series is there
      Await.until(
          Duration.ofSeconds(30),
          "the expirer to export " + alerted + " at " + path,
          () -> {
            Set<String> exported = new TreeSet<>();
            for (String line : body(http, metrics).lines().toList()) {
              exported.add(line.replaceFirst("[{ ].*", ""));
            }
            return exported.containsAll(alerted);
          });
    }
  }

  @Test
  void shouldRunOnePassAndExitWhenAPassIsStartedByHand() throws Exception {
    // Given the Deployment's container with --once, as the runbook's one-off Job copies it, with
    // this test's broker and database in place of the cluster's
    assertThat(Manifests.read("docs/runbook.md"))
        .contains("deployment/" + Deployable.PROMOTION_EXPIRER.module)
        .contains("--once");
    Workload expirer = workload(Deployable.PROMOTION_EXPIRER);
    Map<String, String> env =
        runnableHere(expirer, TestInfra.freshDatabase(), TestInfra.freshTopics());

    // When the image's entry point runs its main class with --once, as the Job's pod would
    Path log = Path.of("target", "expirer-once.log");
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(
        List.of(
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-cp",
            System.getProperty("java.class.path")));
    command.add(Deployable.PROMOTION_EXPIRER.mainClass.getName());
    command.add("--once");
    ProcessBuilder builder =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    builder.environment().clear();
    builder.environment().putAll(env);
    Process process = builder.start();
    boolean exited = process.waitFor(90, TimeUnit.SECONDS);
    if (!exited) {
      process.destroyForcibly();
    }

    // Then the pass runs and the process exits 0, so the Job succeeds
    String output = Files.readString(log);
    assertThat(exited).as("the --once pass exited within 90 s: %s", output).isTrue();
    assertThat(process.exitValue()).as("exit status; output: %s", output).isZero();
  }

  @Test
  void shouldReachDnsKafkaAndPostgresqlWhenTheRunbookStartsAOneOffPass() {
    // Given the one-off Job of the runbook, whose pod template the jq program builds from the
    // expirer Deployment's, labels included
    String runbook = Manifests.read("docs/runbook.md");
    Matcher jq =
        Pattern.compile("get deployment/promotion-expirer -o json \\\\\\s+\\| jq '([^']+)'")
            .matcher(runbook);
    assertThat(jq.find()).as("the runbook's jq program").isTrue();
    assertThat(jq.group(1).replaceAll("\\s+", " "))
        .contains("template: {metadata: {labels: .spec.template.metadata.labels}");
    Map<String, String> labels =
        new TreeMap<>(
            strings(at(workload(Deployable.PROMOTION_EXPIRER).template(), "metadata.labels")));
    // (and the labels the Job controller adds to its pods)
    labels.put("batch.kubernetes.io/job-name", "expire-now");
    labels.put("job-name", "expire-now");

    // When the NetworkPolicies and the disruption budgets select pods
    List<Integer> egress = new ArrayList<>();
    for (Map<String, Object> policy : byKind(objects, "NetworkPolicy").values()) {
      if (selects(map(at(policy, "spec.podSelector")), labels)) {
        for (Object rule : list(at(policy, "spec.egress"))) {
          list(map(rule).get("ports")).forEach(p -> egress.add((Integer) map(p).get("port")));
        }
      }
    }

    // Then its pod may resolve names, reach Kafka and PostgreSQL, as the expirer's replicas do
    assertThat(egress).as("egress of the one-off pass").contains(53, 9092, 5432);
    // And no disruption budget selects it: a Job has no scale, and a maxUnavailable budget that
    // selects one of its pods allows no eviction of the replicas either
    assertThat(byKind(objects, "PodDisruptionBudget").values())
        .noneMatch(pdb -> selects(map(at(pdb, "spec.selector")), labels));
  }

  @Test
  void shouldBuildProductionFromTheBaseWhenTheOverlayPatchesIt() {
    // Given the production overlay
    Map<String, Object> overlay = Manifests.yaml(OVERLAY);
    Map<String, Map<String, Object>> deployments = byKind(objects, "Deployment");
    Set<String> baseImages = new TreeSet<>();
    for (Deployable deployable : Deployable.values()) {
      baseImages.add(text(workload(deployable).container().get("image")));
    }

    // When kustomize would apply it to the base
    // Then it renames exactly the images the base runs, one per service module
    Set<String> renamed =
        list(overlay.get("images")).stream()
            .map(i -> text(map(i).get("name")))
            .collect(Collectors.toCollection(TreeSet::new));
    assertThat(renamed).isEqualTo(baseImages);
    assertThat(baseImages)
        .isEqualTo(
            Stream.of(Deployable.values())
                .map(d -> "registry.example.com/marketplace-payments/" + d.module)
                .collect(Collectors.toCollection(TreeSet::new)));
    // And scales Deployments that exist, a worker to no more replicas than its topic has partitions
    int partitions = Topics.standard().stripeEvents().partitions();
    for (Object entry : list(overlay.get("replicas"))) {
      String name = text(map(entry).get("name"));
      assertThat(deployments).containsKey(name);
      if (name.equals("payment-processor") || name.equals("refund-worker")) {
        assertThat((Integer) map(entry).get("count")).isLessThanOrEqualTo(partitions);
      }
    }
    for (Map<String, Object> deployment : deployments.values()) {
      String name = text(at(deployment, "metadata.name"));
      if (name.equals("payment-processor") || name.equals("refund-worker")) {
        assertThat((Integer) at(deployment, "spec.replicas")).isLessThanOrEqualTo(partitions);
      }
    }
    // And patches only keys the base ConfigMap has, and the environment of Deployments it has
    Map<String, String> config = configMap();
    for (Object patch : list(overlay.get("patches"))) {
      Map<String, Object> target = map(map(patch).get("target"));
      if ("Deployment".equals(target.get("kind"))) {
        assertThat(deployments).containsKey(text(target.get("name")));
        for (Object op : list(yamlOf(text(map(patch).get("patch"))))) {
          assertThat(text(map(op).get("path")))
              .as("%s patch", target.get("name"))
              .startsWith("/spec/template/spec/containers/0/env/");
        }
        continue;
      }
      if ("NetworkPolicy".equals(target.get("kind"))) {
        // the egress to the environment's own database, and the annotation naming it
        assertThat(target.get("name")).isEqualTo(DATABASE_POLICY);
        for (Object op : list(yamlOf(text(map(patch).get("patch"))))) {
          assertThat(text(map(op).get("path")))
              .as("%s patch", target.get("name"))
              .matches("/spec/egress(/.*)?|/metadata/annotations/.*");
        }
        continue;
      }
      assertThat(target.get("kind")).isEqualTo("ConfigMap");
      assertThat(target.get("name")).isEqualTo("payments-config");
      Matcher paths = Pattern.compile("path: /data/(\\S+)").matcher(text(map(patch).get("patch")));
      while (paths.find()) {
        assertThat(config).as("patched key").containsKey(paths.group(1));
      }
    }
  }

  @Test
  void shouldGiveEveryConsumerOfStripeEventsAPartitionWhenTheBaseOrProductionScalesTheWorkers() {
    // Given the partitions create-topics.sh gives stripe.events.v1
    String stripeEvents = Topics.standard().stripeEvents().name();
    int partitions = scriptPartitions().get(stripeEvents);
    for (boolean production : List.of(false, true)) {
      for (Deployable deployable :
          List.of(
              Deployable.PAYMENT_PROCESSOR, Deployable.REFUND_WORKER, Deployable.PAYMENT_RISK)) {
        // and each worker that consumes it, as the base or the production overlay renders it
        Map<String, Object> deployment =
            production
                ? productionDeployment(deployable.module)
                : byKind(objects, "Deployment").get(deployable.module);
        Workload workload = new Workload(deployable.module, map(at(deployment, "spec.template")));
        Map<String, String> env =
            new LinkedHashMap<>(
                production ? environment(workload, productionConfigMap()) : environment(workload));
        if (production) {
          env.putAll(productionKafkaCredentials());
        }
        RecordingEnv recording = new RecordingEnv(env);

        // When its pods join the worker's consumer group on stripe.events.v1, each with as many
        // consumers as its configuration starts: PROCESSOR_WORKERS for the processor, one
        // StreamWorker per topic for the refund worker, one stream thread for Kafka Streams
        int perPod =
            deployable == Deployable.PAYMENT_PROCESSOR
                ? PaymentProcessorConfig.fromEnv(recording.env()).workers()
                : 1;
        int replicas = (Integer) at(deployment, "spec.replicas");

        // Then the group has no more members than the topic has partitions: none sits idle
        assertThat(replicas * perPod)
            .as(
                "%s %s: %d replicas × %d consumers on the %d partitions of %s",
                production ? "production" : "base",
                deployable.module,
                replicas,
                perPod,
                partitions,
                stripeEvents)
            .isLessThanOrEqualTo(partitions);
        // And the processor reads every variable it is given (a misspelt one would leave the
        // default of two consumers a pod)
        if (deployable == Deployable.PAYMENT_PROCESSOR) {
          assertThat(recording.unread())
              .as("%s: variables never read", deployable.module)
              .isEmpty();
        }
      }
    }
  }

  @Test
  void shouldStayWithinTheConnectionsPostgresqlAllowsWhenEveryDeploymentRollsOutAtOnce() {
    // Given what docs/deploy.md says the database must allow: the connections of the base and of
    // production (its table's totals), the room kept for operators and, where that is more than
    // PostgreSQL's defaults allow, the max_connections to set
    String scaling = section(Manifests.read("docs/deploy.md"), "## Scaling");
    Map<String, int[]> documented = connectionTable(scaling);
    int[] documentedTotal = documented.remove("total");
    assertThat(documentedTotal).as("the total row of the connections table").isNotNull();
    int operatorRoom = number(scaling, "at least \\*\\*(\\d+)\\*\\* for operators");
    int defaultAllows = DEFAULT_MAX_CONNECTIONS - SUPERUSER_RESERVED_CONNECTIONS;

    Set<String> checked = new TreeSet<>();
    for (boolean production : List.of(false, true)) {
      String where = production ? "production" : "base";
      int total = 0;
      for (Deployable deployable : Deployable.values()) {
        // and each Deployment as the base or the production overlay renders it, its environment
        // read by its own configuration
        Map<String, Object> deployment =
            production
                ? productionDeployment(deployable.module)
                : byKind(objects, "Deployment").get(deployable.module);
        Workload workload = new Workload(deployable.module, map(at(deployment, "spec.template")));
        Map<String, String> env =
            new LinkedHashMap<>(
                production ? environment(workload, productionConfigMap()) : environment(workload));
        if (production) {
          env.putAll(productionKafkaCredentials());
        }
        DbConfig db = deployable.database(Env.of(env));
        if (db == null) {
          assertThat(env)
              .as("%s %s uses no database", where, deployable.module)
              .doesNotContainKey("DATABASE_URL");
          continue;
        }

        // When every pod of it holds its whole pool and its sessions beside it, the autoscaler at
        // its maximum (or the replicas) and a rollout under way: its new pods started, the old
        // ones it replaces still stopping
        int pods = maxPods(deployment);
        int rollout = rolloutExtra(deployment, pods);
        int perPod = db.maxPoolSize() + deployable.sessionsBesideThePool();
        int connections = (pods + rollout) * perPod;
        total += connections;

        // Then its pool is larger than what its threads hold at once: a smaller one would starve
        // one of them (a consumer whose partitions stop, readiness that fails and takes the pod
        // out of its Service)
        int threads = deployable.threadsUsingThePool(Env.of(env));
        assertThat(db.maxPoolSize())
            .as(
                "%s %s: a pool of %d for %d threads using the database at once, and a margin of %d",
                where, deployable.module, db.maxPoolSize(), threads, POOL_MARGIN)
            .isGreaterThanOrEqualTo(threads + POOL_MARGIN);
        // And docs/deploy.md's table gives it these connections
        assertThat(documented.get(deployable.module))
            .as("docs/deploy.md's connections of %s", deployable.module)
            .isNotNull();
        assertThat(documented.get(deployable.module)[production ? 1 : 0])
            .as(
                "%s %s: (%d pods + %d of a rollout) × (a pool of %d + %d beside it)",
                where,
                deployable.module,
                pods,
                rollout,
                db.maxPoolSize(),
                deployable.sessionsBesideThePool())
            .isEqualTo(connections);
        // And its manifest sets that pool, rather than leave it to DbConfig's default
        assertThat(env)
            .as("%s %s sets DATABASE_POOL_SIZE", where, deployable.module)
            .containsKey("DATABASE_POOL_SIZE");
        checked.add(deployable.module);
      }
      // And the whole is at most what docs/deploy.md says the database must allow
      assertThat(total)
          .as("%s: connections of every Deployment with a database at once", where)
          .isLessThanOrEqualTo(documentedTotal[production ? 1 : 0]);
    }
    assertThat(documented.keySet())
        .as("the Deployments of docs/deploy.md's connections table")
        .isEqualTo(checked);

    // And the room for operators takes an ops CLI command (its own pool), a pass of the expirer
    // started by hand (the runbook's Job: the Deployment's pool and its lock) and a few psql
    // sessions
    Map<String, String> expirerEnv = environment(workload(Deployable.PROMOTION_EXPIRER));
    int oneOffPass =
        Deployable.PROMOTION_EXPIRER.database(Env.of(expirerEnv)).maxPoolSize()
            + Deployable.PROMOTION_EXPIRER.sessionsBesideThePool();
    int opsCli = new OpsContext(Env.of(expirerEnv), Clock.systemUTC()).database().maxPoolSize();
    assertThat(operatorRoom)
        .as(
            "room for operators: the ops CLI's %d, a pass by hand's %d, %d psql sessions",
            opsCli, oneOffPass, PSQL_SESSIONS)
        .isGreaterThanOrEqualTo(opsCli + oneOffPass + PSQL_SESSIONS);
    // And each fits under PostgreSQL's default max_connections, less the connections kept for
    // superusers, with that room left; or docs/deploy.md says which max_connections it needs
    for (int i = 0; i < 2; i++) {
      String where = i == 0 ? "base" : "production";
      if (documentedTotal[i] + operatorRoom <= defaultAllows) {
        continue;
      }
      int maxConnections = number(scaling, "`max_connections = (\\d+)`");
      assertThat(maxConnections - SUPERUSER_RESERVED_CONNECTIONS)
          .as(
              "%s: %d connections and %d for operators, more than the default max_connections"
                  + " (%d) less superuser_reserved_connections (%d) allows, under the"
                  + " max_connections docs/deploy.md asks for (%d)",
              where,
              documentedTotal[i],
              operatorRoom,
              DEFAULT_MAX_CONNECTIONS,
              SUPERUSER_RESERVED_CONNECTIONS,
              maxConnections)
          .isGreaterThanOrEqualTo(documentedTotal[i] + operatorRoom);
    }
  }

  /**
   * The pods a Deployment runs at most: its autoscaler's maximum, else its replicas (default 1).
   */
  private static int maxPods(Map<String, Object> deployment) {
    String name = text(at(deployment, "metadata.name"));
    for (Map<String, Object> hpa : byKind(objects, "HorizontalPodAutoscaler").values()) {
      if ("Deployment".equals(at(hpa, "spec.scaleTargetRef.kind"))
          && name.equals(at(hpa, "spec.scaleTargetRef.name"))) {
        return (Integer) at(hpa, "spec.maxReplicas");
      }
    }
    Object replicas = at(deployment, "spec.replicas");
    return replicas == null ? 1 : (Integer) replicas;
  }

  /**
   * The pods a rollout of a Deployment of {@code pods} runs beside them, each with its connections:
   * the {@code maxSurge} new pods it starts before taking old ones down, and the old pods it takes
   * down at once ({@code maxSurge} + {@code maxUnavailable}), which hold theirs until they have
   * stopped (seconds, up to {@code terminationGracePeriodSeconds}) while their replacements start:
   * Kubernetes counts a pod that is stopping against neither. Percentages as Kubernetes rounds them
   * (up for maxSurge, down for maxUnavailable), 25% each unless set; none for Recreate, which
   * starts the new pods once the old ones have gone.
   */
  private static int rolloutExtra(Map<String, Object> deployment, int pods) {
    Map<String, Object> strategy = map(at(deployment, "spec.strategy"));
    if ("Recreate".equals(strategy.get("type"))) {
      return 0;
    }
    int surge = count(at(strategy, "rollingUpdate.maxSurge"), pods, true);
    int unavailable = count(at(strategy, "rollingUpdate.maxUnavailable"), pods, false);
    return surge + surge + unavailable;
  }

  /** A {@code maxSurge} or {@code maxUnavailable} as pods of {@code pods}. */
  private static int count(Object value, int pods, boolean roundUp) {
    String text = value == null ? "25%" : text(value);
    if (!text.endsWith("%")) {
      return Integer.parseInt(text);
    }
    int percent = Integer.parseInt(text.substring(0, text.length() - 1));
    return roundUp ? (pods * percent + 99) / 100 : pods * percent / 100;
  }

  /** The text of a markdown section, from its heading to the next heading of its level. */
  private static String section(String markdown, String heading) {
    int start = markdown.indexOf("\n" + heading + "\n");
    assertThat(start).as("docs/deploy.md has %s", heading).isNotNegative();
    int end = markdown.indexOf("\n## ", start + heading.length() + 2);
    return markdown.substring(start, end < 0 ? markdown.length() : end);
  }

  /**
   * The connections table of a section: by Deployment (its first cell, code-quoted) or {@code
   * total}, the connections of the base and of production (its last two cells).
   */
  private static Map<String, int[]> connectionTable(String section) {
    Map<String, int[]> rows = new TreeMap<>();
    Matcher row =
        Pattern.compile(
                "(?m)^\\s*\\| (?:`([a-z-]+)`|\\*\\*(total)\\*\\*) \\|.*\\| \\**(\\d+)\\** \\|"
                    + " \\**(\\d+)\\** \\|\\s*$")
            .matcher(section);
    while (row.find()) {
      String name = row.group(1) != null ? row.group(1) : row.group(2);
      rows.put(name, new int[] {Integer.parseInt(row.group(3)), Integer.parseInt(row.group(4))});
    }
    return rows;
  }

  private static int number(String text, String regex) {
    Matcher matcher = Pattern.compile(regex).matcher(text);
    assertThat(matcher.find()).as("docs/deploy.md says %s", regex).isTrue();
    return Integer.parseInt(matcher.group(1));
  }

  @Test
  void shouldLetEveryWorkerDeadLetterWhenItsPrincipalHasTheAclsOfSecurityMd() {
    // Given the ACL table of docs/security.md, by principal: what it may write, what it may read
    Map<String, String[]> acls = aclTable();
    // and every StreamWorker of the code: the service, its consumer group, the topic it consumes
    Topics topics = Topics.standard();
    List<List<String>> workers =
        List.of(
            List.of(
                Deployable.PAYMENT_PROCESSOR.module,
                PaymentProcessorConfig.SERVICE,
                topics.stripeEvents().name()),
            List.of(
                Deployable.PAYMENT_PROCESSOR.module,
                PaymentProcessorConfig.SERVICE + PaymentProcessorConfig.DELIVERIES_SUFFIX,
                topics.deliveryCommands().name()),
            List.of(
                Deployable.REFUND_WORKER.module,
                RefundWorker.STRIPE_CONSUMER,
                topics.stripeEvents().name()),
            List.of(
                Deployable.REFUND_WORKER.module,
                RefundWorker.MODERATION_CONSUMER,
                topics.moderation().name()),
            List.of(
                Deployable.REFUND_WORKER.module,
                RefundWorker.COMMANDS_CONSUMER,
                topics.refundCommands().name()),
            List.of(
                Deployable.PAYMENT_RISK.module,
                RiskFlagWorker.CONSUMER,
                topics.riskSignals().name()));

    for (List<String> worker : workers) {
      String service = worker.get(0);
      String group = worker.get(1);
      String topic = worker.get(2);
      // When its service's principal consumes the topic and a record keeps failing
      String[] acl = acls.get(service);
      assertThat(acl).as("a row for %s in the ACL table", service).isNotNull();

      // Then it may read the topic in its group, and write the dead letter to <topic>.dlq
      assertThat(acl[1])
          .as("%s reads %s in group %s", service, topic, group)
          .contains("`" + topic + "` (`" + group + "`)");
      assertThat(acl[0])
          .as("%s writes %s", service, new Topic(topic, 1).dlq().name())
          .contains("`" + new Topic(topic, 1).dlq().name() + "`");
      // And `payments kafka-acls` grants its principal the same
      assertThat(
              KafkaAcls.of(KafkaAcls.Workload.of(service).orElseThrow(), "User:" + service, topics))
          .as("payments kafka-acls for %s", service)
          .contains(
              allow("User:" + service, ResourceType.TOPIC, topic, AclOperation.READ),
              allow("User:" + service, ResourceType.GROUP, group, AclOperation.READ),
              allow(
                  "User:" + service,
                  ResourceType.TOPIC,
                  new Topic(topic, 1).dlq().name(),
                  AclOperation.WRITE));
    }
    // And the risk service's Kafka Streams may purge (deleteRecords) and check the configs of its
    // internal topics, named after its application id
    assertThat(acls.get(Deployable.PAYMENT_RISK.module)[0])
        .contains("`" + RiskService.APPLICATION_ID + "-`")
        .contains("`Delete`")
        .contains("`DescribeConfigs`");
  }

  @Test
  void shouldPullEveryImageFromTheRegistryItNamesWhenTheBaseOrProductionIsRendered() {
    // Given the images the Dockerfile builds from, and every container's image as kustomize
    // renders the base alone and the production overlay
    String dockerfile = Manifests.read("Dockerfile");
    Map<String, String> images = new TreeMap<>();
    Matcher args = Pattern.compile("(?m)^ARG (\\w+_IMAGE)=(\\S+)$").matcher(dockerfile);
    while (args.find()) {
      images.put("Dockerfile " + args.group(1), args.group(2));
    }
    assertThat(images).containsKeys("Dockerfile JDK_IMAGE", "Dockerfile JRE_IMAGE");
    Matcher stages = Pattern.compile("(?m)^FROM (\\S+)").matcher(dockerfile);
    while (stages.find()) {
      assertThat(stages.group(1)).as("FROM of the Dockerfile").matches("\\$\\{\\w+_IMAGE}");
    }
    for (Workload workload : podTemplates()) {
      String image = text(workload.container().get("image"));
      images.put("base " + workload.name(), renderedImage(image, List.of(BASE)));
      images.put("production " + workload.name(), renderedImage(image, List.of(BASE, OVERLAY)));
    }

    // When a container runtime resolves each name
    // Then each names its registry: a name without one is pulled from Docker Hub, where anyone may
    // register a namespace (marketplace-payments, say) and serve an image of their own under it
    images.forEach(
        (where, image) ->
            assertThat(registry(image)).as("registry of %s: %s", where, image).isNotNull());
    // And an official image of Docker Hub is named as one (docker.io/library/<name>)
    assertThat(images.get("Dockerfile JDK_IMAGE")).startsWith("docker.io/library/eclipse-temurin:");
    assertThat(images.get("Dockerfile JRE_IMAGE")).startsWith("docker.io/library/eclipse-temurin:");
  }

  @Test
  void shouldGrantWhatSecurityMdListsWhenPaymentsKafkaAclsDerivesTheBindings() {
    // Given the ACL table of docs/security.md, and the risk service's application id in the code
    Map<String, String[]> acls = aclTable();
    assertThat(KafkaAcls.RISK_APPLICATION_ID).isEqualTo(RiskService.APPLICATION_ID);
    Topics topics = Topics.standard();
    Set<String> known = new TreeSet<>();
    topics.all().forEach(topic -> known.add(topic.name()));
    List<String> outbox =
        List.of(
            topics.paymentEvents().name(),
            topics.moderation().name(),
            topics.refundCommands().name(),
            topics.deliveryCommands().name());

    for (Deployable deployable : Deployable.values()) {
      // When payments kafka-acls derives the bindings of the service's principal
      String service = deployable.module;
      List<AclBinding> derived =
          KafkaAcls.of(KafkaAcls.Workload.of(service).orElseThrow(), "User:" + service, topics);
      String[] row = acls.get(service);
      assertThat(row).as("a row for %s in the ACL table", service).isNotNull();

      // Then it writes exactly the topics its row names (the outbox ones as "the four outbox
      // topics")
      Set<String> writes = new TreeSet<>();
      Set<String> reads = new TreeSet<>();
      Set<String> groups = new TreeSet<>();
      for (AclBinding binding : derived) {
        assertThat(binding.entry().permissionType()).isEqualTo(AclPermissionType.ALLOW);
        String name = binding.pattern().name();
        AclOperation operation = binding.entry().operation();
        if (binding.pattern().patternType() == PatternType.PREFIXED) {
          // a prefix (the Streams internal topics, the transactional ids) is named in the row,
          // with each operation beyond Read and Write
          assertThat(row[0]).as("%s: prefix %s", service, name).contains("`" + name + "`");
          if (operation != AclOperation.READ && operation != AclOperation.WRITE) {
            assertThat(row[0])
                .as("%s: %s", service, operation)
                .contains("`" + camel(operation) + "`");
          }
        } else if (binding.pattern().resourceType() == ResourceType.GROUP) {
          groups.add(name);
        } else if (operation == AclOperation.WRITE) {
          writes.add(name);
        } else {
          assertThat(operation).as("%s on %s", service, name).isEqualTo(AclOperation.READ);
          reads.add(name);
        }
      }
      Set<String> documentedWrites = new TreeSet<>(backquoted(row[0], known));
      if (row[0].contains("the four outbox topics")) {
        documentedWrites.addAll(outbox);
      }
      assertThat(writes).as("%s writes", service).isEqualTo(documentedWrites);
      // And it reads, in which groups, what the row says
      Set<String> documentedReads = new TreeSet<>();
      Set<String> documentedGroups = new TreeSet<>();
      Matcher read = Pattern.compile("`([a-z0-9.-]+)` \\(`([a-z0-9-]+)`\\)").matcher(row[1]);
      while (read.find()) {
        documentedReads.add(read.group(1));
        documentedGroups.add(read.group(2));
      }
      assertThat(reads).as("%s reads", service).isEqualTo(documentedReads);
      assertThat(groups).as("%s's groups", service).isEqualTo(documentedGroups);
    }
    // And the topics Job may do on every topic what its row lists, nothing more
    for (AclBinding binding : KafkaAcls.of(KafkaAcls.Workload.TOPICS, "User:topics", topics)) {
      assertThat(known).contains(binding.pattern().name());
      assertThat(acls.get("topics Job")[0])
          .contains("`" + camel(binding.entry().operation()) + "`");
    }
  }

  /** The ACL table of docs/security.md, by principal: its Write cell and its Read cell. */
  private static Map<String, String[]> aclTable() {
    Map<String, String[]> acls = new TreeMap<>();
    String doc = Manifests.read("docs/security.md");
    String section = doc.substring(doc.indexOf("## Kafka: authentication and ACLs"));
    section = section.substring(0, section.indexOf("\n## ", 1));
    for (String line : section.lines().toList()) {
      String[] cells = line.split("\\|");
      if (line.startsWith("| ") && cells.length >= 4) {
        acls.put(cells[1].trim(), new String[] {cells[2], cells[3]});
      }
    }
    return acls;
  }

  /** The names of {@code known} that {@code cell} quotes. */
  private static Set<String> backquoted(String cell, Set<String> known) {
    Set<String> names = new TreeSet<>();
    Matcher quoted = Pattern.compile("`([^`]+)`").matcher(cell);
    while (quoted.find()) {
      if (known.contains(quoted.group(1))) {
        names.add(quoted.group(1));
      }
    }
    return names;
  }

  /**
   * An operation as Kafka's tools and the docs write it: {@code DESCRIBE_CONFIGS} is
   * DescribeConfigs.
   */
  private static String camel(AclOperation operation) {
    StringBuilder name = new StringBuilder();
    for (String word : operation.name().split("_")) {
      name.append(word.charAt(0)).append(word.substring(1).toLowerCase(java.util.Locale.ROOT));
    }
    return name.toString();
  }

  private static AclBinding allow(
      String principal, ResourceType type, String name, AclOperation operation) {
    return new AclBinding(
        new ResourcePattern(type, name, PatternType.LITERAL),
        new AccessControlEntry(principal, "*", operation, AclPermissionType.ALLOW));
  }

  @Test
  void shouldAuthenticateToKafkaWhenProductionIsRendered() {
    // Given the payments-config ConfigMap as the production overlay renders it
    Map<String, String> production = productionConfigMap();

    // When the services and the topics Job read how to talk to Kafka
    // Then they authenticate over TLS: any pod can reach the brokers, and over PLAINTEXT every
    // client is the same anonymous principal, so no ACL could keep a worker's (or an attacker's)
    // pod from writing "Stripe events" to stripe.events.v1 (docs/security.md)
    assertThat(production.get("KAFKA_SECURITY_PROTOCOL"))
        .as("KAFKA_SECURITY_PROTOCOL in production")
        .isEqualTo("SASL_SSL");
    // And the topics Job speaks the same protocol with the same credentials as the services
    Map<String, Object> job = byKind(objects, "Job").get("payments-create-topics");
    Workload topics = new Workload("payments-create-topics", map(at(job, "spec.template")));
    assertThat(names(topics)).contains("KAFKA_SECURITY_PROTOCOL");
    assertThat(kafkaSecret(topics)).isEqualTo("payments-kafka-topics");
    assertThat(Manifests.read("k8s/base/create-topics.sh")).contains("--command-config");
    // And no two workloads share Kafka credentials: with one principal for all, the ACLs that let
    // the gateway write stripe.events.v1 would let every payments pod forge a "Stripe event"
    List<String> credentials = new ArrayList<>();
    credentials.add(kafkaSecret(topics));
    for (Deployable deployable : Deployable.values()) {
      credentials.add(kafkaSecret(workload(deployable)));
    }
    assertThat(credentials).doesNotContainNull().doesNotHaveDuplicates();
    // And the example of the Secrets gives each its own principal
    Map<String, Map<String, String>> examples = exampleSecrets();
    assertThat(examples).containsKeys(credentials.toArray(String[]::new));
    assertThat(
            credentials.stream()
                .map(name -> examples.get(name).get("KAFKA_SASL_JAAS_CONFIG"))
                .map(jaas -> jaas.replaceAll(".*username=\"([^\"]+)\".*", "$1")))
        .doesNotHaveDuplicates();
  }

  @Test
  void shouldStartInProductionOnlyWithLiveStripeAVerifiedDatabaseAndKafkaOverTls() {
    // Given each workload's environment as the production overlay renders it, with the Secrets an
    // operator creates: a live Stripe key and each service's Kafka credentials
    Map<String, String> production = productionConfigMap();
    assertThat(production.get("PAYMENTS_ENVIRONMENT")).isEqualTo("production");
    assertThat(production.get("DATABASE_URL"))
        .contains("sslmode=verify-full")
        .contains("sslrootcert=/etc/payments-database-ca/ca.crt");
    Map<String, String> kafkaCredentials = productionKafkaCredentials();
    for (Deployable deployable : Deployable.values()) {
      Workload workload =
          new Workload(
              deployable.module, map(at(productionDeployment(deployable.module), "spec.template")));
      Map<String, String> env = new LinkedHashMap<>(environment(workload, production));
      env.putAll(kafkaCredentials);

      // When the service reads its configuration, then it starts
      assertThatCode(() -> deployable.configuredPort(Env.of(env)))
          .as("%s in production", deployable.module)
          .doesNotThrowAnyException();
      // And the CA that DATABASE_URL names is mounted where it says, from payments-database-ca
      if (env.containsKey("DATABASE_URL")) {
        assertThat(list(workload.container().get("volumeMounts")))
            .as("%s mounts the database CA", deployable.module)
            .anyMatch(m -> "/etc/payments-database-ca".equals(map(m).get("mountPath")));
        assertThat(list(at(workload.template(), "spec.volumes")))
            .as("%s has the database CA volume", deployable.module)
            .anyMatch(v -> "payments-database-ca".equals(at(map(v), "secret.secretName")));
      }
      // But given a test-mode Stripe key, it refuses to start, naming the variable
      if (env.containsKey("STRIPE_SECRET_KEY")) {
        Map<String, String> testMode = new LinkedHashMap<>(env);
        testMode.put("STRIPE_SECRET_KEY", randomLike("sk_test_"));
        assertThatThrownBy(() -> deployable.configuredPort(Env.of(testMode)))
            .as("%s in production with a test-mode key", deployable.module)
            .isInstanceOf(InvalidConfigException.class)
            .hasMessageStartingWith("invalid environment variable STRIPE_SECRET_KEY:");
      }
      // And given the base's database URL (sslmode=require), it refuses as well
      if (env.containsKey("DATABASE_URL")) {
        Map<String, String> unverified = new LinkedHashMap<>(env);
        unverified.put("DATABASE_URL", configMap().get("DATABASE_URL"));
        assertThatThrownBy(() -> deployable.configuredPort(Env.of(unverified)))
            .as("%s in production with sslmode=require", deployable.module)
            .isInstanceOf(InvalidConfigException.class)
            .hasMessageStartingWith("invalid environment variable DATABASE_URL:");
      }
    }
  }

  @Test
  void shouldTakeOnlyTokensMadeForTheApiWhenItRunsInProduction() {
    // Given checkout-api as the production overlay renders it, with the Secrets an operator creates
    Deployable api = Deployable.CHECKOUT_API;
    Workload workload =
        new Workload(api.module, map(at(productionDeployment(api.module), "spec.template")));
    Map<String, String> env = new LinkedHashMap<>(environment(workload, productionConfigMap()));
    env.putAll(productionKafkaCredentials());
    Map<String, String> example = exampleSecrets().get("payments-auth");

    for (String variable : List.of("AUTH_JWT_ISSUER", "AUTH_JWT_AUDIENCE")) {
      // When it reads the issuer and audience its tokens must carry
      // Then they come from the Secret that holds the issuer's key, not from any value of the
      // repository
      Map<String, Object> reference =
          list(workload.container().get("env")).stream()
              .map(Manifests::map)
              .filter(entry -> variable.equals(entry.get("name")))
              .findFirst()
              .orElseThrow(() -> new AssertionError("production sets no " + variable));
      assertThat(text(at(reference, "valueFrom.secretKeyRef.name")))
          .as("%s in production", variable)
          .isEqualTo("payments-auth");
      assertThat(env.get(variable)).as("%s in production", variable).isNotBlank();
      // And left as the example has it, or not given at all, the API refuses to start, naming it
      String placeholder = example.get(text(at(reference, "valueFrom.secretKeyRef.key")));
      Map<String, String> copied = new LinkedHashMap<>(env);
      copied.put(variable, placeholder);
      Map<String, String> missing = new LinkedHashMap<>(env);
      missing.remove(variable);
      for (Map<String, String> refused : List.of(copied, missing)) {
        assertThatThrownBy(() -> api.configuredPort(Env.of(refused)))
            .as("checkout-api in production with %s=%s", variable, refused.get(variable))
            .isInstanceOf(InvalidConfigException.class)
            .hasMessageStartingWith("invalid environment variable " + variable + ":");
      }
    }
  }

  @Test
  void shouldCreateEveryTopicTheCodeUsesWhenTheTopicJobRuns() {
    // Given the topic script the Job (and compose) runs
    String script = Manifests.read("k8s/base/create-topics.sh");
    Map<String, Integer> created = scriptPartitions();

    // When its create lines are compared with the topics of the code
    // Then it creates exactly those, with their partition counts
    Map<String, Integer> code = new TreeMap<>();
    for (Topic topic : Topics.standard().all()) {
      code.put(topic.name(), topic.partitions());
    }
    assertThat(created).isEqualTo(code);
    // And every topic takes records as large as the code's producers send
    Matcher maxMessageBytes =
        Pattern.compile("MAX_MESSAGE_BYTES=\"\\$\\{MAX_MESSAGE_BYTES:-(\\d+)}\"").matcher(script);
    assertThat(maxMessageBytes.find()).isTrue();
    assertThat(Integer.parseInt(maxMessageBytes.group(1))).isEqualTo(Topics.MAX_MESSAGE_BYTES);
    assertThat(script).contains("--config max.message.bytes=\"$MAX_MESSAGE_BYTES\"");
    // And a topic that already exists (--if-not-exists leaves it as it was made) is converged on
    // every run: each setting given at creation is set again with --alter, unclean leader election
    // stays off, and a topic with fewer replicas than REPLICATION_FACTOR stops the run
    Set<String> createdWith = new TreeSet<>();
    Matcher config = Pattern.compile("--config ([a-z.]+)=").matcher(script);
    while (config.find()) {
      createdWith.add(config.group(1));
    }
    Matcher alter =
        Pattern.compile(
                "--alter --entity-type topics --entity-name \"\\$topic\" \\\\\\s+--add-config \"([^\"]+)\"")
            .matcher(script);
    assertThat(alter.find()).as("kafka-configs.sh --alter --add-config of every topic").isTrue();
    Map<String, String> altered = new TreeMap<>();
    for (String setting : alter.group(1).split(",")) {
      altered.put(
          setting.substring(0, setting.indexOf('=')), setting.substring(setting.indexOf('=') + 1));
    }
    assertThat(altered.keySet())
        .isEqualTo(createdWith)
        .contains(
            "min.insync.replicas",
            "retention.ms",
            "cleanup.policy",
            "unclean.leader.election.enable",
            "max.message.bytes");
    assertThat(altered)
        .containsEntry("cleanup.policy", "delete")
        .containsEntry("unclean.leader.election.enable", "false")
        .containsEntry("max.message.bytes", "${MAX_MESSAGE_BYTES}");
    assertThat(script)
        .contains("--describe --topic \"$topic\"")
        .contains("if [ \"$replicas\" -lt \"$RF\" ]; then")
        .contains("exit 1");
    // And the Job reads the script from the ConfigMap the kustomization generates from it
    Map<String, Object> kustomization = Manifests.yaml("k8s/base/kustomization.yaml");
    assertThat(list(kustomization.get("configMapGenerator")).stream().map(Manifests::map))
        .anyMatch(g -> list(g.get("files")).contains("create-topics.sh"));
  }

  @Test
  void shouldDocumentEveryTopicWithItsRetentionWhenDeployMdListsTheTopics() {
    // Given the topics and retentions create-topics.sh creates
    Map<String, Integer> created = new TreeMap<>();
    Matcher create =
        Pattern.compile("(?m)^create (\\S+) (\\d+)$")
            .matcher(Manifests.read("k8s/base/create-topics.sh"));
    while (create.find()) {
      created.put(create.group(1), Integer.parseInt(create.group(2)));
    }
    assertThat(created).isNotEmpty();

    // When the table of docs/deploy.md, "Topics", is read ("(+ `.dlq`)" and "14 / 30 days" for a
    // topic and its dead letters)
    String doc = Manifests.read("docs/deploy.md");
    String section = doc.substring(doc.indexOf("## Topics"), doc.indexOf("### Running the topics"));
    Map<String, Integer> documented = new TreeMap<>();
    Matcher row =
        Pattern.compile(
                "(?m)^\\| `([^`]+)`( \\(\\+ `\\.dlq`\\))? \\| \\d+ \\| (\\d+)(?: / (\\d+))? days \\|")
            .matcher(section);
    while (row.find()) {
      documented.put(row.group(1), Integer.parseInt(row.group(3)));
      if (row.group(2) != null) {
        documented.put(row.group(1) + ".dlq", Integer.parseInt(row.group(4)));
      }
    }

    // Then it lists every topic the script creates, with the retention the script gives it
    assertThat(documented).isEqualTo(created);
  }

  @Test
  void shouldRefuseToTouchTopicsWhenTheTopicsJobHasNoOrExampleKafkaCredentials() throws Exception {
    // Given the topics Job as production renders it (SASL_SSL), the Kafka CLI replaced by a stub
    // that records each call and the client settings it is given
    Map<String, Object> job = byKind(objects, "Job").get("payments-create-topics");
    Workload topics = new Workload("payments-create-topics", map(at(job, "spec.template")));
    Map<String, String> env = new LinkedHashMap<>(environment(topics, productionConfigMap()));
    assertThat(env.get("KAFKA_SECURITY_PROTOCOL")).isEqualTo("SASL_SSL");
    Path bin = Files.createTempDirectory(Path.of("target"), "kafka-cli-stub");
    Path calls = bin.resolve("calls");
    String stub =
        """
        #!/bin/sh
        config=""; previous=""; topic=""
        for arg in "$@"; do
          [ "$previous" = "--command-config" ] && config="$arg"
          [ "$previous" = "--topic" ] && topic="$arg"
          previous="$arg"
        done
        { echo "call $*"; cat "$config"; } >> "%s"
        case "$*" in
          *--describe*) printf 'Topic: %%s\tPartition: 0\tLeader: 1\tReplicas: 1,2,3\tIsr: 1,2,3\n' "$topic" ;;
        esac
        """
            .formatted(calls.toAbsolutePath());
    for (String tool : List.of("kafka-topics.sh", "kafka-configs.sh")) {
      Files.writeString(bin.resolve(tool), stub);
      assertThat(bin.resolve(tool).toFile().setExecutable(true)).isTrue();
    }
    env.put("KAFKA_TOPICS_BIN", bin.resolve("kafka-topics.sh").toAbsolutePath().toString());
    Map<String, String> example = exampleSecrets().get(kafkaSecret(topics));
    String placeholder =
        example.get("KAFKA_SASL_JAAS_CONFIG").replaceAll(".*password=\"([^\"]+)\".*", "$1");
    Map<String, String> random = new LinkedHashMap<>(example);
    random.put(
        "KAFKA_SASL_JAAS_CONFIG",
        example.get("KAFKA_SASL_JAAS_CONFIG").replace(placeholder, randomLike("")));

    // When the script runs without its Secret, or with the example's placeholder password
    // Then it stops before any call to Kafka, with one line naming the variable, never the value:
    // that principal may alter every topic's retention and min.insync.replicas
    Map<String, Map<String, String>> refused =
        Map.of("KAFKA_SASL_MECHANISM", Map.of(), "KAFKA_SASL_JAAS_CONFIG", example);
    for (Map.Entry<String, Map<String, String>> secret : refused.entrySet()) {
      Map<String, String> given = new LinkedHashMap<>(env);
      given.putAll(secret.getValue());
      Files.deleteIfExists(calls);
      ScriptRun run = runTopicScript(given);
      assertThat(run.exit()).as("exit with %s: %s", secret.getValue(), run.output()).isNotZero();
      assertThat(run.output())
          .contains("invalid environment variable " + secret.getKey() + ":")
          .doesNotContain(placeholder);
      assertThat(calls).as("Kafka CLI calls").doesNotExist();
    }
    // And with a random password it creates and converges every topic, authenticating with it
    env.putAll(random);
    ScriptRun run = runTopicScript(env);
    assertThat(run.exit()).as("exit: %s", run.output()).isZero();
    String recorded = Files.readString(calls);
    for (Topic topic : Topics.standard().all()) {
      assertThat(recorded).contains("--create --if-not-exists --topic " + topic.name() + " ");
    }
    assertThat(recorded)
        .contains("security.protocol=SASL_SSL")
        .contains("sasl.mechanism=" + example.get("KAFKA_SASL_MECHANISM"))
        .contains("sasl.jaas.config=" + random.get("KAFKA_SASL_JAAS_CONFIG"));
  }

  @Test
  void shouldRefuseEveryPlaceholderBeforeTouchingTopicsWhenTheTopicsJobRuns() throws Exception {
    // Given the topics Job as production renders it, with real-looking credentials of its own
    // (SCRAM, and the TLS stores of payments-kafka-tls-topics), the Kafka CLI a stub that records
    // every call
    Map<String, Object> job = byKind(objects, "Job").get("payments-create-topics");
    Workload topics = new Workload("payments-create-topics", map(at(job, "spec.template")));
    Map<String, String> env = new LinkedHashMap<>(environment(topics, productionConfigMap()));
    env.putAll(productionKafkaCredentials());
    env.put("KAFKA_SSL_TRUSTSTORE_LOCATION", "/etc/kafka-tls/truststore.p12");
    env.put("KAFKA_SSL_TRUSTSTORE_PASSWORD", randomLike(""));
    env.put("KAFKA_SSL_TRUSTSTORE_TYPE", "PKCS12");
    env.put("KAFKA_SSL_KEYSTORE_LOCATION", "/etc/kafka-tls/keystore.p12");
    env.put("KAFKA_SSL_KEYSTORE_PASSWORD", randomLike(""));
    env.put("KAFKA_SSL_KEYSTORE_TYPE", "PKCS12");
    env.put("KAFKA_SSL_KEY_PASSWORD", randomLike(""));
    Path bin = Files.createTempDirectory(Path.of("target"), "kafka-cli-stub");
    Path calls = bin.resolve("calls");
    String stub =
        """
        #!/bin/sh
        topic=""; previous=""
        for arg in "$@"; do
          [ "$previous" = "--topic" ] && topic="$arg"
          previous="$arg"
        done
        echo "call $*" >> "%s"
        case "$*" in
          *--describe*) printf 'Topic: %%s\tPartition: 0\tLeader: 1\tReplicas: 1,2,3\tIsr: 1,2,3\n' "$topic" ;;
        esac
        """
            .formatted(calls.toAbsolutePath());
    for (String tool : List.of("kafka-topics.sh", "kafka-configs.sh")) {
      Files.writeString(bin.resolve(tool), stub);
      assertThat(bin.resolve(tool).toFile().setExecutable(true)).isTrue();
    }
    env.put("KAFKA_TOPICS_BIN", bin.resolve("kafka-topics.sh").toAbsolutePath().toString());
    String jaas = env.get("KAFKA_SASL_JAAS_CONFIG");

    // When any one value the script uses, secret or setting, is a placeholder or, for a secret,
    // too plain to be random
    Map<String, List<String>> placeholders = new TreeMap<>();
    placeholders.put(
        "KAFKA_BOOTSTRAP_SERVERS", List.of("CHANGE_ME:9092", "kafka.example.com:9092"));
    placeholders.put("KAFKA_TOPIC_PREFIX", List.of("CHANGE_ME."));
    placeholders.put("KAFKA_SECURITY_PROTOCOL", List.of("CHANGE_ME"));
    placeholders.put("KAFKA_SASL_MECHANISM", List.of("CHANGE_ME"));
    placeholders.put(
        "KAFKA_SASL_JAAS_CONFIG",
        List.of(
            jaas.replace("username=\"payments\"", "username=\"CHANGE_ME\""),
            "CHANGE_ME",
            "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required"
                + " clientId=\"payments-topics\" clientSecret=\"your-secret-here\";"));
    placeholders.put("KAFKA_SSL_TRUSTSTORE_LOCATION", List.of("/etc/kafka-tls/CHANGE_ME.p12"));
    placeholders.put("KAFKA_SSL_TRUSTSTORE_TYPE", List.of("CHANGE_ME"));
    placeholders.put("KAFKA_SSL_TRUSTSTORE_PASSWORD", List.of("CHANGE_ME", "dummy"));
    placeholders.put("KAFKA_SSL_KEYSTORE_LOCATION", List.of("/etc/kafka-tls/example.p12"));
    placeholders.put("KAFKA_SSL_KEYSTORE_TYPE", List.of("CHANGE_ME"));
    placeholders.put("KAFKA_SSL_KEYSTORE_PASSWORD", List.of("CHANGE_ME", "s3cr3t"));
    placeholders.put("KAFKA_SSL_KEY_PASSWORD", List.of("changeme", "aaaaaaaaaaaaaaaaaaaa"));
    placeholders.put("REPLICATION_FACTOR", List.of("CHANGE_ME", "0"));
    placeholders.put("MIN_INSYNC_REPLICAS", List.of("CHANGE_ME"));
    placeholders.put("PARTITIONS", List.of("CHANGE_ME"));
    placeholders.put("MAX_MESSAGE_BYTES", List.of("CHANGE_ME"));
    for (Map.Entry<String, List<String>> variable : placeholders.entrySet()) {
      for (String placeholder : variable.getValue()) {
        Map<String, String> given = new LinkedHashMap<>(env);
        given.put(variable.getKey(), placeholder);
        Files.deleteIfExists(calls);
        ScriptRun run = runTopicScript(given);

        // Then the script stops before any call to Kafka, with one line naming the variable and
        // never its value: nothing placeholder-valued reaches the cluster
        assertThat(run.exit())
            .as("exit with %s=%s: %s", variable.getKey(), placeholder, run.output())
            .isNotZero();
        assertThat(run.output())
            .as("with %s=%s", variable.getKey(), placeholder)
            .contains("invalid environment variable " + variable.getKey() + ":")
            .doesNotContain(placeholder);
        assertThat(calls).as("Kafka CLI calls with %s", variable.getKey()).doesNotExist();
      }
    }
    // And with every value real it creates the topics
    Files.deleteIfExists(calls);
    ScriptRun run = runTopicScript(env);
    assertThat(run.exit()).as("exit: %s", run.output()).isZero();
    assertThat(Files.readString(calls)).contains("--create --if-not-exists");
  }

  record ScriptRun(int exit, String output) {}

  /** k8s/base/create-topics.sh run by sh with exactly {@code env} (and a PATH). */
  private static ScriptRun runTopicScript(Map<String, String> env) throws Exception {
    ProcessBuilder builder =
        new ProcessBuilder("sh", Manifests.root().resolve("k8s/base/create-topics.sh").toString())
            .redirectErrorStream(true);
    builder.environment().clear();
    builder.environment().put("PATH", "/usr/local/bin:/usr/bin:/bin");
    builder.environment().putAll(env);
    Process process = builder.start();
    String output = new String(process.getInputStream().readAllBytes());
    assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
    return new ScriptRun(process.exitValue(), output);
  }

  @Test
  void shouldListEveryManifestWhenKustomizationNamesTheResources() throws IOException {
    // Given the files of the base
    Set<String> files;
    try (Stream<Path> paths = Files.list(Manifests.root().resolve("k8s/base"))) {
      files =
          paths
              .map(p -> p.getFileName().toString())
              .filter(name -> name.endsWith(".yaml") && !name.equals("kustomization.yaml"))
              .collect(Collectors.toCollection(TreeSet::new));
    }

    // When the kustomization's resources are read
    // Then it applies every one of them, and nothing else
    Set<String> listed = new TreeSet<>();
    list(Manifests.yaml("k8s/base/kustomization.yaml").get("resources"))
        .forEach(resource -> listed.add(String.valueOf(resource)));
    assertThat(listed).isEqualTo(files);
  }

  @Test
  void shouldNameOnlyExistingWorkloadsWhenTheDocsGiveKubectlCommands() throws IOException {
    // Given every kubectl command of the docs that names a Deployment or a CronJob
    Set<String> named = new TreeSet<>();
    try (Stream<Path> docs = Files.list(Manifests.root().resolve("docs"))) {
      for (Path doc : docs.filter(p -> p.toString().endsWith(".md")).toList()) {
        Matcher matcher =
            Pattern.compile("\\b(deployment|cronjob)/([a-z0-9-]+)").matcher(Files.readString(doc));
        while (matcher.find()) {
          named.add(matcher.group(1) + "/" + matcher.group(2));
        }
      }
    }
    String namespace = text(Manifests.yaml("k8s/base/kustomization.yaml").get("namespace"));

    // When each is looked up in the base
    // Then it exists
    for (String name : named) {
      String kind = name.startsWith("deployment/") ? "Deployment" : "CronJob";
      assertThat(byKind(objects, kind))
          .as("docs name %s", name)
          .containsKey(name.substring(name.indexOf('/') + 1));
    }
    // And the namespace the docs use is the one the kustomization deploys into
    assertThat(Manifests.read("docs/deploy.md")).contains("-n " + namespace);
  }

  // ---- reading manifests

  /** The container's environment with every reference resolved; fails on a dangling one. */
  static Map<String, String> environment(Workload workload) {
    return environment(workload, configMap());
  }

  /** {@link #environment(Workload)} with {@code configMap} as payments-config. */
  private static Map<String, String> environment(Workload workload, Map<String, String> configMap) {
    Map<String, Map<String, String>> secrets = secrets(configMap.get("PAYMENTS_ENVIRONMENT"));
    Map<String, String> env = new LinkedHashMap<>();
    for (Object entry : list(workload.container().get("env"))) {
      Map<String, Object> variable = map(entry);
      String name = text(variable.get("name"));
      Object configRef = at(variable, "valueFrom.configMapKeyRef");
      Object secretRef = at(variable, "valueFrom.secretKeyRef");
      Object fieldRef = at(variable, "valueFrom.fieldRef");
      String value;
      if (fieldRef != null) {
        // the downward API: only the pod's name is used, as a stable instance id
        assertThat(text(map(fieldRef).get("fieldPath")))
            .as("%s %s", workload.name(), name)
            .isEqualTo("metadata.name");
        value = workload.name() + "-0";
      } else if (configRef != null) {
        assertThat(text(map(configRef).get("name")))
            .as("%s %s", workload.name(), name)
            .isEqualTo("payments-config");
        value = configMap.get(text(map(configRef).get("key")));
      } else if (secretRef != null) {
        Map<String, String> secret = secrets.get(text(map(secretRef).get("name")));
        assertThat(secret)
            .as("%s %s: Secret %s", workload.name(), name, map(secretRef).get("name"))
            .isNotNull();
        value = secret.get(text(map(secretRef).get("key")));
      } else {
        value = text(variable.get("value"));
      }
      assertThat(value).as("%s %s resolves to a value", workload.name(), name).isNotNull();
      env.put(name, value);
    }
    return env;
  }

  /**
   * The manifest's environment with this test's broker, topics and database in place of the
   * cluster's, and free ports.
   */
  private static Map<String, String> runnableHere(
      Workload workload, TestDatabase db, Topics topics) {
    Map<String, String> env = environment(workload);
    env.put("KAFKA_BOOTSTRAP_SERVERS", TestInfra.kafka().bootstrapServers());
    env.put(
        "KAFKA_TOPIC_PREFIX",
        topics.stripeEvents().name().replace(Topics.standard().stripeEvents().name(), ""));
    if (env.containsKey("DATABASE_URL")) {
      env.put("DATABASE_URL", db.url());
      env.put("DATABASE_USER", db.user());
      env.put("DATABASE_PASSWORD", db.password());
    }
    env.replaceAll((name, value) -> name.endsWith("_PORT") ? "0" : value);
    // the pod's state volume is a new, empty directory of this test's own here, as an emptyDir
    // is (a name unique only within this JVM would find the stores an earlier run left there)
    env.computeIfPresent("RISK_STATE_DIR", (name, value) -> emptyDirectory("risk-state"));
    // and the test's Kafka is a single broker, where the cluster has three
    env.computeIfPresent("RISK_REPLICATION_FACTOR", (name, value) -> "1");
    return env;
  }

  /** The expressions of the expirer's alerts in ops/prometheus/alerts.yml, by alert name. */
  private static Map<String, String> expirerAlerts() {
    Map<String, String> alerts = new TreeMap<>();
    for (Object group : list(Manifests.yaml("ops/prometheus/alerts.yml").get("groups"))) {
      for (Object rule : list(map(group).get("rules"))) {
        String name = text(map(rule).get("alert"));
        if (name != null && name.startsWith("Expirer")) {
          alerts.put(name, text(map(rule).get("expr")));
        }
      }
    }
    assertThat(alerts).as("the expirer's alerts").containsKeys("ExpirerNotRun");
    return alerts;
  }

  private static Set<String> names(Workload workload) {
    return environment(workload).keySet();
  }

  /** The base ConfigMap with the production overlay's JSON patches of its data applied. */
  private static Map<String, String> productionConfigMap() {
    Map<String, String> config = new LinkedHashMap<>(configMap());
    Map<String, Object> overlay = Manifests.yaml(OVERLAY);
    for (Object patch : list(overlay.get("patches"))) {
      if (!"payments-config".equals(at(map(patch), "target.name"))) {
        continue;
      }
      for (Object op : list(yamlOf(text(map(patch).get("patch"))))) {
        String path = text(map(op).get("path"));
        assertThat(path).startsWith("/data/");
        String key = path.substring("/data/".length());
        switch (text(map(op).get("op"))) {
          case "replace", "add" -> config.put(key, text(map(op).get("value")));
          case "remove" -> config.remove(key);
          default -> throw new AssertionError("unexpected patch " + op);
        }
      }
    }
    return config;
  }

  /**
   * The Kafka credentials an operator gives a workload in production (SCRAM, a random password).
   */
  private static Map<String, String> productionKafkaCredentials() {
    Map<String, String> kafkaCredentials = new LinkedHashMap<>();
    Map<String, String> gatewayKafka = exampleSecrets().get("payments-kafka-webhook-gateway");
    assertThat(gatewayKafka).containsKeys("KAFKA_SASL_MECHANISM");
    kafkaCredentials.put("KAFKA_SASL_MECHANISM", gatewayKafka.get("KAFKA_SASL_MECHANISM"));
    kafkaCredentials.put(
        "KAFKA_SASL_JAAS_CONFIG",
        "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"payments\""
            + " password=\""
            + randomLike("")
            + "\";");
    return kafkaCredentials;
  }

  /**
   * A Deployment of the base as the production overlay renders it: scaled by the overlay's {@code
   * replicas} and changed by the JSON patches (add, replace, remove) that target it.
   */
  private static Map<String, Object> productionDeployment(String name) {
    Map<String, Object> deployment = productionObject("Deployment", name);
    for (Object entry : list(Manifests.yaml(OVERLAY).get("replicas"))) {
      if (name.equals(map(entry).get("name"))) {
        map(deployment.get("spec")).put("replicas", map(entry).get("count"));
      }
    }
    return deployment;
  }

  /**
   * An object of the base as the production overlay renders it: changed by the JSON patches (add,
   * replace, remove, test) that target it.
   */
  private static Map<String, Object> productionObject(String kind, String name) {
    Map<String, Object> base = byKind(objects, kind).get(name);
    assertThat(base).as("a %s named %s", kind, name).isNotNull();
    Map<String, Object> object = map(copy(base));
    for (Object patch : list(Manifests.yaml(OVERLAY).get("patches"))) {
      Map<String, Object> target = map(map(patch).get("target"));
      if (kind.equals(target.get("kind")) && name.equals(target.get("name"))) {
        for (Object op : list(yamlOf(text(map(patch).get("patch"))))) {
          applyJsonPatch(object, map(op));
        }
      }
    }
    return object;
  }

  /**
   * One operation of a JSON patch (RFC 6902: add, replace, remove, test) applied to {@code object}.
   */
  private static void applyJsonPatch(Map<String, Object> object, Map<String, Object> op) {
    String path = text(op.get("path"));
    String[] tokens = path.substring(1).split("/");
    for (int i = 0; i < tokens.length; i++) {
      tokens[i] = tokens[i].replace("~1", "/").replace("~0", "~");
    }
    Object parent = object;
    for (int i = 0; i < tokens.length - 1; i++) {
      parent =
          parent instanceof List<?>
              ? list(parent).get(Integer.parseInt(tokens[i]))
              : map(parent).get(tokens[i]);
      assertThat(parent).as("patch path %s", path).isNotNull();
    }
    String last = tokens[tokens.length - 1];
    String kind = text(op.get("op"));
    if (parent instanceof List<?>) {
      List<Object> items = list(parent);
      int index = last.equals("-") ? items.size() : Integer.parseInt(last);
      switch (kind) {
        case "add" -> items.add(index, op.get("value"));
        case "replace" -> items.set(index, op.get("value"));
        case "remove" -> items.remove(index);
        case "test" -> assertThat(items.get(index)).as("patch %s", op).isEqualTo(op.get("value"));
        default -> throw new AssertionError("unexpected patch " + op);
      }
    } else {
      switch (kind) {
        case "add", "replace" -> map(parent).put(last, op.get("value"));
        case "remove" -> map(parent).remove(last);
        case "test" ->
            assertThat(map(parent).get(last)).as("patch %s", op).isEqualTo(op.get("value"));
        default -> throw new AssertionError("unexpected patch " + op);
      }
    }
  }

  /**
   * {@code image} as kustomize renders it through the {@code images} of each kustomization in turn
   * (the base's, then an overlay's): an entry whose name is the image's renames it, retags it.
   */
  private static String renderedImage(String image, List<String> kustomizations) {
    String current = image;
    for (String kustomization : kustomizations) {
      for (Object entry : list(Manifests.yaml(kustomization).get("images"))) {
        Map<String, Object> rename = map(entry);
        String name = imageName(current);
        if (!name.equals(rename.get("name"))) {
          continue;
        }
        String reference = current.substring(name.length());
        if (rename.containsKey("newTag")) {
          reference = ":" + rename.get("newTag");
        }
        if (rename.containsKey("digest")) {
          reference = "@" + rename.get("digest");
        }
        current = text(rename.getOrDefault("newName", name)) + reference;
      }
    }
    return current;
  }

  /** An image reference without its tag or digest. */
  private static String imageName(String image) {
    String name = image.contains("@") ? image.substring(0, image.indexOf('@')) : image;
    int colon = name.lastIndexOf(':');
    return colon > name.lastIndexOf('/') ? name.substring(0, colon) : name;
  }

  /**
   * The registry an image reference names (its first component, when that is a host: it has a dot
   * or a port, or is localhost), or null when it names none and Docker Hub is implied.
   */
  private static String registry(String image) {
    int slash = image.indexOf('/');
    if (slash < 0) {
      return null;
    }
    String first = image.substring(0, slash);
    return first.contains(".") || first.contains(":") || first.equals("localhost") ? first : null;
  }

  /** A deep, mutable copy of a YAML tree. */
  private static Object copy(Object node) {
    if (node instanceof Map<?, ?>) {
      Map<String, Object> copied = new LinkedHashMap<>();
      map(node).forEach((key, value) -> copied.put(key, copy(value)));
      return copied;
    }
    if (node instanceof List<?>) {
      return new ArrayList<>(list(node).stream().map(KubernetesConsistencyTest::copy).toList());
    }
    return node;
  }

  private static Object yamlOf(String text) {
    return new org.yaml.snakeyaml.Yaml(
            new org.yaml.snakeyaml.constructor.SafeConstructor(
                new org.yaml.snakeyaml.LoaderOptions()))
        .load(text);
  }

  /** The topics create-topics.sh creates, with their partitions. */
  private static Map<String, Integer> scriptPartitions() {
    String script = Manifests.read("k8s/base/create-topics.sh");
    Map<String, Integer> created = new TreeMap<>();
    Matcher partitions =
        Pattern.compile("PARTITIONS=\"\\$\\{PARTITIONS:-(\\d+)}\"").matcher(script);
    assertThat(partitions.find()).isTrue();
    Matcher create = Pattern.compile("(?m)^create (\\S+) \\d+$").matcher(script);
    while (create.find()) {
      created.put(create.group(1), Integer.parseInt(partitions.group(1)));
    }
    return created;
  }

  private static Map<String, String> configMap() {
    Map<String, Object> config = byKind(objects, "ConfigMap").get("payments-config");
    assertThat(config).as("ConfigMap payments-config").isNotNull();
    return strings(config.get("data"));
  }

  /** {@link #secrets(String)} for the base's environment (staging). */
  private static Map<String, Map<String, String>> secrets() {
    return secrets(configMap().get("PAYMENTS_ENVIRONMENT"));
  }

  /**
   * The Secrets the base references, as an operator creates them where {@code PAYMENTS_ENVIRONMENT}
   * is {@code environment}: the names and keys of {@code k8s/secrets.example.yaml}, each
   * placeholder replaced by a random value of the same kind; outside production the Stripe key is a
   * test-mode one, since the services refuse a live key there.
   */
  private static Map<String, Map<String, String>> secrets(String environment) {
    boolean production = "production".equals(environment);
    Map<String, Map<String, String>> secrets = new TreeMap<>();
    exampleSecrets()
        .forEach(
            (name, keys) -> {
              Map<String, String> created = new LinkedHashMap<>();
              keys.forEach(
                  (key, value) ->
                      created.put(
                          key,
                          randomLike(
                              production ? value : value.replaceFirst("^sk_live_", "sk_test_"))));
              secrets.put(name, created);
            });
    return secrets;
  }

  /** The Secrets of {@code k8s/secrets.example.yaml}, placeholders and all, by name. */
  /** The Secret a workload's Kafka clients read their SASL and TLS variables from (envFrom). */
  private static String kafkaSecret(Workload workload) {
    return list(workload.container().get("envFrom")).stream()
        .map(from -> text(at(map(from), "secretRef.name")))
        .filter(name -> name != null && name.startsWith("payments-kafka"))
        .reduce((a, b) -> a + ", " + b)
        .orElse(null);
  }

  /** The Secret mounted as a workload's Kafka trust and key stores, at /etc/kafka-tls. */
  private static String kafkaTlsSecret(Workload workload) {
    return list(at(workload.template(), "spec.volumes")).stream()
        .filter(v -> "kafka-tls".equals(map(v).get("name")))
        .map(v -> text(at(map(v), "secret.secretName")))
        .reduce((a, b) -> a + ", " + b)
        .orElse(null);
  }

  private static Map<String, Map<String, String>> exampleSecrets() {
    Map<String, Map<String, String>> secrets = new TreeMap<>();
    byKind(Manifests.yamlDocuments(EXAMPLE_SECRETS), "Secret")
        .forEach(
            (name, secret) -> {
              Map<String, String> keys = new LinkedHashMap<>(strings(secret.get("stringData")));
              keys.putAll(strings(secret.get("data")));
              secrets.put(name, keys);
            });
    return secrets;
  }

  /** A random value with the Stripe prefix of {@code placeholder}, if it has one. */
  private static String randomLike(String placeholder) {
    Matcher prefix = Pattern.compile("^(whsec_|sk_live_|sk_test_)").matcher(placeholder);
    byte[] bytes = new byte[32];
    RANDOM.nextBytes(bytes);
    return (prefix.find() ? prefix.group(1) : "") + HexFormat.of().formatHex(bytes);
  }

  private static List<Integer> ports(Map<String, Object> policy) {
    List<Integer> ports = new ArrayList<>();
    for (Object rule : list(at(policy, "spec.ingress"))) {
      for (Object port : list(map(rule).get("ports"))) {
        ports.add((Integer) map(port).get("port"));
      }
    }
    return ports;
  }

  private static Map<String, String> composeEnvironment(String service) {
    return strings(
        at(map(Manifests.yaml("docker-compose.yml").get("services")), service + ".environment"));
  }

  private static String body(HttpClient http, URI uri) {
    try {
      HttpResponse<String> response =
          http.send(
              HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).build(),
              HttpResponse.BodyHandlers.ofString());
      return response.statusCode() == 200 ? response.body() : "";
    } catch (IOException e) {
      return "";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "";
    }
  }

  private static int status(HttpClient http, URI uri) {
    try {
      return http.send(
              HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).build(),
              HttpResponse.BodyHandlers.discarding())
          .statusCode();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  private static String emptyDirectory(String prefix) {
    try {
      return Files.createTempDirectory(prefix).toString();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
