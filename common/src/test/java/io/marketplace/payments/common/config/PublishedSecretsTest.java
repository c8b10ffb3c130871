package io.marketplace.payments.common.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The secrets docker-compose.yml publishes for development pass the strength check (they are
 * random), so that compose starts; staging and production refuse them, since anyone who reads the
 * repository has them.
 */
class PublishedSecretsTest {

  private static final Pattern SECRET =
      Pattern.compile(
          "^\\s*(STRIPE_SECRET_KEY|STRIPE_WEBHOOK_SECRET|AUTH_JWT_SECRET|DATABASE_PASSWORD"
              + "|POSTGRES_PASSWORD):\\s*(\\S+)\\s*$",
          Pattern.MULTILINE);

  @Test
  void shouldRefuseInProductionEverySecretTheComposeFilePublishes() throws Exception {
    // Given every secret docker-compose.yml gives a service
    String compose = Files.readString(Path.of("..", "docker-compose.yml"));
    Set<String> published = new TreeSet<>();
    Matcher secret = SECRET.matcher(compose);
    while (secret.find()) {
      published.add(secret.group(2).replaceAll("^\"|\"$", ""));
    }
    assertThat(published).as("secrets of docker-compose.yml").hasSizeGreaterThanOrEqualTo(4);

    for (String value : published) {
      // When a service reads it in development, then it starts (compose runs as development)
      Env development = Env.of(Map.of("X_SECRET", value));
      assertThatCode(() -> development.secret("X_SECRET")).doesNotThrowAnyException();
      // But when it reads it where it is deployed (staging's public ports are as reachable as
      // production's), it refuses, naming the variable, never the value
      for (String deployed : new String[] {"staging", "production"}) {
        Env env = Env.of(Map.of("X_SECRET", value, Deployment.VARIABLE, deployed));
        assertThatThrownBy(() -> env.secret("X_SECRET"))
            .as("%s", deployed)
            .isInstanceOf(InvalidConfigException.class)
            .hasMessageContaining("X_SECRET")
            .hasMessageContaining("published in this repository")
            .hasMessageContaining(Deployment.VARIABLE + "=" + deployed)
            .hasMessageNotContaining(value);
      }
    }
  }

  @Test
  void shouldStartInProductionWithASecretOfItsOwn() {
    // Given a random secret nobody published
    Env production =
        Env.of(
            Map.of(
                "X_SECRET",
                "whsec_9f0c1e7a3b5d24c6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5",
                Deployment.VARIABLE,
                "production"));

    // Then it is taken
    assertThat(production.secret("X_SECRET")).startsWith("whsec_");
  }
}
