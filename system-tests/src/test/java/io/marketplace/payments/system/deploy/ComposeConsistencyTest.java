package io.marketplace.payments.system.deploy;

import static io.marketplace.payments.system.deploy.Manifests.at;
import static io.marketplace.payments.system.deploy.Manifests.list;
import static io.marketplace.payments.system.deploy.Manifests.map;
import static io.marketplace.payments.system.deploy.Manifests.strings;
import static io.marketplace.payments.system.deploy.Manifests.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.net.httpserver.HttpServer;
import io.marketplace.payments.common.config.SecretCheck;
import io.marketplace.payments.gateway.webhook.WebhookController;
import io.marketplace.payments.stripeemulator.StripeEmulator;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code docker-compose.yml} against the code: each service, given exactly the environment compose
 * gives it (anchors merged), starts its configuration without a missing variable, reads every
 * variable it is given, and listens where compose maps and health-checks it; images are built from
 * modules and main classes that exist; the addresses and secrets the services are given are those
 * of the Kafka, PostgreSQL and emulator that compose runs.
 */
class ComposeConsistencyTest {

  private static Map<String, Object> services;

  @BeforeAll
  static void readCompose() {
    services = map(Manifests.yaml("docker-compose.yml").get("services"));
  }

  @Test
  void shouldGiveNoServiceAPlaceholderSecretWhenComposeStartsIt() {
    for (Deployable deployable : Deployable.values()) {
      // Given the secrets compose gives the service
      Map<String, String> env = environment(deployable.module);
      for (String name :
          List.of(
              "AUTH_JWT_SECRET",
              "STRIPE_WEBHOOK_SECRET",
              "STRIPE_SECRET_KEY",
              "DATABASE_PASSWORD")) {
        if (!env.containsKey(name)) {
          continue;
        }
        // When each value is checked as the service checks it at start
        // Then none is a placeholder or guessable
        for (String value : env.get(name).split(",")) {
          assertThat(SecretCheck.weakness(value.trim()))
              .as("%s %s", deployable.module, name)
              .isEmpty();
        }
      }
    }
  }

  @Test
  void shouldConfigureEachServiceWhenGivenOnlyTheEnvironmentComposeProvides() {
    for (Deployable deployable : Deployable.values()) {
      // Given the environment compose gives the service, its anchors merged
      Map<String, String> env = environment(deployable.module);
      RecordingEnv recording = new RecordingEnv(env);

      // When the service reads its configuration as its Main does
      int[] port = new int[2];
      assertThatCode(
              () -> {
                port[0] = deployable.configuredPort(recording.env());
                port[1] = deployable.metricsPort(recording.env());
              })
          .as("%s with compose's environment %s", deployable.module, env.keySet())
          .doesNotThrowAnyException();

      // Then nothing it is given goes unread (a typo would leave the real variable at its default)
      assertThat(recording.unread())
          .as("%s: variables set but never read", deployable.module)
          .isEmpty();
      // And it listens on the ports compose publishes (its serving port and, for the gateway and
      // the API, its admin port) and health-checks (the API on its admin port, as the kubelet
      // probes it)
      Map<String, Object> service = service(deployable.module);
      List<Integer> published = containerPorts(service);
      assertThat(published)
          .as("%s: published container ports", deployable.module)
          .allMatch(p -> p == port[0] || p == port[1]);
      HealthCheck check = healthCheck(service);
      assertThat(check.port())
          .as("%s: health check port", deployable.module)
          .isEqualTo(deployable == Deployable.CHECKOUT_API ? port[1] : port[0]);
      assertThat(check.path())
          .as("%s: health check path", deployable.module)
          .isEqualTo("/health/ready");
      // And it waits for the broker's topics and the database before starting
      assertThat(map(service.get("depends_on")))
          .as("%s: depends_on", deployable.module)
          .containsKeys("kafka-init", "postgres");
    }
  }

  @Test
  void shouldTurnHealthyWhenDockerRunsEachHealthCheckInTheImage() throws Exception {
    // Given the images' shell: they are eclipse-temurin's JRE, on Ubuntu, whose /bin/sh is dash
    // (a CMD-SHELL check runs as /bin/sh -c), and dash, unlike bash, has no /dev/tcp
    assertThat(Manifests.read("Dockerfile"))
        .containsPattern("ARG JRE_IMAGE=docker.io/library/eclipse-temurin:\\d+-jre\\n");
    for (Deployable deployable : Deployable.values()) {
      List<String> check =
          list(at(service(deployable.module), "healthcheck.test")).stream()
              .map(String::valueOf)
              .toList();
      for (int status : new int[] {200, 503}) {
        // And a server answering its health path with that status
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext(
            "/",
            exchange -> {
              int answer =
                  exchange.getRequestURI().getPath().equals("/health/ready") ? status : 404;
              exchange.getResponseHeaders().set("Connection", "close");
              exchange.sendResponseHeaders(answer, -1);
              exchange.close();
            });
        server.start();
        try {
          // When Docker runs the service's check against it, as it runs it in the image
          int port = server.getAddress().getPort();
          List<String> command = asDockerRuns(check, port);
          if (command.getFirst().equals("dash")) {
            assumeTrue(onPath("dash"), "dash, the images' /bin/sh, to run " + check);
          }
          int exit = run(command);

          // Then it passes when the service is ready, and fails when it is not
          assertThat(exit)
              .as("%s health check %s against %d", deployable.module, command, status)
              .matches(code -> status == 200 ? code == 0 : code != 0);
        } finally {
          server.stop(0);
        }
      }
    }
  }

  /**
   * A health check's {@code test} as Docker runs it in one of our images, aimed at {@code port}:
   * {@code CMD} as its arguments, {@code CMD-SHELL} through the images' /bin/sh (dash).
   */
  private static List<String> asDockerRuns(List<String> check, int port) {
    List<String> command = new ArrayList<>();
    switch (check.getFirst()) {
      case "CMD" -> command.addAll(check.subList(1, check.size()));
      case "CMD-SHELL" ->
          command.addAll(List.of("dash", "-c", String.join(" ", check.subList(1, check.size()))));
      default ->
          throw new AssertionError("a health check test starts with CMD or CMD-SHELL: " + check);
    }
    command.replaceAll(
        arg -> arg.replaceAll("/dev/tcp/127\\.0\\.0\\.1/\\d+", "/dev/tcp/127.0.0.1/" + port));
    return command;
  }

  /** The exit status of {@code command}, killed (and failed) after Docker's timeout and more. */
  private static int run(List<String> command) throws Exception {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    process.getOutputStream().close();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      return -1;
    }
    process.getInputStream().readAllBytes();
    return process.exitValue();
  }

  private static boolean onPath(String program) {
    return Arrays.stream(System.getenv().getOrDefault("PATH", "").split(":"))
        .anyMatch(dir -> Files.isExecutable(Path.of(dir, program)));
  }

  @Test
  void shouldBuildEveryImageFromAModuleAndAMainClassWhenComposeNamesThem() throws Exception {
    // Given the images compose builds
    Map<String, Map<String, String>> builds = new LinkedHashMap<>();
    services.forEach(
        (name, service) -> {
          Object args = at(map(service), "build.args");
          if (args != null) {
            builds.put(name, strings(args));
          }
        });

    // When each service of the code looks for its image among them
    // Then every service has one, built from its own module and running its own Main
    assertThat(builds.keySet())
        .containsAll(Arrays.stream(Deployable.values()).map(d -> d.module).toList());
    for (Deployable deployable : Deployable.values()) {
      Map<String, String> args = builds.get(deployable.module);
      assertThat(args.get("SERVICE")).isEqualTo(deployable.module);
      assertThat(args.get("MAIN_CLASS")).isEqualTo(deployable.mainClass.getName());
      assertThat(text(service(deployable.module).get("image")))
          .isEqualTo("marketplace-payments/" + deployable.module + ":local");
    }
    // And every image (the emulator's too) is a module of the build with a runnable main class
    List<String> modules = Manifests.modules();
    for (Map.Entry<String, Map<String, String>> build : builds.entrySet()) {
      String module = build.getValue().get("SERVICE");
      assertThat(modules)
          .as("%s: SERVICE is a module of the root pom", build.getKey())
          .contains(module);
      assertThat(Files.isDirectory(Manifests.root().resolve(module))).isTrue();
      Method main =
          Class.forName(build.getValue().get("MAIN_CLASS")).getMethod("main", String[].class);
      assertThat(Modifier.isStatic(main.getModifiers()) && Modifier.isPublic(main.getModifiers()))
          .as("%s: public static void main(String[])", build.getValue().get("MAIN_CLASS"))
          .isTrue();
    }
  }

  @Test
  void shouldPointEveryServiceAtTheInfrastructureComposeRunsWhenAddressesAndSecretsAreRead()
      throws Exception {
    // Given what compose runs: the broker, the database, the Stripe emulator
    Map<String, String> kafka = environment("kafka");
    Map<String, String> postgres = environment("postgres");
    Map<String, String> emulatorEnv = environment("stripe-emulator");
    StripeEmulator.Config emulator = emulatorConfig(emulatorEnv);
    Set<String> advertised =
        Arrays.stream(kafka.get("KAFKA_ADVERTISED_LISTENERS").split(","))
            .map(listener -> listener.replaceFirst("^[A-Z_]+://", ""))
            .collect(Collectors.toSet());

    // When each service's addresses and secrets are compared with them
    // Then the emulator listens where compose publishes it
    assertThat(containerPorts(service("stripe-emulator"))).containsOnly(emulator.port());

    Map<String, String> gateway = environment("webhook-gateway");
    for (Deployable deployable : Deployable.values()) {
      Map<String, String> env = environment(deployable.module);
      // And each service's broker is a listener Kafka advertises
      assertThat(advertised)
          .as("%s: KAFKA_BOOTSTRAP_SERVERS", deployable.module)
          .contains(env.get("KAFKA_BOOTSTRAP_SERVERS"));
      // And its database is the one PostgreSQL creates, with its credentials
      if (env.containsKey("DATABASE_URL")) {
        URI url = URI.create(env.get("DATABASE_URL").substring("jdbc:".length()));
        assertThat(url.getHost()).isEqualTo("postgres");
        assertThat(url.getPort()).isEqualTo(5432);
        assertThat(url.getPath()).isEqualTo("/" + postgres.get("POSTGRES_DB"));
        assertThat(env.get("DATABASE_USER")).isEqualTo(postgres.get("POSTGRES_USER"));
        assertThat(env.get("DATABASE_PASSWORD")).isEqualTo(postgres.get("POSTGRES_PASSWORD"));
      }
      // And its Stripe is the emulator, with the key the emulator accepts
      if (env.containsKey("STRIPE_SECRET_KEY")) {
        assertThat(env.get("STRIPE_API_BASE"))
            .isEqualTo("http://stripe-emulator:" + emulator.port());
        assertThat(env.get("STRIPE_SECRET_KEY")).isEqualTo(emulator.secretKey());
      }
    }
    // And the emulator delivers webhooks to the gateway, signed with a secret the gateway accepts
    assertThat(emulator.webhookEndpoints()).hasSize(1);
    StripeEmulator.WebhookEndpoint endpoint = emulator.webhookEndpoints().getFirst();
    int gatewayPort = Deployable.WEBHOOK_GATEWAY.configuredPort(new RecordingEnv(gateway).env());
    assertThat(endpoint.url())
        .isEqualTo("http://webhook-gateway:" + gatewayPort + WebhookController.PATH);
    assertThat(Arrays.stream(gateway.get("STRIPE_WEBHOOK_SECRET").split(",")).map(String::trim))
        .contains(endpoint.secret());
  }

  @Test
  void shouldGiveTheGatewayNoDatabaseOrStripeKeyWhenItsEnvironmentIsRead() {
    // Given the gateway's environment
    Set<String> names = environment("webhook-gateway").keySet();

    // When its variables are listed
    // Then it holds no credential it does not need: it only verifies and forwards webhooks
    assertThat(names)
        .doesNotContain(
            "DATABASE_URL",
            "DATABASE_USER",
            "DATABASE_PASSWORD",
            "STRIPE_SECRET_KEY",
            "AUTH_JWT_SECRET");
  }

  @Test
  void shouldCreateTheTopicsWithTheScriptKubernetesUsesWhenComposeStarts() {
    // Given compose's topic init container
    Map<String, Object> init = service("kafka-init");

    // When its volumes and environment are read
    // Then it runs the one topic script there is, mounted from the Kubernetes base
    assertThat(list(init.get("volumes")).stream().map(String::valueOf))
        .anyMatch(volume -> volume.startsWith("./k8s/base/create-topics.sh:"));
    assertThat(Files.isRegularFile(Manifests.root().resolve("k8s/base/create-topics.sh"))).isTrue();
    assertThat(environment("kafka-init").get("KAFKA_BOOTSTRAP_SERVERS"))
        .isEqualTo(environment("webhook-gateway").get("KAFKA_BOOTSTRAP_SERVERS"));
  }

  @Test
  void shouldKeepKafkaAndPostgresqlDataOnTheirVolumesWhenTheirContainersAreRecreated() {
    // Given where the broker and the database keep their data: the apache/kafka image writes to
    // KAFKA_LOG_DIRS, /tmp/kraft-combined-logs when it is not set; the postgres image to PGDATA,
    // /var/lib/postgresql/data up to version 17 (/var/lib/postgresql/<major>/docker from 18 on)
    Map<String, String> kafkaEnv = environment("kafka");
    String logDirs = kafkaEnv.getOrDefault("KAFKA_LOG_DIRS", "/tmp/kraft-combined-logs");
    Map<String, String> postgresEnv = environment("postgres");
    Matcher postgresMajor =
        Pattern.compile("^postgres:(\\d+)").matcher(text(service("postgres").get("image")));
    assertThat(postgresMajor.find()).as("postgres image with a major version").isTrue();
    int major = Integer.parseInt(postgresMajor.group(1));
    String pgData =
        postgresEnv.getOrDefault(
            "PGDATA",
            major >= 18 ? "/var/lib/postgresql/" + major + "/docker" : "/var/lib/postgresql/data");

    // When their containers are recreated (an image update, `docker compose down` then `up`)
    // Then what they wrote is on a named volume, which outlives the container: a broker that lost
    // its topics and offsets beside a database that kept its rows would drop every webhook the
    // gateway acknowledged and no worker had applied yet
    for (String dir : logDirs.split(",")) {
      assertThat(onNamedVolume(service("kafka"), dir.trim()))
          .as("kafka's log dir %s on a named volume %s", dir, service("kafka").get("volumes"))
          .isTrue();
    }
    assertThat(onNamedVolume(service("postgres"), pgData))
        .as("postgres's PGDATA %s on a named volume %s", pgData, service("postgres").get("volumes"))
        .isTrue();
  }

  /** Whether {@code path} in the container lies on a named volume (not a bind mount) of compose. */
  private static boolean onNamedVolume(Map<String, Object> service, String path) {
    Set<String> named = map(Manifests.yaml("docker-compose.yml").get("volumes")).keySet();
    for (Object volume : list(service.get("volumes"))) {
      String[] parts = String.valueOf(volume).split(":");
      if (parts.length >= 2
          && named.contains(parts[0])
          && (path.equals(parts[1]) || path.startsWith(parts[1] + "/"))) {
        return true;
      }
    }
    return false;
  }

  // ---- reading compose

  static Map<String, Object> service(String name) {
    Object service = services.get(name);
    assertThat(service).as("compose service %s", name).isNotNull();
    return map(service);
  }

  @Test
  void shouldPublishEveryPortOnTheLoopbackOnlyWhenComposeMapsItToTheHost() {
    // Given every port compose publishes: Kafka without authentication, PostgreSQL and the
    // emulator with the secrets committed in this file, the services' public and admin ports
    for (Map.Entry<String, Object> service : services.entrySet()) {
      for (Object mapping : list(map(service.getValue()).get("ports"))) {
        // When Docker binds it on the host
        // Then it binds the loopback: a short "host:container" mapping binds every interface,
        // so anyone on the machine's network could publish "Stripe events" to the unauthenticated
        // broker, or log into PostgreSQL with the password written above
        assertThat(String.valueOf(mapping))
            .as("%s publishes %s", service.getKey(), mapping)
            .startsWith("127.0.0.1:");
      }
    }
  }

  /** The service's environment with anchors merged, every value as text. */
  static Map<String, String> environment(String name) {
    return new LinkedHashMap<>(strings(service(name).get("environment")));
  }

  /** The container side of each {@code "host:container"} port mapping. */
  private static List<Integer> containerPorts(Map<String, Object> service) {
    return list(service.get("ports")).stream()
        .map(String::valueOf)
        .map(
            mapping ->
                Integer.parseInt(
                    mapping.substring(mapping.lastIndexOf(':') + 1).replaceAll("/.*", "")))
        .toList();
  }

  record HealthCheck(int port, String path) {}

  private static HealthCheck healthCheck(Map<String, Object> service) {
    String test =
        String.join(
            " ", list(at(service, "healthcheck.test")).stream().map(String::valueOf).toList());
    Matcher port = Pattern.compile("/dev/tcp/[^/]+/(\\d+)").matcher(test);
    Matcher path = Pattern.compile("GET (\\S+) HTTP").matcher(test);
    assertThat(port.find() && path.find()).as("a port and a path in %s", test).isTrue();
    return new HealthCheck(Integer.parseInt(port.group(1)), path.group(1));
  }

  /** The emulator's configuration, read by its own Main from compose's environment. */
  private static StripeEmulator.Config emulatorConfig(Map<String, String> env) throws Exception {
    Method configFromEnv =
        io.marketplace.payments.stripeemulator.Main.class.getDeclaredMethod(
            "configFromEnv", Map.class);
    configFromEnv.setAccessible(true);
    return (StripeEmulator.Config) configFromEnv.invoke(null, env);
  }
}
