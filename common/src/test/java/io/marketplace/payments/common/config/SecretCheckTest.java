package io.marketplace.payments.common.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SecretCheckTest {

  /**
   * A fixed seed: the random secrets below are the same 12,000 on every run, so that the test
   * cannot pass on one run and fail on the next. The seed is arbitrary; any other would do.
   */
  private static final Random RANDOM = new Random(20_261_204L);

  private static String hex(int bytes) {
    byte[] buffer = new byte[bytes];
    RANDOM.nextBytes(buffer);
    return HexFormat.of().formatHex(buffer);
  }

  @Test
  void shouldRefuseEveryKnownPlaceholderWhenAServiceStarts() {
    // Given the placeholders of example files and stand-ins people type
    List<String> placeholders =
        List.of(
            "CHANGE_ME",
            "CHANGE_ME_TO_A_RANDOM_KEY_OF_AT_LEAST_32_BYTES",
            "whsec_CHANGE_ME",
            "sk_live_CHANGE_ME",
            "sk_test_00000000000000000000placeholder",
            "changeme",
            "change-me-please-0a9f8e7d6c5b4a39",
            "example-secret-4f8a9c0d1e2b3a4f5e6d",
            "dummy-jwt-key-8c7b6a5f4e3d2c1b0a9f",
            "password",
            "secret",
            "test",
            "whsec_test",
            "postgres");

    // When each is checked, then each is refused as a placeholder
    for (String value : placeholders) {
      assertThat(SecretCheck.weakness(value)).as(value).isPresent();
    }
  }

  @Test
  void shouldRefuseLowEntropyValuesWhenTheyAreLongEnough() {
    // Given values long enough but not random
    List<String> weak =
        List.of(
            "a".repeat(48),
            "whsec_" + "x".repeat(40),
            "abcabcabcabcabcabcabcabcabcabcabcabc",
            "0123456789abcdef0123456789abcdef",
            "abcdefghijklmnopqrstuvwxyz012345",
            "sk_live_short1",
            "aabbccddaabbccddaabbccddaabbccdd11");

    // When each is checked, then each is refused
    for (String value : weak) {
      assertThat(SecretCheck.weakness(value)).as(value).isPresent();
    }
  }

  @Test
  void shouldAcceptRandomSecretsWhenTheyAreGeneratedAsTheLocalStackAndStripeDo() {
    // Given secrets made by a random generator, in the shapes the system uses
    for (int i = 0; i < 2_000; i++) {
      List<String> random =
          List.of(
              "sk_test_" + hex(24),
              "whsec_" + hex(32),
              hex(48),
              hex(16),
              "whsec_" + Base64.getEncoder().encodeToString(randomBytes(24)),
              "sk_live_" + Base64.getUrlEncoder().withoutPadding().encodeToString(randomBytes(48)));

      // When each is checked, then none is refused
      for (String value : random) {
        assertThat(SecretCheck.weakness(value)).as(value).isEmpty();
      }
    }
  }

  @Test
  void shouldRefusePlaceholderWordsOnlyAsPeopleWriteThem() {
    // Given placeholder words as people write them, inside otherwise random-looking values
    List<String> placeholders =
        List.of(
            "whsec_dummy8c7b6a5f4e3d2c1b0a9f7e6d",
            "whsec_DUMMY8c7b6a5f4e3d2c1b0a9f7e6d",
            "sk_test_ChangeMe8c7b6a5f4e3d2c1b0a9f",
            "sk_test_changeMe8c7b6a5f4e3d2c1b0a9f",
            "sk_test_Change_Me_8c7b6a5f4e3d2c1b0a9f",
            "YourSecretKey-8c7b6a5f4e3d2c1b0a9f");
    // and a Stripe-like random key that spells one in a mix of cases no person types
    String random = "whsec_DtRyZsLCPqjJ2GdumMYeWHTEKKm8Z1bp";

    // When each is checked, then the placeholders are refused and the random key is not
    for (String value : placeholders) {
      assertThat(SecretCheck.weakness(value)).as(value).isPresent();
    }
    assertThat(SecretCheck.weakness(random)).isEmpty();
  }

  @Test
  void shouldNameTheVariableAndNeverTheValueWhenASecretIsRefused() {
    // Given a placeholder in one of two rotated webhook secrets
    String good = "whsec_" + hex(32);
    Env env =
        Env.of(
            Map.of(
                "STRIPE_WEBHOOK_SECRET", good + ",whsec_CHANGE_ME",
                "AUTH_JWT_SECRET", "CHANGE_ME_TO_A_RANDOM_KEY_OF_AT_LEAST_32_BYTES",
                "DATABASE_PASSWORD", "changeme"));

    // When each is read as a secret, then one line names the variable, not the value
    assertThatThrownBy(() -> env.secrets("STRIPE_WEBHOOK_SECRET"))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessage(
            "invalid environment variable STRIPE_WEBHOOK_SECRET: is a placeholder, not a real"
                + " secret")
        .hasMessageNotContaining(good);
    assertThatThrownBy(() -> env.secret("AUTH_JWT_SECRET"))
        .hasMessageStartingWith("invalid environment variable AUTH_JWT_SECRET:")
        .hasMessageNotContaining("CHANGE_ME");
    assertThatThrownBy(() -> env.optionalSecret("DATABASE_PASSWORD"))
        .hasMessageStartingWith("invalid environment variable DATABASE_PASSWORD:");
    // And an unset optional secret is simply empty, a missing required one is named
    assertThat(env.optionalSecret("UNSET_PASSWORD")).isEmpty();
    assertThatThrownBy(() -> env.secret("STRIPE_SECRET_KEY"))
        .isInstanceOf(MissingConfigException.class)
        .hasMessage("missing required environment variable STRIPE_SECRET_KEY");
  }

  private static byte[] randomBytes(int n) {
    byte[] buffer = new byte[n];
    RANDOM.nextBytes(buffer);
    return buffer;
  }
}
