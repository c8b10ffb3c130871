package io.marketplace.payments.checkout.checkout;

import static org.assertj.core.api.Assertions.assertThat;

import io.marketplace.payments.checkout.CheckoutApi;
import io.marketplace.payments.checkout.Http;
import io.marketplace.payments.checkout.TestApi;
import io.marketplace.payments.checkout.Tokens;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two checkout-api replicas of one deployment (one database, one Stripe account): what keeps a
 * purchase to one PaymentIntent is in PostgreSQL (the listing's lock, one open attempt per listing
 * and type) and in Stripe's idempotency key, not in either process, so checkouts racing on both at
 * once, each under its own Idempotency-Key, still reach one PaymentIntent.
 */
class TwoReplicasTest {

  private static TestApi app;
  private static CheckoutApi replica;
  private static Http replicaHttp;

  @BeforeAll
  static void start() {
    app = TestApi.start(config -> config);
    replica = app.startReplica();
    replicaHttp = new Http(replica.baseUrl());
  }

  @AfterAll
  static void stop() {
    if (replica != null) {
      replica.close();
    }
    if (app != null) {
      app.close();
    }
  }

  @Test
  void shouldCreateExactlyOnePaymentIntentWhenCheckoutsRaceOnTwoReplicas() throws Exception {
    // Given a listing awaiting its posting fee
    UUID owner = UUID.randomUUID();
    UUID listingId = app.createListing(owner, "jobs");
    String path = "/api/marketplace/listings/" + listingId + "/checkout";
    int each = 8;
    CountDownLatch ready = new CountDownLatch(2 * each);
    CountDownLatch go = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(2 * each);
    List<Future<Http.Response>> answers = new ArrayList<>();

    // When checkouts reach both replicas at once, each under an Idempotency-Key of its own
    try {
      for (Http http : List.of(app.http, replicaHttp)) {
        for (int i = 0; i < each; i++) {
          answers.add(
              pool.submit(
                  () -> {
                    ready.countDown();
                    go.await();
                    return http.post(path)
                        .token(Tokens.user(owner))
                        .idempotencyKey(UUID.randomUUID().toString())
                        .send();
                  }));
        }
      }
      assertThat(ready.await(10, TimeUnit.SECONDS)).isTrue();
      go.countDown();

      // Then every one gets the same PaymentIntent
      List<String> ids = new ArrayList<>();
      for (Future<Http.Response> answer : answers) {
        Http.Response response = answer.get(60, TimeUnit.SECONDS);
        assertThat(response.status()).as(response.toString()).isEqualTo(200);
        ids.add(response.json().get("paymentIntentId").asText());
      }
      assertThat(ids).hasSize(2 * each).containsOnly(ids.getFirst());
    } finally {
      pool.shutdownNow();
    }

    // and Stripe and our records hold exactly one, for the fee
    assertThat(app.paymentIntentsOf(listingId))
        .singleElement()
        .satisfies(intent -> assertThat(intent.getAmount()).isEqualTo(1000));
    assertThat(app.db.count("payments WHERE listing_id = ?", listingId)).isEqualTo(1);
    assertThat(app.db.count("checkout_attempts WHERE listing_id = ?", listingId)).isEqualTo(1);
  }
}
