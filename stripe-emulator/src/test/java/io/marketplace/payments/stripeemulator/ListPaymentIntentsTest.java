package io.marketplace.payments.stripeemulator;

import static org.assertj.core.api.Assertions.assertThat;

import com.stripe.StripeClient;
import com.stripe.exception.StripeException;
import com.stripe.model.PaymentIntent;
import com.stripe.model.StripeCollection;
import com.stripe.param.PaymentIntentCreateParams;
import com.stripe.param.PaymentIntentListParams;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Listing PaymentIntents as reconciliation does: by {@code created} window, page by page. */
class ListPaymentIntentsTest {
  private static final Instant START = Instant.parse("2026-03-01T10:00:00Z");

  private static StripeEmulator emulator;
  private static StripeClient stripe;
  private static final List<String> idsOldestFirst = new ArrayList<>();

  @BeforeAll
  static void start() throws StripeException {
    MutableClock clock = new MutableClock(START);
    emulator = StripeEmulator.start(StripeEmulator.Config.defaults().withClock(clock));
    stripe =
        StripeClient.builder()
            .setApiKey(emulator.secretKey())
            .setApiBase(emulator.baseUrl())
            .build();
    // Given five PaymentIntents created 10 minutes apart, two of them in the same second
    for (int i = 0; i < 5; i++) {
      if (i != 3) {
        clock.advance(Duration.ofMinutes(10));
      }
      idsOldestFirst.add(
          stripe
              .v1()
              .paymentIntents()
              .create(
                  PaymentIntentCreateParams.builder()
                      .setAmount(500L + i)
                      .setCurrency("usd")
                      .build())
              .getId());
    }
  }

  @AfterAll
  static void stop() {
    emulator.close();
  }

  @Test
  void shouldListNewestFirstWithinCreatedWindow() throws StripeException {
    // When
    StripeCollection<PaymentIntent> page =
        stripe
            .v1()
            .paymentIntents()
            .list(
                PaymentIntentListParams.builder()
                    .setCreated(
                        PaymentIntentListParams.Created.builder()
                            .setGte(START.plus(Duration.ofMinutes(30)).getEpochSecond())
                            .build())
                    .build());

    // Then
    assertThat(page.getData())
        .extracting(PaymentIntent::getId)
        .containsExactly(idsOldestFirst.get(4), idsOldestFirst.get(3), idsOldestFirst.get(2));
    assertThat(page.getHasMore()).isFalse();
    assertThat(page.getUrl()).isEqualTo("/v1/payment_intents");
  }

  @Test
  void shouldVisitEveryPaymentIntentOnceWhenAutoPaging() throws StripeException {
    // When
    List<String> visited = new ArrayList<>();
    stripe
        .v1()
        .paymentIntents()
        .list(PaymentIntentListParams.builder().setLimit(2L).build())
        .autoPagingIterable()
        .forEach(pi -> visited.add(pi.getId()));

    // Then
    assertThat(visited).containsExactlyElementsOf(idsOldestFirst.reversed());
  }

  @Test
  void shouldPageWithinWindowWhenCreatedHasBothBounds() throws StripeException {
    // Given
    PaymentIntentListParams params =
        PaymentIntentListParams.builder()
            .setLimit(1L)
            .setCreated(
                PaymentIntentListParams.Created.builder()
                    .setGt(START.plus(Duration.ofMinutes(10)).getEpochSecond())
                    .setLte(START.plus(Duration.ofMinutes(30)).getEpochSecond())
                    .build())
            .build();

    // When
    List<String> visited = new ArrayList<>();
    stripe
        .v1()
        .paymentIntents()
        .list(params)
        .autoPagingIterable()
        .forEach(pi -> visited.add(pi.getId()));

    // Then
    assertThat(visited)
        .containsExactly(idsOldestFirst.get(3), idsOldestFirst.get(2), idsOldestFirst.get(1));
  }

  @Test
  void shouldReturnNewerPageWhenEndingBefore() throws StripeException {
    // When
    StripeCollection<PaymentIntent> page =
        stripe
            .v1()
            .paymentIntents()
            .list(
                PaymentIntentListParams.builder()
                    .setLimit(2L)
                    .setEndingBefore(idsOldestFirst.get(1))
                    .build());

    // Then
    assertThat(page.getData())
        .extracting(PaymentIntent::getId)
        .containsExactly(idsOldestFirst.get(3), idsOldestFirst.get(2));
    assertThat(page.getHasMore()).isTrue();
  }
}
