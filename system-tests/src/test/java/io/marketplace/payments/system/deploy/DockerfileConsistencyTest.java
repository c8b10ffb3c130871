package io.marketplace.payments.system.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The one {@code Dockerfile} against the build: any service's image can be built from its module
 * alone (in an empty Maven repository, as on a build machine), the jar it copies is the one its
 * module produces, the JDK is new enough for the compiler release, and the container runs the given
 * main class, with the container's arguments, as the user Kubernetes expects.
 */
class DockerfileConsistencyTest {

  private static final String DOCKERFILE = Manifests.read("Dockerfile");

  /** The numeric user of the runtime image. */
  static int imageUser() {
    Matcher user = Pattern.compile("(?m)^USER (\\d+)(?::\\d+)?\\s*$").matcher(DOCKERFILE);
    assertThat(user.find()).as("a numeric USER in the Dockerfile").isTrue();
    return Integer.parseInt(user.group(1));
  }

  @Test
  void shouldRunTheGivenMainClassWithTheContainerArgumentsWhenTheImageStarts() {
    // Given the runtime stage of the Dockerfile
    String runtime = DOCKERFILE.substring(DOCKERFILE.lastIndexOf("\nFROM "));

    // When its arguments, entry point and user are read
    // Then it takes the module and the main class as build arguments
    assertThat(runtime).contains("ARG SERVICE", "ARG MAIN_CLASS");
    // And runs that class with whatever arguments the container is given (--once for a pass by
    // hand)
    Matcher entrypoint = Pattern.compile("(?m)^ENTRYPOINT (.+)$").matcher(runtime);
    assertThat(entrypoint.find()).isTrue();
    assertThat(entrypoint.group(1))
        .contains("$MAIN_CLASS")
        .contains("\\\"$@\\\"")
        .contains("exec java");
    // And as a non-root user, the one the pods' securityContext names
    assertThat(imageUser()).isPositive();
  }

  @Test
  void shouldCompileForTheProjectsReleaseWhenTheBuildImageIsUsed() {
    // Given the JDK and JRE images, and the release the compiler targets
    int jdk = imageMajor("JDK_IMAGE");
    int jre = imageMajor("JRE_IMAGE");
    Matcher release =
        Pattern.compile("<maven.compiler.release>(\\d+)</maven.compiler.release>")
            .matcher(Manifests.read("pom.xml"));
    assertThat(release.find()).isTrue();

    // When their major versions are compared
    // Then the JDK can compile it and the JRE run it
    assertThat(jdk).isGreaterThanOrEqualTo(Integer.parseInt(release.group(1)));
    assertThat(jre).isEqualTo(jdk);
  }

  @Test
  void shouldFindEveryServiceDependencyInsideTheBuildWhenTheMavenRepositoryStartsEmpty() {
    // Given the Maven invocations of the build stage, in order
    List<String> invocations = mavenInvocations();
    assertThat(invocations).isNotEmpty();

    // When the one that copies the runtime dependencies runs on a build machine
    // Then it can find the project's own modules (common,
    // ...): either it builds them in the same reactor (-am), or an earlier invocation installed
    // them.
    // A plain `package` leaves them in target/ only, and a later `-pl <service>` run then looks for
    // them in the (empty) repository and fails.
    for (int i = 0; i < invocations.size(); i++) {
      String invocation = invocations.get(i);
      if (!invocation.contains("dependency:copy-dependencies")) {
        continue;
      }
      boolean sameReactor =
          invocation.contains("-am") && invocation.matches("(?s).*\\b(package|install)\\b.*");
      boolean installedBefore =
          invocations.subList(0, i).stream()
              .anyMatch(
                  earlier -> earlier.matches("(?s).*\\binstall\\b.*") && earlier.contains("-am"));
      assertThat(sameReactor || installedBefore)
          .as("dependencies resolvable for: %s", invocation)
          .isTrue();
    }
  }

  @Test
  void shouldCopyTheJarEachServiceModuleBuildsWhenTheImageIsAssembled() {
    // Given the jar the Dockerfile copies: <module>/target/<module>-*.jar
    assertThat(DOCKERFILE).contains("\"${SERVICE}\"/target/\"${SERVICE}\"-*.jar");

    for (Deployable deployable : Deployable.values()) {
      // When each service module's pom is read
      // Then it builds a jar of that name: artifactId = directory, no finalName
      String pom = Manifests.read(deployable.module + "/pom.xml");
      String ownPart = pom.substring(pom.indexOf("</parent>"));
      Matcher artifactId = Pattern.compile("<artifactId>([^<]+)</artifactId>").matcher(ownPart);
      assertThat(artifactId.find()).isTrue();
      assertThat(artifactId.group(1)).isEqualTo(deployable.module);
      assertThat(pom).doesNotContain("<finalName>");
      assertThat(pom).doesNotContain("<packaging>pom</packaging>");
    }
  }

  private static int imageMajor(String arg) {
    Matcher image =
        Pattern.compile("ARG " + arg + "=docker.io/library/eclipse-temurin:(\\d+)-")
            .matcher(DOCKERFILE);
    assertThat(image.find()).as(arg).isTrue();
    return Integer.parseInt(image.group(1));
  }

  /** Every {@code ./mvnw ...} of the build stage's RUN instructions, continuation lines joined. */
  private static List<String> mavenInvocations() {
    String build = DOCKERFILE.substring(0, DOCKERFILE.lastIndexOf("\nFROM "));
    String joined = build.replace("\\\n", " ");
    List<String> invocations = new ArrayList<>();
    for (String line : joined.split("\n")) {
      if (line.startsWith("RUN ")) {
        Arrays.stream(line.split("&&|;"))
            .map(String::strip)
            .filter(command -> command.contains("./mvnw"))
            .forEach(invocations::add);
      }
    }
    return invocations;
  }
}
