package io.marketplace.payments.stripeemulator;

import static org.assertj.core.api.Assertions.assertThat;

import com.stripe.StripeClient;
import com.stripe.model.PaymentIntent;
import com.stripe.net.RequestOptions;
import com.stripe.param.PaymentIntentCreateParams;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The local stack keeps Stripe's state across restarts in a data directory. */
class DataDirTest {

  @Test
  void shouldKeepObjectsAndIdempotencyKeysWhenRestartedWithTheSameDataDir(@TempDir Path dir)
      throws Exception {
    // Given
    StripeEmulator.Config config = StripeEmulator.Config.defaults().withDataDir(dir);
    RequestOptions key = RequestOptions.builder().setIdempotencyKey("checkout-listing-1").build();
    PaymentIntentCreateParams params =
        PaymentIntentCreateParams.builder()
            .setAmount(500L)
            .setCurrency("usd")
            .putMetadata("listing_id", "listing-1")
            .setPaymentMethod("pm_card_visa")
            .setConfirm(true)
            .build();
    PaymentIntent before;
    String endpointId;
    try (StripeEmulator first = StripeEmulator.start(config)) {
      before = client(first).v1().paymentIntents().create(params, key);
      endpointId = first.addWebhookEndpoint("http://127.0.0.1:9/hook", "whsec_kept");
    }
    // a crash in the middle of a write leaves half a line at the end
    Files.writeString(
        dir.resolve("journal.jsonl"),
        "{\"paymentIntent\":{\"id\":\"pi_",
        StandardOpenOption.APPEND);

    // When
    try (StripeEmulator second = StripeEmulator.start(config)) {
      StripeClient stripe = client(second);
      PaymentIntent retrieved = stripe.v1().paymentIntents().retrieve(before.getId());
      PaymentIntent replayed = stripe.v1().paymentIntents().create(params, key);

      // Then
      assertThat(retrieved.getStatus()).isEqualTo("succeeded");
      assertThat(retrieved.getMetadata()).containsEntry("listing_id", "listing-1");
      assertThat(stripe.v1().charges().retrieve(before.getLatestCharge()).getAmount())
          .isEqualTo(500L);
      assertThat(replayed.getId()).isEqualTo(before.getId());
      assertThat(stripe.v1().webhookEndpoints().retrieve(endpointId).getUrl())
          .isEqualTo("http://127.0.0.1:9/hook");
    }
  }

  private static StripeClient client(StripeEmulator emulator) {
    return StripeClient.builder()
        .setApiKey(emulator.secretKey())
        .setApiBase(emulator.baseUrl())
        .build();
  }
}
