package io.marketplace.payments.stripeemulator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.stripe.exception.SignatureVerificationException;
import com.stripe.net.Webhook;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class WebhookSignerTest {
  private static final String PAYLOAD =
      "{\n  \"id\": \"evt_1\",\n  \"object\": \"event\",\n  \"type\": \"payment_intent.succeeded\"\n}";
  private static final long NOW = 1_767_225_600L;
  private static final Clock CLOCK = Clock.fixed(Instant.ofEpochSecond(NOW), ZoneOffset.UTC);

  @Test
  void shouldProduceHeaderThatStripeJavaVerifiesWhenSignedWithTheSecret() throws Exception {
    // When
    String header = WebhookSigner.signatureHeader(PAYLOAD, NOW, "whsec_abc");

    // Then
    assertThat(header).matches("t=" + NOW + ",v1=[0-9a-f]{64}");
    assertThat(Webhook.Signature.verifyHeader(PAYLOAD, header, "whsec_abc", 300, CLOCK)).isTrue();
  }

  @Test
  void shouldFailVerificationWhenSecretOrPayloadDiffers() {
    // Given
    String header = WebhookSigner.signatureHeader(PAYLOAD, NOW, "whsec_abc");

    // Then
    assertThatThrownBy(
            () -> Webhook.Signature.verifyHeader(PAYLOAD, header, "whsec_other", 300, CLOCK))
        .isInstanceOf(SignatureVerificationException.class);
    assertThatThrownBy(
            () -> Webhook.Signature.verifyHeader(PAYLOAD + " ", header, "whsec_abc", 300, CLOCK))
        .isInstanceOf(SignatureVerificationException.class);
  }

  @Test
  void shouldCarryOneSignaturePerSecretWhenSecretsRotate() throws Exception {
    // When
    String header = WebhookSigner.signatureHeader(PAYLOAD, NOW, "whsec_old", "whsec_new");

    // Then
    assertThat(header.split(",v1=")).hasSize(3);
    assertThat(Webhook.Signature.verifyHeader(PAYLOAD, header, "whsec_old", 300, CLOCK)).isTrue();
    assertThat(Webhook.Signature.verifyHeader(PAYLOAD, header, "whsec_new", 300, CLOCK)).isTrue();
  }

  @Test
  void shouldMatchKnownHmacWhenGivenFixedInputs() {
    // Given: HMAC-SHA256 keyed "whsec_test" of "1.{}", computed with another HMAC implementation
    String expected = "7500d5d4be4b3ef07af1fe56f7d522d135cdaa7530de557e67cc1049c52de094";

    // When
    String signature = WebhookSigner.signature("{}", 1, "whsec_test");

    // Then
    assertThat(signature).isEqualTo(expected);
  }
}
