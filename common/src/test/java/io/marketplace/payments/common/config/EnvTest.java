package io.marketplace.payments.common.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EnvTest {

  @Test
  void shouldNameTheVariableWhenARequiredOneIsMissingOrBlank() {
    // Given an environment without DATABASE_URL and with a blank STRIPE_SECRET_KEY
    Env env = Env.of(Map.of("STRIPE_SECRET_KEY", "  "));

    // When / Then each is refused with one line naming it
    assertThatThrownBy(() -> env.required("DATABASE_URL"))
        .isInstanceOf(MissingConfigException.class)
        .hasMessage("missing required environment variable DATABASE_URL");
    assertThatThrownBy(() -> env.required("STRIPE_SECRET_KEY"))
        .hasMessage("missing required environment variable STRIPE_SECRET_KEY");
  }

  @Test
  void shouldNeverRepeatTheValueWhenAVariableIsInvalid() {
    // Given a secret-looking value where a number is expected
    Env env = Env.of(Map.of("API_PORT", "sk_live_secret"));

    // When / Then the error names the variable, not the value
    assertThatThrownBy(() -> env.integer("API_PORT", 8081))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("API_PORT")
        .hasMessageNotContaining("sk_live_secret");
  }

  @Test
  void shouldRefuseAFlagThatIsNeitherTrueNorFalseRatherThanReadItAsFalse() {
    // Given flags in any case, one misspelt and one blank
    Env env = Env.of(Map.of("A", "TRUE", "B", " false ", "DATABASE_MIGRATE", "no", "BLANK", " "));

    // Then the spelt ones are read, the blank one falls back, and the misspelt one is refused
    assertThat(env.bool("A", false)).isTrue();
    assertThat(env.bool("B", true)).isFalse();
    assertThat(env.bool("BLANK", true)).isTrue();
    assertThatThrownBy(() -> env.bool("DATABASE_MIGRATE", true))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("DATABASE_MIGRATE")
        .hasMessageContaining("true or false");
  }

  @Test
  void shouldParseDurationsListsAndDefaultsWhenSet() {
    // Given durations in both spellings and a comma-separated list with blanks
    Env env =
        Env.of(
            Map.of(
                "A",
                "PT24H",
                "B",
                "500ms",
                "C",
                "30s",
                "D",
                "5m",
                "E",
                "2d",
                "SECRETS",
                " whsec_a, ,whsec_b "));

    // Then
    assertThat(env.duration("A", Duration.ZERO)).isEqualTo(Duration.ofHours(24));
    assertThat(env.duration("B", Duration.ZERO)).isEqualTo(Duration.ofMillis(500));
    assertThat(env.duration("C", Duration.ZERO)).isEqualTo(Duration.ofSeconds(30));
    assertThat(env.duration("D", Duration.ZERO)).isEqualTo(Duration.ofMinutes(5));
    assertThat(env.duration("E", Duration.ZERO)).isEqualTo(Duration.ofDays(2));
    assertThat(env.duration("MISSING", Duration.ofSeconds(7))).isEqualTo(Duration.ofSeconds(7));
    assertThat(env.list("SECRETS", true)).containsExactly("whsec_a", "whsec_b");
    assertThat(env.integer("MISSING", 30)).isEqualTo(30);
  }

  @Test
  void shouldLetOverridesWinWhenLayered() {
    // Given a base environment and an override
    Env env = Env.of(Map.of("ADMIN_PORT", "8082", "X", "base")).with(Map.of("ADMIN_PORT", "9000"));

    // Then
    assertThat(env.integer("ADMIN_PORT", 0)).isEqualTo(9000);
    assertThat(env.required("X")).isEqualTo("base");
  }
}
